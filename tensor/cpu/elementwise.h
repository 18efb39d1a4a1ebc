// Helpers that run a scalar functor over N same-shape operands with for_each_run, with a
// unit-stride fast path the compiler vectorizes. Unit-stride outputs of at least kStreamBytes
// are written with streaming stores (tensor/cpu/stream_store.h).
#pragma once
#include <type_traits>

#include "tensor/cpu/isa.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/stream_store.h"
#include "tensor/tensor.h"

namespace marrow::cpu {

inline bool stream_output(const Tensor& out) {
    return out.numel() * int64_t(dtype_size(out.dtype())) >= kStreamBytes;
}

// d[i] = f(in[i]...) for i < m: the unit-stride loop of every map below. For floating-point
// outputs it is also compiled for AVX-512 and AVX2 and picked by cpu_isa(): wider loads keep
// more cache lines in flight, which memory-bound ops need (relu on 256 MB, 2 threads: 28 GB/s
// with SSE2 loads, 36 with AVX-512). The default -ffp-contract=off of ISO C++ keeps the
// results identical across the copies (no fused multiply-adds).
template <typename TO, typename F, typename... TI>
[[gnu::always_inline]] inline void unit_loop_body(TO* d, int64_t m, const F& f, const TI*... in) {
    for (int64_t i = 0; i < m; ++i) d[i] = f(in[i]...);
}
template <typename TO, typename F, typename... TI>
MARROW_TARGET_AVX512 void unit_loop_avx512(TO* d, int64_t m, const F& f, const TI*... in) {
    unit_loop_body(d, m, f, in...);
}
template <typename TO, typename F, typename... TI>
MARROW_TARGET_AVX2 void unit_loop_avx2(TO* d, int64_t m, const F& f, const TI*... in) {
    unit_loop_body(d, m, f, in...);
}
template <typename TO, typename F, typename... TI>
void unit_loop(TO* d, int64_t m, const F& f, const TI*... in) {
    if constexpr (std::is_floating_point_v<TO>) {
        switch (cpu_isa()) {
            case Isa::avx512:
                return unit_loop_avx512(d, m, f, in...);
            case Isa::avx2:
                return unit_loop_avx2(d, m, f, in...);
            case Isa::base:
                break;
        }
    }
    unit_loop_body(d, m, f, in...);
}

// out[i] = f(x[i])
template <typename TO, typename TX, typename F>
void map1(const Tensor& x, const Tensor& out, F f) {
    const TX* px = static_cast<const TX*>(x.raw_data());
    TO* po = static_cast<TO*>(out.raw_data());
    bool stream = stream_output(out);
    for_each_run<2>(out.shape(), {out.strides(), x.strides()}, [&](auto off, auto st, int64_t n) {
        TO* o = po + off[0];
        const TX* a = px + off[1];
        if (st[0] == 1 && st[1] == 1) {
            fill_run(o, n, stream,
                     [&](TO* d, int64_t i0, int64_t m) { unit_loop(d, m, f, a + i0); });
        } else {
            for (int64_t i = 0; i < n; ++i) o[i * st[0]] = f(a[i * st[1]]);
        }
    });
}

// map1 with a vectorized kernel for the runs: unit-stride runs go to `run` whole, strided
// ones element by element.
template <typename T>
void map1_run(const Tensor& x, const Tensor& out, void (*run)(const T*, T*, int64_t)) {
    const T* px = static_cast<const T*>(x.raw_data());
    T* po = static_cast<T*>(out.raw_data());
    bool stream = stream_output(out);
    for_each_run<2>(out.shape(), {out.strides(), x.strides()}, [&](auto off, auto st, int64_t n) {
        if (st[0] == 1 && st[1] == 1)
            return fill_run(po + off[0], n, stream, [&](T* d, int64_t i0, int64_t m) {
                run(px + off[1] + i0, d, m);
            });
        for (int64_t i = 0; i < n; ++i) run(px + off[1] + i * st[1], po + off[0] + i * st[0], 1);
    });
}

// The same for backward kernels gx = f'(s) g (s: the saved x or y).
template <typename T>
void map2_run(const Tensor& s, const Tensor& g, const Tensor& gx,
              void (*run)(const T*, const T*, T*, int64_t)) {
    const T* ps = static_cast<const T*>(s.raw_data());
    const T* pg = static_cast<const T*>(g.raw_data());
    T* po = static_cast<T*>(gx.raw_data());
    bool stream = stream_output(gx);
    for_each_run<3>(gx.shape(), {gx.strides(), s.strides(), g.strides()},
                    [&](auto off, auto st, int64_t n) {
                        if (st[0] == 1 && st[1] == 1 && st[2] == 1)
                            return fill_run(po + off[0], n, stream,
                                            [&](T* d, int64_t i0, int64_t m) {
                                                run(ps + off[1] + i0, pg + off[2] + i0, d, m);
                                            });
                        for (int64_t i = 0; i < n; ++i)
                            run(ps + off[1] + i * st[1], pg + off[2] + i * st[2],
                                po + off[0] + i * st[0], 1);
                    });
}

// out[i] = f(x[i], y[i])
template <typename TO, typename TX, typename TY, typename F>
void map2(const Tensor& x, const Tensor& y, const Tensor& out, F f) {
    const TX* px = static_cast<const TX*>(x.raw_data());
    const TY* py = static_cast<const TY*>(y.raw_data());
    TO* po = static_cast<TO*>(out.raw_data());
    bool stream = stream_output(out);
    for_each_run<3>(out.shape(), {out.strides(), x.strides(), y.strides()},
                    [&](auto off, auto st, int64_t n) {
                        TO* o = po + off[0];
                        const TX* a = px + off[1];
                        const TY* b = py + off[2];
                        if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
                            fill_run(o, n, stream, [&](TO* d, int64_t i0, int64_t m) {
                                unit_loop(d, m, f, a + i0, b + i0);
                            });
                        } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
                            const TY bv = *b;  // scalar / broadcast right operand
                            auto with_b = [&f, bv](TX v) { return f(v, bv); };
                            fill_run(o, n, stream, [&](TO* d, int64_t i0, int64_t m) {
                                unit_loop(d, m, with_b, a + i0);
                            });
                        } else {
                            for (int64_t i = 0; i < n; ++i)
                                o[i * st[0]] = f(a[i * st[1]], b[i * st[2]]);
                        }
                    });
}

// out[i] = f(x[i], y[i], z[i])
template <typename TO, typename TX, typename TY, typename TZ, typename F>
void map3(const Tensor& x, const Tensor& y, const Tensor& z, const Tensor& out, F f) {
    const TX* px = static_cast<const TX*>(x.raw_data());
    const TY* py = static_cast<const TY*>(y.raw_data());
    const TZ* pz = static_cast<const TZ*>(z.raw_data());
    TO* po = static_cast<TO*>(out.raw_data());
    for_each_run<4>(out.shape(), {out.strides(), x.strides(), y.strides(), z.strides()},
                    [&](auto off, auto st, int64_t n) {
                        for (int64_t i = 0; i < n; ++i)
                            po[off[0] + i * st[0]] =
                                f(px[off[1] + i * st[1]], py[off[2] + i * st[2]],
                                  pz[off[3] + i * st[3]]);
                    });
}

}  // namespace marrow::cpu
