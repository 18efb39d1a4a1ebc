// The encoder factory and the encoder file; see encoder.h.
#include "ssl/encoder.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "nn/layers.h"
#include "nn/state_dict.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"

namespace marrow::ssl {

namespace {

constexpr const char* kSpecKey = "marrow_encoder";

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

void check_spec(const EncoderSpec& s) {
    const auto& archs = encoder_archs();
    MARROW_CHECK(std::find(archs.begin(), archs.end(), s.arch) != archs.end(),
                 "encoder: unknown arch \"{}\" (known: {})", s.arch, join(archs));
    MARROW_CHECK(s.in_channels >= 1, "encoder {}: in_channels must be >= 1, got {}", s.arch,
                 s.in_channels);
    MARROW_CHECK(s.stem == nn::models::ResNetStem::imagenet || !s.is_vit(),
                 "encoder {}: the {} stem is a ResNet stem; a ViT takes patch_size instead",
                 s.arch, nn::models::stem_name(s.stem));
    if (s.is_vit() && s.image_size != 0)  // 0: DINOv2's 224
        MARROW_CHECK(
            s.patch_size >= 1 && s.image_size >= s.patch_size && s.image_size % s.patch_size == 0,
            "encoder {}: image_size {} must be a positive multiple of patch_size {}", s.arch,
            s.image_size, s.patch_size);
    MARROW_CHECK(s.image_size >= 0, "encoder {}: image_size must be >= 0, got {}", s.arch,
                 s.image_size);
    for (const auto* v : {&s.mean, &s.std})
        MARROW_CHECK(v->empty() || int64_t(v->size()) == s.in_channels,
                     "encoder {}: mean/std need one value per channel ({}), got {}", s.arch,
                     s.in_channels, v->size());
    for (double sd : s.std) MARROW_CHECK(sd > 0, "encoder {}: std must be > 0, got {}", s.arch, sd);
}

}  // namespace

const std::vector<std::string>& encoder_archs() {
    static const std::vector<std::string> archs = {"resnet18",  "resnet34", "resnet50",
                                                   "vit_small", "vit_base", "vit_large"};
    return archs;
}

bool EncoderSpec::is_vit() const { return arch.rfind("vit_", 0) == 0; }

std::string EncoderSpec::describe() const {
    std::string s = arch;
    if (is_vit()) s += fmt::format("/{} @{}", patch_size, image_size);
    if (stem == nn::models::ResNetStem::small) s += " --stem small";
    if (stem == nn::models::ResNetStem::small_pool) s += " --stem small_pool";
    if (in_channels != 3)
        s += fmt::format(" ({} channel{})", in_channels, in_channels == 1 ? "" : "s");
    return s;
}

std::vector<double> EncoderSpec::norm_mean() const {
    if (!mean.empty()) return mean;
    if (in_channels == 3) return {0.485, 0.456, 0.406};
    return std::vector<double>(size_t(in_channels), 0.5);
}

std::vector<double> EncoderSpec::norm_std() const {
    if (!std.empty()) return std;
    if (in_channels == 3) return {0.229, 0.224, 0.225};
    return std::vector<double>(size_t(in_channels), 0.5);
}

nlohmann::json EncoderSpec::to_json() const {
    nlohmann::json j = {{"arch", arch},
                        {"in_channels", in_channels},
                        {"stem", nn::models::stem_name(stem)},
                        {"patch_size", patch_size},
                        {"image_size", image_size},
                        {"num_register_tokens", num_register_tokens},
                        {"layerscale", layerscale ? nlohmann::json(*layerscale) : nlohmann::json()},
                        {"drop_path_rate", drop_path_rate},
                        {"mean", norm_mean()},
                        {"std", norm_std()}};
    return j;
}

EncoderSpec EncoderSpec::from_json(const nlohmann::json& j) {
    MARROW_CHECK(j.is_object() && j.contains("arch") && j["arch"].is_string(),
                 "encoder spec: expected a JSON object with an \"arch\" string, got {}", j.dump());
    EncoderSpec s;
    try {
        s.arch = j.at("arch").get<std::string>();
        s.in_channels = j.value("in_channels", s.in_channels);
        s.stem = j.contains("stem")  // older files: two bools
                     ? nn::models::parse_stem(j["stem"].get<std::string>())
                     : nn::models::stem_from_flags(j.value("small_input", false),
                                                   j.value("small_input_pool", false));
        s.patch_size = j.value("patch_size", s.patch_size);
        s.image_size = j.value("image_size", s.image_size);
        s.num_register_tokens = j.value("num_register_tokens", s.num_register_tokens);
        if (j.contains("layerscale"))
            s.layerscale = j["layerscale"].is_null() ? std::nullopt
                                                     : std::optional(j["layerscale"].get<double>());
        s.drop_path_rate = j.value("drop_path_rate", s.drop_path_rate);
        s.mean = j.value("mean", s.mean);
        s.std = j.value("std", s.std);
    } catch (const nlohmann::json::exception& e) {
        fail("encoder spec: bad field in {}: {}", j.dump(), e.what());
    }
    check_spec(s);
    return s;
}

Encoder::Encoder(EncoderSpec spec, Generator* generator) : spec_(std::move(spec)) {
    if (spec_.is_vit() && spec_.image_size == 0) spec_.image_size = 224;  // DINOv2's
    check_spec(spec_);
    if (spec_.is_vit()) {
        nn::models::VitOptions o{.img_size = spec_.image_size,
                                 .patch_size = spec_.patch_size,
                                 .in_chans = spec_.in_channels,
                                 .drop_path_rate = spec_.drop_path_rate,
                                 .init_values = spec_.layerscale,
                                 .num_register_tokens = spec_.num_register_tokens,
                                 .generator = generator};
        vit_ = spec_.arch == "vit_small"  ? nn::models::vit_small(o)
               : spec_.arch == "vit_base" ? nn::models::vit_base(o)
                                          : nn::models::vit_large(o);
        module_ = vit_;
        feature_dim_ = vit_->embed_dim();
    } else {
        nn::models::ResNetOptions o{.generator = generator,
                                    .in_channels = spec_.in_channels,
                                    .stem = spec_.stem};
        resnet_ = spec_.arch == "resnet18"   ? nn::models::resnet18(o)
                  : spec_.arch == "resnet34" ? nn::models::resnet34(o)
                                             : nn::models::resnet50(o);
        resnet_->set_fc(std::make_shared<nn::Identity>());  // the pooled vector; no fc.* keys
        module_ = resnet_;
        feature_dim_ = resnet_->feature_dim();
    }
}

nn::models::VitFeatures Encoder::forward_features(const Tensor& images,
                                                  const std::optional<Tensor>& masks) {
    MARROW_CHECK(vit_,
                 "Encoder::forward_features: {} is not a ViT (patch tokens and masks "
                 "exist for vit_* encoders only)",
                 spec_.describe());
    return vit_->forward_features(images, masks);
}

Tensor Encoder::feature_map(const Tensor& images) {
    MARROW_CHECK(resnet_,
                 "Encoder::feature_map: {} is not a ResNet (a ViT's patch tokens come "
                 "from forward_features)",
                 spec_.describe());
    return resnet_->feature_map(images);
}

std::shared_ptr<Encoder> make_encoder(const EncoderSpec& spec, Generator* generator) {
    return std::make_shared<Encoder>(spec, generator);
}

void save_encoder(const std::string& path, const Encoder& encoder,
                  const std::map<std::string, std::string>& metadata) {
    MARROW_CHECK(!metadata.count(kSpecKey), "save_encoder {}: the metadata key \"{}\" is reserved",
                 path, kSpecKey);
    std::map<std::string, std::string> meta = metadata;
    meta[kSpecKey] = encoder.spec().to_json().dump();
    nn::save_state_dict_file(path, encoder.module().state_dict(), meta);
}

namespace {

// A published checkpoint's backbone under the encoder's keys: the teacher (or model /
// state_dict) part, module. / backbone. stripped, heads dropped (dinov2_backbone does all
// of it, and flattens chunked ViT blocks); ResNets also lose torchvision's fc.
nn::StateDict published_backbone(const nn::StateDict& file, const Encoder& enc) {
    nn::StateDict sd = nn::models::dinov2_backbone(file, "teacher");
    if (enc.resnet())
        return nn::rename_keys(sd, [](const std::string& k) -> std::optional<std::string> {
            if (k.rfind("fc.", 0) == 0) return std::nullopt;
            return k;
        });
    // pos_embed trained for another grid (DINOv2 hub: 518 px -> 37 x 37): resized bicubically
    // to the spec's grid, as DinoBloom's return_model does.
    if (const Tensor* pe = sd.find("pos_embed"); pe && pe->dim() == 3) {
        const Tensor& mine = enc.vit()->pos_embed;
        if (pe->size(1) != mine.size(1) && pe->size(2) == mine.size(2)) {
            int64_t g = enc.spec().image_size / enc.spec().patch_size;
            sd.insert("pos_embed", nn::models::resize_pos_embed(*pe, g, g));
        }
    }
    return sd;
}

void load_strict(Encoder& enc, const nn::StateDict& sd, const std::string& path) {
    try {
        enc.module().load_state_dict(sd, /*strict=*/true);  // lists every bad key, copies none
    } catch (const Error& e) {
        fail("load_encoder {}: the weights do not fit a {} encoder (is --arch right?): {}", path,
             enc.spec().describe(), e.what());
    }
}

}  // namespace

LoadedEncoder load_encoder(const std::string& path, const std::optional<EncoderSpec>& arch) {
    MARROW_CHECK(std::filesystem::is_regular_file(path),
                 "load_encoder: {} does not exist or is not a file", path);
    LoadedEncoder out;
    std::optional<nn::StateDict> dict;
    bool is_safetensors = false;
    {
        std::ifstream f(path, std::ios::binary);
        char head[9] = {};
        f.read(head, 9);
        // safetensors: an 8-byte length then '{'; a .pth is a zip ("PK") or a pickle (0x80).
        is_safetensors = f.gcount() == 9 && head[8] == '{';
    }
    if (is_safetensors) {
        SafetensorsFile file = load_safetensors(path);
        out.metadata = file.metadata;
        nn::StateDict sd;
        for (auto& [k, t] : file.tensors) sd.insert(k, t);
        dict = std::move(sd);
        if (auto it = file.metadata.find(kSpecKey); it != file.metadata.end()) {
            nlohmann::json j = nlohmann::json::parse(it->second, nullptr, false);
            EncoderSpec spec = EncoderSpec::from_json(j);
            if (arch && arch->arch != spec.arch)
                fail("load_encoder {}: the file holds a {} encoder, but --arch says {}", path,
                     spec.describe(), arch->arch);
            out.encoder = make_encoder(spec);
            load_strict(*out.encoder, *dict, path);
            return out;
        }
    }
    MARROW_CHECK(arch.has_value(),
                 "load_encoder {}: not a marrow encoder file (no \"{}\" metadata): a published "
                 "checkpoint needs --arch ({})",
                 path, kSpecKey, join(encoder_archs()));
    if (!dict) dict = nn::load_state_dict_file(path, {.skip_unknown_globals = true});
    out.published = true;
    out.encoder = make_encoder(*arch);
    load_strict(*out.encoder, published_backbone(*dict, *out.encoder), path);
    return out;
}

}  // namespace marrow::ssl
