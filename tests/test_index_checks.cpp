// Index range checks happen in the kernels, where the index lives (issue 10, "no host
// synchronisation inside argument checks"). CPU: every index op raises at once, naming the op,
// the value, the range and the position. CUDA (suite "cuda": the simulator in CI, the GPU under
// tools/gpu_check.sh): the kernel records the first bad index on the device and the host raises
// it at the next synchronisation point, then the record is clear; the entry points copy no
// index to the host (counted by cuda::device_to_host_transfers()).
#include <doctest/doctest.h>

#include <vector>

#include "autograd/ops.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/index.h"
#if defined(MARROW_CUDA_SIM) || defined(MARROW_CUDA_NVCC)
#include "cuda/stream.h"
#endif

using namespace marrow;

namespace {

Tensor idx(const std::vector<int64_t>& v, Shape shape = {}) { return from_vector(v, shape); }

// x = [[0, 1, 2], [10, 11, 12]] (2, 3) float64: every value names its (row, column).
Tensor rows23() { return from_vector<double>({0, 1, 2, 10, 11, 12}, {2, 3}); }

std::vector<double> values(const Tensor& t) {
    Tensor c = to(to(t, Device::cpu()), DType::f64);
    return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}

}  // namespace

TEST_CASE("CPU: a bad index names the op, the value, the range and the position") {
    Tensor x = rows23();
    CHECK_THROWS_WITH_AS(index_select(x, 1, idx({0, 3})),
                         "index_select: index 3 out of range [0, 3) at position [1] of the index "
                         "(shape [2])",
                         Error);
    CHECK_THROWS_WITH_AS(index_select(x, 0, idx({-1, 0})),
                         doctest::Contains("index_select: index -1 out of range [0, 2) at "
                                           "position [0]"),
                         Error);
    CHECK_THROWS_WITH_AS(op::index_add_into_zeros({4, 3}, 0, idx({1, 4}), x),
                         doctest::Contains("index_add: index 4 out of range [0, 4) at position "
                                           "[1]"),
                         Error);
    CHECK_THROWS_WITH_AS(op::index_add_into_zeros({4, 3}, 0, idx({-2, 0}), x),
                         doctest::Contains("index_add: index -2 out of range [0, 4)"), Error);
    CHECK_THROWS_WITH_AS(gather(x, 1, idx({0, 1, 2, 0, 3, 1}, {2, 3})),
                         "gather: index 3 out of range [0, 3) at position [1, 1] of the index "
                         "(shape [2, 3])",
                         Error);
    CHECK_THROWS_WITH_AS(gather(x, 0, idx({0, -1}, {1, 2})),
                         doctest::Contains("gather: index -1 out of range [0, 2) at position "
                                           "[0, 1]"),
                         Error);
    CHECK_THROWS_WITH_AS(
        scatter_add(zeros({4, 3}, DType::f64), 0, idx({0, 1, 2, 3, 0, 4}, {2, 3}), x),
        doctest::Contains("scatter_add: index 4 out of range [0, 4) at position "
                          "[1, 2]"),
        Error);
    CHECK_THROWS_WITH_AS(scatter_add(zeros({4, 3}, DType::f64), 0, idx({-5}, {1, 1}), x),
                         doctest::Contains("scatter_add: index -5 out of range [0, 4)"), Error);
    CHECK_THROWS_WITH_AS(embedding(x, idx({1, 2}, {1, 2})),
                         doctest::Contains("index_select: index 2 out of range [0, 2)"), Error);
    CHECK_THROWS_WITH_AS(one_hot(idx({1, 3}), 3),
                         doctest::Contains("one_hot (num_classes = 3): scatter_add: index 3 out "
                                           "of range [0, 3) at position [1, 0]"),
                         Error);
    CHECK_THROWS_WITH_AS(one_hot(idx({2, -1})),  // num_classes = max + 1 = 3
                         doctest::Contains("index -1 out of range [0, 3)"), Error);
    // Empty outputs still check their index: there is nothing to select from.
    CHECK_THROWS_WITH_AS(index_select(zeros({0, 3}), 0, idx({0})),
                         doctest::Contains("index_select: index 0 out of range [0, 0)"), Error);
    CHECK_THROWS_WITH_AS(index_select(zeros({2, 0}), 0, idx({5})),
                         doctest::Contains("index_select: index 5 out of range [0, 2)"), Error);
    CHECK_THROWS_WITH_AS(
        scatter_add(zeros({0, 3}, DType::f64), 0, idx({2}, {1, 1}), zeros({1, 1}, DType::f64)),
        doctest::Contains("scatter_add: index 2 out of range [0, 0)"), Error);
}

