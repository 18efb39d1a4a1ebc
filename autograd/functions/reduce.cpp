// Reductions with their backward. Common step: a gradient of the reduced shape is first
// re-expanded to the input shape (unsqueeze the reduced dims when !keepdim, then expand).
#include <cmath>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/elementwise.h"
#include "tensor/ops/index.h"
#include "tensor/ops/reduce.h"
#include "tensor/ops/view.h"

namespace marrow {

using autograd::Grads;
using autograd::record;
using autograd::SavedTensor;

namespace {

// g (reduced over `dims` of `shape`, keepdim or not) viewed back at `shape`.
Tensor expand_back(const Tensor& g, const Shape& shape, const Dims& dims, bool keepdim) {
    Tensor t = g;
    std::vector<int64_t> wrapped = wrap_dims(dims, int64_t(shape.size()), "reduce backward");
    if (!keepdim)
        for (int64_t d : wrapped) t = op::unsqueeze(t, d);
    return op::expand(t, shape);
}

int64_t count_over(const Shape& shape, const Dims& dims) {
    int64_t n = 1;
    for (int64_t d : wrap_dims(dims, int64_t(shape.size()), "reduce")) n *= shape[size_t(d)];
    return n;
}

}  // namespace

Tensor sum_to(const Tensor& g, const Shape& shape) {
    if (g.shape() == shape) return g;
    Dims dims;
    int64_t lead = g.dim() - int64_t(shape.size());
    for (int64_t d = 0; d < g.dim(); ++d)
        if (d < lead || (shape[size_t(d - lead)] == 1 && g.size(d) != 1)) dims.push_back(d);
    Tensor s = dims.empty() ? g : op::reduce(ReduceOp::sum, g, dims, true);
    return op::reshape(s, shape);
}

// d sum / dx_i = 1: the gradient is g broadcast back.
Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
    Shape shape = x.shape();
    return record("sum", {x}, op::reduce(ReduceOp::sum, x, dims, keepdim),
                  [=](const Grads& g) -> Grads {
                      return {op::contiguous(expand_back(*g[0], shape, dims, keepdim))};
                  });
}

// d mean / dx_i = 1/N
Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
    Shape shape = x.shape();
    double n = double(count_over(shape, dims));
    return record(
        "mean", {x}, op::reduce(ReduceOp::mean, x, dims, keepdim),
        [=](const Grads& g) -> Grads { return {expand_back(*g[0], shape, dims, keepdim) / n}; });
}

// var = sum (x - m)^2 / (N - c): d var / dx_i = 2 (x_i - m) / (N - c)  (the m term cancels
// because sum (x - m) = 0).
Tensor var(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {
    double correction = unbiased ? 1 : 0;
    double n = double(count_over(x.shape(), dims));
    SavedTensor sx(x, "var");
    return record("var", {x}, op::reduce(ReduceOp::var, x, dims, keepdim, {correction, 2}),
                  [=](const Grads& g) -> Grads {
                      const Tensor& in = sx.get();
                      Tensor centered = in - mean(in, dims, true);
                      Tensor ge = expand_back(*g[0], in.shape(), dims, keepdim);
                      return {ge * centered * (2.0 / (n - correction))};
                  });
}

// std = sqrt(var): d std / dx_i = (x_i - m) / ((N - c) std)
Tensor std(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {
    double correction = unbiased ? 1 : 0;
    double n = double(count_over(x.shape(), dims));
    Tensor s =
        op::unary(UnaryOp::sqrt, op::reduce(ReduceOp::var, x, dims, keepdim, {correction, 2}));
    SavedTensor sx(x, "std"), ss(s, "std");
    return record("std", {x}, s, [=](const Grads& g) -> Grads {
        const Tensor& in = sx.get();
        Tensor centered = in - mean(in, dims, true);
        Tensor scale = expand_back(*g[0] / ss.get(), in.shape(), dims, keepdim);
        return {scale * centered / (n - correction)};
    });
}

// max/min over all elements: ties share the gradient evenly (PyTorch's
// evenly_distribute_backward).
static Tensor extreme_all(const char* name, ReduceOp op, const Tensor& x) {
    Tensor y = op::reduce(op, x, {}, false);
    SavedTensor sx(x, name), sy(y, name);
    return record(name, {x}, y, [=](const Grads& g) -> Grads {
        Tensor hit = to(eq(sx.get(), sy.get()), sx.get().dtype());
        return {hit * (*g[0] / sum(hit))};
    });
}
Tensor max(const Tensor& x) { return extreme_all("max", ReduceOp::max, x); }
Tensor min(const Tensor& x) { return extreme_all("min", ReduceOp::min, x); }

// max/min along dim: the gradient goes to the (first) arg index.
static std::pair<Tensor, Tensor> extreme_dim(const char* name, ReduceOp op, const Tensor& x,
                                             int64_t dim, bool keepdim) {
    auto [values, indices] = op::reduce_with_indices(op, x, dim, keepdim);
    Shape shape = x.shape();
    int64_t d = wrap_dim(dim, x.dim(), name);
    Tensor idx = keepdim || x.dim() == 0 ? indices : op::unsqueeze(indices, d);
    auto outs = record(name, {x}, {values, indices}, [=](const Grads& g) -> Grads {
        if (shape.empty()) return {op::reshape(*g[0], shape)};
        Tensor gk = keepdim ? *g[0] : op::unsqueeze(*g[0], d);
        return {op::scatter_add(zeros(shape, gk.dtype(), gk.device()), d, idx, gk)};
    });
    return {outs[0], outs[1]};
}
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
    return extreme_dim("max", ReduceOp::max, x, dim, keepdim);
}
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
    return extreme_dim("min", ReduceOp::min, x, dim, keepdim);
}

