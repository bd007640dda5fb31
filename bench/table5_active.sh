#!/usr/bin/env bash
# Paper 000, Table 5 (active learning) on Fashion-MNIST with LeNet-5 (the paper: CIFAR-100, ResNet-56): a seed
# model on a random 10% of a POOL-image training set picks BUDGET more images by random, margin or k-center
# selection (labels unseen), and the final model (softmax or kernelized head) trains on both; the same budget
# of epochs for every cell. Labelled total = 10% + BUDGET of the pool. HEADS: softmax (the paper's baseline, normalised
# embeddings), softmax-plain (--normalize none), kernelized.
# Table: python3 bench/summarize.py bench/results/table5_active.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
POOL=${POOL:-10000}
EPOCHS=${EPOCHS:-10}
SEEDS=${SEEDS:-"1 2"}
BUDGETS=${BUDGETS:-"0.2 0.4"}
HEADS=${HEADS:-"softmax softmax-plain kernelized"}
for seed in $SEEDS; do
  for budget in $BUDGETS; do
    for head in $HEADS; do
      head_args "$head"
      for method in random margin kcenter; do
        record "$RESULTS/${OUT:-table5_active}.jsonl" "$head, +$budget|$method" classify --data fashion-mnist \
          --model lenet5 "${HEAD_ARGS[@]}" --train-size "$POOL" --active "$method" --active-seed-fraction 0.1 \
          --active-budget "$budget" --epochs "$EPOCHS" --lr 0.05 --warmup-epochs 1 --seed "$seed" "${THREAD_ARGS[@]}"
      done
    done
  done
done
