#include "ssl/config.h"

#include <array>
#include <cmath>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tensor/error.h"

namespace marrow::ssl {

// The enums by name, both ways; an unknown name is an error listing the known ones (nlohmann's
// NLOHMANN_JSON_SERIALIZE_ENUM would map a typo to the first value silently).
namespace {
template <typename E, size_t N>
using EnumNames = std::array<std::pair<E, const char*>, N>;
constexpr EnumNames<Centering, 3> kCenterings{{{Centering::center, "center"},
                                            {Centering::sinkhorn_knopp, "sinkhorn_knopp"},
                                            {Centering::none, "none"}}};
constexpr EnumNames<LrScaling, 4> kLrScalings{{{LrScaling::linear, "linear"},
                                            {LrScaling::sqrt, "sqrt"},
                                            {LrScaling::sqrt_wrt_1024, "sqrt_wrt_1024"},
                                            {LrScaling::none, "none"}}};
template <typename E, size_t N>
void enum_to_json(nlohmann::json& j, E value, const EnumNames<E, N>& names) {
    for (const auto& [e, name] : names)
        if (e == value) j = name;
}
template <typename E, size_t N>
void enum_from_json(const nlohmann::json& j, E& value, const EnumNames<E, N>& names,
                    const char* what) {
    const std::string text = j.is_string() ? j.get<std::string>() : j.dump();
    for (const auto& [e, name] : names)
        if (text == name) {
            value = e;
            return;
        }
    std::string known;
    for (size_t i = 0; i < N; ++i)
        known += std::string(i == 0 ? "" : i + 1 == N ? " or " : ", ") + names[i].second;
    MARROW_CHECK(false, "SSL config: {} '{}' (expected {})", what, text, known);
}
}  // namespace

void to_json(nlohmann::json& j, Centering c) { enum_to_json(j, c, kCenterings); }
void from_json(const nlohmann::json& j, Centering& c) {
    enum_from_json(j, c, kCenterings, "centering");
}
}  // namespace marrow::ssl
namespace marrow::nn::models {  // found by ADL for SslConfig::stem; the names are resnet.h's
void to_json(nlohmann::json& j, ResNetStem s) { j = stem_name(s); }
void from_json(const nlohmann::json& j, ResNetStem& s) {
    MARROW_CHECK(j.is_string(), "SSL config: stem {} (expected imagenet, small or small_pool)",
                 j.dump());
    s = parse_stem(j.get<std::string>());
}
}  // namespace marrow::nn::models
namespace marrow::ssl {
void to_json(nlohmann::json& j, LrScaling s) { enum_to_json(j, s, kLrScalings); }
void from_json(const nlohmann::json& j, LrScaling& s) {
    enum_from_json(j, s, kLrScalings, "lr_scaling");
}

// Every field once: the JSON round trip and the unknown-key check come from this list.
#define MARROW_SSL_CONFIG_FIELDS(X)                                                             \
    X(arch) X(patch_size) X(stem) X(drop_path_rate) X(views) X(global_size) X(local_size)       \
    X(local_crops) X(global_scale) X(color_strength) X(cell_rotations) X(epochs)                \
    X(epoch_length) X(batch_size)                                                               \
    X(accumulate) X(optimizer) X(lr) X(lr_scaling) X(min_lr) X(warmup_epochs)                   \
    X(start_warmup_lr) X(weight_decay) X(weight_decay_end) X(momentum) X(larc_trust)            \
    X(clip_grad) X(freeze_last_layer_epochs) X(autocast_bf16) X(projection) X(out_dim)          \
    X(head_hidden) X(bottleneck) X(head_layers) X(norm_last_layer) X(head_batch_norm)           \
    X(temperature) X(sinkhorn_epsilon) X(sinkhorn_iterations) X(queue_length)                   \
    X(queue_start_epoch) X(freeze_prototypes_iters) X(student_temp) X(warmup_teacher_temp)      \
    X(teacher_temp) X(warmup_teacher_temp_epochs) X(teacher_temp_per_iteration)                 \
    X(center_momentum) X(momentum_teacher) X(centering) X(koleo_weight) X(ibot_weight)          \
    X(mask_probability) X(mask_ratio) X(separate_ibot_head) X(seed)

void to_json(nlohmann::json& j, const SslConfig& c) {
    j = nlohmann::json::object();
    j["method"] = method_name(c.method);
#define MARROW_TO_JSON(f) j[#f] = c.f;
    MARROW_SSL_CONFIG_FIELDS(MARROW_TO_JSON)
#undef MARROW_TO_JSON
}

void from_json(const nlohmann::json& j, SslConfig& c) {
    MARROW_CHECK(j.is_object(), "SSL config: expected a JSON object, got {}", j.dump());
    std::set<std::string> known = {"method", "small_input", "small_input_pool"};  // old files
#define MARROW_KNOWN(f) known.insert(#f);
    MARROW_SSL_CONFIG_FIELDS(MARROW_KNOWN)
#undef MARROW_KNOWN
    std::vector<std::string> unknown;
    for (const auto& [key, value] : j.items())
        if (!known.count(key)) unknown.push_back(key);
    MARROW_CHECK(unknown.empty(), "SSL config: unknown keys {}", fmt::join(unknown, ", "));
    if (j.contains("method")) c.method = parse_method(j["method"].get<std::string>());
    if (j.contains("small_input") || j.contains("small_input_pool"))
        c.stem = nn::models::stem_from_flags(j.value("small_input", false),
                                             j.value("small_input_pool", false));
#define MARROW_FROM_JSON(f) \
    if (j.contains(#f)) j.at(#f).get_to(c.f);
    MARROW_SSL_CONFIG_FIELDS(MARROW_FROM_JSON)
#undef MARROW_FROM_JSON
}

std::string SslConfig::views_name() const {
    if (!views.empty()) return views;
    switch (method) {
        case Method::simclr: return "simclr";
        case Method::swav: return "swav";
        case Method::dino: return "dino";
        case Method::dinov2: return "dinobloom";
    }
    return "dino";
}

double SslConfig::scaled_lr() const {
    double total = double(batch_size * accumulate);
    switch (lr_scaling) {
        case LrScaling::linear: return lr * total / 256.0;
        case LrScaling::sqrt: return lr * std::sqrt(total);
        case LrScaling::sqrt_wrt_1024: return lr * std::sqrt(total / 1024.0);
        case LrScaling::none: return lr;
    }
    return lr;
}

void SslConfig::validate() const {
    std::vector<std::string> bad;
    auto need = [&](bool ok, const std::string& what) {
        if (!ok) bad.push_back(what);
    };
    static const std::set<std::string> archs = {"resnet18", "resnet34", "resnet50",
                                                "vit_small", "vit_base", "vit_large"};
    static const std::set<std::string> optimizers = {"sgd", "lars", "larc", "adamw"};
    static const std::set<std::string> view_sets = {"simclr", "swav", "dino", "dinobloom"};
    need(archs.count(arch) > 0, fmt::format("arch '{}' (expected one of {})", arch,
                                            fmt::join(archs, ", ")));
    need(optimizers.count(optimizer) > 0,
         fmt::format("optimizer '{}' (expected sgd, lars, larc or adamw)", optimizer));
    need(view_sets.count(views_name()) > 0,
         fmt::format("views '{}' (expected simclr, swav, dino or dinobloom)", views));
    need(color_strength >= 0, fmt::format("color_strength {} (>= 0)", color_strength));
    need(epochs >= 1, fmt::format("epochs {} (>= 1)", epochs));
    need(epoch_length >= 0, fmt::format("epoch_length {} (>= 0)", epoch_length));
    need(batch_size >= 2, fmt::format("batch_size {} (>= 2: contrastive and KoLeo terms need "
                                      "two images)", batch_size));
    need(accumulate >= 1, fmt::format("accumulate {} (>= 1)", accumulate));
    need(global_size >= 8 && local_size >= 8,
         fmt::format("crop sizes {}/{} (>= 8)", global_size, local_size));
    need(local_crops >= 0, fmt::format("local_crops {} (>= 0)", local_crops));
    need((global_scale[0] == 0 && global_scale[1] == 0) ||
             (global_scale[0] > 0 && global_scale[0] <= global_scale[1] && global_scale[1] <= 1),
         fmt::format("global_scale [{}, {}] (0 < min <= max <= 1, or [0, 0] for the recipe's)",
                     global_scale[0], global_scale[1]));
    need(lr > 0 && std::isfinite(lr), fmt::format("lr {} (> 0)", lr));
    need(min_lr >= 0, fmt::format("min_lr {} (>= 0)", min_lr));
    need(warmup_epochs >= 0 && warmup_epochs <= double(epochs),
         fmt::format("warmup_epochs {} (in [0, epochs = {}])", warmup_epochs, epochs));
    need(weight_decay >= 0 && weight_decay_end >= 0,
         fmt::format("weight decay {} -> {} (>= 0)", weight_decay, weight_decay_end));
    need(clip_grad >= 0, fmt::format("clip_grad {} (>= 0; 0 = none)", clip_grad));
    need(temperature > 0, fmt::format("temperature {} (> 0)", temperature));
    need(student_temp > 0 && teacher_temp > 0 && warmup_teacher_temp > 0,
         fmt::format("student/teacher temperatures {}/{}->{} (> 0)", student_temp,
                     warmup_teacher_temp, teacher_temp));
    need(momentum_teacher >= 0 && momentum_teacher <= 1,
         fmt::format("momentum_teacher {} (in [0, 1])", momentum_teacher));
    need(center_momentum >= 0 && center_momentum <= 1,
         fmt::format("center_momentum {} (in [0, 1])", center_momentum));
    need(out_dim >= 2, fmt::format("out_dim {} (>= 2)", out_dim));
    need(!projection.empty() && projection.back() >= 1,
         fmt::format("projection [{}] (at least the output width)", fmt::join(projection, ", ")));
    need(head_layers >= 1 && bottleneck >= 1 && head_hidden >= 1,
         fmt::format("DINO head layers {}, hidden {}, bottleneck {} (>= 1)", head_layers,
                     head_hidden, bottleneck));
    need(sinkhorn_epsilon > 0 && sinkhorn_iterations >= 1,
         fmt::format("sinkhorn epsilon {} / iterations {} (> 0 / >= 1)", sinkhorn_epsilon,
                     sinkhorn_iterations));
    need(queue_length >= 0 && (queue_length == 0 || queue_length % batch_size == 0),
         fmt::format("queue_length {} (0, or a multiple of batch_size {} as SwAV rounds it)",
                     queue_length, batch_size));
    need(mask_probability >= 0 && mask_probability <= 1 && mask_ratio[0] >= 0 &&
             mask_ratio[0] <= mask_ratio[1] && mask_ratio[1] <= 1,
         fmt::format("mask probability {} / ratio [{}, {}] (in [0, 1], ordered)",
                     mask_probability, mask_ratio[0], mask_ratio[1]));
    bool vit = arch.rfind("vit", 0) == 0;
    need(stem == nn::models::ResNetStem::imagenet || !vit,
         fmt::format("stem {} with arch '{}' (a ResNet stem; a ViT takes patch_size)",
                     nn::models::stem_name(stem), arch));
    need(method != Method::dinov2 || vit,
         fmt::format("method dinov2 with arch '{}' (iBOT's masked patches need a ViT)", arch));
    need(!vit || (patch_size >= 1 && global_size % patch_size == 0),
         fmt::format("global_size {} (a multiple of patch_size {})", global_size, patch_size));
    need(!vit || local_crops == 0 || method == Method::simclr || patch_size < 1 ||
             local_size % patch_size == 0,
         fmt::format("local_size {} (a multiple of patch_size {} when local crops are made)",
                     local_size, patch_size));
    MARROW_CHECK(bad.empty(), "SSL config ({}): invalid {}", method_name(method),
                 fmt::join(bad, "; "));
}

SslConfig method_defaults(Method method) {
    SslConfig c;
    c.method = method;
    switch (method) {
        case Method::simclr:  // google-research/simclr: LARS, tau 0.1, 128-d output
            c.optimizer = "lars";
            c.lr = 0.3;
            c.weight_decay = c.weight_decay_end = 1e-6;
            c.warmup_epochs = 10;
            c.min_lr = 0;
            c.local_crops = 0;
            c.projection = {512, 128};
            c.clip_grad = 0;
            c.freeze_last_layer_epochs = 0;
            break;
        case Method::swav:  // swav's bs256 recipe (spec 4.7); main_swav.py scales no lr
            c.optimizer = "larc";
            c.batch_size = 256;
            c.lr = 0.6;
            c.lr_scaling = LrScaling::none;
            c.min_lr = 0.0006;
            c.warmup_epochs = 0;
            c.queue_length = 3840;
            c.queue_start_epoch = 15;
            c.freeze_prototypes_iters = 5005;
            c.weight_decay = c.weight_decay_end = 1e-6;
            c.local_crops = 6;
            c.projection = {2048, 128};
            c.out_dim = 3000;
            c.clip_grad = 0;
            c.freeze_last_layer_epochs = 0;
            break;
        case Method::dino:  // main_dino.py defaults
            break;
        case Method::dinov2:  // dinov2 ssl_default_config.yaml
            c.arch = "vit_small";
            c.patch_size = 14;
            c.lr = 0.004;
            c.lr_scaling = LrScaling::sqrt_wrt_1024;
            c.momentum_teacher = 0.992;
            c.warmup_teacher_temp_epochs = 30;
            c.teacher_temp = 0.07;
            c.teacher_temp_per_iteration = true;
            c.norm_last_layer = false;
            c.drop_path_rate = 0.3;
            c.local_size = 98;
            c.centering = Centering::center;
            break;
    }
    return c;
}

std::vector<std::string> preset_names() {
    return {"seed000-simclr", "seed000-swav", "seed000-dino", "dinobloom-s"};
}

SslConfig preset(const std::string& name) {
    // Seed 000 (SSL-MIL, section 4.2): ResNet encoder on the 144-px AML Hehr cells, batch 512.
    // What the paper leaves out follows the reference repos; the encoder is ResNet-34 as its
    // supervised baseline (a 512-wide output, matching its [512, 512] + [512, 64] head).
    if (name == "seed000-simclr") {
        SslConfig c = method_defaults(Method::simclr);
        c.arch = "resnet34";
        c.global_size = 144;
        c.batch_size = 512;
        c.epochs = 100;  // not stated: simclr's flag default
        c.optimizer = "larc";  // "SGD with momentum ... along with LARC"
        // The lr is not stated. SimCLR's square-root rule, 0.075 sqrt(B) (its paper, B.1:
        // better than linear at small batches; both give 4.8 at 4096): 1.70 at 512, 0.6 at
        // 64, where the linear 0.3 B / 256 (0.075) left the loss at ln K for 5 epochs.
        c.lr = 0.075;
        c.lr_scaling = LrScaling::sqrt;
        c.temperature = 0.1;
        c.projection = {512, 64};
        return c;
    }
    if (name == "seed000-swav") {
        SslConfig c = method_defaults(Method::swav);
        c.arch = "resnet34";
        c.global_size = 144;
        c.local_size = 64;  // 96/224 of 144, rounded to a multiple of 32
        c.batch_size = 512;
        c.epochs = 500;
        c.out_dim = 300;
        c.projection = {2048, 128};
        // "learning rate scaling": the bs256 recipe scaled linearly to 512, start and end.
        c.lr = 1.2;
        c.min_lr = 0.0012;
        c.queue_length = 3584;  // swav's 3840 rounded down to a multiple of the batch
        return c;
    }
    if (name == "seed000-dino") {
        SslConfig c = method_defaults(Method::dino);
        c.arch = "resnet34";
        c.global_size = 144;
        c.local_size = 64;
        c.local_crops = 8;
        c.batch_size = 512;
        c.epochs = 100;  // not stated: main_dino.py's default
        c.warmup_teacher_temp = 0.04;
        c.teacher_temp = 0.07;
        c.warmup_teacher_temp_epochs = 30;
        c.drop_path_rate = 0;
        return c;
    }
    if (name == "dinobloom-s") {  // marrlab/DinoBloom custom.yaml on dinov2_vits14
        SslConfig c = method_defaults(Method::dinov2);
        c.arch = "vit_small";
        c.patch_size = 14;
        c.views = "dinobloom";
        // One local crop, as custom.yaml: DinoBloom skips the local DINO term unless there
        // are more than one (the crop is never made here), but its n_local_terms = 2 stays
        // in the denominator and halves the global term (spec 6.7).
        c.local_crops = 1;
        c.batch_size = 120;
        c.epochs = 200;
        c.epoch_length = 500;
        c.warmup_epochs = 20;
        c.lr = 2e-4;
        c.momentum_teacher = 0.994;
        c.weight_decay_end = 0.2;
        c.centering = Centering::sinkhorn_knopp;
        c.separate_ibot_head = true;
        c.drop_path_rate = 0;  // the hub-built backbone ignores the yaml's 0.4 (spec 6.7)
        return c;
    }
    MARROW_CHECK(false, "unknown preset '{}' (expected {})", name, fmt::join(preset_names(), ", "));
    return {};
}

SslConfig resolve_config(const std::string& preset_name, const std::string& method,
                         const std::vector<std::string>& overrides) {
    SslConfig c = !preset_name.empty() ? preset(preset_name)
                                       : method_defaults(parse_method(method.empty() ? "dino"
                                                                                     : method));
    MARROW_CHECK(method.empty() || parse_method(method) == c.method,
                 "--method {} contradicts --preset {} (a {} recipe)", method, preset_name,
                 method_name(c.method));
    nlohmann::json j = c;
    for (const std::string& kv : overrides) {
        const size_t eq = kv.find('=');
        MARROW_CHECK(eq != std::string::npos && eq > 0, "--set {}: expected key=value", kv);
        const std::string key = kv.substr(0, eq), text = kv.substr(eq + 1);
        MARROW_CHECK(j.contains(key), "--set {}: unknown config field '{}'", kv, key);
        MARROW_CHECK(key != "method", "--set {}: choose the method with --method or --preset "
                     "(they bring the method's other hyperparameters)", kv);
        nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
        j[key] = value.is_discarded() ? nlohmann::json(text) : value;
    }
    try {
        c = j.get<SslConfig>();
    } catch (const nlohmann::json::exception& e) {
        MARROW_CHECK(false, "--set: a value has the wrong type ({})", e.what());
    }
    return c;
}

}  // namespace marrow::ssl
