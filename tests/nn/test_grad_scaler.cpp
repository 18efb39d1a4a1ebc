// nn::GradScaler against torch's GradScaler (tests/golden/gen/gen_autocast.py: the scale after
// every update, which steps were skipped, the weights), and its rules: call order errors,
// state round trip, the float32 growth cap, disabled pass-through.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "marrow.h"
#include "nn/grad_scaler.h"
#include "tensor/ops/copy.h"
#include "tests/compare.h"

using namespace marrow;

namespace {

const Tensor& fixture(const std::string& key) {
    return test::golden_tensor("autocast", key, "gen_autocast.py");
}

}  // namespace

TEST_CASE("GradScaler follows torch's: scale sequence, skipped steps, weights") {
    for (const char* name : {"growth", "defaults"}) {
        CAPTURE(name);
        std::string p = std::string("scaler_") + name + "/";
        const Tensor& opts = fixture(p + "options");
        nn::GradScalerOptions options;
        options.init_scale = opts.data<double>()[0];
        options.growth_interval = int64_t(opts.data<double>()[1]);
        Tensor w = op::clone(fixture(p + "w0")).requires_grad_();
        nn::SGD opt({w}, {.lr = 0.1});
        nn::GradScaler scaler(options);
        const Tensor& xs = fixture(p + "x");
        const Tensor& ws = fixture(p + "w");
        int64_t steps = xs.size(0);
        for (int64_t i = 0; i < steps; ++i) {
            CAPTURE(i);
            opt.zero_grad();
            Tensor x = squeeze(slice(xs, 0, i, i + 1), 0);
            scaler.scale(pow(sum(w * x), 2.0)).backward();
            int64_t inject = fixture(p + "inject").data<int64_t>()[i];
            if (inject)
                w.grad().data<float>()[1] = inject == 1 ? std::numeric_limits<float>::infinity()
                                                        : std::numeric_limits<float>::quiet_NaN();
            bool stepped = scaler.step(opt);
            scaler.update();
            CHECK(stepped == bool(fixture(p + "stepped").data<int64_t>()[i]));
            CHECK(scaler.get_scale() == fixture(p + "scale").data<double>()[i]);
            CHECK(scaler.growth_tracker() == fixture(p + "tracker").data<int64_t>()[i]);
            test::Comparison c = test::compare(w.detach(), squeeze(slice(ws, 0, i, i + 1), 0),
                                               test::tolerance(test::TolClass::optimizer,
                                                               DType::f32));
            INFO(c.detail);
            CHECK(c.ok);
        }
    }
}

TEST_CASE("GradScaler: call order, state, growth cap, disabled") {
    Tensor w = from_vector<float>({1, 2}, {2}).requires_grad_();
    nn::SGD opt({w}, {.lr = 0.5});
    nn::GradScaler scaler({.init_scale = 8, .growth_interval = 1});
    scaler.scale(sum(w)).backward();
    CHECK(w.grad().data<float>()[0] == 8.0f);
    scaler.unscale_(opt);
    CHECK(w.grad().data<float>()[0] == 1.0f);  // unscaled in place
    CHECK_THROWS_WITH_AS(scaler.unscale_(opt), doctest::Contains("already called"), Error);
    CHECK(scaler.step(opt));  // does not unscale twice
    CHECK(w.data<float>()[0] == 0.5f);
    CHECK_THROWS_WITH_AS(scaler.step(opt), doctest::Contains("already called"), Error);
    scaler.update();
    CHECK(scaler.get_scale() == 16);  // growth_interval 1: grows after each clean step
    CHECK_THROWS_WITH_AS(scaler.update(), doctest::Contains("no inf checks"), Error);

    // state() / load_state() round trip (torch's state_dict keys).
    auto state = scaler.state();
    CHECK(state.count("_growth_tracker"));
    nn::GradScaler other;
    other.load_state(state);
    CHECK(other.get_scale() == 16);
    CHECK(other.options().growth_interval == 1);
    state.erase("scale");
    CHECK_THROWS_WITH_AS(other.load_state(state), doctest::Contains("missing key 'scale'"), Error);

    // Never grows past float32's range.
    nn::GradScaler big({.init_scale = 3e38, .growth_interval = 1});
    opt.zero_grad();
    big.scale(sum(w) * 0.0).backward();
    big.step(opt);
    big.update();
    CHECK(big.get_scale() == double(float(3e38)));

    // Disabled: everything passes through.
    nn::GradScaler off({.enabled = false});
    opt.zero_grad();
    Tensor loss = sum(w);
    CHECK(off.scale(loss).data<float>()[0] == loss.data<float>()[0]);
    loss.backward();
    CHECK(off.step(opt));
    off.update();
    CHECK(off.get_scale() == 1.0);
    CHECK(off.state().empty());
}
