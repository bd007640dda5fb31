#!/usr/bin/env bash
# Issue 27: rkhs beside the public reference code on the same work, run one after the other on this machine and
# alternated seed by seed (reference, rkhs, reference, rkhs, ...), so both see the same machine state.
#   CKN: the reference PyTorch CKN (claying/CKN-Pytorch-image, driven by bench/reference_ckn_fashion.py: its
#   UnsupCKNet, its k-means, its features, an untuned scikit-learn LogisticRegression) against `rkhs ckn` (the
#   same 3-layer 64/64/128 network on the same 5,000 training images, its cross-validated classifier), 2 threads.
# Usage: bash bench/compare_references.sh CKN_REFERENCE_DIR
#   CKN_REFERENCE_DIR: a checkout of https://github.com/claying/CKN-Pytorch-image (measured at commit 9aad4109);
#   it is read, never copied into rkhs. The reference driver needs Debian's python3-torch and python3-sklearn. Environment: SEEDS (default "1 2 3"), THREADS (default 2),
#   OUT (default bench/results/compare_references.jsonl; appended to).
# Every record holds the process's wall-clock time, the machine's CPU model, BLAS library and thread count, the
# command and its JSON output. Table: python3 bench/summarize_compare.py bench/results/compare_references.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
REFERENCE=${1:?usage: bash bench/compare_references.sh CKN_REFERENCE_DIR}
[ -d "$REFERENCE/ckn" ] || { echo "compare_references: $REFERENCE has no ckn/ package (a CKN-Pytorch-image checkout?)" >&2; exit 2; }
OUT=${OUT:-$RESULTS/compare_references.jsonl}
THREADS=${THREADS:-2}
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
BLAS=$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || echo unknown)

# timed TAG SEED COMMAND...: runs COMMAND, keeps the last line of its stdout (a JSON object) and appends one record.
timed() {
  local tag="$1" seed="$2"
  shift 2
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
    "$tag" "$seed" "$(echo "$end - $start" | bc)" "$THREADS" "$CPU" "$BLAS" "$*" "$out" >>"$OUT"
}

for seed in ${SEEDS:-1 2 3}; do
  timed reference-ckn "$seed" /usr/bin/python3 bench/reference_ckn_fashion.py --reference "$REFERENCE" \
    --threads "$THREADS" --seed "$seed"
  timed rkhs-ckn "$seed" "$RKHS" ckn --data fashion-mnist --threads "$THREADS" --train-size 5000 \
    --filters 64,64,128 --patch 3,3,3 --subsample 2,2,2 --sigma 0.6 --patches 100000 \
    --lambdas 0.1,0.01,0.001,0.0001 --seed "$seed" --json
done
python3 bench/summarize_compare.py "$OUT"
