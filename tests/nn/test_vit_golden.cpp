// DINOv2-layout vision transformers against PyTorch (fixture from tests/golden/gen/gen_vit.py,
// whose model reproduces facebookresearch/dinov2's DinoVisionTransformer): ViT-S/14 with the
// position grid resized (224 -> 56 px), ViT-S/14 with 4 registers at 518 px on a non-square
// image with masks, ViT-B/14, and a small SwiGLU (ViT-g block) model. Weights come from the
// generator's counter-based formula (re-implemented below from its description) under
// DINOv2's keys; compared: the keys, cls/register/patch tokens, the loss, the input gradient,
// every parameter's gradient (sums and samples) and 5 AdamW steps, in float64, and the cls
// token in float32. With MARROW_VIT_EXPORT set to the folder `gen_vit.py --export` wrote
// (ctest vit_pth_export), the same weights are loaded from torch.save files and safetensors.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/adam.h"
#include "nn/losses.h"
#include "nn/models/vit.h"
#include "tensor/factory.h"
#include "tensor/safetensors.h"
#include "tests/compare.h"
#include "tests/nn/formula_weights.h"

using namespace marrow;
using namespace marrow::test;

namespace {

const SafetensorsFile& fixture() {
    static const SafetensorsFile file =
        load_safetensors(MARROW_SOURCE_DIR "/tests/golden/fixtures/vit.safetensors");
    return file;
}

const Tensor& get(const std::string& key) {
    auto it = fixture().tensors.find(key);
    if (it == fixture().tensors.end())
        fail("vit golden fixture has no \"{}\": regenerate it with gen_vit.py", key);
    return it->second;
}

bool has(const std::string& key) { return fixture().tensors.count(key) != 0; }

// ---- the generator's weight formula
Tensor formula(const std::string& key, const Shape& shape) {
    std::string leaf = key.substr(key.rfind('.') + 1);
    std::string module;
    if (auto dot = key.rfind('.'); dot != std::string::npos) {
        std::string head = key.substr(0, dot);
        module = head.substr(head.rfind('.') + 1);
    }
    int64_t n = shape_numel(shape);
    bool token =
        key == "pos_embed" || key == "cls_token" || key == "register_tokens" || key == "mask_token";
    bool norm = module == "norm" || module == "norm1" || module == "norm2";
    uint64_t seed = fnv1a64(key);
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        double u = formula_uniform(seed, uint64_t(i)), x;
        if (token)
            x = 0.1 * (2 * u - 1);
        else if (leaf == "gamma")
            x = 0.1 + 0.4 * u;
        else if (norm)
            x = leaf == "weight" ? 1 + 0.2 * (2 * u - 1) : 0.1 * (2 * u - 1);
        else if (shape.size() >= 2)
            x = (2 * u - 1) * std::sqrt(3.0 / double(n / shape[0]));
        else
            x = 0.02 * (2 * u - 1);
        v[size_t(i)] = float(x);
    }
    return from_vector(v, shape);
}

nlohmann::json config(const std::string& name) {
    return nlohmann::json::parse(fixture().metadata.at("config." + name));
}

// The generator's DinoVisionTransformer arguments as VitOptions.
std::shared_ptr<nn::models::VisionTransformer> make(const std::string& name) {
    nlohmann::json c = config(name);
    nn::models::VitOptions o{.img_size = c["img_size"],
                             .patch_size = c["patch_size"],
                             .embed_dim = c["embed_dim"],
                             .depth = c["depth"],
                             .num_heads = c["num_heads"]};
    if (c.contains("init_values")) o.init_values = c["init_values"].get<double>();
    if (c.value("ffn_layer", "mlp") == "swiglufused") o.ffn = nn::FfnKind::swiglu_fused;
    o.num_register_tokens = c.value("num_register_tokens", 0);
    return std::make_shared<nn::models::VisionTransformer>(o);
}

// The model's state dict from the formula under DINOv2's keys, checking the keys match.
nn::StateDict dinov2_weights(const std::string& name, nn::Module& model) {
    auto keys = nlohmann::json::parse(fixture().metadata.at("keys." + name));
    nn::StateDict own = model.state_dict(), sd;
    std::vector<std::string> ours = own.keys(), theirs;
    for (const auto& key : keys) theirs.push_back(key.get<std::string>());
    CHECK_MESSAGE(ours == theirs, "state_dict keys differ from DINOv2's: ",
                  fmt::format("{}", fmt::join(ours, ", ")));
    for (const std::string& k : theirs) {
        const Tensor* mine = own.find(k);
        REQUIRE_MESSAGE(mine != nullptr, "marrow's ", name, " has no key ", k);
        sd.insert(k, formula(k, mine->shape()));
    }
    return sd;
}

