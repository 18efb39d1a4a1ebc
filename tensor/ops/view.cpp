#include "tensor/ops/view.h"

#include <algorithm>

#include "tensor/factory.h"
#include "tensor/ops/copy.h"

namespace marrow::op {

Shape infer_shape(const Shape& shape, int64_t numel, std::string_view op) {
    Shape out = shape;
    int64_t known = 1, infer_at = -1;
    for (size_t i = 0; i < out.size(); ++i) {
        if (out[i] == -1) {
            MARROW_CHECK(infer_at < 0, "{}: only one dimension can be -1 in {}", op, shape);
            infer_at = int64_t(i);
        } else {
            MARROW_CHECK(out[i] >= 0, "{}: invalid size in shape {}", op, shape);
            auto k = checked_mul(known, out[i]);  // Note [Checked shape products]
            MARROW_CHECK(k.has_value(), "{}: shape {} is too large (overflows int64)", op, shape);
            known = *k;
        }
    }
    if (infer_at >= 0) {
        MARROW_CHECK(known != 0 && numel % known == 0,
                     "{}: shape {} is invalid for input of size {}", op, shape, numel);
        out[size_t(infer_at)] = numel / known;
    }
    MARROW_CHECK(checked_numel(out, op) == numel, "{}: shape {} is invalid for input of size {}",
                 op, shape, numel);
    return out;
}

// Strides for viewing x as `shape` without copying, if possible (PyTorch's computeStride):
// each group of old dims that maps onto a group of new dims must be contiguous within itself.
static std::optional<Shape> view_strides(const Tensor& x, const Shape& shape) {
    const Shape& old_shape = x.shape();
    const Shape& old_strides = x.strides();
    Shape strides(shape.size());
    if (x.numel() <= 1) return contiguous_strides(shape);  // empty, 0-d or one element
    int64_t view_d = int64_t(shape.size()) - 1;
    int64_t chunk_base_stride = old_strides.empty() ? 1 : old_strides.back();
    int64_t tensor_numel = 1, view_numel = 1;
    for (int64_t d = int64_t(old_shape.size()) - 1; d >= 0; --d) {
        tensor_numel *= old_shape[size_t(d)];
        if (d == 0 || (old_shape[size_t(d - 1)] != 1 &&
                       old_strides[size_t(d - 1)] != tensor_numel * chunk_base_stride)) {
            while (view_d >= 0 && (view_numel < tensor_numel || shape[size_t(view_d)] == 1)) {
                strides[size_t(view_d)] = view_numel * chunk_base_stride;
                view_numel *= shape[size_t(view_d)];
                --view_d;
            }
            if (view_numel != tensor_numel) return std::nullopt;
            if (d > 0) {
                chunk_base_stride = old_strides[size_t(d - 1)];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    if (view_d != -1) return std::nullopt;
    return strides;
}

Tensor view(const Tensor& x, const Shape& shape) {
    Shape s = infer_shape(shape, x.numel(), "view");
    auto strides = view_strides(x, s);
    MARROW_CHECK(strides.has_value(),
                 "view: cannot view shape {} (strides {}) as {} without copying; use reshape",
                 x.shape(), x.strides(), s);
    return x.as_strided(s, *strides, x.offset());
}

Tensor reshape(const Tensor& x, const Shape& shape) {
    Shape s = infer_shape(shape, x.numel(), "reshape");
    if (auto strides = view_strides(x, s)) return x.as_strided(s, *strides, x.offset());
    Tensor c = clone(x);
    return c.as_strided(s, contiguous_strides(s), 0);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
    MARROW_CHECK(int64_t(dims.size()) == x.dim(), "permute: {} dims given for shape {}",
                 dims.size(), x.shape());
    Shape shape(dims.size()), strides(dims.size());
    std::vector<bool> seen(dims.size(), false);
    for (size_t i = 0; i < dims.size(); ++i) {
        int64_t d = wrap_dim(dims[i], x.dim(), "permute");
        MARROW_CHECK(!seen[size_t(d)], "permute: dim {} repeated in {}", d, dims);
        seen[size_t(d)] = true;
        shape[i] = x.shape()[size_t(d)];
        strides[i] = x.strides()[size_t(d)];
    }
    return x.as_strided(shape, strides, x.offset());
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
    if (x.dim() == 0) return x.alias();
    int64_t a = wrap_dim(dim0, x.dim(), "transpose"), b = wrap_dim(dim1, x.dim(), "transpose");
    Shape shape = x.shape(), strides = x.strides();
    std::swap(shape[size_t(a)], shape[size_t(b)]);
    std::swap(strides[size_t(a)], strides[size_t(b)]);
    return x.as_strided(shape, strides, x.offset());
}

Tensor expand(const Tensor& x, const Shape& shape) {
    MARROW_CHECK(shape.size() >= x.shape().size(), "expand: cannot expand shape {} to {}",
                 x.shape(), shape);
    Shape target = shape;
    size_t lead = shape.size() - x.shape().size();
    for (size_t i = 0; i < target.size(); ++i)
        if (target[i] == -1) {
            MARROW_CHECK(i >= lead, "expand: -1 not allowed in a new leading dim ({})", shape);
            target[i] = x.shape()[i - lead];
        }
    Shape strides = broadcast_strides(x.shape(), x.strides(), target, "expand");
    return x.as_strided(target, strides, x.offset());
}

Tensor squeeze(const Tensor& x, std::optional<int64_t> dim) {
    Shape shape, strides;
    int64_t only = dim ? wrap_dim(*dim, x.dim(), "squeeze") : -1;
    for (int64_t d = 0; d < x.dim(); ++d) {
        bool drop = x.shape()[size_t(d)] == 1 && (only < 0 || only == d);
        if (!drop) {
            shape.push_back(x.shape()[size_t(d)]);
            strides.push_back(x.strides()[size_t(d)]);
        }
    }
    return x.as_strided(shape, strides, x.offset());
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
    int64_t d = wrap_dim(dim, x.dim() + 1, "unsqueeze");
    Shape shape = x.shape(), strides = x.strides();
    int64_t stride = d < x.dim() ? shape[size_t(d)] * strides[size_t(d)] : 1;
    shape.insert(shape.begin() + d, 1);
    strides.insert(strides.begin() + d, stride);
    return x.as_strided(shape, strides, x.offset());
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
    int64_t d = wrap_dim(dim, x.dim(), "narrow");
    int64_t size = x.shape()[size_t(d)];
    if (start < 0) start += size;
    MARROW_CHECK(start >= 0 && length >= 0 && start + length <= size,
                 "narrow: [{}, {}) out of range for dim {} of shape {}", start, start + length, d,
                 x.shape());
    Shape shape = x.shape();
    shape[size_t(d)] = length;
    return x.as_strided(shape, x.strides(), x.offset() + start * x.strides()[size_t(d)]);
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
    int64_t d = wrap_dim(dim, x.dim(), "slice");
    MARROW_CHECK(step > 0, "slice: step must be positive, got {}", step);
    int64_t size = x.shape()[size_t(d)];
    if (start < 0) start += size;
    if (end < 0) end += size;
    start = std::clamp<int64_t>(start, 0, size);
    end = std::clamp<int64_t>(end, start, size);
    Shape shape = x.shape(), strides = x.strides();
    shape[size_t(d)] = (end - start + step - 1) / step;
    strides[size_t(d)] *= step;
    return x.as_strided(shape, strides, x.offset() + start * x.strides()[size_t(d)]);
}

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
    MARROW_CHECK(!xs.empty(), "cat: expected a non-empty list of tensors");
    const Tensor& first = xs[0];
    int64_t d = wrap_dim(dim, first.dim(), "cat");
    Shape shape = first.shape();
    shape[size_t(d)] = 0;
    for (const Tensor& x : xs) {
        check_same_dtype("cat", first, x);
        check_same_device("cat", first, x);
        MARROW_CHECK(x.dim() == first.dim(), "cat: tensors of shapes {} and {} differ in rank",
                     first.shape(), x.shape());
        for (int64_t i = 0; i < x.dim(); ++i)
            MARROW_CHECK(i == d || x.shape()[size_t(i)] == first.shape()[size_t(i)],
                         "cat: shapes {} and {} differ outside dim {}", first.shape(), x.shape(),
                         d);
        shape[size_t(d)] += x.shape()[size_t(d)];
    }
    Tensor out = empty(shape, first.dtype(), first.device());
    int64_t at = 0;
    for (const Tensor& x : xs) {
        copy_(narrow(out, d, at, x.shape()[size_t(d)]), x);
        at += x.shape()[size_t(d)];
    }
    return out;
}

Tensor as_3d_around(const Tensor& x, int64_t dim) {
    int64_t outer = 1, inner = 1, d = x.dim() == 0 ? 1 : x.size(dim);
    for (int64_t i = 0; i < dim; ++i) outer *= x.size(i);
    for (int64_t i = dim + 1; i < x.dim(); ++i) inner *= x.size(i);
    return view(contiguous(x), {outer, d, inner});
}

}  // namespace marrow::op
