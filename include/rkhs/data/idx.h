#pragma once
// IDX files (the MNIST / Fashion-MNIST container), raw or gzip-compressed. Format and error messages: docs/DATA.md.
#include <ATen/core/Tensor.h>

#include <string>

#include "rkhs/data/dataset.h"

namespace rkhs::data {

// The tensor stored in an IDX file (raw or .gz; zlib reads both), with the file's dimensions and element type:
// 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64 (big-endian on disk).
// Throws rkhs::Error "PATH: offset N: what" for a bad magic, unsupported type, zero or oversized dimensions,
// truncated data or trailing bytes.
at::Tensor load_idx(const std::string& path);

// An image set from an images file (uint8, (n, H, W) or (n, C, H, W)) and a labels file (integer type, (n,)):
// x float32 in [0, 1] of shape (n, C, H, W) (C = 1 for 3-D files), y int64, num_classes = max label + 1.
Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         const std::string& name);

// The directory the Fashion-MNIST files are looked up in: dir when non-empty, else $RKHS_FASHION_MNIST, else
// /usr/share/datasets/fashion-mnist.
std::string fashion_mnist_dir(const std::string& dir = "");

// True when the four Fashion-MNIST files (train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz]) are present.
bool fashion_mnist_available(const std::string& dir = "");

// Fashion-MNIST: train 60000 or test 10000 images, (n, 1, 28, 28) float32 in [0, 1], 10 classes.
// name "fashion-mnist-train" / "fashion-mnist-test". A missing file is an rkhs::Error naming it and the package
// (`apt-get install dataset-fashion-mnist`, or scripts/setup.sh) that provides it.
Dataset load_fashion_mnist(bool train, const std::string& dir = "");

}  // namespace rkhs::data