void check_close(const Tensor& ours, const Tensor& ref, Tolerance tol, const std::string& what) {
    Comparison cmp = compare(ours, ref, tol);
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

std::optional<Tensor> masks_of(const std::string& p) {
    return has(p + "masks") ? std::optional<Tensor>(get(p + "masks")) : std::nullopt;
}

// cross_entropy(cls @ head^T, target) + 0.1 mean(patch^2), the generator's loss.
Tensor golden_loss(const nn::models::VitFeatures& f, const Tensor& head, const Tensor& target) {
    return nn::cross_entropy(matmul(f.cls, transpose(head, 0, 1)), target) +
           0.1 * mean(f.patch * f.patch);
}

void check_model(const std::string& name) {
    const std::string p = name + "/";
    auto model = make(name);
    model->load_state_dict(dinov2_weights(name, *model));
    std::optional<Tensor> masks = masks_of(p);
    Tensor target = get(p + "target");
    {
        autograd::NoGradGuard no_grad;
        check_close(model->forward_features(get(p + "x"), masks).cls, get(p + "cls.f32"),
                    tolerance(TolClass::model, DType::f32), "float32 cls token");
    }
    model->to(DType::f64);
    Tolerance tol = tolerance(TolClass::model, DType::f64);
    Tensor x = to(get(p + "x"), DType::f64).requires_grad_();
    Tensor head = to(formula("head.weight", {10, model->embed_dim()}), DType::f64).requires_grad_();

    nn::models::VitFeatures f = model->forward_features(x, masks);
    check_close(f.cls, get(p + "cls"), tol, "x_norm_clstoken");
    check_close(f.patch, get(p + "patch"), tol, "x_norm_patchtokens");
    if (has(p + "reg")) check_close(f.reg, get(p + "reg"), tol, "x_norm_regtokens");
    check_close(sum(f.prenorm, {1, 2}), get(p + "prenorm.sum"), tol, "x_prenorm sums");
    Tensor loss = golden_loss(f, head, target);
    check_close(loss.reshape({1}), get(p + "loss"), tol, "loss");
    loss.backward();
    check_close(x.grad(), get(p + "x.grad"), tol, "input gradient");
    auto params = model->named_parameters();
    params.emplace_back("head.weight", head);
    for (const auto& named : params) {  // not a structured binding: clang 14 and CHECK_MESSAGE
        const std::string& key = named.first;
        const Tensor& param = named.second;
        if (!has(p + "grad_stats/" + key)) {  // mask_token without masks: not in the graph
            CHECK_MESSAGE(!param.has_grad(), key, " has a gradient; PyTorch's has none");
            continue;
        }
        Tensor g = param.grad().reshape({-1});
        Tensor stats = stack({sum(g), sum(abs(g))});
        Tensor ref = get(p + "grad_stats/" + key);
        double scale = ref.data<double>()[1];  // sums compared relative to the sum of |g|
        check_close(stats / scale, ref / scale, tol, "gradient sums of " + key);
        std::vector<int64_t> positions;
        for (int64_t i = 0; i < 16; ++i) positions.push_back(i * 7919 % g.numel());
        Tensor sample = index_select(g, 0, from_vector(positions));
        Tensor ref_sample = get(p + "grad_sample/" + key);
        double peak = max(abs(ref_sample)).item();
        check_close(sample / peak, ref_sample / peak, tol, "gradient samples of " + key);
    }

    // 5 AdamW steps from the formula's weights.
    model->load_state_dict(dinov2_weights(name, *model));
    head = to(formula("head.weight", {10, model->embed_dim()}), DType::f64).requires_grad_();
    std::vector<Tensor> all = model->parameters();
    all.push_back(head);
    nn::AdamW opt(all, {.lr = 1e-3, .weight_decay = 0.05});
    const double* ref_losses = get(p + "adamw_losses").data<double>();
    for (int step = 0; step < 5; ++step) {
        opt.zero_grad();
        Tensor l =
            golden_loss(model->forward_features(to(get(p + "x"), DType::f64), masks), head, target);
        l.backward();
        opt.step();
        INFO(name, " AdamW step ", step, ": ",
             fmt::format("{:.17g} vs {:.17g}", l.item(), ref_losses[step]));
        CHECK(l.item() == doctest::Approx(ref_losses[step])
                              .epsilon(tolerance(TolClass::trajectory, DType::f64).rtol));
    }
}

}  // namespace

TEST_CASE("ViT-S/14 (224 px grid on 56 px images) matches DINOv2: keys, tokens, gradients, AdamW") {
    check_model("vits14");
}

TEST_CASE("ViT-S/14 + 4 registers (518 px grid, 70 x 84 images, masks) matches DINOv2") {
    check_model("vits14_reg4");
}

TEST_CASE("ViT-B/14 matches DINOv2: keys, tokens, gradients, AdamW") { check_model("vitb14"); }

TEST_CASE("SwiGLU blocks (ViT-g's FFN) with a register match DINOv2") {
    check_model("swiglu_tiny");
}

