// nn::Checkpoint files: sections and metadata round-trip, the newest K kept, and the errors a
// wrong file gives (a weights file, a truncated file, a missing section) naming the file.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "autograd/ops.h"
#include "nn/checkpoint.h"
#include "tensor/error.h"
#include "tensor/factory.h"

using namespace marrow;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path = fs::temp_directory_path() / ("marrow_test_checkpoint_" + std::to_string(::getpid()));
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
};

nn::Checkpoint example() {
    nn::Checkpoint ck;
    ck.sections["model"].insert("fc.weight", arange(0, 6, 1, DType::f32).reshape({2, 3}));
    ck.sections["model"].insert("bn.num_batches_tracked", full({}, 7, DType::i64));
    ck.sections["optimizer"].insert("0.momentum_buffer", ones({2, 3}, DType::f64));
    ck.meta = {{"step", 12}, {"rng", {{"seed", 5}, {"offset", 1024}}}};
    return ck;
}

}  // namespace

TEST_CASE("checkpoint: sections, dtypes and metadata round-trip") {
    TempDir tmp;
    fs::path path = tmp.path / "a.safetensors";
    nn::Checkpoint ck = example();
    nn::save_checkpoint(path, ck);
    nn::Checkpoint back = nn::load_checkpoint(path);
    CHECK(back.meta == ck.meta);
    CHECK(back.sections.size() == 2);
    for (const auto& [name, dict] : ck.sections)
        for (const auto& [key, tensor] : dict) {
            const Tensor& t = back.section(name).at(key);
            CHECK(t.dtype() == tensor.dtype());
            CHECK(equal(t, tensor));
        }
    CHECK_THROWS_WITH_AS(back.section("ema"),
                         doctest::Contains("has no 'ema' section (it has: model, optimizer)"),
                         Error);
}

TEST_CASE("checkpoint: a folder keeps the newest K, never losing the last good one") {
    TempDir tmp;
    nn::CheckpointDir dir(tmp.path / "ck", 2);
    CHECK_FALSE(dir.latest().has_value());
    for (int64_t step : {100, 200, 300}) dir.save(step, example());
    auto all = dir.list();
    REQUIRE(all.size() == 2);
    CHECK(all[0].first == 200);
    CHECK(all[1].first == 300);
    CHECK(dir.latest()->filename() == "checkpoint_00000300.safetensors");
    // No temp file is left behind.
    for (const auto& entry : fs::directory_iterator(tmp.path / "ck"))
        CHECK(entry.path().extension() == ".safetensors");
}

TEST_CASE("checkpoint: wrong files give errors naming the file") {
    TempDir tmp;
    fs::path weights = tmp.path / "weights.safetensors";
    nn::StateDict sd;
    sd.insert("fc.weight", zeros({2}));
    nn::save_state_dict_file(weights.string(), sd);
    CHECK_THROWS_WITH_AS(nn::load_checkpoint(weights),
                         doctest::Contains("weights.safetensors\" is not a marrow training checkpoint"),
                         Error);

    fs::path good = tmp.path / "good.safetensors", cut = tmp.path / "cut.safetensors";
    nn::save_checkpoint(good, example());
    std::string bytes;
    {
        std::ifstream in(good, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::ofstream(cut, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() - 10));
    CHECK_THROWS_WITH_AS(nn::load_checkpoint(cut), doctest::Contains("cut.safetensors"), Error);
    CHECK_THROWS_WITH_AS(nn::load_checkpoint(tmp.path / "missing.safetensors"),
                         doctest::Contains("missing.safetensors"), Error);
}
