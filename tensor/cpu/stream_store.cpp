#include "tensor/cpu/stream_store.h"

#include <immintrin.h>

#include <cstring>

#include "tensor/cpu/isa.h"

namespace marrow::cpu {
namespace {

// One copy per vector width: Vec is the register type, Store its streaming store.
template <typename Vec, void (*Store)(Vec*, Vec)>
[[gnu::always_inline]] inline void stream_copy_body(char* d, const char* s, size_t bytes) {
    constexpr size_t W = sizeof(Vec);
    size_t head = std::min(bytes, (W - reinterpret_cast<uintptr_t>(d) % W) % W);
    std::memcpy(d, s, head);
    size_t i = head;
    for (; i + W <= bytes; i += W) {
        Vec v;
        std::memcpy(&v, s + i, W);
        Store(reinterpret_cast<Vec*>(d + i), v);
    }
    std::memcpy(d + i, s + i, bytes - i);
}

MARROW_TARGET_AVX512 void store512(__m512i* p, __m512i v) { _mm512_stream_si512(p, v); }
MARROW_TARGET_AVX2 void store256(__m256i* p, __m256i v) { _mm256_stream_si256(p, v); }
void store128(__m128i* p, __m128i v) { _mm_stream_si128(p, v); }

#pragma GCC diagnostic ignored "-Wpsabi"
MARROW_TARGET_AVX512 void copy_avx512(void* d, const void* s, size_t bytes) {
    stream_copy_body<__m512i, store512>(static_cast<char*>(d), static_cast<const char*>(s), bytes);
}
MARROW_TARGET_AVX2 void copy_avx2(void* d, const void* s, size_t bytes) {
    stream_copy_body<__m256i, store256>(static_cast<char*>(d), static_cast<const char*>(s), bytes);
}
void copy_base(void* d, const void* s, size_t bytes) {
    stream_copy_body<__m128i, store128>(static_cast<char*>(d), static_cast<const char*>(s), bytes);
}

using CopyFn = void (*)(void*, const void*, size_t);

}  // namespace

void stream_copy(void* dst, const void* src, size_t bytes) {
    static const CopyFn copy = for_isa<CopyFn>(copy_avx512, copy_avx2, copy_base);
    copy(dst, src, bytes);
}

void stream_fence() { _mm_sfence(); }

}  // namespace marrow::cpu
