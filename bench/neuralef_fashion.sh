#!/usr/bin/env bash
# Paper 002, Table 1 on Fashion-MNIST (pixels in [-1, 1]): a multinomial logistic regression on the 10-D projections
# given by the top-10 eigenfunctions of a kernel, trained on the projections of all 60,000 training images (lambda by
# 3-fold CV on them) and tested on the 10,000 test images.
#   nystrom-polynomial / nystrom-rbf   the paper's baselines: Nystrom on 6,000 random training images with its
#                                      MNIST kernels (0.001 x.x' + 1)^10 and exp(-|x - x'|^2 / 200)
#   neuralef-cnngp                     NeuralEF (k = 10 ReLU MLPs 784-256-256-1, Adam 1e-3, cosine, batch 256) on the
#                                      CNN-GP kernel (Conv5-ReLU-MaxPool2-Conv5-ReLU-MaxPool2-Linear-ReLU-Linear, width
#                                      16), estimated by Monte Carlo over S = 1000 networks (the paper: 2000) on the
#                                      same number of training images (6,000; the paper: 60,000, 20,000 iterations)
#   neuralef-cnngp-cnn                 the same with k CNNs as eigenfunctions (--arch cnn: Conv3-BN-ReLU-MaxPool2-Conv3-
#                                      BN-ReLU-MaxPool2-Linear-ReLU-Linear with 8/16 channels and 64 units; the paper:
#                                      32/64/128), 2000 iterations, no exact reference (part "neuralef-cnn")
#   nystrom-cnngp                      Nystrom on the same Monte Carlo CNN-GP kernel (part "cnngp-nystrom": slow, every
#                                      projected image needs S network evaluations, so the logistic regression is
#                                      trained on 10,000 training projections instead of 60,000)
# Part "ntk" (§4.2.2 on two Fashion-MNIST classes instead of CIFAR-10's airplane/automobile): the empirical NTK of a
# LeNet-5 binary classifier (3 epochs of Adam) by finite differences with 1000 Rademacher directions (the paper:
# 4000) on 2,000 training images of the pair, NeuralEF's top 10 eigenfunctions, K-means with 2 clusters on the
# projections of the pair's 2,000 test images vs K-means on their pixels; pairs 7,9 (sneaker/ankle boot) and 2,4
# (pullover/coat), fixed before any run.
# Parts "neuralef-rr" and "ntk-rr" (not in the default PARTS): the "neuralef" and "ntk" runs with --rayleigh-ritz
# (not in the paper: the 10 functions rotated within their span after training); "ntk-rr" also repeats each NTK run
# without it at the same THREADS (the classifier's training depends on the thread count, so this is the fair pair).
# Resumable. Environment: SEEDS (default "1"), THREADS (default 2), PARTS (default "baselines neuralef
# neuralef-cnn ntk cnngp-nystrom"),
# ITERATIONS (default 5000), OUT (default bench/results/neuralef_fashion.jsonl).
# Summary: python3 bench/summarize_neuralef_fashion.py bench/results/neuralef_fashion.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
OUT=${OUT:-$RESULTS/neuralef_fashion.jsonl}
THREADS=${THREADS:-2}
ITERATIONS=${ITERATIONS:-5000}
common=(--data fashion-mnist --n 6000 --heldout 1000 --k 10 --threads "$THREADS")
for part in ${PARTS:-baselines neuralef neuralef-cnn ntk cnngp-nystrom}; do
  for seed in ${SEEDS:-1}; do
    case "$part" in
      baselines)
        for kernel in polynomial rbf; do
          record "$OUT" "nystrom-$kernel" eigen --kernel "$kernel" --method nystrom "${common[@]}" --seed "$seed"
        done ;;
      neuralef)
        record "$OUT" neuralef-cnngp eigen --no-rayleigh-ritz --kernel nngp-cnn --mc-samples 1000 --method neuralef --width 256 \
          --iterations "$ITERATIONS" "${common[@]}" --seed "$seed" ;;
      neuralef-rr)
        record "$OUT" neuralef-cnngp-rr eigen --kernel nngp-cnn --mc-samples 1000 --method neuralef --width 256 \
          --iterations "$ITERATIONS" --rayleigh-ritz "${common[@]}" --seed "$seed" ;;
      neuralef-cnn)
        record "$OUT" neuralef-cnngp-cnn eigen --no-rayleigh-ritz --kernel nngp-cnn --mc-samples 1000 --method neuralef --arch cnn \
          --channels 8,16 --width 64 --iterations 2000 --reference-limit 0 "${common[@]}" --seed "$seed" ;;
      ntk)
        for pair in 7,9 2,4; do
          record "$OUT" "neuralef-ntk-$pair" eigen --no-rayleigh-ritz --kernel ntk --ntk-classes "$pair" --data fashion-mnist --n 2000 \
            --heldout 2000 --k 10 --mc-samples 1000 --width 256 --iterations 2000 --threads "$THREADS" --seed "$seed"
        done ;;
      ntk-rr)  # with and without the rotation at the same THREADS, so both use the same classifier
        for pair in 7,9 2,4; do
          record "$OUT" "neuralef-ntk-$pair-rr" eigen --kernel ntk --ntk-classes "$pair" --data fashion-mnist --n 2000 \
            --heldout 2000 --k 10 --mc-samples 1000 --width 256 --iterations 2000 --rayleigh-ritz --threads "$THREADS" \
            --seed "$seed"
          record "$OUT" "neuralef-ntk-$pair-norr" eigen --no-rayleigh-ritz --kernel ntk --ntk-classes "$pair" --data fashion-mnist --n 2000 \
            --heldout 2000 --k 10 --mc-samples 1000 --width 256 --iterations 2000 --threads "$THREADS" --seed "$seed"
        done ;;
      cnngp-nystrom)
        record "$OUT" nystrom-cnngp eigen --kernel nngp-cnn --mc-samples 1000 --method nystrom --classify-size 10000 \
          "${common[@]}" --seed "$seed" ;;
    esac
  done
done
