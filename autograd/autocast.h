// autocast: AutocastGuard guard(DType::bf16) runs the GEMM family and conv2d with bf16 (or
// f16) operands and float32 accumulation in its scope (torch.autocast; what changes and
// what does not: Note [Mixed precision] in tensor/autocast.h). Thread-local and nestable:
// the destructor restores the previous state; AutocastGuard(std::nullopt) switches autocast
// off inside an autocast scope (torch.autocast(enabled=False)).
#pragma once
#include <optional>

#include "tensor/autocast.h"

namespace marrow::autograd {

using marrow::autocast_dtype;

class AutocastGuard {
public:
    explicit AutocastGuard(std::optional<DType> dtype) : previous_(autocast_dtype()) {
        set_autocast_dtype(dtype);
    }
    ~AutocastGuard() { set_autocast_dtype(previous_); }
    AutocastGuard(const AutocastGuard&) = delete;
    AutocastGuard& operator=(const AutocastGuard&) = delete;

private:
    std::optional<DType> previous_;
};

}  // namespace marrow::autograd
