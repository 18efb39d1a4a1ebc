// Element conversion between any two dtypes (copy/cast kernels on every backend): bool is
// "nonzero", f16/bf16 go through float, everything else is static_cast.
#pragma once
#include <type_traits>

#include "tensor/dtype.h"
#include "tensor/math/host_device.h"

namespace marrow::math {

template <typename D, typename S>
MARROW_HOST_DEVICE inline D convert(S s) {
    constexpr bool s_half = std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>;
    constexpr bool d_half = std::is_same_v<D, Half> || std::is_same_v<D, BFloat16>;
    if constexpr (std::is_same_v<D, S>)
        return s;
    else if constexpr (std::is_same_v<D, bool>)
        return float(s) != 0.0f;
    else if constexpr (s_half || d_half)
        return D(float(s));
    else
        return static_cast<D>(s);
}

}  // namespace marrow::math
