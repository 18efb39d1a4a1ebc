#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

#include "ssl/config.h"
#include "tensor/error.h"

using namespace marrow;
using namespace marrow::ssl;

TEST_CASE("SSL presets are valid and carry the seeds' stated values") {
    for (const std::string& name : preset_names()) {
        CAPTURE(name);
        CHECK_NOTHROW(preset(name).validate());
    }
    SslConfig simclr = preset("seed000-simclr");
    CHECK(simclr.method == Method::simclr);
    CHECK(simclr.temperature == 0.1);
    CHECK(simclr.projection == std::vector<int64_t>{512, 64});  // [512, 512] + [512, 64]
    // SimCLR's square-root rule meets its linear one (0.3 B / 256) at B = 4096.
    simclr.batch_size = 4096;
    CHECK(simclr.scaled_lr() == doctest::Approx(0.3 * 4096 / 256));
    simclr.batch_size = 64;
    CHECK(simclr.scaled_lr() == doctest::Approx(0.6));
    SslConfig swav = preset("seed000-swav");
    CHECK(swav.out_dim == 300);
    CHECK(swav.epochs == 500);
    CHECK(swav.batch_size == 512);
    CHECK(swav.queue_length % swav.batch_size == 0);
    SslConfig dino = preset("seed000-dino");
    CHECK(dino.optimizer == "adamw");
    CHECK(dino.warmup_teacher_temp == 0.04);
    CHECK(dino.teacher_temp == 0.07);
    CHECK(dino.local_crops == 8);
    SslConfig bloom = preset("dinobloom-s");
    CHECK(bloom.method == Method::dinov2);
    CHECK(bloom.centering == Centering::sinkhorn_knopp);
    CHECK(bloom.separate_ibot_head);
    CHECK(bloom.momentum_teacher == 0.994);
    // DINOv2's sqrt scaling: base 2e-4 at batch 120 -> 2e-4 sqrt(120 / 1024).
    CHECK(bloom.scaled_lr() == doctest::Approx(2e-4 * std::sqrt(120.0 / 1024.0)));
    CHECK_THROWS_WITH_AS(preset("simclr-v2"),
                         "unknown preset 'simclr-v2' (expected seed000-simclr, seed000-swav, "
                         "seed000-dino, dinobloom-s)",
                         Error);
}

TEST_CASE("SSL config round-trips through JSON and refuses unknown keys") {
    SslConfig c = preset("dinobloom-s");
    c.mask_ratio = {0.2, 0.4};
    nlohmann::json j = c;
    SslConfig back = j.get<SslConfig>();
    CHECK(nlohmann::json(back) == j);
    j["teacher_temperature"] = 0.07;  // a typo of teacher_temp
    CHECK_THROWS_WITH_AS(j.get<SslConfig>(), "SSL config: unknown keys teacher_temperature",
                         Error);
}

TEST_CASE("SSL config validation lists every bad field") {
    SslConfig c = method_defaults(Method::dinov2);
    c.arch = "resnet18";  // iBOT needs patches
    c.batch_size = 1;
    c.stem = nn::models::ResNetStem::small;  // fine on a ResNet: not listed
    c.global_scale = {0.6, 0.3};
    try {
        c.validate();
        FAIL("validate() accepted a bad config");
    } catch (const Error& e) {
        std::string what = e.what();
        CHECK(what.find("batch_size 1") != std::string::npos);
        CHECK(what.find("method dinov2 with arch 'resnet18'") != std::string::npos);
        CHECK(what.find("stem") == std::string::npos);
        CHECK(what.find("global_scale [0.6, 0.3]") != std::string::npos);
    }
    SslConfig vit = method_defaults(Method::dino);
    vit.arch = "vit_small";
    vit.stem = nn::models::ResNetStem::small_pool;
    CHECK_THROWS_WITH(vit.validate(), doctest::Contains("stem small_pool with arch 'vit_small'"));
}

TEST_CASE("the ResNet stem: one JSON field; files with the two old bools still read") {
    SslConfig c = method_defaults(Method::simclr);
    c.stem = nn::models::ResNetStem::small_pool;
    nlohmann::json j = c;
    CHECK(j.at("stem") == "small_pool");
    CHECK_FALSE(j.contains("small_input"));
    CHECK(j.get<SslConfig>().stem == nn::models::ResNetStem::small_pool);
    // Run records and checkpoints written before the stem was one field.
    j.erase("stem");
    j["small_input"] = true;
    CHECK(j.get<SslConfig>().stem == nn::models::ResNetStem::small);
    j["small_input_pool"] = true;
    CHECK(j.get<SslConfig>().stem == nn::models::ResNetStem::small_pool);
    j.erase("small_input");
    j.erase("small_input_pool");
    CHECK(j.get<SslConfig>().stem == nn::models::ResNetStem::imagenet);
    j["stem"] = "tiny";
    CHECK_THROWS_WITH(j.get<SslConfig>(),
                      doctest::Contains("unknown stem \"tiny\" (expected imagenet, small or small_pool)"));
}

TEST_CASE("resolve_config applies --set overrides as JSON values") {
    SslConfig c = resolve_config("seed000-dino", "", {"teacher_temp=0.05", "centering=none",
                                                      "projection=[64,16]", "stem=small"});
    CHECK(c.teacher_temp == 0.05);
    CHECK(c.centering == Centering::none);
    CHECK(c.projection == std::vector<int64_t>{64, 16});
    CHECK(c.stem == nn::models::ResNetStem::small);
    CHECK(resolve_config("", "swav", {}).method == Method::swav);
    CHECK(resolve_config("", "", {}).method == Method::dino);
    CHECK_THROWS_WITH_AS(resolve_config("seed000-dino", "simclr", {}),
                         "--method simclr contradicts --preset seed000-dino (a dino recipe)", Error);
    CHECK_THROWS_WITH_AS(resolve_config("", "dino", {"temprature=1"}),
                         "--set temprature=1: unknown config field 'temprature'", Error);
    CHECK_THROWS_AS(resolve_config("", "dino", {"epochs=many"}), Error);
    // A misspelled enum value is an error, not the first value.
    CHECK_THROWS_WITH_AS(resolve_config("", "dino", {"centering=sinkhorn"}),
                         "SSL config: centering 'sinkhorn' (expected center, sinkhorn_knopp or "
                         "none)",
                         Error);
    CHECK_THROWS_AS(resolve_config("seed000-dino", "", {"method=simclr"}), Error);
}
