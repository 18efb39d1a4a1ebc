// The SSL trainer end to end on tiny in-memory images: every method trains, logs its monitors
// and exports an encoder; the EMA teacher, frozen layers, exact resume and the collapse
// warning behave as the upstream recipes say.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "autograd/ops.h"
#include "nn/checkpoint.h"
#include "ssl/methods.h"
#include "ssl/pretrain_data.h"
#include "ssl/trainer.h"
#include "tensor/factory.h"

using namespace marrow;
using namespace marrow::ssl;
namespace fs = std::filesystem;

namespace {

// n gray 28 x 28 images in two classes (a bright square top-left or bottom-right, with noise),
// as an MNIST-layout source.
ImageSource tiny_images(int64_t n) {
    Generator gen(7);
    Tensor noise = rand({n, 28, 28}, DType::f32, Device::cpu(), gen) * 60.0;
    std::vector<uint8_t> pixels(size_t(n * 28 * 28));
    ImageSource s;
    s.layout = "mnist";
    s.classes = {"a", "b"};
    const float* r = noise.data<float>();
    for (int64_t i = 0; i < n; ++i) {
        const int64_t label = i % 2;
        for (int64_t y = 0; y < 28; ++y)
            for (int64_t x = 0; x < 28; ++x) {
                const bool in_square = label == 0 ? (y < 14 && x < 14) : (y >= 14 && x >= 14);
                const size_t k = size_t((i * 28 + y) * 28 + x);
                pixels[k] = uint8_t(std::min(255.0f, (in_square ? 180.0f : 20.0f) + r[k]));
            }
        s.paths.push_back("tiny#" + std::to_string(i));
        s.labels.push_back(label);
    }
    s.pixels = from_vector(pixels, {n, 28, 28});
    return s;
}

// A small recipe per method: ResNet-18 with the small-input stem on 16 px crops (DINOv2:
// ViT-S/4), batch 4, a narrow head.
SslConfig tiny_config(Method method) {
    SslConfig c = method_defaults(method);
    c.epochs = 2;
    c.batch_size = 4;
    c.global_size = 16;
    c.local_size = 8;
    c.local_crops = method == Method::simclr ? 0 : 2;
    c.warmup_epochs = 0;
    c.out_dim = 32;
    c.head_hidden = 32;
    c.bottleneck = 16;
    c.projection = {32, 16};
    c.queue_length = 0;
    c.freeze_prototypes_iters = 0;
    if (method == Method::dinov2) {
        c.arch = "vit_small";
        c.patch_size = 4;
        c.drop_path_rate = 0;
    } else {
        c.arch = "resnet18";
        c.stem = nn::models::ResNetStem::small;
    }
    return c;
}

struct TinyRun {
    std::unique_ptr<SslModel> model;
    TrainingResult result;
};

TinyRun run_tiny(const SslConfig& c, const ImageSource& images, const std::string& dir,
                 TrainerOptions o = {}) {
    fs::remove_all(dir);
    TinyRun run{make_ssl_model(c), {}};
    ViewsDataset views(images, view_recipe(c));
    o.run_dir = dir;
    o.workers = 0;
    TrainerObserver quiet;
    run.result = train(*run.model, views, o, quiet);
    return run;
}

std::string temp_dir(const std::string& name) {
    return (fs::temp_directory_path() / ("marrow_ssl_" + name)).string();
}

}  // namespace

