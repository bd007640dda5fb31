# Shared helpers of the benchmark scripts (sourced). RKHS is the binary, RESULTS the folder of JSONL files.
RKHS=${RKHS:-build/rkhs}
RESULTS=${RESULTS:-bench/results}
mkdir -p "$RESULTS"
# --threads THREADS for the scripts that take THREADS from the environment (empty: rkhs's default, all cores).
THREAD_ARGS=()
if [ -n "${THREADS:-}" ]; then THREAD_ARGS=(--threads "$THREADS"); fi

# head_args HEAD: sets HEAD_ARGS to the classify options of a head name of the bench scripts; "softmax-plain" is
# the usual softmax layer (--head softmax --normalize none), "softmax" the paper's baseline (normalised embedding).
head_args() {
  if [ "$1" = softmax-plain ]; then HEAD_ARGS=(--head softmax --normalize none); else HEAD_ARGS=(--head "$1"); fi
}

# record FILE TAG ARGS...: runs `rkhs ARGS... --json`, appends {"tag": TAG, "command": ..., "result": {...}}
# to FILE; a failed run goes to FILE's .failed.tsv with its error line instead. Skips a run whose command is
# already in FILE, or in the .failed.tsv unless RETRY_FAILED=1 (so an interrupted sweep can be resumed).
record() {
  local file="$1" tag="$2"
  shift 2
  local cmd="rkhs $*"
  if [ -f "$file" ] && grep -qF "\"command\": \"$cmd\"" "$file"; then
    echo "skip (done): $cmd" >&2
    return 0
  fi
  if [ "${RETRY_FAILED:-0}" != 1 ] && [ -f "${file%.jsonl}.failed.tsv" ] && grep -qF "$cmd"$'\t' "${file%.jsonl}.failed.tsv"; then
    echo "skip (failed before; RETRY_FAILED=1 retries): $cmd" >&2
    return 0
  fi
  echo "run: $cmd" >&2
  local out
  local err
  err=$(mktemp)
  if ! out=$("$RKHS" "$@" --json 2>"$err" | tail -n 1) || [[ "$out" != \{* ]]; then
    # A failed run (e.g. "training diverged") is logged next to the results and does not stop the sweep.
    echo "FAILED: $cmd: $(tail -n 1 "$err")" >&2
    printf '%s\t%s\n' "$cmd" "$(tail -n 1 "$err")" >>"${file%.jsonl}.failed.tsv"
    rm -f "$err"
    return 0
  fi
  rm -f "$err"
  printf '{"tag": "%s", "command": "%s", "result": %s}\n' "$tag" "$cmd" "$out" >>"$file"
}
