// batch_norm beyond the op-case registry: the running statistics against torch.nn.BatchNorm
// over several training steps and an eval step (fixtures from tests/golden/gen/gen_norm.py;
// the registry compares outputs and gradients, not buffers updated in place), the vectorized
// float32 CPU path against the reference loops, PyTorch's argument errors, numerics far from
// zero mean, empty inputs, gradients only where needed, and determinism across thread counts.
// The running-statistics golden also runs on the CUDA backend (test suite "cuda").
#include <doctest/doctest.h>
#include <omp.h>

#include <nlohmann/json.hpp>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/norm.h"
#include "tensor/ops/norm.h"
#include "tensor/safetensors.h"
#include "tests/compare.h"
#include "tests/cpu_isa.h"

using namespace marrow;
using namespace marrow::test;

namespace {

const SafetensorsFile& fixture() {
    static const SafetensorsFile file =
        load_safetensors(MARROW_SOURCE_DIR "/tests/golden/fixtures/norm.safetensors");
    return file;
}

const Tensor& get(const std::string& key) {
    auto it = fixture().tensors.find(key);
    if (it == fixture().tensors.end())
        fail("norm golden fixture has no \"{}\": regenerate it with tools/regen_golden.sh", key);
    return it->second;
}

void check_close(const Tensor& ours, const Tensor& ref, Tolerance tol, const std::string& what) {
    Comparison cmp = compare(to(ours, Device::cpu()), ref, tol);
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

// Every fixture case: STEPS training forwards updating the buffers (momentum, or PyTorch's
// cumulative average through batch_norm_momentum), then one eval forward.
void running_statistics_golden(Device device, DType dtype) {
    int cases = 0;
    for (const auto& [key, value] : fixture().metadata) {
        if (!key.starts_with("case.")) continue;
        std::string name = key.substr(5);
        nlohmann::json o = nlohmann::json::parse(value);
        CAPTURE(name);
        CAPTURE(dtype);
        Tolerance tol = tolerance(TolClass::reduction, dtype);
        auto load = [&](const std::string& k) { return to(get(name + "/" + k), device, dtype); };
        Tensor weight = load("weight"), bias = load("bias");
        int64_t channels = weight.size(0);
        Tensor running_mean = zeros({channels}, dtype, device);
        Tensor running_var = ones({channels}, dtype, device);
        std::optional<double> momentum;
        if (!o["momentum"].is_null()) momentum = o["momentum"].get<double>();
        double eps = o["eps"].get<double>();
        for (int64_t k = 0; k < o["steps"].get<int64_t>(); ++k) {
            CAPTURE(k);
            uint64_t version = running_mean.version();
            Tensor y = batch_norm(load(fmt::format("x{}", k)), running_mean, running_var, weight,
                                  bias, true, batch_norm_momentum(momentum, k + 1), eps);
            CHECK(running_mean.version() > version);  // in place, visible to saved-tensor checks
            check_close(y, get(fmt::format("{}/y{}", name, k)), tol, "training output");
            check_close(running_mean, get(fmt::format("{}/running_mean{}", name, k)), tol,
                        "running_mean");
            check_close(running_var, get(fmt::format("{}/running_var{}", name, k)), tol,
                        "running_var");
        }
        Tensor y =
            batch_norm(load("eval_x"), running_mean, running_var, weight, bias, false, 0.1, eps);
        check_close(y, get(name + "/eval_y"), tol, "eval output");
        ++cases;
    }
    CHECK(cases >= 4);
}

// The registered float32 kernel (vectorized) and the reference loops on the same (N, C, S)
// values; then both backward kernels with every combination of wanted gradients.
void fast_against_reference(int64_t n, int64_t c, int64_t s, bool training, bool affine,
                            Generator& gen) {
    CAPTURE(n);
    CAPTURE(c);
    CAPTURE(s);
    CAPTURE(training);
    CAPTURE(affine);
    auto f32 = [&](Shape shape) { return randn(std::move(shape), DType::f32, Device::cpu(), gen); };
    Tensor x = f32({n, c, s}) * 3.0 + 1.5, g = f32({n, c, s});
    Tensor w = f32({c}), b = f32({c});
    Tensor rv = rand({c}, DType::f32, Device::cpu(), gen) + 0.5;
    Tensor rm = f32({c});
    Tensor rm_ref = clone(rm), rv_ref = clone(rv);
    BatchNormParams p{training, 0.2, 1e-5};
    const Tensor* wp = affine ? &w : nullptr;
    const Tensor* bp = affine ? &b : nullptr;
    Tensor y = empty({n, c, s}), mean = empty({c}), invstd = empty({c});
    Tensor y_ref = empty({n, c, s}), mean_ref = empty({c}), invstd_ref = empty({c});
    cpu::batch_norm(p, x, wp, bp, &rm, &rv, y, mean, invstd);
    cpu::batch_norm_reference(p, x, wp, bp, &rm_ref, &rv_ref, y_ref, mean_ref, invstd_ref);
    Tolerance tol = tolerance(TolClass::reduction, DType::f32);
    check_close(y, y_ref, tol, "y");
    check_close(mean, mean_ref, tol, "mean");
    check_close(invstd, invstd_ref, tol, "invstd");
    check_close(rm, rm_ref, tol, "running_mean");
    check_close(rv, rv_ref, tol, "running_var");
    for (int wanted = 1; wanted < 8; ++wanted) {
        CAPTURE(wanted);
        bool want_dx = wanted & 1, want_dw = wanted & 2, want_db = wanted & 4;
        Tensor dx = full({n, c, s}, -7.0), dw = full({c}, -7.0), db = full({c}, -7.0);
        Tensor dx_ref = clone(dx), dw_ref = clone(dw), db_ref = clone(db);
        // x is only read for dx in training and for dweight (eval dx alone goes without it)
        const Tensor* xp = (training && want_dx) || want_dw ? &x : nullptr;
        cpu::batch_norm_backward(training, xp, g, mean, invstd, wp, want_dx ? &dx : nullptr,
                                 want_dw ? &dw : nullptr, want_db ? &db : nullptr);
        cpu::batch_norm_backward_reference(training, xp, g, mean, invstd, wp,
                                           want_dx ? &dx_ref : nullptr, want_dw ? &dw_ref : nullptr,
                                           want_db ? &db_ref : nullptr);
        check_close(dx, dx_ref, tol, "dx");  // untouched (-7) when not wanted, in both
        check_close(dw, dw_ref, tol, "dweight");
        check_close(db, db_ref, tol, "dbias");
    }
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("batch_norm running statistics and eval output against torch.nn.BatchNorm (CPU)") {
    for (DType dtype : {DType::f64, DType::f32}) running_statistics_golden(Device::cpu(), dtype);
}

TEST_CASE("batch_norm: vectorized float32 path against the reference loops, every ISA") {
    if (!test::cpu_isa_available()) return;
    Generator gen(21);
    // S around the vector widths (4/8/16, two vectors per step) and the 4096-float chunks;
    // N S past a chunk so channels merge several chunks; S = 1 is the (N, C) layout.
    struct Size {
        int64_t n, c, s;
    };
    for (Size z : {Size{2, 3, 1}, Size{300, 5, 1}, Size{5, 1030, 1}, Size{3, 2, 7}, Size{4, 3, 16},
                   Size{5, 2, 17}, Size{2, 3, 33}, Size{400, 2, 25}, Size{7, 2, 81},
                   Size{2, 2, 4097}, Size{3, 1, 9000}})
        for (bool training : {true, false})
            for (bool affine : {true, false})
                fast_against_reference(z.n, z.c, z.s, training, affine, gen);
}

TEST_CASE("batch_norm: float32 statistics stay accurate far from zero mean") {
    // Values 1e4 + N(0, 1): a one-pass sum of squares in float32 would lose the variance
    // entirely (1e8 with 24-bit mantissas); chunked two-pass plus Chan's merge keeps it.
    Generator gen(5);
    Tensor x = randn({16, 4, 40, 40}, DType::f32, Device::cpu(), gen) + 1e4;
    Tensor y = batch_norm(x, std::nullopt, std::nullopt, std::nullopt, std::nullopt, true);
    Tensor y64 =
        batch_norm(to(x, DType::f64), std::nullopt, std::nullopt, std::nullopt, std::nullopt, true);
    // x itself carries float32 rounding of ~1e-3 absolute at 1e4: that, not the kernel,
    // bounds y's error (|y| ~ 1, so 2e-3)
    check_close(y, y64, Tolerance{2e-3, 0, "float32 inputs rounded at 1e4"}, "y");
    Tensor rv = ones({4});
    batch_norm(x, std::nullopt, rv, std::nullopt, std::nullopt, true, 1.0);
    check_close(rv, full({4}, 1.0, DType::f64), Tolerance{0.1, 0, "sample variance of N(0,1)"},
                "running_var");
}

TEST_CASE("batch_norm: argument errors as PyTorch, naming the op and the shapes") {
    Tensor x = randn({4, 3, 5});
    Tensor c3 = zeros({3});
    auto bn = [](const Tensor& in, std::optional<Tensor> rm, std::optional<Tensor> rv,
                 std::optional<Tensor> w, bool training) {
        return [=] { batch_norm(in, rm, rv, w, std::nullopt, training); };
    };
    CHECK(
        error_of(bn(randn({1, 3}), std::nullopt, std::nullopt, std::nullopt, true))
            .find("Expected more than 1 value per channel when training, got input size [1, 3]") !=
        std::string::npos);
    CHECK(error_of(bn(randn({1, 3, 1, 1}), c3, c3, std::nullopt, true))
              .find("Expected more than 1 value per channel") != std::string::npos);
    // one value per channel is fine in eval mode
    CHECK(error_of(bn(randn({1, 3, 1, 1}), c3, ones({3}), std::nullopt, false)) == "(no error)");
    CHECK(error_of(bn(x, std::nullopt, std::nullopt, std::nullopt, false))
              .find("running_mean must be defined in evaluation mode") != std::string::npos);
    CHECK(error_of(bn(x, c3, std::nullopt, std::nullopt, false))
              .find("running_var must be defined in evaluation mode") != std::string::npos);
    std::string e = error_of(bn(x, zeros({4}), std::nullopt, std::nullopt, true));
    CHECK(e.find("batch_norm: running_mean should have shape [3]") != std::string::npos);
    CHECK(e.find("[4, 3, 5]") != std::string::npos);
    CHECK(e.find("got shape [4]") != std::string::npos);
    CHECK(error_of(bn(x, std::nullopt, std::nullopt, zeros({1, 3}), true))
              .find("weight should have shape [3]") != std::string::npos);
    CHECK(error_of(bn(randn({5}), std::nullopt, std::nullopt, std::nullopt, true))
              .find("at least 2 dims, got shape [5]") != std::string::npos);
    CHECK(error_of(bn(x, zeros({3}, DType::f64), std::nullopt, std::nullopt, true))
              .find("running_mean has dtype float64") != std::string::npos);
    CHECK(error_of(bn(to(x, DType::f16), std::nullopt, std::nullopt, std::nullopt, true))
              .find("batch_norm") != std::string::npos);
    Tensor leaf_buffer = zeros({3}).requires_grad_();
    CHECK(error_of(bn(x, leaf_buffer, std::nullopt, std::nullopt, true))
              .find("must not require grad") != std::string::npos);
    CHECK_THROWS(batch_norm_momentum(std::nullopt, 0));
    CHECK(batch_norm_momentum(std::nullopt, 4) == 0.25);
    CHECK(batch_norm_momentum(0.1, 4) == 0.1);
}

TEST_CASE("batch_norm: empty batches give empty outputs, untouched buffers, zero gradients") {
    for (Shape shape : {Shape{0, 3}, Shape{2, 3, 0}}) {
        CAPTURE(shape);
        Tensor x = zeros(shape).requires_grad_();
        Tensor w = ones({3}).requires_grad_(), b = zeros({3}).requires_grad_();
        Tensor rm = zeros({3}), rv = ones({3});
        Tensor y = batch_norm(x, rm, rv, w, b, true);
        CHECK(y.shape() == shape);
        sum(y).backward();
        CHECK(allclose(rm, zeros({3})));
        CHECK(allclose(rv, ones({3})));
        CHECK(allclose(w.grad(), zeros({3})));
        CHECK(allclose(b.grad(), zeros({3})));
    }
}

TEST_CASE("batch_norm: strided running buffers are updated through their view") {
    Generator gen(9);
    Tensor x = randn({6, 3, 4}, DType::f32, Device::cpu(), gen);
    Tensor base = zeros({3, 2});
    Tensor rm = squeeze(narrow(base, 1, 0, 1), 1);  // (3,), stride 2
    REQUIRE(!rm.is_contiguous());
    Tensor rm_dense = zeros({3});
    batch_norm(x, rm, std::nullopt, std::nullopt, std::nullopt, true, 0.5);
    batch_norm(x, rm_dense, std::nullopt, std::nullopt, std::nullopt, true, 0.5);
    check_close(rm, rm_dense, tolerance(TolClass::exact, DType::f32), "strided running_mean");
    check_close(narrow(base, 1, 1, 1), zeros({3, 1}), tolerance(TolClass::exact, DType::f32),
                "the other column");
}

TEST_CASE("batch_norm: gradients and saved tensors only where needed") {
    Generator gen(4);
    Tensor x = randn({8, 4, 6, 6}, DType::f32, Device::cpu(), gen).requires_grad_();
    Tensor w = randn({4}, DType::f32, Device::cpu(), gen);  // frozen
    Tensor b = randn({4}, DType::f32, Device::cpu(), gen).requires_grad_();
    Tensor rm = zeros({4}), rv = ones({4});
    int64_t before = autograd::saved_tensor_bytes();
    {
        // eval, dx only: mean, invstd and weight are saved, never x
        Tensor y = batch_norm(x, rm, rv, w, std::nullopt, false);
        CHECK(autograd::saved_tensor_bytes() - before == 3 * 4 * 4);
        y.backward(ones_like(y));
        // dx = g w invstd
        Tensor expected = expand(reshape(w / sqrt(rv + 1e-5), {1, 4, 1, 1}), x.shape());
        check_close(x.grad(), expected, tolerance(TolClass::elementwise, DType::f32), "eval dx");
    }
    {
        // training, bias only: nothing of x's size is saved
        Tensor xf = detach(x);
        Tensor y = batch_norm(xf, std::nullopt, std::nullopt, w, b, true);
        CHECK(autograd::saved_tensor_bytes() - before == 2 * 4 * 4);
        y.backward(ones_like(y));
        check_close(b.grad(), full({4}, 8.0 * 36), tolerance(TolClass::reduction, DType::f32),
                    "dbias");
    }
}

TEST_CASE("batch_norm is deterministic: bit-identical with 1 and 2 threads") {
    Generator gen(6);
    // NCHW (threads own channels) and (N, C) (threads own blocks of 512 channels)
    for (Shape shape : {Shape{8, 5, 30, 30}, Shape{300, 1100}}) {
        CAPTURE(shape);
        Tensor x = randn(shape, DType::f32, Device::cpu(), gen);
        Tensor w = randn({shape[1]}, DType::f32, Device::cpu(), gen);
        auto run = [&] {
            Tensor xl = clone(x).requires_grad_(), wl = clone(w).requires_grad_();
            Tensor y = batch_norm(xl, std::nullopt, std::nullopt, wl, std::nullopt, true);
            y.backward(x);
            return std::vector<Tensor>{y, xl.grad(), wl.grad()};
        };
        int threads = omp_get_max_threads();
        omp_set_num_threads(1);
        std::vector<Tensor> one = run();
        omp_set_num_threads(2);
        std::vector<Tensor> two = run();
        omp_set_num_threads(threads);
        for (size_t i = 0; i < one.size(); ++i)
            check_close(two[i], one[i], tolerance(TolClass::exact, DType::f32), "thread counts");
    }
}

TEST_SUITE("cuda") {
    TEST_CASE("batch_norm running statistics and eval output against torch.nn.BatchNorm (CUDA)") {
        for (DType dtype : {DType::f64, DType::f32})
            running_statistics_golden(Device::cuda(), dtype);
    }
}
