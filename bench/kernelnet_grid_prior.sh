#!/usr/bin/env bash
# Paper 004, Table 1 on Fashion-MNIST: the 2-D RBF kernelNet image classifier with the prior knowledge of the
# pixel locations (kernelnet-grid: every unit on a fixed grid) and without it (kernelnet-random: uniform random
# locations, trained), the same layers (GRID_LAYERS), a softmax layer on top, Adam. The learning rate is chosen
# per model and seed on a 10% validation split (select.py); a linear softmax on the pixels is the reference row.
# Table: python3 bench/select.py bench/results/kernelnet_grid_prior.jsonl > /tmp/sel.jsonl &&
#        python3 bench/summarize.py /tmp/sel.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
TRAIN_SIZE=${TRAIN_SIZE:-20000}
EPOCHS=${EPOCHS:-5}
SEEDS=${SEEDS:-"1 2 3"}
LRS=${LRS:-"0.001 0.003 0.01"}
GRID_LAYERS=${GRID_LAYERS:-16x14,16x7}
MODELS=${MODELS:-"kernelnet-grid kernelnet-random identity"}
for seed in $SEEDS; do
  for model in $MODELS; do
    for lr in $LRS; do
      record "$RESULTS/${OUT:-kernelnet_grid_prior}.jsonl" "$model|" classify --data fashion-mnist --model "$model" \
        --grid-layers "$GRID_LAYERS" --head softmax --normalize none --optimizer adam --lr "$lr" \
        --train-size "$TRAIN_SIZE" --epochs "$EPOCHS" --validation-fraction 0.1 --seed "$seed" "${THREAD_ARGS[@]}"
    done
  done
done
