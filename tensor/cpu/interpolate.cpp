// CPU interpolate (F.interpolate: nearest, linear, bilinear, bicubic) and its adjoint over
// (planes, H, W). Planes are split across threads (each plane is written by one thread:
// deterministic for any thread count). Inside a plane the interpolation is separable: the
// taps and weights of every output row and column are computed once per call
// (tensor/math/interpolate_math.h), then
//   forward:  each input row that some output row reads is interpolated along W once into a
//             (H_in, W_out) buffer, and each output row combines its <= 4 buffered rows
//             (a contiguous loop over W_out that vectorizes). The arithmetic per output is the
//             reference loop's, in its order (tensor/cpu/interpolate_reference.h: columns
//             innermost, then rows), so the two agree to the last bit without FMA
//             contraction; the reference recomputes each row's W pass up to 4 times per row
//             of output (16 taps per output for bicubic instead of 4 + 4).
//   backward: the adjoint in the opposite order: each output row's gradient is spread over
//             the input rows it read (buffer (H_in, W_out), contiguous over W_out), then each
//             buffered row is scattered along W. Sums are in another order than the
//             reference's per-output scatter (tested within the reduction tolerance).
#include <algorithm>
#include <vector>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/loops.h"
#include "tensor/math/accumulate.h"
#include "tensor/math/interpolate_math.h"

