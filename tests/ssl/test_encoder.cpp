// The encoder factory and the encoder file: shapes and keys per arch, the save/load round trip
// with its metadata, published checkpoints (DINOv2-style teacher/backbone. keys with heads and
// another pos_embed grid; torchvision's fc), and the errors for a wrong arch.
#include <filesystem>

#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/state_dict.h"
#include "ssl/encoder.h"
#include "tensor/factory.h"
#include "tensor/random.h"

using namespace marrow;
using namespace marrow::ssl;
namespace fs = std::filesystem;

namespace {
std::string temp_path(const std::string& name) {
    return (fs::temp_directory_path() / ("marrow_test_encoder_" + name)).string();
}
using Stem = nn::models::ResNetStem;
}  // namespace

TEST_CASE("make_encoder: ResNet with the small-input stem, fc removed, 1 channel") {
    auto enc = make_encoder({.arch = "resnet18", .in_channels = 1, .stem = Stem::small});
    CHECK(enc->spec().describe() == "resnet18 --stem small (1 channel)");
    CHECK(enc->feature_dim() == 512);
    nn::StateDict sd = enc->module().state_dict();
    CHECK(sd.at("conv1.weight").shape() == Shape{64, 1, 3, 3});
    CHECK_FALSE(sd.contains("fc.weight"));
    enc->module().eval();
    autograd::NoGradGuard no_grad;
    // 28 px stays 28 x 28 through the stem (stride 1, no max pool): layer4 is 4 x 4.
    CHECK(enc->forward(randn({2, 1, 28, 28})).shape() == Shape{2, 512});
    CHECK(enc->feature_map(randn({2, 1, 28, 28})).shape() == Shape{2, 512, 4, 4});
    CHECK_THROWS_WITH(enc->forward_features(randn({2, 1, 28, 28})),
                      doctest::Contains("is not a ViT"));
    CHECK_THROWS_WITH(make_encoder({.arch = "resnet19"}),
                      doctest::Contains("unknown arch \"resnet19\" (known: resnet18, resnet34"));
}

TEST_CASE("make_encoder: the pooled small-input stem halves the maps, keeps the keys") {
    EncoderSpec spec{.arch = "resnet18", .in_channels = 1, .stem = Stem::small_pool};
    auto enc = make_encoder(spec);
    CHECK(enc->spec().describe() == "resnet18 --stem small_pool (1 channel)");
    CHECK(EncoderSpec::from_json(enc->spec().to_json()).stem == Stem::small_pool);
    // Encoder files written before the stem was one field hold two bools.
    nlohmann::json old = enc->spec().to_json();
    old.erase("stem");
    old["small_input"] = old["small_input_pool"] = true;
    CHECK(EncoderSpec::from_json(old).stem == Stem::small_pool);
    old["small_input_pool"] = false;
    CHECK(EncoderSpec::from_json(old).stem == Stem::small);
    auto plain = make_encoder({.arch = "resnet18", .in_channels = 1, .stem = Stem::small});
    CHECK(enc->module().state_dict().size() == plain->module().state_dict().size());
    enc->module().eval();
    autograd::NoGradGuard no_grad;
    // 28 px -> 3x3 stride-1 stem 28 x 28 -> max pool 14 x 14 -> layer4 2 x 2.
    CHECK(enc->feature_map(randn({2, 1, 28, 28})).shape() == Shape{2, 512, 2, 2});
    CHECK_THROWS_WITH(make_encoder({.arch = "vit_small", .stem = Stem::small_pool}),
                      doctest::Contains("a ResNet stem; a ViT takes patch_size"));
    CHECK_THROWS_WITH(nn::models::parse_stem("cifar"),
                      doctest::Contains("unknown stem \"cifar\" (expected imagenet, small or"));
}

TEST_CASE("make_encoder: ViT gives the cls token, patch tokens and takes masks") {
    auto enc = make_encoder({.arch = "vit_small", .patch_size = 14, .image_size = 28});
    CHECK(enc->spec().describe() == "vit_small/14 @28");
    CHECK(enc->feature_dim() == 384);
    enc->module().eval();
    autograd::NoGradGuard no_grad;
    Tensor x = randn({2, 3, 28, 28});
    CHECK(enc->forward(x).shape() == Shape{2, 384});
    Tensor masks = from_vector(std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 0, 1}, {2, 4}).to(DType::b8);
    nn::models::VitFeatures f = enc->forward_features(x, masks);
    CHECK(f.patch.shape() == Shape{2, 4, 384});
    CHECK(allclose(f.cls, enc->forward(x)) == false);  // the mask changed the tokens
    CHECK(allclose(enc->forward_features(x).cls, enc->forward(x)));
    CHECK_THROWS_WITH(make_encoder({.arch = "vit_small", .patch_size = 14, .image_size = 30}),
                      doctest::Contains("multiple of patch_size"));
}

