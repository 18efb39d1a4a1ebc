// Optimizers; see optim.h. PyTorch reference: torch/optim/sgd.py (_single_tensor_sgd).
#include "nn/optim.h"

#include <fmt/format.h>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace marrow::nn {

Optimizer::Optimizer(std::vector<Tensor> params, std::string_view name)
    : params_(std::move(params)) {
    MARROW_CHECK(!params_.empty(), "{}: got an empty parameter list", name);
    for (size_t i = 0; i < params_.size(); ++i) {
        const Tensor& p = params_[i];
        MARROW_CHECK(is_floating(p.dtype()),
                     "{}: parameter {} must be floating point, got {} (shape {})", name, i,
                     p.dtype(), p.shape());
        MARROW_CHECK(p.is_leaf(),
                     "{}: parameter {} (shape {}) is not a leaf tensor: it was computed by an "
                     "op; optimize the tensor it came from, or detach() it",
                     name, i, p.shape());
        for (size_t j = 0; j < i; ++j)
            MARROW_CHECK(!params_[j].is_same(p), "{}: parameter {} is listed twice (also as {})",
                         name, i, j);
    }
}

void Optimizer::zero_grad() {
    for (const Tensor& p : params_) p.zero_grad();
}

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : Optimizer(std::move(params), "SGD"), options_(options), momentum_buffers_(params_.size()) {
    MARROW_CHECK(options.lr >= 0, "SGD: invalid learning rate {}", options.lr);
    MARROW_CHECK(options.momentum >= 0, "SGD: invalid momentum {}", options.momentum);
    MARROW_CHECK(options.weight_decay >= 0, "SGD: invalid weight_decay {}", options.weight_decay);
    MARROW_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
                 "SGD: nesterov momentum needs momentum > 0 and dampening = 0 (got momentum "
                 "{}, dampening {})",
                 options.momentum, options.dampening);
}

void SGD::step() {
    autograd::NoGradGuard no_grad;
    const SGDOptions& o = options_;
    for (size_t i = 0; i < params_.size(); ++i) {
        const Tensor& p = params_[i];
        if (!p.has_grad()) continue;  // frozen, or took no part in this backward
        Tensor g = p.grad();
        if (o.maximize) g = -g;
        if (o.weight_decay != 0) g = g + o.weight_decay * p;
        if (o.momentum != 0) {
            std::optional<Tensor>& buf = momentum_buffers_[i];
            if (!buf) {
                buf = clone(g);  // the first step starts the average at g (PyTorch)
            } else {
                mul_(*buf, o.momentum);
                add_(*buf, g, 1 - o.dampening);
            }
            g = o.nesterov ? g + o.momentum * *buf : *buf;
        }
        add_(p, g, -o.lr);
    }
}

std::map<std::string, Tensor> SGD::state() const {
    std::map<std::string, Tensor> out;
    for (size_t i = 0; i < momentum_buffers_.size(); ++i)
        if (momentum_buffers_[i])
            out.emplace(fmt::format("{}.momentum_buffer", i), *momentum_buffers_[i]);
    return out;
}

}  // namespace marrow::nn
