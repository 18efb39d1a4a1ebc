// Golden mode of the op-case registry: runs every case on the inputs PyTorch saw (written by
// tests/golden/gen/gen_ops.py into tests/golden/fixtures/ops.safetensors) and compares the
// outputs and input gradients with torch's, in float64 and in float32. Every registry case
// must be in the fixture, and every fixture case in the registry (no stale goldens).
#include <doctest/doctest.h>

#include <set>

#include "autograd/ops.h"
#include "tensor/safetensors.h"
#include "tests/compare.h"
#include "tests/ops/op_cases.h"

using namespace marrow;
using namespace marrow::test;

namespace {

const SafetensorsFile& fixture() {
    static const SafetensorsFile file =
        load_safetensors(MARROW_SOURCE_DIR "/tests/golden/fixtures/ops.safetensors");
    return file;
}

const Tensor& get(const std::string& key) {
    auto it = fixture().tensors.find(key);
    if (it == fixture().tensors.end())
        fail(
            "golden fixture has no \"{}\": regenerate it with "
            "tools/regen_golden.sh",
            key);
    return it->second;
}

void check_close(const Tensor& ours, const Tensor& ref, Tolerance tol, const std::string& what) {
    Comparison cmp = compare(ours, ref, tol);
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

void run_case(const OpCase& c, DType dtype) {
    std::vector<Tensor> inputs;
    for (size_t i = 0; i < c.inputs.size(); ++i) {
        Tensor v = get(fmt::format("{}/in{}", c.name, i));
        if (c.inputs[i].domain != Domain::index) v = to(v, dtype);
        Tensor x = apply_layout(v, c.inputs[i].layout);
        if (c.inputs[i].differentiable && c.differentiable) x.requires_grad_();
        inputs.push_back(x);
    }
    std::string tag = dtype == DType::f64 ? "f64" : "f32";
    Tolerance tol = tolerance(c.tol, dtype);
    Tensor out = c.fn(inputs);
    check_close(out, get(fmt::format("{}/out.{}", c.name, tag)), tol, "output");
    if (!c.differentiable) return;
    out.backward(to(get(c.name + "/gout"), dtype));
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].requires_grad()) continue;
        REQUIRE(inputs[i].has_grad());
        check_close(inputs[i].grad(), get(fmt::format("{}/grad{}.{}", c.name, i, tag)), tol,
                    fmt::format("gradient of input {}", i));
    }
}

}  // namespace

TEST_CASE("golden: every op case against PyTorch, float64 and float32") {
    std::set<std::string> ops, names;
    int cases = 0;
    for (const OpCase& c : op_cases()) {
        for (DType dtype : {DType::f64, DType::f32}) {
            CAPTURE(c.name);
            CAPTURE(dtype);
            run_case(c, dtype);
        }
        ops.insert(c.op);
        names.insert(c.name);
        ++cases;
    }
    MESSAGE(
        fmt::format("golden mode (small tier, f64 and f32) covered {} ops in {} cases "
                    "(torch {})",
                    ops.size(), cases,
                    fixture().metadata.count("torch") ? fixture().metadata.at("torch") : "?"));
    for (const std::string& op : required_differentiable_ops()) {
        INFO("op ", op, " has no golden case");
        CHECK(ops.count(op) == 1);
    }
    for (const auto& item : fixture().tensors) {  // clang 14 cannot capture a binding (INFO)
        const std::string& key = item.first;
        std::string name = key.substr(0, key.find('/'));
        INFO("fixture key ", key, " names no registry case: regenerate with tools/regen_golden.sh");
        CHECK(names.count(name) == 1);
    }
}
