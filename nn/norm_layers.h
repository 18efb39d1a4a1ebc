// Batch normalization layers with torch.nn's buffers and keys (weight, bias, running_mean,
// running_var, num_batches_tracked) and semantics: training mode normalizes with the batch
// statistics and updates the running ones (momentum, or a cumulative average when momentum
// is nullopt); eval mode uses the running statistics.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "nn/module.h"

namespace marrow::nn {

struct BatchNormOptions {
    double eps = 1e-5;
    std::optional<double> momentum = 0.1;  // nullopt: cumulative moving average
    bool affine = true;                    // learnable weight (1) and bias (0)
    bool track_running_stats = true;       // false: batch statistics in eval mode too
};

class BatchNorm : public Layer {
public:
    Tensor forward(const Tensor& x) override;
    std::optional<Tensor> weight, bias;
    std::optional<Tensor> running_mean, running_var, num_batches_tracked;

protected:
    // `dims`: the input ranks the layer accepts (BatchNorm1d: 2 or 3, BatchNorm2d: 4).
    BatchNorm(std::string type, int64_t num_features, BatchNormOptions options,
              std::vector<int64_t> dims);
    std::string extra_repr() const override;

private:
    int64_t num_features_;
    BatchNormOptions options_;
    std::vector<int64_t> dims_;
};

// (N, C) or (N, C, L).
class BatchNorm1d : public BatchNorm {
public:
    explicit BatchNorm1d(int64_t num_features, BatchNormOptions options = {})
        : BatchNorm("BatchNorm1d", num_features, options, {2, 3}) {}
};

// (N, C, H, W).
class BatchNorm2d : public BatchNorm {
public:
    explicit BatchNorm2d(int64_t num_features, BatchNormOptions options = {})
        : BatchNorm("BatchNorm2d", num_features, options, {4}) {}
};

}  // namespace marrow::nn
