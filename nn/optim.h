// Optimizers over a list of parameter tensors, with torch.optim's update rules, so a recipe
// (and its hyperparameters) carries over from PyTorch unchanged.
//
//   nn::SGD opt(model.parameters(), {.lr = 0.05, .momentum = 0.9});
//   for (...) { Tensor loss = ...; opt.zero_grad(); loss.backward(); opt.step(); }
//
// The pattern for the optimizers that follow (Adam, AdamW): options struct checked in the
// constructor, per-parameter state created lazily on the first step that sees a gradient,
// updates under NoGradGuard with in-place ops, and state() naming every state tensor.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/tensor.h"

namespace marrow::nn {

class Optimizer {
public:
    // params: leaf tensors (floating point, each listed once); the optimizer keeps handles,
    // so updates are seen by whoever else holds them.
    explicit Optimizer(std::vector<Tensor> params, std::string_view name);
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    // Forgets every parameter's gradient (torch's zero_grad(set_to_none=True)).
    void zero_grad();
    // One update of every parameter that has a gradient; the others are left as they are.
    virtual void step() = 0;
    // The optimizer's state as named tensors, "<parameter index>.<name>" (torch's
    // state_dict()["state"][i][name]), e.g. "0.momentum_buffer"; for checkpoints. The
    // tensors are the live buffers (handles, not copies); a parameter that never had a
    // gradient has no entry, as in PyTorch.
    virtual std::map<std::string, Tensor> state() const = 0;

    const std::vector<Tensor>& parameters() const { return params_; }

protected:
    std::vector<Tensor> params_;
};

struct SGDOptions {
    double lr = 1e-3;
    double momentum = 0;
    double dampening = 0;
    double weight_decay = 0;  // L2: adds weight_decay * p to the gradient
    bool nesterov = false;    // needs momentum > 0 and dampening == 0
    bool maximize = false;    // ascend instead of descend
};

// torch.optim.SGD (single-tensor form). Per parameter p with gradient g:
//   g = maximize ? -g : g;  g += weight_decay * p
//   momentum != 0: b = g on the first step (a copy), else b = momentum b + (1 - dampening) g;
//                  g = nesterov ? g + momentum b : b
//   p -= lr g
class SGD : public Optimizer {
public:
    explicit SGD(std::vector<Tensor> params, SGDOptions options = {});
    void step() override;
    std::map<std::string, Tensor> state() const override;
    const SGDOptions& options() const { return options_; }

private:
    SGDOptions options_;
    std::vector<std::optional<Tensor>> momentum_buffers_;  // one per parameter, lazily made
};

}  // namespace marrow::nn
