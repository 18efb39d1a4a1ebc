// marrow's side of the op benchmarks. The cases are the op-case registry's bench tier
// (tests/ops/cases/*.cpp, `.bench(...)` and `.bench_bwd(...)`): each benchmark size of a case
// times the case's function on contiguous float32 inputs of that size. A size marked
// bench_bwd also gives "<name>_bwd" (bench "<family>_bwd"), timed as forward+backward with a
// fixed upstream gradient, input gradients reset to none before each call so every call
// writes fresh gradient buffers (PyTorch's peer does the same). `--list` prints the cases as
// JSON (with the registry case name and input specs) so bench/peer_torch.py can build each in
// PyTorch from the registry's twin in tests/golden/gen/gen_ops.py. Without --list, runs every
// case (or those whose name or family contains --filter, or exactly --case) and prints one
// JSON line per case with the median seconds per call: {"bench", "case", "ours_s", "reps"}.
#include <omp.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bench/timing.h"
#include "marrow.h"
#include "tests/ops/op_cases.h"

using namespace marrow;
using namespace marrow::test;
using json = nlohmann::json;

namespace {

struct BenchCase {
    std::string bench;  // the registry family (gemm, unary, ...), "<family>_bwd" for backward
    std::string name;   // unique case name
    const OpCase* op_case;
    const BenchSize* size;
    bool backward;
    json params;  // gemm: m, n, k (and batch, broadcast_a) for GFLOP/s and bench/peer_dnnl
};

// A matrix product's dimensions from its operand shapes (..., M, K) and (..., K, N).
json gemm_params(const std::vector<Shape>& shapes) {
    const Shape& a = shapes.at(0);
    const Shape& b = shapes.at(1);
    json p = {{"m", a[a.size() - 2]}, {"k", a.back()}, {"n", b.back()}};
    if (a.size() > 2 || b.size() > 2) {
        const Shape& stack = a.size() > 2 ? a : b;
        int64_t batch = 1;
        for (size_t i = 0; i + 2 < stack.size(); ++i) batch *= stack[i];
        p["batch"] = batch;
        p["broadcast_a"] = a.size() == 2;
    }
    return p;
}

std::vector<BenchCase> cases(bool gpu) {
    std::vector<BenchCase> list;
    for (const OpCase& c : op_cases()) {
        for (const BenchSize& b : c.bench) {
            if (b.on == (gpu ? BenchOn::cpu : BenchOn::cuda)) continue;
            json params = c.family == "gemm" ? gemm_params(b.shapes) : json::object();
            list.push_back({c.family, b.name, &c, &b, false, params});
            if (b.backward)
                list.push_back({c.family + "_bwd", b.name + "_bwd", &c, &b, true, params});
        }
    }
    return list;
}

json describe(const BenchCase& b) {
    json inputs = json::array();
    const char* domains[] = {"any", "positive", "nonzero", "index"};
    for (size_t i = 0; i < b.size->shapes.size(); ++i) {
        const InputSpec& s = b.op_case->inputs[i];
        inputs.push_back({{"shape", b.size->shapes[i]},
                          {"domain", domains[int(s.domain)]},
                          {"index_high", s.index_high},
                          {"grad", s.differentiable && b.op_case->differentiable}});
    }
    return {{"bench", b.bench}, {"case", b.name},         {"op_case", b.op_case->name},
            {"inputs", inputs}, {"backward", b.backward}, {"params", b.params}};
}

// The call to time, with inputs made once outside it (on `device`).
std::function<void()> make_op(const BenchCase& b, Device device) {
    const OpCase& c = *b.op_case;
    std::vector<Tensor> values = make_values(c, b.size->shapes, DType::f32, 1);
    if (!b.backward) {
        std::vector<Tensor> inputs;  // no requires_grad: no graph is recorded
        for (const Tensor& v : values) inputs.push_back(to(v, device));
        return [&c, inputs] { c.fn(inputs); };
    }
    std::vector<Tensor> inputs = make_case_inputs(c, values, device, false);
    Generator gen(2);
    Tensor gout = randn(c.fn(inputs).shape(), DType::f32, device, gen);
    return [&c, inputs, gout] {
        for (const Tensor& x : inputs) x.zero_grad();
        c.fn(inputs).backward(gout);
    };
}

// CPU timing: the call, then a wait for its device (a no-op on the CPU; GPU cases are timed
// with events by bench::gpu_time_median instead).
std::function<void()> make_runner(const BenchCase& c, Device device) {
    std::function<void()> op = make_op(c, device);
    return [op, device] {
        op();
        synchronize(device);
    };
}

// Median seconds per call: one warm-up, then calls until `min_seconds` and `min_reps` are met.
// Memory-bound ops on 64 MB (fits this machine's L3) and 256 MB tensors against memcpy of the
// same bytes, in the same run: GB/s counts every byte read and written (unary: 2 x size,
// binary: 3 x size). The peer is a plain std::memcpy on one thread, and the same copy split
// over the OpenMP threads.
void bandwidth_at(int64_t megabytes, double min_seconds) {
    const int64_t n = megabytes << 18;  // floats
    const double mb = double(n) * sizeof(float);
    Generator gen(1);
    Tensor x = randn({n}, DType::f32, Device::cpu(), gen);
    Tensor y = randn({n}, DType::f32, Device::cpu(), gen);
    std::vector<float> dst(static_cast<size_t>(n));
    auto gbps = [&](const std::function<void()>& f, double bytes) {
        return bytes / bench::time_median(f, min_seconds, 5).first / 1e9;
    };
    double copy1 = gbps([&] { std::memcpy(dst.data(), x.data<float>(), size_t(mb)); }, 2 * mb);
    double copy_all = gbps(
        [&] {
            int t = omp_get_max_threads();
#pragma omp parallel for
            for (int i = 0; i < t; ++i) {
                int64_t lo = n * i / t, hi = n * (i + 1) / t;
                std::memcpy(dst.data() + lo, x.data<float>() + lo, size_t(hi - lo) * 4);
            }
        },
        2 * mb);
    std::vector<std::pair<std::string, std::function<void()>>> ops = {
        {"relu", [&] { relu(x); }}, {"exp", [&] { exp(x); }},    {"tanh", [&] { tanh(x); }},
        {"gelu", [&] { gelu(x); }}, {"add", [&] { add(x, y); }}, {"mul", [&] { mul(x, y); }}};
    std::printf("%-10s %9s %12s %12s\n", "op", "GB/s", "vs memcpy", "vs memcpy x");
    for (auto& [name, f] : ops) {
        bool binary = name == "add" || name == "mul";
        double g = gbps(f, (binary ? 3 : 2) * mb);
        std::string label = name + "_" + std::to_string(megabytes) + "MB";
        std::printf("%-10s %9.1f %12.2f %12.2f\n", label.c_str(), g, g / copy1, g / copy_all);
        std::cout << json{{"bench", "bandwidth"},
                          {"case", label},
                          {"gbps", g},
                          {"memcpy_gbps", copy1},
                          {"memcpy_threads_gbps", copy_all},
                          {"ratio", g / copy1},
                          {"ratio_threads", g / copy_all},
                          {"threads", omp_get_max_threads()}}
                         .dump()
                  << std::endl;
    }
    std::printf("memcpy of %lld MB: 1 thread %.1f GB/s, %d threads %.1f GB/s\n",
                static_cast<long long>(megabytes), copy1, omp_get_max_threads(), copy_all);
}

void bandwidth(double min_seconds) {
    for (int64_t megabytes : {64, 256}) bandwidth_at(megabytes, min_seconds);
}

}  // namespace

