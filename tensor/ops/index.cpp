#include "tensor/ops/index.h"

#include <algorithm>

#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/kernels.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/reduce.h"
#include "tensor/ops/view.h"

namespace marrow::op {

// Index values are checked by the kernels where the index lives (tensor/cpu/index.cpp; on CUDA,
// Note [device-side index checks] in cuda/stream.h): an entry point never copies an index to
// the host, which would stall the device on every gather, embedding or loss.
Tensor index_for(std::string_view op, const Tensor& index, const Tensor& x) {
    MARROW_CHECK(index.dtype() == DType::i64, "{}: index must be int64, got {}", op, index.dtype());
    if (index.device() == x.device()) return index;
    // A host index for device data (flip and reflect padding build theirs on the host) is
    // uploaded; better made on the device, since the upload waits for it.
    MARROW_CHECK(index.device().type == DeviceType::cpu,
                 "{}: index on {} for a tensor on {} (shape {})", op, index.device(), x.device(),
                 x.shape());
    return to_device(index, x.device());
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index_in) {
    MARROW_CHECK(x.dim() > 0, "index_select: input must have at least one dim");
    int64_t d = wrap_dim(dim, x.dim(), "index_select");
    MARROW_CHECK(index_in.dim() <= 1, "index_select: index must be 1-d, got shape {}",
                 index_in.shape());
    Tensor index = index_for("index_select", index_in, x);
    Shape shape = x.shape();
    shape[size_t(d)] = index.numel();
    Tensor out = empty(shape, x.dtype(), x.device());
    kernel<OpId::index_select>(x.device())(
        as_3d_around(x, d), contiguous(reshape(index, {-1})), as_3d_around(out, d));
    return out;
}

Tensor index_add_into_zeros(const Shape& shape, int64_t dim, const Tensor& index_in,
                            const Tensor& src) {
    int64_t d = wrap_dim(dim, int64_t(shape.size()), "index_add");
    Tensor index = index_for("index_add", index_in, src);
    Shape expected = shape;
    expected[size_t(d)] = index.numel();
    MARROW_CHECK(src.shape() == expected,
                 "index_add: src shape {} does not match {} (shape {} with dim {} of size {})",
                 src.shape(), expected, shape, d, index.numel());
    Tensor out = zeros(shape, src.dtype(), src.device());
    kernel<OpId::index_add>(src.device())(
        as_3d_around(src, d), contiguous(reshape(index, {-1})), as_3d_around(out, d));
    return out;
}

// Checks index's shape against x and returns it on x's device.
static Tensor gather_index(std::string_view op, const Tensor& x, int64_t d, const Tensor& index) {
    MARROW_CHECK(index.dim() == x.dim(), "{}: index shape {} and input shape {} differ in rank", op,
                 index.shape(), x.shape());
    for (int64_t i = 0; i < x.dim(); ++i)
        MARROW_CHECK(i == d || index.size(i) <= x.size(i),
                     "{}: index shape {} exceeds input shape {} at dim {}", op, index.shape(),
                     x.shape(), i);
    return index_for(op, index, x);
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index_in) {
    int64_t d = wrap_dim(dim, x.dim(), "gather");
    Tensor index = gather_index("gather", x, d, index_in);
    Tensor out = empty(index.shape(), x.dtype(), x.device());
    kernel<OpId::gather>(x.device())(x, d, index, out);
    return out;
}

Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index_in, const Tensor& src) {
    int64_t d = wrap_dim(dim, self.dim(), "scatter_add");
    check_same_dtype("scatter_add", self, src);
    Tensor index = gather_index("scatter_add", self, d, index_in);
    for (int64_t i = 0; i < index.dim(); ++i)
        MARROW_CHECK(index.size(i) <= src.size(i),
                     "scatter_add: index shape {} exceeds src shape {} at dim {}", index.shape(),
                     src.shape(), i);
    Tensor out = clone(self);
    kernel<OpId::scatter_add>(self.device())(out, d, index, src);
    return out;
}

// Sorts along dim by moving it last, sorting rows, and moving it back.
static std::pair<Tensor, Tensor> sort_rows(std::string_view op, const Tensor& x, int64_t k,
                                           int64_t dim, bool descending) {
    int64_t d = wrap_dim(dim, x.dim(), op);
    int64_t n = x.dim() == 0 ? 1 : x.size(d);
    MARROW_CHECK(k >= 0 && k <= n, "{}: k = {} out of range for dim of size {} (shape {})", op, k,
                 n, x.shape());
    Tensor moved = x.dim() == 0 ? reshape(x, {1}) : transpose(x, d, -1);
    Shape out_shape = moved.shape();
    out_shape.back() = k;
    Tensor rows = reshape(contiguous(moved), {-1, n});
    Tensor values = empty(out_shape, x.dtype(), x.device());
    Tensor indices = empty(out_shape, DType::i64, x.device());
    kernel<OpId::sort>(x.device())(rows, k, descending, true,
                                               view(values, {rows.size(0), k}),
                                               view(indices, {rows.size(0), k}));
    if (x.dim() == 0) return {reshape(values, {}), reshape(indices, {})};
    return {contiguous(transpose(values, d, -1)), contiguous(transpose(indices, d, -1))};
}

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest) {
    return sort_rows("topk", x, k, dim, largest);
}

std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending) {
    int64_t d = wrap_dim(dim, x.dim(), "sort");
    return sort_rows("sort", x, x.dim() == 0 ? 1 : x.size(d), dim, descending);
}

Tensor one_hot(const Tensor& index, int64_t num_classes) {
    MARROW_CHECK(index.dtype() == DType::i64, "one_hot: index must be int64, got {}",
                 index.dtype());
    if (num_classes < 0) {
        // The output shape needs max + 1: the one host sync left here (PyTorch syncs too). A
        // device reduction brings one number back, not the index (f64 is exact below 2^53).
        num_classes = 0;
        if (index.numel() > 0) {
            Tensor max = reduce(ReduceOp::max, to_dtype(index, DType::f64), {}, false);
            // All negative: zero classes, and scatter_add reports the first negative value.
            num_classes = std::max<int64_t>(int64_t(max.item()) + 1, 0);
        }
    }
    Shape shape = index.shape();
    shape.push_back(num_classes);
    Tensor out = zeros(shape, DType::i64, index.device());
    Tensor ones_src = ones(index.shape(), DType::f64, index.device());
    Tensor as_float = to_dtype(out, DType::f64);
    // scatter_add's kernel checks the class values: on the CPU its error is raised here and
    // named for one_hot too; on CUDA it surfaces, as scatter_add's, at the next sync point.
    auto fill = [&] {
        try {
            return scatter_add(as_float, -1, unsqueeze(index, -1), unsqueeze(ones_src, -1));
        } catch (const Error& e) {
            fail("one_hot (num_classes = {}): {}", num_classes, e.what());
        }
    };
    return to_dtype(fill(), DType::i64);
}

}  // namespace marrow::op
