// MNIST-layout datasets (MNIST, Fashion-MNIST): <prefix>-images-idx3-ubyte[.gz] and
// <prefix>-labels-idx1-ubyte[.gz] in one directory, prefix "train" or "t10k".
#pragma once
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace marrow::data {

struct MnistSplit {
    Tensor images;                   // (N, 28, 28) uint8
    Tensor labels;                   // (N,) int64
    std::vector<std::string> files;  // the files read, for the run record's fingerprint
};

// Loads one split; checks that images and labels agree in count and labels are in [0, 10).
MnistSplit load_mnist_split(const std::string& dir, const std::string& prefix);

}  // namespace marrow::data