TEST_CASE("DINOv2 checkpoints from torch.save and safetensors load and give PyTorch's tokens") {
    const char* folder = std::getenv("MARROW_VIT_EXPORT");
    if (folder == nullptr) {
        MESSAGE(
            "MARROW_VIT_EXPORT not set: the torch.save files are checked by ctest "
            "vit_pth_export");
        return;
    }
    for (const std::string name : {"vits14", "vits14_reg4", "vitb14", "swiglu_tiny"}) {
        CAPTURE(name);
        auto reference = make(name);
        nn::StateDict expected = dinov2_weights(name, *reference);
        std::string base = std::string(folder) + "/" + name;
        for (const std::string& path :
             {base + ".pth", base + ".safetensors", base + "_dinobloom.pth"}) {
            CAPTURE(path);
            nn::StateDict loaded = nn::models::dinov2_backbone(nn::load_state_dict_file(path));
            auto model = make(name);
            model->load_state_dict(loaded);  // strict
            for (const auto& entry : expected)
                CHECK_MESSAGE(equal(model->state_dict().at(entry.first), entry.second),
                              entry.first);
            autograd::NoGradGuard no_grad;
            const std::string p = name + "/";
            check_close(model->forward_features(get(p + "x"), masks_of(p)).cls, get(p + "cls.f32"),
                        tolerance(TolClass::model, DType::f32), "float32 cls token");
        }
    }
}

TEST_CASE("ViT: structure, options, checkpoint key rules") {
    auto vit = nn::models::vit_small(
        {.img_size = 56, .patch_size = 14, .init_values = 1e-5, .num_register_tokens = 2});
    nn::StateDict sd = vit->state_dict();
    CHECK(sd.at("pos_embed").shape() == Shape{1, 17, 384});
    CHECK(sd.at("register_tokens").shape() == Shape{1, 2, 384});
    CHECK(sd.at("blocks.11.ls2.gamma").shape() == Shape{384});
    CHECK(sd.at("blocks.0.attn.qkv.weight").shape() == Shape{1152, 384});
    CHECK(sd.at("blocks.0.mlp.fc1.weight").shape() == Shape{1536, 384});
    CHECK(equal(sd.at("blocks.3.ls1.gamma"), full({384}, 1e-5)));
    {
        autograd::NoGradGuard no_grad;
        vit->eval();
        Tensor x = randn({2, 3, 28, 42});
        nn::models::VitFeatures f = vit->forward_features(x);
        CHECK(f.cls.shape() == Shape{2, 384});
        CHECK(f.reg.shape() == Shape{2, 2, 384});
        CHECK(f.patch.shape() == Shape{2, 6, 384});
        CHECK(vit->forward(x).shape() == Shape{2, 384});
        auto layers = vit->get_intermediate_layers(x, vit->last_blocks(2), true);
        REQUIRE(layers.size() == 2);
        CHECK(layers[0].first.shape() == Shape{2, 384, 2, 3});
        CHECK(layers[1].second.shape() == Shape{2, 384});
        // The last block's normed output is forward_features' (same tokens).
        CHECK(equal(layers[1].second, f.cls));
    }
    CHECK_THROWS_WITH_AS(vit->forward(randn({1, 3, 30, 28})),
                         doctest::Contains("not a multiple of the patch size 14"), Error);
    // ViT-g/14's FFN (not the whole 1.1e9-parameter model): SwiGLUFFNFused's width rule.
    CHECK(nn::swiglu_fused_hidden(1536 * 4) == 4096);
    auto giant_block = std::make_shared<nn::Block>(
        nn::BlockOptions{.dim = 1536, .num_heads = 24, .ffn = nn::FfnKind::swiglu_fused});
    CHECK(giant_block->state_dict().at("mlp.w12.weight").shape() == Shape{8192, 1536});
    CHECK(giant_block->state_dict().at("mlp.w3.weight").shape() == Shape{1536, 4096});

    // Published checkpoints: teacher + backbone. prefixes, heads dropped, chunked blocks.
    nn::StateDict ckpt;
    ckpt.insert("teacher.backbone.blocks.1.4.norm1.weight", zeros({3}));
    ckpt.insert("teacher.backbone.cls_token", zeros({1, 1, 3}));
    ckpt.insert("teacher.dino_head.mlp.0.weight", zeros({2, 3}));
    ckpt.insert("student.backbone.cls_token", ones({1, 1, 3}));
    nn::StateDict backbone = nn::models::dinov2_backbone(ckpt);
    CHECK(backbone.keys() == std::vector<std::string>{"blocks.4.norm1.weight", "cls_token"});
    CHECK(equal(backbone.at("cls_token"), zeros({1, 1, 3})));
    nn::StateDict plain;
    plain.insert("module.blocks.2.attn.qkv.bias", zeros({9}));
    CHECK(nn::models::dinov2_backbone(plain).keys() ==
          std::vector<std::string>{"blocks.2.attn.qkv.bias"});

    // A 37 x 37 grid (518 px) resized for a 224 px model: 16 x 16 + cls.
    Tensor pos = randn({1, 1 + 37 * 37, 8});
    Tensor resized = nn::models::resize_pos_embed(pos, 16, 16);
    CHECK(resized.shape() == Shape{1, 257, 8});
    CHECK(equal(narrow(resized, 1, 0, 1), narrow(pos, 1, 0, 1)));
}
