#!/usr/bin/env bash
# Issue 26: commands at their defaults, each beside the simplest baseline of its kind, on the project's data.
#   recommend  the dslabs ratings (scripts/export_dslabs_movielens.sh): `rkhs recommend` with no model options
#              (sparse FC, 2 x 500, --lambda2 auto, --shrink auto) beside the user+item bias model; the default
#              run's JSON also holds the autoencoder alone (autoencoder_test_rmse) and the chosen lambda2 / c.
#   eigen      `rkhs eigen --method neuralef` at its defaults (1-D RBF, Rayleigh-Ritz on) beside Nystrom.
#   classify   the sphere set: `--head kernelized` at its defaults beside `--head softmax` and beside the KCL head
#              with ReLU fixed (`--activation relu`: the rates searched alone), and the same at the issue's --epochs 60.
#   small      moons and circles: `classify` at its defaults (softmax and kernelized heads; --epochs raised to 500
#              optimizer steps) beside the same at the old fixed 10 epochs and beside logistic regression on the
#              inputs (--model identity --head softmax --normalize none).
#   kernel-sgd `classify --optimizer kernel-sgd` at its defaults (damping 0.1) on sphere, moons and circles beside
#              --optimizer sgd (its simplest baseline: Kernel SGD without the preconditioner) and beside the paper's
#              plain inverse (--kernel-sgd-damping 0, the default before 2026-12-05).
#   kernel-sgd-fashion  the same three on 10,000 Fashion-MNIST images for 4 epochs (LeNet-5), with damping 1 too:
#              what the damping costs where H is close to I (about 15 s a run).
#   fashion    Fashion-MNIST: `classify` at its defaults (LeNet-5, 10 epochs, the searches) with the softmax and
#              kernelized heads beside logistic regression on the pixels (--model identity --head softmax
#              --normalize none); about 10 minutes a run on one thread.
#   csv        the real tabular sets of Debian's r-cran-mlbench (scripts/export_mlbench.sh: Sonar, Ionosphere,
#              PimaIndiansDiabetes, BreastCancer, Glass, Vehicle, Vowel, Satellite, LetterRecognition): `classify`
#              at its defaults (MLP 128,128; 20% stratified test split) with the softmax and kernelized heads beside
#              logistic regression on the standardised features (--model identity --head softmax --normalize none).
#   kcl-grid   the KCL head at the default 10 epochs over activation {relu, sigmoid} x lr {0.5, 0.1, 0.03, 0.01}
#              with a 10% validation split: the measurement behind the KCL defaults (docs/HEADS.md).
#   ckn        `rkhs ckn` at its defaults (Fashion-MNIST, all 60,000 training images, unsupervised 64/64/128, the
#              cross-validated classifier); its baseline, logistic regression on the pixels, is part `fashion`'s.
#   embed      `rkhs embed` at its defaults (Fashion-MNIST, the classifier objective) into runs/defaults_embed_SEED;
#              its baseline, 2-D PCA with the same 5-NN score: bench/embed_baseline.py.
# Not in the default PARTS (each run takes minutes): ckn, embed.
# Resumable (lib.sh's record). Environment: SEEDS (default "1 2 3"), PARTS (default "recommend eigen classify small kernel-sgd kernel-sgd-fashion fashion csv kcl-grid"),
# THREADS (default 1), DATA (default data/dslabs), MLBENCH (default data/mlbench), MLBENCH_SETS (default: the nine
# above), OUT (default bench/results/defaults.jsonl).
# Table: python3 bench/summarize_defaults.py bench/results/defaults.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
DATA=${DATA:-data/dslabs}
MLBENCH=${MLBENCH:-data/mlbench}
MLBENCH_SETS=${MLBENCH_SETS:-Sonar Ionosphere PimaIndiansDiabetes BreastCancer Glass Vehicle Vowel Satellite LetterRecognition}
OUT=${OUT:-$RESULTS/defaults.jsonl}
THREADS=${THREADS:-1}
for part in ${PARTS:-recommend eigen classify small kernel-sgd kernel-sgd-fashion fashion csv kcl-grid}; do
  for seed in ${SEEDS:-1 2 3}; do
    case "$part" in
      recommend)
        [ -f "$DATA/ratings.csv" ] || bash scripts/export_dslabs_movielens.sh "$DATA"
        record "$OUT" recommend-bias recommend --data "movielens:$DATA" --model bias --seed "$seed" --threads "$THREADS"
        record "$OUT" recommend-default recommend --data "movielens:$DATA" --seed "$seed" --threads "$THREADS" ;;
      eigen)
        record "$OUT" eigen-default eigen --seed "$seed" --threads "$THREADS"
        record "$OUT" eigen-nystrom eigen --method nystrom --seed "$seed" --threads "$THREADS" ;;
      classify)
        for head in kernelized softmax; do
          record "$OUT" "classify-sphere-$head" classify --data sphere --head "$head" --seed "$seed" --threads "$THREADS"
          record "$OUT" "classify-sphere-$head-60" classify --data sphere --head "$head" --epochs 60 --seed "$seed" \
            --threads "$THREADS"
        done
        # The KCL head with ReLU fixed (the rates still searched), for comparison.
        record "$OUT" "classify-sphere-kernelized-relu" classify --data sphere --head kernelized --activation relu \
          --seed "$seed" --threads "$THREADS"
        record "$OUT" "classify-sphere-kernelized-relu-60" classify --data sphere --head kernelized --activation relu \
          --epochs 60 --seed "$seed" --threads "$THREADS" ;;
      small)
        for data in moons circles; do
          record "$OUT" "classify-$data-logistic" classify --data "$data" --model identity --head softmax \
            --normalize none --seed "$seed" --threads "$THREADS"
          for head in softmax kernelized; do
            record "$OUT" "classify-$data-$head" classify --data "$data" --head "$head" --seed "$seed" --threads "$THREADS"
            record "$OUT" "classify-$data-$head-10" classify --data "$data" --head "$head" --epochs 10 --seed "$seed" \
              --threads "$THREADS"
          done
        done ;;
      kernel-sgd)
        for data in sphere moons circles; do
          record "$OUT" "classify-$data-kernel-sgd" classify --data "$data" --optimizer kernel-sgd --seed "$seed" \
            --threads "$THREADS"
          record "$OUT" "classify-$data-sgd" classify --data "$data" --optimizer sgd --seed "$seed" --threads "$THREADS"
          record "$OUT" "classify-$data-kernel-sgd-damping0" classify --data "$data" --optimizer kernel-sgd \
            --kernel-sgd-damping 0 --seed "$seed" --threads "$THREADS"
        done ;;
      ckn)
        record "$OUT" ckn-default ckn --seed "$seed" --threads "$THREADS" ;;
      embed)
        record "$OUT" embed-default embed --out "runs/defaults_embed_$seed" --seed "$seed" --threads "$THREADS" ;;
      kernel-sgd-fashion)
        F=(classify --data fashion-mnist --train-size 10000 --epochs 4 --seed "$seed" --threads "$THREADS")
        record "$OUT" "classify-fashion-kernel-sgd" "${F[@]}" --optimizer kernel-sgd
        record "$OUT" "classify-fashion-sgd" "${F[@]}" --optimizer sgd
        for damping in 0 1; do
          record "$OUT" "classify-fashion-kernel-sgd-damping$damping" "${F[@]}" --optimizer kernel-sgd \
            --kernel-sgd-damping "$damping"
        done ;;
      fashion)
        record "$OUT" "classify-fashion-logistic" classify --data fashion-mnist --model identity --head softmax \
          --normalize none --seed "$seed" --threads "$THREADS"
        for head in softmax kernelized; do
          record "$OUT" "classify-fashion-$head" classify --data fashion-mnist --head "$head" --seed "$seed" \
            --threads "$THREADS"
        done ;;
      csv)
        [ -f "$MLBENCH/Sonar.csv" ] || bash scripts/export_mlbench.sh "$MLBENCH"
        for set in $MLBENCH_SETS; do
          record "$OUT" "classify-$set-logistic" classify --data "csv:$MLBENCH/$set.csv" --model identity \
            --head softmax --normalize none --seed "$seed" --threads "$THREADS"
          for head in softmax kernelized; do
            record "$OUT" "classify-$set-$head" classify --data "csv:$MLBENCH/$set.csv" --head "$head" --seed "$seed" \
              --threads "$THREADS"
          done
        done ;;
      kcl-grid)
        for act in relu sigmoid; do
          for lr in 0.5 0.1 0.03 0.01; do
            record "$OUT" "kcl-grid|$act|$lr" classify --data sphere --head kernelized --activation "$act" --lr "$lr" \
              --validation-fraction 0.1 --seed "$seed" --threads "$THREADS"
          done
        done ;;
      *) echo "defaults.sh: unknown part $part (recommend, eigen, classify, small, kernel-sgd, kernel-sgd-fashion, fashion, csv, kcl-grid)" >&2; exit 2 ;;
    esac
  done
done
