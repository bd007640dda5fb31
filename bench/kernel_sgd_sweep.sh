#!/usr/bin/env bash
# Paper 001's Table 2 protocol on Fashion-MNIST for one model: seven optimizers in the same harness and the same
# stopping rule (training-loss change < 1e-4 for 3 epochs, or EPOCHS epochs), the model of the best validation
# epoch kept (20% of the training images held out, never the test split). Runs already recorded in
# bench/results/$OUT.jsonl (or failed before) are skipped, so the sweep can be resumed or extended.
#   stage a: seed 1, lr in LRS (Kernel SGD also RBF gamma in GAMMAS); L-BFGS lr 1 only (its strong-Wolfe line
#            search sets the step)
#   stage b: seeds 2 and 3 at the setting of each optimizer (of B_TAGS) with the best seed-1 validation accuracy
#   stage c: Kernel SGD ablations at its selected setting: batch size, kernel, corrected mode, all layers,
#            fresh batches
# Environment: MODEL_ARGS (the model and data-size flags), LRS, GAMMAS, EPOCHS, LBFGS_EPOCHS (L-BFGS runs 20
# line-search iterations per batch), JOBS (parallel single-threaded runs), STAGES, B_TAGS, OUT (file name).
# Kernel SGD runs with --kernel-sgd-damping 0, the paper's plain inverse (the CLI's default has been 0.1 since
# 2026-12-05; the runs recorded before then had 0 as the default and their commands do not name it).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
MODEL_ARGS=${MODEL_ARGS:-"--model mlp --hidden 100,100"}
LRS=${LRS:-"0.1 0.01 0.001 0.0001"}
GAMMAS=${GAMMAS:-"0.1 0.01 0.001 0.0001"}
EPOCHS=${EPOCHS:-12}
LBFGS_EPOCHS=${LBFGS_EPOCHS:-2}
JOBS=${JOBS:-2}
STAGES=${STAGES:-"a b c"}
B_TAGS=${B_TAGS:-"lbfgs sgd momentum esgd adahessian kernel-sgd"}
OUT="$RESULTS/${OUT:-kernel_sgd_fashion}.jsonl"
BASE="classify --data fashion-mnist $MODEL_ARGS --normalize none --validation-fraction 0.2 \
--schedule constant --weight-decay 1e-4 --converge-tol 1e-4 --threads 1"

run_lines() { xargs -P "$JOBS" -L 1 bash bench/record_one.sh "$OUT"; }

# The command of the validation-best seed-1 run of TAG, with --seed 1 replaced by --seed $2 (stage b, c).
best_args() {
  python3 - "$OUT" "$1" "$2" <<'PY'
import sys
sys.path.insert(0, "bench")
from runs import best_per_seed
path, tag, seed = sys.argv[1], sys.argv[2], sys.argv[3]
best = best_per_seed(path).get((tag, 1))
if best is None:
    sys.exit(f"no seed-1 run of {tag} in {path}")
command = best["command"].removeprefix("rkhs ").replace("--seed 1", f"--seed {seed}")
if "--optimizer kernel-sgd" in command and "--kernel-sgd-damping" not in command:
    command += " --kernel-sgd-damping 0"  # recorded before the default became 1: the paper's plain inverse
print(command)
PY
}
for stage in $STAGES; do
  case $stage in
  a)
    {
      echo "lbfgs $BASE --optimizer lbfgs --lbfgs-history 10 --batch-size 64 --epochs $LBFGS_EPOCHS --lr 1 --seed 1"
      for lr in $LRS; do
        echo "sgd $BASE --optimizer sgd --batch-size 64 --epochs $EPOCHS --lr $lr --seed 1"
        echo "momentum $BASE --optimizer momentum --momentum 0.9 --batch-size 64 --epochs $EPOCHS --lr $lr --seed 1"
        echo "esgd $BASE --optimizer esgd --batch-size 64 --epochs $EPOCHS --lr $lr --seed 1"
        echo "adahessian $BASE --optimizer adahessian --batch-size 64 --epochs $EPOCHS --lr $lr --seed 1"
        for gamma in $GAMMAS; do
          echo "kernel-sgd $BASE --optimizer kernel-sgd --kernel rbf:gamma=$gamma --kernel-sgd-damping 0 --batch-size 64 --epochs $EPOCHS --lr $lr --seed 1"
        done
      done
    } | run_lines
    ;;
  b)
    for tag in $B_TAGS; do
      for seed in 2 3; do echo "$tag $(best_args "$tag" "$seed")"; done
    done | run_lines
    ;;
  c)
    ksgd=$(best_args kernel-sgd 1)
    {
      for b in 32 128 256 512; do echo "ksgd-batch-$b ${ksgd/--batch-size 64/--batch-size $b}"; done
      rbf=$(grep -o 'rbf:gamma=[0-9.e-]*' <<<"$ksgd")
      for k in linear polynomial:degree=2,scale=0.001 random-psd; do echo "ksgd-kernel-$k ${ksgd/$rbf/$k}"; done
      for seed in 1 2 3; do
        echo "kernel-sgd-corrected ${ksgd/--seed 1/--seed $seed} --kernel-sgd-mode corrected"
      done
      echo "ksgd-all-layers $ksgd --kernel-sgd-all-layers"
      echo "ksgd-fresh-batches $ksgd --kernel-sgd-fresh-batches"
    } | run_lines
    ;;
  esac
done
