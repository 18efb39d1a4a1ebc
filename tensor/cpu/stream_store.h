// Non-temporal ("streaming") stores for large elementwise outputs. An ordinary store first
// reads the destination line into the cache (read-for-ownership), so y = f(x) moves three
// lines per line of output; a streaming store writes whole lines straight to memory and moves
// two, as memcpy does. They pay off only when the output is too large to be read back from
// the caches by the next op: measured on the CI machine (2 threads), relu on 64 MB ran at
// 31 GB/s with ordinary stores and 50 GB/s streamed (bench_ops --bandwidth), while a relu ->
// relu chain was even at 64 MB and 5-13% slower streamed at 16-32 MB, hence kStreamBytes.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace marrow::cpu {

inline constexpr int64_t kStreamBytes = int64_t(48) << 20;

// dst[0..bytes) = src[0..bytes) with streaming stores (any alignment; the unaligned head and
// tail use ordinary stores). Call stream_fence() before the data is handed to another thread.
void stream_copy(void* dst, const void* src, size_t bytes);
void stream_fence();

// Writes o[0..n) with fill(d, i0, m), which stores elements [i0, i0+m) at d[0..m): straight
// into o, or (stream) through a 2 KB block that stays in L1 and is then streamed to o; 1-2 KB
// blocks measured as fast as streaming from the registers, larger ones slower.
template <typename T, typename Fill>
void fill_run(T* o, int64_t n, bool stream, Fill&& fill) {
    if (!stream) return fill(o, int64_t(0), n);
    constexpr int64_t kBlock = 2048 / int64_t(sizeof(T));
    alignas(64) T block[kBlock];
    for (int64_t i = 0; i < n; i += kBlock) {
        int64_t m = std::min(kBlock, n - i);
        fill(block, i, m);
        stream_copy(o + i, block, size_t(m) * sizeof(T));
    }
    stream_fence();
}

}  // namespace marrow::cpu
