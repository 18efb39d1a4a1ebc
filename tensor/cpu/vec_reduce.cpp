// Vectorized float32 arg-max / arg-min over a contiguous row (tensor/cpu/vec_kernels.h): the
// extremum by 16-lane compare-and-blend (NaN tracked separately), then the first index holding
// it (the first NaN when there is one), scanned 16 lanes at a time. Same answer as the
// scalar loop: first occurrence, NaN wins, as PyTorch.
#include "tensor/cpu/isa.h"
#include "tensor/cpu/vec_kernels.h"
#include "tensor/cpu/vec_lanes.h"

namespace marrow::cpu {
namespace {

template <bool Max>
MARROW_VEC_INLINE RowArg arg_body(const float* __restrict x, int64_t n) {
    float best = row_extremum<Max>(x, n);
    bool nan = best != best;
    Lanes target = Lanes{} + best;
    int64_t full = n / kLanes * kLanes;
    for (int64_t i = 0; i < full; i += kLanes) {
        Lanes v = load(x + i);
        auto hit = nan ? (v != v) : (v == target);
        bool any = false;
        for (int64_t l = 0; l < kLanes; ++l) any |= hit[l] != 0;
        if (!any) continue;
        for (int64_t l = 0; l < kLanes; ++l)
            if (hit[l]) return {best, i + l};
    }
    for (int64_t i = full; i < n; ++i)
        if (nan ? x[i] != x[i] : x[i] == best) return {best, i};
    return {best, 0};  // n == 0 never reaches here (reductions over empty dims are errors)
}

MARROW_VEC_INLINE RowArg arg_dispatch(const float* x, int64_t n, bool want_max) {
    return want_max ? arg_body<true>(x, n) : arg_body<false>(x, n);
}
MARROW_TARGET_AVX512 RowArg arg_avx512(const float* x, int64_t n, bool want_max) {
    return arg_dispatch(x, n, want_max);
}
MARROW_TARGET_AVX2 RowArg arg_avx2(const float* x, int64_t n, bool want_max) {
    return arg_dispatch(x, n, want_max);
}
RowArg arg_base(const float* x, int64_t n, bool want_max) { return arg_dispatch(x, n, want_max); }

}  // namespace

RowArgFn fast_row_arg() {
    switch (cpu_isa()) {
        case Isa::avx512:
            return arg_avx512;
        case Isa::avx2:
            return arg_avx2;
        case Isa::base:
            break;
    }
    return arg_base;
}

}  // namespace marrow::cpu
