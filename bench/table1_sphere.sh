#!/usr/bin/env bash
# Paper 000, Table 1: softmax vs the kernelized classification layer on the synthetic S^2 mixture, against
# the exact Bayes accuracy of the generative model. 5 seeds; each seed draws new centres.
# Protocol: 20% of the 10,000 training points are held out for validation; for each seed and head the
# configuration with the best validation accuracy is reported on the 10,000 test points (bench/select.py).
# Candidates: lr in {0.05, 0.5}; for KCL also the coefficient activation relu | sigmoid | softmax.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
EPOCHS=${EPOCHS:-60}
out="$RESULTS/table1_sphere.jsonl"
for seed in 1 2 3 4 5; do
  for lr in 0.05 0.5; do
    record "$out" "softmax|" classify --data sphere --head softmax --epochs "$EPOCHS" --lr "$lr" \
      --validation-fraction 0.2 --seed "$seed"
    for act in relu sigmoid softmax; do
      record "$out" "kernelized|" classify --data sphere --head kernelized --activation "$act" --epochs "$EPOCHS" \
        --lr "$lr" --validation-fraction 0.2 --seed "$seed"
    done
  done
done
