#!/usr/bin/env bash
# Paper 001's Table 2 on Fashion-MNIST with the paper's MLP (two hidden layers of 100), all 60,000 training
# images (48,000 train, 12,000 validation), 12 epochs, the paper's grid lr, gamma in {0.1, 0.01, 0.001, 0.0001},
# and the Kernel SGD ablations (stage c). Results: bench/results/kernel_sgd_fashion.jsonl. See
# bench/kernel_sgd_sweep.sh for the stages and the environment variables.
cd "$(dirname "$0")/.."
export MODEL_ARGS="--model mlp --hidden 100,100" OUT=${OUT:-kernel_sgd_fashion}
exec bash bench/kernel_sgd_sweep.sh
