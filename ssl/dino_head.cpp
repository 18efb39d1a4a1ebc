// DINO's head (dino vision_transformer.py DINOHead; dinov2 layers/dino_head.py) and the
// weight-normalized last layer (ssl/heads.h).
//
// The two upstream heads differ in three points, all options here: DINOv2 has no
// norm_last_layer (weight_g always trainable) and has mlp_bias; it normalizes the bottleneck
// with eps 1e-6 in float16 (1e-12 otherwise, as v1 always does). Both initialize the MLP's
// Linears with trunc_normal(std .02) and zero biases (`self.apply(_init_weights)` runs before
// last_layer exists), so the last layer keeps nn.Linear's init for weight_v, and weight_g is
// then filled with 1.
#include <fmt/format.h>

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/init.h"
#include "nn/norm_layers.h"
#include "ssl/heads.h"
#include "tensor/error.h"
#include "tensor/factory.h"

namespace marrow::ssl {

// ---- WeightNormLinear

namespace {

// nn.Linear(in, out, bias=False)'s weight: kaiming_uniform_(a = sqrt(5)).
Tensor linear_init(int64_t in, int64_t out, Generator* gen) {
    MARROW_CHECK(in > 0 && out > 0,
                 "WeightNormLinear: feature counts must be positive, got in {} out {}", in, out);
    Tensor v = empty({out, in});
    nn::init::kaiming_uniform_(v, std::sqrt(5.0), nn::init::FanMode::fan_in, "leaky_relu", gen);
    return v;
}

Tensor row_norms(const Tensor& v) {
    autograd::NoGradGuard no_grad;
    return norm(v, 2, {1}, true).contiguous();
}

}  // namespace

// weight_norm's set-up: g = ||v|| per row, v = the Linear's weight (so W = v at first).
WeightNormLinear::WeightNormLinear(int64_t in_features, int64_t out_features, Generator* gen)
    : nn::Layer("Linear"),
      weight_v(linear_init(in_features, out_features, gen)),
      weight_g(row_norms(weight_v)),
      in_(in_features),
      out_(out_features) {
    weight_g = register_parameter("weight_g", weight_g);  // torch's order: g, then v
    weight_v = register_parameter("weight_v", weight_v);
}

// torch._weight_norm(v, g, dim=0) = v * (g / norm_except_dim(v, 2, 0)). Its backward comes
// from the composed ops: with n = ||v_k|| (one per row k) and W_k = g_k v_k / n_k,
//   dL/dg_k = <dL/dW_k, v_k> / n_k
//   dL/dv_k = (g_k / n_k) (dL/dW_k - (<dL/dW_k, v_k> / n_k^2) v_k)
// which is what torch's fused weight_norm backward computes too. The three elementwise passes
// over (K, bottleneck) cost little beside the (rows, bottleneck) x (bottleneck, K) GEMM.
Tensor WeightNormLinear::weight() const {
    return mul(weight_v, div(weight_g, norm(weight_v, 2, {1}, true)));
}

Tensor WeightNormLinear::forward(const Tensor& x) {
    MARROW_CHECK(x.dim() >= 1 && x.size(-1) == in_,
                 "WeightNormLinear({}, {}): input of shape {} does not end in {} features", in_,
                 out_, x.shape(), in_);
    return linear(x, weight(), std::nullopt);
}

std::string WeightNormLinear::extra_repr() const {
    return fmt::format("in_features={}, out_features={}, bias=False", in_, out_);
}

// ---- DinoHead

DinoHeadOptions DinoHeadOptions::dino(int64_t in, int64_t out) {
    return {.in = in, .out = out, .norm_last_layer = true};
}

DinoHeadOptions DinoHeadOptions::dinov2(int64_t in, int64_t out) {
    return {.in = in, .out = out, .norm_last_layer = false};
}

namespace {

std::shared_ptr<nn::Linear> dino_linear(int64_t in, int64_t out, bool bias, Generator* gen) {
    auto linear = std::make_shared<nn::Linear>(in, out, bias, gen);
    nn::init::trunc_normal_(linear->weight, 0, 0.02, -2, 2, gen);
    if (linear->bias) nn::init::zeros_(*linear->bias);
    return linear;
}

}  // namespace

DinoHead::DinoHead(DinoHeadOptions o, Generator* gen) : nn::Layer("DINOHead"), options_(o) {
    MARROW_CHECK(o.in > 0 && o.out > 0 && o.bottleneck > 0 && (o.nlayers <= 1 || o.hidden > 0),
                 "DinoHead: in ({}), out ({}), bottleneck ({}) and hidden ({}) must be positive",
                 o.in, o.out, o.bottleneck, o.hidden);
    int64_t nlayers = std::max<int64_t>(o.nlayers, 1);  // upstream: max(nlayers, 1)
    if (nlayers == 1) {
        mlp = register_module("mlp", dino_linear(o.in, o.bottleneck, o.mlp_bias, gen));
    } else {
        auto seq = std::make_shared<nn::Sequential>();
        int64_t width = o.in;
        for (int64_t i = 0; i + 1 < nlayers; ++i) {
            seq->push_back(dino_linear(width, o.hidden, o.mlp_bias, gen));
            if (o.use_bn) seq->push_back(std::make_shared<nn::BatchNorm1d>(o.hidden));
            seq->push_back(std::make_shared<nn::GELU>());
            width = o.hidden;
        }
        seq->push_back(dino_linear(width, o.bottleneck, o.mlp_bias, gen));
        mlp = register_module("mlp", seq);
    }
    last_layer =
        register_module("last_layer", std::make_shared<WeightNormLinear>(o.bottleneck, o.out, gen));
    {
        autograd::NoGradGuard no_grad;
        fill_(last_layer->weight_g, 1);
    }
    if (o.norm_last_layer) last_layer->weight_g.requires_grad_(false);
}

Tensor DinoHead::forward(const Tensor& x) {
    MARROW_CHECK((x.dim() == 2 || x.dim() == 3) && x.size(-1) == options_.in,
                 "DinoHead({} -> {}): input of shape {} is not (B, {}) or (B, N, {})", options_.in,
                 options_.out, x.shape(), options_.in, options_.in);
    Shape rows_shape = x.shape();
    rows_shape.back() = options_.out;
    Tensor h = mlp->forward(reshape(x, {-1, options_.in}));
    double eps = h.dtype() == DType::f16 ? 1e-6 : 1e-12;
    h = normalize(h, 2, -1, eps);
    return reshape(last_layer->forward(h), rows_shape);
}

nn::NamedTensors DinoHead::last_layer_parameters() const {
    return parameters_containing(*this, "last_layer");
}

// ---- helpers for the trainer

nn::NamedTensors parameters_containing(const nn::Module& module, std::string_view part) {
    nn::NamedTensors out;
    for (auto& [name, p] : module.named_parameters())
        if (name.find(part) != std::string::npos) out.emplace_back(name, p);
    return out;
}

void cancel_gradients(const nn::Module& module, std::string_view part) {
    for (auto& [name, p] : parameters_containing(module, part)) p.set_grad(std::nullopt);
}

}  // namespace marrow::ssl
