// Loading a DINOv2 ViT-B/14 checkpoint into the model: nn::load_state_dict_file (.pth: zip,
// restricted unpickle, one read per storage) then a strict load_state_dict into a built
// vit_base (518 px grid, patch 14, LayerScale: torch.hub's dinov2_vitb14), as a user does.
// bench/run_load_bench.py runs it against torch.load + model.load_state_dict.
//   bench_load FILE.pth [--reps 3]    prints one JSON line: {"file", "tensors", "bytes", "times"}
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "autograd/grad_mode.h"
#include "nn/models/vit.h"
#include "nn/state_dict.h"

using namespace marrow;

int main(int argc, char** argv) try {
    std::string file;
    int reps = 3;
    CLI::App cli{"Time loading a .pth checkpoint into a DINOv2 ViT-B/14"};
    cli.add_option("file", file)->required();
    cli.add_option("--reps", reps)->check(CLI::PositiveNumber);
    CLI11_PARSE(cli, argc, argv);
    auto model = nn::models::vit_base(nn::models::dinov2_hub_options());
    uint64_t bytes = 0;
    nn::StateDict sd = model->state_dict();
    for (const auto& [key, t] : sd) bytes += uint64_t(t.numel()) * t.element_size();
    std::string times;
    for (int r = 0; r < reps; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        model->load_state_dict(nn::load_state_dict_file(file));  // strict
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        times += (r ? ", " : "") + std::to_string(s);
    }
    std::printf("{\"file\": \"%s\", \"tensors\": %zu, \"bytes\": %llu, \"times\": [%s]}\n",
                file.c_str(), sd.size(), (unsigned long long)bytes, times.c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_load: %s\n", e.what());
    return 1;
}
