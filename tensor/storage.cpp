#include "tensor/storage.h"

#include <array>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "tensor/dispatch.h"
#include "tensor/error.h"

namespace marrow {
namespace {

// CPU caching allocator. Blocks of at least kCacheFrom bytes are rounded up to a size class
// (four classes per power of two, so at most 25% waste) and, when freed, kept in a free list
// of their class instead of going back to the system: large blocks come from mmap, and
// munmap in a multi-threaded process costs a TLB shootdown on every core. The cache holds at
// most kCacheLimit bytes; beyond that blocks are released.
constexpr size_t kAlign = 64;
constexpr size_t kCacheFrom = 64 << 10;
constexpr size_t kCacheLimit = size_t(2) << 30;

struct CpuCache {
    std::mutex mutex;
    std::unordered_map<size_t, std::vector<void*>> free_blocks;
    CpuAllocatorStats stats;
};
CpuCache& cpu_cache() {
    static CpuCache* cache = new CpuCache;  // never destroyed: tensors may outlive statics
    return *cache;
}

size_t size_class(size_t nbytes) {
    if (nbytes < kCacheFrom) return (nbytes + kAlign - 1) / kAlign * kAlign;
    size_t top = size_t(1) << (63 - __builtin_clzll(nbytes));  // largest power of 2 <= nbytes
    size_t step = top / 4;
    return (nbytes + step - 1) / step * step;
}

void* cpu_allocate(size_t nbytes, int) {
    size_t bytes = size_class(nbytes == 0 ? 1 : nbytes);
    if (bytes >= kCacheFrom) {
        CpuCache& c = cpu_cache();
        std::lock_guard lock(c.mutex);
        auto it = c.free_blocks.find(bytes);
        if (it != c.free_blocks.end() && !it->second.empty()) {
            void* p = it->second.back();
            it->second.pop_back();
            c.stats.cached_bytes -= bytes;
            ++c.stats.hits;
            return p;
        }
        ++c.stats.misses;
    }
    void* p = std::aligned_alloc(kAlign, bytes);
    if (!p) fail("cpu allocator: out of memory allocating {} bytes", nbytes);
    return p;
}

void cpu_deallocate(void* p, size_t nbytes, int) {
    size_t bytes = size_class(nbytes == 0 ? 1 : nbytes);
    if (bytes >= kCacheFrom) {
        CpuCache& c = cpu_cache();
        std::lock_guard lock(c.mutex);
        if (c.stats.cached_bytes + bytes <= kCacheLimit) {
            c.free_blocks[bytes].push_back(p);
            c.stats.cached_bytes += bytes;
            return;
        }
    }
    std::free(p);
}

std::array<DeviceAllocator, kNumDeviceTypes>& allocators() {
    static std::array<DeviceAllocator, kNumDeviceTypes> table = {
        DeviceAllocator{cpu_allocate, cpu_deallocate}, DeviceAllocator{}};
    return table;
}

}  // namespace

CpuAllocatorStats cpu_allocator_stats() {
    CpuCache& c = cpu_cache();
    std::lock_guard lock(c.mutex);
    return c.stats;
}

void set_device_allocator(DeviceType type, DeviceAllocator allocator) {
    allocators()[size_t(type)] = allocator;
}

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
    if (device.type != DeviceType::cpu) ensure_backends();  // backends set their allocators
    const DeviceAllocator& a = allocators()[size_t(device.type)];
    if (!a.allocate) fail("cannot allocate on {}: this build has no backend for it", device);
    void* p = a.allocate(nbytes, device.index);
    auto dealloc = a.deallocate;
    int index = device.index;
    return std::make_shared<Storage>(
        p, nbytes, device, [dealloc, nbytes, index](void* q) { dealloc(q, nbytes, index); });
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, Device device, Deleter deleter) {
    return std::make_shared<Storage>(data, nbytes, device, std::move(deleter));
}

Storage::Storage(void* data, size_t nbytes, Device device, Deleter deleter)
    : data_(data), nbytes_(nbytes), device_(device), deleter_(std::move(deleter)) {}

Storage::~Storage() {
    if (deleter_) deleter_(data_);
}

}  // namespace marrow
