// Vision transformers in DINOv2's layout (dinov2/models/vision_transformer.py): the same
// module tree and state_dict keys (`cls_token`, `pos_embed`, `register_tokens`, `mask_token`,
// `patch_embed.proj.*`, `blocks.N.*`, `norm.*`), the same position-embedding resizing and
// the same outputs, so DINOv2 and DinoBloom checkpoints load by key and give PyTorch's
// embeddings:
//
//   auto vit = nn::models::vit_small({.img_size = 224, .patch_size = 14, .init_values = 1e-5});
//   vit->load_state_dict(nn::models::dinov2_backbone(nn::load_state_dict_file("dinobloom-s.pth")));
//   vit->eval();
//   nn::models::VitFeatures f = vit->forward_features(images);   // f.cls: (B, 384)
//
// Initialization as DINOv2's init_weights: pos_embed trunc_normal(std 0.02), cls_token and
// register_tokens normal(std 1e-6), every Linear trunc_normal(std 0.02) with zero bias,
// mask_token zeros, LayerScale init_values, LayerNorm ones/zeros, the patch conv PyTorch's
// Conv2d default.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "nn/module.h"
#include "nn/norm_layers.h"
#include "nn/transformer.h"

namespace marrow::nn::models {

struct VitOptions {
    int64_t img_size = 224;      // the grid pos_embed is learned for: (img_size / patch)^2 + 1
    int64_t patch_size = 16;
    int64_t in_chans = 3;
    int64_t embed_dim = 768;
    int64_t depth = 12;
    int64_t num_heads = 12;
    double mlp_ratio = 4;
    bool qkv_bias = true, proj_bias = true, ffn_bias = true;
    double drop_path_rate = 0;   // stochastic depth, linear in depth from 0 (DINOv2's rule)
    bool drop_path_uniform = false;  // or the same rate in every block
    std::optional<double> init_values = std::nullopt;  // LayerScale (hub: 1.0); nullopt: none
    FfnKind ffn = FfnKind::mlp;         // ViT-g/14: swiglu_fused
    int64_t num_register_tokens = 0;
    double interpolate_offset = 0.1;    // DINOv2's pos-embedding resize kludge; 0: by size
    Generator* generator = nullptr;
};

// forward_features' outputs (DINOv2's dict): the final norm applied to every token.
struct VitFeatures {
    Tensor cls;       // x_norm_clstoken (B, D)
    Tensor reg;       // x_norm_regtokens (B, R, D)
    Tensor patch;     // x_norm_patchtokens (B, H/p * W/p, D), row-major over the patch grid
    Tensor prenorm;   // x_prenorm (B, 1 + R + H/p * W/p, D)
};

class VisionTransformer : public Layer {
public:
    explicit VisionTransformer(const VitOptions& options);
    // Images (B, C, H, W), H and W multiples of the patch size; masks (B, H/p * W/p) bool:
    // masked patches are replaced by mask_token (iBOT) before the position embedding.
    VitFeatures forward_features(const Tensor& x, const std::optional<Tensor>& masks = {});
    // The class token after the final norm (then head, Identity unless replaced): (B, D).
    Tensor forward(const Tensor& x) override;
    // Tokens (B, 1 + N, D) from (B, C, H, W): patch embedding, masks, cls token, the position
    // embedding resized to the grid, register tokens after the cls token.
    Tensor prepare_tokens(const Tensor& x, const std::optional<Tensor>& masks = {});
    // pos_embed for an (h, w)-pixel image: (1, 1 + h/p * w/p, D); pos_embed itself when the
    // grid is the trained one. Bicubic, antialias off, as interpolate_pos_encoding.
    Tensor interpolate_pos_encoding(int64_t h, int64_t w);
    // Outputs of the blocks `indices` (DINOv2's get_intermediate_layers with a list; use
    // last_blocks(n) for its int form): each (patch tokens, cls token), the final norm
    // applied when `norm`; patch tokens reshaped to (B, D, H/p, W/p) when `reshape`.
    std::vector<std::pair<Tensor, Tensor>> get_intermediate_layers(
        const Tensor& x, const std::vector<int64_t>& indices, bool reshape = false,
        bool norm = true);
    std::vector<int64_t> last_blocks(int64_t n) const;
    void set_head(std::shared_ptr<Layer> head);
    // Activation checkpointing per block (timm's set_grad_checkpointing): each block's
    // activations are recomputed in backward instead of kept (autograd/checkpoint.h).
    void set_grad_checkpointing(bool on = true) { checkpoint_blocks_ = on; }

    const VitOptions& options() const { return options_; }
    int64_t embed_dim() const { return options_.embed_dim; }
    Tensor cls_token, pos_embed, mask_token;
    std::optional<Tensor> register_tokens;

private:
    VitOptions options_;
    std::shared_ptr<PatchEmbed> patch_embed_;
    std::shared_ptr<ModuleList> blocks_;
    std::vector<std::shared_ptr<Block>> block_list_;
    std::shared_ptr<LayerNorm> norm_;
    std::shared_ptr<Layer> head_;
    bool checkpoint_blocks_ = false;
    Tensor run_block(size_t i, const Tensor& tokens);
};

// DINOv2's sizes; embed_dim, depth and num_heads of `o` are replaced.
std::shared_ptr<VisionTransformer> vit_small(VitOptions o = {});   // 384, 12, 6
std::shared_ptr<VisionTransformer> vit_base(VitOptions o = {});    // 768, 12, 12
std::shared_ptr<VisionTransformer> vit_large(VitOptions o = {});   // 1024, 24, 16
std::shared_ptr<VisionTransformer> vit_giant2(VitOptions o = {});  // 1536, 40, 24 (ffn: swiglu)

// The options of torch.hub's dinov2_vit{s,b,l,g}14[_reg] models (518 px, patch 14,
// LayerScale 1.0, ViT-g with SwiGLU). DinoBloom's releases are these at img_size 224.
VitOptions dinov2_hub_options(int64_t num_register_tokens = 0);

// A published DINO / DINOv2 / DinoBloom checkpoint's backbone as the VisionTransformer's
// state dict: picks the `teacher` (or `student`, `model`, `state_dict`) sub-dict when the
// keys are wrapped, strips `module.` and `backbone.`, drops the heads (`dino_head.`,
// `ibot_head.`, `head.`), and flattens chunked blocks (`blocks.1.4.x` -> `blocks.4.x`,
// DINOv2's block_chunks > 0).
StateDict dinov2_backbone(const StateDict& checkpoint, const std::string& pick = "teacher");

// pos_embed (1, 1 + M*M, D) resized to a (gh, gw) grid (bicubic by size, align_corners off):
// loading weights trained at another resolution into a model built for this one.
Tensor resize_pos_embed(const Tensor& pos_embed, int64_t gh, int64_t gw);

}  // namespace marrow::nn::models
