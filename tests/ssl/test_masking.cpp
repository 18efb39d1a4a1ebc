// Block masking (ssl/masking.h): the invariants of dinov2's MaskingGenerator and collate masks
// (spec 6.2). Upstream draws from Python's `random`, so these are properties, not numbers:
// counts within the budget, rectangles within the grid and the area/aspect rules, the
// stratified targets, the masked-crop count, all-False rows for unmasked crops, the
// indices/weights the iBOT loss reads, and determinism per seed.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "ssl/masking.h"
#include "tensor/error.h"
#include "tensor/factory.h"

using namespace marrow;

namespace {

int64_t count(const Tensor& mask) { return int64_t(sum(mask.to(DType::f64)).item()); }

}  // namespace

TEST_CASE("MaskingGenerator: rectangles within the grid and budget, count <= target") {
    ssl::MaskingGenerator mg = ssl::MaskingGenerator::dinov2(16);  // 224 px, patch 14
    CHECK(mg.num_patches() == 256);
    CHECK(*mg.options().max_num_patches == 128);
    Generator gen(7);
    int64_t reached = 0, calls = 0;
    for (int64_t target : {0, 1, 4, 10, 25, 51, 77, 102, 128}) {
        for (int rep = 0; rep < 20; ++rep) {
            CAPTURE(target);
            std::vector<ssl::MaskRect> rects;
            Tensor m = mg(target, gen, &rects);
            REQUIRE(m.shape() == Shape{16, 16});
            REQUIRE(m.dtype() == DType::b8);
            int64_t c = count(m);
            CHECK(c <= target);  // may fall short, never over
            if (target == 0) CHECK(c == 0);
            reached += c == target;
            ++calls;
            // The mask is exactly the union of the placed rectangles.
            std::vector<uint8_t> uni(256, 0);
            for (const auto& r : rects) {
                CHECK(r.h >= 1);
                CHECK(r.w >= 1);
                CHECK(r.h < 16);  // upstream's strict `h < height`
                CHECK(r.w < 16);
                CHECK(r.top >= 0);
                CHECK(r.left >= 0);
                CHECK(r.top + r.h <= 16);
                CHECK(r.left + r.w <= 16);
                // area ~ U(4, <= 128) and aspect in [0.3, 1/0.3], before rounding each side
                CHECK(r.h * r.w <= 128 + 2 * 12 + 1);
                CHECK(double(std::max(r.h, r.w)) / double(std::min(r.h, r.w)) <= 12);
                for (int64_t i = r.top; i < r.top + r.h; ++i)
                    for (int64_t j = r.left; j < r.left + r.w; ++j) uni[size_t(i * 16 + j)] = 1;
            }
            const bool* mp = m.data<bool>();
            bool same = true;
            for (size_t k = 0; k < 256; ++k) same &= bool(uni[k]) == mp[k];
            CHECK(same);
        }
    }
    // Upstream reaches its target most of the time on a 16 x 16 grid.
    CHECK(double(reached) / double(calls) > 0.6);

    // One rectangle when the budget is one rectangle's: min_num_patches = target = 6 on a
    // large grid, a single placed block whose area is at most the budget.
    ssl::MaskingOptions opts;
    opts.height = opts.width = 40;
    opts.min_num_patches = 6;
    ssl::MaskingGenerator big(opts);
    for (int rep = 0; rep < 20; ++rep) {
        std::vector<ssl::MaskRect> rects;
        Tensor m = big(6, gen, &rects);
        REQUIRE(!rects.empty());
        CHECK(rects[0].h * rects[0].w <= 6);
        CHECK(count(m) <= 6);
    }
}

TEST_CASE("MaskingGenerator: deterministic per seed, different across seeds") {
    ssl::MaskingGenerator mg = ssl::MaskingGenerator::dinov2(14);
    Generator a(3), b(3), c(4);
    bool any_differs = false;
    for (int i = 0; i < 5; ++i) {
        Tensor ma = mg(60, a), mb = mg(60, b), mc = mg(60, c);
        CHECK(equal(ma, mb));
        any_differs |= !equal(ma, mc);
    }
    CHECK(any_differs);
    CHECK_THROWS_WITH_AS(mg(197, a), doctest::Contains("cannot mask 197 patches"), Error);
}

