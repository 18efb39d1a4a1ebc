// The benchmarks' timers, shared by bench_ops, the native peers, bench_bandwidth and the kernel
// ladders in cuda/dev/:
//   time_median      host work: median wall seconds per call.
//   gpu_time_median  device work: median seconds per call between CUDA events, with the L2
//                    cache flushed before every call (Note [GPU timing]).
// No fmt here: nvcc compiles bench_bandwidth and the ladders (Note [nvcc and fmt]).
#pragma once
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#if defined(MARROW_CUDA_NVCC)
#include <cuda_runtime.h>

#include "cuda/check.h"
#include "cuda/stream.h"
#else
#include <stdexcept>  // not tensor/error.h: peer_dnnl includes this file without marrow
#endif

namespace marrow::bench {

// Median seconds per call after one warm-up, over at least `min_reps` calls and `min_seconds`
// in total.
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

// Note [GPU timing]
// `run` only enqueues work on the current stream (it must not synchronize: the stop event
// would then time the host's wait too). Each repetition first overwrites a buffer of twice the
// device's L2 size (cudaDevAttrL2CacheSize) on the same stream, so no call finds its inputs
// left in L2 by the previous one (which would report L2 bandwidth as DRAM bandwidth on inputs
// up to the L2 size: 50 MB on an H100), then times the call alone between two events. The
// median over repetitions is reported; one untimed warm-up call comes first. On the SIMT
// simulator (and without CUDA) this refuses to run: simulator timings are not performance,
// and are never reported.
#if defined(MARROW_CUDA_NVCC)

// A device buffer of 2 x L2 bytes for `device`, allocated once per process (outside the
// caching allocator, so memory statistics do not see it) and deliberately never freed: a
// static destructor would run after the CUDA runtime has shut down.
inline std::pair<void*, size_t> l2_flush_buffer(int device) {
    static std::vector<std::pair<void*, size_t>> buffers;
    if (size_t(device) >= buffers.size()) buffers.resize(size_t(device) + 1, {nullptr, 0});
    auto& [ptr, bytes] = buffers[size_t(device)];
    if (!ptr) {
        int l2 = 0;
        MARROW_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device));
        bytes = 2 * size_t(std::max(l2, 1 << 20));
        MARROW_CUDA_CHECK(cudaMalloc(&ptr, bytes));
    }
    return {ptr, bytes};
}

inline std::pair<double, int> gpu_time_median(const std::function<void()>& run, double min_seconds,
                                              int min_reps) {
    using clock = std::chrono::steady_clock;
    int device = 0;
    MARROW_CUDA_CHECK(cudaGetDevice(&device));
    auto [flush, flush_bytes] = l2_flush_buffer(device);
    cuda::Stream stream = cuda::current_stream(device);
    auto stream_handle = static_cast<cudaStream_t>(stream.native());
    run();
    stream.synchronize();
    std::vector<double> t;
    auto t0 = clock::now();
    cuda::Event start, stop;
    while (int(t.size()) < min_reps ||
           std::chrono::duration<double>(clock::now() - t0).count() < min_seconds) {
        MARROW_CUDA_CHECK(cudaMemsetAsync(flush, int(t.size() & 0xff), flush_bytes, stream_handle));
        start.record(stream);
        run();
        stop.record(stream);
        stop.synchronize();
        t.push_back(start.elapsed_ms(stop) / 1e3);
    }
    std::sort(t.begin(), t.end());
    return {t[t.size() / 2], int(t.size())};
}

#else

[[noreturn]] inline std::pair<double, int> gpu_time_median(const std::function<void()>&, double,
                                                           int) {
    throw std::runtime_error(
        "gpu_time_median: this build runs CUDA kernels on the SIMT simulator (or has no CUDA), "
        "which checks correctness, not speed; time an nvcc build on a GPU");
}

#endif

}  // namespace marrow::bench
