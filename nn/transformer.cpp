#include "nn/transformer.h"

#include <fmt/format.h>

#include "autograd/ops.h"
#include "nn/init.h"
#include "tensor/error.h"
#include "tensor/factory.h"

namespace marrow::nn {

LayerScale::LayerScale(int64_t dim, double init_values)
    : Layer("LayerScale"), gamma(register_parameter("gamma", full({dim}, init_values))) {}

Tensor LayerScale::forward(const Tensor& x) { return x * gamma; }

std::string LayerScale::extra_repr() const { return fmt::format("dim={}", gamma.size(0)); }

MultiheadAttention::MultiheadAttention(int64_t dim, int64_t num_heads, bool qkv_bias,
                                       bool proj_bias, double attn_drop, Generator* gen)
    : Layer("Attention"), dim_(dim), num_heads_(num_heads), attn_drop_(attn_drop), gen_(gen) {
    MARROW_CHECK(num_heads > 0 && dim % num_heads == 0,
                 "Attention: dim {} is not divisible by num_heads {}", dim, num_heads);
    qkv_ = register_module("qkv", std::make_shared<Linear>(dim, 3 * dim, qkv_bias, gen));
    proj_ = register_module("proj", std::make_shared<Linear>(dim, dim, proj_bias, gen));
}

Tensor MultiheadAttention::forward(const Tensor& x) {
    MARROW_CHECK(x.dim() == 3 && x.size(2) == dim_,
                 "Attention({}, heads={}): expected tokens of shape (B, N, {}), got {}", dim_,
                 num_heads_, dim_, x.shape());
    int64_t b = x.size(0), n = x.size(1), d = dim_ / num_heads_;
    // (B, N, 3 C) -> (3, B, heads, N, d): q, k, v are views into the projection's output.
    Tensor qkv = permute(reshape(qkv_->forward(x), {b, n, 3, num_heads_, d}), {2, 0, 3, 1, 4});
    auto part = [&](int64_t i) { return squeeze(narrow(qkv, 0, i, 1), 0); };
    double p = is_training() ? attn_drop_ : 0;
    Tensor y = scaled_dot_product_attention(part(0), part(1), part(2), std::nullopt, p, false,
                                            std::nullopt, gen_ ? *gen_ : default_generator());
    // (B, heads, N, d) -> (B, N, C)
    return proj_->forward(reshape(transpose(y, 1, 2), {b, n, dim_}));
}

Mlp::Mlp(int64_t in_features, int64_t hidden_features, bool bias, Generator* gen) : Layer("Mlp") {
    fc1_ = register_module("fc1", std::make_shared<Linear>(in_features, hidden_features, bias, gen));
    act_ = register_module("act", std::make_shared<GELU>());
    fc2_ = register_module("fc2", std::make_shared<Linear>(hidden_features, in_features, bias, gen));
}

Tensor Mlp::forward(const Tensor& x) { return fc2_->forward(act_->forward(fc1_->forward(x))); }

SwiGLUFFN::SwiGLUFFN(int64_t in_features, int64_t hidden_features, bool bias, Generator* gen)
    : Layer("SwiGLUFFN") {
    w12_ = register_module("w12",
                           std::make_shared<Linear>(in_features, 2 * hidden_features, bias, gen));
    w3_ = register_module("w3", std::make_shared<Linear>(hidden_features, in_features, bias, gen));
}

Tensor SwiGLUFFN::forward(const Tensor& x) {
    std::vector<Tensor> halves = chunk(w12_->forward(x), 2, -1);
    return w3_->forward(silu(halves[0]) * halves[1]);
}

int64_t swiglu_fused_hidden(int64_t hidden_features) {
    return (hidden_features * 2 / 3 + 7) / 8 * 8;
}

PatchEmbed::PatchEmbed(int64_t patch_size, int64_t in_chans, int64_t embed_dim, Generator* gen)
    : Layer("PatchEmbed"), patch_size_(patch_size) {
    MARROW_CHECK(patch_size > 0, "PatchEmbed: patch_size must be > 0, got {}", patch_size);
    proj_ = register_module(
        "proj", std::make_shared<Conv2d>(
                    in_chans, embed_dim,
                    Conv2dOptions{.kernel_size = patch_size, .stride = patch_size}, gen));
}

Tensor PatchEmbed::forward(const Tensor& x) {
    MARROW_CHECK(x.dim() == 4, "PatchEmbed: expected images of shape (B, C, H, W), got {}",
                 x.shape());
    MARROW_CHECK(x.size(2) % patch_size_ == 0 && x.size(3) % patch_size_ == 0,
                 "PatchEmbed: image size {}x{} (input shape {}) is not a multiple of the patch "
                 "size {}",
                 x.size(2), x.size(3), x.shape(), patch_size_);
    // (B, D, H/p, W/p) -> (B, H/p * W/p, D)
    return transpose(flatten(proj_->forward(x), 2), 1, 2);
}

Block::Block(const BlockOptions& o) : Layer("Block"), options_(o) {
    Generator* gen = o.generator;
    bool layer_scale = o.init_values && *o.init_values != 0;
    norm1_ = register_module("norm1", std::make_shared<LayerNorm>(o.dim, o.norm_eps));
    attn_ = register_module("attn", std::make_shared<MultiheadAttention>(
                                        o.dim, o.num_heads, o.qkv_bias, o.proj_bias, o.attn_drop,
                                        gen));
    if (layer_scale) ls1_ = register_module("ls1", std::make_shared<LayerScale>(o.dim, *o.init_values));
    norm2_ = register_module("norm2", std::make_shared<LayerNorm>(o.dim, o.norm_eps));
    auto hidden = static_cast<int64_t>(double(o.dim) * o.mlp_ratio);
    if (o.ffn == FfnKind::mlp)
        mlp_ = register_module("mlp", std::make_shared<Mlp>(o.dim, hidden, o.ffn_bias, gen));
    else
        mlp_ = register_module("mlp", std::make_shared<SwiGLUFFN>(
                                          o.dim, swiglu_fused_hidden(hidden), o.ffn_bias, gen));
    if (layer_scale) ls2_ = register_module("ls2", std::make_shared<LayerScale>(o.dim, *o.init_values));
}

Tensor Block::forward(const Tensor& x) {
    Generator& gen = options_.generator ? *options_.generator : default_generator();
    auto residual = [&](const Tensor& branch, const std::shared_ptr<LayerScale>& ls) {
        Tensor scaled = ls ? ls->forward(branch) : branch;
        return drop_path(scaled, options_.drop_path, is_training(), gen);
    };
    Tensor y = x + residual(attn_->forward(norm1_->forward(x)), ls1_);
    return y + residual(mlp_->forward(norm2_->forward(y)), ls2_);
}

}  // namespace marrow::nn
