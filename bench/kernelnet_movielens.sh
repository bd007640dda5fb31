#!/usr/bin/env bash
# Paper 004, Tables 3-4 on the 100,004 real MovieLens ratings of Debian's r-cran-dslabs: the user+item bias
# baseline, I-AutoRec, kernelNet and sparse FC (hidden layers of 500) on random 90/10 splits, one per seed, with
# test RMSE, parameters and MACs. lambda2 is chosen per model and seed on a validation split (VALIDATION of the
# training ratings; the model trains on the rest): every value of LAMBDAS is run and the summary keeps the one with
# the lowest validation RMSE (bench/summarize_kernelnet.py). Resumable (runs already in the JSONL are skipped).
# Environment: SEEDS (default "1 2 3 4 5"), MODELS (default "bias autorec sparse-fc kernelnet"), LAYERS
# (default "1 2"), LAMBDAS (default "20 100 300 1000"; LAMBDAS_KERNELNET, when set, replaces it for kernelnet, whose
# weights are alpha K(u, v) and take smaller values), LAMBDAS_S (sparse-fc's sparsity weights, default
# "0.006"), VALIDATION (default 0.1), OUTER_LOOPS (default 20, the
# official schedule), THREADS (default 2), DATA (default data/dslabs, exported by
# scripts/export_dslabs_movielens.sh when missing), OUT (default bench/results/kernelnet_dslabs.jsonl).
# Summary: python3 bench/summarize_kernelnet.py bench/results/kernelnet_dslabs.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
DATA=${DATA:-data/dslabs}
OUT=${OUT:-$RESULTS/kernelnet_dslabs.jsonl}
VALIDATION=${VALIDATION:-0.1}
THREADS=${THREADS:-2}
[ -f "$DATA/ratings.csv" ] || bash scripts/export_dslabs_movielens.sh "$DATA"
for seed in ${SEEDS:-1 2 3 4 5}; do
  for model in ${MODELS:-bias autorec sparse-fc kernelnet}; do
    if [ "$model" = bias ]; then
      record "$OUT" bias recommend --data "movielens:$DATA" --model bias --validation-fraction "$VALIDATION" \
        --seed "$seed" --threads "$THREADS"
      continue
    fi
    for layers in ${LAYERS:-1 2}; do
      lambdas=${LAMBDAS:-20 100 300 1000}
      [ "$model" = kernelnet ] && lambdas=${LAMBDAS_KERNELNET:-$lambdas}
      for lambda in $lambdas; do
        for lambda_s in ${LAMBDAS_S:-0.006}; do
          sparsity=()
          # The default lambda_s is not passed, so the commands of earlier runs stay the same (resume).
          [ "$model" = sparse-fc ] && [ "$lambda_s" != 0.006 ] && sparsity=(--lambda-s "$lambda_s")
          record "$OUT" "$model-$layers" recommend --data "movielens:$DATA" --model "$model" --layers "$layers" \
            --lambda2 "$lambda" --shrink none "${sparsity[@]}" --validation-fraction "$VALIDATION" --outer-loops "${OUTER_LOOPS:-20}" \
            --seed "$seed" --threads "$THREADS"
        done
      done
    done
  done
done
