#include "tensor/random.h"

namespace marrow {

void Generator::manual_seed(uint64_t seed) {
    std::lock_guard lock(mutex_);
    state_ = {seed, 0};
}

GeneratorState Generator::state() const {
    std::lock_guard lock(mutex_);
    return state_;
}

void Generator::set_state(GeneratorState state) {
    std::lock_guard lock(mutex_);
    state_ = state;
}

uint64_t Generator::reserve(int64_t n) {
    std::lock_guard lock(mutex_);
    uint64_t at = state_.offset;
    state_.offset += (uint64_t(n) + 3) / 4;
    return at;
}

Generator& default_generator() {
    static Generator generator(0);
    return generator;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace marrow
