// Host entry points for the simulator's self-test kernels (tests/cuda/sim_kernels.cu).
#pragma once

namespace marrow::simtest {

void run_block_sum(const float* x, int n, float* out, int blocks);
void run_warp_sum_atomic(const float* x, int n, float* out);
void run_shuffle_and_vote(int* swapped, int* from_zero, unsigned* ballot, int* any_all);
void run_reverse_dynamic(const int* x, int* y, int n);
void run_neighbour(int* out, bool with_barrier, int salt);
void run_skipped_barrier(int* out);
void run_write_past_end(float* out, int n);

}  // namespace marrow::simtest
