#!/usr/bin/env bash
# Installs from Debian 12 whatever rkhs needs to build, test, benchmark and plot.
# Idempotent: packages already present are skipped, and apt is not touched when nothing is missing.
# `setup.sh --fuzz` adds clang and its runtime (libFuzzer, ASan, UBSan) for `make fuzz`; `setup.sh --movielens`
# adds R's dslabs package, whose 100,004 MovieLens ratings scripts/export_dslabs_movielens.sh exports; `--mlbench`
# adds R's mlbench package, whose tabular sets scripts/export_mlbench.sh exports as CSV (bench/defaults.sh).
set -euo pipefail

PACKAGES=(
  g++ cmake make ninja-build ccache pkg-config
  libtorch-dev          # LibTorch 1.13 (CPU)
  libgloo-dev           # the headers of Gloo, which c10d's ProcessGroupGloo (in libtorch_cpu) includes: multi-process training
  libopenblas0-openmp   # OpenBLAS for LibTorch's libblas.so.3 (else the reference BLAS: matmuls ~20x slower)
  libcli11-dev          # command-line parsing
  nlohmann-json3-dev    # JSON results, configs and model sidecars
  zlib1g-dev            # gzip'd IDX files
  libgtest-dev libgmock-dev googletest
  libbenchmark-dev      # Google Benchmark
  dataset-fashion-mnist # /usr/share/datasets/fashion-mnist/*.gz
  gnuplot-nox           # learning-curve and result plots (PNG)
  python3               # bench/ scripts (tables from JSON results) and the Python package
  python3-torch         # the Python package links its LibTorch (the same 1.13 build as libtorch-dev)
  pybind11-dev          # the Python extension rkhs._C
  python3-pytest python3-numpy  # tests/python (make test)
)
for extra in "$@"; do
  case "$extra" in
    --fuzz) PACKAGES+=(clang libclang-rt-dev) ;;  # libFuzzer + sanitizer runtimes of Debian's default clang (14)
    --movielens) PACKAGES+=(r-cran-dslabs) ;;     # R + dslabs (the movielens data frame)
    --mlbench) PACKAGES+=(r-cran-mlbench) ;;      # R + mlbench (Sonar, Glass, Vehicle, Satellite, ...)
    *) echo "setup: unknown option $extra (--fuzz, --movielens, --mlbench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
