// CachingAllocator: size classes and per-device free lists over a raw allocator, shared by the
// CPU (aligned_alloc), the SIMT simulator's device (aligned_alloc) and the nvcc build
// (cudaMalloc). Freed blocks are kept for reuse instead of going back to the system: on the
// CPU large blocks come from mmap and munmap costs a TLB shootdown on every core; on a GPU
// cudaMalloc/cudaFree synchronize the device.
//
// Size classes: below 1 MB blocks round up to `granularity` bytes; above, to four classes per
// power of two (at most 25% waste). When the raw allocator fails, the device's cache is
// released and the allocation retried once; a second failure is an Error stating the
// requested bytes, what marrow holds (allocated, cached) and the raw allocator's own report
// (free/total device memory on a GPU).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "tensor/storage.h"

namespace marrow {

class CachingAllocator {
public:
    struct Raw {
        void* (*allocate)(size_t bytes, int device) = nullptr;  // null on failure, no throw
        void (*free)(void* p, size_t bytes, int device) = nullptr;
        std::string (*describe_memory)(int device) = nullptr;  // for out-of-memory errors
    };
    struct Options {
        std::string device_prefix;  // "cpu" or "cuda": errors say "<prefix>:<index>"
        size_t granularity = 512;   // rounding below 1 MB
        size_t cache_from = 0;      // smaller blocks go straight back to the raw allocator
        size_t cache_limit = SIZE_MAX;
    };

    CachingAllocator(Raw raw, Options options) : raw_(raw), options_(std::move(options)) {}
    ~CachingAllocator();  // returns cached blocks; live ones belong to their owners
    CachingAllocator(const CachingAllocator&) = delete;
    CachingAllocator& operator=(const CachingAllocator&) = delete;

    void* allocate(size_t nbytes, int device);
    void deallocate(void* p, size_t nbytes, int device);
    MemoryStats stats(int device);
    void reset_peak(int device);
    void empty_cache(int device);  // returns every cached block to the raw allocator

    size_t size_class(size_t nbytes) const;

private:
    struct DeviceState {
        std::map<size_t, std::vector<void*>> free_blocks;
        MemoryStats stats;
    };
    void release(int device, DeviceState& state);

    Raw raw_;
    Options options_;
    std::mutex mutex_;
    std::map<int, DeviceState> devices_;
};

}  // namespace marrow
