// Checks shared by the SSL loss-op tests (test_sinkhorn, test_crop_cross_entropy): closeness
// with the comparison's detail on failure, the spec oracles' tolerance, and error texts.
#pragma once
#include <doctest/doctest.h>

#include <functional>
#include <string>

#include "tensor/error.h"
#include "tests/compare.h"

namespace marrow::test {

inline void check_close(const Tensor& ours, const Tensor& ref, Tolerance tol) {
    Comparison cmp = compare(ours, ref, tol);
    INFO(cmp.detail);
    CHECK(cmp.ok);
}

// The spec prints its hand-checkable values to 6 decimals (tests/ops/tolerances.h).
inline constexpr Tolerance kSixDecimals = tolerance(TolClass::spec_oracle, DType::f64);

// The message fn throws (an Error), or "(no error)".
inline std::string error_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

inline bool has(const std::string& text, const std::string& part) {
    INFO(text);
    return text.find(part) != std::string::npos;
}

}  // namespace marrow::test
