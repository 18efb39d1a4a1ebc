// The simulator's launcher: runs every block of a grid, each as cooperative fibers (one per
// CUDA thread, ucontext) with real barrier semantics. Thread order between barriers is
// in-order (thread 0, 1, ...) or, in shuffled mode, a fresh seeded permutation each round,
// which exposes a missing __syncthreads as a wrong result. Detected as errors, never hangs:
// a thread exiting while others wait at a barrier, threads waiting at different barriers,
// lanes of a warp disagreeing on a warp op or missing from it, a block that is too large.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

#include "cuda/sim/sim.h"

namespace marrow::sim {

enum class Schedule { in_order, shuffled };
// Applies to later launches on every thread. The environment variable
// MARROW_SIM_SCHEDULE=shuffled[:seed] sets it at start-up (CI runs the parity suite so).
void set_schedule(Schedule schedule, uint64_t seed = 0);
Schedule schedule();

// Runs body() as every thread of every block; `shared_bytes` of dynamic shared memory per
// block. Errors (including an exception thrown by the body) are rethrown here as
// marrow::Error naming the kernel, block and thread.
void launch(const char* kernel, dim3 grid, dim3 block, size_t shared_bytes,
            const std::function<void()>& body);

}  // namespace marrow::sim
