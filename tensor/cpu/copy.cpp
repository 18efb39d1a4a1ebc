// CPU copy (strided, with dtype conversion between any two dtypes) and fill.
#include <cstring>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/loops.h"
#include "tensor/math/convert.h"

namespace marrow::cpu {
using math::convert;

void copy(const Tensor& src, const Tensor& dst) {
    visit_dtype(src.dtype(), [&]<typename S>() {
        visit_dtype(dst.dtype(), [&]<typename D>() {
            const S* s = static_cast<const S*>(src.raw_data());
            D* d = static_cast<D*>(dst.raw_data());
            for_each_run<2>(dst.shape(), {dst.strides(), src.strides()},
                            [&](auto off, auto step, int64_t n) {
                                D* o = d + off[0];
                                const S* i = s + off[1];
                                if constexpr (std::is_same_v<S, D>) {
                                    if (step[0] == 1 && step[1] == 1) {
                                        std::memcpy(o, i, size_t(n) * sizeof(D));
                                        return;
                                    }
                                }
                                for (int64_t j = 0; j < n; ++j)
                                    o[j * step[0]] = convert<D>(i[j * step[1]]);
                            });
        });
    });
}

void fill(const Tensor& dst, double value) {
    visit_dtype(dst.dtype(), [&]<typename D>() {
        D v = convert<D>(value);
        D* d = static_cast<D*>(dst.raw_data());
        for_each_run<1>(dst.shape(), {dst.strides()}, [&](auto off, auto step, int64_t n) {
            for (int64_t j = 0; j < n; ++j) d[off[0] + j * step[0]] = v;
        });
    });
}

}  // namespace marrow::cpu
