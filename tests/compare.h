// Tensor comparison for tests: |ours - ref| <= atol + rtol * |ref| elementwise, with max-abs,
// max-rel and NMSE reported and the worst element named (STYLE.md habit 2). Non-finite
// references must be matched exactly (NaN with NaN, inf with the same inf).
#pragma once
#include <string>

#include "tensor/safetensors.h"
#include "tensor/tensor.h"
#include "tests/ops/tolerances.h"

namespace marrow::test {

struct Comparison {
    bool ok = true;
    double max_abs = 0;
    double max_rel = 0;
    double nmse = 0;  // sum (ours - ref)^2 / sum ref^2
    std::string detail;
};

Comparison compare(const Tensor& ours, const Tensor& ref, Tolerance tol);

// A committed golden fixture, tests/golden/fixtures/<name>.safetensors, loaded once per
// process; and its tensor `key`, or an Error naming the fixture and the generator
// (tests/golden/gen/<generator>) to rerun when it lacks the key.
const SafetensorsFile& golden_fixture(const std::string& name);
const Tensor& golden_tensor(const std::string& name, const std::string& key,
                            const std::string& generator);

}  // namespace marrow::test