TEST_CASE("CPU: both ends of the range are valid") {
    Tensor x = rows23();
    CHECK(values(index_select(x, 1, idx({2, 0}))) == std::vector<double>{2, 0, 12, 10});
    CHECK(values(op::index_add_into_zeros({3, 3}, 0, idx({2, 0}), x)) ==
          std::vector<double>{10, 11, 12, 0, 0, 0, 0, 1, 2});
    CHECK(values(gather(x, 1, idx({2, 0, 0, 2}, {2, 2}))) == std::vector<double>{2, 0, 10, 12});
    CHECK(values(scatter_add(zeros({2, 3}, DType::f64), 0, idx({1, 0, 1}, {1, 3}), x)) ==
          std::vector<double>{0, 1, 0, 0, 0, 2});
    CHECK(values(embedding(x, idx({1, 0}))) == std::vector<double>{10, 11, 12, 0, 1, 2});
    CHECK(values(one_hot(idx({0, 2}), 3)) == std::vector<double>{1, 0, 0, 0, 0, 1});
    CHECK(values(one_hot(idx({0, 2}))) == std::vector<double>{1, 0, 0, 0, 0, 1});
    CHECK(values(gather(scalar_tensor(7, DType::f64), 0, scalar_tensor(0, DType::i64))) ==
          std::vector<double>{7});
    CHECK_THROWS_WITH_AS(gather(scalar_tensor(7, DType::f64), 0, scalar_tensor(1, DType::i64)),
                         doctest::Contains("gather: index 1 out of range [0, 1)"), Error);
}

TEST_CASE("CPU: a long index (parallel check) reports its first bad position") {
    // 2^20 + 5 values, past the check's parallel grain: threads see different bad values, the
    // min-reduction keeps the first.
    std::vector<int64_t> v((1 << 20) + 5);
    for (size_t i = 0; i < v.size(); ++i) v[i] = int64_t(i % 5);
    v[700001] = 9;
    v[400002] = -3;
    v[v.size() - 1] = 5;
    Tensor x = zeros({5, 2});
    CHECK_THROWS_WITH_AS(index_select(x, 0, idx(v)),
                         doctest::Contains("index -3 out of range [0, 5) at position [400002]"),
                         Error);
    CHECK_THROWS_WITH_AS(op::index_add_into_zeros({5, 2}, 0, idx(v), zeros({int64_t(v.size()), 2})),
                         doctest::Contains("index -3 out of range [0, 5) at position [400002]"),
                         Error);
}

TEST_CASE("CPU: index metadata is still checked on the host") {
    Tensor x = rows23();
    CHECK_THROWS_WITH_AS(index_select(x, 1, from_vector<int32_t>({0})),
                         doctest::Contains("index_select: index must be int64, got int32"), Error);
    CHECK_THROWS_WITH_AS(op::index_add_into_zeros({3, 2}, 0, idx({2, 0}), x),
                         doctest::Contains("index_add: src shape [2, 3] does not match [2, 2] "
                                           "(shape [3, 2] with dim 0 of size 2)"),
                         Error);
    CHECK_THROWS_WITH_AS(gather(x, 1, idx({0, 1})),
                         doctest::Contains("gather: index shape [2] and input shape [2, 3] differ "
                                           "in rank"),
                         Error);
}

