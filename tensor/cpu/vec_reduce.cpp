// Vectorized float32 arg-max / arg-min over a contiguous row (tensor/cpu/vec_kernels.h): the
// extremum by vector compare-and-blend (NaN tracked separately), then the first index holding
// it (the first NaN when there is one), scanned a vector at a time. Same answer as the
// scalar loop: first occurrence, NaN wins, as PyTorch.
#include "tensor/cpu/isa.h"
#include "tensor/cpu/vec_kernels.h"
#include "tensor/cpu/vec_lanes.h"

namespace marrow::cpu {
namespace {

template <int W, bool Max>
MARROW_VEC_INLINE RowArg arg_body(const float* __restrict x, int64_t n) {
    float best = row_extremum<W, Max>(x, n);
    bool nan = best != best;
    Lanes<W> target = Lanes<W>{} + best;
    int64_t full = n / W * W;
    for (int64_t i = 0; i < full; i += W) {
        Lanes<W> v = load<W>(x + i);
        auto hit = nan ? (v != v) : (v == target);
        bool any = false;
        for (int l = 0; l < W; ++l) any |= hit[l] != 0;
        if (!any) continue;
        for (int l = 0; l < W; ++l)
            if (hit[l]) return {best, i + l};
    }
    for (int64_t i = full; i < n; ++i)
        if (nan ? x[i] != x[i] : x[i] == best) return {best, i};
    return {best, 0};  // n == 0 never reaches here (reductions over empty dims are errors)
}

template <int W>
MARROW_VEC_INLINE RowArg arg_dispatch(const float* x, int64_t n, bool want_max) {
    return want_max ? arg_body<W, true>(x, n) : arg_body<W, false>(x, n);
}
MARROW_TARGET_AVX512 RowArg arg_avx512(const float* x, int64_t n, bool want_max) {
    return arg_dispatch<16>(x, n, want_max);
}
MARROW_TARGET_AVX2 RowArg arg_avx2(const float* x, int64_t n, bool want_max) {
    return arg_dispatch<8>(x, n, want_max);
}
RowArg arg_base(const float* x, int64_t n, bool want_max) {
    return arg_dispatch<4>(x, n, want_max);
}

}  // namespace

RowArgFn fast_row_arg() { return for_isa<RowArgFn>(arg_avx512, arg_avx2, arg_base); }

}  // namespace marrow::cpu
