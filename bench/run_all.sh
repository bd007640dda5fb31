#!/usr/bin/env bash
# Runs every benchmark behind docs/RESULTS.md, then prints each result file's summary table. Usage:
# bench/run_all.sh [BUILD_DIR]. Long (days on 2 cores): each script can be run alone (docs/RESULTS.md gives the
# command of each table), and re-running skips the runs already recorded in bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
export RKHS="$BUILD/rkhs"
# Microbenchmarks (Google Benchmark; built when libbenchmark-dev is installed).
RKHS_BENCH_THREADS=1 "$BUILD/bench/bench_heads" --benchmark_min_time=0.5 --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true --benchmark_out=bench/results/heads.json --benchmark_out_format=json
"$BUILD/bench/bench_optim" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true --benchmark_out=bench/results/optim_step.json --benchmark_out_format=json
RKHS_BENCH_THREADS=1 "$BUILD/bench/bench_kernelnet" --benchmark_min_time=1 --benchmark_out=bench/results/kernelnet_step.json --benchmark_out_format=json
RKHS_BENCH_THREADS=1 "$BUILD/bench/bench_ckn" --benchmark_min_time=2 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true --benchmark_out=bench/results/ckn_step.json --benchmark_out_format=json
# Paper 000 (KCL).
bash bench/table1_sphere.sh
bash bench/table3_fashion.sh
bash bench/ablations_fashion.sh
bash bench/table5_active.sh
bash bench/table2_distill.sh
# Paper 001 (Kernel SGD).
bash bench/kernel_sgd_fashion.sh
bash bench/kernel_sgd_resnet.sh
# Paper 002 (NeuralEF).
bash bench/neuralef_1d.sh
PARTS="spin rr" THREADS=1 bash bench/neuralef_1d.sh  # the parts outside the default PARTS, as recorded
OUT=bench/results/neuralef_1d_reconstruction.jsonl PARTS=reconstruction THREADS=1 bash bench/neuralef_1d.sh
bash bench/neuralef_fashion.sh
PARTS="neuralef-rr ntk-rr" THREADS=1 bash bench/neuralef_fashion.sh
# Paper 003 (CKN).
bash bench/ckn_fashion.sh
PARTS="small-hinge full-adam full-2layer" THREADS=1 bash bench/ckn_fashion.sh
PARTS=full-2layer-supervised THREADS=2 bash bench/ckn_fashion.sh
PARTS=small-supervised-holdout bash bench/ckn_fashion.sh
# The reference PyTorch CKN (claying/CKN-Pytorch-image, not part of rkhs): only with CKN_REFERENCE=its checkout.
if [ -n "${CKN_REFERENCE:-}" ] && [ ! -s bench/results/ckn_reference.jsonl ]; then
  for s in 1 2 3; do
    /usr/bin/python3 bench/reference_ckn_fashion.py --reference "$CKN_REFERENCE" --threads 2 --seed "$s" 2>/dev/null
  done >bench/results/ckn_reference.jsonl
fi
# Paper 004 (kernelNet).
bash bench/kernelnet_movielens.sh
bash bench/kernelnet_grid_prior.sh
"$RKHS" embed --data fashion-mnist --out runs/embed --seed 1 --threads 2 --json | tail -n 1 >bench/results/kernelnet_embed_fashion.json
for f in bench/results/*.jsonl; do
  echo "## $f"
  case $f in
  */kernel_sgd_*) python3 bench/summarize_optim.py "$f" ;;
  */table1_sphere.jsonl | */kernelnet_grid_prior.jsonl) python3 bench/select.py "$f" >/tmp/rkhs_selected.jsonl && python3 bench/summarize.py /tmp/rkhs_selected.jsonl ;;
  */kernelnet_*) python3 bench/summarize_kernelnet.py "$f" ;;
  */ckn_*) python3 bench/summarize_ckn.py "$f" ;;
  */neuralef_fashion.jsonl) python3 bench/summarize_neuralef_fashion.py "$f" ;;
  */neuralef_*) python3 bench/summarize_neuralef.py "$f" ;;
  */fuzz.jsonl) python3 bench/summarize_fuzz.py "$f" ;;
  *) python3 bench/summarize.py "$f" ;;
  esac
done
python3 bench/summarize_heads.py bench/results/heads.json
