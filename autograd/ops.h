// The differentiable op API (namespace marrow): PyTorch names and semantics. Each op calls its
// entry point in tensor/ops/ and, when an input requires grad, records a node whose backward
// sits next to the forward in autograd/functions/<family>.cpp with its derivation.
#pragma once
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "tensor/factory.h"
#include "tensor/ops/conv.h"
#include "tensor/ops/interpolate.h"  // InterpolateOptions
#include "tensor/ops/pool.h"  // kNone
#include "tensor/tensor.h"

namespace marrow {

using Dims = std::vector<int64_t>;

// ---- unary (autograd/functions/elementwise.cpp)
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
// approximate: "none" (erf form) or "tanh".
Tensor gelu(const Tensor& x, std::string_view approximate = "none");
Tensor silu(const Tensor& x);
Tensor softplus(const Tensor& x, double beta = 1, double threshold = 20);
Tensor clamp(const Tensor& x, double min, double max);
Tensor pow(const Tensor& x, double exponent);
Tensor reciprocal(const Tensor& x);

// ---- binary with broadcasting; a double operand takes the tensor's dtype. Mixed dtypes
// promote as PyTorch does for the common cases: a bool or integer operand takes the other's
// floating dtype (x * (x > 0)), bool takes an integer's, i32 with i64 gives i64; two
// different floating dtypes are an error naming both (convert one with to(t, dtype)).
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
Tensor operator-(const Tensor& x);
// A 0-d tensor holding `value` in t's dtype and device (for scalar operands).
Tensor scalar_like(const Tensor& t, double value);

// ---- comparisons and logic (bool results, no gradient)
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double b);
Tensor ne(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor le(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);
Tensor ge(const Tensor& a, double b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& a);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

// ---- closeness and value tests (no gradient; bool results), as torch.isclose & co.
// isclose: |a - b| <= atol + rtol |b| elementwise (inf == inf; NaN == NaN only if equal_nan).
Tensor isclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8,
               bool equal_nan = false);
// torch.equal: the same shape and the same values (NaN is not equal to itself).
bool equal(const Tensor& a, const Tensor& b);
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8,
              bool equal_nan = false);
Tensor isnan(const Tensor& x);
Tensor isinf(const Tensor& x);
Tensor isfinite(const Tensor& x);

// ---- conversions
Tensor to(const Tensor& x, DType dtype);  // differentiable between floating dtypes
Tensor to(const Tensor& x, Device device);
Tensor to(const Tensor& x, Device device, DType dtype);
Tensor contiguous(const Tensor& x);
Tensor clone(const Tensor& x);
Tensor detach(const Tensor& x);
// Waits for queued device work (CUDA kernels are asynchronous; a no-op on the CPU).
void synchronize(Device device);

// ---- in-place updates (for optimizers and initialization; not recorded: they refuse a
// tensor that requires grad while grad mode is on, like PyTorch's leaf check)
void copy_(const Tensor& dst, const Tensor& src);
void fill_(const Tensor& dst, double value);
void zero_(const Tensor& dst);
void add_(const Tensor& dst, const Tensor& src, double alpha = 1);  // dst += alpha * src
void mul_(const Tensor& dst, double value);

