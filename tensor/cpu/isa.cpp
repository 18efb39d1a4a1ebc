#include "tensor/cpu/isa.h"

#include <cstdlib>
#include <string_view>

#include "tensor/error.h"

namespace marrow::cpu {
namespace {

Isa detect() {
    __builtin_cpu_init();
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
    Isa best = avx512 ? Isa::avx512 : avx2 ? Isa::avx2 : Isa::base;
    const char* env = std::getenv("MARROW_CPU_ISA");
    if (!env || !*env) return best;
    std::string_view want(env);
    Isa asked = want == "base"     ? Isa::base
                : want == "avx2"   ? Isa::avx2
                : want == "avx512" ? Isa::avx512
                                   : Isa(-1);
    MARROW_CHECK(int(asked) >= 0, "MARROW_CPU_ISA={}: expected base, avx2 or avx512", env);
    MARROW_CHECK(int(asked) <= int(best), "MARROW_CPU_ISA={}: this processor supports only {}", env,
                 isa_name(best));
    return asked;
}

}  // namespace

Isa cpu_isa() {
    static const Isa isa = detect();
    return isa;
}

bool cpu_has_avx512_bf16() {
    static const bool has = cpu_isa() == Isa::avx512 && __builtin_cpu_supports("avx512bf16");
    return has;
}

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::base:
            return "base";
        case Isa::avx2:
            return "avx2";
        case Isa::avx512:
            return "avx512";
    }
    return "?";
}

}  // namespace marrow::cpu
