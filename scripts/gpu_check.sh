#!/usr/bin/env bash
# The prepared GPU check (issue 24, docs/DEVICES.md): one script that a session with a GPU machine runs in one go.
#   1. configure and build against the machine's LibTorch (PyTorch's, found through python3) in BUILD, with the
#      dependencies that --stage copied into data/deps;
#   2. ctest with RKHS_TEST_DEVICE=$RKHS_CHECK_DEVICE (every test; tests/device runs each system there), then the
#      Python package built against python3's torch and tests/python;
#   3. each command (classify, ckn, eigen, embed, recommend, demo) on a small configuration on the device and on the
#      CPU, compared (accuracy within noise, eigenvalues within tolerance, RMSE);
#   4. the main workloads timed on both: classify ResNet-20 one epoch (with KCL, and with a linear softmax head for
#      KCL's cost), the CKN 5,000-image 3-layer pipeline, NeuralEF 2,000 iterations, the AutoRec outer loops;
#   5. one JSON summary, $OUT/gpu_check.json, with the logs beside it and every command's own JSON and output in
#      $OUT/details.tar.gz: the device tool brings back at most 8 files from $OUT, so nothing else is written there.
#
# Usage (GPU session):   bash scripts/gpu_check.sh --stage      # here, before: data/ for the machine (then carry it)
#                        bash scripts/gpu_check.sh              # there: RKHS_CHECK_DEVICE defaults to cuda
# On the CPU:            RKHS_CHECK_DEVICE=cpu RKHS_CHECK_QUICK=1 bash scripts/gpu_check.sh [BUILD]
#   the same sequence with the CPU as "the device" (ctest runs it so the script cannot rot: tests/cli).
# Environment: RKHS_CHECK_DEVICE (cuda), RKHS_CHECK_QUICK (0; 1 = tiny configurations, no timed workloads, ctest
# limited to the device test, no Python step), PYTHON (python3: its torch is the LibTorch a new folder builds
# with), BUILD (build-gpu, or build on the CPU), OUT ($OUT, else bench/results/gpu_check),
# RKHS_FASHION_MNIST / RKHS_MOVIELENS (data; default data/fashion-mnist and data/dslabs when present),
# RKHS_CHECK_BUDGET (420: no timed workload starts later, in seconds from the start), RESNET_TRAIN_SIZE (10000
# images for the ResNet-20 epoch, so the CPU's epoch fits), NEURALEF_N (2000 training images), RKHS_CHECK_CTEST
# (1; 0 skips the tests, e.g. for a second call that only times), RKHS_CHECK_CMAKE_ARGS (more options for a new
# build folder's configure, split at spaces; e.g. -DRKHS_CXX_STANDARD=20).
# Exit status: 0 when every step passed; the JSON says which failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

if [ "${1:-}" = --stage ]; then
  # Data for a machine without Debian's packages: data/ is ignored by git, so `run` carries it when asked
  # (carry: ["data"], about 38 MB).
  mkdir -p data/fashion-mnist
  cp /usr/share/datasets/fashion-mnist/*.gz data/fashion-mnist/
  [ -f data/dslabs/ratings.csv ] || bash scripts/export_dslabs_movielens.sh data/dslabs
  # The build's own dependencies, which a bare machine with PyTorch lacks and cannot fetch: Debian's CLI11,
  # nlohmann-json, GoogleTest (static, C++11 ABI like PyTorch 2.x's LibTorch) and zlib files, copied with their
  # paths under data/deps (their CMake files find their prefix relative to themselves). The build step uses them.
  rm -rf data/deps
  for pkg in libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev zlib1g-dev; do
    dpkg -L "$pkg" | while read -r f; do
      case "$f" in
        /usr/share/doc/* | /usr/share/man/* | /usr/src/* | /usr/include/gmock/* | *.pc | */libz.a) continue ;;
      esac
      if [ -f "$f" ]; then mkdir -p "data/deps$(dirname "$f")" && cp -L "$f" "data/deps$f"; fi
    done
  done
  # What a run carries: the tracked files and data/, against the device tool's 64 MiB.
  tracked=$(git ls-files -z | xargs -0 cat | wc -c)
  echo "staged: data/ $(du -sh data | cut -f1) (deps $(du -sh data/deps | cut -f1)); with the tracked files" \
    "$(((tracked + $(du -sb data | cut -f1)) / 1048576)) MiB of the 64 MiB a run may carry"
  exit 0