// ---- reductions (autograd/functions/reduce.cpp); empty dims = all dims
Tensor sum(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor var(const Tensor& x, const Dims& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor std(const Tensor& x, const Dims& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor max(const Tensor& x);  // over all elements
Tensor min(const Tensor& x);
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor argmin(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor norm(const Tensor& x, double p = 2, const Dims& dims = {}, bool keepdim = false);
Tensor all(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor any(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
// Sums g down to `shape` (the inverse of broadcasting); used by every broadcasting backward.
Tensor sum_to(const Tensor& g, const Shape& shape);

// ---- matrix products, softmax, cumsum (autograd/functions/linalg.cpp)
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);
Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, double beta = 1,
             double alpha = 1);
// x (..., in) @ weight (out, in)^T + bias (out)
Tensor linear(const Tensor& x, const Tensor& weight,
              const std::optional<Tensor>& bias = std::nullopt);
Tensor outer(const Tensor& a, const Tensor& b);
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
Tensor cumsum(const Tensor& x, int64_t dim);

// ---- normalization (autograd/functions/norm.cpp)
// torch.nn.functional.batch_norm: x (N, C, *) normalized per channel c over N and *.
// training: with the batch's mean and biased variance; the running buffers (C,), when given,
// are updated in place: r = (1 - momentum) r + momentum stat, with the unbiased variance
// (n / (n - 1), n = N * prod(*)). eval: with running_mean and running_var (both required).
// Then y = xhat * weight + bias (each (C,), optional). Gradients for x, weight and bias; the
// running buffers get none. PyTorch's momentum=None (a cumulative average) is the factor
// batch_norm_momentum(std::nullopt, num_batches_tracked) passed as momentum.
Tensor batch_norm(const Tensor& x, const std::optional<Tensor>& running_mean,
                  const std::optional<Tensor>& running_var,
                  const std::optional<Tensor>& weight = std::nullopt,
                  const std::optional<Tensor>& bias = std::nullopt, bool training = false,
                  double momentum = 0.1, double eps = 1e-5);
// The running-statistics factor of a BatchNorm layer's step: `momentum`, or, when none,
// 1 / num_batches_tracked (counting this batch) as torch.nn.BatchNorm does.
double batch_norm_momentum(std::optional<double> momentum, int64_t num_batches_tracked);
// torch.nn.functional.layer_norm (autograd/functions/layer_norm.cpp): x (*, normalized_shape)
// normalized over its last normalized_shape.size() dims with their mean and biased variance,
// then y = xhat * weight + bias (each of shape normalized_shape, optional). Gradients for x,
// weight and bias.
Tensor layer_norm(const Tensor& x, const std::vector<int64_t>& normalized_shape,
                  const std::optional<Tensor>& weight = std::nullopt,
                  const std::optional<Tensor>& bias = std::nullopt, double eps = 1e-5);

// ---- shape (autograd/functions/shape.cpp)
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor view(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor squeeze(const Tensor& x, std::optional<int64_t> dim = std::nullopt);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor expand(const Tensor& x, const Shape& shape);
Tensor permute(const Tensor& x, const Dims& dims);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
Tensor cat(const std::vector<Tensor>& xs, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim = 0);
// pads: (left, right) pairs starting from the last dim, like torch.nn.functional.pad;
// mode "constant" (with value) or "reflect".
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, std::string_view mode = "constant",
           double value = 0);
Tensor flip(const Tensor& x, const Dims& dims);  // empty dims: all dims (numpy.flip)

// ---- indexing and sorting (autograd/functions/index.cpp); indices are int64
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
Tensor embedding(const Tensor& weight, const Tensor& indices);  // (V, D), (...) -> (..., D)
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true);
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false);
Tensor one_hot(const Tensor& index, int64_t num_classes = -1);

// ---- pooling, dropout, normalize (autograd/functions/pool.cpp), as torch.nn.functional.
// Inputs (N, C, H, W) or (C, H, W), float32/float64. Window arguments take one int for both
// dims or (H, W); an empty stride means stride = kernel_size.
// max_pool2d_with_indices: also the int64 flat index ih * W + iw of each maximum in its plane.
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const Dims& kernel_size,
                                                  const Dims& stride = {},
                                                  const Dims& padding = {0},
                                                  const Dims& dilation = {1},
                                                  bool ceil_mode = false);
Tensor max_pool2d(const Tensor& x, const Dims& kernel_size, const Dims& stride = {},
                  const Dims& padding = {0}, const Dims& dilation = {1}, bool ceil_mode = false);
Tensor avg_pool2d(const Tensor& x, const Dims& kernel_size, const Dims& stride = {},
                  const Dims& padding = {0}, bool ceil_mode = false, bool count_include_pad = true,
                  std::optional<int64_t> divisor_override = std::nullopt);
// output_size: one int, or (H, W) where kNone keeps the input's size (PyTorch's None).
Tensor adaptive_avg_pool2d(const Tensor& x, const Dims& output_size);
// Training mode: zeroes each element with probability p (a Philox mask from `gen`) and scales
// the rest by 1 / (1 - p); eval mode and p = 0 return x itself.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true,
               Generator& gen = default_generator());
// Stochastic depth (timm's / DINOv2's drop_path): in training, each sample b of x (B, ...)
// is zeroed with probability p, otherwise scaled by 1 / (1 - p) (scale_by_keep); one Bernoulli
// draw per sample from `gen`. Eval mode and p = 0 return x itself; p = 1 gives x * 0.
Tensor drop_path(const Tensor& x, double p = 0, bool training = true,
                 Generator& gen = default_generator());
