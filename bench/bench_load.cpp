// Loading a checkpoint into a model's tensors: read_pth (zip, unpickle, one read per storage)
// + flatten + copy into preallocated tensors of the same shapes (what load_state_dict does
// into a built model). bench/run_load_bench.py runs it against torch.load + copy_.
//   bench_load FILE.pth [--reps 3]    prints one JSON line: {"file", "tensors", "bytes", "times"}
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <map>

#include "tensor/factory.h"
#include "tensor/ops/copy.h"
#include "tensor/pth.h"

using namespace marrow;

int main(int argc, char** argv) try {
    std::string file;
    int reps = 3;
    CLI::App cli{"Time loading a .pth checkpoint into preallocated tensors"};
    cli.add_option("file", file)->required();
    cli.add_option("--reps", reps)->check(CLI::PositiveNumber);
    CLI11_PARSE(cli, argc, argv);
    std::map<std::string, Tensor> model;  // the "model": same shapes, allocated once
    uint64_t bytes = 0;
    for (const auto& [key, t] : flatten_tensors(read_pth(file))) {
        model.emplace(key, zeros(t.shape(), t.dtype()));
        bytes += uint64_t(t.numel()) * t.element_size();
    }
    std::string times;
    for (int r = 0; r < reps; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        {
            PthFile f = read_pth(file);
            for (const auto& [key, t] : flatten_tensors(f)) op::copy_(model.at(key), t);
        }
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        times += (r ? ", " : "") + std::to_string(s);
    }
    std::printf("{\"file\": \"%s\", \"tensors\": %zu, \"bytes\": %llu, \"times\": [%s]}\n",
                file.c_str(), model.size(), (unsigned long long)bytes, times.c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_load: %s\n", e.what());
    return 1;
}
