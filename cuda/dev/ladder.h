// Shared pieces of the kernel ladders in cuda/dev/: timing (GPU builds only; simulator timings
// are not performance) and the one-line report per version.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

// No marrow.h here: nvcc compiles the ladders, and fmt must stay out (Note [nvcc and fmt]).

namespace marrow::dev {

// Median wall time of `run` (which must synchronize the device) over 10 runs after a warm-up.
template <typename Run>
double median_seconds(Run run) {
    std::vector<double> t;
    run();
    for (int i = 0; i < 10; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        run();
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

inline constexpr bool kCanTime =
#if defined(MARROW_CUDA_SIM)
    false;
#else
    true;
#endif

}  // namespace marrow::dev
