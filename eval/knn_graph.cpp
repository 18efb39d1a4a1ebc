// Exact and NN-descent k-nearest-neighbour graphs; see knn_graph.h. NN-descent follows
// Dong et al. 2011 and pynndescent's structure (lmcinnes/pynndescent: rp_trees.py for the
// random-projection-tree initialization, pynndescent_.py nn_descent for the iteration:
// sampled new/old candidate lists with reverse neighbours, local joins, and stopping once
// fewer than delta * k * N heap updates happen in an iteration).
#include "eval/knn_graph.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "eval/features.h"
#include "tensor/philox.h"

namespace marrow::eval {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// The searched "distance": squared euclidean, or 1 - a.b on unit rows (cosine). Both are
// monotone in the reported distance, which final_distance gives.

// sum of term(c) over c in [0, d), in 16 interleaved partial sums: the compiler vectorizes it
// without an OpenMP simd pragma (which clang's -O1 sanitizer builds reject as a failed
// transformation) and the summation order is fixed, whatever the build.
template <typename Term>
inline float lane_sum(int64_t d, Term term) {
    float part[16] = {};
    int64_t c = 0;
    for (; c + 16 <= d; c += 16)
        for (int l = 0; l < 16; ++l) part[l] += term(c + l);
    float s = 0;
    for (; c < d; ++c) s += term(c);
    for (float p : part) s += p;
    return s;
}

struct Points {
    const float* data;
    int64_t n, d;
    KnnMetric metric;
    const float* row(int64_t i) const { return data + i * d; }
    float dist(int64_t i, int64_t j) const {
        const float* a = row(i);
        const float* b = row(j);
        if (metric == KnnMetric::euclidean)
            return lane_sum(d, [&](int64_t c) { return (a[c] - b[c]) * (a[c] - b[c]); });
        return 1.0f - lane_sum(d, [&](int64_t c) { return a[c] * b[c]; });
    }
    float final_distance(float s) const {
        return metric == KnnMetric::euclidean ? std::sqrt(std::max(s, 0.0f)) : std::max(s, 0.0f);
    }
};

// x -> contiguous float32 rows, unit-normalized for cosine (zero rows stay zero).
Tensor prepare(const Tensor& x, KnnMetric metric, const char* op) {
    Tensor m = host_matrix(x, DType::f32, op, "x");
    if (metric == KnnMetric::cosine) {
        m = clone(m);  // host_matrix may return x's own storage: never write the input
        float* p = m.data<float>();
        int64_t n = m.size(0), d = m.size(1);
        for (int64_t i = 0; i < n; ++i) {
            double s = 0;
            for (int64_t c = 0; c < d; ++c) s += double(p[i * d + c]) * p[i * d + c];
            float inv = s > 0 ? float(1 / std::sqrt(s)) : 0.0f;
            for (int64_t c = 0; c < d; ++c) p[i * d + c] *= inv;
        }
    }
    return m;
}

void check_k(int64_t k, int64_t n, const char* op) {
    MARROW_CHECK(k >= 1 && k <= n,
                 "{}: k = {} neighbours (the point itself included) must lie in [1, N = {}]", op,
                 k, n);
    MARROW_CHECK(n < std::numeric_limits<int32_t>::max(), "{}: N = {} points is too many", op,
                 n);
}

// Max-heaps of (distance, index, is_new) per row, k_other entries each (the point itself is
// never stored): the current best neighbours, the root the worst.
struct Heaps {
    int64_t n, k;
    std::vector<int32_t> idx;
    std::vector<float> dist;
    std::vector<uint8_t> fresh;
    Heaps(int64_t n_, int64_t k_)
        : n(n_), k(k_), idx(size_t(n_ * k_), -1), dist(size_t(n_ * k_), kInf),
          fresh(size_t(n_ * k_), 0) {}
    float worst(int64_t row) const { return dist[size_t(row * k)]; }
    bool push(int64_t row, int32_t j, float d, uint8_t flag) {
        float* D = &dist[size_t(row * k)];
        int32_t* I = &idx[size_t(row * k)];
        uint8_t* F = &fresh[size_t(row * k)];
        if (!(d < D[0])) return false;
        for (int64_t c = 0; c < k; ++c)
            if (I[c] == j) return false;
        int64_t pos = 0;
        for (;;) {
            int64_t l = 2 * pos + 1, r = l + 1;
            if (l >= k) break;
            int64_t child = (r < k && D[r] > D[l]) ? r : l;
            if (!(D[child] > d)) break;
            D[pos] = D[child];
            I[pos] = I[child];
            F[pos] = F[child];
            pos = child;
        }
        D[pos] = d;
        I[pos] = j;
        F[pos] = flag;
        return true;
    }
};

// Random bits from Philox: stream `tag` keeps the uses apart, `counter` the draws.
uint32_t random_bits(uint64_t seed, uint64_t tag, uint64_t counter) {
    return philox::generate(seed ^ (tag * 0x9E3779B97F4A7C15ull), counter).v[0];
}

// The leaves of one random-projection tree over all points: `order` is a permutation of
// 0..n-1 and leaves are [start, end) ranges of it.
void build_tree(const Points& pts, int64_t leaf_size, uint64_t seed, int tree,
                std::vector<int32_t>& order, std::vector<std::pair<int64_t, int64_t>>& leaves) {
    order.resize(size_t(pts.n));
    std::iota(order.begin(), order.end(), 0);
    uint64_t counter = uint64_t(tree) << 40;
    std::vector<std::pair<int64_t, int64_t>> stack{{0, pts.n}};
    std::vector<float> normal(size_t(pts.d));
    std::vector<uint8_t> side;
    while (!stack.empty()) {
        auto [s, e] = stack.back();
        stack.pop_back();
        int64_t size = e - s;
        if (size <= leaf_size) {
            leaves.push_back({s, e});
            continue;
        }
        int64_t a = order[size_t(s + int64_t(random_bits(seed, 1, counter++) % uint64_t(size)))];
        int64_t b = order[size_t(s + int64_t(random_bits(seed, 1, counter++) % uint64_t(size - 1)))];
        if (b == a) b = order[size_t(e - 1)];
        // Hyperplane equidistant from a and b (euclidean), or through 0 between them (cosine).
        double offset = 0;
        for (int64_t c = 0; c < pts.d; ++c) {
            normal[size_t(c)] = pts.row(a)[c] - pts.row(b)[c];
            if (pts.metric == KnnMetric::euclidean)
                offset -= double(normal[size_t(c)]) * (pts.row(a)[c] + pts.row(b)[c]) / 2;
        }
        side.assign(static_cast<size_t>(size), 0);
        int64_t left = 0;
        for (int64_t i = 0; i < size; ++i) {
            const float* p = pts.row(order[size_t(s + i)]);
            float m = lane_sum(pts.d, [&](int64_t c) { return normal[size_t(c)] * p[c]; });
            double margin = double(m) + offset;
            bool go_left = margin == 0 ? (random_bits(seed, 2, counter++) & 1) : margin > 0;
            side[size_t(i)] = go_left;
            left += go_left;
        }
        int64_t mid;
        if (left == 0 || left == size) {  // degenerate split (duplicates): halve the range
            mid = s + size / 2;
        } else {
            std::vector<int32_t> l, r;
            for (int64_t i = 0; i < size; ++i)
                (side[size_t(i)] ? l : r).push_back(order[size_t(s + i)]);
            std::copy(l.begin(), l.end(), order.begin() + s);
            std::copy(r.begin(), r.end(), order.begin() + s + int64_t(l.size()));
            mid = s + int64_t(l.size());
        }
        stack.push_back({mid, e});
        stack.push_back({s, mid});
    }
}

// Candidate lists: per point, up to `cap` neighbour indices with the smallest random
// priorities (a max-heap on priority), as pynndescent's new_build_candidates.
struct Candidates {
    int64_t cap;
    std::vector<int32_t> idx;
    std::vector<float> prio;
    Candidates(int64_t n, int64_t cap_)
        : cap(cap_), idx(size_t(n * cap_), -1), prio(size_t(n * cap_), kInf) {}
    void push(int64_t row, int32_t j, float pr) {
        float* P = &prio[size_t(row * cap)];
        int32_t* I = &idx[size_t(row * cap)];
        if (!(pr < P[0])) return;
        for (int64_t c = 0; c < cap; ++c)
            if (I[c] == j) return;
        int64_t pos = 0;
        for (;;) {
            int64_t l = 2 * pos + 1, r = l + 1;
            if (l >= cap) break;
            int64_t child = (r < cap && P[r] > P[l]) ? r : l;
            if (!(P[child] > pr)) break;
            P[pos] = P[child];
            I[pos] = I[child];
            pos = child;
        }
        P[pos] = pr;
        I[pos] = j;
    }
    bool contains(int64_t row, int32_t j) const {
        for (int64_t c = 0; c < cap; ++c)
            if (idx[size_t(row * cap + c)] == j) return true;
        return false;
    }
};

struct Update {
    int32_t a, b;
    float d;
};

// Sorts each heap row by (distance, index) and writes the graph with the point itself first.
KnnGraph finish(const Heaps& heaps, const Points& pts, int64_t k) {
    KnnGraph g{pts.n, k, std::vector<int32_t>(size_t(pts.n * k)),
               std::vector<float>(size_t(pts.n * k))};
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < pts.n; ++i) {
        std::vector<std::pair<float, int32_t>> row;
        for (int64_t c = 0; c < heaps.k; ++c)
            if (heaps.idx[size_t(i * heaps.k + c)] >= 0)
                row.push_back({heaps.dist[size_t(i * heaps.k + c)], heaps.idx[size_t(i * heaps.k + c)]});
        std::sort(row.begin(), row.end());
        g.indices[size_t(i * k)] = int32_t(i);
        g.distances[size_t(i * k)] = 0;
        for (int64_t c = 1; c < k; ++c) {
            bool ok = size_t(c - 1) < row.size();
            g.indices[size_t(i * k + c)] = ok ? row[size_t(c - 1)].second : -1;
            g.distances[size_t(i * k + c)] = ok ? pts.final_distance(row[size_t(c - 1)].first) : kInf;
        }
    }
    return g;
}

}  // namespace

