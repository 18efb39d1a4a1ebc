// The accumulator type of each element type (Note [Accumulator type]): what reductions,
// softmax and norm kernels sum, compare and combine in, on the CPU and in CUDA kernels (nvcc
// and the SIMT simulator) alike. Kernels load T, compute in acc_t<T>, and store T once at the
// end, so a bf16/f16 compute path only has to instantiate the same templates.
#pragma once
#include <cstdint>
#include <type_traits>

#include "tensor/dtype.h"

namespace marrow {

// Note [Accumulator type]
// float for f32, f16 and bf16 (as PyTorch's CUDA acc_type; the 16-bit formats carry 8 and 11
// significant bits, so a sum of more than a few hundred of them in their own format is wrong
// in the leading digit); double for f64 (gradcheck wants all of its bits); int64 for integer
// sums (no overflow at realistic sizes, as PyTorch's sum of ints returns int64).
// Not double for f32: PyTorch's CPU kernels accumulate f32 in double in a few places (cumsum),
// its CUDA kernels in float; one rule for both backends keeps CPU-vs-CUDA parity a matter of
// evaluation order only, and double is 1/2 to 1/64 of float's rate on GPUs.
template <typename T>
using acc_t = std::conditional_t<
    std::is_same_v<T, double>, double,
    std::conditional_t<std::is_same_v<T, float> || std::is_same_v<T, Half> ||
                           std::is_same_v<T, BFloat16>,
                       float, int64_t>>;

static_assert(std::is_same_v<acc_t<float>, float> && std::is_same_v<acc_t<BFloat16>, float> &&
              std::is_same_v<acc_t<Half>, float> && std::is_same_v<acc_t<double>, double> &&
              std::is_same_v<acc_t<int32_t>, int64_t> && std::is_same_v<acc_t<bool>, int64_t>);

}  // namespace marrow
