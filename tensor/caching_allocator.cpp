#include "tensor/caching_allocator.h"

#include "tensor/error.h"

namespace marrow {

size_t CachingAllocator::size_class(size_t nbytes) const {
    if (nbytes == 0) nbytes = 1;
    if (nbytes < (size_t(1) << 20)) {
        size_t g = options_.granularity;
        return (nbytes + g - 1) / g * g;
    }
    size_t top = size_t(1) << (63 - __builtin_clzll(nbytes));  // largest power of 2 <= nbytes
    size_t step = top / 4;
    return (nbytes + step - 1) / step * step;
}

void CachingAllocator::release(int device, DeviceState& state) {
    for (auto& [bytes, blocks] : state.free_blocks)
        for (void* p : blocks) raw_.free(p, bytes, device);
    state.free_blocks.clear();
    state.stats.cached_bytes = 0;
}

CachingAllocator::~CachingAllocator() {
    for (auto& [device, state] : devices_) release(device, state);
}

void* CachingAllocator::allocate(size_t nbytes, int device) {
    size_t bytes = size_class(nbytes);
    std::lock_guard lock(mutex_);
    DeviceState& state = devices_[device];
    MemoryStats& s = state.stats;
    ++s.allocations;
    void* p = nullptr;
    auto it = state.free_blocks.find(bytes);
    if (it != state.free_blocks.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        s.cached_bytes -= bytes;
        ++s.cache_hits;
    } else {
        p = raw_.allocate(bytes, device);
        if (!p && s.cached_bytes > 0) {
            release(device, state);
            ++s.cache_flushes;
            p = raw_.allocate(bytes, device);
        }
        if (!p) {
            std::string report = raw_.describe_memory ? raw_.describe_memory(device) : "";
            fail(
                "{}:{}: out of memory: requested {} bytes ({} with rounding); {} allocated by "
                "marrow, {} cached (released before retrying){}{}",
                options_.device_prefix, device, nbytes, bytes, s.allocated_bytes, s.cached_bytes,
                report.empty() ? "" : "; ", report);
        }
        ++s.raw_allocations;
    }
    s.allocated_bytes += bytes;
    s.peak_allocated_bytes = std::max(s.peak_allocated_bytes, s.allocated_bytes);
    return p;
}

void CachingAllocator::deallocate(void* p, size_t nbytes, int device) {
    size_t bytes = size_class(nbytes);
    std::lock_guard lock(mutex_);
    MemoryStats& s = devices_[device].stats;
    s.allocated_bytes -= bytes;
    if (bytes >= options_.cache_from && s.cached_bytes + bytes <= options_.cache_limit) {
        devices_[device].free_blocks[bytes].push_back(p);
        s.cached_bytes += bytes;
        return;
    }
    raw_.free(p, bytes, device);
}

MemoryStats CachingAllocator::stats(int device) {
    std::lock_guard lock(mutex_);
    return devices_[device].stats;
}

void CachingAllocator::reset_peak(int device) {
    std::lock_guard lock(mutex_);
    MemoryStats& s = devices_[device].stats;
    s.peak_allocated_bytes = s.allocated_bytes;
}

void CachingAllocator::empty_cache(int device) {
    std::lock_guard lock(mutex_);
    release(device, devices_[device]);
}

}  // namespace marrow
