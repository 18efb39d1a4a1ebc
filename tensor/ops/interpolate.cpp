#include "tensor/ops/interpolate.h"

#include <cmath>
#include <sstream>
#include <string>

#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/view.h"

namespace marrow {

const char* interpolate_mode_name(InterpolateMode mode) {
    switch (mode) {
        case InterpolateMode::nearest:
            return "nearest";
        case InterpolateMode::linear:
            return "linear";
        case InterpolateMode::bilinear:
            return "bilinear";
        case InterpolateMode::bicubic:
            return "bicubic";
    }
    return "?";
}

}  // namespace marrow

namespace marrow::op {
namespace {

template <typename V>
std::string list(const std::vector<V>& v) {
    std::ostringstream os;
    os << "[";
    for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
    os << "]";
    return os.str();
}

// The spatial sizes as PyTorch's messages print them: "(H: 16, W: 16)" or "(W: 16)".
std::string hw(int64_t dims, int64_t h, int64_t w) {
    std::ostringstream os;
    if (dims == 2)
        os << "(H: " << h << ", W: " << w << ")";
    else
        os << "(W: " << w << ")";
    return os.str();
}

// The ranks each mode takes, with F.interpolate's messages for the others.
void check_rank(const Shape& x, InterpolateMode mode) {
    const char* name = interpolate_mode_name(mode);
    int64_t nd = int64_t(x.size());
    if (mode == InterpolateMode::nearest) {
        MARROW_CHECK(nd == 3 || nd == 4,
                     "interpolate: mode nearest takes a 3-d (N, C, L) or 4-d (N, C, H, W) input, "
                     "got shape {}",
                     x);
        return;
    }
    int64_t want = mode == InterpolateMode::linear ? 3 : 4;
    MARROW_CHECK((nd != 3 && nd != 4 && nd != 5) || nd == want,
                 "interpolate: Got {}D input, but {} mode needs {}D input (input shape {})", nd,
                 name, want, x);
    MARROW_CHECK(nd == want,
                 "interpolate: Only 3D and 4D input tensors are supported (got {}D, shape {}) for "
                 "the modes nearest | linear | bilinear | bicubic (got {})",
                 nd, x, name);
}

Shape output_shape(const Shape& x, const InterpolateParams& p) {
    Shape out = x;
    out.back() = p.w.out;
    if (x.size() == 4) out[2] = p.h.out;
    return out;
}

// t (contiguous) as (planes, rows, cols).
Tensor as_planes(const Tensor& t, int64_t rows, int64_t cols) {
    return view(t, {rows * cols == 0 ? 0 : t.numel() / (rows * cols), rows, cols});
}

}  // namespace

InterpolateParams interpolate_params(const Shape& x, const InterpolateOptions& o) {
    const char* name = interpolate_mode_name(o.mode);
    bool nearest = o.mode == InterpolateMode::nearest;
    MARROW_CHECK(!nearest || !o.align_corners,
                 "interpolate: align_corners option can only be set with the interpolating modes: "
                 "linear | bilinear | bicubic (got mode {}, input shape {})",
                 name, x);
    MARROW_CHECK(o.size.empty() || o.scale_factor.empty(),
                 "interpolate: only one of size or scale_factor should be defined (got size {} and "
                 "scale_factor {}, input shape {})",
                 list(o.size), list(o.scale_factor), x);
    MARROW_CHECK(!o.size.empty() || !o.scale_factor.empty(),
                 "interpolate: either size or scale_factor should be defined (input shape {})", x);
    MARROW_CHECK(o.size.empty() || !o.recompute_scale_factor.value_or(false),
                 "interpolate: recompute_scale_factor is not meaningful with an explicit size "
                 "(size {}, input shape {})",
                 list(o.size), x);
    MARROW_CHECK(!o.antialias || (x.size() == 4 && (o.mode == InterpolateMode::bilinear ||
                                                    o.mode == InterpolateMode::bicubic)),
                 "interpolate: Anti-alias option is only supported for bilinear and bicubic modes "
                 "(got mode {}, input shape {})",
                 name, x);
    MARROW_CHECK(!o.antialias,
                 "interpolate: antialias=true is not supported (mode {}, input shape {}): marrow "
                 "implements PyTorch's antialias=False kernels only",
                 name, x);
    check_rank(x, o.mode);
    int64_t dims = int64_t(x.size()) - 2;
    Shape spatial(x.begin() + 2, x.end());
    MARROW_CHECK(o.size.empty() || o.size.size() == 1 || int64_t(o.size.size()) == dims,
                 "interpolate: Input and output must have the same number of spatial dimensions, "
                 "but got input with spatial dimensions of {} and output size of {}",
                 spatial, list(o.size));
    MARROW_CHECK(o.scale_factor.empty() || o.scale_factor.size() == 1 ||
                     int64_t(o.scale_factor.size()) == dims,
                 "interpolate: Input and scale_factor must have the same number of spatial "
                 "dimensions, but got input with spatial dimensions of {} and scale_factor of "
                 "shape {}",
                 spatial, list(o.scale_factor));
    bool recompute = o.recompute_scale_factor.value_or(false);
    InterpolateAxis axes[2];
    for (int64_t d = 0; d < dims; ++d) {
        InterpolateAxis& a = axes[2 - dims + d];
        a.in = spatial[size_t(d)];
        if (!o.size.empty()) {
            a.out = o.size[o.size.size() == 1 ? 0 : size_t(d)];
            continue;
        }
        double s = o.scale_factor[o.scale_factor.size() == 1 ? 0 : size_t(d)];
        MARROW_CHECK(std::isfinite(s) && std::abs(double(a.in) * s) < 9.0e18,
                     "interpolate: scale_factor must be finite, got {} (input shape {})",
                     list(o.scale_factor), x);
        // PyTorch: floor(in * scale) in Python when recomputing (then the C++ kernel maps with
        // in / out), else the C++ cast of in * scale, which truncates, and the kernel maps
        // with 1 / scale.
        a.out = recompute ? int64_t(std::floor(double(a.in) * s)) : int64_t(double(a.in) * s);
        a.scale = recompute ? 0 : s;
    }
    InterpolateParams p;
    p.mode = o.mode;
    p.align_corners = o.align_corners.value_or(false);
    p.h = axes[0];
    p.w = axes[1];
    bool sizes_ok = p.h.in > 0 && p.w.in > 0 && p.h.out > 0 && p.w.out > 0;
    MARROW_CHECK(sizes_ok,
                 "interpolate ({}): Input and output sizes should be greater than 0, but got "
                 "input {} output {} (input shape {})",
                 name, hw(dims, p.h.in, p.w.in), hw(dims, p.h.out, p.w.out), x);
    MARROW_CHECK(x[1] > 0,
                 "interpolate ({}): Non-empty {}D data tensor expected but got a tensor "
                 "with sizes {}",
                 name, x.size(), x);
    return p;
}

Tensor interpolate(const Tensor& x, const InterpolateParams& p) {
    MARROW_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64,
                 "interpolate: expected a float32 or float64 input, got {} (shape {})", x.dtype(),
                 x.shape());
    MARROW_CHECK((x.dim() == 3 || x.dim() == 4) && x.size(-1) == p.w.in &&
                     (x.dim() == 3 ? p.h.in == 1 : x.size(-2) == p.h.in),
                 "interpolate: input shape {} does not match the parameters' {}x{} input",
                 x.shape(), p.h.in, p.w.in);
    Tensor out = empty(output_shape(x.shape(), p), x.dtype(), x.device());
    if (out.numel() == 0) return out;
    kernel<OpId::interpolate>(x.device(), "interpolate")(
        p, as_planes(contiguous(x), p.h.in, p.w.in), as_planes(out, p.h.out, p.w.out));
    return out;
}

Tensor interpolate_backward(const InterpolateParams& p, const Tensor& g, const Shape& x_shape) {
    Shape out_shape = output_shape(x_shape, p);
    MARROW_CHECK(g.shape() == out_shape,
                 "interpolate backward: gradient shape {} != output shape {} (input shape {})",
                 g.shape(), out_shape, x_shape);
    Tensor gx = empty(x_shape, g.dtype(), g.device());
    if (gx.numel() == 0) return gx;
    kernel<OpId::interpolate_backward>(g.device(), "interpolate")(
        p, as_planes(contiguous(g), p.h.out, p.w.out), as_planes(gx, p.h.in, p.w.in));
    return gx;
}

}  // namespace marrow::op
