// GPU memory-bound kernels against a float4 copy kernel measured in the same run (nvcc
// builds only: the simulator's timings are not performance). For each kernel: bytes moved
// (reads + writes) / median time = GB/s (CUDA events, L2 flushed before each call:
// bench/timing.h), and ratio = its GB/s / the copy kernel's GB/s (the CUDA backend issue's
// target: >= 0.8 on tensors of 64 MB and more). One JSON line per case plus a table.
// Run by tools/gpu_check.sh:  build-gpu/bench/bench_bandwidth [--mb 256]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "bench/timing.h"
#include "cuda/kernels/vec.h"
#include "cuda/launch.h"

using namespace marrow;

namespace {

__global__ void copy_float4_kernel(const float* src, float* dst, int64_t n4) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n4;
         i += int64_t(blockDim.x) * gridDim.x)
        cuda::store4(dst + 4 * i, cuda::load4(src + 4 * i));
}

// Median milliseconds per call: bench/timing.h's GPU timer (Note [GPU timing]: CUDA events,
// L2 flushed before every call), at least 20 calls and 0.2 s.
double median_ms(const std::function<void()>& run) {
    return bench::gpu_time_median(run, 0.2, 20).first * 1e3;
}

}  // namespace

int main(int argc, char** argv) try {
    int64_t mb = 256;
    CLI::App cli{"GPU memory-bound kernels vs a float4 copy kernel"};
    cli.add_option("--mb", mb, "size of each input tensor in MB");
    CLI11_PARSE(cli, argc, argv);
    int64_t n = mb * (1 << 20) / 4;
    Generator gen(1);
    Tensor x = randn({n}, DType::f32, Device::cuda(), gen);
    Tensor y = randn({n}, DType::f32, Device::cuda(), gen);
    Tensor out = empty({n}, DType::f32, Device::cuda());
    double bytes = double(n) * 4;
    auto* copy4 = &copy_float4_kernel;
    double copy_ms = median_ms(
        [&] { MARROW_LAUNCH(copy4, 4096, 256, 0, x.data_ptr<float>(), out.data_ptr<float>(), n / 4); });
    double copy_gbps = 2 * bytes / copy_ms / 1e6;
    struct Case {
        const char* name;
        double bytes;
        std::function<void()> run;
    };
    int64_t rows = n / 1024;
    Tensor m = reshape(x, {rows, 1024});
    std::vector<Case> cases = {
        {"copy_ (contiguous)", 2 * bytes, [&] { copy_(out, x); }},
        {"relu", 2 * bytes, [&] { relu(x); }},
        {"gelu", 2 * bytes, [&] { gelu(x); }},
        {"add", 3 * bytes, [&] { add(x, y); }},
        {"mul scalar", 2 * bytes, [&] { x * 2.0; }},
        {"sum rows (x1024)", bytes, [&] { sum(m, {1}); }},
        {"sum columns", bytes, [&] { sum(m, {0}); }},
        {"softmax rows (x1024)", 2 * bytes, [&] { softmax(m, 1); }},
    };
    std::printf("%-24s %10s %10s %7s\n", "kernel", "ms", "GB/s", "ratio");
    std::printf("%-24s %10.3f %10.1f %7.2f\n", "float4 copy (reference)", copy_ms, copy_gbps, 1.0);
    std::vector<std::string> lines;
    for (const Case& c : cases) {
        double ms = median_ms(c.run);
        double gbps = c.bytes / ms / 1e6;
        std::printf("%-24s %10.3f %10.1f %7.2f\n", c.name, ms, gbps, gbps / copy_gbps);
        char line[512];  // (fmt is not usable in nvcc-compiled files: Note [nvcc and fmt])
        std::snprintf(line, sizeof line,
                      "{\"bench\": \"bandwidth\", \"case\": \"%s %lldMB\", \"device\": \"cuda\", "
                      "\"ours_s\": %.9g, \"peer\": \"float4 copy kernel\", \"gbps\": %.4g, "
                      "\"peer_gbps\": %.4g, \"ratio\": %.4g}",
                      c.name, (long long)mb, ms / 1e3, gbps, copy_gbps, gbps / copy_gbps);
        lines.push_back(line);
    }
    for (const std::string& l : lines) std::printf("%s\n", l.c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_bandwidth: error: %s\n", e.what());
    return 1;
}
