// block_reduce (cuda/kernels/block_reduce.h, Note [Block reduction]) on the SIMT simulator, in
// index order and in shuffled thread orders: Welford (count, mean, M2) against a float64
// two-pass reference, first arg-max/min with many ties and with NaNs against a host scan, and
// online softmax's (max, sum) pair against a float64 log-sum-exp; block sizes 32 to 1024,
// lengths that are not multiples of the block. Every thread must receive the same bits, and
// the same bits in every schedule (the combine order is fixed).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "cuda/kernels/block_reduce.h"
#include "cuda/launch.h"
#include "cuda/sim/scheduler.h"

using namespace marrow;
using namespace marrow::cuda;

namespace {

// One block; thread t writes the block's result to out[t].
__global__ void welford_kernel(const float* x, int64_t n, Welford<float>* out) {
    Welford<float> w = WelfordCombine<float>::identity();
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) w = welford_push(w, x[i]);
    out[threadIdx.x] = block_reduce(w, WelfordCombine<float>::identity(), WelfordCombine<float>());
}

__global__ void arg_kernel(const float* x, int64_t n, bool want_max, ArgBest<float>* out) {
    ArgBetter<float> better{want_max};
    ArgBest<float> best = ArgBetter<float>::identity();
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) best = better(best, {x[i], i});
    out[threadIdx.x] = block_reduce(best, ArgBetter<float>::identity(), better);
}

__global__ void max_sum_kernel(const float* x, int64_t n, MaxSum<float>* out) {
    MaxSumCombine<float> combine;
    MaxSum<float> v = MaxSumCombine<float>::identity();
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) v = combine(v, {x[i], 1.0f});
    out[threadIdx.x] = block_reduce(v, MaxSumCombine<float>::identity(), combine);
}

struct ScheduleGuard {
    sim::Schedule saved = sim::schedule();
    ScheduleGuard(sim::Schedule s, uint64_t seed) { sim::set_schedule(s, seed); }
    ~ScheduleGuard() { sim::set_schedule(saved); }
};

// in order, then two shuffled seeds
constexpr int kSchedules = 3;
ScheduleGuard schedule(int k) {
    return k == 0 ? ScheduleGuard(sim::Schedule::in_order, 0)
                  : ScheduleGuard(sim::Schedule::shuffled, uint64_t(k));
}

template <typename T>
bool same_bits(const T& a, const T& b) {
    return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// Every thread got thread 0's bits.
template <typename T>
bool all_same(const std::vector<T>& out) {
    for (const T& v : out)
        if (!same_bits(v, out[0])) return false;
    return true;
}

const int kBlocks[] = {32, 64, 96, 160, 256, 512, 1024};

std::vector<int64_t> lengths_for(int block) {
    return {1, 7, int64_t(block) - 1, int64_t(block) + 1, 3 * int64_t(block) + 5, 4099};
}

}  // namespace

TEST_CASE("block_reduce: Welford mean and M2 against a float64 two-pass reference") {
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(3.0f, 2.0f);  // an offset mean, as activations have
    for (int block : kBlocks)
        for (int64_t n : lengths_for(block)) {
            CAPTURE(block);
            CAPTURE(n);
            std::vector<float> x(static_cast<size_t>(n));
            for (float& v : x) v = normal(rng);
            double mean = 0, m2 = 0;
            for (float v : x) mean += v;
            mean /= double(n);
            for (float v : x) m2 += (v - mean) * (v - mean);
            Welford<float> first{};
            for (int k = 0; k < kSchedules; ++k) {
                ScheduleGuard guard = schedule(k);
                std::vector<Welford<float>> out(static_cast<size_t>(block));
                auto* kernel = &welford_kernel;
                MARROW_LAUNCH(kernel, 1, block, 0, x.data(), n, out.data());
                CHECK(all_same(out));
                CHECK(out[0].count == n);
                // float32 Welford: errors grow like sqrt(n) eps; 4099 values of spread 2 around 3
                CHECK(std::abs(out[0].mean - mean) <= 1e-5 * (std::abs(mean) + 2.0));
                CHECK(std::abs(out[0].m2 - m2) <= 1e-4 * m2 + 1e-6);
                if (k == 0) first = out[0];
                CHECK(same_bits(out[0], first));  // the same bits in any thread order
            }
        }
}

TEST_CASE("block_reduce: arg-max/min keeps the lowest index among ties, NaN wins") {
    std::mt19937 rng(12);
    std::uniform_int_distribution<int> small(0, 4);  // five values: every extremum is tied
    for (int block : kBlocks)
        for (int64_t n : lengths_for(block))
            for (int nans : {0, 2}) {
                std::vector<float> x(static_cast<size_t>(n));
                for (float& v : x) v = float(small(rng));
                if (nans && n > 3) {
                    x[size_t(n - 2)] = std::numeric_limits<float>::quiet_NaN();
                    x[size_t(n / 2)] = std::numeric_limits<float>::quiet_NaN();
                }
                for (bool want_max : {true, false}) {
                    CAPTURE(block);
                    CAPTURE(n);
                    CAPTURE(nans);
                    CAPTURE(want_max);
                    int64_t at = 0;  // host scan: the first NaN, else the first extremum
                    for (int64_t i = 1; i < n; ++i) {
                        float a = x[size_t(at)], v = x[size_t(i)];
                        if (a != a) break;
                        if (v != v || (want_max ? v > a : v < a)) at = i;
                    }
                    for (int k = 0; k < kSchedules; ++k) {
                        ScheduleGuard guard = schedule(k);
                        std::vector<ArgBest<float>> out(static_cast<size_t>(block));
                        auto* kernel = &arg_kernel;
                        MARROW_LAUNCH(kernel, 1, block, 0, x.data(), n, want_max, out.data());
                        CHECK(all_same(out));
                        CHECK(out[0].index == at);
                        CHECK(same_bits(out[0].value, x[size_t(at)]));
                    }
                }
            }
}

TEST_CASE("block_reduce: online softmax's (max, sum) pair against a float64 log-sum-exp") {
    std::mt19937 rng(13);
    std::normal_distribution<float> normal(0.0f, 4.0f);
    for (int block : kBlocks)
        for (int64_t n : lengths_for(block)) {
            CAPTURE(block);
            CAPTURE(n);
            std::vector<float> x(static_cast<size_t>(n));
            for (float& v : x) v = normal(rng);
            x[0] = -std::numeric_limits<float>::infinity();  // contributes nothing
            double mx = -INFINITY, sum = 0;
            for (float v : x) mx = std::max(mx, double(v));
            for (float v : x) sum += std::exp(double(v) - mx);
            for (int k = 0; k < kSchedules; ++k) {
                ScheduleGuard guard = schedule(k);
                std::vector<MaxSum<float>> out(static_cast<size_t>(block));
                auto* kernel = &max_sum_kernel;
                MARROW_LAUNCH(kernel, 1, block, 0, x.data(), n, out.data());
                CHECK(all_same(out));
                if (n == 1) {  // only -inf: the identity
                    CHECK(out[0].s == 0.0f);
                    continue;
                }
                CHECK(out[0].m == float(mx));
                // each element's exp is rescaled at most log2(block) + a few times
                CHECK(std::abs(out[0].s - sum) <= 2e-5 * sum);
            }
        }
}
