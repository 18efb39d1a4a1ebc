#include "tensor/shape.h"

#include <algorithm>

#include "tensor/error.h"

namespace marrow {

std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
    int64_t out;
    if (__builtin_mul_overflow(a, b, &out)) return std::nullopt;
    return out;
}

int64_t checked_numel(const Shape& shape, std::string_view what, int64_t element_size) {
    int64_t numel = 1, extent = 1;  // extent: product of max(size, 1), the largest stride bound
    for (int64_t s : shape) {
        MARROW_CHECK(s >= 0, "{}: negative size in shape {}", what, shape);
        auto n = checked_mul(numel, s), e = checked_mul(extent, std::max<int64_t>(s, 1));
        MARROW_CHECK(n && e,
                     "{}: shape {} is too large (its element count or strides overflow int64)",
                     what, shape);
        numel = *n;
        extent = *e;
    }
    MARROW_CHECK(checked_mul(numel, element_size).has_value(),
                 "{}: shape {} is too large ({} elements of {} bytes overflow int64)", what, shape,
                 numel, element_size);
    return numel;
}

int64_t shape_numel(const Shape& shape) {
    int64_t n = 1;
    for (int64_t s : shape)
        if (__builtin_mul_overflow(n, s, &n))
            fail("shape {} is too large (its element count overflows int64)", shape);
    return n;
}

Shape contiguous_strides(const Shape& shape) {
    Shape strides(shape.size());
    int64_t s = 1;
    for (size_t i = shape.size(); i-- > 0;) {
        strides[i] = s;
        if (i > 0 && __builtin_mul_overflow(s, std::max<int64_t>(shape[i], 1), &s))
            fail("shape {} is too large (its strides overflow int64)", shape);
    }
    return strides;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, std::string_view op) {
    int64_t n = std::max<int64_t>(ndim, 1);  // a 0-d tensor accepts dim 0 / -1, like PyTorch
    MARROW_CHECK(dim >= -n && dim < n, "{}: dim {} out of range for a {}-d tensor", op, dim, ndim);
    return dim < 0 ? dim + n : dim;
}

std::vector<int64_t> wrap_dims(const std::vector<int64_t>& dims, int64_t ndim,
                               std::string_view op) {
    std::vector<int64_t> out;
    if (dims.empty()) {
        for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
        return out;
    }
    for (int64_t d : dims) out.push_back(wrap_dim(d, ndim, op));
    std::sort(out.begin(), out.end());
    MARROW_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(),
                 "{}: dim list {} repeats a dim", op, dims);
    if (ndim == 0) out.clear();
    return out;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
    size_t n = std::max(a.size(), b.size());
    Shape out(n);
    for (size_t i = 0; i < n; ++i) {
        int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        MARROW_CHECK(da == db || da == 1 || db == 1,
                     "{}: shapes {} and {} cannot be broadcast together (dim {}: {} vs {})", op, a,
                     b, i, da, db);
        out[i] = da == 1 ? db : da;
    }
    return out;
}

Shape broadcast_strides(const Shape& from, const Shape& from_strides, const Shape& to,
                        std::string_view op) {
    MARROW_CHECK(from.size() <= to.size(), "{}: cannot broadcast shape {} to {}", op, from, to);
    Shape out(to.size(), 0);
    size_t lead = to.size() - from.size();
    for (size_t i = 0; i < from.size(); ++i) {
        if (from[i] == to[lead + i]) {
            out[lead + i] = from_strides[i];
        } else {
            MARROW_CHECK(from[i] == 1, "{}: cannot broadcast shape {} to {}", op, from, to);
        }
    }
    return out;
}

}  // namespace marrow
