// Views are stride arithmetic on shared storage; reshape copies only when it must.
#include <doctest/doctest.h>

#include "marrow.h"
#include "tensor/ops/copy.h"

using namespace marrow;

TEST_CASE("views share storage and version") {
    Tensor x = arange(12, DType::f32);
    Tensor m = reshape(x, {3, 4});
    CHECK(m.storage() == x.storage());
    Tensor t = transpose(m, 0, 1);
    CHECK(t.strides() == Shape{1, 4});
    CHECK(!t.is_contiguous());
    CHECK(t.storage() == x.storage());
    uint64_t v = x.version();
    fill_(narrow(m, 0, 1, 1), -1);
    CHECK(x.version() == v + 1);
    CHECK(x.data<float>()[5] == -1);
    CHECK(x.data<float>()[8] == 8);
}

TEST_CASE("reshape copies a non-viewable tensor, view refuses it") {
    Tensor m = reshape(arange(6, DType::f32), {2, 3});
    Tensor t = transpose(m, 0, 1);
    Tensor r = reshape(t, {6});
    CHECK(r.storage() != m.storage());
    CHECK(r.data<float>()[1] == 3);
    CHECK_THROWS_WITH_AS(view(t, {6}), doctest::Contains("without copying"), Error);
    CHECK(view(m, {3, -1}).shape() == Shape{3, 2});
    CHECK_THROWS_WITH_AS(view(m, {4, -1}), doctest::Contains("invalid for input of size 6"), Error);
}

TEST_CASE("slice, expand, squeeze, unsqueeze, permute, flatten") {
    Tensor x = reshape(arange(24, DType::f32), {2, 3, 4});
    Tensor s = slice(x, 2, 1, 4, 2);
    CHECK(s.shape() == Shape{2, 3, 2});
    CHECK(s.strides() == Shape{12, 4, 2});
    CHECK(contiguous(s).data<float>()[1] == 3);
    Tensor e = expand(reshape(arange(3, DType::f32), {3, 1}), {2, 3, 4});
    CHECK(e.strides() == Shape{0, 1, 0});
    CHECK(squeeze(zeros({1, 3, 1})).shape() == Shape{3});
    CHECK(unsqueeze(zeros({3}), 0).shape() == Shape{1, 3});
    CHECK(permute(x, {2, 0, 1}).shape() == Shape{4, 2, 3});
    CHECK(flatten(x, 1).shape() == Shape{2, 12});
    CHECK(slice(x, 0, -1, 100).shape() == Shape{1, 3, 4});
}

TEST_CASE("cat, stack, split, chunk, pad, flip") {
    Tensor a = ones({2, 2}), b = zeros({2, 3});
    Tensor c = cat({a, b}, 1);
    CHECK(c.shape() == Shape{2, 5});
    CHECK(sum(c).item() == 4);
    CHECK(stack({a, a}, 0).shape() == Shape{2, 2, 2});
    auto parts = chunk(arange(7, DType::f32), 3);
    REQUIRE(parts.size() == 3);
    CHECK(parts[2].numel() == 1);
    CHECK_THROWS_WITH_AS(split(arange(7, DType::f32), std::vector<int64_t>{3, 3}),
                         doctest::Contains("sum to 6"), Error);
    Tensor p = pad(reshape(arange(3, DType::f32), {1, 3}), {2, 1}, "reflect");
    CHECK(contiguous(p).data<float>()[0] == 2);
    CHECK(contiguous(p).data<float>()[5] == 1);
    Tensor f = flip(arange(4, DType::f32), {0});
    CHECK(f.data<float>()[0] == 3);
    CHECK_THROWS_WITH_AS(cat({a, zeros({3, 3})}, 1), doctest::Contains("differ outside dim 1"),
                         Error);
}

TEST_CASE("from_blob wraps without copying") {
    float buf[4] = {1, 2, 3, 4};
    Tensor t = from_blob(buf, {2, 2}, DType::f32);
    CHECK(t.data<float>() == buf);
    mul_(t, 2);
    CHECK(buf[3] == 8);
}
