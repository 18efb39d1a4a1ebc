// Shared pieces of the kernel ladders in cuda/dev/: whether this build may time (GPU builds
// only; simulator timings are not performance) and the timer, which is the benchmarks' GPU
// timer (bench/timing.h, Note [GPU timing]: CUDA events, L2 flushed between calls, median).
#pragma once
#include <functional>

#include "bench/timing.h"

// No marrow.h here: nvcc compiles the ladders, and fmt must stay out (Note [nvcc and fmt]).

namespace marrow::dev {

inline constexpr bool kCanTime =
#if defined(MARROW_CUDA_NVCC)
    true;
#else
    false;
#endif

// Median seconds of `enqueue` (launches on the current stream, no synchronization) over at
// least 10 calls and 0.2 s.
inline double median_seconds(const std::function<void()>& enqueue) {
    return bench::gpu_time_median(enqueue, 0.2, 10).first;
}

}  // namespace marrow::dev