static Tensor arg_extreme(ReduceOp op, const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
    if (dim) return op::reduce_with_indices(op, x, *dim, keepdim).second;
    Tensor flat = op::reshape(x, {-1});
    Tensor idx = op::reduce_with_indices(op, flat, 0, false).second;
    return keepdim ? op::reshape(idx, Shape(size_t(x.dim()), 1)) : idx;
}
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
    return arg_extreme(ReduceOp::max, x, dim, keepdim);
}
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
    return arg_extreme(ReduceOp::min, x, dim, keepdim);
}

// y = log sum exp(x): dy/dx_i = exp(x_i - y) = softmax(x)_i
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
    Tensor y = op::reduce(ReduceOp::logsumexp, x, dims, keepdim);
    SavedTensor sx(x, "logsumexp"), sy(y, "logsumexp");
    return record("logsumexp", {x}, y, [=](const Grads& g) -> Grads {
        const Tensor& in = sx.get();
        Tensor ye = expand_back(sy.get(), in.shape(), dims, keepdim);
        return {expand_back(*g[0], in.shape(), dims, keepdim) * exp(in - ye)};
    });
}

// y = (sum |x|^p)^(1/p): dy/dx_i = sign(x_i) |x_i|^(p-1) / y^(p-1)  (0 where y == 0);
// p = 2 gives x / y, p = 1 gives sign(x).
Tensor norm(const Tensor& x, double p, const Dims& dims, bool keepdim) {
    Tensor y = op::reduce(ReduceOp::norm, x, dims, keepdim, {1, p});
    SavedTensor sx(x, "norm"), sy(y, "norm");
    return record("norm", {x}, y, [=](const Grads& g) -> Grads {
        const Tensor& in = sx.get();
        Tensor ye = expand_back(sy.get(), in.shape(), dims, keepdim);
        Tensor ge = expand_back(*g[0], in.shape(), dims, keepdim);
        if (p == 1) return {ge * sign(in)};
        Tensor ratio = p == 2 ? in / ye : sign(in) * pow(abs(in), p - 1) / pow(ye, p - 1);
        return {masked_fill(ge * ratio, eq(ye, 0.0), 0)};
    });
}

Tensor all(const Tensor& x, const Dims& dims, bool keepdim) {
    MARROW_CHECK(x.dtype() == DType::b8, "all: expected a bool tensor, got {}", x.dtype());
    Tensor f = op::to_dtype(x, DType::f32);
    return op::to_dtype(op::reduce(ReduceOp::min, f, dims, keepdim), DType::b8);
}

Tensor any(const Tensor& x, const Dims& dims, bool keepdim) {
    MARROW_CHECK(x.dtype() == DType::b8, "any: expected a bool tensor, got {}", x.dtype());
    Tensor f = op::to_dtype(x, DType::f32);
    return op::to_dtype(op::reduce(ReduceOp::max, f, dims, keepdim), DType::b8);
}

}  // namespace marrow