fi

DEVICE=${RKHS_CHECK_DEVICE:-cuda}
QUICK=${RKHS_CHECK_QUICK:-0}
PYTHON=${PYTHON:-python3}
if [ "$DEVICE" = cpu ]; then BUILD=${1:-${BUILD:-build}}; else BUILD=${1:-${BUILD:-build-gpu}}; fi
OUT=${OUT:-bench/results/gpu_check}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG="$OUT/gpu_check.log"
# Everything else (each command's JSON, the runs' folders) goes to WORK, packed into $OUT/details.tar.gz at the end.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rkhs_gpu_check.XXXXXX")
: >"$LOG"
[ -d data/fashion-mnist ] && export RKHS_FASHION_MNIST=${RKHS_FASHION_MNIST:-$PWD/data/fashion-mnist}
MOVIELENS=${RKHS_MOVIELENS:-data/dslabs}
STEPS="$WORK/steps.jsonl"
: >"$STEPS"
failed=0
START=$(date +%s.%N)
# The timed workloads start only while the run is younger than this (seconds): the device budget is 10 minutes a
# command, build included.
BUDGET=${RKHS_CHECK_BUDGET:-420}

# step NAME STATUS SECONDS [JSON]: one line of the summary, which is rewritten after every step (a run stopped at the
# device tool's time limit still brings back the steps it finished).
step() {
  local extra=${4:-null}
  printf '{"step": "%s", "ok": %s, "seconds": %s, "detail": %s}\n' "$1" "$2" "$3" "$extra" >>"$STEPS"
  [ "$2" = true ] || failed=1
  echo "== $1: $([ "$2" = true ] && echo ok || echo FAILED) (${3}s)" | tee -a "$LOG"
  write_summary >/dev/null
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# write_summary: the steps so far into $OUT/gpu_check.json.
write_summary() {
  "$PYTHON" - "$STEPS" "$OUT/gpu_check.json" "$DEVICE" "$QUICK" <<'EOF'
import json, sys
steps = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
summary = {"device": sys.argv[3], "quick": sys.argv[4] == "1", "ok": all(s["ok"] for s in steps), "steps": steps}
json.dump(summary, open(sys.argv[2], "w"), indent=1)
print(("gpu_check: all %d steps passed" if summary["ok"] else "gpu_check: %d steps, some FAILED") % len(steps))
EOF
}
# summarize: the summary and details.tar.gz (the end of the run, a failed build, or a stop by a signal).
summarize() {
  write_summary
  tar -czf "$OUT/details.tar.gz" -C "$WORK" . && rm -rf "$WORK"
  echo "summary: $OUT/gpu_check.json (details: $OUT/details.tar.gz)"
}
on_signal() {
  step stopped false "$(since "$START")" '"stopped by a signal before the end (a time limit?)"'
  summarize
  exit 124
}
trap on_signal TERM INT

# 1. Build. A folder that is not configured yet (the device's build-gpu) is configured here against python3's
# LibTorch (PyTorch's on a GPU machine), with the dependencies that --stage put in data/deps where present, and
# without the Python package (step 2b builds it, so that it cannot stop the rest); on the CPU the given build folder
# is (re)used. Ninja goes on after an error (-k 0), so one call collects every compile error: build_errors.txt.
t=$(now)
if [ ! -f "$BUILD/build.ninja" ]; then
  config=(-DCMAKE_BUILD_TYPE=Release -DRKHS_BUILD_BENCH=OFF -DRKHS_BUILD_PYTHON=OFF)
  read -r -a extra <<<"${RKHS_CHECK_CMAKE_ARGS:-}"
  config+=("${extra[@]}")
  if prefix=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>>"$LOG"); then
    config+=(-DCMAKE_PREFIX_PATH="$prefix")
  fi
  deps=$PWD/data/deps/usr
  if [ -d "$deps" ]; then
    config+=(-DCLI11_DIR="$deps/share/cmake/CLI11" -Dnlohmann_json_DIR="$deps/share/cmake/nlohmann_json"
             -DGTest_DIR="$deps/lib/x86_64-linux-gnu/cmake/GTest" -DZLIB_INCLUDE_DIR="$deps/include"
             -DZLIB_LIBRARY="$deps/lib/x86_64-linux-gnu/libz.so")
  fi
  "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "C++11 ABI",
                torch.compiled_with_cxx11_abi())' >>"$LOG" 2>&1
  # TorchConfig.cmake of a CUDA build enables CMake's CUDA language: it needs nvcc, which may be installed off PATH.
  if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
  echo "nvcc: $(command -v nvcc || echo none) $(nvcc --version 2>/dev/null | tail -n 1)" >>"$LOG"
  configure() { cmake -S . -B "$BUILD" -G Ninja "${config[@]}" "$@" >>"$LOG" 2>&1; }
  if configure; then
    step configure true "$(since "$t")" '"find_package(Torch)"'
  else
    # Where TorchConfig.cmake fails (no or another CUDA toolkit, cuDNN...), LibTorch is taken from python3's torch
    # without it (cmake/TorchFromPython.cmake): rkhs compiles no CUDA code. The first error stays in the log.
    grep -A6 'CMake Error' "$LOG" | head -n 40 >"$OUT/configure_error.txt"
    rm -rf "$BUILD"
    echo "== configure: find_package(Torch) failed; again with RKHS_TORCH_FROM_PYTHON" | tee -a "$LOG"
    if configure -DRKHS_TORCH_FROM_PYTHON="$(command -v "$PYTHON")"; then
      step configure true "$(since "$t")" '"RKHS_TORCH_FROM_PYTHON (find_package(Torch) failed: configure_error.txt)"'
    else
      step configure false "$(since "$t")" '"both ways failed: configure_error.txt, gpu_check.log"'
    fi
  fi
  [ -f "$BUILD/build.ninja" ] && touch "$BUILD/gpu_check_configured"
  t=$(now)
