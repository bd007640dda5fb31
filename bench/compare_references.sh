#!/usr/bin/env bash
# Issue 27: rkhs beside the public reference code on the same work, run one after the other on this machine and
# alternated seed by seed (reference, rkhs, reference, rkhs, ...), so both see the same machine state.
#   CKN: the reference PyTorch CKN (claying/CKN-Pytorch-image, driven by bench/reference_ckn_fashion.py: its
#   UnsupCKNet, its k-means, its features, an untuned scikit-learn LogisticRegression) against `rkhs ckn` (the
#   same 3-layer 64/64/128 network on the same 5,000 training images, its cross-validated classifier), 2 threads.
#   NeuralEF: the official code's 1-D training routine (thudzj/NeuralEigenFunction's `our()`, driven by
#   bench/reference_neuralef_1d.py on the CPU) against `rkhs eigen` at its defaults (the same k = 10 networks,
#   batch 256, Adam 1e-3 with a cosine schedule, 2000 iterations) on the 1-D RBF problem, N = 2048 and 8192, 1 thread.
# Usage: bash bench/compare_references.sh [--ckn CKN_REFERENCE_DIR] [--neuralef NEURALEF_REFERENCE_DIR]
#        (a single argument without an option is the CKN directory, as before)
#   CKN_REFERENCE_DIR: a checkout of https://github.com/claying/CKN-Pytorch-image (measured at commit 9aad4109);
#   NEURALEF_REFERENCE_DIR: a checkout of https://github.com/thudzj/NeuralEigenFunction (measured at 1149cf9).
#   They are read, never copied into rkhs. The reference drivers need Debian's python3-torch (and python3-sklearn for
#   the CKN). Environment: SEEDS (default "1 2 3"), THREADS (CKN, default 2), NEURALEF_THREADS (default 1),
#   NEURALEF_NS (default "2048 8192"), OUT (default bench/results/compare_references.jsonl; appended to).
# Every record holds the process's wall-clock time, the machine's CPU model, BLAS library and thread count, the
# command and its JSON output. Table: python3 bench/summarize_compare.py bench/results/compare_references.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
CKN_REFERENCE="" NEURALEF_REFERENCE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --ckn) CKN_REFERENCE=${2:?--ckn needs a directory}; shift 2 ;;
    --neuralef) NEURALEF_REFERENCE=${2:?--neuralef needs a directory}; shift 2 ;;
    *) CKN_REFERENCE=$1; shift ;;
  esac
done
[ -n "$CKN_REFERENCE$NEURALEF_REFERENCE" ] || { echo "usage: bash bench/compare_references.sh [--ckn DIR] [--neuralef DIR]" >&2; exit 2; }
[ -z "$CKN_REFERENCE" ] || [ -d "$CKN_REFERENCE/ckn" ] || { echo "compare_references: $CKN_REFERENCE has no ckn/ package (a CKN-Pytorch-image checkout?)" >&2; exit 2; }
[ -z "$NEURALEF_REFERENCE" ] || [ -f "$NEURALEF_REFERENCE/neuralef-classic-kernels.py" ] || { echo "compare_references: $NEURALEF_REFERENCE has no neuralef-classic-kernels.py (a NeuralEigenFunction checkout?)" >&2; exit 2; }
OUT=${OUT:-$RESULTS/compare_references.jsonl}
THREADS=${THREADS:-2}
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
BLAS=$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || echo unknown)

# timed TAG SEED THREADS COMMAND...: runs COMMAND, keeps the last line of its stdout (a JSON object) and appends one
# record.
timed() {
  local tag="$1" seed="$2" threads="$3"
  shift 3
  echo "run: $*" >&2
  local start end out err
  err=$(mktemp)
  start=$(date +%s.%N)
  if ! out=$("$@" 2>"$err" | tail -n 1) || [[ "$out" != \{* ]]; then
    echo "compare_references: failed: $*: $(tail -n 1 "$err")" >&2
    rm -f "$err"
    exit 1
  fi
  end=$(date +%s.%N)
  rm -f "$err"
  printf '{"tag": "%s", "seed": %s, "wall_seconds": %s, "threads": %s, "cpu": "%s", "blas": "%s", "command": "%s", "result": %s}\n' \
    "$tag" "$seed" "$(echo "$end - $start" | bc)" "$threads" "$CPU" "$BLAS" "$*" "$out" >>"$OUT"
}

if [ -n "$CKN_REFERENCE" ]; then
  for seed in ${SEEDS:-1 2 3}; do
    timed reference-ckn "$seed" "$THREADS" /usr/bin/python3 bench/reference_ckn_fashion.py --reference "$CKN_REFERENCE" \
      --threads "$THREADS" --seed "$seed"
    timed rkhs-ckn "$seed" "$THREADS" "$RKHS" ckn --data fashion-mnist --threads "$THREADS" --train-size 5000 \
      --filters 64,64,128 --patch 3,3,3 --subsample 2,2,2 --sigma 0.6 --patches 100000 \
      --lambdas 0.1,0.01,0.001,0.0001 --seed "$seed" --json
  done
fi
if [ -n "$NEURALEF_REFERENCE" ]; then
  NT=${NEURALEF_THREADS:-1}
  for n in ${NEURALEF_NS:-2048 8192}; do
    for seed in ${SEEDS:-1 2 3}; do
      timed "reference-neuralef-n$n" "$seed" "$NT" /usr/bin/python3 bench/reference_neuralef_1d.py \
        --reference "$NEURALEF_REFERENCE" --n "$n" --seed "$seed" --threads "$NT" --exact-limit 4096
      timed "rkhs-neuralef-n$n" "$seed" "$NT" "$RKHS" eigen --kernel rbf --data uniform1d --n "$n" --k 10 \
        --seed "$seed" --threads "$NT" --reference-limit 4096 --json
    done
  done
fi
python3 bench/summarize_compare.py "$OUT"
