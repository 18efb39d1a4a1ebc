// Composed mode of the op-case registry: a fused op (softmax, log_softmax, logsumexp, later
// layer_norm and attention) names a composed twin built from differentiable elementwise and
// reduction ops (STYLE.md habit 8). Here the two run on the same values, CPU, at the small and
// parity tiers in float64 and float32, and outputs and input gradients must agree within the
// fused case's tolerance class. The twins are ordinary registry cases too, so gradcheck,
// golden and parity modes check them as well.
#include <doctest/doctest.h>

#include <set>

#include "autograd/ops.h"
#include "tests/compare.h"
#include "tests/ops/op_cases.h"

using namespace marrow;
using namespace marrow::test;

namespace {

void check_close(const Tensor& fused, const Tensor& composed, Tolerance tol,
                 const std::string& what) {
    Comparison cmp = compare(fused, composed, tol);
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

void compare_twins(const OpCase& fused, const OpCase& twin, Tier tier, DType dtype) {
    std::vector<Tensor> values = make_values(fused, shapes_at(fused, tier), dtype, 11);
    std::vector<Tensor> a = make_case_inputs(fused, values, Device::cpu());
    std::vector<Tensor> b = make_case_inputs(twin, values, Device::cpu());
    Tolerance tol = tolerance(tol_at(fused, tier), dtype);
    Tensor out_a = fused.fn(a), out_b = twin.fn(b);
    check_close(out_a, out_b, tol, "output");
    Generator gen(12);
    Tensor gout = randn(out_a.shape(), dtype, Device::cpu(), gen);
    out_a.backward(gout);
    out_b.backward(gout);
    for (size_t i = 0; i < a.size(); ++i) {
        if (!a[i].requires_grad()) continue;
        REQUIRE(a[i].has_grad());
        REQUIRE(b[i].has_grad());
        check_close(a[i].grad(), b[i].grad(), tol, fmt::format("gradient of input {}", i));
    }
}

}  // namespace

TEST_CASE("composed: every fused op against its composed twin, forward and backward") {
    std::set<std::string> ops;
    int runs = 0;
    for (const OpCase& c : op_cases()) {
        if (c.composed.empty()) continue;
        const OpCase& twin = op_case(c.composed);
        CAPTURE(c.name);
        REQUIRE(twin.inputs.size() == c.inputs.size());
        for (Tier tier : {Tier::small, Tier::parity}) {
            if (shapes_at(c, tier).empty()) continue;
            for (DType dtype : {DType::f64, DType::f32}) {
                CAPTURE(tier_name(tier));
                CAPTURE(dtype);
                compare_twins(c, twin, tier, dtype);
                ++runs;
            }
        }
        ops.insert(c.op);
    }
    MESSAGE(
        fmt::format("composed mode (small and parity tiers, f64 and f32) covered {} fused ops "
                    "in {} runs",
                    ops.size(), runs));
    // the fused ops that must keep a composed reference
    for (const char* op : {"softmax", "log_softmax", "logsumexp", "batch_norm"}) {
        INFO("fused op ", op, " has no case naming a composed twin");
        CHECK(ops.count(op) == 1);
    }
}