#if defined(MARROW_CUDA_SIM) || defined(MARROW_CUDA_NVCC)
TEST_SUITE_BEGIN("cuda");
namespace {

Tensor cu(const Tensor& t) { return to(t, Device::cuda()); }

// Runs `bad` (which launches a kernel with a bad index), checks it does not throw at the launch
// nor at a later launch that does not synchronise, then that the next synchronisation point
// raises `message`, and that the record is clear afterwards.
template <typename F>
void check_raised_at_sync(F bad, const char* message) {
    Tensor y = zeros({1});
    CHECK_NOTHROW(y = bad());
    CHECK_NOTHROW(op::clone(y));  // a launch, no sync
    CHECK_THROWS_WITH_AS(synchronize(Device::cuda()), doctest::Contains(message), Error);
    CHECK_NOTHROW(synchronize(Device::cuda()));  // cleared
}

}  // namespace

TEST_CASE("CUDA: a bad index is raised at the next sync point, naming op, value and range") {
    Tensor x = cu(rows23());
    check_raised_at_sync(
        [&] {
            return index_select(x, 1, cu(idx({0, 3})));
        },
        "index_select: index 3 out of range [0, 3) at flat position 1");
    check_raised_at_sync(
        [&] {
            return index_select(x, 0, cu(idx({-1, 0})));
        },
        "index_select: index -1 out of range [0, 2) at flat position 0");
    check_raised_at_sync(
        [&] {
            return op::index_add_into_zeros({4, 3}, 0, cu(idx({1, 4})), x);
        },
        "index_add: index 4 out of range [0, 4) at flat position 1");
    check_raised_at_sync(
        [&] {
            return op::index_add_into_zeros({4, 3}, 0, cu(idx({-2, 0})), x);
        },
        "index_add: index -2 out of range [0, 4) at flat position 0");
    check_raised_at_sync(
        [&] {
            return gather(x, 1, cu(idx({0, 1, 2, 0, 3, 1}, {2, 3})));
        },
        "gather: index 3 out of range [0, 3) at flat position 4");
    check_raised_at_sync(
        [&] {
            return gather(x, 0, cu(idx({0, -1}, {1, 2})));
        },
        "gather: index -1 out of range [0, 2) at flat position 1");
    check_raised_at_sync(
        [&] {
            return scatter_add(cu(zeros({4, 3}, DType::f64)), 0,
                               cu(idx({0, 1, 2, 3, 0, 4}, {2, 3})), x);
        },
        "scatter_add: index 4 out of range [0, 4) at flat position 5");
    check_raised_at_sync(
        [&] {
            return scatter_add(cu(zeros({4, 3}, DType::f64)), 0, cu(idx({-5}, {1, 1})), x);
        },
        "scatter_add: index -5 out of range [0, 4) at flat position 0");
    check_raised_at_sync(
        [&] {
            return embedding(x, cu(idx({1, 2}, {1, 2})));
        },
        "index_select: index 2 out of range [0, 2) at flat position 1");
    check_raised_at_sync(
        [&] {
            return one_hot(cu(idx({1, 3})), 3);
        },
        "scatter_add: index 3 out of range [0, 3) at flat position 1");
    check_raised_at_sync(
        [&] {
            return index_select(cu(zeros({0, 3})), 0, cu(idx({0})));
        },
        "index_select: index 0 out of range [0, 0)");
    // Empty outputs: a separate check kernel reads the index.
    check_raised_at_sync(
        [&] {
            return index_select(cu(zeros({2, 0})), 0, cu(idx({5})));
        },
        "index_select: index 5 out of range [0, 2)");
    check_raised_at_sync(
        [&] {
            return scatter_add(cu(zeros({0, 3}, DType::f64)), 0, cu(idx({2}, {1, 1})),
                               cu(zeros({1, 1}, DType::f64)));
        },
        "scatter_add: index 2 out of range [0, 0)");
}

