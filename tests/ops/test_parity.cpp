// Parity mode of the op-case registry: every case runs on the CPU and on the CUDA backend
// (the SIMT simulator in CI, the GPU under tools/gpu_check.sh) in float32, with the
// registry's contiguous, transposed, strided and broadcast layouts, and the outputs and
// input gradients are compared with the tolerance file's bounds (NMSE reported).
//
// While the CUDA backend is being built (see the CUDA backend issue), a case whose op has no
// CUDA kernel yet is listed, not failed; every case that runs must match.
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
    std::vector<Tensor> inputs;
    for (size_t i = 0; i < values.size(); ++i) {
        Tensor x = apply_layout(to(values[i], device), c.inputs[i].layout);
        if (c.inputs[i].differentiable && c.differentiable) x.requires_grad_();
        inputs.push_back(x);
    }
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

}  // namespace

TEST_CASE("parity: CPU vs CUDA, forward and backward, float32") {
    std::set<std::string> ops;
    std::vector<std::string> pending;
    int ran = 0;
    for (const OpCase& c : op_cases()) {
        CAPTURE(c.name);
        std::vector<Tensor> values;
        for (const Tensor& t : make_inputs(c, 7)) {
            Tensor v = op::contiguous(detach(t));
            values.push_back(is_floating(v.dtype()) ? to(v, DType::f32) : v);
        }
        try {
            Run cpu = run_on(c, values, Device::cpu(), std::nullopt);
            std::optional<Tensor> gout;
            if (c.differentiable) {
                Generator gen(99);
                gout = randn(cpu.out.shape(), DType::f32, Device::cpu(), gen);
                cpu = run_on(c, values, Device::cpu(), gout);
            }
            Run dev = run_on(c, values, Device::cuda(), gout);
            check_close(dev.out, cpu.out, c.tol, "output");
            for (size_t i = 0; i < cpu.grads.size(); ++i) {
                if (!cpu.grads[i]) continue;
                REQUIRE(dev.grads[i].has_value());
                check_close(*dev.grads[i], *cpu.grads[i], c.tol,
                            fmt::format("gradient of input {}", i));
            }
            ops.insert(c.op);
            ++ran;
        } catch (const Error& e) {
            std::string what = e.what();
            if (what.find("has no CUDA implementation") == std::string::npos) throw;
            pending.push_back(fmt::format("{} ({})", c.name, what.substr(0, what.find(" has"))));
        }
    }
    MESSAGE(fmt::format("parity mode covered {} ops in {} cases; {} cases wait for CUDA kernels",
                        ops.size(), ran, pending.size()));
    if (!pending.empty()) MESSAGE(fmt::format("waiting: {}", fmt::join(pending, ", ")));
}

// Sizes that cross the CUDA kernels' tile, block and warp edges (the registry's cases are
// small): GEMM tiles of 64 and K steps of 16, rows longer than a 256-thread block, column
// paths, many rows.
TEST_CASE("parity at sizes crossing tile and block edges") {
    Generator gen(5);
    auto check = [](const Tensor& dev, const Tensor& cpu, TolClass tol, const char* what) {
        check_close(dev, cpu, tol, what);
    };
    auto on_dev = [](const Tensor& t) { return to(t, Device::cuda()); };
    Tensor a = randn({3, 130, 40}, DType::f32, Device::cpu(), gen);
    Tensor b = randn({3, 70, 40}, DType::f32, Device::cpu(), gen);
    Tensor bt = transpose(b, 1, 2);  // (3, 40, 70), strided
    check(bmm(on_dev(a), on_dev(bt)), bmm(a, bt), TolClass::matmul_deep, "bmm 130x40x70");
    Tensor b4 = randn({3, 40, 72}, DType::f32, Device::cpu(), gen);  // row-major, N % 4 == 0
    check(bmm(on_dev(a), on_dev(b4)), bmm(a, b4), TolClass::matmul_deep,
          "bmm 130x40x72 (16-byte tile loads)");
    Tensor x = randn({5, 1000}, DType::f32, Device::cpu(), gen);
    check(sum(on_dev(x), {1}), sum(x, {1}), TolClass::reduction, "row sums");
    check(sum(on_dev(x), {0}), sum(x, {0}), TolClass::reduction, "column sums");
    check(max(on_dev(x), 1).second, max(x, 1).second, TolClass::exact, "argmax rows");
    check(var(on_dev(x), {1}), var(x, {1}), TolClass::reduction, "var rows");
    check(logsumexp(on_dev(x), {1}), logsumexp(x, {1}), TolClass::transcendental, "logsumexp");
    check(softmax(on_dev(x), 1), softmax(x, 1), TolClass::transcendental, "softmax rows");
    check(log_softmax(on_dev(x), 0), log_softmax(x, 0), TolClass::transcendental,
          "log_softmax columns");
    check(cumsum(on_dev(x), 1), cumsum(x, 1), TolClass::reduction, "cumsum");
    check(topk(on_dev(x), 7, 1).second, topk(x, 7, 1).second, TolClass::exact, "topk indices");
    Tensor w = contiguous(narrow(x, 1, 0, 150));  // rows longer than 64: a block per row
    check(sort(on_dev(w), 1, true).first, sort(w, 1, true).first, TolClass::exact,
          "sort long rows");
    Tensor with_nan = masked_fill(w, gt(w, 2.0), std::nan(""));  // NaN sorts last
    check(sort(on_dev(with_nan), 1).second, sort(with_nan, 1).second, TolClass::exact,
          "sort with NaN");
    Tensor ties = clamp(x, -0.5, 0.5);  // many equal values: ties go by index
    check(topk(on_dev(ties), 50, 1, false).second, topk(ties, 50, 1, false).second, TolClass::exact,
          "topk with ties");
    Tensor big = randn({300000}, DType::f32, Device::cpu(), gen);
    check(gelu(on_dev(big)), gelu(big), TolClass::transcendental, "gelu, many blocks");
    check(on_dev(big) * on_dev(big), big * big, TolClass::elementwise, "mul, many blocks");
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