TEST_CASE("save_encoder / load_encoder round trip: spec, provenance, same features") {
    Generator gen(5);
    EncoderSpec spec{.arch = "resnet18",
                     .in_channels = 3,
                     .stem = Stem::small,
                     .image_size = 32,
                     .mean = {0.1, 0.2, 0.3},
                     .std = {0.5, 0.6, 0.7}};
    auto enc = make_encoder(spec, &gen);
    std::string path = temp_path("roundtrip.safetensors");
    save_encoder(path, *enc, {{"method", "simclr"}, {"run_id", "r42"}});
    LoadedEncoder back = load_encoder(path);
    CHECK_FALSE(back.published);
    CHECK(back.metadata.at("method") == "simclr");
    CHECK(back.metadata.at("run_id") == "r42");
    CHECK(back.encoder->spec().to_json() == spec.to_json());
    enc->module().eval();
    back.encoder->module().eval();
    autograd::NoGradGuard no_grad;
    Tensor x = randn({2, 3, 32, 32});
    CHECK(equal(enc->forward(x), back.encoder->forward(x)));
    // The same arch given explicitly is fine; another is an error naming both.
    CHECK_NOTHROW(load_encoder(path, EncoderSpec{.arch = "resnet18"}));
    CHECK_THROWS_WITH(load_encoder(path, EncoderSpec{.arch = "vit_small"}),
                      doctest::Contains("holds a resnet18 --stem small encoder, but --arch says "
                                        "vit_small"));
    CHECK_THROWS_WITH(save_encoder(path, *enc, {{"marrow_encoder", "x"}}),
                      doctest::Contains("reserved"));
    fs::remove(path);
    CHECK_THROWS_WITH(load_encoder(path), doctest::Contains("does not exist"));
}

TEST_CASE("load_encoder: a torchvision ResNet state_dict (fc dropped); a wrong stem is named") {
    Generator gen(1);
    auto tv = nn::models::resnet18({.num_classes = 1000, .generator = &gen});
    std::string path = temp_path("torchvision_r18.safetensors");
    nn::save_state_dict_file(path, tv->state_dict());  // no marrow metadata: "published"
    CHECK_THROWS_WITH(load_encoder(path), doctest::Contains("needs --arch"));
    LoadedEncoder e = load_encoder(path, EncoderSpec{.arch = "resnet18"});
    CHECK(e.published);
    tv->eval();
    e.encoder->module().eval();
    autograd::NoGradGuard no_grad;
    Tensor x = randn({1, 3, 64, 64});
    CHECK(equal(tv->features(x), e.encoder->forward(x)));
    // The wrong stem: conv1 is 7x7 in the file, 3x3 in a --stem small encoder; the error
    // names the path, the arch and the key with both shapes (the app test checks a list of
    // missing keys with resnet50).
    try {
        load_encoder(path, EncoderSpec{.arch = "resnet18", .stem = Stem::small});
        FAIL("a 7x7 stem loaded into a small-input encoder");
    } catch (const Error& err) {
        std::string m = err.what();
        CHECK(m.find(path) != std::string::npos);
        CHECK(m.find("do not fit a resnet18 --stem small encoder") != std::string::npos);
        CHECK(m.find("size mismatch for conv1.weight: the checkpoint has shape [64, 3, 7, 7], "
                     "the model [64, 3, 3, 3]") != std::string::npos);
    }
    fs::remove(path);
}

TEST_CASE("load_encoder: a DINOv2/DinoBloom-style checkpoint (teacher, backbone., heads, grid)") {
    // A ViT-S/14 trained at 42 px (3 x 3 grid, 10 tokens) saved as DINOv2 does, loaded into a
    // 28 px encoder (2 x 2 grid): pos_embed is resized bicubically, the rest loads by key.
    Generator gen(2);
    auto trained = make_encoder({.arch = "vit_small", .patch_size = 14, .image_size = 42}, &gen);
    nn::StateDict ckpt;
    for (const auto& [k, t] : trained->module().state_dict()) {
        ckpt.insert("teacher.backbone." + k, t);
        ckpt.insert("student.backbone." + k, zeros_like(t));
    }
    ckpt.insert("teacher.dino_head.mlp.0.weight", zeros({4, 384}));
    ckpt.insert("teacher.ibot_head.last_layer.weight_g", zeros({4, 1}));
    std::string path = temp_path("dinobloom_like.safetensors");
    nn::save_state_dict_file(path, ckpt);
    LoadedEncoder e = load_encoder(path, EncoderSpec{.arch = "vit_small", .image_size = 28});
    const auto& vit = *e.encoder->vit();
    CHECK(equal(vit.cls_token, trained->vit()->cls_token));
    CHECK(vit.pos_embed.shape() == Shape{1, 5, 384});
    CHECK(equal(vit.pos_embed, nn::models::resize_pos_embed(trained->vit()->pos_embed, 2, 2)));
    fs::remove(path);
}
