#!/usr/bin/env bash
# The ResNet rows of paper 001's Table 2, scaled to 2 CPU cores: ResNet-8 (CIFAR-style, 64-wide embedding, so
# m = 64 = d_in and the faithful and corrected modes coincide) on a stratified 10,000-image subset of
# Fashion-MNIST (8,000 train, 2,000 validation), EPOCHS epochs, lr in {0.1, 0.01, 0.001}, Kernel SGD with RBF
# gamma in {0.1, 0.01} (the two best on the MLP).
# Seeds 2 and 3 at each optimizer's validation-selected setting, except L-BFGS (seed 1 only: one epoch of 20
# line-search iterations per batch takes ~15 minutes here). See bench/kernel_sgd_sweep.sh.
cd "$(dirname "$0")/.."
export MODEL_ARGS="--model resnet8 --train-size 10000" OUT=kernel_sgd_resnet
export LRS=${LRS:-"0.1 0.01 0.001"} GAMMAS=${GAMMAS:-"0.1 0.01"} EPOCHS=${EPOCHS:-5} LBFGS_EPOCHS=${LBFGS_EPOCHS:-1}
export STAGES=${STAGES:-"a b"} B_TAGS=${B_TAGS:-"sgd momentum esgd adahessian kernel-sgd"}
exec bash bench/kernel_sgd_sweep.sh