TEST_CASE("CUDA: item() and a copy to the host are sync points too; the first error is kept") {
    Tensor x = cu(rows23());
    Tensor y = index_select(x, 1, cu(idx({7})));
    CHECK_THROWS_WITH_AS(sum(y).item(), doctest::Contains("index_select: index 7 out of range"),
                         Error);
    CHECK(sum(index_select(x, 1, cu(idx({1})))).item() == 12);  // cleared: a correct op works

    Tensor g = gather(x, 1, cu(idx({5}, {1, 1})));
    Tensor s = index_select(x, 1, cu(idx({-4})));  // second error: the first one is kept
    CHECK_THROWS_WITH_AS(to(s, Device::cpu()), doctest::Contains("gather: index 5 out of range"),
                         Error);
    CHECK(values(s) == std::vector<double>{0, 0});  // the bad read was skipped (zeros)
    CHECK_NOTHROW(synchronize(Device::cuda()));
}

TEST_CASE("CUDA: both ends of the range are valid and give the CPU's values") {
    Tensor x = cu(rows23());
    CHECK(values(index_select(x, 1, cu(idx({2, 0})))) == std::vector<double>{2, 0, 12, 10});
    CHECK(values(op::index_add_into_zeros({3, 3}, 0, cu(idx({2, 0})), x)) ==
          std::vector<double>{10, 11, 12, 0, 0, 0, 0, 1, 2});
    CHECK(values(gather(x, 1, cu(idx({2, 0, 0, 2}, {2, 2})))) == std::vector<double>{2, 0, 10, 12});
    CHECK(values(scatter_add(cu(zeros({2, 3}, DType::f64)), 0, cu(idx({1, 0, 1}, {1, 3})), x)) ==
          std::vector<double>{0, 1, 0, 0, 0, 2});
    CHECK(values(embedding(x, cu(idx({1, 0})))) == std::vector<double>{10, 11, 12, 0, 1, 2});
    CHECK(values(one_hot(cu(idx({0, 2})), 3)) == std::vector<double>{1, 0, 0, 0, 0, 1});
    Tensor s7 = cu(scalar_tensor(7, DType::f64)), i0 = cu(scalar_tensor(0, DType::i64));
    CHECK(values(gather(s7, 0, i0)) == std::vector<double>{7});
    CHECK(values(scatter_add(s7, 0, i0, s7)) == std::vector<double>{14});
    CHECK_NOTHROW(synchronize(Device::cuda()));
}

TEST_CASE("CUDA: a host index is uploaded, a device index for host data is an error") {
    Tensor x = rows23();
    CHECK(values(index_select(cu(x), 1, idx({2, 0}))) == std::vector<double>{2, 0, 12, 10});
    check_raised_at_sync(
        [&] {
            return gather(cu(x), 1, idx({4}, {1, 1}));
        },
        "gather: index 4 out of range [0, 3)");
    CHECK_THROWS_WITH_AS(index_select(x, 1, cu(idx({0}))),
                         doctest::Contains("index_select: index on cuda:0 for a tensor on cpu"),
                         Error);
}

TEST_CASE("CUDA: the index entry points copy nothing to the host") {
    Tensor x = cu(rows23()).requires_grad_();
    Tensor i1 = cu(idx({2, 0, 1})), i2 = cu(idx({2, 0, 0, 2}, {2, 2})), rows = cu(idx({1, 0}));
    Tensor z = cu(zeros({2, 3}, DType::f64));
    synchronize(Device::cuda());
    uint64_t before = cuda::device_to_host_transfers();
    Tensor loss = sum(index_select(x, 1, i1)) + sum(gather(x, 1, i2)) +
                  sum(scatter_add(z, 1, i2, x)) + sum(embedding(x, rows));
    loss.backward();  // index_add and scatter_add backward, gather of the gradient
    Tensor oh = one_hot(i1, 3);
    Tensor added = op::index_add_into_zeros({3, 3}, 0, rows, detach(x));
    CHECK(cuda::device_to_host_transfers() == before);
    // one_hot without num_classes needs the max: exactly one number comes back.
    Tensor oh_max = one_hot(i1);
    CHECK(cuda::device_to_host_transfers() == before + 1);
    CHECK(values(oh) == values(oh_max));
    CHECK(values(added) == std::vector<double>{10, 11, 12, 0, 1, 2, 0, 0, 0});
}
TEST_SUITE_END();
#endif
