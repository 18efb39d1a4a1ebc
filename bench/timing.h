// The benchmarks' timer: median seconds per call after one warm-up, over at least
// `min_reps` calls and `min_seconds` in total. Shared by bench_ops and the native peers.
#pragma once
#include <algorithm>
#include <chrono>
#include <functional>
#include <utility>
#include <vector>

namespace marrow::bench {

inline std::pair<double, int> time_median(const std::function<void()>& run, double min_seconds,
                                          int min_reps) {
    using clock = std::chrono::steady_clock;
    run();
    std::vector<double> t;
    double total = 0;
    while (total < min_seconds || int(t.size()) < min_reps) {
        auto t0 = clock::now();
        run();
        t.push_back(std::chrono::duration<double>(clock::now() - t0).count());
        total += t.back();
    }
    std::sort(t.begin(), t.end());
    return {t[t.size() / 2], int(t.size())};
}

}  // namespace marrow::bench
