// Large-size parity (label gpu): only meaningful, and only registered, in nvcc builds, where
// tools/gpu_check.sh runs it natively. Sizes well past one block or tile: multi-wave grids,
// long rows, big K.
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

namespace {
void check_close(const Tensor& dev, const Tensor& cpu, TolClass tol, const char* what) {
    Comparison cmp = compare(to(dev, Device::cpu()), cpu, tolerance(tol, DType::f32));
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}
}  // namespace

TEST_CASE("large sizes on the GPU match the CPU") {
    Generator gen(21);
    auto dev = [](const Tensor& t) { return to(t, Device::cuda()); };
    Tensor a = randn({1000, 512}, DType::f32, Device::cpu(), gen);
    Tensor b = randn({512, 777}, DType::f32, Device::cpu(), gen);
    check_close(mm(dev(a), dev(b)), mm(a, b), TolClass::matmul_deep, "mm 1000x512x777");
    Tensor x = randn({4096, 1024}, DType::f32, Device::cpu(), gen);
    check_close(sum(dev(x), {1}), sum(x, {1}), TolClass::reduction, "row sums");
    check_close(sum(dev(x), {0}), sum(x, {0}), TolClass::reduction, "column sums");
    check_close(softmax(dev(x), 1), softmax(x, 1), TolClass::transcendental, "softmax");
    check_close(log_softmax(dev(x), 1), log_softmax(x, 1), TolClass::transcendental, "log_softmax");
    check_close(gelu(dev(x)), gelu(x), TolClass::transcendental, "gelu");
    check_close(dev(x) + dev(x), x + x, TolClass::elementwise, "add");
    Tensor r = randn({1 << 22}, DType::f32, Device::cuda(), gen);
    CHECK(std::abs(mean(r).item()) < 0.01);
}
