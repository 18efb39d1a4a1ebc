// Matrix products, softmax and cumsum with their backward.
#include "tensor/ops/linalg.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/autocast.h"
#include "tensor/ops/softmax.h"
#include "tensor/ops/view.h"

namespace marrow {

using autograd::Grads;
using autograd::NeedsGrad;
using autograd::needs_grad;
using autograd::record;
using autograd::save_if;
using autograd::SavedTensor;

// C = A B (mm; bmm: per batch element): dA = dC B^T, dB = A^T dC (transposes of the last two
// dims are free: GEMM packing absorbs strides). Each GEMM runs only if its gradient is needed
// (a frozen weight, input images: one GEMM), and each operand is saved only for the other's
// gradient. The operand precision is fixed when the node is recorded (autocast's bf16/f16,
// Note [Mixed precision] in tensor/autocast.h) and the backward GEMMs use it too.
template <Tensor (*Product)(const Tensor&, const Tensor&, op::Precision)>
static Tensor matrix_product(const char* name, const Tensor& a, const Tensor& b) {
    SavedTensor sa = save_if(needs_grad(b), a, name), sb = save_if(needs_grad(a), b, name);
    GemmPrecision p = gemm_precision(a.dtype());
    return record(name, {a, b}, Product(a, b, p), [=](const Grads& g, const NeedsGrad& needs) {
        Grads out(2);
        if (needs[0]) out[0] = Product(*g[0], op::transpose(sb.get(), -2, -1), p);
        if (needs[1]) out[1] = Product(op::transpose(sa.get(), -2, -1), *g[0], p);
        return out;
    });
}
Tensor mm(const Tensor& a, const Tensor& b) { return matrix_product<op::mm>("mm", a, b); }
Tensor bmm(const Tensor& a, const Tensor& b) { return matrix_product<op::bmm>("bmm", a, b); }

// out = beta bias + alpha A B: dbias = beta sum_to(g), dA = alpha g B^T, dB = alpha A^T g.
Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, double beta, double alpha) {
    SavedTensor sa = save_if(needs_grad(b), a, "addmm"), sb = save_if(needs_grad(a), b, "addmm");
    Shape bias_shape = bias.shape();
    GemmPrecision p = gemm_precision(a.dtype());
    return record("addmm", {bias, a, b}, op::addmm(bias, a, b, beta, alpha, p),
                  [=](const Grads& g, const NeedsGrad& needs) {
                      Grads out(3);
                      if (needs[0]) out[0] = sum_to(beta == 1 ? *g[0] : *g[0] * beta, bias_shape);
                      if (needs[1]) {
                          Tensor ga = op::mm(*g[0], op::transpose(sb.get(), 0, 1), p);
                          out[1] = alpha == 1 ? ga : ga * alpha;
                      }
                      if (needs[2]) {
                          Tensor gb = op::mm(op::transpose(sa.get(), 0, 1), *g[0], p);
                          out[2] = alpha == 1 ? gb : gb * alpha;
                      }
                      return out;
                  });
}

// torch.matmul semantics, composed from differentiable views and mm/bmm (backward by
// composition): 1-d operands get a dim prepended/appended and removed after; (..., M, K) @
// (K, N) folds the batch into M; otherwise batch dims broadcast and bmm runs over them.
Tensor matmul(const Tensor& a, const Tensor& b) {
    MARROW_CHECK(a.dim() >= 1 && b.dim() >= 1,
                 "matmul: both operands need at least 1 dim, got "
                 "shapes {} and {}",
                 a.shape(), b.shape());
    if (a.dim() == 1 && b.dim() == 1) {
        MARROW_CHECK(a.size(0) == b.size(0), "matmul: dot of shapes {} and {}", a.shape(),
                     b.shape());
        return reshape(mm(unsqueeze(a, 0), unsqueeze(b, 1)), {});
    }
    if (a.dim() == 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
    if (b.dim() == 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
    MARROW_CHECK(a.size(-1) == b.size(-2),
                 "matmul: shapes {} and {} cannot be multiplied "
                 "({} != {})",
                 a.shape(), b.shape(), a.size(-1), b.size(-2));
    if (a.dim() == 2 && b.dim() == 2) return mm(a, b);
    if (b.dim() == 2) {
        Shape out = a.shape();
        out.back() = b.size(1);
        return reshape(mm(reshape(a, {-1, a.size(-1)}), b), out);
    }
    Shape batch_a(a.shape().begin(), a.shape().end() - 2);
    Shape batch_b(b.shape().begin(), b.shape().end() - 2);
    Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
    Shape ea = batch, eb = batch, out = batch;
    ea.insert(ea.end(), {a.size(-2), a.size(-1)});
    eb.insert(eb.end(), {b.size(-2), b.size(-1)});
    out.insert(out.end(), {a.size(-2), b.size(-1)});
    Tensor a3 = reshape(expand(a, ea), {-1, a.size(-2), a.size(-1)});
    Tensor b3 = reshape(expand(b, eb), {-1, b.size(-2), b.size(-1)});
    return reshape(bmm(a3, b3), out);
}

Tensor linear(const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias) {
    MARROW_CHECK(weight.dim() == 2, "linear: weight must be (out, in), got shape {}",
                 weight.shape());
    MARROW_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1),
                 "linear: input shape {} does not match weight shape {} (in = {})", x.shape(),
                 weight.shape(), weight.size(1));
    if (bias && x.dim() == 2) return addmm(*bias, x, transpose(weight, 0, 1));
    Tensor y = matmul(x, transpose(weight, 0, 1));
    return bias ? y + *bias : y;
}

Tensor outer(const Tensor& a, const Tensor& b) {
    MARROW_CHECK(a.dim() == 1 && b.dim() == 1, "outer: expected 1-d operands, got {} and {}",
                 a.shape(), b.shape());
    return mm(unsqueeze(a, 1), unsqueeze(b, 0));
}

// Backward formulas in tensor/cpu/softmax.cpp (Jacobian-vector products of softmax and
// log_softmax along dim).
Tensor softmax(const Tensor& x, int64_t dim) {
    Tensor y = op::softmax(x, dim, false);
    SavedTensor sy(y, "softmax");
    return record("softmax", {x}, y, [=](const Grads& g) -> Grads {
        return {op::softmax_backward(sy.get(), *g[0], dim, false)};
    });
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
    Tensor y = op::softmax(x, dim, true);
    SavedTensor sy(y, "log_softmax");
    return record("log_softmax", {x}, y, [=](const Grads& g) -> Grads {
        return {op::softmax_backward(sy.get(), *g[0], dim, true)};
    });
}

// y_j = sum_{i<=j} x_i: dL/dx_i = sum_{j>=i} g_j, a reversed cumsum: flip(cumsum(flip(g))).
Tensor cumsum(const Tensor& x, int64_t dim) {
    int64_t d = wrap_dim(dim, x.dim(), "cumsum");
    return record("cumsum", {x}, op::cumsum(x, d), [=](const Grads& g) -> Grads {
        if (g[0]->dim() == 0) return {*g[0]};
        return {flip(op::cumsum(flip(*g[0], {d}), d), {d})};
    });
}

}  // namespace marrow
