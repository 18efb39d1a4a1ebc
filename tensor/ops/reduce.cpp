#include "tensor/ops/reduce.h"

#include <algorithm>
#include <cmath>

#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/view.h"

namespace marrow::op {
namespace {

const char* reduce_name(ReduceOp op) {
    constexpr const char* names[] = {"sum", "mean", "var", "max", "min", "logsumexp", "norm"};
    return names[int(op)];
}

// x as the kernel's (M, R) matrix. Sums and means over the leading dims of a contiguous x
// use it in place as columns: (M, R) with strides (1, M), no copy. Everything else is
// permuted so kept dims come first, reduced last, and made contiguous: rows (R, 1).
Tensor as_rows(const Tensor& x, const std::vector<int64_t>& reduced, ReduceOp op) {
    bool leading = true;
    for (size_t i = 0; i < reduced.size(); ++i) leading &= reduced[i] == int64_t(i);
    if (leading && x.is_contiguous() && (op == ReduceOp::sum || op == ReduceOp::mean) &&
        !reduced.empty() && int64_t(reduced.size()) < x.dim()) {
        int64_t r = 1;
        for (int64_t d : reduced) r *= x.shape()[size_t(d)];
        int64_t m = x.numel() / r;
        return x.as_strided({m, r}, {1, m}, x.offset());
    }
    std::vector<int64_t> order;
    std::vector<bool> is_reduced(size_t(x.dim()), false);
    for (int64_t d : reduced) is_reduced[size_t(d)] = true;
    int64_t r = 1;
    for (int64_t d = 0; d < x.dim(); ++d)
        if (!is_reduced[size_t(d)]) order.push_back(d);
    for (int64_t d : reduced) {
        order.push_back(d);
        r *= x.shape()[size_t(d)];
    }
    Tensor rows = contiguous(permute(x, order));
    return view(rows, {x.numel() / std::max<int64_t>(r, 1), r});
}

}  // namespace

Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim) {
    Shape out;
    for (size_t d = 0; d < shape.size(); ++d) {
        bool reduced = std::find(dims.begin(), dims.end(), int64_t(d)) != dims.end();
        if (!reduced)
            out.push_back(shape[d]);
        else if (keepdim)
            out.push_back(1);
    }
    return out;
}

Tensor reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim,
              ReduceParams params) {
    const char* name = reduce_name(op);
    std::vector<int64_t> reduced = wrap_dims(dims, x.dim(), name);
    int64_t r = 1;
    for (int64_t d : reduced) r *= x.shape()[size_t(d)];
    MARROW_CHECK(r > 0 || op == ReduceOp::sum || op == ReduceOp::norm,
                 "{}: cannot reduce over an empty dim (shape {}, dims {})", name, x.shape(), dims);
    MARROW_CHECK(op != ReduceOp::norm || (params.p > 0 && std::isfinite(params.p)),
                 "norm: p must be positive and finite, got {}", params.p);
    Shape out_shape = reduced_shape(x.shape(), reduced, keepdim);
    Tensor values = empty(out_shape, x.dtype(), x.device());
    if (r == 0) {
        fill_(values, 0);
        return values;
    }
    Tensor rows = as_rows(x, reduced, op);
    Tensor flat = view(values, {rows.size(0)});
    kernel<OpId::reduce>(x.device(), name)(op, params, rows, flat, nullptr);
    return values;
}

std::pair<Tensor, Tensor> reduce_with_indices(ReduceOp op, const Tensor& x, int64_t dim,
                                              bool keepdim) {
    const char* name = reduce_name(op);
    MARROW_CHECK(op == ReduceOp::max || op == ReduceOp::min,
                 "reduce_with_indices: {} has no indices", name);
    int64_t d = wrap_dim(dim, x.dim(), name);
    std::vector<int64_t> reduced = x.dim() == 0 ? std::vector<int64_t>{} : std::vector{d};
    MARROW_CHECK(x.numel() > 0, "{}: cannot reduce an empty tensor of shape {}", name, x.shape());
    Shape out_shape = reduced_shape(x.shape(), reduced, keepdim);
    Tensor values = empty(out_shape, x.dtype(), x.device());
    Tensor indices = empty(out_shape, DType::i64, x.device());
    Tensor rows = as_rows(x, reduced, op);
    Tensor flat_v = view(values, {rows.size(0)});
    Tensor flat_i = view(indices, {rows.size(0)});
    kernel<OpId::reduce>(x.device(), name)(op, {}, rows, flat_v, &flat_i);
    return {values, indices};
}

}  // namespace marrow::op
