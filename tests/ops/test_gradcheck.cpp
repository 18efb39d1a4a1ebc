// Gradcheck mode of the op-case registry: every differentiable case at the small tier,
// float64, against central differences, with contiguous, transposed and strided inputs as the
// registry lays them out. Every differentiable op the foundation issue lists must be covered.
#include <doctest/doctest.h>

#include <set>

#include "autograd/gradcheck.h"
#include "tests/ops/op_cases.h"

using namespace marrow;
using namespace marrow::test;

TEST_CASE("gradcheck: every differentiable op case") {
    Tolerance tol = tolerance(TolClass::gradcheck, DType::f64);
    autograd::GradcheckOptions options{1e-6, tol.atol, tol.rtol};
    std::set<std::string> ops;
    int cases = 0;
    for (const OpCase& c : op_cases()) {
        if (!c.differentiable) continue;
        CAPTURE(c.name);
        std::vector<Tensor> inputs = make_inputs(c, 42);
        autograd::GradcheckResult r = autograd::gradcheck(c.fn, inputs, options);
        INFO(r.message);
        CHECK(r.ok);
        ops.insert(c.op);
        ++cases;
    }
    MESSAGE(fmt::format("gradcheck mode (small tier, f64) covered {} ops in {} cases", ops.size(),
                        cases));
    for (const std::string& op : required_differentiable_ops()) {
        INFO("differentiable op ", op, " has no differentiable case in the registry");
        CHECK(ops.count(op) == 1);
    }
}
