#!/usr/bin/env bash
# Paper 000, Table 1: softmax vs the kernelized classification layer on the synthetic S^2 mixture, against
# the exact Bayes accuracy of the generative model. 5 seeds; each seed draws new centres.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
EPOCHS=${EPOCHS:-60}
for seed in 1 2 3 4 5; do
  for head in softmax kernelized; do
    record "$RESULTS/table1_sphere.jsonl" "$head|" classify --data sphere --head "$head" --epochs "$EPOCHS" \
      --lr 0.5 --batch-size 128 --seed "$seed"
  done
done
