#!/usr/bin/env bash
# Paper 000, Table 3 on Fashion-MNIST: backbones x heads (softmax, LIN, SOP, KERVO, KCL) at an equal budget,
# mean ± std over 3 seeds. TRAIN_SIZE and EPOCHS set the budget (the same for every head); HEADS and SEEDS pick a
# subset (softmax-plain: the softmax head without the embedding normalisation, --normalize none; "softmax" is the
# paper's baseline with normalised embeddings); THREADS (empty: all cores) is passed as --threads.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
TRAIN_SIZE=${TRAIN_SIZE:-10000}
EPOCHS=${EPOCHS:-10}
BACKBONES=${BACKBONES:-"lenet5 resnet8 resnet14 resnet20"}
SEEDS=${SEEDS:-"1 2 3"}
HEADS=${HEADS:-"softmax cosine sop kervo-poly kervo-rbf kernelized"}
for model in $BACKBONES; do
  for seed in $SEEDS; do
    for head in $HEADS; do
      head_args "$head"
      record "$RESULTS/${OUT:-table3_fashion}.jsonl" "$model|$head" classify --data fashion-mnist --model "$model" \
        "${HEAD_ARGS[@]}" --train-size "$TRAIN_SIZE" --epochs "$EPOCHS" --lr 0.05 --warmup-epochs 1 --seed "$seed" "${THREAD_ARGS[@]}"
    done
  done
done
