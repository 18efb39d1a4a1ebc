// Feature extraction: the encoder's input is the spec's normalization of the pixels, batches
// do not change the features, --tta is the mean over the image and its two flips; the file
// written is what eval/feature_io reads, with bags as groups.
#include <filesystem>

#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "eval/feature_io.h"
#include "ssl/feature_extraction.h"
#include "tensor/factory.h"
#include "tensor/random.h"

using namespace marrow;
using namespace marrow::ssl;

namespace {
// Five 8 x 8 gray images in memory (the MNIST path of ImageSource), two bags of 2 and 3.
ImageSource tiny_source() {
    Generator gen(11);
    ImageSource s;
    s.layout = "aml_hehr";
    s.classes = {"a", "b"};
    s.paths = {"a/p1/0.tif", "a/p1/1.tif", "b/p2/0.tif", "b/p2/1.tif", "b/p2/2.tif"};
    s.labels = {0, 0, 1, 1, 1};
    s.pixels = randint(0, 256, {5, 8, 8}, {.generator = &gen}).to(DType::u8);
    s.bag_ids = {"p1", "p2"};
    s.bag_labels = {0, 1};
    s.bag_offsets = {0, 2, 5};
    return s;
}
}  // namespace

TEST_CASE("extract_features: normalized pixels, batch-independent, flip TTA = mean of three") {
    Generator gen(4);
    auto enc = make_encoder({.arch = "resnet18",
                             .in_channels = 1,
                             .stem = nn::models::ResNetStem::small,
                             .image_size = 0},  // keep 8 x 8
                            &gen);
    ImageSource src = tiny_source();
    Tensor f = extract_features(*enc, src, {.batch_size = 2, .workers = 0});
    CHECK(f.shape() == Shape{5, 512});
    // 1 channel: mean 0.5, std 0.5 by default.
    Tensor x = (src.pixels->unsqueeze(1).to(DType::f32) / 255.0 - 0.5) / 0.5;
    autograd::NoGradGuard no_grad;
    enc->module().eval();
    CHECK(allclose(f, enc->forward(x), 1e-4, 1e-5));
    Tensor t = extract_features(*enc, src, {.batch_size = 5, .tta = true, .workers = 0});
    Tensor ref = (enc->forward(x) + enc->forward(flip(x, {3}).contiguous()) +
                  enc->forward(flip(x, {2}).contiguous())) /
                 3.0;
    CHECK(allclose(t, ref, 1e-4, 1e-5));
    CHECK_FALSE(allclose(t, f, 1e-4, 1e-5));
    // The caller's training mode survives; the kNN monitor runs on the same source (every 5th
    // image held out: image 4, of class 1).
    enc->module().train();
    double acc = knn_monitor(*enc, src, {.k = 1}, {.workers = 0});
    CHECK((acc == 0.0 || acc == 1.0));
    CHECK(enc->module().is_training());
}

TEST_CASE("save_features: eval/feature_io reads it; bags become groups; --per-bag needs bags") {
    ImageSource src = tiny_source();
    Tensor f = arange(0, 15, 1, DType::f32).reshape({5, 3});
    std::string path =
        (std::filesystem::temp_directory_path() / "marrow_test_features.safetensors").string();
    save_features(path, src, f, {.per_bag = true, .encoder_info = {{"arch", "resnet18"}}});
    eval::LabelledFeatures d = eval::load_labelled_features(path);
    CHECK(equal(d.features, f));
    CHECK(d.labels == std::vector<int64_t>{0, 0, 1, 1, 1});
    CHECK(d.class_names == std::vector<std::string>{"a", "b"});
    CHECK(d.groups == std::vector<std::string>{"p1", "p1", "p2", "p2", "p2"});
    save_features(path, src, f, {});  // flattened: no bag entries, so no groups
    CHECK(eval::load_labelled_features(path).groups.empty());
    src.bag_offsets.clear();
    CHECK_THROWS_WITH(save_features(path, src, f, {.per_bag = true}),
                      doctest::Contains("--per-bag needs a layout with patient bags"));
    std::filesystem::remove(path);
}