TEST_CASE("every SSL method trains two tiny epochs, logs its monitors and exports an encoder") {
    ImageSource images = tiny_images(8);
    for (Method method : {Method::simclr, Method::swav, Method::dino, Method::dinov2}) {
        CAPTURE(method_name(method));
        TinyRun run = run_tiny(tiny_config(method), images, temp_dir(method_name(method)));
        REQUIRE(run.result.finished);
        REQUIRE(run.result.epochs.size() == 2);
        CHECK(run.result.steps == 4);  // 8 images / batch 4 = 2 steps per epoch
        for (const auto& epoch : run.result.epochs) {
            CHECK(std::isfinite(epoch["loss"].get<double>()));
            CHECK(epoch["ln_k"].get<double>() > 0);
            CHECK(epoch["embedding_std"].get<double>() > 0);
            CHECK(epoch["effective_rank"].get<double>() >= 1);
        }
        if (method == Method::dinov2) CHECK(run.result.epochs[0].contains("koleo"));
        if (method == Method::dino || method == Method::dinov2 || method == Method::swav)
            CHECK(run.result.epochs[0].contains("teacher_entropy"));
        // The exported encoder loads back and gives the exported backbone's features.
        LoadedEncoder back = load_encoder(run.result.encoder_path);
        Tensor x = rand({2, 3, 16, 16});
        run.model->export_encoder().module().eval();
        back.encoder->module().eval();
        CHECK(allclose(back.encoder->forward(x), run.model->export_encoder().forward(x), 1e-5,
                       1e-6));
    }
}

TEST_CASE("the DINO teacher starts as the student and moves by EMA; the last layer is frozen") {
    ImageSource images = tiny_images(8);
    SslConfig c = tiny_config(Method::dino);
    c.epochs = 1;
    c.momentum_teacher = 0.9;
    auto model = make_ssl_model(c);
    auto& dino = dynamic_cast<DinoFamily&>(*model);
    auto before_student = dino.student->state_dict();
    for (const auto& [key, t] : dino.teacher->state_dict()) CHECK(equal(t, before_student.at(key)));
    nn::StateDict student0, teacher0;
    for (const auto& [k, t] : dino.student->named_parameters()) student0.insert(k, clone(t));
    for (const auto& [k, t] : dino.teacher->named_parameters()) teacher0.insert(k, clone(t));

    ViewsDataset views(images, view_recipe(c));
    TrainerObserver quiet;
    TrainerOptions o{.run_dir = temp_dir("ema"), .workers = 0};
    fs::remove_all(o.run_dir);
    train(*model, views, o, quiet);
    // freeze_last_layer_epochs = 1: the whole (single) epoch left the last layer alone.
    for (const auto& [k, t] : dino.student->named_parameters())
        if (k.find("last_layer") != std::string::npos) CHECK(equal(t, student0.at(k)));
    // The teacher moved by the EMA.
    const nn::NamedTensors teacher_params = dino.teacher->named_parameters();
    CHECK_FALSE(equal(teacher_params[0].second, teacher0.at(teacher_params[0].first)));
    // The center moved off zero (DINO updates it from the teacher's logits every step).
    CHECK(sum(abs(dino.dino_loss->center)).item() > 0);
}

TEST_CASE("SwAV keeps its prototypes frozen for the first iterations and renormalizes them") {
    ImageSource images = tiny_images(8);
    // How far one epoch moves the prototypes, with and without the freeze. Renormalizing a
    // unit row each step moves it by rounding only (~6e-8); two LARC steps at the tiny
    // config's lr (0.6 x 4 / 256) by ~2e-5.
    auto moved = [&](int64_t freeze_iters) {
        SslConfig c = tiny_config(Method::swav);
        c.epochs = 1;
        c.freeze_prototypes_iters = freeze_iters;
        auto model = make_ssl_model(c);
        auto& swav = dynamic_cast<Swav&>(*model);
        swav.head->normalize_prototypes();
        Tensor w0 = clone(swav.head->prototypes->weight);
        ViewsDataset views(images, view_recipe(c));
        TrainerObserver quiet;
        TrainerOptions o{.run_dir = temp_dir("swav_freeze"), .workers = 0};
        fs::remove_all(o.run_dir);
        train(*model, views, o, quiet);
        const Tensor& w = swav.head->prototypes->weight;
        // Frozen, they stay the unit rows the step before renormalized.
        if (freeze_iters > 0) CHECK(allclose(sqrt(sum(w * w, {1})), ones({w.size(0)}), 1e-5, 1e-6));
        return max(abs(w - w0)).item();
    };
    CHECK(moved(100) < 2e-7);
    CHECK(moved(0) > 2e-6);
}

