// Shape ops with their backward. Views move the gradient back through the inverse view;
// chunk/split/stack/reflect-pad/flip are compositions of the differentiable primitives here
// and in index.cpp, so their backward needs no code of its own.
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/view.h"

namespace marrow {

using autograd::Grads;
using autograd::record;

namespace {

// Backward of any op that only re-labels elements: reshape the gradient back.
Tensor reshaped(const char* name, const Tensor& x, Tensor y) {
    Shape shape = x.shape();
    return record(name, {x}, std::move(y),
                  [=](const Grads& g) -> Grads { return {op::reshape(*g[0], shape)}; });
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
    return reshaped("reshape", x, op::reshape(x, shape));
}
Tensor view(const Tensor& x, const Shape& shape) { return reshaped("view", x, op::view(x, shape)); }
Tensor squeeze(const Tensor& x, std::optional<int64_t> dim) {
    return reshaped("squeeze", x, op::squeeze(x, dim));
}
Tensor unsqueeze(const Tensor& x, int64_t dim) {
    return reshaped("unsqueeze", x, op::unsqueeze(x, dim));
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
    if (x.dim() == 0) return reshape(x, {1});
    int64_t s = wrap_dim(start_dim, x.dim(), "flatten"), e = wrap_dim(end_dim, x.dim(), "flatten");
    MARROW_CHECK(s <= e, "flatten: start_dim {} > end_dim {}", start_dim, end_dim);
    Shape shape(x.shape().begin(), x.shape().begin() + s);
    int64_t n = 1;
    for (int64_t d = s; d <= e; ++d) n *= x.size(d);
    shape.push_back(n);
    shape.insert(shape.end(), x.shape().begin() + e + 1, x.shape().end());
    return reshape(x, shape);
}

// Broadcasting copies each element to several places: their gradients add up (sum_to).
Tensor expand(const Tensor& x, const Shape& shape) {
    Shape from = x.shape();
    return record("expand", {x}, op::expand(x, shape),
                  [=](const Grads& g) -> Grads { return {sum_to(*g[0], from)}; });
}

Tensor permute(const Tensor& x, const Dims& dims) {
    Tensor y = op::permute(x, dims);
    Dims inverse(dims.size());
    for (size_t i = 0; i < dims.size(); ++i)
        inverse[size_t(wrap_dim(dims[i], x.dim(), "permute"))] = int64_t(i);
    return record("permute", {x}, y,
                  [=](const Grads& g) -> Grads { return {op::permute(*g[0], inverse)}; });
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
    return record("transpose", {x}, op::transpose(x, dim0, dim1),
                  [=](const Grads& g) -> Grads { return {op::transpose(*g[0], dim0, dim1)}; });
}

// A slice's gradient is g placed at the sliced positions of zeros.
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
    Shape shape = x.shape();
    DType dtype = x.dtype();
    Device device = x.device();
    return record("slice", {x}, op::slice(x, dim, start, end, step), [=](const Grads& g) -> Grads {
        Tensor gx = zeros(shape, dtype, device);
        op::copy_(op::slice(gx, dim, start, end, step), *g[0]);
        return {gx};
    });
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
    Tensor y = op::narrow(x, dim, start, length);  // validates the range
    int64_t d = wrap_dim(dim, x.dim(), "narrow");
    int64_t s = start < 0 ? start + x.size(d) : start;
    return slice(x, d, s, s + length, 1);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
    int64_t d = wrap_dim(dim, x.dim(), "split");
    int64_t total = 0;
    for (int64_t s : sizes) total += s;
    MARROW_CHECK(total == x.size(d), "split: sizes {} sum to {} but dim {} has size {}", sizes,
                 total, d, x.size(d));
    std::vector<Tensor> out;
    int64_t at = 0;
    for (int64_t s : sizes) {
        out.push_back(narrow(x, d, at, s));
        at += s;
    }
    return out;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
    MARROW_CHECK(split_size > 0, "split: split_size must be positive, got {}", split_size);
    int64_t n = x.size(wrap_dim(dim, x.dim(), "split"));
    std::vector<int64_t> sizes;
    for (int64_t at = 0; at < n; at += split_size) sizes.push_back(std::min(split_size, n - at));
    return split(x, sizes, dim);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
    MARROW_CHECK(chunks > 0, "chunk: chunks must be positive, got {}", chunks);
    int64_t n = x.size(wrap_dim(dim, x.dim(), "chunk"));
    return split(x, std::max<int64_t>(1, (n + chunks - 1) / chunks), dim);
}

// cat's gradient is g cut back into the inputs' extents along dim.
Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
    Tensor y = op::cat(xs, dim);
    int64_t d = wrap_dim(dim, xs[0].dim(), "cat");
    std::vector<int64_t> sizes;
    for (const Tensor& x : xs) sizes.push_back(x.size(d));
    return record("cat", xs, y, [=](const Grads& g, const autograd::NeedsGrad& needs) {
        Grads out(sizes.size());
        int64_t at = 0;
        for (size_t i = 0; i < sizes.size(); ++i) {
            if (needs[i]) out[i] = op::narrow(*g[0], d, at, sizes[i]);
            at += sizes[i];
        }
        return out;
    });
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
    MARROW_CHECK(!xs.empty(), "stack: expected a non-empty list of tensors");
    int64_t d = wrap_dim(dim, xs[0].dim() + 1, "stack");
    std::vector<Tensor> parts;
    for (const Tensor& x : xs) {
        MARROW_CHECK(x.shape() == xs[0].shape(), "stack: shapes {} and {} differ", xs[0].shape(),
                     x.shape());
        parts.push_back(unsqueeze(x, d));
    }
    return cat(parts, d);
}

