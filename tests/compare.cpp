#include "tests/compare.h"

#include <cmath>
#include <map>

#include "tensor/ops/copy.h"

namespace marrow::test {

Comparison compare(const Tensor& ours, const Tensor& ref, Tolerance tol) {
    Comparison c;
    if (ours.shape() != ref.shape()) {
        c.ok = false;
        c.detail = fmt::format("shape {} vs reference {}", ours.shape(), ref.shape());
        return c;
    }
    Tensor a = op::contiguous(op::to_dtype(ours, DType::f64));
    Tensor b = op::contiguous(op::to_dtype(ref, DType::f64));
    const double* pa = a.data<double>();
    const double* pb = b.data<double>();
    double err2 = 0, ref2 = 0, worst_excess = -1;
    int64_t worst = -1, mismatches = 0;
    std::string first;
    for (int64_t i = 0; i < a.numel(); ++i) {
        double x = pa[i], y = pb[i];
        bool bad;
        if (!std::isfinite(y)) {
            bad = !(std::isnan(y) ? std::isnan(x) : x == y);
        } else {
            double diff = std::abs(x - y);
            c.max_abs = std::max(c.max_abs, diff);
            if (y != 0) c.max_rel = std::max(c.max_rel, diff / std::abs(y));
            err2 += diff * diff;
            ref2 += y * y;
            double bound = tol.atol + tol.rtol * std::abs(y);
            bad = !(diff <= bound);
            if (diff - bound > worst_excess) {
                worst_excess = diff - bound;
                worst = i;
            }
        }
        if (bad) {
            if (mismatches < 3) first += fmt::format(" [{}] {:.9g} vs {:.9g};", i, x, y);
            ++mismatches;
        }
    }
    c.nmse = ref2 > 0 ? err2 / ref2 : err2;
    c.ok = mismatches == 0;
    c.detail = fmt::format("max_abs {:.3g} max_rel {:.3g} nmse {:.3g}", c.max_abs, c.max_rel,
                           c.nmse);
    if (!c.ok)
        c.detail += fmt::format(", {} of {} elements outside atol {:g} + rtol {:g}|ref|:{} "
                                "worst at {}",
                                mismatches, a.numel(), tol.atol, tol.rtol, first, worst);
    return c;
}

const SafetensorsFile& golden_fixture(const std::string& name) {
    static std::map<std::string, SafetensorsFile> loaded;
    auto it = loaded.find(name);
    if (it == loaded.end())
        it = loaded
                 .emplace(name, load_safetensors(std::string(MARROW_SOURCE_DIR) +
                                                 "/tests/golden/fixtures/" + name +
                                                 ".safetensors"))
                 .first;
    return it->second;
}

const Tensor& golden_tensor(const std::string& name, const std::string& key,
                            const std::string& generator) {
    const SafetensorsFile& file = golden_fixture(name);
    auto it = file.tensors.find(key);
    if (it == file.tensors.end())
        fail("{} golden fixture has no \"{}\": regenerate it with tests/golden/gen/{}", name,
             key, generator);
    return it->second;
}

}  // namespace marrow::test