TEST_CASE("a stopped and resumed SSL run ends bit-identical to an unbroken one") {
    ImageSource images = tiny_images(8);
    for (Method method : {Method::swav, Method::dinov2}) {
        CAPTURE(method_name(method));
        SslConfig c = tiny_config(method);
        if (method == Method::swav) {
            c.queue_length = 8;  // the queue is state too
            c.queue_start_epoch = 0;
        }
        TinyRun straight = run_tiny(c, images, temp_dir("straight"));
        const std::string dir = temp_dir("split");
        run_tiny(c, images, dir, {.stop_after_steps = 3});
        fs::path resumed_dir = dir;
        TinyRun resumed{make_ssl_model(c), {}};
        ViewsDataset views(images, view_recipe(c));
        TrainerObserver quiet;
        resumed.result = train(*resumed.model, views,
                               {.run_dir = dir, .workers = 0, .resume = true}, quiet);
        REQUIRE(resumed.result.finished);
        auto a = straight.model->state_dict();
        auto b = resumed.model->state_dict();
        REQUIRE(a.size() == b.size());
        for (const auto& entry : a) {
            const std::string& key = entry.first;
            CAPTURE(key);
            CHECK(equal(entry.second, b.at(key)));
        }
    }
}

TEST_CASE("--resume accepts a checkpoint written before a config field existed") {
    // The field counts as its default, which is what the older run used; a real difference
    // is still refused.
    ImageSource images = tiny_images(8);
    SslConfig c = tiny_config(Method::simclr);
    const std::string dir = temp_dir("resume_old_config");
    run_tiny(c, images, dir, {.stop_after_steps = 1});
    nn::CheckpointDir checkpoints(dir + "/checkpoints");
    REQUIRE(checkpoints.latest().has_value());
    const fs::path latest = *checkpoints.latest();
    nn::Checkpoint ck = nn::load_checkpoint(latest);
    REQUIRE(ck.meta.at("config").contains("global_scale"));
    ck.meta["config"].erase("global_scale");
    nn::save_checkpoint(latest, ck);
    TrainerObserver quiet;
    SslConfig other = c;
    other.global_scale = {0.5, 1.0};
    auto other_model = make_ssl_model(other);
    ViewsDataset other_views(images, view_recipe(other));
    CHECK_THROWS_WITH(train(*other_model, other_views, {.run_dir = dir, .workers = 0,
                                                        .resume = true}, quiet),
                      doctest::Contains("another configuration"));
    auto model = make_ssl_model(c);
    ViewsDataset views(images, view_recipe(c));
    CHECK(train(*model, views, {.run_dir = dir, .workers = 0, .resume = true}, quiet).finished);
}

TEST_CASE("global_scale replaces the global crops' area range and leaves the local crops") {
    SslConfig c = tiny_config(Method::dino);  // 2 global + 2 local crops
    const data::MultiCropSpec recipe = view_recipe(c);
    c.global_scale = {0.5, 0.9};
    const data::MultiCropSpec narrowed = view_recipe(c);
    REQUIRE(narrowed.views.size() == 4);
    for (size_t v = 0; v < 4; ++v) {
        CAPTURE(v);
        const auto expected = v < 2 ? c.global_scale : recipe.views[v].scale;
        CHECK(narrowed.views[v].scale == expected);
    }
    CHECK(recipe.views[0].scale == std::array<double, 2>{0.4, 1.0});  // DINO's own
}

