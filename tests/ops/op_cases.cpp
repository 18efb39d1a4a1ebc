// The registry's entries. The PyTorch twin of every `fn` is in tests/golden/gen/gen_ops.py
// under the same case name.
#include "tests/ops/op_cases.h"

#include "autograd/ops.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/view.h"

namespace marrow::test {
namespace {

using T = std::vector<Tensor>;

InputSpec in(Shape s, Domain d = Domain::any, Layout l = Layout::contiguous) {
    return {std::move(s), d, l, true, 0};
}
InputSpec index(Shape s, int64_t high) {
    return {std::move(s), Domain::index, Layout::contiguous, false, high};
}
InputSpec constant(Shape s) { return {std::move(s), Domain::any, Layout::contiguous, false, 0}; }

constexpr Layout kT = Layout::transposed;
constexpr Layout kS = Layout::strided;
constexpr Domain kPos = Domain::positive;
constexpr Domain kNZ = Domain::nonzero;
constexpr TolClass kExact = TolClass::exact;
constexpr TolClass kEw = TolClass::elementwise;
constexpr TolClass kTr = TolClass::transcendental;
constexpr TolClass kRed = TolClass::reduction;
constexpr TolClass kMm = TolClass::matmul;

std::vector<OpCase> build() {
    std::vector<OpCase> c;
    auto add = [&](std::string name, std::string op, std::vector<InputSpec> inputs,
                   std::function<Tensor(const T&)> fn, TolClass tol, bool diff = true) {
        c.push_back({std::move(name), std::move(op), std::move(inputs), std::move(fn), tol, diff});
    };
    // ---- unary
    add(
        "neg", "neg", {in({3, 4})}, [](const T& x) { return neg(x[0]); }, kEw);
    add(
        "abs", "abs", {in({3, 4}, kNZ, kT)}, [](const T& x) { return abs(x[0]); }, kEw);
    add(
        "sign", "sign", {in({3, 4}, kNZ)}, [](const T& x) { return sign(x[0]); }, kEw);
    add(
        "exp", "exp", {in({3, 4})}, [](const T& x) { return exp(x[0]); }, kTr);
    add(
        "exp_strided", "exp", {in({3, 4}, Domain::any, kS)}, [](const T& x) { return exp(x[0]); },
        kTr);
    add(
        "log", "log", {in({3, 4}, kPos)}, [](const T& x) { return log(x[0]); }, kTr);
    add(
        "log1p", "log1p", {in({3, 4}, kPos)}, [](const T& x) { return log1p(x[0]); }, kTr);
    add(
        "sqrt", "sqrt", {in({3, 4}, kPos)}, [](const T& x) { return sqrt(x[0]); }, kEw);
    add(
        "rsqrt", "rsqrt", {in({3, 4}, kPos)}, [](const T& x) { return rsqrt(x[0]); }, kTr);
    add(
        "sin", "sin", {in({3, 4})}, [](const T& x) { return sin(x[0]); }, kTr);
    add(
        "cos", "cos", {in({3, 4})}, [](const T& x) { return cos(x[0]); }, kTr);
    add(
        "tanh", "tanh", {in({3, 4}, Domain::any, kT)}, [](const T& x) { return tanh(x[0]); }, kTr);
    add(
        "sigmoid", "sigmoid", {in({3, 4})}, [](const T& x) { return sigmoid(x[0]); }, kTr);
    add(
        "relu", "relu", {in({3, 4}, kNZ)}, [](const T& x) { return relu(x[0]); }, kEw);
    add(
        "gelu", "gelu", {in({3, 4})}, [](const T& x) { return gelu(x[0]); }, kTr);
    add(
        "gelu_tanh", "gelu", {in({3, 4})}, [](const T& x) { return gelu(x[0], "tanh"); }, kTr);
    add(
        "silu", "silu", {in({3, 4})}, [](const T& x) { return silu(x[0]); }, kTr);
    add(
        "softplus", "softplus", {in({3, 4})}, [](const T& x) { return softplus(x[0], 2, 3); }, kTr);
    add(
        "clamp", "clamp", {in({3, 4})}, [](const T& x) { return clamp(x[0], -0.5, 0.7); }, kEw);
    add(
        "pow_scalar", "pow", {in({3, 4}, kPos)}, [](const T& x) { return pow(x[0], 2.5); }, kTr);
    add(
        "square", "pow", {in({3, 4})}, [](const T& x) { return pow(x[0], 2.0); }, kEw);
    add(
        "reciprocal", "reciprocal", {in({3, 4}, kPos)}, [](const T& x) { return reciprocal(x[0]); },
        kEw);
    // ---- binary
    add(
        "add", "add", {in({3, 4}), in({3, 4}, Domain::any, kT)},
        [](const T& x) { return x[0] + x[1]; }, kEw);
    add(
        "add_broadcast", "add", {in({3, 1, 4}), in({5, 4})}, [](const T& x) { return x[0] + x[1]; },
        kEw);
    add(
        "add_scalar", "add", {in({3, 4})}, [](const T& x) { return x[0] + 2.5; }, kEw);
    add(
        "sub_broadcast", "sub", {in({4}), in({3, 4}, Domain::any, kS)},
        [](const T& x) { return x[0] - x[1]; }, kEw);
    add(
        "rsub_scalar", "sub", {in({3, 4})}, [](const T& x) { return 2.0 - x[0]; }, kEw);
    add(
        "mul", "mul", {in({3, 4}, Domain::any, kS), in({3, 4}, Domain::any, kT)},
        [](const T& x) { return x[0] * x[1]; }, kEw);
    add(
        "mul_broadcast", "mul", {in({2, 3, 1}), in({1, 4})}, [](const T& x) { return x[0] * x[1]; },
        kEw);
    add(
        "div", "div", {in({3, 4}), in({3, 4}, kPos)}, [](const T& x) { return x[0] / x[1]; }, kEw);
    add(
        "div_broadcast", "div", {in({3, 4}), in({4}, kPos)}, [](const T& x) { return x[0] / x[1]; },
        kEw);
    add(
        "rdiv_scalar", "div", {in({3, 4}, kPos)}, [](const T& x) { return 2.0 / x[0]; }, kEw);
    add(
        "pow_tensor", "pow", {in({3, 4}, kPos), in({3, 4})},
        [](const T& x) { return pow(x[0], x[1]); }, kTr);
    add(
        "maximum", "maximum", {in({3, 4}), in({4})}, [](const T& x) { return maximum(x[0], x[1]); },
        kEw);
    add(
        "minimum", "minimum", {in({3, 4}, Domain::any, kT), in({3, 4})},
        [](const T& x) { return minimum(x[0], x[1]); }, kEw);
    add(
        "where", "where", {constant({3, 4}), in({3, 4}), in({4})},
        [](const T& x) { return where(gt(x[0], 0.0), x[1], x[2]); }, kEw);
    add(
        "masked_fill", "masked_fill", {in({3, 4}), constant({3, 4})},
        [](const T& x) { return masked_fill(x[0], gt(x[1], 0.0), -1.5); }, kEw);
    // ---- comparisons (forward only)
    add(
        "lt", "lt", {in({3, 4}), in({3, 4})}, [](const T& x) { return lt(x[0], x[1]); }, kExact,
        false);
    add(
        "le", "le", {in({3, 4}), in({4})}, [](const T& x) { return le(x[0], x[1]); }, kExact,
        false);
    add(
        "gt", "gt", {in({3, 4})}, [](const T& x) { return gt(x[0], 0.25); }, kExact, false);
    add(
        "ge", "ge", {in({3, 4}), in({3, 4})}, [](const T& x) { return ge(x[0], x[1]); }, kExact,
        false);
    add(
        "ne", "ne", {in({3, 4}), in({3, 4})}, [](const T& x) { return ne(x[0], x[1]); }, kExact,
        false);
    add(
        "eq", "eq", {in({3, 4})}, [](const T& x) { return eq(x[0], x[0] * 1.0); }, kExact, false);
    // ---- reductions
    add(
        "sum_all", "sum", {in({3, 4})}, [](const T& x) { return sum(x[0]); }, kRed);
    add(
        "sum_dims", "sum", {in({2, 3, 4}, Domain::any, kT)},
        [](const T& x) {
            return sum(x[0], {0, 2}, true);
        },
        kRed);
    add(
        "mean_dim", "mean", {in({3, 4})}, [](const T& x) { return mean(x[0], {1}); }, kRed);
    add(
        "var_dim", "var", {in({3, 5})}, [](const T& x) { return var(x[0], {1}); }, kRed);
    add(
        "var_biased", "var", {in({2, 3, 4}, Domain::any, kS)},
        [](const T& x) {
            return var(x[0], {0, 2}, false, true);
        },
        kRed);
    add(
        "std_all", "std", {in({3, 4})}, [](const T& x) { return marrow::std(x[0]); }, kRed);
    add(
        "std_dim", "std", {in({4, 3})}, [](const T& x) { return marrow::std(x[0], {0}, false); },
        kRed);
    add(
        "max_all", "max", {in({3, 4})}, [](const T& x) { return max(x[0]); }, kExact);
    add(
        "max_dim", "max", {in({3, 4}, Domain::any, kT)},
        [](const T& x) { return max(x[0], 1).first; }, kExact);
    add(
        "min_dim", "min", {in({3, 4})}, [](const T& x) { return min(x[0], 0, true).first; },
        kExact);
    add(
        "min_all", "min", {in({3, 4})}, [](const T& x) { return min(x[0]); }, kExact);
    add(
        "argmax", "argmax", {in({3, 4})}, [](const T& x) { return argmax(x[0], 1); }, kExact,
        false);
    add(
        "argmin_all", "argmin", {in({3, 4})}, [](const T& x) { return argmin(x[0]); }, kExact,
        false);
    add(
        "logsumexp", "logsumexp", {in({3, 4})}, [](const T& x) { return logsumexp(x[0], {1}); },
        kTr);
    add(
        "norm2", "norm", {in({3, 4})}, [](const T& x) { return norm(x[0], 2, {1}); }, kRed);
    add(
        "norm1", "norm", {in({3, 4}, kNZ)}, [](const T& x) { return norm(x[0], 1); }, kRed);
    add(
        "norm3", "norm", {in({3, 4}, kNZ)}, [](const T& x) { return norm(x[0], 3, {0}, true); },
        kTr);
    add(
        "all", "all", {in({3, 4})}, [](const T& x) { return all(gt(x[0], -1.0), {1}); }, kExact,
        false);
    add(
        "any", "any", {in({3, 4})}, [](const T& x) { return any(gt(x[0], 1.0), {0}); }, kExact,
        false);
    // ---- matrix products
    add(
        "mm", "mm", {in({3, 4}), in({4, 5})}, [](const T& x) { return mm(x[0], x[1]); }, kMm);
    add(
        "mm_transposed", "mm", {in({3, 4}, Domain::any, kT), in({4, 5}, Domain::any, kT)},
        [](const T& x) { return mm(x[0], x[1]); }, kMm);
    add(
        "bmm", "bmm", {in({2, 3, 4}), in({2, 4, 5}, Domain::any, kT)},
        [](const T& x) { return bmm(x[0], x[1]); }, kMm);
    add(
        "matmul_broadcast", "matmul", {in({2, 1, 3, 4}), in({5, 4, 2})},
        [](const T& x) { return matmul(x[0], x[1]); }, kMm);
    add(
        "matmul_fold", "matmul", {in({2, 3, 4}), in({4, 5})},
        [](const T& x) { return matmul(x[0], x[1]); }, kMm);
    add(
        "matmul_vec", "matmul", {in({3, 4}), in({4})},
        [](const T& x) { return matmul(x[0], x[1]); }, kMm);
    add(
        "matmul_dot", "matmul", {in({4}), in({4})}, [](const T& x) { return matmul(x[0], x[1]); },
        kMm);
    add(
        "addmm", "addmm", {in({5}), in({3, 4}), in({4, 5})},
        [](const T& x) { return addmm(x[0], x[1], x[2], 0.5, 2.0); }, kMm);
    add(
        "linear", "linear", {in({2, 3, 4}), in({5, 4}), in({5})},
        [](const T& x) { return linear(x[0], x[1], x[2]); }, kMm);
    add(
        "linear_2d", "linear", {in({3, 4}, Domain::any, kS), in({5, 4})},
        [](const T& x) { return linear(x[0], x[1]); }, kMm);
    add(
        "linear_bias_2d", "linear", {in({3, 4}), in({5, 4}), in({5})},
        [](const T& x) { return linear(x[0], x[1], x[2]); }, kMm);
    add(
        "outer", "outer", {in({3}), in({4})}, [](const T& x) { return outer(x[0], x[1]); }, kMm);
    // ---- softmax family
    add(
        "softmax", "softmax", {in({3, 5})}, [](const T& x) { return softmax(x[0], -1); }, kTr);
    add(
        "softmax_dim0", "softmax", {in({4, 3}, Domain::any, kT)},
        [](const T& x) { return softmax(x[0], 0); }, kTr);
    add(
        "log_softmax", "log_softmax", {in({2, 4, 3})},
        [](const T& x) { return log_softmax(x[0], 1); }, kTr);
    add(
        "cumsum", "cumsum", {in({3, 4})}, [](const T& x) { return cumsum(x[0], 1); }, kRed);
    add(
        "cumsum_dim0", "cumsum", {in({3, 4}, Domain::any, kT)},
        [](const T& x) { return cumsum(x[0], 0); }, kRed);
    add(
        "one_hot", "one_hot", {index({5}, 4)}, [](const T& x) { return one_hot(x[0], 6); }, kExact,
        false);
    // ---- shape
    add(
        "reshape_copy", "reshape", {in({3, 4}, Domain::any, kT)},
        [](const T& x) {
            return reshape(x[0], {2, 6});
        },
        kExact);
    add(
        "view", "view", {in({3, 4})},
        [](const T& x) {
            return view(x[0], {4, -1});
        },
        kExact);
    add(
        "flatten", "flatten", {in({2, 3, 4})}, [](const T& x) { return flatten(x[0], 1); }, kExact);
    add(
        "squeeze", "squeeze", {in({3, 1, 4})}, [](const T& x) { return squeeze(x[0], 1); }, kExact);
    add(
        "unsqueeze", "unsqueeze", {in({3, 4})}, [](const T& x) { return unsqueeze(x[0], -1); },
        kExact);
    add(
        "expand", "expand", {in({3, 1})},
        [](const T& x) {
            return expand(x[0], {2, 3, 4});
        },
        kRed);
    add(
        "permute", "permute", {in({2, 3, 4})},
        [](const T& x) {
            return permute(x[0], {2, 0, 1});
        },
        kExact);
    add(
        "transpose", "transpose", {in({2, 3, 4})}, [](const T& x) { return transpose(x[0], 0, 2); },
        kExact);
    add(
        "narrow", "narrow", {in({3, 5})}, [](const T& x) { return narrow(x[0], 1, 1, 3); }, kExact);
    add(
        "slice_step", "slice", {in({3, 8})}, [](const T& x) { return slice(x[0], 1, 1, 7, 2); },
        kExact);
    add(
        "chunk", "chunk", {in({3, 7})}, [](const T& x) { return chunk(x[0], 3, 1)[1]; }, kExact);
    add(
        "split_sizes", "split", {in({5, 3})},
        [](const T& x) {
            return split(x[0], {1, 3, 1}, 0)[1];
        },
        kExact);
    add(
        "cat", "cat", {in({3, 2}), in({3, 4}, Domain::any, kT), in({3, 1})},
        [](const T& x) {
            return cat({x[0], x[1], x[2]}, 1);
        },
        kExact);
    add(
        "stack", "stack", {in({3, 4}), in({3, 4})},
        [](const T& x) {
            return stack({x[0], x[1]}, 1);
        },
        kExact);
    add(
        "pad_constant", "pad", {in({3, 4})},
        [](const T& x) {
            return pad(x[0], {1, 2, 0, 1}, "constant", 0.5);
        },
        kExact);
    add(
        "pad_reflect", "pad", {in({2, 3, 5})},
        [](const T& x) {
            return pad(x[0], {2, 1, 1, 1}, "reflect");
        },
        kRed);
    add(
        "flip", "flip", {in({2, 3, 4})},
        [](const T& x) {
            return flip(x[0], {0, 2});
        },
        kExact);
    add(
        "clone", "clone", {in({3, 4}, Domain::any, kT)}, [](const T& x) { return clone(x[0]); },
        kExact);
    add(
        "contiguous", "contiguous", {in({3, 4}, Domain::any, kT)},
        [](const T& x) { return contiguous(x[0]); }, kExact);
    // ---- indexing and sorting
    add(
        "index_select", "index_select", {in({3, 5}), index({6}, 5)},
        [](const T& x) { return index_select(x[0], 1, x[1]); }, kExact);
    add(
        "gather", "gather", {in({3, 5}), index({3, 4}, 5)},
        [](const T& x) { return gather(x[0], 1, x[1]); }, kExact);
    add(
        "scatter_add", "scatter_add", {in({4, 3}), index({5, 3}, 4), in({5, 3})},
        [](const T& x) { return scatter_add(x[0], 0, x[1], x[2]); }, kRed);
    add(
        "embedding", "embedding", {in({10, 3}), index({2, 4}, 10)},
        [](const T& x) { return embedding(x[0], x[1]); }, kExact);
    add(
        "topk", "topk", {in({3, 6})}, [](const T& x) { return topk(x[0], 2, 1).first; }, kExact);
    add(
        "topk_indices", "topk", {in({3, 6})},
        [](const T& x) { return topk(x[0], 3, 0, false).second; }, kExact, false);
    add(
        "sort", "sort", {in({4, 3}, Domain::any, kT)},
        [](const T& x) { return sort(x[0], 0, true).first; }, kExact);
    add(
        "sort_indices", "sort", {in({3, 5})}, [](const T& x) { return sort(x[0], 1).second; },
        kExact, false);
    return c;
}

}  // namespace

const std::vector<OpCase>& op_cases() {
    static const std::vector<OpCase> cases = build();
    return cases;
}

const std::vector<std::string>& required_differentiable_ops() {
    static const std::vector<std::string> ops = {
        "neg",          "abs",       "sign",        "exp",       "log",     "log1p",
        "sqrt",         "rsqrt",     "sin",         "cos",       "tanh",    "sigmoid",
        "relu",         "gelu",      "silu",        "softplus",  "clamp",   "pow",
        "reciprocal",   "add",       "sub",         "mul",       "div",     "maximum",
        "minimum",      "where",     "masked_fill", "sum",       "mean",    "var",
        "std",          "max",       "min",         "logsumexp", "norm",    "matmul",
        "bmm",          "mm",        "addmm",       "linear",    "outer",   "softmax",
        "log_softmax",  "cumsum",    "reshape",     "view",      "flatten", "squeeze",
        "unsqueeze",    "expand",    "permute",     "transpose", "narrow",  "slice",
        "chunk",        "split",     "cat",         "stack",     "pad",     "flip",
        "index_select", "gather",    "scatter_add", "embedding", "topk",    "sort",
        "clone",        "contiguous"};
    return ops;
}

Tensor apply_layout(const Tensor& values, Layout layout) {
    if (layout == Layout::contiguous || values.dim() == 0) return op::clone(values);
    if (layout == Layout::transposed) {
        if (values.dim() < 2) return op::clone(values);
        Tensor base = op::clone(op::transpose(values, -1, -2));  // memory in swapped order
        return op::transpose(base, -1, -2);
    }
    Shape wide = values.shape();
    wide.back() *= 2;
    Tensor base = zeros(wide, values.dtype(), values.device());
    Tensor view = op::slice(base, -1, 0, wide.back(), 2);
    op::copy_(view, values);
    return view;
}

std::vector<Tensor> make_inputs(const OpCase& c, uint64_t seed) {
    Generator gen(seed);
    std::vector<Tensor> inputs;
    for (const InputSpec& s : c.inputs) {
        Tensor v = [&] {
            switch (s.domain) {
                case Domain::positive:
                    return rand(s.shape, DType::f64, Device::cpu(), gen) * 1.5 + 0.5;
                case Domain::nonzero: {
                    Tensor r = randn(s.shape, DType::f64, Device::cpu(), gen);
                    return r + sign(r) * 0.2;
                }
                case Domain::index:
                    return randint(0, s.index_high, s.shape, DType::i64, Device::cpu(), gen);
                case Domain::any:
                    break;
            }
            return randn(s.shape, DType::f64, Device::cpu(), gen);
        }();
        Tensor x = apply_layout(v, s.layout);
        if (s.differentiable && c.differentiable) x.requires_grad_();
        inputs.push_back(x);
    }
    return inputs;
}

}  // namespace marrow::test
