// Layers with torch.nn's names, arguments, parameter names and default initialization.
// Each is a Layer (nn/module.h): registered tensors, forward(x), PyTorch's printed form.
//
//   auto fc = std::make_shared<nn::Linear>(512, 10);     // weight (10, 512), bias (10)
//   Tensor logits = fc->forward(features);
#pragma once
#include <cstdint>
#include <string>

#include "nn/module.h"
#include "tensor/random.h"

namespace marrow::nn {

// y = x W^T + b; x (*, in) -> (*, out). weight (out, in) and bias (out) start as PyTorch's:
// kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)), and the same bound for bias.
class Linear : public Layer {
public:
    Linear(int64_t in_features, int64_t out_features, bool bias = true, Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    void reset_parameters(Generator* gen = nullptr);
    Tensor weight;
    std::optional<Tensor> bias;

protected:
    std::string extra_repr() const override;

private:
    int64_t in_, out_;
};

// forward(x) = x: stands in for a removed head (model.fc = Identity() for features).
class Identity : public Layer {
public:
    Identity() : Layer("Identity") {}
    Tensor forward(const Tensor& x) override { return x; }
};

// Flattens dims start_dim..end_dim (default: all but the batch dim).
class Flatten : public Layer {
public:
    explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
        : Layer("Flatten"), start_(start_dim), end_(end_dim) {}
    Tensor forward(const Tensor& x) override;

protected:
    std::string extra_repr() const override;

private:
    int64_t start_, end_;
};

class ReLU : public Layer {
public:
    ReLU() : Layer("ReLU") {}
    Tensor forward(const Tensor& x) override;
};

class Tanh : public Layer {
public:
    Tanh() : Layer("Tanh") {}
    Tensor forward(const Tensor& x) override;
};

class Sigmoid : public Layer {
public:
    Sigmoid() : Layer("Sigmoid") {}
    Tensor forward(const Tensor& x) override;
};

// approximate: "none" (erf) or "tanh", as torch.nn.GELU.
class GELU : public Layer {
public:
    explicit GELU(std::string approximate = "none");
    Tensor forward(const Tensor& x) override;

protected:
    std::string extra_repr() const override;

private:
    std::string approximate_;
};

class SiLU : public Layer {
public:
    SiLU() : Layer("SiLU") {}
    Tensor forward(const Tensor& x) override;
};

// Stochastic depth (timm's / DINOv2's DropPath): in training, drop_path(x, p) zeroes whole
// samples of a residual branch with probability p and scales the rest by 1 / (1 - p); the
// identity in eval mode. Masks come from `gen` (default: the default generator).
class DropPath : public Layer {
public:
    explicit DropPath(double p = 0, Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    double p() const { return p_; }

protected:
    std::string extra_repr() const override;

private:
    double p_;
    Generator* gen_;
};

}  // namespace marrow::nn
