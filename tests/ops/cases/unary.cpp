// Unary elementwise cases. Parity tier: 7 x 587 = 4109 elements, past 16 CUDA blocks of 256
// threads with a float4 tail of 1 and a 16-lane AVX-512 tail of 13.
#include "tests/ops/cases/cases.h"

namespace marrow::test::cases {

void add_unary(std::vector<OpCase>& list) {
    // One case per statement, its tiers chained under it (clang-format would split them).
    // clang-format off
    CaseList c(list, "unary");
    const std::vector<Shape> edge = {{7, 587}};
    c.add("neg", "neg", {in({3, 4})}, [](const T& x) { return neg(x[0]); }, kEw).parity(edge);
    c.add("abs", "abs", {in({3, 4}, kNZ, kT)}, [](const T& x) { return abs(x[0]); }, kEw)
        .parity(edge);
    c.add("sign", "sign", {in({3, 4}, kNZ)}, [](const T& x) { return sign(x[0]); }, kEw)
        .parity(edge);
    c.add("exp", "exp", {in({3, 4})}, [](const T& x) { return exp(x[0]); }, kTr)
        .parity(edge)
        .bench("exp_4M", {{k4M}});
    c.add("exp_strided", "exp", {in({3, 4}, kAny, kS)}, [](const T& x) { return exp(x[0]); }, kTr)
        .parity(edge);
    c.add("log", "log", {in({3, 4}, kPos)}, [](const T& x) { return log(x[0]); }, kTr)
        .parity(edge);
    c.add("log1p", "log1p", {in({3, 4}, kPos)}, [](const T& x) { return log1p(x[0]); }, kTr)
        .parity(edge);
    c.add("sqrt", "sqrt", {in({3, 4}, kPos)}, [](const T& x) { return sqrt(x[0]); }, kEw)
        .parity(edge);
    c.add("rsqrt", "rsqrt", {in({3, 4}, kPos)}, [](const T& x) { return rsqrt(x[0]); }, kTr)
        .parity(edge);
    c.add("sin", "sin", {in({3, 4})}, [](const T& x) { return sin(x[0]); }, kTr).parity(edge);
    c.add("cos", "cos", {in({3, 4})}, [](const T& x) { return cos(x[0]); }, kTr).parity(edge);
    c.add("tanh", "tanh", {in({3, 4}, kAny, kT)}, [](const T& x) { return tanh(x[0]); }, kTr)
        .parity(edge)
        .bench("tanh_4M", {{k4M}});
    c.add("sigmoid", "sigmoid", {in({3, 4})}, [](const T& x) { return sigmoid(x[0]); }, kTr)
        .parity(edge);
    c.add("relu", "relu", {in({3, 4}, kNZ)}, [](const T& x) { return relu(x[0]); }, kEw)
        .parity(edge)
        .bench("relu_4M", {{k4M}});
    c.add("gelu", "gelu", {in({3, 4})}, [](const T& x) { return gelu(x[0]); }, kTr)
        .parity(edge)
        .bench_bwd("gelu_4M", {{k4M}});
    c.add("gelu_tanh", "gelu", {in({3, 4})}, [](const T& x) { return gelu(x[0], "tanh"); }, kTr)
        .parity(edge);
    c.add("silu", "silu", {in({3, 4})}, [](const T& x) { return silu(x[0]); }, kTr).parity(edge);
    c.add("softplus", "softplus", {in({3, 4})},
          [](const T& x) { return softplus(x[0], 2, 3); }, kTr)
        .parity(edge);
    c.add("clamp", "clamp", {in({3, 4})}, [](const T& x) { return clamp(x[0], -0.5, 0.7); }, kEw)
        .parity(edge);
    c.add("pow_scalar", "pow", {in({3, 4}, kPos)}, [](const T& x) { return pow(x[0], 2.5); }, kTr)
        .parity(edge);
    c.add("square", "pow", {in({3, 4})}, [](const T& x) { return pow(x[0], 2.0); }, kEw)
        .parity(edge);
    c.add("reciprocal", "reciprocal", {in({3, 4}, kPos)},
          [](const T& x) { return reciprocal(x[0]); }, kEw)
        .parity(edge);
    // clang-format on
}

}  // namespace marrow::test::cases