// Constant pad: x is copied into the middle of a filled tensor; the gradient is that middle.
static Tensor pad_constant(const Tensor& x, const std::vector<int64_t>& pads, double value) {
    Shape shape = x.shape();
    Shape out_shape = shape;
    std::vector<int64_t> starts(shape.size(), 0);
    for (size_t i = 0; i < pads.size() / 2; ++i) {
        size_t d = shape.size() - 1 - i;
        starts[d] = pads[2 * i];
        out_shape[d] += pads[2 * i] + pads[2 * i + 1];
    }
    Tensor y = full(out_shape, value, x.dtype(), x.device());
    auto middle = [=](const Tensor& t) {
        Tensor v = t;
        for (size_t d = 0; d < shape.size(); ++d)
            v = op::narrow(v, int64_t(d), starts[d], shape[d]);
        return v;
    };
    op::copy_(middle(y), x);
    return record("pad", {x}, y,
                  [=](const Grads& g) -> Grads { return {op::contiguous(middle(*g[0]))}; });
}

// Reflect pad: along each padded dim, an index_select with reflected positions
// (-l..n+r-1 -> |i| mirrored at both ends), so index_select's backward sums the mirrors.
static Tensor pad_reflect(const Tensor& x, const std::vector<int64_t>& pads) {
    Tensor y = x;
    for (size_t i = 0; i < pads.size() / 2; ++i) {
        int64_t d = x.dim() - 1 - int64_t(i);
        int64_t n = x.size(d), left = pads[2 * i], right = pads[2 * i + 1];
        MARROW_CHECK(left < n && right < n,
                     "pad: reflect padding ({}, {}) must be smaller than dim {} of size {} "
                     "(shape {})",
                     left, right, d, n, x.shape());
        std::vector<int64_t> idx;
        for (int64_t p = -left; p < n + right; ++p)
            idx.push_back(p < 0 ? -p : p >= n ? 2 * (n - 1) - p : p);
        y = index_select(y, d, from_vector(idx));
    }
    return y;
}

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, std::string_view mode, double value) {
    MARROW_CHECK(pads.size() % 2 == 0 && int64_t(pads.size()) / 2 <= x.dim(),
                 "pad: {} pad values for a {}-d tensor (need pairs, at most 2 per dim)",
                 pads.size(), x.dim());
    for (int64_t p : pads) MARROW_CHECK(p >= 0, "pad: negative padding in {}", pads);
    if (mode == "constant") return pad_constant(x, pads, value);
    if (mode == "reflect") return pad_reflect(x, pads);
    fail("pad: unknown mode \"{}\" (constant or reflect)", mode);
}

// Reverses the given dims (empty: all dims, like numpy.flip) with reversed-index selects.
Tensor flip(const Tensor& x, const Dims& dims) {
    Tensor y = clone(x);
    for (int64_t d : wrap_dims(dims, x.dim(), "flip"))
        y = index_select(y, d, arange(double(x.size(d) - 1), -1, -1));
    return y;
}

}  // namespace marrow
