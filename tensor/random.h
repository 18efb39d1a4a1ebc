// Generator: a (seed, offset) pair over the Philox stream (Note [Philox stream]). Each draw
// reserves ceil(n / 4) blocks, so a run is reproducible from (seed, offset) on any device and
// any thread count. `state()`/`set_state()` let checkpoints resume exactly.
#pragma once
#include <cstdint>
#include <mutex>

namespace marrow {

struct GeneratorState {
    uint64_t seed = 0;
    uint64_t offset = 0;
};

class Generator {
public:
    explicit Generator(uint64_t seed = 0) : state_{seed, 0} {}
    void manual_seed(uint64_t seed);
    GeneratorState state() const;
    void set_state(GeneratorState state);
    // Reserves the blocks for n elements; returns the offset to draw them at.
    uint64_t reserve(int64_t n);

private:
    mutable std::mutex mutex_;
    GeneratorState state_;
};

Generator& default_generator();
// Seeds the default generator (torch.manual_seed).
void manual_seed(uint64_t seed);

}  // namespace marrow
