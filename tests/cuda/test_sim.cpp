// The SIMT simulator: barrier, shared-memory, warp and atomic semantics, and proof that it
// catches what it promises to catch: a missing __syncthreads (under the shuffled schedule)
// and a barrier some threads skip. (Out-of-bounds writes: sim_oob.cpp under ASan.)
#include <doctest/doctest.h>

#include <numeric>
#include <random>
#include <vector>

#include "cuda/sim/scheduler.h"
#include "tensor/dtype.h"
#include "tensor/error.h"
#include "tests/cuda/sim_kernels.h"

using namespace marrow;

namespace {
struct ScheduleGuard {
    sim::Schedule saved = sim::schedule();
    ScheduleGuard(sim::Schedule s, uint64_t seed) { sim::set_schedule(s, seed); }
    ~ScheduleGuard() { sim::set_schedule(saved); }
};
}  // namespace

TEST_CASE("block reduction with shared memory and barriers, in any thread order") {
    std::vector<float> x(1000);
    std::iota(x.begin(), x.end(), 1.0f);
    for (auto s : {sim::Schedule::in_order, sim::Schedule::shuffled}) {
        ScheduleGuard guard(s, 7);
        std::vector<float> out(4, 0);
        simtest::run_block_sum(x.data(), 1000, out.data(), 4);
        CHECK(out[0] == doctest::Approx(256 * 257 / 2));
        CHECK(out[0] + out[1] + out[2] + out[3] == doctest::Approx(1000 * 1001 / 2));
    }
}

TEST_CASE("warp shuffles, votes and atomics") {
    std::vector<float> x(300, 1.5f);
    float total = 0;
    simtest::run_warp_sum_atomic(x.data(), 300, &total);
    CHECK(total == doctest::Approx(450));
    std::vector<int> swapped(32), from_zero(32);
    unsigned ballot = 0;
    int any_all = 0;
    simtest::run_shuffle_and_vote(swapped.data(), from_zero.data(), &ballot, &any_all);
    CHECK(swapped[4] == 5);
    CHECK(swapped[5] == 4);
    CHECK(from_zero[31] == 0);
    CHECK(ballot == 0xaaaaaaaau);
    CHECK(any_all == 11);
}

TEST_CASE("dynamic shared memory") {
    std::vector<int> x(96), y(96);
    std::iota(x.begin(), x.end(), 0);
    simtest::run_reverse_dynamic(x.data(), y.data(), 96);
    CHECK(y[0] == 95);
    CHECK(y[95] == 0);
}

TEST_CASE("a missing __syncthreads is exposed by the shuffled schedule") {
    int salt = 0;
    auto wrong = [&salt](bool with_barrier) {
        std::vector<int> out(128);
        simtest::run_neighbour(out.data(), with_barrier, ++salt);
        int bad = 0;
        for (int t = 1; t < 128; ++t) bad += out[size_t(t)] != (t - 1) * 3 + salt;
        return bad;
    };
    {
        ScheduleGuard guard(sim::Schedule::in_order, 0);
        CHECK(wrong(true) == 0);
        CHECK(wrong(false) == 0);  // index order hides the race...
    }
    ScheduleGuard guard(sim::Schedule::shuffled, 42);
    CHECK(wrong(true) == 0);
    CHECK(wrong(false) > 0);  // ...a shuffled order does not
}

TEST_CASE("a barrier that some threads skip is an error, not a hang") {
    std::vector<int> out(64);
    CHECK_THROWS_WITH_AS(simtest::run_skipped_barrier(out.data()),
                         doctest::Contains("exited without reaching it"), Error);
    // The simulator is usable again after an error.
    std::vector<float> x(256, 1.0f), sums(1);
    simtest::run_block_sum(x.data(), 256, sums.data(), 1);
    CHECK(sums[0] == 256);
}

TEST_CASE("bad launch configurations are errors") {
    std::vector<int> x(2048), y(2048);
    CHECK_THROWS_WITH_AS(simtest::run_reverse_dynamic(x.data(), y.data(), 2048),
                         doctest::Contains("2048 threads (1 to 1024 allowed)"), Error);
}

TEST_CASE("tensor-core tile op: m16n8k16 fragments in PTX's lane layout, bf16 and f16") {
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-2, 2);
    std::vector<float> a(256), b(128), c(128), d(128);
    for (float& v : a) v = u(rng);
    for (float& v : b) v = u(rng);
    for (float& v : c) v = u(rng);
    for (bool f16 : {false, true}) {
        CAPTURE(f16);
        auto round = [&](float v) { return f16 ? float(Half(v)) : float(BFloat16(v)); };
        simtest::run_mma_tile(a.data(), b.data(), c.data(), d.data(), f16, 32);
        for (int i = 0; i < 16; ++i)
            for (int j = 0; j < 8; ++j) {
                double want = c[size_t(i * 8 + j)];
                for (int k = 0; k < 16; ++k)
                    want += double(round(a[size_t(i * 16 + k)])) * round(b[size_t(k * 8 + j)]);
                CAPTURE(i);
                CAPTURE(j);
                CHECK(d[size_t(i * 8 + j)] == float(want));  // one rounding of the exact sum
            }
    }
    // A rounding that matters: 1 + 2^-9 is not a bf16 value (8 bits), it rounds to 1.
    std::vector<float> one(256, 0.0f), col(128, 0.0f), zero(128, 0.0f);
    one[0] = 1.0f + 0x1p-9f;
    col[0] = 1.0f;
    simtest::run_mma_tile(one.data(), col.data(), zero.data(), d.data(), false, 32);
    CHECK(d[0] == 1.0f);
    simtest::run_mma_tile(one.data(), col.data(), zero.data(), d.data(), true, 32);
    CHECK(d[0] == 1.0f + 0x1p-9f);  // f16 has 10 bits
}

TEST_CASE("a tensor-core op in a partial warp is an error naming the kernel") {
    std::vector<float> a(256), b(128), c(128), d(128);
    CHECK_THROWS_WITH_AS(simtest::run_mma_tile(a.data(), b.data(), c.data(), d.data(), false, 16),
                         doctest::Contains("it needs all 32"), Error);
}