KnnGraph exact_knn(const Tensor& x_in, int64_t k, KnnMetric metric) {
    autograd::NoGradGuard no_grad;
    Tensor x = prepare(x_in, metric, "exact_knn");
    int64_t n = x.size(0), d = x.size(1);
    check_k(k, n, "exact_knn");
    Points pts{x.data<float>(), n, d, metric};
    int64_t want = std::min(n - 1, k - 1 + 8);  // candidates re-ranked exactly
    std::vector<float> sq(static_cast<size_t>(n), 0.0f);
    for (int64_t i = 0; i < n; ++i) {
        double s = 0;
        for (int64_t c = 0; c < d; ++c) s += double(pts.row(i)[c]) * pts.row(i)[c];
        sq[size_t(i)] = float(s);
    }
    Tensor xt = contiguous(transpose(x, 0, 1));  // (F, N)
    Heaps heaps(n, k - 1);
    const int64_t block = 1024;
    for (int64_t s = 0; s < n; s += block) {
        int64_t rows = std::min(block, n - s);
        Tensor gram = contiguous(matmul(narrow(x, 0, s, rows), xt));  // (rows, N)
        const float* G = gram.data<float>();
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < rows; ++r) {
            int64_t i = s + r;
            if (want == 0) continue;
            std::vector<std::pair<float, int32_t>> cand;
            cand.reserve(static_cast<size_t>(n));
            for (int64_t j = 0; j < n; ++j) {
                if (j == i) continue;
                float g = G[r * n + j];
                float v = metric == KnnMetric::euclidean ? sq[size_t(i)] + sq[size_t(j)] - 2 * g
                                                         : 1 - g;
                cand.push_back({v, int32_t(j)});
            }
            std::nth_element(cand.begin(), cand.begin() + (want - 1), cand.end());
            // Re-rank the candidates by distances computed directly, in float64.
            std::vector<std::pair<double, int32_t>> exact;
            for (int64_t c = 0; c < want; ++c) {
                int32_t j = cand[size_t(c)].second;
                double acc = 0;
                const float* a = pts.row(i);
                const float* b = pts.row(j);
                for (int64_t q = 0; q < d; ++q)
                    acc += metric == KnnMetric::euclidean ? (double(a[q]) - b[q]) * (double(a[q]) - b[q])
                                                          : double(a[q]) * b[q];
                exact.push_back({metric == KnnMetric::euclidean ? acc : 1 - acc, j});
            }
            std::sort(exact.begin(), exact.end());
            for (int64_t c = 0; c < k - 1; ++c)
                heaps.push(i, exact[size_t(c)].second, float(exact[size_t(c)].first), 0);
        }
    }
    return finish(heaps, pts, k);
}

