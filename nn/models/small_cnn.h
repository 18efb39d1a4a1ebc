// The demo's small CNN: `blocks` stages of two conv3x3-BN-ReLU layers, each stage but the
// last followed by a 2x2 max-pool, then global average pooling and a linear classifier.
// With the defaults on 28 x 28 Fashion-MNIST: 1 -> 32 -> 32 | 64 -> 64 | 128 -> 128 channels
// at 28, 14 and 7 pixels, ~290k parameters, ~40 MFLOP per image forward.
//
//   nn::models::SmallCnn model({.in_channels = 1, .num_classes = 10});
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "nn/module.h"
#include "tensor/random.h"

namespace marrow::nn::models {

struct SmallCnnOptions {
    int64_t in_channels = 1;
    int64_t num_classes = 10;
    std::vector<int64_t> widths = {32, 64, 128};  // channels of each stage
    double dropout = 0;                            // before the classifier
    Generator* generator = nullptr;
};

// Keys: features.<i>.* (a Sequential of Conv2d, BatchNorm2d, ReLU and MaxPool2d in order),
// classifier.* (Linear). Input (N, in_channels, H, W) -> logits (N, num_classes).
class SmallCnn : public Layer {
public:
    explicit SmallCnn(const SmallCnnOptions& options = {});
    Tensor forward(const Tensor& x) override;

private:
    std::shared_ptr<Sequential> features_;
    std::shared_ptr<Layer> dropout_;
    std::shared_ptr<Layer> classifier_;
};

}  // namespace marrow::nn::models