TEST_CASE("color_strength scales every view's colour jitter, hue at most 0.5") {
    SslConfig c = tiny_config(Method::dino);  // 2 global + 2 local crops
    const data::MultiCropSpec recipe = view_recipe(c);
    CHECK(recipe.views[0].brightness == doctest::Approx(0.4));  // DINO's own jitter
    CHECK(recipe.views[0].hue == doctest::Approx(0.1));
    c.color_strength = 6;
    const data::MultiCropSpec strong = view_recipe(c);
    REQUIRE(strong.views.size() == 4);
    for (size_t v = 0; v < 4; ++v) {
        CAPTURE(v);
        CHECK(strong.views[v].brightness == doctest::Approx(6 * recipe.views[v].brightness));
        CHECK(strong.views[v].contrast == doctest::Approx(6 * recipe.views[v].contrast));
        CHECK(strong.views[v].saturation == doctest::Approx(6 * recipe.views[v].saturation));
        CHECK(strong.views[v].hue == doctest::Approx(0.5));  // 0.6 capped
    }
    c.method = Method::simclr;  // SimCLR's s: 0.8 s and 0.2 s
    c.views = "";
    c.color_strength = 1.5;
    c.local_crops = 0;
    const data::MultiCropSpec simclr = view_recipe(c);
    CHECK(simclr.views[0].saturation == doctest::Approx(1.2));
    CHECK(simclr.views[1].hue == doctest::Approx(0.3));
    c.color_strength = -1;
    CHECK_THROWS_WITH(c.validate(), doctest::Contains("color_strength -1 (>= 0)"));
}

TEST_CASE("cell_rotations adds vertical flips and quarter turns to every view, global and local") {
    SslConfig c = tiny_config(Method::dino);  // 2 global + 2 local crops
    for (const data::ViewSpec& view : view_recipe(c).views) {
        CHECK(view.vflip_p == 0);  // DINO's own: horizontal flips only
        CHECK(view.rot90_p == 0);
    }
    c.cell_rotations = true;
    const data::MultiCropSpec rotated = view_recipe(c);
    REQUIRE(rotated.views.size() == 4);
    for (const data::ViewSpec& view : rotated.views) {
        CHECK(view.hflip_p == 0.5);
        CHECK(view.vflip_p == 0.5);
        CHECK(view.rot90_p == 0.5);
    }
    CHECK(nlohmann::json(c).at("cell_rotations") == true);  // in run.json, read back
    CHECK(nlohmann::json(c).get<SslConfig>().cell_rotations);
}

TEST_CASE("a DINO teacher at temperature 1.0 raises the collapse warning; 0.04 does not") {
    ImageSource images = tiny_images(8);
    SslConfig good = tiny_config(Method::dino);
    good.epochs = 3;
    good.warmup_teacher_temp = good.teacher_temp = 0.04;
    SslConfig broken = good;
    broken.warmup_teacher_temp = broken.teacher_temp = 1.0;
    TinyRun bad = run_tiny(broken, images, temp_dir("collapse_bad"));
    REQUIRE_FALSE(bad.result.warnings.empty());
    CHECK(bad.result.warnings[0].find("teacher_uniform") != std::string::npos);
    TinyRun ok = run_tiny(good, images, temp_dir("collapse_good"));
    CHECK(ok.result.warnings.empty());
}

TEST_CASE("pre-training reads a fixed split's training images only; the kNN subset keeps it") {
    ImageSource images = tiny_images(8);
    images.split = {0, 0, 1, 0, 1, 0, 0, 1};
    ImageSource train_only = training_images(images);
    REQUIRE(train_only.size() == 5);
    CHECK(train_only.paths == std::vector<std::string>{"tiny#0", "tiny#1", "tiny#3", "tiny#5",
                                                       "tiny#6"});
    CHECK(train_only.pixels->size(0) == 5);
    CHECK(equal(train_only.pixels->narrow(0, 2, 1), images.pixels->narrow(0, 3, 1)));
    ImageSource subset = labelled_subset(images, 8, 0);
    CHECK(subset.split == images.split);
    CHECK(training_images(tiny_images(4)).size() == 4);  // no split: every image
}
