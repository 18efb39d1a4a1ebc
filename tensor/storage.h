// Storage: owns (or wraps) bytes on one device. It knows no shape or dtype. Views of a tensor
// share one Storage, and with it the version counter that autograd uses to detect in-place
// modification of saved tensors (Note [Version counter]).
#pragma once
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>

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

// Device allocators are provided by backends; the CPU one is built in (a caching allocator,
// see storage.cpp). The CUDA backend sets its allocator here when it is initialized.
struct DeviceAllocator {
    void* (*allocate)(size_t nbytes, int device_index) = nullptr;
    void (*deallocate)(void* ptr, size_t nbytes, int device_index) = nullptr;
};

struct CpuAllocatorStats {
    size_t cached_bytes = 0;  // freed blocks kept for reuse
    uint64_t hits = 0;        // allocations served from the cache
    uint64_t misses = 0;      // allocations that went to the system
};
CpuAllocatorStats cpu_allocator_stats();
void set_device_allocator(DeviceType type, DeviceAllocator allocator);

}  // namespace marrow