KnnGraph nn_descent(const Tensor& x_in, int64_t k, KnnMetric metric,
                    const NNDescentOptions& options) {
    autograd::NoGradGuard no_grad;
    Tensor x = prepare(x_in, metric, "nn_descent");
    int64_t n = x.size(0), d = x.size(1);
    check_k(k, n, "nn_descent");
    MARROW_CHECK(options.max_candidates >= 1 && options.delta >= 0,
                 "nn_descent: max_candidates must be >= 1 and delta >= 0, got {} and {}",
                 options.max_candidates, options.delta);
    Points pts{x.data<float>(), n, d, metric};
    const uint64_t seed = options.seed;
    int64_t ko = k - 1;  // neighbours other than the point itself
    Heaps heaps(n, ko);
    if (ko == 0) return finish(heaps, pts, k);

    // 1. Random-projection-tree leaves: each point's leaf-mates seed its heap.
    int n_trees = options.n_trees > 0
                      ? options.n_trees
                      : std::min(64, 5 + int(std::lround(std::sqrt(double(n)) / 20.0)));
    int64_t leaf_size = options.leaf_size > 0 ? options.leaf_size : std::max<int64_t>(10, k);
    std::vector<std::vector<int32_t>> orders(static_cast<size_t>(n_trees));
    std::vector<std::vector<std::pair<int64_t, int64_t>>> leaves(static_cast<size_t>(n_trees));
    std::vector<std::vector<int32_t>> leaf_of(static_cast<size_t>(n_trees), std::vector<int32_t>(static_cast<size_t>(n)));
#pragma omp parallel for schedule(dynamic)
    for (int t = 0; t < n_trees; ++t) {
        build_tree(pts, leaf_size, seed, t, orders[size_t(t)], leaves[size_t(t)]);
        for (size_t l = 0; l < leaves[size_t(t)].size(); ++l)
            for (int64_t p = leaves[size_t(t)][l].first; p < leaves[size_t(t)][l].second; ++p)
                leaf_of[size_t(t)][size_t(orders[size_t(t)][size_t(p)])] = int32_t(l);
    }
#pragma omp parallel for schedule(dynamic, 64)
    for (int64_t i = 0; i < n; ++i) {
        for (int t = 0; t < n_trees; ++t) {
            auto [s, e] = leaves[size_t(t)][size_t(leaf_of[size_t(t)][size_t(i)])];
            for (int64_t p = s; p < e; ++p) {
                int32_t j = orders[size_t(t)][size_t(p)];
                if (j != i) heaps.push(i, j, pts.dist(i, j), 1);
            }
        }
        for (uint64_t c = 0; heaps.worst(i) == kInf && c < uint64_t(4 * k); ++c) {
            int32_t j = int32_t(random_bits(seed, 3, uint64_t(i) * 4 * uint64_t(k) + c) %
                                uint64_t(n));
            if (j != i) heaps.push(i, j, pts.dist(i, j), 1);
        }
    }

    // 2. NN-descent iterations.
    int n_iters = options.n_iters > 0
                      ? options.n_iters
                      : std::max(5, int(std::lround(std::log2(double(n)))));
    int64_t cap = options.max_candidates;
    const int64_t block = 4096;
    for (int it = 0; it < n_iters; ++it) {
        Candidates fresh(n, cap), old(n, cap);
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t c = 0; c < ko; ++c) {
                int32_t j = heaps.idx[size_t(i * ko + c)];
                if (j < 0) continue;
                uint64_t ctr = (uint64_t(it) << 40) + uint64_t(i * ko + c);
                float pr = float(random_bits(seed, 4, ctr)) * 0x1p-32f;
                Candidates& cands = heaps.fresh[size_t(i * ko + c)] ? fresh : old;
                cands.push(i, j, pr);
                cands.push(j, int32_t(i), pr);
            }
        }
        for (int64_t i = 0; i < n; ++i)
            for (int64_t c = 0; c < ko; ++c) {
                int32_t j = heaps.idx[size_t(i * ko + c)];
                if (j >= 0 && fresh.contains(i, j)) heaps.fresh[size_t(i * ko + c)] = 0;
            }
        int64_t changes = 0;
        std::vector<std::vector<Update>> updates(static_cast<size_t>(block));
        for (int64_t s = 0; s < n; s += block) {
            int64_t rows = std::min(block, n - s);
#pragma omp parallel for schedule(dynamic, 16)
            for (int64_t r = 0; r < rows; ++r) {
                int64_t i = s + r;
                std::vector<Update>& out = updates[size_t(r)];
                out.clear();
                const int32_t* nw = &fresh.idx[size_t(i * cap)];
                const int32_t* ol = &old.idx[size_t(i * cap)];
                auto join = [&](int32_t a, int32_t b) {
                    float dab = pts.dist(a, b);
                    if (dab < heaps.worst(a) || dab < heaps.worst(b)) out.push_back({a, b, dab});
                };
                for (int64_t u = 0; u < cap; ++u) {
                    int32_t a = nw[u];
                    if (a < 0) continue;
                    for (int64_t v = u + 1; v < cap; ++v)
                        if (nw[v] >= 0 && nw[v] != a) join(a, nw[v]);
                    for (int64_t v = 0; v < cap; ++v)
                        if (ol[v] >= 0 && ol[v] != a) join(a, ol[v]);
                }
            }
            for (int64_t r = 0; r < rows; ++r)
                for (const Update& u : updates[size_t(r)]) {
                    changes += heaps.push(u.a, u.b, u.d, 1);
                    changes += heaps.push(u.b, u.a, u.d, 1);
                }
        }
        if (double(changes) <= options.delta * double(ko) * double(n)) break;
    }
    return finish(heaps, pts, k);
}

}  // namespace marrow::eval
