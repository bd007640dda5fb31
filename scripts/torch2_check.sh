#!/usr/bin/env bash
# Builds and tests rkhs against LibTorch 2.x without a GPU (docs/DEVICES.md, "LibTorch 2.x on the CPU"): a Debian 13
# (trixie) root made with debootstrap holds Debian's LibTorch and PyTorch 2.6, gcc 14 and CMake, but none of the
# libraries that scripts/gpu_check.sh --stage puts in data/deps (CLI11, nlohmann-json, GoogleTest) - the situation
# of a bare GPU machine with PyTorch. The repository is bind-mounted into that root and scripts/gpu_check.sh runs
# there with the CPU as its device: a fresh build folder (build-torch2) configured against python3's LibTorch with
# the staged dependencies, every test, the Python package built and tested against python3's torch, and each
# command compared (the timed workloads are skipped: RKHS_CHECK_BUDGET=0).
# Needs root and Debian's archive (deb.debian.org); about 2.3 GB in ROOT and about 30 minutes on 2 cores, most
# of them the build.
# Usage: bash scripts/torch2_check.sh            (ROOT=/var/tmp/rkhs-trixie, OUT=build-torch2-out)
#        CXX_STANDARD=20 bash scripts/torch2_check.sh   (rkhs compiled as C++20, as LibTorch >= 2.12/2.13 requires:
#                                                        build-torch2-cxx20, OUT=build-torch2-cxx20-out)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
ROOT=${ROOT:-/var/tmp/rkhs-trixie}
CXX_STANDARD=${CXX_STANDARD:-}
BUILD=build-torch2${CXX_STANDARD:+-cxx$CXX_STANDARD}
OUT=${OUT:-$BUILD-out}
[ "$(id -u)" = 0 ] || { echo "torch2_check: needs root (debootstrap, chroot, mount)" >&2; exit 2; }
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
[ -d data/deps ] || bash scripts/gpu_check.sh --stage

if [ ! -x "$ROOT/usr/bin/python3" ]; then
  debootstrap --variant=minbase trixie "$ROOT" http://deb.debian.org/debian
fi
mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}" || true; done
}
trap cleanup EXIT
bind() {
  mkdir -p "$ROOT$2"
  mount --bind "$1" "$ROOT$2"
  mounted+=("$ROOT$2")
}
mount -t proc proc "$ROOT/proc" && mounted+=("$ROOT/proc")
bind /dev /dev
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
chroot "$ROOT" bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  --no-install-recommends g++ cmake ninja-build make libtorch-dev python3-torch python3-pybind11 python3-pytest \
  python3-numpy libgloo-dev libopenblas0-openmp >/dev/null'
bind "$REPO" "$REPO"
chroot "$ROOT" bash -c "python3 -c 'import torch; print(\"torch\", torch.__version__)'; g++ --version | head -n 1"
chroot "$ROOT" env RKHS_CHECK_DEVICE=cpu RKHS_CHECK_BUDGET=0 OUT="$REPO/$OUT" PYTHON=python3 \
  RKHS_CHECK_CMAKE_ARGS="${CXX_STANDARD:+-DRKHS_CXX_STANDARD=$CXX_STANDARD}" bash "$REPO/scripts/gpu_check.sh" "$BUILD"
