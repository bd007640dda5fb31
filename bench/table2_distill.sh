#!/usr/bin/env bash
# Paper 000, Table 2: distillation from a ResNet teacher (softmax) into a LeNet-5 student with a softmax head
# (baseline) or the kernelized classification layer; teacher temperature 20.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
TRAIN_SIZE=${TRAIN_SIZE:-10000}
EPOCHS=${EPOCHS:-10}
THREADS_NOTE=1
TEACHER=${TEACHER:-resnet20}
SEEDS=${SEEDS:-"1 2 3"}
for seed in $SEEDS; do
  for head in softmax kernelized; do
    record "$RESULTS/table2_distill.jsonl" "$head|" classify --data fashion-mnist --model lenet5 --head "$head" \
      --distill-from "$TEACHER" --train-size "$TRAIN_SIZE" --epochs "$EPOCHS" --lr 0.05 --warmup-epochs 1 \
      --seed "$seed" "${THREAD_ARGS[@]}"
  done
done