fi
if cmake --build "$BUILD" -j "$(nproc)" -- -k 0 >>"$LOG" 2>&1; then step build true "$(since "$t")"; else
  grep -E -A3 'error:|Error [0-9]|CMake Error' "$LOG" | head -n 400 >"$OUT/build_errors.txt"
  step build false "$(since "$t")" "\"$(grep -c 'error:' "$LOG") compile errors: build_errors.txt\""
  tail -n 30 "$LOG"
  summarize
  exit 1
fi
RKHS="$BUILD/rkhs"

# 2. The tests on the device (quick: the device test only).
t=$(now)
filter=()
[ "$QUICK" = 1 ] && filter=(-R '^device$')
if [ "${RKHS_CHECK_CTEST:-1}" = 0 ]; then
  step ctest true 0 '"skipped (RKHS_CHECK_CTEST=0)"'
elif RKHS_TEST_DEVICE=$DEVICE ctest --test-dir "$BUILD" --output-on-failure -j "$(nproc)" "${filter[@]}" >"$OUT/ctest.log" 2>&1; then
  step ctest true "$(since "$t")"
else
  step ctest false "$(since "$t")" "\"$(grep -E 'tests passed|Failed|\*\*\*' "$OUT/ctest.log" | tr '\n' ' ' | tr -d '"' | cut -c1-400)\""
fi

# 2b. The Python package against this machine's PyTorch (python3's torch, its pybind11), in a folder that step 1
# configured, now or in an earlier run, and not in quick mode (ctest's gpu_check_cpu runs inside such a folder; on
# the CPU, make test runs tests/python against Debian's PyTorch). The tests run on the CPU.
if [ -f "$BUILD/gpu_check_configured" ] && [ "$QUICK" != 1 ]; then
  t=$(now)
  python_config=(-DRKHS_BUILD_PYTHON=ON -DRKHS_PYTHON="$(command -v "$PYTHON")")
  if pybind=$("$PYTHON" -m pybind11 --cmakedir 2>/dev/null) && [ -n "$pybind" ]; then
    python_config+=(-Dpybind11_DIR="$pybind")
  fi
  package="$(cd "$BUILD" && pwd)/python"
  if cmake "$BUILD" "${python_config[@]}" >>"$LOG" 2>&1 && cmake --build "$BUILD" --target rkhs_python >>"$LOG" 2>&1 &&
    PYTHONPATH="$package" "$PYTHON" -m pytest -q -p no:cacheprovider tests/python >"$OUT/pytest.log" 2>&1; then
    step python true "$(since "$t")" "\"$(tail -n 1 "$OUT/pytest.log" | tr -d '"' | cut -c1-200)\""
  else
    last=$( (tail -n 3 "$OUT/pytest.log" 2>/dev/null || tail -n 3 "$LOG") | tr '\n' ' ' | tr -d '"' | cut -c1-400)
    step python false "$(since "$t")" "\"$last\""
  fi
