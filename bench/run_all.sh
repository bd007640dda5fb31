#!/usr/bin/env bash
# Runs every benchmark behind docs/RESULTS.md. Usage: bench/run_all.sh [BUILD_DIR]. Long (hours on 2 cores):
# each script can be run alone, and re-running skips the runs already recorded in bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
export RKHS="$BUILD/rkhs"
RKHS_BENCH_THREADS=1 "$BUILD/bench/bench_heads" --benchmark_min_time=0.5 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true --benchmark_out=bench/results/heads.json --benchmark_out_format=json
"$BUILD/bench/bench_optim" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true --benchmark_out=bench/results/optim_step.json --benchmark_out_format=json
bash bench/table1_sphere.sh
bash bench/table3_fashion.sh
bash bench/ablations_fashion.sh
bash bench/table2_distill.sh
bash bench/kernel_sgd_fashion.sh
bash bench/kernel_sgd_resnet.sh
RKHS_BENCH_THREADS=1 "$BUILD/bench/bench_kernelnet" --benchmark_min_time=1 --benchmark_out=bench/results/kernelnet_step.json --benchmark_out_format=json
bash bench/kernelnet_movielens.sh
"$RKHS" embed --data fashion-mnist --out runs/embed --seed 1 --threads 2 --json | tail -n 1 >bench/results/kernelnet_embed_fashion.json
for f in bench/results/*.jsonl; do
  echo "## $f"
  case $f in
  */kernel_sgd_*) python3 bench/summarize_optim.py "$f" ;;
  */kernelnet_*) python3 bench/summarize_kernelnet.py "$f" ;;
  */fuzz.jsonl) python3 bench/summarize_fuzz.py "$f" ;;
  *) python3 bench/summarize.py "$f" ;;
  esac
done
