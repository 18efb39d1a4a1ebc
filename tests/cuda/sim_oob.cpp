// Runs a kernel that writes one element past its buffer. Built and registered only in the
// ASan build, where ctest expects AddressSanitizer to report a heap-buffer-overflow.
#include <cstdio>
#include <memory>

#include "tests/cuda/sim_kernels.h"

int main() {
    const int n = 100;
    std::unique_ptr<float[]> out(new float[n]);
    marrow::simtest::run_write_past_end(out.get(), n);
    std::printf("no out-of-bounds write was detected\n");
    return 0;
}
