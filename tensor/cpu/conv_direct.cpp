// CPU conv2d, the direct path: groups with fewer than kGemmMinChannels output channels
// (depthwise convs above all), where a GEMM with M = Og would fill 1 of its 12 rows. Loops
// over kernel taps with the output (or input) row innermost, so stride-1 rows vectorize;
// one thread per output plane (forward), input plane (input gradient) or weight (weight
// gradient), so no two threads write the same element.
#include "tensor/cpu/conv_common.h"

namespace marrow::cpu::conv {

template <typename T>
void forward_direct(const Conv2dGeometry& g, const T* x, const T* w, const T* bias, T* y) {
    Sizes z = sizes(g);
    std::vector<ColRange> ranges = col_ranges(g);
    double macs = double(g.n) * double(g.o) * double(z.p) * double(z.kc);
#pragma omp parallel for schedule(static) if (macs >= kParallelMacs)
    for (int64_t item = 0; item < g.n * g.o; ++item) {
        int64_t n = item / g.o, o = item % g.o, grp = o / z.og;
        T* yp = y + item * z.p;
        std::fill(yp, yp + z.p, bias ? bias[o] : T(0));
        for (int64_t ci = 0; ci < z.cg; ++ci) {
            const T* plane = x + (n * g.c + grp * z.cg + ci) * z.hw;
            for (int64_t i = 0; i < g.kh; ++i)
                for (int64_t j = 0; j < g.kw; ++j) {
                    T wv = w[((o * z.cg + ci) * g.kh + i) * g.kw + j];
                    const ColRange cr = ranges[size_t(j)];
                    for (int64_t r = 0; r < g.ho; ++r) {
                        int64_t ih = r * g.stride_h - g.pad_h + i * g.dil_h;
                        if (ih < 0 || ih >= g.h) continue;
                        const T* row = plane + ih * g.w + cr.lo * g.stride_w + cr.off;
                        T* out = yp + r * g.wo + cr.lo;
                        for (int64_t s = 0; s < cr.hi - cr.lo; ++s)
                            out[s] += wv * row[s * g.stride_w];
                    }
                }
        }
    }
}

template <typename T>
void backward_input_direct(const Conv2dGeometry& g, const T* gy, const T* w, T* gx) {
    Sizes z = sizes(g);
    std::vector<ColRange> ranges = col_ranges(g);
    double macs = double(g.n) * double(g.o) * double(z.p) * double(z.kc);
#pragma omp parallel for schedule(static) if (macs >= kParallelMacs)
    for (int64_t item = 0; item < g.n * g.c; ++item) {  // one input plane each: no races
        int64_t n = item / g.c, c = item % g.c, grp = c / z.cg, ci = c % z.cg;
        T* plane = gx + item * z.hw;
        std::fill(plane, plane + z.hw, T(0));
        for (int64_t o = grp * z.og; o < (grp + 1) * z.og; ++o) {
            const T* gyp = gy + (n * g.o + o) * z.p;
            for (int64_t i = 0; i < g.kh; ++i)
                for (int64_t j = 0; j < g.kw; ++j) {
                    T wv = w[((o * z.cg + ci) * g.kh + i) * g.kw + j];
                    const ColRange cr = ranges[size_t(j)];
                    for (int64_t r = 0; r < g.ho; ++r) {
                        int64_t ih = r * g.stride_h - g.pad_h + i * g.dil_h;
                        if (ih < 0 || ih >= g.h) continue;
                        T* row = plane + ih * g.w + cr.lo * g.stride_w + cr.off;
                        const T* in = gyp + r * g.wo + cr.lo;
                        for (int64_t s = 0; s < cr.hi - cr.lo; ++s)
                            row[s * g.stride_w] += wv * in[s];
                    }
                }
        }
    }
}

template <typename T>
void backward_weight_direct(const Conv2dGeometry& g, const T* x, const T* gy, T* gw) {
    Sizes z = sizes(g);
    std::vector<ColRange> ranges = col_ranges(g);
    double macs = double(g.n) * double(g.o) * double(z.p) * double(z.kc);
#pragma omp parallel for schedule(static) if (macs >= kParallelMacs)
    for (int64_t item = 0; item < g.o * z.kc; ++item) {  // one weight each
        int64_t o = item / z.kc, ci = item / z.taps % z.cg, i = item / g.kw % g.kh, j = item % g.kw;
        const ColRange cr = ranges[size_t(j)];
        T sum = 0;
        for (int64_t n = 0; n < g.n; ++n) {
            const T* gyp = gy + (n * g.o + o) * z.p;
            const T* plane = x + (n * g.c + o / z.og * z.cg + ci) * z.hw;
            for (int64_t r = 0; r < g.ho; ++r) {
                int64_t ih = r * g.stride_h - g.pad_h + i * g.dil_h;
                if (ih < 0 || ih >= g.h) continue;
                const T* row = plane + ih * g.w + cr.lo * g.stride_w + cr.off;
                const T* go = gyp + r * g.wo + cr.lo;
                for (int64_t s = 0; s < cr.hi - cr.lo; ++s) sum += go[s] * row[s * g.stride_w];
            }
        }
        gw[item] = sum;
    }
}

#define MARROW_CONV_DIRECT(T)                                                                 \
    template void forward_direct<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*); \
    template void backward_input_direct<T>(const Conv2dGeometry&, const T*, const T*, T*);    \
    template void backward_weight_direct<T>(const Conv2dGeometry&, const T*, const T*, T*);
MARROW_CONV_DIRECT(float)
MARROW_CONV_DIRECT(double)
#undef MARROW_CONV_DIRECT

}  // namespace marrow::cpu::conv
