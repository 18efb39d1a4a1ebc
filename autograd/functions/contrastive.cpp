// The contrastive losses of self-supervised pre-training, each one fused kernel per direction
// (Note [Contrastive losses], tensor/cpu/contrastive.cpp): SimCLR's NT-Xent and DINOv2's KoLeo.
// Their composed forms (tests/ops/cases/contrastive.cpp: normalize, mm, masked_fill,
// log_softmax, gather) are the reference and gradient oracle of the fused kernels; the PyTorch
// twins (tests/golden/gen/gen_ops.py) are F.normalize + mm + mask + F.cross_entropy and
// dinov2's KoLeoLoss.
#include "tensor/ops/contrastive.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace marrow {

using autograd::Grads;
using autograd::needs_grad;
using autograd::record;
using autograd::save_if;
using autograd::SavedTensor;

// NT-Xent (SimCLR, Chen et al. 2020, eq. 1), M = 2N rows, p(i) = (i + N) mod M:
//   zn_i = z_i / max(||z_i||, 1e-12),  S_ij = zn_i . zn_j / tau,
//   l_i = -S_{i,p(i)} + lse_i,  lse_i = log sum_{j != i} exp(S_ij),  L = (1/M) sum_i l_i.
// (google-research/simclr returns (1/N) sum_i l_i = 2 L: halve its lr/loss comparisons.)
// Backward, with g = dL/dL_out and P_ij = exp(S_ij - lse_i) (the row softmax, j != i):
//   dL/dS_ij = g (P_ij - [j = p(i)]) / M for j != i; the diagonal is masked, so 0.
//   S_ij reads zn_i and zn_j (term 1: row i's own loss; term 2: row j's loss, through
//   S_ji = S_ij), so dL/dzn = (G + G^T) zn / tau with G = dL/dS. S is symmetric and p is an
//   involution (j = p(i) iff i = p(j)), hence
//     H_ij = (G + G^T)_ij / tau = c (P_ij + P_ji - 2 [j = p(i)]),  c = g / (M tau),
//     P_ji = exp(S_ij - lse_j),  H_ii = 0,  dzn = H zn.
//   Through the normalization (F.normalize's backward, n = ||z_i|| >= eps):
//     dz_i = (dzn_i - zn_i (zn_i . dzn_i)) / n, or dzn_i / eps where the clamp holds.
// Saved: z and lse (2N,); S is recomputed (one GEMM) in backward.
Tensor nt_xent(const Tensor& z, double temperature) {
    op::NtXentForward f = op::nt_xent(z, temperature);
    bool dz = needs_grad(z);
    SavedTensor sz = save_if(dz, z, "nt_xent");
    SavedTensor slse = save_if(dz, f.lse, "nt_xent");
    return record("nt_xent", {z}, f.loss, [=](const Grads& g) -> Grads {
        return {op::nt_xent_backward(sz.get(), slse.get(), *g[0], temperature)};
    });
}

// KoLeo (Sablayrolles et al. 2019; dinov2/loss/koleo_loss.py), B rows:
//   xh_i = x_i / max(||x_i||, eps),  nn(i) = argmax_{j} (xh xh^T with its diagonal set to -1)
//   (the first maximum, NaN first, as torch.max on the CPU; an index, so no gradient),
//   u_i = xh_i - xh_nn(i) + 1e-8 (nn.PairwiseDistance adds its eps to the difference),
//   d_i = ||u_i||,  L = -(1/B) sum_i log(d_i + eps).
// Backward: dL/dd_i = -g / (B (d_i + eps)), dd_i/du_i = u_i / d_i (0 where d_i = 0, as torch's
// norm backward), so with a_i = -g / (B (d_i + eps) d_i):
//   dL/dxh_k = a_k u_k  -  sum_{i : nn(i) = k} a_i u_i
// (term 1: row k's own distance; term 2: every distance in which k is the neighbour), then
// through the normalization as above with eps. Saved: x and nn (B,) int64.
Tensor koleo_loss(const Tensor& x, double eps) {
    op::KoleoForward f = op::koleo_loss(x, eps);
    bool dx = needs_grad(x);
    SavedTensor sx = save_if(dx, x, "koleo_loss");
    SavedTensor snn = save_if(dx, f.nn, "koleo_loss");
    return record("koleo_loss", {x}, f.loss, [=](const Grads& g) -> Grads {
        return {op::koleo_loss_backward(sx.get(), snn.get(), *g[0], eps)};
    });
}

}  // namespace marrow
