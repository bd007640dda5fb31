#!/usr/bin/env bash
# The data-parallel commands beside one process on this machine (docs/DISTRIBUTED.md): each workload in one
# process of 1 thread, one process of all the cores, and `rkhs launch --nproc 2` (one thread each), one after the
# other in one run, REPS rounds alternating; the best time of each. Prints a markdown table: seconds, rank 0's
# time in collectives, and each run's result (to see that the runs agree).
# Usage: bench/distributed_commands.sh [BUILD]
# (env: REPS=2, WORKLOADS="ckn eigen spin nystrom-mc embed kernel-sgd recommend",
# DATA=data/dslabs for recommend: exported by scripts/export_dslabs_movielens.sh when missing)
set -euo pipefail
BUILD=${1:-build}
RKHS=$BUILD/rkhs
REPS=${REPS:-2}
WORKLOADS=${WORKLOADS:-"ckn eigen spin nystrom-mc embed kernel-sgd recommend"}
DATA=${DATA:-data/dslabs}
CORES=$(nproc)
declare -A CMD
CMD[ckn]="ckn --data fashion-mnist --train-size 5000 --test-size 10000 --seed 1 --json"
CMD[eigen]="eigen --kernel rbf --data uniform1d --n 2048 --k 10 --iterations 2000 --batch-size 256 --seed 1 --json"
CMD[spin]="eigen --method spin --kernel rbf --data uniform1d --n 2048 --k 10 --iterations 500 --batch-size 256 --seed 1 --json"
CMD[nystrom-mc]="eigen --method nystrom --kernel nngp-mlp --data uniform1d --n 4096 --k 10 --seed 1 --json"
CMD[embed]="embed --data fashion-mnist --train-size 10000 --test-size 2000 --epochs 2 --seed 1 --json"
CMD[kernel-sgd]="classify --data fashion-mnist --train-size 10000 --test-size 2000 --model lenet5 --head softmax
  --optimizer kernel-sgd --lr 0.05 --epochs 2 --batch-size 128 --seed 1 --json"
CMD[recommend]="recommend --data movielens:$DATA --model sparse-fc --lambda2 60 --outer-loops 3 --seed 1 --json"
case " $WORKLOADS " in *" recommend "*) [ -f "$DATA/ratings.csv" ] || bash scripts/export_dslabs_movielens.sh "$DATA" ;; esac
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for r in $(seq 1 "$REPS"); do
  for w in $WORKLOADS; do
    # shellcheck disable=SC2086
    "$RKHS" ${CMD[$w]} --threads 1 --out "$OUT/run" 2>/dev/null | tail -n 1 >>"$OUT/$w.1x1"
    # shellcheck disable=SC2086
    "$RKHS" ${CMD[$w]} --threads "$CORES" --out "$OUT/run" 2>/dev/null | tail -n 1 >>"$OUT/$w.1x$CORES"
    # shellcheck disable=SC2086
    "$RKHS" launch --nproc 2 --threads-per-proc 1 -- ${CMD[$w]} --out "$OUT/run" 2>/dev/null | tail -n 1 >>"$OUT/$w.2x1"
  done
done
/usr/bin/python3 - "$OUT" "$CORES" "$REPS" $WORKLOADS <<'EOF'
import json, sys
out, cores, reps, workloads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
def seconds(j):
    return j.get("train_seconds", 0)
def result(w, j):
    if w in ("eigen", "spin", "nystrom-mc"):
        e = [x for x in j["eigenvalue_rel_error"] if x is not None]
        return "max eigenvalue error %.2f%%, min alignment %.3f" % (100 * max(e), min(a for a in j["alignment"] if a is not None))
    if w == "embed":
        return "test acc %.4f, last loss %.4f" % (j["test_accuracy"], j["train_loss"][-1])
    if w == "recommend":
        return "test RMSE %.4f" % j["test_rmse"]
    return "test acc %.4f" % j["test_accuracy"]
print("| workload | processes × threads | train s (best of %d) | collectives (rank 0) | result |" % reps)
print("|---|---|---|---|---|")
for w in workloads:
    for tag in ("1x1", "1x%d" % cores, "2x1"):
        runs = [json.loads(l) for l in open(f"{out}/{w}.{tag}").read().splitlines() if l.startswith("{")]
        if not runs:
            print("| %s | %s | failed | | |" % (w, tag.replace("x", " × "))); continue
        best = min(runs, key=seconds)
        print("| %s | %s | %.1f | %.1f s | %s |" % (w, tag.replace("x", " × "), seconds(best),
              best.get("comm_seconds", 0), result(w, best)))
EOF
echo
echo "Command: \`REPS=$REPS bash bench/distributed_commands.sh\` ($CORES cores, $(date -u +%Y-%m-%d))."
