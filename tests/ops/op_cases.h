// The op-case registry: every op listed once with how to make its inputs (shape, value
// domain, memory layout), how to call it, and its size tiers. One registry drives every mode:
//   small   float64 gradcheck (test_gradcheck.cpp), PyTorch golden (test_golden.cpp; the
//           generator reads this registry's JSON from `op_cases_json`), CPU-vs-CUDA parity
//   parity  CPU-vs-CUDA parity at sizes just across the kernels' tile, block and vector edges
//           (test_parity.cpp), which also takes the CPU's vectorized and blocked paths
//   bench   bench/bench_ops (forward, and forward+backward where asked) and its PyTorch peer
// A fused op names its composed twin (a case built from differentiable elementwise and
// reduction ops); test_composed.cpp checks the two agree. Cases live per family in
// tests/ops/cases/*.cpp; their PyTorch twins in tests/golden/gen/gen_ops.py by case name.
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

enum class Tier { small, parity, bench };
const char* tier_name(Tier tier);

struct InputSpec {
    Shape shape;  // at the small tier
    Domain domain = Domain::any;
    Layout layout = Layout::contiguous;
    bool differentiable = true;  // false: a constant input (indices, masks, conditions)
    int64_t index_high = 0;
};

enum class BenchOn { both, cpu, cuda };

// One benchmark size of a case. Bench inputs are contiguous whatever the case's layout: a
// benchmark times the dense fast path, as the peers do.
struct BenchSize {
    std::string name;           // the benchmark's case name, stable across runs (docs/perf/)
    std::vector<Shape> shapes;  // one per input
    BenchOn on = BenchOn::both;
    bool backward = false;  // also time forward+backward as "<name>_bwd"
};

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

struct OpCase {
    std::string name;    // unique case name, the key in the golden fixture
    std::string op;      // the API op it exercises (coverage is counted per op)
    std::string family;  // unary, binary, reduce, gemm, softmax, shape, index (bench label)
    std::vector<InputSpec> inputs;
    OpFn fn;
    TolClass tol = TolClass::elementwise;
    bool differentiable = true;        // false: forward-only (bool/int outputs), no gradients
    std::vector<Shape> parity_shapes;  // one per input; empty: no parity-tier run
    std::vector<BenchSize> bench;
    std::string composed;  // the name of this fused op's composed twin case, if any
};

const std::vector<OpCase>& op_cases();
const OpCase& op_case(const std::string& name);

// The input shapes of `c` at the small or parity tier (empty when it has no parity shapes).
std::vector<Shape> shapes_at(const OpCase& c, Tier tier);
// The tolerance class at a tier: the parity tier's matrix products have K in the tens, so
// matmul there is matmul_deep (tolerances.h).
TolClass tol_at(const OpCase& c, Tier tier);

// Lays `values` (contiguous, shape spec.shape) out as the spec asks; same values, new strides.
Tensor apply_layout(const Tensor& values, Layout layout);
// Random contiguous CPU values for a case's inputs at `shapes`, per input domain; floating
// inputs in `dtype`, indices int64.
std::vector<Tensor> make_values(const OpCase& c, const std::vector<Shape>& shapes, DType dtype,
                                uint64_t seed);
// The inputs `c.fn` takes: values moved to `device`, laid out per spec (or contiguous), and
// differentiable ones marked requires_grad.
std::vector<Tensor> make_case_inputs(const OpCase& c, const std::vector<Tensor>& values,
                                     Device device, bool apply_layouts = true);
// Fresh float64 small-tier inputs for a case (gradcheck mode), laid out per spec.
std::vector<Tensor> make_inputs(const OpCase& c, uint64_t seed);

// The differentiable API ops the foundation issue lists; tests check each is in the registry.
const std::vector<std::string>& required_differentiable_ops();

}  // namespace marrow::test
