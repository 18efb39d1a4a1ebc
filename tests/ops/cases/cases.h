// What the per-family case files (tests/ops/cases/*.cpp) share: a builder that adds a case
// with its tiers in one statement, and short names for specs, domains, layouts and
// tolerance classes. Internal to the registry; tests include tests/ops/op_cases.h.
//
//   cases.add("softmax", "softmax", {in({3, 5})}, [](const T& x) { return softmax(x[0], -1); },
//             kTr)
//       .parity({{5, 1031}})                          // rows longer than a 1024-thread block
//       .bench("softmax_4096x1024", {{4096, 1024}})   // bench_ops and the PyTorch peer
//       .composed([](const T& x) { ... });            // registers "softmax_composed"
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "tests/ops/op_cases.h"

namespace marrow::test::cases {

using T = std::vector<Tensor>;

inline InputSpec in(Shape s, Domain d = Domain::any, Layout l = Layout::contiguous) {
    return {std::move(s), d, l, true, 0};
}
inline InputSpec index(Shape s, int64_t high) {
    return {std::move(s), Domain::index, Layout::contiguous, false, high};
}
inline InputSpec constant(Shape s, Domain d = Domain::any) {
    return {std::move(s), d, Layout::contiguous, false, 0};
}

inline constexpr Layout kT = Layout::transposed;
inline constexpr Layout kS = Layout::strided;
inline constexpr Domain kAny = Domain::any;
inline constexpr Domain kPos = Domain::positive;
inline constexpr Domain kNZ = Domain::nonzero;
inline constexpr TolClass kExact = TolClass::exact;
inline constexpr TolClass kEw = TolClass::elementwise;
inline constexpr TolClass kTr = TolClass::transcendental;
inline constexpr TolClass kRed = TolClass::reduction;
inline constexpr TolClass kMm = TolClass::matmul;
inline constexpr int64_t k4M = int64_t(1) << 22;  // 4M floats = 16 MB per tensor

// The tiers of the case just added. Holds an index, not a reference: the list may grow.
class CaseRef {
public:
    CaseRef(std::vector<OpCase>& list, size_t index) : list_(&list), index_(index) {}
    // Parity-tier shapes, one per input.
    CaseRef& parity(std::vector<Shape> shapes);
    // A benchmark size (forward only).
    CaseRef& bench(std::string name, std::vector<Shape> shapes, BenchOn on = BenchOn::both);
    // A benchmark size timed forward, and forward+backward as "<name>_bwd".
    CaseRef& bench_bwd(std::string name, std::vector<Shape> shapes);
    // The composed twin of a fused op: a case "<name>_composed" with the same inputs and
    // parity shapes, op "<op>_composed" (so it never counts as coverage of the fused op).
    CaseRef& composed(OpFn fn);

private:
    OpCase& get() { return (*list_)[index_]; }
    std::vector<OpCase>* list_;
    size_t index_;
};

class CaseList {
public:
    CaseList(std::vector<OpCase>& list, std::string family)
        : list_(&list), family_(std::move(family)) {}
    CaseRef add(std::string name, std::string op, std::vector<InputSpec> inputs, OpFn fn,
                TolClass tol, bool differentiable = true);

private:
    std::vector<OpCase>* list_;
    std::string family_;
};

// Attention's composed twin (tests/ops/cases/attention.cpp), also the oracle of
// tests/ops/test_attention_autocast.cpp: the scaled, masked scores q k^T s (mask bool, true
// takes part, or added; causal: key j <= query i), then softmax -> dropout -> @ v.
Tensor attention_scores(const Tensor& q, const Tensor& k, const std::optional<Tensor>& mask,
                        bool causal, std::optional<double> scale);
Tensor attention_composed(const Tensor& q, const Tensor& k, const Tensor& v,
                          const std::optional<Tensor>& mask, double p, bool causal,
                          std::optional<double> scale, Generator* gen);

// One per file in tests/ops/cases/.
void add_unary(std::vector<OpCase>& list);
void add_binary(std::vector<OpCase>& list);
void add_reduce(std::vector<OpCase>& list);
void add_gemm(std::vector<OpCase>& list);
void add_softmax(std::vector<OpCase>& list);
void add_shape(std::vector<OpCase>& list);
void add_index(std::vector<OpCase>& list);
void add_conv(std::vector<OpCase>& list);
void add_norm(std::vector<OpCase>& list);
void add_pool(std::vector<OpCase>& list);
void add_layer_norm(std::vector<OpCase>& list);
void add_interpolate(std::vector<OpCase>& list);
void add_attention(std::vector<OpCase>& list);
void add_contrastive(std::vector<OpCase>& list);
void add_sinkhorn(std::vector<OpCase>& list);            // issue 15
void add_crop_cross_entropy(std::vector<OpCase>& list);  // issue 15

}  // namespace marrow::test::cases
