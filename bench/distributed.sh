#!/usr/bin/env bash
# Data-parallel throughput on this machine (docs/DISTRIBUTED.md): `rkhs classify` on Fashion-MNIST (LeNet-5 +
# softmax, the same global batch and seed) in 1, 2, 4 and 8 processes of one thread each, one after the other in
# one run. Prints a markdown table: time per epoch, examples per second (all ranks), the scaling efficiency
# against one process, and rank 0's time in collectives. On 2 cores, 4 and 8 processes share the cores: those
# rows measure the collectives' cost on loopback, not a speed-up. Per step: rank 0's time in collectives and the
# rest (its forward, backward, update and its share of each epoch's evaluation) divided by the steps. With more
# than one process each count runs twice: the gradients summed during the backward pass (c10d's Reducer, the
# default; that all-reduce is inside "compute") and after it (--no-dist-overlap; the split is exact).
# Usage: bench/distributed.sh [BUILD]   (env: PROCS="1 2 4 8", TRAIN_SIZE=10000, EPOCHS=2, BATCH=256, MODEL=lenet5)
set -euo pipefail
BUILD=${1:-build}
RKHS=$BUILD/rkhs
PROCS=${PROCS:-"1 2 4 8"}
TRAIN_SIZE=${TRAIN_SIZE:-10000}
BATCH=${BATCH:-256}
ARGS=(classify --data fashion-mnist --train-size "$TRAIN_SIZE" --test-size 2000 --model "${MODEL:-lenet5}"
      --head softmax --normalize none --lr 0.05 --epochs "${EPOCHS:-2}" --batch-size "$BATCH" --seed 1 --json)
echo "| processes | gradients summed | s per epoch | examples/s (all) | efficiency | collectives (rank 0) | ms per step: compute + collectives | test acc |"
echo "|---|---|---|---|---|---|---|---|"
base=""
for n in $PROCS; do
  modes="during"
  [ "$n" -gt 1 ] && modes="during after"
  for mode in $modes; do
    extra=()
    [ "$mode" = after ] && extra=(--no-dist-overlap)
    out=$("$RKHS" launch --nproc "$n" --threads-per-proc 1 -- "${ARGS[@]}" "${extra[@]}" 2>/dev/null | tail -n 1)
    base=$(/usr/bin/python3 - "$n" "$out" "$base" "$TRAIN_SIZE" "$BATCH" "$mode" <<'EOF'
import json, math, sys
n, j, base, mode = int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[6]
steps = len(j["history"]) * math.ceil(int(sys.argv[4]) / int(sys.argv[5]))
epochs = len(j["history"]) or 1
per_epoch = j["train_seconds"] / epochs
total = j["examples_per_second_per_rank"] * j["world_size"]
b = float(base) if base else total
comm, train = j["comm_seconds"], j["train_seconds"]
summed = "-" if n == 1 else ("during the backward pass" if mode == "during" else "after it (`--no-dist-overlap`)")
print("| %d | %s | %.2f | %.0f | %.2f | %.1f s of %.1f s (%.0f%%) | %.1f + %.1f | %.4f |" % (
    n, summed, per_epoch, total, total / (n * b), comm, train, 100 * comm / train,
    1000 * (train - comm) / steps, 1000 * comm / steps, j["test_accuracy"]), file=sys.stderr)
print(b)
EOF
)
  done
done 2>&1
echo
echo "Command: \`PROCS=\"$PROCS\" MODEL=${MODEL:-lenet5} EPOCHS=${EPOCHS:-2} TRAIN_SIZE=$TRAIN_SIZE bash bench/distributed.sh\` ($(nproc) cores, $(date -u +%Y-%m-%d))."
