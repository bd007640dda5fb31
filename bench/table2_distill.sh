#!/usr/bin/env bash
# Paper 000, Table 2: distillation from a ResNet teacher (softmax) into a LeNet-5 student with a softmax head
# (baseline) or the kernelized classification layer; teacher temperature 20. The teacher of each seed is trained
# once and shared by the two students through --teacher-checkpoint (TEACHERS, default runs/teachers).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
TRAIN_SIZE=${TRAIN_SIZE:-10000}
EPOCHS=${EPOCHS:-10}
TEACHER=${TEACHER:-resnet20}
SEEDS=${SEEDS:-"1 2 3"}
TEACHERS=${TEACHERS:-runs/teachers}
mkdir -p "$TEACHERS"
for seed in $SEEDS; do
  for head in softmax kernelized; do
    record "$RESULTS/table2_distill.jsonl" "$head|" classify --data fashion-mnist --model lenet5 --head "$head" \
      --distill-from "$TEACHER" --train-size "$TRAIN_SIZE" --epochs "$EPOCHS" --lr 0.05 --warmup-epochs 1 \
      --seed "$seed" --teacher-checkpoint "$TEACHERS/$TEACHER-n$TRAIN_SIZE-e$EPOCHS-s$seed.ckpt" "${THREAD_ARGS[@]}"
  done
done
