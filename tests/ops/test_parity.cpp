// Parity mode of the op-case registry: every case runs on the CPU and on the CUDA backend
// (the SIMT simulator in CI, the GPU under tools/gpu_check.sh) in float32, forward and
// backward, with the registry's contiguous, transposed, strided and broadcast layouts, at the
// small tier and, where a case has them, at the parity tier's sizes across the kernels' tile,
// block and vector edges. Outputs and input gradients are compared with the tolerance file's
// bounds (NMSE reported). Every op must have its CUDA kernels: a missing one is a failure.
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "autograd/ops.h"
#include "tensor/ops/copy.h"
#include "tests/compare.h"
#include "tests/ops/op_cases.h"

using namespace marrow;
using namespace marrow::test;

namespace {

struct Run {
    Tensor out;
    std::vector<std::optional<Tensor>> grads;
};

Run run_on(const OpCase& c, const std::vector<Tensor>& values, Device device,
           const std::optional<Tensor>& gout) {
    std::vector<Tensor> inputs = make_case_inputs(c, values, device);
    Run r{c.fn(inputs), {}};
    if (gout) {
        r.out.backward(to(*gout, device));
        for (const Tensor& x : inputs)
            r.grads.push_back(x.has_grad() ? std::optional<Tensor>(x.grad()) : std::nullopt);
    }
    return r;
}

void check_close(const Tensor& dev, const Tensor& cpu, TolClass tol, const std::string& what) {
    Comparison cmp = compare(to(dev, Device::cpu()), cpu, tolerance(tol, DType::f32));
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

// One case at one tier on both backends.
void run_case(const OpCase& c, Tier tier) {
    std::vector<Tensor> values = make_values(c, shapes_at(c, tier), DType::f32, 7);
    TolClass tol = tol_at(c, tier);
    Run cpu = run_on(c, values, Device::cpu(), std::nullopt);
    std::optional<Tensor> gout;
    if (c.differentiable) {
        Generator gen(99);
        gout = randn(cpu.out.shape(), DType::f32, Device::cpu(), gen);
        cpu = run_on(c, values, Device::cpu(), gout);
    }
    Run dev = run_on(c, values, Device::cuda(), gout);
    check_close(dev.out, cpu.out, tol, "output");
    for (size_t i = 0; i < cpu.grads.size(); ++i) {
        if (!cpu.grads[i]) continue;
        REQUIRE(dev.grads[i].has_value());
        check_close(*dev.grads[i], *cpu.grads[i], tol, fmt::format("gradient of input {}", i));
    }
}

void run_tier(Tier tier) {
    std::set<std::string> ops;
    std::vector<std::string> missing;
    int ran = 0;
    for (const OpCase& c : op_cases()) {
        if (shapes_at(c, tier).empty()) continue;
        CAPTURE(c.name);
        CAPTURE(tier_name(tier));
        try {
            run_case(c, tier);
            ops.insert(c.op);
            ++ran;
        } catch (const Error& e) {
            std::string what = e.what();
            if (what.find("has no CUDA implementation") == std::string::npos) throw;
            missing.push_back(fmt::format("{} ({})", c.name, what.substr(0, what.find(" has"))));
        }
    }
    MESSAGE(fmt::format("parity mode ({} tier, f32) covered {} ops in {} cases", tier_name(tier),
                        ops.size(), ran));
    INFO("cases whose op lacks a CUDA kernel: ", fmt::format("{}", fmt::join(missing, ", ")));
    CHECK(missing.empty());
}

}  // namespace

TEST_CASE("parity: CPU vs CUDA, forward and backward, float32, small tier") {
    run_tier(Tier::small);
    // the small tier holds every case, so every op of the registry ran on the CUDA backend
    std::set<std::string> all;
    for (const OpCase& c : op_cases()) all.insert(c.op);
    for (const std::string& op : required_differentiable_ops()) {
        INFO("op ", op, " is not in the registry");
        CHECK(all.count(op) == 1);
    }
}

TEST_CASE("parity: CPU vs CUDA at sizes across tile, block and vector edges (parity tier)") {
    run_tier(Tier::parity);
}

// Values the registry's domains do not make: NaN (sorts last) and many ties (go by index).
TEST_CASE("parity: sort with NaN and topk with ties") {
    Generator gen(5);
    Tensor x = randn({2, 70}, DType::f32, Device::cpu(), gen);  // rows past 64: a block per row
    auto on_dev = [](const Tensor& t) { return to(t, Device::cuda()); };
    Tensor with_nan = masked_fill(x, gt(x, 1.0), std::nan(""));  // ~16% NaN
    check_close(sort(on_dev(with_nan), 1).second, sort(with_nan, 1).second, TolClass::exact,
                "sort with NaN");
    Tensor ties = clamp(x, -0.5, 0.5);  // many equal values
    check_close(topk(on_dev(ties), 20, 1, false).second, topk(ties, 20, 1, false).second,
                TolClass::exact, "topk with ties");
}

TEST_CASE("the CUDA backend draws the same Philox stream as the CPU") {
    Generator g_cpu(123), g_dev(123);
    Tensor c = randn({1001}, DType::f32, Device::cpu(), g_cpu);
    Tensor d = randn({1001}, DType::f32, Device::cuda(), g_dev);
    check_close(d, c, TolClass::exact, "randn");
    Tensor u = rand({77}, DType::f64, Device::cpu(), g_cpu);
    Tensor v = rand({77}, DType::f64, Device::cuda(), g_dev);
    check_close(v, u, TolClass::exact, "rand f64");
}

TEST_CASE("f16 and bf16 casts on the CUDA backend round like the CPU's") {
    Generator gen(8);
    Tensor x = randn({3, 1000}, DType::f32, Device::cpu(), gen) * 100.0;
    for (DType storage : {DType::f16, DType::bf16}) {
        CAPTURE(storage);
        Tensor cpu = to(to(x, storage), DType::f32);
        Tensor dev = to(to(to(x, Device::cuda()), storage), DType::f32);
        check_close(dev, cpu, TolClass::exact, "cast round trip");
        Tensor strided = transpose(to(x, Device::cuda()), 0, 1);  // cast through a strided view
        check_close(to(strided, storage), to(transpose(x, 0, 1), storage), TolClass::exact,
                    "strided cast");
    }
}
