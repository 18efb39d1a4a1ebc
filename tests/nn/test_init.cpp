// nn::init: fan rules and gains as torch.nn.init, and each initializer's distribution checked
// by its moments and bounds on 10^5 draws (the expected moments are closed forms, not outputs
// of the code under test), plus determinism under a seed.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "autograd/ops.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "tensor/error.h"
#include "tensor/factory.h"

using namespace marrow;
using namespace marrow::nn;

namespace {

struct Moments {
    double mean, std, min, max;
};

Moments moments(const Tensor& t) {
    Tensor d = to(t.detach(), DType::f64);
    return {mean(d).item(), std::sqrt(var(d, {}, false).item()), d.min().item(), d.max().item()};
}

}  // namespace

TEST_CASE("init: fans and gains as torch.nn.init") {
    CHECK(init::fan_in_and_fan_out(empty({64, 3, 7, 7})) == std::pair<int64_t, int64_t>{147, 3136});
    CHECK(init::fan_in_and_fan_out(empty({10, 512})) == std::pair<int64_t, int64_t>{512, 10});
    CHECK_THROWS_WITH_AS(init::fan_in_and_fan_out(empty({5})),
                         doctest::Contains("fewer than 2 dimensions"), Error);
    CHECK(init::calculate_gain("relu") == doctest::Approx(std::sqrt(2.0)));
    CHECK(init::calculate_gain("tanh") == doctest::Approx(5.0 / 3));
    CHECK(init::calculate_gain("leaky_relu", std::sqrt(5.0)) == doctest::Approx(std::sqrt(1.0 / 3)));
    CHECK(init::calculate_gain("conv2d") == 1);
    CHECK_THROWS_WITH_AS(init::calculate_gain("swish"), doctest::Contains("'swish'"), Error);
}

TEST_CASE("init: erfinv inverts erf to float64 precision") {
    CHECK(init::erfinv(0.5) == doctest::Approx(0.4769362762044699).epsilon(1e-14));
    for (double x : {-3.0, -1.2, -0.01, 0.0, 0.3, 2.5})
        CHECK(init::erfinv(std::erf(x)) == doctest::Approx(x).epsilon(1e-12));
}

TEST_CASE("init: distributions by their moments") {
    Generator gen(7);
    const double sqrt3 = std::sqrt(3.0);
    SUBCASE("kaiming_normal_ fan_out relu (torchvision ResNet)") {
        Tensor w = empty({256, 64, 3, 3});  // fan_out 2304: std sqrt(2 / 2304)
        init::kaiming_normal_(w, 0, init::FanMode::fan_out, "relu", &gen);
        Moments m = moments(w);
        CHECK(std::abs(m.mean) < 1e-3);
        CHECK(m.std == doctest::Approx(std::sqrt(2.0 / 2304)).epsilon(0.01));
    }
    SUBCASE("kaiming_uniform_ a = sqrt(5): Linear's default U(-1/sqrt(in), 1/sqrt(in))") {
        Linear fc(400, 250, true, &gen);
        Moments m = moments(fc.weight);
        double bound = 1 / std::sqrt(400.0);
        CHECK(m.max <= bound);
        CHECK(m.min >= -bound);
        CHECK(m.std == doctest::Approx(bound / sqrt3).epsilon(0.01));
        Moments b = moments(*fc.bias);
        CHECK(b.max <= bound);
        CHECK(b.min >= -bound);
    }
    SUBCASE("xavier_uniform_") {
        Tensor w = empty({300, 500});  // a = sqrt(6 / 800)
        init::xavier_uniform_(w, 1, &gen);
        Moments m = moments(w);
        CHECK(m.max <= std::sqrt(6.0 / 800));
        CHECK(m.std == doctest::Approx(std::sqrt(6.0 / 800) / sqrt3).epsilon(0.01));
    }
    SUBCASE("trunc_normal_ (std 0.02 in [-2, 2], as ViT; and a tight truncation)") {
        Tensor w = empty({100000}, DType::f64);
        init::trunc_normal_(w, 0, 0.02, -2, 2, &gen);  // bounds 100 std away: a plain normal
        Moments m = moments(w);
        CHECK(m.std == doctest::Approx(0.02).epsilon(0.01));
        // N(0, 1) truncated to [-1, 1]: variance 1 - 2 phi(1) / (2 Phi(1) - 1).
        init::trunc_normal_(w, 0, 1, -1, 1, &gen);
        m = moments(w);
        double phi = std::exp(-0.5) / std::sqrt(2 * std::numbers::pi);
        double mass = std::erf(1 / std::sqrt(2.0));
        CHECK(m.min >= -1);
        CHECK(m.max <= 1);
        CHECK(m.std == doctest::Approx(std::sqrt(1 - 2 * phi / mass)).epsilon(0.01));
    }
}

TEST_CASE("init: a seed gives the same weights; zero-element tensors are left alone") {
    Generator a(3), b(3);
    Linear x(8, 4, true, &a), y(8, 4, true, &b);
    CHECK(equal(x.weight, y.weight));
    CHECK(equal(*x.bias, *y.bias));
    Tensor none = empty({0, 5});
    init::kaiming_uniform_(none);
    CHECK(none.numel() == 0);
}
