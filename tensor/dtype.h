// DType: the one list of element types (Note [DType list]). Every "for each dtype" switch is
// generated from MARROW_FORALL_DTYPES, so adding a dtype is one line here.
// f32 is the working type, f64 exists for gradcheck, f16/bf16 are storage formats that convert
// to and from f32 (compute happens in f32).
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "tensor/error.h"
#include "tensor/math/host_device.h"

namespace marrow {

// IEEE binary16, stored as bits; converts with round-to-nearest-even like torch.half.
struct Half {
    uint16_t bits = 0;
    Half() = default;
    MARROW_HOST_DEVICE Half(float f) : bits(from_float(f)) {}
    MARROW_HOST_DEVICE operator float() const { return to_float(bits); }
    MARROW_HOST_DEVICE static uint16_t from_float(float f) {
        uint32_t x = std::bit_cast<uint32_t>(f);
        uint32_t sign = (x >> 16) & 0x8000u, abs = x & 0x7fffffffu;
        if (abs > 0x7f800000u) return uint16_t(sign | 0x7e00u);   // NaN
        if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds past 65504: inf
        if (abs < 0x38800000u) {  // below 2^-14: half subnormal (or zero), m * 2^-24
            if (abs < 0x33000000u) return uint16_t(sign);  // below 2^-25: rounds to 0
            uint32_t e = abs >> 23, m = (abs & 0x7fffffu) | 0x800000u, shift = 126 - e;
            uint32_t h = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
            if (rem > half || (rem == half && (h & 1u))) ++h;  // round to nearest even
            return uint16_t(sign | h);
        }
        uint32_t h = (abs - 0x38000000u) >> 13, rem = abs & 0x1fffu;  // rebias 127 -> 15
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;       // may carry into exponent
        return uint16_t(sign | h);
    }
    MARROW_HOST_DEVICE static float to_float(uint16_t h) {
        uint32_t sign = uint32_t(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
        if (e == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (m << 13));
        if (e == 0) {
            float v = float(m) * 0x1p-24f;
            return sign ? -v : v;
        }
        return std::bit_cast<float>(sign | ((e + 112) << 23) | (m << 13));
    }
};

// bfloat16: the top 16 bits of a float, rounded to nearest even (NaN stays NaN).
struct BFloat16 {
    uint16_t bits = 0;
    BFloat16() = default;
    MARROW_HOST_DEVICE BFloat16(float f) {
        uint32_t u = std::bit_cast<uint32_t>(f);
        if ((u & 0x7fffffffu) > 0x7f800000u) {
            bits = uint16_t((u >> 16) | 0x40u);  // quiet NaN
        } else {
            u += 0x7fffu + ((u >> 16) & 1u);
            bits = uint16_t(u >> 16);
        }
    }
    MARROW_HOST_DEVICE operator float() const { return std::bit_cast<float>(uint32_t(bits) << 16); }
};

// X(enumerator, C++ type, printed name, safetensors tag)
#define MARROW_FORALL_DTYPES(X)                     \
    X(f32, float, "float32", "F32")                 \
    X(f64, double, "float64", "F64")                \
    X(f16, ::marrow::Half, "float16", "F16")        \
    X(bf16, ::marrow::BFloat16, "bfloat16", "BF16") \
    X(i32, int32_t, "int32", "I32")                 \
    X(i64, int64_t, "int64", "I64")                 \
    X(u8, uint8_t, "uint8", "U8")                   \
    X(b8, bool, "bool", "BOOL")

enum class DType : uint8_t {
#define MARROW_DTYPE_ENUM(name, type, str, tag) name,
    MARROW_FORALL_DTYPES(MARROW_DTYPE_ENUM)
#undef MARROW_DTYPE_ENUM
};

inline constexpr int kNumDTypes = 8;

constexpr size_t dtype_size(DType d) {
    switch (d) {
#define MARROW_DTYPE_SIZE(name, type, str, tag) \
    case DType::name:                           \
        return sizeof(type);
        MARROW_FORALL_DTYPES(MARROW_DTYPE_SIZE)
#undef MARROW_DTYPE_SIZE
    }
    return 0;
}

constexpr std::string_view dtype_name(DType d) {
    switch (d) {
#define MARROW_DTYPE_NAME(name, type, str, tag) \
    case DType::name:                           \
        return str;
        MARROW_FORALL_DTYPES(MARROW_DTYPE_NAME)
#undef MARROW_DTYPE_NAME
    }
    return "?";
}

constexpr std::string_view dtype_safetensors_tag(DType d) {
    switch (d) {
#define MARROW_DTYPE_TAG(name, type, str, tag) \
    case DType::name:                          \
        return tag;
        MARROW_FORALL_DTYPES(MARROW_DTYPE_TAG)
#undef MARROW_DTYPE_TAG
    }
    return "?";
}

constexpr bool is_floating(DType d) {
    return d == DType::f32 || d == DType::f64 || d == DType::f16 || d == DType::bf16;
}

template <typename T>
struct dtype_of;
#define MARROW_DTYPE_OF(name, type, str, tag)       \
    template <>                                     \
    struct dtype_of<type> {                         \
        static constexpr DType value = DType::name; \
    };
MARROW_FORALL_DTYPES(MARROW_DTYPE_OF)
#undef MARROW_DTYPE_OF
template <typename T>
inline constexpr DType dtype_v = dtype_of<T>::value;

// Calls fn.template operator()<T>() with the C++ type of `d`, for every dtype.
template <typename Fn>
decltype(auto) visit_dtype(DType d, Fn&& fn) {
    switch (d) {
#define MARROW_DTYPE_VISIT(name, type, str, tag) \
    case DType::name:                            \
        return fn.template operator()<type>();
        MARROW_FORALL_DTYPES(MARROW_DTYPE_VISIT)
#undef MARROW_DTYPE_VISIT
    }
    fail("visit_dtype: invalid dtype {}", int(d));
}

// The compute types (f32, f64): ops that do arithmetic accept these and name the op otherwise.
template <typename Fn>
decltype(auto) visit_float(DType d, std::string_view op, Fn&& fn) {
    switch (d) {
        case DType::f32:
            return fn.template operator()<float>();
        case DType::f64:
            return fn.template operator()<double>();
        default:
            fail(
                "{}: dtype {} is not supported (compute dtypes are float32 and float64; "
                "convert f16/bf16 first with to(t, DType::f32) or t.to(DType::f32))",
                op, dtype_name(d));
    }
}

}  // namespace marrow

#if !defined(__CUDACC__)
template <>
struct fmt::formatter<marrow::DType> : fmt::formatter<std::string_view> {
    auto format(marrow::DType d, format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(marrow::dtype_name(d), ctx);
    }
};
#else
namespace marrow {
inline void append_arg(std::ostringstream& os, DType d) { os << dtype_name(d); }
}  // namespace marrow
#endif
