#!/usr/bin/env bash
# Paper 000, Table 2: distillation from a ResNet teacher (softmax) into a LeNet-5 student with a softmax head
# (baseline, normalised embedding), the usual softmax layer (softmax-plain) or the kernelized classification layer;
# teacher temperature 20. HEADS picks the students. The teacher of each seed is trained once and shared by its
# students through --teacher-checkpoint (TEACHERS, default runs/teachers).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
TRAIN_SIZE=${TRAIN_SIZE:-10000}
EPOCHS=${EPOCHS:-10}
TEACHER=${TEACHER:-resnet20}
SEEDS=${SEEDS:-"1 2 3"}
TEACHERS=${TEACHERS:-runs/teachers}
mkdir -p "$TEACHERS"
HEADS=${HEADS:-"softmax kernelized softmax-plain"}
for seed in $SEEDS; do
  for head in $HEADS; do
    head_args "$head"
    record "$RESULTS/table2_distill.jsonl" "$head|" classify --data fashion-mnist --model lenet5 "${HEAD_ARGS[@]}" \
      --distill-from "$TEACHER" --train-size "$TRAIN_SIZE" --epochs "$EPOCHS" --lr 0.05 --warmup-epochs 1 \
      --seed "$seed" --teacher-checkpoint "$TEACHERS/$TEACHER-n$TRAIN_SIZE-e$EPOCHS-s$seed.ckpt" "${THREAD_ARGS[@]}"
  done
done
