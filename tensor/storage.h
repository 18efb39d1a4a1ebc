// Storage: owns (or wraps) bytes on one device. It knows no shape or dtype. Views of a tensor
// share one Storage, and with it the version counter that autograd uses to detect in-place
// modification of saved tensors (Note [Version counter]).
#pragma once
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "tensor/device.h"

namespace marrow {

class Storage {
public:
    using Deleter = std::function<void(void*)>;

    // Allocates `nbytes` on `device` (64-byte aligned on CPU). The bytes are uninitialized.
    static std::shared_ptr<Storage> allocate(size_t nbytes, Device device);
    // Wraps an external buffer; `deleter` (may be empty) runs when the last user goes away.
    static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, Device device, Deleter deleter);

    Storage(void* data, size_t nbytes, Device device, Deleter deleter);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    void* data() const { return data_; }
    size_t nbytes() const { return nbytes_; }
    Device device() const { return device_; }

    // Note [Version counter]: bumped by every in-place write through any view.
    uint64_t version() const { return version_.load(std::memory_order_relaxed); }
    void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

private:
    void* data_;
    size_t nbytes_;
    Device device_;
    Deleter deleter_;
    std::atomic<uint64_t> version_{0};
};

// Memory statistics of one device's caching allocator (tensor/caching_allocator.h). Bytes are
// size-class rounded, as the allocator holds them.
struct MemoryStats {
    size_t allocated_bytes = 0;       // in live tensors' storages
    size_t peak_allocated_bytes = 0;  // since start or the last reset_peak_memory
    size_t cached_bytes = 0;          // freed blocks kept for reuse
    uint64_t allocations = 0;         // allocate calls
    uint64_t cache_hits = 0;          // ... served from the cache
    uint64_t raw_allocations = 0;     // ... that went to the system (aligned_alloc / cudaMalloc)
    uint64_t cache_flushes = 0;       // caches released to retry a failed raw allocation
};

// Device query and memory control. CPU: always one device. CUDA: the backend's devices (the
// simulator has one; a build without a CUDA backend, or a machine without a driver or GPU,
// has none).
int device_count(DeviceType type);
std::string device_name(Device device);  // "cpu", the GPU's name, or "SIMT simulator"
MemoryStats memory_stats(Device device);
void reset_peak_memory(Device device);
void empty_cache(Device device);  // gives cached blocks back to the system / driver

// What a backend provides for its device type; the CPU one is built in, the CUDA backend sets
// its own when it registers its kernels.
class CachingAllocator;
struct DeviceRuntime {
    CachingAllocator* allocator = nullptr;
    int (*device_count)() = nullptr;
    std::string (*device_name)(int device_index) = nullptr;
};
void set_device_runtime(DeviceType type, DeviceRuntime runtime);

}  // namespace marrow
