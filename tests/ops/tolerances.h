// The one tolerance table: (op class, dtype) -> atol, rtol, with the reason for each row.
// A comparison passes when |ours - ref| <= atol + rtol * |ref| elementwise (STYLE.md habit 2).
// Every test that compares numbers looks its bounds up here; no test carries its own.
#pragma once
#include <string_view>

#include "tensor/dtype.h"

namespace marrow::test {

enum class TolClass {
    exact,           // pure data movement / selection: bit-identical results expected
    elementwise,     // one correctly rounded op per element (+,-,*,/, sqrt, compare)
    transcendental,  // libm exp/log/tanh/erf/pow: ulp-level differences between libms
    reduction,       // sums of many terms: summation order differs from PyTorch's
    matmul,          // K-term dot products, different blocking order (registry: K <= 5)
    matmul_deep,     // K in the hundreds with N(0, 1) operands (GEMM kernel tests)
    matmul_rounded,  // bf16/f16-operand GEMM vs a float64 GEMM of the same rounded operands
    autocast_torch,  // our bf16 autocast linear vs PyTorch's CPU autocast (bf16 outputs)
    attention_autocast,  // fused attention under autocast vs its composed twin / other device
    attention_autocast_torch,  // ... vs PyTorch's CPU autocast composition (bf16 outputs)
    gradcheck,       // float64 autograd vs central differences (eps = 1e-6)
    jpeg_decode,     // 8-bit pixels, our libjpeg-turbo vs PIL's libjpeg-turbo
    model,           // a whole network (ResNet) end to end, forward and backward
    trajectory,      // losses along a few optimizer steps of a whole network
    optimizer,       // a few optimizer steps (sqrt, division, norms) compounded over steps
    solver,          // an iterative solver (L-BFGS) against another one, both converged
    metric,          // eval/ metrics (ratios of counts, sums of a few hundred terms) vs sklearn
    eigen,           // PCA: Gram-matrix eigendecomposition (ours) vs LAPACK's SVD (sklearn)
    randomized_svd,  // PCA: randomized SVD with another random test matrix than sklearn's
    umap_graph,      // UMAP's a, b, sigmas, rhos, memberships vs umap-learn (numba, float32)
    adam_null_gradient,  // Adam steps of a parameter whose exact gradient is 0 (bias before BN)
    spec_oracle,         // hand-checkable values printed to 6 decimals (ssl_mil_spec.md 13)
};

struct Tolerance {
    double atol;
    double rtol;
    std::string_view reason;
};

constexpr Tolerance tolerance(TolClass c, DType dtype) {
    bool f64 = dtype == DType::f64;
    switch (c) {
        case TolClass::exact:
            return {0, 0, "copies and index selection move values without arithmetic"};
        case TolClass::elementwise:
            return f64 ? Tolerance{1e-14, 1e-13, "f64: an ulp or two after composition"}
                       : Tolerance{1e-6, 1e-5, "f32: an ulp or two, composed backward formulas"};
        case TolClass::transcendental:
            return f64 ? Tolerance{1e-12, 1e-11, "f64: glibc vs SLEEF/MKL differ by a few ulp"}
                       : Tolerance{1e-5, 1e-4,
                                   "f32: vectorized libm in PyTorch differs by ~4 ulp, "
                                   "amplified in backward chains"};
        case TolClass::reduction:
            return f64 ? Tolerance{1e-12, 1e-11, "f64: summation order differs"}
                       : Tolerance{1e-5, 1e-4, "f32: blocked vs cascade summation order"};
        case TolClass::matmul:
            return f64 ? Tolerance{1e-12, 1e-11, "f64: K-term dot product, different order"}
                       : Tolerance{1e-5, 1e-4, "f32: K-term dot products with FMA vs OpenBLAS"};
        case TolClass::matmul_deep:
            return f64 ? Tolerance{1e-11, 1e-10, "f64: K ~ 500 terms of size ~1, outputs ~ sqrt(K)"}
                       : Tolerance{5e-4, 1e-4,
                                   "f32: outputs ~ sqrt(K) ~ 23 for K ~ 500; float "
                                   "summation error ~ sqrt(K) eps |out| ~ 5e-5, x10"};
        case TolClass::matmul_rounded:
            return {5e-4, 1e-4,
                    "bf16 x bf16 (and f16 x f16) products are exact in float, so only the float32 "
                    "accumulation differs from the float64 reference: as matmul_deep f32 "
                    "(K <= 600 with N(0, 1) operands, outputs ~ sqrt(K))"};
        case TolClass::autocast_torch:
            return {1e-3, 1.0 / 256,
                    "PyTorch rounds autocast outputs (y, dx, dW, db) to bf16 (relative error "
                    "<= 2^-9) and adds the bias after rounding it to bf16 (absolute error <= "
                    "2^-9 |bias| <= 2.5e-4 for |bias| <= 1/8); ours keep float32 outputs: "
                    "rtol 2^-8, atol 1e-3"};
        case TolClass::attention_autocast:
            return {1e-2, 1e-2,
                    "both round the same operands to bf16 (2^-9 relative) but the fused kernel "
                    "rounds the unnormalized P (round(P) / l vs round(P / l)), forms D from dO o O, "
                    "and sums in another order, so a few P and dS entries land on the other side "
                    "of a bf16 rounding: errors ~2^-8 of the entries, outputs ~1: 1e-2"};
        case TolClass::attention_autocast_torch:
            return {2e-2, 2e-2,
                    "PyTorch's autocast matmul outputs are bf16: the scores q k^T (|s| <= ~12 at "
                    "E = 16, error 2^-9 |s| / 4 after the scale: P off by up to ~0.6%), the "
                    "output, and every gradient flowing through the bf16 graph (dP, dS, dq, dk, "
                    "dv each rounded once more); ours keep float32 scores and gradients: 2e-2"};
        case TolClass::gradcheck:
            return {1e-6, 1e-4,
                    "central differences with eps=1e-6 in f64: truncation O(eps^2) "
                    "and cancellation O(1e-16/eps) errors around 1e-8..1e-10"};
        case TolClass::optimizer:
            return f64 ? Tolerance{1e-12, 1e-11,
                                   "f64: ~10 rounded ops per step (Adam's sqrt and division, "
                                   "LARS's norms), 6 steps, in a different order than torch"}
                       : Tolerance{1e-5, 1e-4, "f32: the same chains in float"};
        case TolClass::solver:
            return {1e-4, 1e-4,
                    "two L-BFGS runs (ours, scipy's) on one strictly convex objective, each "
                    "stopped by a relative reduction of 2.2e-9: with f ~ 100 the objective gap "
                    "can be ~2e-7, and |w - w*| <= sqrt(2 gap / lambda_min) with lambda_min >= "
                    "1/C ~ 1 allows ~6e-4 (measured: 2.4e-5)"};
        case TolClass::jpeg_decode:
            return {0, 0,
                    "the same library (libjpeg-turbo, ISLOW IDCT, fancy upsampling) as PIL: "
                    "identical pixels (stb_image, before issue 11, differed by up to 2 levels)"};
        case TolClass::model:
            return f64 ? Tolerance{1e-10, 1e-9, "f64: dozens of layers of reordered sums"}
                       : Tolerance{2e-3, 2e-3,
                                   "f32: 20-50 conv/BN layers, each a K ~ 100-4600 term sum "
                                   "in another order than oneDNN's (forward only: backward "
                                   "through batch-norm of a batch of 2 is ill-conditioned, "
                                   "torch's own f32 and f64 ResNet-50 gradients differ by "
                                   "nmse 1.6e-4, so gradients are compared in f64)"};
        case TolClass::trajectory:
            return f64 ? Tolerance{1e-6, 1e-5,
                                   "f64: each SGD step amplifies the last one's rounding "
                                   "differences ~15x on ResNet-50 at batch 2 (measured "
                                   "3.6e-8 relative at step 4, 5.7e-7 at step 5)"}
                       : Tolerance{1e-2, 1e-2, "f32: not used (see model)"};
        case TolClass::metric:
            return {1e-12, 1e-12,
                    "f64: the same ratios of counts as sklearn; sums (averages, AUC trapezoids "
                    "and AP step sums over up to ~1000 points) in sequential rather than "
                    "numpy's pairwise order differ by a few ulp"};
        case TolClass::eigen:
            return f64 ? Tolerance{1e-10, 1e-10,
                                   "f64: eigenvalues of Xc^T Xc (squared singular values) by "
                                   "QL vs LAPACK's SVD of Xc; components ~ eps * cond / gap"}
                       : Tolerance{1e-4, 1e-4, "f32: not used (PCA computes in f64)"};
        case TolClass::randomized_svd:
            return f64 ? Tolerance{1e-8, 1e-8,
                                   "f64: both randomized SVDs converge to the exact one on a "
                                   "spectrum decaying 2x per component (gap^(2q+1) ~ 1e-10)"}
                       : Tolerance{1e-4, 1e-4, "f32: not used (PCA computes in f64)"};
        case TolClass::umap_graph:
            return f64 ? Tolerance{1e-6, 1e-6,
                                   "f64: scipy curve_fit (MINPACK, finite differences) stops at "
                                   "xtol 1.5e-8; ours iterates LM with the exact Jacobian"}
                       : Tolerance{1e-6, 1e-5,
                                   "f32: umap-learn stores sigmas, rhos, distances and "
                                   "memberships in float32 (an ulp ~ 6e-8 relative) and its "
                                   "distances come from sklearn's |a|^2 + |b|^2 - 2ab"};
        case TolClass::spec_oracle:
            return {1e-6, 0, "the spec's oracle values are rounded to 6 decimals"};
        case TolClass::adam_null_gradient:
            return {1e-7, 0,
                    "a Linear bias feeding a train-mode batch norm has an exactly zero gradient; "
                    "both frameworks get rounding noise |g| < 1e-13 of their own, which Adam "
                    "turns into steps lr g / (|g| + eps) < 1e-2 * 1e-13 / 1e-8 = 1e-7 in all "
                    "(and the BN's running mean inherits them): measured 7e-9 after 3 steps"};
    }
    return {0, 0, ""};
}

}  // namespace marrow::test
