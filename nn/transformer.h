// Transformer layers in DINOv2's layout (dinov2/layers), with its module names, so DINOv2 and
// DinoBloom checkpoints load by key: a Block holds norm1, attn (qkv, proj), ls1, norm2, mlp
// (fc1, fc2; or SwiGLU's w12, w3), ls2 -> `blocks.3.attn.qkv.weight`, `blocks.3.ls1.gamma`.
// Tokens are (B, N, C) throughout.
//
//   auto block = std::make_shared<nn::Block>(BlockOptions{.dim = 384, .num_heads = 6,
//                                                          .init_values = 1e-5});
//   Tensor y = block->forward(tokens);   // (B, N, 384) -> (B, N, 384)
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "nn/conv_layers.h"
#include "nn/layers.h"
#include "nn/module.h"
#include "nn/norm_layers.h"
#include "tensor/random.h"

namespace marrow::nn {

// x * gamma, gamma (dim) = init_values (DINOv2's LayerScale; key "gamma").
class LayerScale : public Layer {
public:
    LayerScale(int64_t dim, double init_values);
    Tensor forward(const Tensor& x) override;
    Tensor gamma;

protected:
    std::string extra_repr() const override;
};

// Multi-head self-attention with one fused input projection, as DINOv2's Attention:
// qkv = Linear(dim, 3 dim) splits into (q, k, v) per head, softmax(q k^T / sqrt(d)) v
// through the fused scaled_dot_product_attention, heads concatenated, then proj.
// (B, N, dim) -> (B, N, dim). attn_drop: dropout on the attention weights in training.
class MultiheadAttention : public Layer {
public:
    MultiheadAttention(int64_t dim, int64_t num_heads, bool qkv_bias = true,
                       bool proj_bias = true, double attn_drop = 0, Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    int64_t num_heads() const { return num_heads_; }

private:
    int64_t dim_, num_heads_;
    double attn_drop_;
    Generator* gen_;
    std::shared_ptr<Linear> qkv_, proj_;
};

// fc1 -> GELU -> fc2 (dropout p = 0 in every DINOv2 config, so none is registered).
class Mlp : public Layer {
public:
    Mlp(int64_t in_features, int64_t hidden_features, bool bias = true, Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;

private:
    std::shared_ptr<Linear> fc1_, fc2_;
    std::shared_ptr<GELU> act_;
};

// SwiGLU: (x1, x2) = w12(x) split in halves; w3(silu(x1) * x2). `hidden_features` is the
// width of x1 (DINOv2's SwiGLUFFN); swiglu_fused_hidden() gives SwiGLUFFNFused's rounding.
class SwiGLUFFN : public Layer {
public:
    SwiGLUFFN(int64_t in_features, int64_t hidden_features, bool bias = true,
              Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;

private:
    std::shared_ptr<Linear> w12_, w3_;
};
// SwiGLUFFNFused's hidden width for a requested MLP width: (int(h * 2 / 3) + 7) // 8 * 8
// (ViT-g/14: 1536 * 4 -> 4096).
int64_t swiglu_fused_hidden(int64_t hidden_features);

// (B, C, H, W) -> (B, H/p * W/p, dim) with one Conv2d(C, dim, p, stride p) named "proj";
// H and W must be multiples of p (as DINOv2 asserts).
class PatchEmbed : public Layer {
public:
    PatchEmbed(int64_t patch_size, int64_t in_chans, int64_t embed_dim, Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    int64_t patch_size() const { return patch_size_; }

private:
    int64_t patch_size_;
    std::shared_ptr<Conv2d> proj_;
};

enum class FfnKind { mlp, swiglu_fused };

struct BlockOptions {
    int64_t dim = 768;
    int64_t num_heads = 12;
    double mlp_ratio = 4;
    bool qkv_bias = true, proj_bias = true, ffn_bias = true;
    double attn_drop = 0;
    double drop_path = 0;                 // stochastic depth of both residual branches
    std::optional<double> init_values = std::nullopt;  // LayerScale; nullopt/0: none
    FfnKind ffn = FfnKind::mlp;
    double norm_eps = 1e-6;               // DINOv2's partial(nn.LayerNorm, eps=1e-6)
    Generator* generator = nullptr;       // initialization and dropout / drop-path draws
};

// Pre-norm residual block: x + ls1(attn(norm1(x))), then + ls2(mlp(norm2(x))), each branch
// through drop_path in training. (DINOv2 swaps in a batch-subset variant of stochastic depth
// above a rate of 0.1 to save compute; this block always uses per-sample drop_path, which has
// the same expectation.)
class Block : public Layer {
public:
    explicit Block(const BlockOptions& options);
    Tensor forward(const Tensor& x) override;

private:
    BlockOptions options_;
    std::shared_ptr<LayerNorm> norm1_, norm2_;
    std::shared_ptr<MultiheadAttention> attn_;
    std::shared_ptr<Layer> mlp_;
    std::shared_ptr<LayerScale> ls1_, ls2_;
};

}  // namespace marrow::nn