fi

# run_json FILE ARGS...: `rkhs ARGS --json`, the last stdout line into FILE; returns rkhs's status.
run_json() {
  local file="$1"
  shift
  echo "rkhs $*" >>"$LOG"
  "$RKHS" "$@" --json 2>>"$LOG" | tail -n 1 >"$file"
  return "${PIPESTATUS[0]}"
}

# compare NAME TOLERANCE KEY ARGS...: runs ARGS on the CPU and on the device; KEY (a Python expression on the
# parsed JSON `j`) must agree within TOLERANCE (absolute; lists elementwise).
compare() {
  local name="$1" tol="$2" key="$3"
  shift 3
  local t0
  t0=$(now)
  if ! run_json "$WORK/$name.cpu.json" "$@" --device cpu || ! run_json "$WORK/$name.dev.json" "$@" --device "$DEVICE"; then
    step "compare-$name" false "$(since "$t0")" "\"$(tail -n 1 "$LOG" | tr -d '"' | cut -c1-300)\""
    return
  fi
  local verdict
  verdict=$("$PYTHON" - "$WORK/$name.cpu.json" "$WORK/$name.dev.json" "$tol" "$key" <<'EOF'
import json, math, sys
cpu, dev = (json.load(open(p)) for p in sys.argv[1:3])
tol, key = float(sys.argv[3]), sys.argv[4]
a, b = eval(key, {"j": cpu}), eval(key, {"j": dev})
pairs = list(zip(a, b)) if isinstance(a, list) else [(a, b)]
worst = max(abs(x - y) for x, y in pairs)
ok = len(pairs) > 0 and all(math.isfinite(x) and math.isfinite(y) for x, y in pairs) and worst <= tol
print(json.dumps({"ok": ok, "cpu": a, "device": b, "max_difference": worst, "tolerance": tol,
                  "cpu_seconds": cpu.get("train_seconds"), "device_seconds": dev.get("train_seconds")}))
EOF
  )
  local ok=false
  [[ "$verdict" == *'"ok": true'* ]] && ok=true
  step "compare-$name" "$ok" "$(since "$t0")" "$verdict"
}

# 3. Each command on both, on small configurations.
STRIPES="$WORK/stripes.csv"
awk 'BEGIN { srand(3); for (n = 0; n < 400; n++) { c = n % 2; ph = rand() * 6.28; line = c;
  for (i = 0; i < 8; i++) for (j = 0; j < 8; j++) line = line "," sprintf("%.4f", sin((c ? j : i) * 1.57 + ph) + 0.3 * (rand() - 0.5));
  print line } }' >"$STRIPES"
ML="movielens:tests/fixtures/ml100k_u1.base"
MLTEST="tests/fixtures/ml100k_u1.test"
compare classify-kcl 0.05 'j["test"]["accuracy"]' classify --data sphere --train-size 2000 --test-size 1000 \
  --head kernelized --epochs 3 --lr 0.5 --seed 1
compare classify-adahessian 0.05 'j["test"]["accuracy"]' classify --data moons --train-size 1000 --test-size 500 \
  --model mlp --hidden 32 --head softmax --optimizer adahessian --lr 0.1 --epochs 3 --seed 1
compare ckn-unsupervised 0.05 'j["test_accuracy"]' ckn --data "csv:$STRIPES" --image-shape 1x8x8 --filters 4,8 \
  --patch 3 --subsample 2,2 --patches 1000 --lambdas 0.01 --seed 2
compare ckn-supervised 0.1 'j["test_accuracy"]' ckn --data "csv:$STRIPES" --image-shape 1x8x8 --filters 4,8 \
  --patch 3 --subsample 2,2 --patches 1000 --mode supervised --epochs 2 --batch-size 32 --lambdas 0.01 --seed 2