// drop_path with a given keep mask: keep (B, 1, ..., 1), bool or 0/1 values, broadcast over
// x; returns x * keep / (1 - p) (x * keep when p = 1).
Tensor drop_path_masked(const Tensor& x, const Tensor& keep, double p);
// x / max(||x||_p along dim, eps)
Tensor normalize(const Tensor& x, double p = 2, int64_t dim = 1, double eps = 1e-12);
// ---- attention (autograd/functions/attention.cpp), PyTorch 2.x's
// F.scaled_dot_product_attention: q (..., L, E), k (..., S, E), v (..., S, Ev) -> (..., L, Ev),
// batch dims broadcast; attn_mask bool (true takes part) or q's dtype (added to the scores),
// broadcastable to (..., L, S), not together with is_causal (top-left aligned: key j <= query
// i); scale default 1 / sqrt(E); dropout on the probabilities from `gen` (the mask F.dropout
// would draw on the (..., L, S) probabilities). Fused kernels (no L x S matrix); a row with
// every key masked gives NaN; a float mask that requires grad gets its gradient.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const std::optional<Tensor>& attn_mask = std::nullopt,
                                    double dropout_p = 0, bool is_causal = false,
                                    std::optional<double> scale = std::nullopt,
                                    Generator& gen = default_generator());
// ---- convolution (autograd/functions/conv.cpp), torch.nn.functional.conv2d: x (N, C, H, W)
// or (C, H, W), weight (O, C / groups, kH, kW), bias (O); params: stride, padding (or
// padding_same), dilation, groups (Conv2dParams, tensor/ops/conv.h).
Tensor conv2d(const Tensor& x, const Tensor& weight,
              const std::optional<Tensor>& bias = std::nullopt, const Conv2dParams& params = {});
// ---- interpolate (autograd/functions/interpolate.cpp), torch.nn.functional.interpolate with
// antialias=False: x (N, C, L) for nearest | linear, (N, C, H, W) for nearest | bilinear |
// bicubic; options (size or scale_factor, align_corners, recompute_scale_factor):
// InterpolateOptions, tensor/ops/interpolate.h. E.g. DINOv2's position-embedding resize:
//   interpolate(pos, {.scale_factor = {(w0 + 0.1) / 16, (h0 + 0.1) / 16},
//                     .mode = InterpolateMode::bicubic})
Tensor interpolate(const Tensor& x, const InterpolateOptions& options);
// ---- contrastive losses (autograd/functions/contrastive.cpp), fused, 0-d results.
// SimCLR's NT-Xent: z (2N, d), rows 0..N-1 view a and N..2N-1 view b of the same images (the
// positive of row i is (i + N) mod 2N); rows l2-normalized inside (eps 1e-12), S = zn zn^T /
// temperature with the diagonal excluded, l_i = -S_{i,p(i)} + log sum_{j != i} exp(S_ij); the
// mean over the 2N anchors (the paper's; google-research/simclr's loss is 2x this).
Tensor nt_xent(const Tensor& z, double temperature);
// DINOv2's KoLeoLoss: x (B, D), B >= 2; xh = normalize(x, eps), each row's nearest neighbour by
// the Gram matrix (diagonal -1; ties: the first, as torch.max; no gradient through the index),
// d_i = ||xh_i - xh_nn(i) + 1e-8|| (nn.PairwiseDistance), L = -mean log(d_i + eps).
Tensor koleo_loss(const Tensor& x, double eps = 1e-8);

// ---- SSL losses (autograd/functions/crop_cross_entropy.cpp; issue 15)
// Sinkhorn-Knopp (tensor/ops/sinkhorn.h): SwAV's distributed_sinkhorn at world size 1 on scores
// (B', K), rows of the result summing to 1; never records a gradient (a constant target).
Tensor sinkhorn_knopp(const Tensor& scores, double epsilon, int64_t iterations);
// The multi-crop soft cross-entropy of DINO / SwAV / DINOv2: targets (T, B, K) (no gradient:
// detach them), student_logits (V, B, K), 1 <= T <= V, n_terms = T V - T > 0:
//   (1/n_terms) sum_{j<T} sum_{v != j} mean_b [-sum_k targets[j,b,k]
//   log_softmax(student[v,b] / tau)_k]
Tensor cross_entropy_crops(const Tensor& targets, const Tensor& student_logits,
                           double student_temperature);
// iBOT's per-row weighted form: targets, logits (R, K), row_weights (R) (targets and weights
// without gradient): sum_r w_r (-sum_k q_rk log_softmax(s_r / tau)_k); R = 0 gives 0.
Tensor soft_cross_entropy(const Tensor& targets, const Tensor& logits, const Tensor& row_weights,
                          double temperature);

}  // namespace marrow
