#!/usr/bin/env bash
# Data-parallel throughput on this machine (docs/DISTRIBUTED.md): `rkhs classify` on Fashion-MNIST (LeNet-5 +
# softmax, the same global batch and seed) in 1, 2, 4 and 8 processes of one thread each, one after the other in
# one run. Prints a markdown table: time per epoch, examples per second (all ranks), the scaling efficiency
# against one process, and rank 0's time in collectives. On 2 cores, 4 and 8 processes share the cores: those
# rows measure the collectives' cost on loopback, not a speed-up. Per step: rank 0's time in collectives and the
# rest (its forward, backward, update and its share of each epoch's evaluation) divided by the steps.
# Usage: bench/distributed.sh [BUILD]   (env: PROCS="1 2 4 8", TRAIN_SIZE=10000, EPOCHS=2, BATCH=256, MODEL=lenet5)
set -euo pipefail
BUILD=${1:-build}
RKHS=$BUILD/rkhs
PROCS=${PROCS:-"1 2 4 8"}
TRAIN_SIZE=${TRAIN_SIZE:-10000}
BATCH=${BATCH:-256}
ARGS=(classify --data fashion-mnist --train-size "$TRAIN_SIZE" --test-size 2000 --model "${MODEL:-lenet5}"
      --head softmax --normalize none --lr 0.05 --epochs "${EPOCHS:-2}" --batch-size "$BATCH" --seed 1 --json)
echo "| processes | threads each | s per epoch | examples/s (all) | efficiency | collectives (rank 0) | ms per step: compute + collectives | test acc |"
echo "|---|---|---|---|---|---|---|---|"
base=""
for n in $PROCS; do
  out=$("$RKHS" launch --nproc "$n" --threads-per-proc 1 -- "${ARGS[@]}" 2>/dev/null | tail -n 1)
  base=$(/usr/bin/python3 - "$n" "$out" "$base" "$TRAIN_SIZE" "$BATCH" <<'EOF'
import json, math, sys
n, j, base = int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
steps = len(j["history"]) * math.ceil(int(sys.argv[4]) / int(sys.argv[5]))
epochs = len(j["history"]) or 1
per_epoch = j["train_seconds"] / epochs
total = j["examples_per_second_per_rank"] * j["world_size"]
b = float(base) if base else total
comm, train = j["comm_seconds"], j["train_seconds"]
print("| %d | 1 | %.2f | %.0f | %.2f | %.1f s of %.1f s (%.0f%%) | %.1f + %.1f | %.4f |" % (
    n, per_epoch, total, total / (n * b), comm, train, 100 * comm / train,
    1000 * (train - comm) / steps, 1000 * comm / steps, j["test_accuracy"]), file=sys.stderr)
print(b)
EOF
)
done 2>&1
echo
echo "Command: \`PROCS=\"$PROCS\" MODEL=${MODEL:-lenet5} EPOCHS=${EPOCHS:-2} TRAIN_SIZE=$TRAIN_SIZE bash bench/distributed.sh\` ($(nproc) cores, $(date -u +%Y-%m-%d))."
