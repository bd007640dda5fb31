// Precompiled header for every rkhs source and test: the one place that pulls in the LibTorch umbrella.
#pragma once
#include <torch/torch.h>
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>
