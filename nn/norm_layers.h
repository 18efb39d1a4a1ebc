// Normalization layers with torch.nn's parameters, buffers and keys. Batch normalization
// (weight, bias, running_mean, running_var, num_batches_tracked): training mode normalizes with
// the batch statistics and updates the running ones (momentum, or a cumulative average when
// momentum is nullopt); eval mode uses the running statistics. Layer normalization (weight,
// bias): the same in both modes.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

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
    double eps() const { return options_.eps; }

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

// torch.nn.LayerNorm: x (*, normalized_shape) normalized over its last normalized_shape.size()
// dims (autograd/ops.h: layer_norm). elementwise_affine: a learnable weight (ones) and, when
// `bias`, a bias (zeros), each of shape normalized_shape (PyTorch 2.1's bias argument; 1.13
// always has one). Printed as PyTorch: `LayerNorm((384,), eps=1e-06, elementwise_affine=True)`.
class LayerNorm : public Layer {
public:
    explicit LayerNorm(std::vector<int64_t> normalized_shape, double eps = 1e-5,
                       bool elementwise_affine = true, bool bias = true);
    // One normalized dim: LayerNorm(384, 1e-6) is torch.nn.LayerNorm(384, eps=1e-6).
    explicit LayerNorm(int64_t normalized_shape, double eps = 1e-5, bool elementwise_affine = true,
                       bool bias = true)
        : LayerNorm(std::vector<int64_t>{normalized_shape}, eps, elementwise_affine, bias) {}
    // LayerNorm({4, 5}): without it the braces would also read as LayerNorm{4, 5}, a copy.
    explicit LayerNorm(std::initializer_list<int64_t> normalized_shape, double eps = 1e-5,
                       bool elementwise_affine = true, bool bias = true)
        : LayerNorm(std::vector<int64_t>(normalized_shape), eps, elementwise_affine, bias) {}
    Tensor forward(const Tensor& x) override;
    std::optional<Tensor> weight, bias;
    const std::vector<int64_t>& normalized_shape() const { return normalized_shape_; }
    double eps() const { return eps_; }

protected:
    std::string extra_repr() const override;

private:
    std::vector<int64_t> normalized_shape_;
    double eps_;
    bool elementwise_affine_;
};

}  // namespace marrow::nn
