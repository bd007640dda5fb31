#!/usr/bin/env bash
# Runs every libFuzzer target of fuzz/ for SECONDS each, JOBS at a time, and appends one JSON line per target to
# OUT. Usage: scripts/fuzz.sh BUILD_DIR [SECONDS] [TARGET...]   (`make fuzz` builds BUILD_DIR and calls this)
# Environment: JOBS (default: number of cores), OUT (default bench/results/fuzz.jsonl), RSS_MB (default 2048).
# RKHS_MAX_DENSE_VALUES is set to 2^26: a 30-byte LIBSVM line may legitimately ask for a dense matrix of up to the
# loader's default 2^30 values (4 GiB), which under ASan costs minutes per input (docs/DATA.md).
# Each target starts from its committed seeds (fuzz/corpus/<target>, plus tests/fixtures for the text and IDX
# loaders) and grows a working corpus in BUILD_DIR/corpus/<target>; a crash, leak, hang (> 30 s on one input)
# or out-of-memory input is saved under BUILD_DIR/artifacts/<target>/ and makes the script exit non-zero
# (inputs slower than 10 s are saved there too, as slow-unit-*, and counted but not failures).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:?usage: scripts/fuzz.sh BUILD_DIR [SECONDS] [TARGET...]}
SECONDS_EACH=${2:-600}
shift $(( $# >= 2 ? 2 : 1 ))
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(idx csv libsvm ratings checkpoint weights)
JOBS=${JOBS:-$(nproc)}
OUT=${OUT:-bench/results/fuzz.jsonl}
RSS_MB=${RSS_MB:-2048}
export RKHS_MAX_DENSE_VALUES=${RKHS_MAX_DENSE_VALUES:-67108864}
mkdir -p "$(dirname "$OUT")"

run_one() {
  local t=$1 bin="$BUILD/fuzz/fuzz_$1" work="$BUILD/corpus/$1" art="$BUILD/artifacts/$1/" log="$BUILD/fuzz-$1.log"
  [ -x "$bin" ] || { echo "fuzz: $bin is missing (make fuzz builds it)" >&2; return 1; }
  mkdir -p "$work" "$art"
  case $t in
    idx | csv | libsvm) cp -n tests/fixtures/"$t"_* "$work"/ 2>/dev/null ;;
    ratings) cp -n tests/fixtures/ml*_* "$work"/ 2>/dev/null ;;
  esac
  local seeds=()
  [ -d "fuzz/corpus/$t" ] && seeds=("fuzz/corpus/$t")
  local start rc
  start=$(date +%s)
  "$bin" -max_total_time="$SECONDS_EACH" -timeout=30 -rss_limit_mb="$RSS_MB" -print_final_stats=1 \
    -artifact_prefix="$art" "$work" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  local wall=$(( $(date +%s) - start ))
  local execs rss crashes slow corpus
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
  crashes=$(find "$art" -type f ! -name 'slow-unit-*' | wc -l)
  slow=$(find "$art" -type f -name 'slow-unit-*' | wc -l)
  corpus=$(find "$work" -type f | wc -l)
  printf '{"target":"%s","seconds":%d,"executions":%s,"corpus_files":%d,"peak_rss_mb":%s,"exit_code":%d,"findings":%d,"slow_units":%d,"date":"%s","host_cores":%d,"jobs":%d}\n' \
    "$t" "$wall" "${execs:-0}" "$corpus" "${rss:-0}" "$rc" "$crashes" "$slow" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$JOBS" >>"$OUT"
  echo "fuzz $t: ${wall} s, ${execs:-?} executions, exit $rc, $crashes finding(s), $slow slow unit(s); log $log"
  [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ]
}

failed=0
running=0
for t in "${TARGETS[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done
[ "$failed" -eq 0 ] && echo "fuzz: all targets clean" || echo "fuzz: FINDINGS, see $BUILD/artifacts/" >&2
exit "$failed"
