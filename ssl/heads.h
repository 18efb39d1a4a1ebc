// The self-supervised heads on top of a backbone's pooled feature (or its patch tokens), with
// the module trees, state_dict keys and initialization of the reference code, so a PyTorch
// port's checkpoint loads by key:
//   ProjectionHead  SimCLR's MLP (v1 paper: Linear-ReLU-Linear; google-research/simclr tf2
//                   model.py ProjectionHead: Linear+BN+ReLU middles, last Linear without bias
//                   + BN(center=False); the SSL-MIL seed's 512 -> 512 -> 64), keys of an
//                   nn.Sequential: `0.weight`, `1.running_mean`, `3.weight`, ...
//   SwavHead        swav/src/resnet50.py: projection_head (Linear, BN1d, ReLU, Linear), l2
//                   normalize, prototypes = Linear(out, K, bias=False).
//   DinoHead        dino/vision_transformer.py and dinov2/layers/dino_head.py DINOHead: MLP with
//                   GELU, l2-normalized bottleneck, weight-normalized last layer (also the iBOT
//                   patch head, applied to (B, N, in) tokens).
//
//   ssl::DinoHead head({.in = 384, .out = 65536, .norm_last_layer = false});
//   Tensor logits = head.forward(cls);            // (B, 384) -> (B, 65536)
//   for (auto& [name, p] : head.last_layer_parameters()) ...   // DINO's freeze_last_layer
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nn/layers.h"
#include "nn/module.h"
#include "tensor/random.h"

namespace marrow::ssl {

// ---- SimCLR's projection head
struct ProjectionHeadOptions {
    int64_t in = 512;
    int64_t hidden = 512;  // width of every middle layer
    int64_t out = 64;
    int64_t layers = 2;            // Linear layers in all (1: a single Linear(in, out))
    bool batch_norm = false;       // BatchNorm1d after each middle Linear, before its ReLU
    bool bias = true;              // the middle Linears' bias
    bool last_bias = true;         // the last Linear's bias
    bool last_batch_norm = false;  // BatchNorm1d after the last Linear (no ReLU after it)
    // false: the last BatchNorm1d's bias stays 0 and is frozen (requires_grad false), TF's
    // BatchNormalization(center=False) as a torch port writes it (the key `N.bias` remains).
    bool last_bn_center = true;
    // nullopt: torch.nn.Linear's init; a value: weights N(0, std), biases 0 (TF2: 0.01).
    std::optional<double> init_std;

    // SimCLR v1 paper: Linear(in, in) - ReLU - Linear(in, out).
    static ProjectionHeadOptions simclr_v1(int64_t in, int64_t out = 128);
    // SimCLR TF2 code (num_proj_layers 3): [Linear(d, d, bias=False) + BN + ReLU] x 2, then
    // Linear(d, out, bias=False) + BN(center=False), weights N(0, 0.01); d = in.
    static ProjectionHeadOptions simclr_tf2(int64_t in, int64_t out = 128, int64_t layers = 3);
    // The SSL-MIL seed (000): two layers [512, 512] and [512, 64].
    static ProjectionHeadOptions ssl_mil();
};

// (B, in) -> (B, out). An nn.Sequential of Linear [BatchNorm1d] ReLU ... Linear [BatchNorm1d].
class ProjectionHead : public nn::Sequential {
public:
    explicit ProjectionHead(ProjectionHeadOptions options = {}, Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    const ProjectionHeadOptions& options() const { return options_; }

private:
    ProjectionHeadOptions options_;
};

// ---- SwAV's projection head and prototypes
struct SwavHeadOptions {
    int64_t in = 2048;
    int64_t hidden = 2048;  // hidden_mlp; 0: the projection is a single Linear(in, out)
    int64_t out = 128;      // feat_dim
    int64_t prototypes = 3000;
    // Linear layers in the projection (swav: 2). More repeat [Linear(hidden, hidden), BN, ReLU].
    int64_t layers = 2;
    bool normalize = true;  // l2-normalize the embedding before the prototypes (swav's l2norm)
};

struct SwavOutput {
    Tensor embedding;  // (B, out), l2-normalized when options.normalize
    Tensor scores;     // (B, K) = embedding @ prototypes.weight^T
};

class SwavHead : public nn::Module {
public:
    explicit SwavHead(SwavHeadOptions options = {}, Generator* gen = nullptr);
    // x: (B, in) pooled backbone features.
    SwavOutput forward(const Tensor& x);
    // Every prototype row of prototypes.weight (K, out) to unit l2 norm, in place and without
    // recording a gradient (swav main_swav.py, before each forward; spec 4.2).
    void normalize_prototypes();
    const SwavHeadOptions& options() const { return options_; }

