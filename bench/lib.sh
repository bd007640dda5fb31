# Shared helpers of the benchmark scripts (sourced). RKHS is the binary, RESULTS the folder of JSONL files.
RKHS=${RKHS:-build/rkhs}
RESULTS=${RESULTS:-bench/results}
mkdir -p "$RESULTS"

# record FILE TAG ARGS...: runs `rkhs ARGS... --json`, appends {"tag": TAG, "command": ..., "result": {...}}
# to FILE. Skips a run whose tag and command are already in FILE (so an interrupted sweep can be resumed).
record() {
  local file="$1" tag="$2"
  shift 2
  local cmd="rkhs $*"
  if [ -f "$file" ] && grep -qF "\"command\": \"$cmd\"" "$file"; then
    echo "skip (done): $cmd" >&2
    return 0
  fi
  echo "run: $cmd" >&2
  local out
  if ! out=$("$RKHS" "$@" --json 2>/dev/null | tail -n 1); then
    echo "FAILED: $cmd" >&2
    return 1
  fi
  printf '{"tag": "%s", "command": "%s", "result": %s}\n' "$tag" "$cmd" "$out" >>"$file"
}
