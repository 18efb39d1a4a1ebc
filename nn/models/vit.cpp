#include "nn/models/vit.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "autograd/checkpoint.h"
#include "autograd/ops.h"
#include "nn/init.h"
#include "tensor/error.h"
#include "tensor/factory.h"

namespace marrow::nn::models {
namespace {

// (1, 1 + M*M, D) -> (1, 1 + gh*gw, D): the patch grid resized by `options` (bicubic),
// the cls position kept.
Tensor resize_grid(const Tensor& pos, InterpolateOptions options, int64_t gh, int64_t gw) {
    int64_t n = pos.size(1) - 1, dim = pos.size(2);
    auto m = static_cast<int64_t>(std::lround(std::sqrt(double(n))));
    MARROW_CHECK(m * m == n,
                 "pos_embed of shape {} does not hold a square grid of patch positions after the "
                 "cls position ({} positions)",
                 pos.shape(), n);
    options.mode = InterpolateMode::bicubic;
    Tensor grid = permute(reshape(narrow(pos, 1, 1, n), {1, m, m, dim}), {0, 3, 1, 2});
    grid = interpolate(grid, options);
    MARROW_CHECK(grid.size(2) == gh && grid.size(3) == gw,
                 "pos_embed resize gave a {}x{} grid, expected {}x{}", grid.size(2), grid.size(3),
                 gh, gw);
    grid = reshape(permute(grid, {0, 2, 3, 1}), {1, gh * gw, dim});
    return cat({narrow(pos, 1, 0, 1), grid}, 1);
}

// "blocks.<chunk>.<i>.rest" (DINOv2's block_chunks > 0) -> "blocks.<i>.rest"; other keys
// unchanged.
std::string flatten_chunked_block(const std::string& key) {
    const std::string head = "blocks.";
    if (key.rfind(head, 0) != 0) return key;
    auto digits_end = [&](size_t from) {
        size_t i = from;
        while (i < key.size() && std::isdigit(static_cast<unsigned char>(key[i]))) ++i;
        return i > from && i < key.size() && key[i] == '.' ? i : std::string::npos;
    };
    size_t chunk_end = digits_end(head.size());
    if (chunk_end == std::string::npos) return key;
    size_t block_end = digits_end(chunk_end + 1);
    if (block_end == std::string::npos) return key;
    return head + key.substr(chunk_end + 1);
}

bool has_prefix(const StateDict& dict, const std::string& prefix) {
    for (const auto& [key, value] : dict)
        if (key.rfind(prefix, 0) == 0) return true;
    return false;
}

}  // namespace

VisionTransformer::VisionTransformer(const VitOptions& o)
    : Layer("DinoVisionTransformer"),
      cls_token(register_parameter("cls_token", zeros({1, 1, o.embed_dim}))),
      pos_embed(register_parameter(
          "pos_embed",
          zeros({1, (o.img_size / o.patch_size) * (o.img_size / o.patch_size) + 1, o.embed_dim}))),
      mask_token(zeros({1, o.embed_dim})),
      options_(o) {
    MARROW_CHECK(o.patch_size > 0 && o.img_size >= o.patch_size,
                 "VisionTransformer: img_size {} and patch_size {} give no patch", o.img_size,
                 o.patch_size);
    MARROW_CHECK(o.depth >= 0 && o.num_register_tokens >= 0,
                 "VisionTransformer: depth {} and num_register_tokens {} must be >= 0", o.depth,
                 o.num_register_tokens);
    Generator* gen = o.generator;
    patch_embed_ = register_module(
        "patch_embed", std::make_shared<PatchEmbed>(o.patch_size, o.in_chans, o.embed_dim, gen));
    if (o.num_register_tokens > 0)
        register_tokens = register_parameter("register_tokens",
                                             zeros({1, o.num_register_tokens, o.embed_dim}));
    blocks_ = register_module("blocks", std::make_shared<ModuleList>());
    for (int64_t i = 0; i < o.depth; ++i) {
        double rate = o.drop_path_uniform || o.depth == 1
                          ? o.drop_path_rate
                          : o.drop_path_rate * double(i) / double(o.depth - 1);  // np.linspace
        auto block = std::make_shared<Block>(BlockOptions{
            .dim = o.embed_dim, .num_heads = o.num_heads, .mlp_ratio = o.mlp_ratio,
            .qkv_bias = o.qkv_bias, .proj_bias = o.proj_bias, .ffn_bias = o.ffn_bias,
            .drop_path = rate, .init_values = o.init_values, .ffn = o.ffn, .generator = gen});
        blocks_->push_back(block);
        block_list_.push_back(block);
    }
    norm_ = register_module("norm", std::make_shared<LayerNorm>(o.embed_dim, 1e-6));
    head_ = register_module("head", std::make_shared<Identity>());
    // DINOv2 registers mask_token after the head: the same state_dict order.
    mask_token = register_parameter("mask_token", mask_token);

    // DINOv2's init_weights.
    init::trunc_normal_(pos_embed, 0, 0.02, -2, 2, gen);
    init::normal_(cls_token, 0, 1e-6, gen);
    if (register_tokens) init::normal_(*register_tokens, 0, 1e-6, gen);
    for (auto& [name, module] : named_modules())
        if (auto* linear = dynamic_cast<Linear*>(module)) {
            init::trunc_normal_(linear->weight, 0, 0.02, -2, 2, gen);
            if (linear->bias) init::zeros_(*linear->bias);
        }
}

Tensor VisionTransformer::interpolate_pos_encoding(int64_t h, int64_t w) {
    int64_t p = options_.patch_size, gh = h / p, gw = w / p;
    int64_t trained = pos_embed.size(1) - 1;
    if (gh * gw == trained && h == w) return pos_embed;
    auto m = static_cast<double>(std::lround(std::sqrt(double(trained))));
    InterpolateOptions resize;
    if (options_.interpolate_offset != 0)
        // DINOv2's scale factors: (grid + 0.1) / M, used as given in the coordinate mapping.
        resize.scale_factor = {(double(gh) + options_.interpolate_offset) / m,
                               (double(gw) + options_.interpolate_offset) / m};
    else
        resize.size = {gh, gw};
    return resize_grid(pos_embed, resize, gh, gw);
}

Tensor VisionTransformer::prepare_tokens(const Tensor& x, const std::optional<Tensor>& masks) {
    MARROW_CHECK(x.dim() == 4 && x.size(1) == options_.in_chans,
                 "VisionTransformer: expected images of shape (B, {}, H, W), got {}",
                 options_.in_chans, x.shape());
    int64_t b = x.size(0);
    Tensor tokens = patch_embed_->forward(x);  // (B, N, D)
    if (masks) {
        MARROW_CHECK(masks->dtype() == DType::b8 && masks->dim() == 2 &&
                         masks->size(0) == b && masks->size(1) == tokens.size(1),
                     "VisionTransformer: masks should be bool of shape [{}, {}] (one per patch of "
                     "input {}), got {} of shape {}",
                     b, tokens.size(1), x.shape(), masks->dtype(), masks->shape());
        tokens = where(unsqueeze(*masks, -1), unsqueeze(marrow::to(mask_token, tokens.dtype()), 0), tokens);
    }
    int64_t dim = options_.embed_dim;
    tokens = cat({expand(cls_token, {b, 1, dim}), tokens}, 1);
    tokens = tokens + interpolate_pos_encoding(x.size(2), x.size(3));
    if (register_tokens) {
        int64_t n = tokens.size(1);
        tokens = cat({narrow(tokens, 1, 0, 1),
                      expand(*register_tokens, {b, options_.num_register_tokens, dim}),
                      narrow(tokens, 1, 1, n - 1)},
                     1);
    }
    return tokens;
}

VitFeatures VisionTransformer::forward_features(const Tensor& x,
                                                const std::optional<Tensor>& masks) {
    Tensor tokens = prepare_tokens(x, masks);
    for (size_t i = 0; i < block_list_.size(); ++i) tokens = run_block(i, tokens);
    Tensor normed = norm_->forward(tokens);
    int64_t r = options_.num_register_tokens, n = normed.size(1);
    return {squeeze(narrow(normed, 1, 0, 1), 1), narrow(normed, 1, 1, r),
            narrow(normed, 1, 1 + r, n - 1 - r), tokens};
}

Tensor VisionTransformer::run_block(size_t i, const Tensor& tokens) {
    Block* block = block_list_[i].get();
    if (!checkpoint_blocks_) return block->forward(tokens);
    Generator* gen = options_.generator ? options_.generator : &default_generator();
    return autograd::checkpoint([block](const Tensor& t) { return block->forward(t); }, tokens,
                                {gen});
}

Tensor VisionTransformer::forward(const Tensor& x) {
    return head_->forward(forward_features(x).cls);
}

std::vector<int64_t> VisionTransformer::last_blocks(int64_t n) const {
    MARROW_CHECK(n >= 1 && n <= options_.depth,
                 "get_intermediate_layers: asked for the last {} blocks of {}", n, options_.depth);
    std::vector<int64_t> out;
    for (int64_t i = options_.depth - n; i < options_.depth; ++i) out.push_back(i);
    return out;
}

std::vector<std::pair<Tensor, Tensor>> VisionTransformer::get_intermediate_layers(
    const Tensor& x, const std::vector<int64_t>& indices, bool reshape_grid, bool norm) {
    for (int64_t i : indices)
        MARROW_CHECK(i >= 0 && i < options_.depth,
                     "get_intermediate_layers: block {} does not exist (depth {})", i,
                     options_.depth);
    Tensor tokens = prepare_tokens(x);
    std::vector<std::pair<Tensor, Tensor>> out;
    int64_t r = options_.num_register_tokens, p = options_.patch_size;
    for (int64_t i = 0; i < options_.depth; ++i) {
        tokens = run_block(size_t(i), tokens);
        if (std::find(indices.begin(), indices.end(), i) == indices.end()) continue;
        Tensor t = norm ? norm_->forward(tokens) : tokens;
        int64_t n = t.size(1);
        Tensor patch = narrow(t, 1, 1 + r, n - 1 - r);
        if (reshape_grid)
            patch = contiguous(permute(
                reshape(patch, {x.size(0), x.size(2) / p, x.size(3) / p, options_.embed_dim}),
                {0, 3, 1, 2}));
        out.emplace_back(patch, squeeze(narrow(t, 1, 0, 1), 1));
    }
    return out;
}

void VisionTransformer::set_head(std::shared_ptr<Layer> head) {
    replace_child("head", head);
    head_ = std::move(head);
}

namespace {
std::shared_ptr<VisionTransformer> sized(VitOptions o, int64_t dim, int64_t depth, int64_t heads) {
    o.embed_dim = dim;
    o.depth = depth;
    o.num_heads = heads;
    return std::make_shared<VisionTransformer>(o);
}
}  // namespace

std::shared_ptr<VisionTransformer> vit_small(VitOptions o) { return sized(o, 384, 12, 6); }
std::shared_ptr<VisionTransformer> vit_base(VitOptions o) { return sized(o, 768, 12, 12); }
std::shared_ptr<VisionTransformer> vit_large(VitOptions o) { return sized(o, 1024, 24, 16); }
std::shared_ptr<VisionTransformer> vit_giant2(VitOptions o) {
    o.ffn = FfnKind::swiglu_fused;
    return sized(o, 1536, 40, 24);
}

VitOptions dinov2_hub_options(int64_t num_register_tokens) {
    return {.img_size = 518, .patch_size = 14, .init_values = 1.0,
            .num_register_tokens = num_register_tokens};
}

StateDict dinov2_backbone(const StateDict& checkpoint, const std::string& pick) {
    StateDict dict = checkpoint;
    for (const std::string& wrapper : {pick, std::string("model"), std::string("state_dict")})
        if (!wrapper.empty() && has_prefix(dict, wrapper + ".")) {
            dict = select_prefix(dict, wrapper + ".");
            break;
        }
    dict = strip_prefix(strip_prefix(dict, "module."), "backbone.");
    return rename_keys(dict, [](const std::string& key) -> std::optional<std::string> {
        for (const char* head : {"dino_head.", "ibot_head.", "head."})
            if (key.rfind(head, 0) == 0) return std::nullopt;
        return flatten_chunked_block(key);
    });
}

Tensor resize_pos_embed(const Tensor& pos_embed, int64_t gh, int64_t gw) {
    MARROW_CHECK(pos_embed.dim() == 3 && pos_embed.size(0) == 1,
                 "resize_pos_embed: expected pos_embed of shape (1, 1 + M*M, D), got {}",
                 pos_embed.shape());
    InterpolateOptions resize;
    resize.size = {gh, gw};
    resize.align_corners = false;
    return resize_grid(pos_embed, resize, gh, gw);
}

}  // namespace marrow::nn::models