int main(int argc, char** argv) try {
    bool list = false;
    std::string filter;
    double min_seconds = 0.3;
    std::string device_name = "cpu";
    CLI::App cli{"marrow op benchmarks (see bench/run_bench.py for the peer comparison)"};
    cli.add_flag("--list", list, "print the case descriptions as JSON and exit");
    bool bandwidth_mode = false;
    cli.add_flag("--bandwidth", bandwidth_mode,
                 "memory-bound ops on 64 MB vs memcpy of the same bytes (CPU)");
    cli.add_option("--filter", filter, "only cases whose name or family (bench) contains this");
    std::string exact;
    cli.add_option("--case", exact, "only the case with exactly this name");
    cli.add_option("--min-seconds", min_seconds, "time each case for at least this long");
    cli.add_option("--device", device_name, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
    CLI11_PARSE(cli, argc, argv);
    bool gpu = device_name == "cuda";
    Device device = gpu ? Device::cuda() : Device::cpu();
    if (bandwidth_mode) {
        bandwidth(min_seconds);
        return 0;
    }
    if (list) {
        json all = json::array();
        for (const BenchCase& c : cases(gpu)) all.push_back(describe(c));
        std::cout << all.dump() << "\n";
        return 0;
    }
#if defined(MARROW_CUDA_SIM)
    MARROW_CHECK(!gpu,
                 "bench_ops: this build runs CUDA kernels on the SIMT simulator, which "
                 "checks correctness, not speed; benchmark an nvcc build on a GPU");
#endif
    for (const BenchCase& c : cases(gpu)) {
        if (!filter.empty() && c.name.find(filter) == std::string::npos &&
            c.bench.find(filter) == std::string::npos)
            continue;
        if (!exact.empty() && c.name != exact) continue;
        auto [seconds, reps] = gpu ? bench::gpu_time_median(make_op(c, device), min_seconds, 5)
                                   : bench::time_median(make_runner(c, device), min_seconds, 5);
        json line = {{"bench", c.bench},      {"case", c.name},
                     {"device", device_name}, {"device_model", marrow::device_name(device)},
                     {"ours_s", seconds},     {"reps", reps}};
        std::cout << line.dump() << std::endl;
    }
    return 0;
} catch (const std::exception& e) {
    std::cerr << "bench_ops: error: " << e.what() << "\n";
    return 1;
}
