// nn::SGD: hand-computed steps, parameters without a gradient, state naming, the option and
// parameter checks. (Trajectories against torch.optim.SGD are in tests/nn/test_nn_golden.cpp.)
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "nn/optim.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

namespace {

void check_values(const Tensor& t, const std::vector<double>& expected) {
    Comparison cmp = compare(t, from_vector<double>(expected, t.shape()),
                             tolerance(TolClass::elementwise, DType::f64));
    INFO(cmp.detail);
    CHECK(cmp.ok);
}

}  // namespace

TEST_CASE("SGD: momentum steps computed by hand") {
    // loss = sum(p): the gradient is 1 everywhere. lr 0.1, momentum 0.9:
    //   step 1: b = g = 1           p = 1 - 0.1 * 1   = 0.9
    //   step 2: b = 0.9 * 1 + 1 = 1.9  p = 0.9 - 0.19 = 0.71
    Tensor p = from_vector<double>({1, 2}).requires_grad_();
    nn::SGD opt({p}, {.lr = 0.1, .momentum = 0.9});
    for (int step = 0; step < 2; ++step) {
        opt.zero_grad();
        sum(p).backward();
        opt.step();
    }
    check_values(p, {0.71, 1.71});
    check_values(opt.state().at("0.momentum_buffer"), {1.9, 1.9});
}

TEST_CASE("SGD: weight decay, dampening, maximize by hand") {
    // weight decay: g = 1 + wd p = 1 + 0.5 * 2 = 2, so p = 2 - 0.1 * 2 = 1.8.
    Tensor p = from_vector<double>({2}).requires_grad_();
    nn::SGD opt({p}, {.lr = 0.1, .weight_decay = 0.5});
    sum(p).backward();
    opt.step();
    check_values(p, {1.8});
    // maximize negates the gradient before the decay: g = -1 + 0.5 * 1.8 = -0.1, so
    // p = 1.8 - 0.1 * -0.1 = 1.81.
    Tensor q = from_vector<double>({1.8}).requires_grad_();
    nn::SGD up({q}, {.lr = 0.1, .weight_decay = 0.5, .maximize = true});
    sum(q).backward();
    up.step();
    check_values(q, {1.81});
    // dampening 0.5 from the second step on: b1 = 1, b2 = 0.9 * 1 + 0.5 * 1 = 1.4.
    Tensor r = from_vector<double>({0}).requires_grad_();
    nn::SGD damp({r}, {.lr = 1, .momentum = 0.9, .dampening = 0.5});
    for (int step = 0; step < 2; ++step) {
        damp.zero_grad();
        sum(r).backward();
        damp.step();
    }
    check_values(r, {-1 - 1.4});
}

TEST_CASE("SGD: a parameter without a gradient is skipped and gets no state") {
    Tensor used = from_vector<double>({1}).requires_grad_();
    Tensor unused = from_vector<double>({5}).requires_grad_();
    nn::SGD opt({used, unused}, {.lr = 0.5, .momentum = 0.9});
    sum(used * 2.0).backward();
    REQUIRE_FALSE(unused.has_grad());
    opt.step();
    check_values(used, {0});
    check_values(unused, {5});
    auto state = opt.state();  // the buffer, plus the group's lr and weight_decay
    CHECK(state.size() == 3);
    CHECK(state.count("0.momentum_buffer") == 1);
    CHECK(state.at("param_groups.0.lr").item() == 0.5);
    opt.zero_grad();
    CHECK_FALSE(used.has_grad());
    nn::SGD plain({used}, {.lr = 0.1});
    CHECK(plain.state().size() == 2);  // no per-parameter state without momentum
}

TEST_CASE("SGD: option and parameter errors") {
    Tensor p = zeros({2}).requires_grad_();
    CHECK_THROWS_WITH_AS(nn::SGD(std::vector<Tensor>{}, {}),
                         doctest::Contains("empty parameter list"), Error);
    CHECK_THROWS_WITH_AS(nn::SGD({p}, {.lr = -1}), doctest::Contains("learning rate -1"), Error);
    CHECK_THROWS_WITH_AS(nn::SGD({p}, {.momentum = -0.5}), doctest::Contains("momentum -0.5"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::SGD({p}, {.weight_decay = -1}), doctest::Contains("weight_decay -1"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::SGD({p}, {.nesterov = true}),
                         doctest::Contains("nesterov momentum needs momentum > 0"), Error);
    CHECK_THROWS_WITH_AS(nn::SGD({p}, {.momentum = 0.9, .dampening = 0.1, .nesterov = true}),
                         doctest::Contains("dampening = 0"), Error);
    CHECK_THROWS_WITH_AS(nn::SGD({p, p}), doctest::Contains("parameter 1 is listed twice"), Error);
    CHECK_THROWS_WITH_AS(nn::SGD({p * 2.0}), doctest::Contains("not a leaf"), Error);
    CHECK_THROWS_WITH_AS(nn::SGD({arange(3)}), doctest::Contains("must be floating point"), Error);
}