compare eigen-nystrom 1e-6 'j["eigenvalues"]' eigen --kernel rbf --method nystrom --n 1000 --k 5
compare eigen-neuralef 0.02 'j["eigenvalues"]' eigen --kernel rbf --method neuralef --n 1000 --k 3 --iterations 500
compare eigen-nngp-mc 0.02 'j["eigenvalues"]' eigen --kernel nngp-mlp --mc-samples 500 --method neuralef --n 500 \
  --k 3 --iterations 300
compare embed 0.1 'j["knn_accuracy"]' embed --data moons --train-size 600 --test-size 200 --encoder 16 --decoder 16 \
  --grid 6 --epochs 20 --out "$WORK/embed"
compare recommend 0.02 'j["test_rmse"]' recommend --data "$ML" --test "$MLTEST" --model sparse-fc --hidden 32 \
  --outer-loops 3 --lbfgs-iterations 10 --lambda2 20 --shrink 0
if [ -d "${RKHS_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}" ]; then
  compare demo 0.05 '[j[h]["test"]["accuracy"] for h in ("softmax", "kernelized")]' \
    demo --epochs 1 --train-size 2000 --out "$WORK/demo"
else
  step compare-demo false 0 '"no Fashion-MNIST: run scripts/gpu_check.sh --stage and carry data/"'
fi

# 4. The main workloads, timed on both (absolute times from the device; the CPU's beside them). Quick: skipped.
time_both() {
  local name="$1"
  shift
  if awk -v a="$(since "$START")" -v b="$BUDGET" 'BEGIN { exit !(a > b) }'; then
    step "time-$name" true 0 "{\"skipped\": \"past RKHS_CHECK_BUDGET=$BUDGET s\"}"
    return
  fi
  local t0
  t0=$(now)
  local ok=true
  run_json "$WORK/time-$name.dev.json" "$@" --device "$DEVICE" || ok=false
  local dev_s
  dev_s=$(since "$t0")
  t0=$(now)
  run_json "$WORK/time-$name.cpu.json" "$@" --device cpu || ok=false
  local cpu_s
  cpu_s=$(since "$t0")
  step "time-$name" "$ok" "$dev_s" "{\"device_wall_seconds\": $dev_s, \"cpu_wall_seconds\": $cpu_s}"
}
if [ "$QUICK" != 1 ]; then
  if [ -d "${RKHS_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}" ]; then
    time_both classify-resnet20-epoch classify --data fashion-mnist --model resnet20 --head kernelized --epochs 1 \
      --lr 0.1 --train-size "${RESNET_TRAIN_SIZE:-10000}"
    # The same epoch with the linear softmax head: KCL's cost on the device against it (issue 24: fuse the head on
    # the GPU when it costs more than 1.3x a linear head).
    time_both classify-resnet20-epoch-linear-head classify --data fashion-mnist --model resnet20 --head softmax \
      --normalize none --epochs 1 --lr 0.1 --train-size "${RESNET_TRAIN_SIZE:-10000}"
    time_both ckn-5k-3layer ckn --data fashion-mnist --train-size 5000 --filters 64,64,128 --patch 3,3,3 \
      --subsample 2,2,2 --sigma 0.6 --patches 100000 --lambdas 0.1,0.01,0.001,0.0001
    time_both neuralef-2000 eigen --data fashion-mnist --kernel nngp-cnn --mc-samples 1000 --method neuralef \
      --width 256 --n "${NEURALEF_N:-2000}" --heldout 1000 --k 10 --iterations 2000
  else
    step time-fashion-mnist false 0 '"no Fashion-MNIST: run scripts/gpu_check.sh --stage and carry data/"'
  fi
  if [ -f "$MOVIELENS/ratings.csv" ]; then
    time_both autorec-loops recommend --data "movielens:$MOVIELENS" --model sparse-fc --outer-loops 5 --lambda2 20 --shrink 0
  else
    step time-autorec false 0 '"no MovieLens export: run scripts/gpu_check.sh --stage and carry data/"'
  fi
fi

# 5. The summary.
summarize
exit "$failed"
