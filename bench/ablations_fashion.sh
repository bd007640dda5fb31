#!/usr/bin/env bash
# Paper 000 ablations on Fashion-MNIST with LeNet-5 (the paper uses CIFAR-100 + ResNet-56):
# Table 6 (fixed kernels, MKL vs KCL), Table 7 (normalisation of the softmax baseline), Table 12 (coefficient
# activation), Figure 2 (order M). Mean ± std over 3 seeds, equal budgets. THREADS (empty: all cores) is passed
# as --threads.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
TRAIN_SIZE=${TRAIN_SIZE:-10000}
EPOCHS=${EPOCHS:-10}
MODEL=${MODEL:-lenet5}
SEEDS=${SEEDS:-"1 2 3"}
common=(--data fashion-mnist --model "$MODEL" --train-size "$TRAIN_SIZE" --epochs "$EPOCHS" --lr 0.05 --warmup-epochs 1
  "${THREAD_ARGS[@]}")
for seed in $SEEDS; do
  for head in rbf rbf-learned poly mkl kernelized; do
    record "$RESULTS/table6_kernels.jsonl" "$head|" classify "${common[@]}" --head "$head" --seed "$seed"
  done
  for norm in none embedding both-fixed both-learned; do
    record "$RESULTS/table7_normalization.jsonl" "softmax, normalize=$norm|" classify "${common[@]}" --head softmax \
      --normalize "$norm" --seed "$seed"
  done
  for act in sigmoid softmax relu none; do
    record "$RESULTS/table12_activation.jsonl" "$act|" classify "${common[@]}" --head kernelized \
      --activation "$act" --seed "$seed"  # "none" may diverge (the paper: unstable): then it is in the .failed.tsv
  done
  for order in 1 2 4 6 10 15; do
    record "$RESULTS/fig2_order.jsonl" "M=$order|" classify "${common[@]}" --head kernelized --order "$order" \
      --seed "$seed"
  done
done