    std::shared_ptr<nn::Layer> projection_head;  // Sequential, or a Linear when hidden = 0
    std::shared_ptr<nn::Linear> prototypes;      // weight (K, out), no bias

private:
    SwavHeadOptions options_;
};

// ---- DINO / DINOv2 / iBOT head
// torch.nn.utils.weight_norm(nn.Linear(in, out, bias=False), dim=0): the weight is
// W = g * v / ||v|| with the norm per output row; parameters weight_g (out, 1) and
// weight_v (out, in), registered in that order as torch does.
class WeightNormLinear : public nn::Layer {
public:
    // weight_v from torch.nn.Linear's init; weight_g = ||v|| per row (so W = v), as
    // weight_norm sets it.
    WeightNormLinear(int64_t in_features, int64_t out_features, Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;  // (*, in) -> (*, out)
    // W = v * (g / ||v||_row): (out, in), differentiable in g and v.
    Tensor weight() const;
    Tensor weight_v, weight_g;  // (declared v first: g is computed from v)

protected:
    std::string extra_repr() const override;

private:
    int64_t in_, out_;
};

struct DinoHeadOptions {
    int64_t in = 384;
    int64_t out = 65536;  // K prototypes
    bool use_bn = false;  // BatchNorm1d after each hidden Linear
    // true (DINO's default): weight_g filled with 1 and frozen, so logits are cosines.
    // false (DINO's "boost" recipe; DINOv2 always): weight_g trainable.
    bool norm_last_layer = true;
    int64_t nlayers = 3;  // 1: mlp is a single Linear(in, bottleneck)
    int64_t hidden = 2048;
    int64_t bottleneck = 256;
    bool mlp_bias = true;  // DINOv2's mlp_bias (DINO v1: always true)

    static DinoHeadOptions dino(int64_t in, int64_t out = 65536);
    static DinoHeadOptions dinov2(int64_t in, int64_t out = 65536);
};

// x: (B, in) cls tokens or (B, N, in) patch tokens -> (B, out) or (B, N, out). The MLP runs
// on the rows flattened to (B [* N], in) (so use_bn normalizes over every token, not over N
// as a BatchNorm1d on (B, N, C) would), then x / max(||x||, eps) with eps 1e-6 in float16,
// 1e-12 otherwise (DINOv2; DINO v1 uses 1e-12), then last_layer.
class DinoHead : public nn::Layer {
public:
    explicit DinoHead(DinoHeadOptions options = {}, Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    // Every parameter whose name contains "last_layer" (DINO's freeze_last_layer and
    // DINOv2's last-layer lr schedule select them so): last_layer.weight_g (when trainable)
    // and last_layer.weight_v, under their names.
    nn::NamedTensors last_layer_parameters() const;
    const DinoHeadOptions& options() const { return options_; }

    std::shared_ptr<nn::Layer> mlp;  // Sequential ("0", "1", ...) or a Linear when nlayers = 1
    std::shared_ptr<WeightNormLinear> last_layer;

private:
    DinoHeadOptions options_;
};

// The parameters of `module` whose dotted name contains `part` (upstream's
// `if "last_layer" in name`), requires_grad or not.
nn::NamedTensors parameters_containing(const nn::Module& module, std::string_view part);
// DINO's cancel_gradients_last_layer: drops the gradient of every parameter whose name
// contains `part`, so the optimizer skips it this step (no update, no decay, no momentum).
void cancel_gradients(const nn::Module& module, std::string_view part = "last_layer");

}  // namespace marrow::ssl