TEST_CASE("sample_block_masks: n_masked crops, stratified targets, all-False rest, weights") {
    ssl::MaskingGenerator mg = ssl::MaskingGenerator::dinov2(16);
    const int64_t N = 256;
    for (int64_t n : {1, 2, 7, 16, 64}) {
        CAPTURE(n);
        Generator gen{uint64_t(n)};
        ssl::BlockMasks bm = ssl::sample_block_masks(n, mg, {}, gen);
        const int64_t n_masked = n / 2;  // int(n * 0.5)
        REQUIRE(bm.masks.shape() == Shape{n, N});
        REQUIRE(bm.targets.size() == size_t(n));
        // Exactly n_masked crops have a target; their sorted targets fall in the strata of
        // linspace(0.1, 0.5, n_masked + 1), one per stratum.
        std::vector<int64_t> nonzero;
        for (int64_t t : bm.targets)
            if (t > 0) nonzero.push_back(t);
        CHECK(int64_t(nonzero.size()) == n_masked);
        std::sort(nonzero.begin(), nonzero.end());
        int64_t upper = 0;
        for (int64_t k = 0; k < int64_t(nonzero.size()); ++k) {
            double lo = 0.1 + 0.4 * double(k) / double(n_masked);
            double hi = 0.1 + 0.4 * double(k + 1) / double(n_masked);
            CAPTURE(k);
            CHECK(nonzero[size_t(k)] >= int64_t(std::floor(N * lo)) - 1);
            CHECK(nonzero[size_t(k)] <= int64_t(N * hi + 1e-4));
            upper += int64_t(N * hi + 1e-4);
        }
        CHECK(bm.upperbound == upper);
        // Each row: within its target; unmasked crops all False.
        std::vector<int64_t> counts(static_cast<size_t>(n), 0);
        const bool* m = bm.masks.data<bool>();
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t p = 0; p < N; ++p) counts[size_t(i)] += m[i * N + p];
            CHECK(counts[size_t(i)] <= bm.targets[size_t(i)]);
            if (bm.targets[size_t(i)] == 0) CHECK(counts[size_t(i)] == 0);
        }
        // indices: the flat nonzero positions; weights: 1 / |m_i| for each of crop i's.
        const int64_t M = bm.n_masked_patches();
        REQUIRE(bm.indices.shape() == Shape{M});
        REQUIRE(bm.weights.shape() == Shape{M});
        CHECK(M == count(bm.masks));
        const int64_t* idx = bm.indices.data<int64_t>();
        const float* w = bm.weights.data<float>();
        for (int64_t k = 0; k < M; ++k) {
            CHECK(m[idx[k]]);
            if (k > 0) CHECK(idx[k] > idx[k - 1]);
            CHECK(w[k] == 1.0f / float(counts[size_t(idx[k] / N)]));
        }
        // The weights sum to the number of masked crops (each crop's weights sum to 1).
        int64_t masked_rows = 0;
        for (int64_t c : counts) masked_rows += c > 0;
        CHECK(sum(bm.weights).item() == doctest::Approx(double(masked_rows)).epsilon(1e-5));
        // Deterministic per seed.
        Generator again{uint64_t(n)};
        ssl::BlockMasks bm2 = ssl::sample_block_masks(n, mg, {}, again);
        CHECK(equal(bm.masks, bm2.masks));
        CHECK(bm.targets == bm2.targets);
    }
}

TEST_CASE("sample_block_masks: the shuffle spreads masked crops; probability 0 masks nothing") {
    ssl::MaskingGenerator mg = ssl::MaskingGenerator::dinov2(16);
    Generator gen(11);
    // Over many draws, each position is masked about half the time (not always the first half).
    std::vector<int> masked_at(8, 0);
    for (int rep = 0; rep < 200; ++rep) {
        ssl::BlockMasks bm = ssl::sample_block_masks(8, mg, {}, gen);
        for (size_t i = 0; i < 8; ++i) masked_at[i] += bm.targets[i] > 0;
    }
    for (int c : masked_at) {
        CHECK(c > 60);
        CHECK(c < 140);
    }
    ssl::BlockMasks none = ssl::sample_block_masks(6, mg, {.probability = 0}, gen);
    CHECK(count(none.masks) == 0);
    CHECK(none.indices.numel() == 0);
    CHECK(none.upperbound == 0);
    CHECK_THROWS_WITH_AS(ssl::sample_block_masks(4, mg, {.probability = 1.5}, gen),
                         doctest::Contains("sample_block_masks"), Error);
}

TEST_CASE("MaskingGenerator: realized counts follow upstream's distribution") {
    // dinov2's MaskingGenerator((16, 16), max_num_patches=128) run 20000 times per target
    // under Python's random (seed 0): mean realized count and how often the target is met.
    struct Ref {
        int64_t target;
        double mean, reached;
    };
    const Ref refs[] = {{4, 3.87525, 0.87525},  {25, 24.8941, 0.89435},   {51, 50.9214, 0.92235},
                        {77, 76.92175, 0.9239}, {102, 101.9226, 0.92555}, {128, 127.9008, 0.9084}};
    ssl::MaskingGenerator mg = ssl::MaskingGenerator::dinov2(16);
    Generator gen(2024);
    const int reps = 4000;
    for (const Ref& ref : refs) {
        double total = 0, hits = 0;
        for (int r = 0; r < reps; ++r) {
            int64_t c = count(mg(ref.target, gen));
            total += double(c);
            hits += c == ref.target;
        }
        double mean = total / reps, reached = hits / reps;
        CAPTURE(ref.target);
        CAPTURE(mean);
        CAPTURE(reached);
        // Standard errors at 4000 draws: ~0.005 on the mean (std ~0.3), ~0.005 on the rate;
        // 6 of them.
        CHECK(std::abs(mean - ref.mean) < 0.03);
        CHECK(std::abs(reached - ref.reached) < 0.03);
    }
}