namespace marrow::cpu {
namespace {

// The taps of every output index of one axis, as arrays per tap slot (idx[j][o], w[j][o]).
template <typename A>
struct AxisTable {
    int n = 0;
    std::vector<int64_t> idx[interp::kMaxTaps];
    std::vector<A> w[interp::kMaxTaps];
};

template <typename A>
AxisTable<A> axis_table(const InterpolateParams& p, const InterpolateAxis& a) {
    AxisTable<A> t;
    t.n = interp::taps_per_axis(p.mode);
    A ratio = interp::axis_ratio<A>(a, p.align_corners);
    for (int j = 0; j < t.n; ++j) {
        t.idx[j].resize(size_t(a.out));
        t.w[j].resize(size_t(a.out));
    }
    for (int64_t o = 0; o < a.out; ++o) {
        interp::Taps<A> tp = interp::axis_taps<A>(p.mode, p.align_corners, a, ratio, o);
        for (int j = 0; j < t.n; ++j) {
            t.idx[j][size_t(o)] = tp.idx[j];
            t.w[j][size_t(o)] = tp.w[j];
        }
    }
    return t;
}

// The input rows some output row reads, in increasing order.
template <typename A>
std::vector<int64_t> rows_read(const AxisTable<A>& ty, int64_t in) {
    std::vector<char> used(size_t(in), 0);
    for (int j = 0; j < ty.n; ++j)
        for (int64_t r : ty.idx[j]) used[size_t(r)] = 1;
    std::vector<int64_t> rows;
    for (int64_t r = 0; r < in; ++r)
        if (used[size_t(r)]) rows.push_back(r);
    return rows;
}

// Runs f(plane, buffer) over the planes, each thread with its own (rows x cols) buffer.
template <typename A, typename F>
void for_each_plane_with_buffer(int64_t planes, int64_t buffer_size, int64_t work, F f) {
#pragma omp parallel if (planes > 1 && planes * work >= kParallelGrain)
    {
        std::vector<A> buffer(static_cast<size_t>(buffer_size));
#pragma omp for schedule(static)
        for (int64_t c = 0; c < planes; ++c) f(c, buffer.data());
    }
}

template <typename T>
void forward_fast(const InterpolateParams& p, const T* px, T* po, int64_t planes) {
    using A = acc_t<T>;
    const AxisTable<A> ty = axis_table<A>(p, p.h), tx = axis_table<A>(p, p.w);
    const std::vector<int64_t> rows = rows_read(ty, p.h.in);
    const int64_t win = p.w.in, wout = p.w.out, in_plane = p.h.in * win, out_plane = p.h.out * wout;
    for_each_plane_with_buffer<A>(
        planes, p.h.in * wout, in_plane + out_plane * tx.n * ty.n, [&](int64_t c, A* buf) {
            const T* x = px + c * in_plane;
            T* out = po + c * out_plane;
            for (int64_t r : rows) {  // W pass: buf[r, ow] = sum_j wx_j x[r, x_j]
                const T* row = x + r * win;
                A* b = buf + r * wout;
                const int64_t* i0 = tx.idx[0].data();
                const A* w0 = tx.w[0].data();
                for (int64_t o = 0; o < wout; ++o) b[o] = A(row[i0[o]]) * w0[o];
                for (int j = 1; j < tx.n; ++j) {
                    const int64_t* ij = tx.idx[j].data();
                    const A* wj = tx.w[j].data();
                    for (int64_t o = 0; o < wout; ++o) b[o] += A(row[ij[o]]) * wj[o];
                }
            }
            for (int64_t oh = 0; oh < p.h.out; ++oh) {  // H pass over buffered rows
                T* y = out + oh * wout;
                const A* b0 = buf + ty.idx[0][size_t(oh)] * wout;
                const A w0 = ty.w[0][size_t(oh)];
                if (ty.n == 1) {
                    for (int64_t o = 0; o < wout; ++o) y[o] = T(b0[o] * w0);
                    continue;
                }
                const A* b1 = buf + ty.idx[1][size_t(oh)] * wout;
                const A w1 = ty.w[1][size_t(oh)];
                if (ty.n == 2) {
                    for (int64_t o = 0; o < wout; ++o) y[o] = T(b0[o] * w0 + b1[o] * w1);
                    continue;
                }
                const A* b2 = buf + ty.idx[2][size_t(oh)] * wout;
                const A* b3 = buf + ty.idx[3][size_t(oh)] * wout;
                const A w2 = ty.w[2][size_t(oh)], w3 = ty.w[3][size_t(oh)];
                for (int64_t o = 0; o < wout; ++o)
                    y[o] = T(((b0[o] * w0 + b1[o] * w1) + b2[o] * w2) + b3[o] * w3);
            }
        });
}

template <typename T>
void backward_fast(const InterpolateParams& p, const T* pg, T* pgx, int64_t planes) {
    using A = acc_t<T>;
    const AxisTable<A> ty = axis_table<A>(p, p.h), tx = axis_table<A>(p, p.w);
    const std::vector<int64_t> rows = rows_read(ty, p.h.in);
    const int64_t win = p.w.in, wout = p.w.out, in_plane = p.h.in * win, out_plane = p.h.out * wout;
    for_each_plane_with_buffer<A>(
        planes, p.h.in * wout, in_plane + out_plane * tx.n * ty.n, [&](int64_t c, A* buf) {
            const T* g = pg + c * out_plane;
            T* gx = pgx + c * in_plane;
            for (int64_t r : rows) std::fill(buf + r * wout, buf + (r + 1) * wout, A(0));
            for (int64_t oh = 0; oh < p.h.out; ++oh) {  // H adjoint: buf[y_i] += wy_i g[oh]
                const T* gr = g + oh * wout;
                for (int i = 0; i < ty.n; ++i) {
                    A* b = buf + ty.idx[i][size_t(oh)] * wout;
                    const A w = ty.w[i][size_t(oh)];
                    for (int64_t o = 0; o < wout; ++o) b[o] += w * A(gr[o]);
                }
            }
            std::fill(gx, gx + in_plane, T(0));
            for (int64_t r : rows) {  // W adjoint: gx[r, x_j] += wx_j buf[r, ow]
                const A* b = buf + r * wout;
                T* gr = gx + r * win;
                for (int64_t o = 0; o < wout; ++o)
                    for (int j = 0; j < tx.n; ++j)
                        gr[tx.idx[j][size_t(o)]] += T(tx.w[j][size_t(o)] * b[o]);
            }
        });
}

}  // namespace

void interpolate(const InterpolateParams& p, const Tensor& x, const Tensor& out) {
    visit_float(x.dtype(), "interpolate",
                [&]<typename T>() { forward_fast<T>(p, x.data<T>(), out.data<T>(), x.size(0)); });
}

void interpolate_backward(const InterpolateParams& p, const Tensor& g, const Tensor& gx) {
    visit_float(g.dtype(), "interpolate_backward",
                [&]<typename T>() { backward_fast<T>(p, g.data<T>(), gx.data<T>(), g.size(0)); });
}

}  // namespace marrow::cpu
