#include "tensor/autocast.h"

namespace marrow {
namespace {
thread_local std::optional<DType> t_autocast;
}  // namespace

std::optional<DType> autocast_dtype() { return t_autocast; }

void set_autocast_dtype(std::optional<DType> dtype) {
    MARROW_CHECK(!dtype || *dtype == DType::bf16 || *dtype == DType::f16,
                 "autocast: expected bfloat16 or float16, got {}", *dtype);
    t_autocast = dtype;
}

GemmPrecision gemm_precision(DType dtype, std::optional<GemmPrecision> explicit_precision) {
    if (dtype != DType::f32) return GemmPrecision::full;
    if (explicit_precision) return *explicit_precision;
    if (!t_autocast) return GemmPrecision::full;
    return *t_autocast == DType::bf16 ? GemmPrecision::bf16 : GemmPrecision::f16;
}

std::string_view gemm_precision_name(GemmPrecision precision) {
    switch (precision) {
        case GemmPrecision::full:
            return "full";
        case GemmPrecision::bf16:
            return "bf16";
        case GemmPrecision::f16:
            return "f16";
    }
    return "?";
}

}  // namespace marrow
