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
// d = round(a) @ round(b) + c on the tensor-core tile op (a 16 x 16, b 16 x 8, c, d 16 x 8,
// row-major), operands rounded to bf16 or f16; `threads` lanes launched (32, or fewer to
// provoke the partial-warp error).
void run_mma_tile(const float* a, const float* b, const float* c, float* d, bool f16,
                  int threads);

}  // namespace marrow::simtest
