// The caching allocator (tensor/caching_allocator.h) over a fake raw allocator with a fixed
// capacity, so reuse, statistics and the out-of-memory path are tested without a GPU; then the
// public device query and memory API on the CPU (and the CUDA backend when the build has one).
#include <doctest/doctest.h>

#include <set>

#include "marrow.h"
#include "tensor/caching_allocator.h"

using namespace marrow;

namespace {

// A "device" of 4 MB: raw allocations fail once the live raw bytes would exceed it.
struct FakeDevice {
    static inline size_t capacity = 4 << 20;
    static inline size_t used = 0;
    static inline int raw_calls = 0;
    static void* allocate(size_t bytes, int) {
        ++raw_calls;
        if (used + bytes > capacity) return nullptr;
        used += bytes;
        return std::malloc(bytes);
    }
    static void free(void* p, size_t bytes, int) {
        used -= bytes;
        std::free(p);
    }
    static std::string describe(int) { return "fake device full"; }
};

CachingAllocator fake_allocator() {
    FakeDevice::used = 0;
    FakeDevice::raw_calls = 0;
    return CachingAllocator({FakeDevice::allocate, FakeDevice::free, FakeDevice::describe},
                            {.device_prefix = "fake"});
}

}  // namespace

TEST_CASE("caching allocator: size classes") {
    CachingAllocator a = fake_allocator();
    CHECK(a.size_class(0) == 512);
    CHECK(a.size_class(1) == 512);
    CHECK(a.size_class(513) == 1024);
    CHECK(a.size_class(1 << 20) == 1 << 20);
    CHECK(a.size_class((1 << 20) + 1) == (1 << 20) + (1 << 18));  // four classes per power of 2
    CHECK(a.size_class(3 << 20) == 3 << 20);
}

TEST_CASE("caching allocator: a freed block is reused, and the statistics say so") {
    CachingAllocator a = fake_allocator();
    void* p = a.allocate(1000, 0);
    a.deallocate(p, 1000, 0);
    MemoryStats s = a.stats(0);
    CHECK(s.allocated_bytes == 0);
    CHECK(s.cached_bytes == 1024);
    void* q = a.allocate(900, 0);  // same size class
    CHECK(q == p);
    s = a.stats(0);
    CHECK(s.allocations == 2);
    CHECK(s.cache_hits == 1);
    CHECK(s.raw_allocations == 1);
    CHECK(s.allocated_bytes == 1024);
    CHECK(s.peak_allocated_bytes == 1024);
    void* r = a.allocate(2048, 0);  // another class: a new raw block
    CHECK(a.stats(0).peak_allocated_bytes == 1024 + 2048);
    a.deallocate(r, 2048, 0);
    a.reset_peak(0);
    CHECK(a.stats(0).peak_allocated_bytes == 1024);
    a.deallocate(q, 900, 0);
    CHECK(a.stats(1).allocations == 0);  // devices are separate
    a.empty_cache(0);
    CHECK(a.stats(0).cached_bytes == 0);
    CHECK(FakeDevice::used == 0);
}

TEST_CASE("caching allocator: out of memory releases the cache, retries, then names the bytes") {
    CachingAllocator a = fake_allocator();
    void* big = a.allocate(3 << 20, 0);
    a.deallocate(big, 3 << 20, 0);  // 3 MB cached, device "full" for a 2 MB request
    void* p = a.allocate(2 << 20, 0);
    CHECK(p != nullptr);
    CHECK(a.stats(0).cache_flushes == 1);
    CHECK(a.stats(0).cached_bytes == 0);
    CHECK_THROWS_WITH_AS(a.allocate(3 << 20, 0),
                         doctest::Contains("fake:0: out of memory: requested 3145728 bytes"),
                         Error);
    CHECK_THROWS_WITH_AS(a.allocate(3 << 20, 0),
                         doctest::Contains("2097152 allocated by marrow, 0 cached"), Error);
    CHECK_THROWS_WITH_AS(a.allocate(3 << 20, 0), doctest::Contains("fake device full"), Error);
    CHECK(a.stats(0).allocated_bytes == 2 << 20);  // a failed request changes nothing
    a.deallocate(p, 2 << 20, 0);
}

TEST_CASE("device query and memory statistics through the public API") {
    CHECK(device_count(DeviceType::cpu) == 1);
    CHECK(device_name(Device::cpu()) == "cpu");
    {
        Tensor t = zeros({1 << 20});  // 4 MB: cached on the CPU
        CHECK(memory_stats(Device::cpu()).allocated_bytes >= (4u << 20));
    }
    CHECK(memory_stats(Device::cpu()).cached_bytes >= (4u << 20));
    empty_cache(Device::cpu());
    CHECK(memory_stats(Device::cpu()).cached_bytes == 0);
#if defined(MARROW_CUDA_SIM)
    CHECK(device_count(DeviceType::cuda) == 1);
    CHECK(device_name(Device::cuda()) == "SIMT simulator");
    size_t before = memory_stats(Device::cuda()).allocated_bytes;
    {
        Tensor t = to(ones({1000}), Device::cuda());
        CHECK(memory_stats(Device::cuda()).allocated_bytes == before + 4096);
    }
    CHECK(memory_stats(Device::cuda()).allocated_bytes == before);
    CHECK_THROWS_WITH_AS(device_name(Device::cuda(3)),
                         doctest::Contains("cuda:3 does not exist: 1 device(s) (SIMT simulator)"),
                         Error);
#elif !defined(MARROW_CUDA_NVCC)
    CHECK(device_count(DeviceType::cuda) == 0);
    CHECK_THROWS_WITH_AS(memory_stats(Device::cuda()),
                         doctest::Contains("cannot use cuda:0: this build has no backend"), Error);
#endif
}
