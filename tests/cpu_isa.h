// For the CPU kernel tests that ctest also runs once per ISA (MARROW_CPU_ISA=avx2 / base).
#pragma once
#include <doctest/doctest.h>

#include "tensor/cpu/isa.h"
#include "tensor/error.h"

namespace marrow::test {

// False (after a MESSAGE) when MARROW_CPU_ISA asks for an ISA this processor lacks: that run
// then has nothing to check.
inline bool cpu_isa_available() {
    try {
        cpu::cpu_isa();
        return true;
    } catch (const Error& e) {
        MESSAGE("skipped: " << e.what());
        return false;
    }
}

}  // namespace marrow::test
