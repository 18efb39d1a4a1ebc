// Indexing and sorting ops with their backward: every "read at indices" op sends its gradient
// back by adding at the same indices (index_select -> index_add, gather -> scatter_add).
#include "tensor/ops/index.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/view.h"

namespace marrow {

using autograd::Grads;
using autograd::record;

// y = x[idx] along dim: dL/dx[j] = sum over k with idx[k] == j of g[k].
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
    Shape shape = x.shape();
    int64_t d = wrap_dim(dim, x.dim(), "index_select");
    Tensor idx = index;
    return record("index_select", {x}, op::index_select(x, d, index), [=](const Grads& g) -> Grads {
        return {op::index_add_into_zeros(shape, d, idx, *g[0])};
    });
}

// y[c] = x[c with c[dim] := idx[c]]: the gradient scatters back with addition.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
    Shape shape = x.shape();
    int64_t d = wrap_dim(dim, x.dim(), "gather");
    Tensor idx = index;
    return record("gather", {x}, op::gather(x, d, index), [=](const Grads& g) -> Grads {
        return {op::scatter_add(zeros(shape, g[0]->dtype(), g[0]->device()), d, idx, *g[0])};
    });
}

// y = self + scatter(src): dL/dself = g; dL/dsrc = gather(g) at the same indices.
Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
    int64_t d = wrap_dim(dim, self.dim(), "scatter_add");
    Tensor idx = index;
    Shape src_shape = src.shape();
    return record("scatter_add", {self, src}, op::scatter_add(self, d, index, src),
                  [=](const Grads& g, const autograd::NeedsGrad& needs) -> Grads {
                      if (!needs[1]) return {*g[0], std::nullopt};
                      Tensor gs = op::gather(*g[0], d, idx);
                      if (gs.shape() != src_shape) {  // index smaller than src: zero the rest
                          Tensor full_gs = zeros(src_shape, gs.dtype(), gs.device());
                          Tensor region = full_gs;
                          for (int64_t i = 0; i < gs.dim(); ++i)
                              region = op::narrow(region, i, 0, gs.size(i));
                          op::copy_(region, gs);
                          gs = full_gs;
                      }
                      return {*g[0], gs};
                  });
}

Tensor embedding(const Tensor& weight, const Tensor& indices) {
    MARROW_CHECK(weight.dim() == 2, "embedding: weight must be (num_embeddings, dim), got {}",
                 weight.shape());
    Shape out = indices.shape();
    out.push_back(weight.size(1));
    return reshape(index_select(weight, 0, op::reshape(indices, {-1})), out);
}

// Sorted values are a gather of x: their gradient scatters back to the source positions.
static std::pair<Tensor, Tensor> sorted(const char* name, const Tensor& x,
                                        std::pair<Tensor, Tensor> result, int64_t dim) {
    Shape shape = x.shape();
    int64_t d = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), name);
    Tensor idx = result.second;
    auto outs = record(name, {x}, {result.first, result.second}, [=](const Grads& g) -> Grads {
        if (shape.empty()) return {op::reshape(*g[0], shape)};
        return {op::scatter_add(zeros(shape, g[0]->dtype(), g[0]->device()), d, idx, *g[0])};
    });
    return {outs[0], outs[1]};
}

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest) {
    return sorted("topk", x, op::topk(x, k, dim, largest), dim);
}

std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending) {
    return sorted("sort", x, op::sort(x, dim, descending), dim);
}

Tensor one_hot(const Tensor& index, int64_t num_classes) { return op::one_hot(index, num_classes); }

}  // namespace marrow
