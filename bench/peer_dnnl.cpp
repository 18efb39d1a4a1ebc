// oneDNN's side of the GEMM benchmarks: dnnl_sgemm (Debian's libdnnl2, the library PyTorch
// uses for convolutions) on the gemm cases of `bench_ops --list` read from stdin. Prints one
// JSON line per case: {"case", "peer_s", "reps", "peer"}. Threads: OMP_NUM_THREADS, like ours.
// Bench-only: marrow itself never links oneDNN.
#include <dnnl.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/timing.h"

using json = nlohmann::json;

int main(int argc, char** argv) try {
    double min_seconds = argc > 1 ? std::stod(argv[1]) : 0.3;
    json cases = json::parse(std::cin);
    const dnnl_version_t* v = dnnl_version();
    std::string peer = "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                       std::to_string(v->patch) + " sgemm";
    for (const json& c : cases) {
        if (c["bench"] != "gemm" || c["params"].contains("batch")) continue;  // sgemm: one product
        int64_t m = c["params"]["m"], n = c["params"]["n"], k = c["params"]["k"];
        std::vector<float> a(size_t(m * k)), b(size_t(k * n)), out(size_t(m * n));
        for (size_t i = 0; i < a.size(); ++i) a[i] = float(i % 17) * 0.1f - 0.8f;
        for (size_t i = 0; i < b.size(); ++i) b[i] = float(i % 13) * 0.1f - 0.6f;
        auto [seconds, reps] = marrow::bench::time_median(
            [&] {
                // Row-major c (m x n) = a (m x k) @ b (k x n).
                if (dnnl_sgemm('N', 'N', m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, out.data(),
                               n) != dnnl_success)
                    throw std::runtime_error("dnnl_sgemm failed");
            },
            min_seconds, 5);
        std::cout
            << json{{"case", c["case"]}, {"peer_s", seconds}, {"reps", reps}, {"peer", peer}}.dump()
            << std::endl;
    }
    return 0;
} catch (const std::exception& e) {
    std::cerr << "peer_dnnl: error: " << e.what() << "\n";
    return 1;
}
