// The op-case registry: every op listed once with how to make its inputs (shape, value
// domain, memory layout) and how to call it. One registry drives every mode: float64
// gradcheck (test_gradcheck.cpp), PyTorch golden (test_golden.cpp; the generator script
// reads this registry's JSON from `op_cases --json`), and later CUDA parity and bench sizes.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"
#include "tests/ops/tolerances.h"

namespace marrow::test {

enum class Domain {
    any,       // standard normal
    positive,  // uniform [0.5, 2.0]
    nonzero,   // standard normal pushed away from 0 (|x| >= 0.2): kinks of abs/relu/sign
    index,     // int64 in [0, index_high)
};

enum class Layout {
    contiguous,
    transposed,  // a transpose view of contiguous memory (last two dims swapped)
    strided,     // every other element of a buffer twice as wide in the last dim
};

struct InputSpec {
    Shape shape;
    Domain domain = Domain::any;
    Layout layout = Layout::contiguous;
    bool differentiable = true;  // false: a constant input (indices, masks, conditions)
    int64_t index_high = 0;
};

struct OpCase {
    std::string name;  // unique case name, the key in the golden fixture
    std::string op;    // the API op it exercises (coverage is counted per op)
    std::vector<InputSpec> inputs;
    std::function<Tensor(const std::vector<Tensor>&)> fn;
    TolClass tol = TolClass::elementwise;
    bool differentiable = true;  // false: forward-only (bool/int outputs), golden mode only
};

const std::vector<OpCase>& op_cases();

// Lays `values` (contiguous, shape spec.shape) out as the spec asks; same values, new strides.
Tensor apply_layout(const Tensor& values, Layout layout);
// Fresh random inputs for a case (gradcheck mode), float64, laid out per spec.
std::vector<Tensor> make_inputs(const OpCase& c, uint64_t seed);

// The differentiable API ops the foundation issue lists; tests check each is in the registry.
const std::vector<std::string>& required_differentiable_ops();

}  // namespace marrow::test
