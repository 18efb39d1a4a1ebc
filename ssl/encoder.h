// The encoder (backbone) the SSL methods train and the downstream apps consume, and its file.
//
//   ssl::EncoderSpec spec{.arch = "resnet18", .in_channels = 1,
//                         .stem = nn::models::ResNetStem::small};
//   auto enc = ssl::make_encoder(spec);            // enc->module(): the backbone as a Layer
//   Tensor z = enc->forward(images);               // (B, C, H, W) -> (B, 512)
//   ssl::save_encoder("encoder.safetensors", *enc, {{"method", "simclr"}, {"run_id", id}});
//   auto back = ssl::load_encoder("encoder.safetensors");            // spec from the file
//   auto dinobloom = ssl::load_encoder("DinoBloom-S.pth", vit_spec);  // a published one
//
// ResNet: torchvision's network with fc removed (nn.Identity), so forward is the pooled vector
// (512 for ResNet-18/34, 2048 for ResNet-50) and the keys are torchvision's (`conv1.weight`,
// `layer1.0.bn1.running_mean`, no `fc.*`). ViT: DINOv2's VisionTransformer, forward =
// x_norm_clstoken; forward_features(x, masks) gives the patch tokens (iBOT) too; keys are
// DINOv2's (`cls_token`, `blocks.N.ls1.gamma`, ...). Which weights to export (spec 5.4): the
// TEACHER backbone for DINO/DINOv2, the one backbone for SimCLR/SwAV, never the heads.
//
// The encoder file: one safetensors file holding the backbone's state_dict under those keys, so
// PyTorch loads it into torchvision / DINOv2 directly, and in its metadata
//   "marrow_encoder": the spec as JSON (arch, in_channels, stem, patch_size,
//                     image_size, num_register_tokens, layerscale, mean, std),
//   whatever the caller adds (provenance: "method", "run_id", "epoch", ...).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nn/models/resnet.h"
#include "nn/models/vit.h"

namespace marrow::ssl {

struct EncoderSpec {
    // resnet18 | resnet34 | resnet50 | vit_small | vit_base | vit_large
    std::string arch = "resnet18";
    int64_t in_channels = 3;
    // ResNet only: imagenet, or the 28-32 px stems small / small_pool (nn/models/resnet.h);
    // describe() calls them "resnet18 --stem small" / "resnet18 --stem small_pool".
    nn::models::ResNetStem stem = nn::models::ResNetStem::imagenet;
    // ViT only: patch size and the image size pos_embed is built for (DinoBloom: 14 and 224).
    int64_t patch_size = 14;
    // ViT: the grid pos_embed is built for (0: 224). Also the size extraction resizes images
    // to (0, a ResNet's default: keep them as they are; set it to the training crop size).
    int64_t image_size = 0;
    int64_t num_register_tokens = 0;
    std::optional<double> layerscale = 1e-5;  // ViT LayerScale init (DINOv2 training: 1e-5)
    double drop_path_rate = 0;                // ViT stochastic depth (student only)
    // The input normalization the encoder was trained with (one value per channel): extraction
    // applies the same. Empty: ImageNet's for 3 channels, (0.5, 0.5) otherwise.
    std::vector<double> mean = {}, std = {};

    bool is_vit() const;
    // "resnet18", "resnet18 --stem small (1 channel)", "vit_small/14 @224".
    std::string describe() const;
    nlohmann::json to_json() const;
    static EncoderSpec from_json(const nlohmann::json& j);  // Error naming a bad field
    std::vector<double> norm_mean() const;                  // mean, or the default above
    std::vector<double> norm_std() const;
};

// The names `arch` accepts; anything else is an Error listing them.
const std::vector<std::string>& encoder_archs();

class Encoder {
public:
    explicit Encoder(EncoderSpec spec, Generator* generator = nullptr);

    // images (B, C, H, W), normalized as spec.mean / spec.std -> features (B, feature_dim()).
    Tensor forward(const Tensor& images) { return module_->forward(images); }
    Tensor operator()(const Tensor& images) { return forward(images); }
    // ViT only (an Error naming the arch otherwise): DINOv2's forward_features, masks
    // (B, H/p * W/p) bool replace patch embeddings by mask_token (iBOT's student).
    nn::models::VitFeatures forward_features(const Tensor& images,
                                             const std::optional<Tensor>& masks = {});
    // ResNet only: layer4's map before pooling, (B, feature_dim, ~H/32, ~W/32) (~H/8 with
    // the small-input stem), for SCEMILA-style heads (spec 5.4 keeps both outputs).
    Tensor feature_map(const Tensor& images);
    int64_t feature_dim() const { return feature_dim_; }
    const EncoderSpec& spec() const { return spec_; }

    // The backbone as a module: parameters, state_dict (PyTorch keys), train()/eval(), to().
    // Its forward is this encoder's forward.
    nn::Layer& module() { return *module_; }
    const nn::Layer& module() const { return *module_; }
    std::shared_ptr<nn::Layer> module_ptr() const { return module_; }
    std::shared_ptr<nn::models::ResNet> resnet() const { return resnet_; }       // or null
    std::shared_ptr<nn::models::VisionTransformer> vit() const { return vit_; }  // or null

private:
    EncoderSpec spec_;
    std::shared_ptr<nn::Layer> module_;
    std::shared_ptr<nn::models::ResNet> resnet_;
    std::shared_ptr<nn::models::VisionTransformer> vit_;
    int64_t feature_dim_ = 0;
};

// A freshly initialized encoder (torchvision's / DINOv2's init; `generator` draws it).
std::shared_ptr<Encoder> make_encoder(const EncoderSpec& spec, Generator* generator = nullptr);

// Writes the encoder file (above): temp file + rename. `metadata` must not use the key
// "marrow_encoder".
void save_encoder(const std::string& path, const Encoder& encoder,
                  const std::map<std::string, std::string>& metadata = {});

struct LoadedEncoder {
    std::shared_ptr<Encoder> encoder;
    std::map<std::string, std::string> metadata;  // the file's (empty for a .pth)
    bool published = false;  // not a marrow encoder file: a .pth or a bare state_dict
};

// An encoder file (its spec from the metadata; `arch`, when given, must agree on the arch), or
// a published checkpoint with `arch` giving the spec: a DINOv2 / DinoBloom .pth (the `teacher`
// part, `module.` / `backbone.` stripped, heads dropped, chunked blocks flattened;
// pos_embed resized to the spec's grid when trained at another size, as DinoBloom does), or a
// torchvision ResNet state_dict (.pth or safetensors; `fc.*` dropped). Strict: every missing,
// unexpected or mis-shaped key is listed in one Error that also names the path and the arch.
LoadedEncoder load_encoder(const std::string& path,
                           const std::optional<EncoderSpec>& arch = std::nullopt);

}  // namespace marrow::ssl
