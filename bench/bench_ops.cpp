// marrow's side of the op benchmarks. Each case is described once here (kind + parameters);
// `--list` prints the descriptions as JSON so bench/run_bench.py can build the same case in
// PyTorch. Without --list, runs every case (or those matching --filter) and prints one JSON
// line per case with the median seconds per call: {"bench", "case", "ours_s", "reps"}.
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

using namespace marrow;
using json = nlohmann::json;

namespace {

struct BenchCase {
    std::string bench;  // family: gemm, unary, binary, reduce, softmax
    std::string name;   // unique case name
    json params;        // what the peer needs to rebuild it
};

std::vector<BenchCase> cases(bool gpu) {
    std::vector<BenchCase> c;
    std::vector<int64_t> sizes = {128, 256, 512, 1024, 2048};
    if (gpu) sizes = {1024, 2048, 4096, 8192};
    for (int64_t n : sizes)
        c.push_back({"gemm", fmt::format("{}x{}x{}", n, n, n), {{"m", n}, {"n", n}, {"k", n}}});
    c.push_back({"gemm", "4096x512x512", {{"m", 4096}, {"n", 512}, {"k", 512}}});
    c.push_back({"gemm", "512x64x4096", {{"m", 512}, {"n", 64}, {"k", 4096}}});
    // bmm over 32 products, and the same with a (M, K) broadcast over the batch (matmul of a
    // weight with a stack): the broadcast operand is packed once.
    for (bool broadcast : {false, true})
        c.push_back({"gemm",
                     broadcast ? "bmm_32x384x384x384_a_bcast" : "bmm_32x384x384x384",
                     {{"m", 384}, {"n", 384}, {"k", 384}, {"batch", 32}, {"broadcast_a", broadcast}}});
    const int64_t kElems = int64_t(1) << 22;  // 4M floats = 16 MB per tensor
    for (const char* op : {"relu", "exp", "gelu", "tanh"})
        c.push_back({"unary", fmt::format("{}_4M", op), {{"op", op}, {"shape", {kElems}}}});
    for (const char* op : {"add", "mul"})
        c.push_back({"binary", fmt::format("{}_4M", op), {{"op", op}, {"shape", {kElems}}}});
    c.push_back({"binary",
                 "add_bcast_2048x2048",
                 {{"op", "add"}, {"shape", {2048, 2048}}, {"b_shape", {2048}}}});
    c.push_back(
        {"reduce", "sum_all_4M", {{"op", "sum"}, {"shape", {kElems}}, {"dims", json::array()}}});
    c.push_back(
        {"reduce", "sum_dim1_2048x2048", {{"op", "sum"}, {"shape", {2048, 2048}}, {"dims", {1}}}});
    c.push_back(
        {"reduce", "sum_dim0_2048x2048", {{"op", "sum"}, {"shape", {2048, 2048}}, {"dims", {0}}}});
    c.push_back(
        {"reduce", "max_dim1_2048x2048", {{"op", "amax"}, {"shape", {2048, 2048}}, {"dims", {1}}}});
    c.push_back({"reduce",
                 "logsumexp_dim1_2048x2048",
                 {{"op", "logsumexp"}, {"shape", {2048, 2048}}, {"dims", {1}}}});
    c.push_back(
        {"softmax", "softmax_4096x1024", {{"shape", {4096, 1024}}, {"dim", -1}, {"log", false}}});
    c.push_back({"softmax",
                 "log_softmax_4096x1024",
                 {{"shape", {4096, 1024}}, {"dim", -1}, {"log", true}}});
    return c;
}

Shape shape_of(const json& j) { return j.get<Shape>(); }

// The call to time, with inputs made once outside it (on `device`).
std::function<void()> make_op(const BenchCase& c, Device device) {
    const json& p = c.params;
    Generator gen(1);
    if (c.bench == "gemm") {
        int64_t m = p["m"], n = p["n"], k = p["k"];
        if (p.contains("batch")) {
            int64_t batch = p["batch"];
            Tensor a = p["broadcast_a"] ? randn({m, k}, DType::f32, device, gen)
                                        : randn({batch, m, k}, DType::f32, device, gen);
            Tensor b = randn({batch, k, n}, DType::f32, device, gen);
            return [a, b] { matmul(a, b); };
        }
        Tensor a = randn({m, k}, DType::f32, device, gen);
        Tensor b = randn({k, n}, DType::f32, device, gen);
        return [a, b] { mm(a, b); };
    }
    Tensor x = randn(shape_of(p["shape"]), DType::f32, device, gen);
    if (c.bench == "unary") {
        std::string op = p["op"];
        if (op == "relu") return [x] { relu(x); };
        if (op == "exp") return [x] { exp(x); };
        if (op == "gelu") return [x] { gelu(x); };
        if (op == "tanh") return [x] { tanh(x); };
    }
    if (c.bench == "binary") {
        Tensor y = randn(p.contains("b_shape") ? shape_of(p["b_shape"]) : shape_of(p["shape"]),
                         DType::f32, device, gen);
        if (p["op"] == "add") return [x, y] { add(x, y); };
        if (p["op"] == "mul") return [x, y] { mul(x, y); };
    }
    if (c.bench == "reduce") {
        Dims dims = p["dims"].get<Dims>();
        if (p["op"] == "sum") return [x, dims] { sum(x, dims); };
        if (p["op"] == "amax") return [x, dims] { max(x, dims[0]); };
        if (p["op"] == "logsumexp") return [x, dims] { logsumexp(x, dims); };
    }
    if (c.bench == "softmax") {
        int64_t dim = p["dim"];
        if (p["log"]) return [x, dim] { log_softmax(x, dim); };
        return [x, dim] { softmax(x, dim); };
    }
    fail("bench: no runner for case {}", c.name);
}

// CUDA kernels are asynchronous: every timed call waits for its device.
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
    cli.add_option("--filter", filter, "only cases whose name contains this");
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
        for (const BenchCase& c : cases(gpu))
            all.push_back({{"bench", c.bench}, {"case", c.name}, {"params", c.params}});
        std::cout << all.dump() << "\n";
        return 0;
    }
#if defined(MARROW_CUDA_SIM)
    MARROW_CHECK(!gpu,
                 "bench_ops: this build runs CUDA kernels on the SIMT simulator, which "
                 "checks correctness, not speed; benchmark an nvcc build on a GPU");
#endif
    for (const BenchCase& c : cases(gpu)) {
        if (!filter.empty() && c.name.find(filter) == std::string::npos) continue;
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
