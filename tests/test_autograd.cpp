// The autograd engine: accumulation, graph reuse, retain_graph, explicit gradients, no_grad,
// and the errors users hit (in-place modification of saved tensors, anomaly mode, wrong
// gradient shapes), plus proof that gradcheck catches a wrong backward.
#include <doctest/doctest.h>

#include "autograd/node.h"
#include "marrow.h"

using namespace marrow;

namespace {
Tensor leaf(std::vector<double> v) {
    Tensor t = from_vector(v);
    t.requires_grad_();
    return t;
}
double grad_at(const Tensor& t, int64_t i) { return t.grad().data<double>()[i]; }
}  // namespace

TEST_CASE("chain rule, shared subexpressions and accumulation") {
    Tensor x = leaf({1, 2, 3});
    Tensor sq = x * x;
    Tensor y = sum(sq + sq);  // d/dx = 4x: sq feeds two uses, the engine sums them
    y.backward();
    CHECK(grad_at(x, 2) == 12);
    sum(x).backward();  // a second graph accumulates into the same .grad
    CHECK(grad_at(x, 2) == 13);
    x.zero_grad();
    CHECK(!x.has_grad());
}

TEST_CASE("a leaf's gradient never shares memory with the caller's or the graph's tensors") {
    // The first gradient is adopted without a copy only when nothing else can reach it.
    Tensor x = leaf({1, 2, 3});
    Tensor g = from_vector<double>({1, 1, 1});
    reshape(x, {3, 1}).backward(reshape(g, {3, 1}));  // the view's gradient is a view of g
    fill_(g, 7.0);
    CHECK(grad_at(x, 0) == 1);
    Tensor w = leaf({1, 2});
    Tensor y = w * 3.0;
    y.backward(narrow(g, 0, 0, 2));  // mul's gradient is fresh: adopted
    Tensor adopted = w.grad();
    CHECK(grad_at(w, 1) == 21);
    sum(w).backward();  // accumulation builds a new buffer: the earlier handle is unchanged
    CHECK(grad_at(w, 1) == 22);
    CHECK(adopted.data<double>()[1] == 21);
    Tensor z = leaf({5});
    Tensor two = z + z;  // add's backward hands the same gradient to both edges: summed
    two.backward(from_vector<double>({1}));
    CHECK(grad_at(z, 0) == 2);
}

TEST_CASE("retain_graph and backward twice") {
    Tensor x = leaf({2});
    Tensor y = exp(x) * x;
    y.backward(std::nullopt, true);
    double once = grad_at(x, 0);
    y.backward();
    CHECK(grad_at(x, 0) == doctest::Approx(2 * once));
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("a second time"), Error);
}

TEST_CASE("non-scalar outputs need an explicit gradient") {
    Tensor x = leaf({1, 2});
    Tensor y = x * 3.0;
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("explicit gradient"), Error);
    y.backward(from_vector<double>({1, 10}));
    CHECK(grad_at(x, 1) == 30);
    CHECK_THROWS_WITH_AS(sum(x * 2.0).backward(from_vector<double>({1, 2})),
                         doctest::Contains("does not match tensor shape"), Error);
}

TEST_CASE("no_grad, detach and requires_grad rules") {
    Tensor x = leaf({1, 2});
    {
        autograd::NoGradGuard guard;
        CHECK(!(x * 2.0).requires_grad());
    }
    CHECK((x * 2.0).requires_grad());
    CHECK(!detach(x).requires_grad());
    CHECK_THROWS_WITH_AS(sum(detach(x)).backward(), doctest::Contains("does not require grad"),
                         Error);
    CHECK_THROWS_WITH_AS(arange(3).requires_grad_(), doctest::Contains("only floating"), Error);
    CHECK_THROWS_WITH_AS(mul_(x, 2),
                         doctest::Contains("in-place update of a tensor that "
                                           "requires grad"),
                         Error);
    {
        autograd::NoGradGuard guard;  // how optimizers update parameters
        mul_(x, 2);
    }
    CHECK(x.data<double>()[1] == 4);
}

TEST_CASE("modifying a saved tensor in place is caught at backward, naming the op") {
    Tensor a = from_vector<double>({1, 2});
    Tensor w = leaf({3, 4});
    Tensor y = sum(a * w);  // mul saves a to compute dL/dw
    add_(a, ones({2}, DType::f64));
    CHECK_THROWS_WITH_AS(
        y.backward(), doctest::Contains("modified by an in-place operation: `mul` saved"), Error);
}

TEST_CASE("anomaly mode names the op that made the first NaN/Inf") {
    Tensor x = leaf({-1, 2});
    CHECK_NOTHROW(log(x));  // off by default: NaN flows silently, as in PyTorch
    autograd::DetectAnomalyGuard anomaly;
    {
        autograd::NameScope scope("encoder");
        CHECK_THROWS_WITH_AS(log(x), doctest::Contains("output 0 of `log`"), Error);
        CHECK_THROWS_WITH_AS(log(x), doctest::Contains("scope \"encoder\""), Error);
    }
    Tensor z = leaf({0, 4});
    Tensor y = sum(sqrt(z));  // forward finite; d sqrt/dz at 0 is inf
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("backward of `sqrt`"), Error);
}

TEST_CASE("the engine checks gradient shapes, and gradcheck catches a wrong backward") {
    Tensor x = leaf({1, 2, 3});
    auto wrong_shape = [](const Tensor& in) {
        return autograd::record("bad_op", {in}, in * 2.0, [](const autograd::Grads&) {
            return autograd::Grads{zeros({2}, DType::f64)};
        });
    };
    CHECK_THROWS_WITH_AS(sum(wrong_shape(x)).backward(), doctest::Contains("backward of `bad_op`"),
                         Error);
    // y = x^2 with a backward that forgets the factor 2.
    auto wrong_value = [](const std::vector<Tensor>& in) {
        Tensor saved = detach(in[0]);
        return autograd::record(
            "half_square", {in[0]}, in[0] * in[0],
            [saved](const autograd::Grads& g) { return autograd::Grads{*g[0] * saved}; });
    };
    autograd::GradcheckResult bad = autograd::gradcheck(wrong_value, {leaf({1, 2, 3})});
    CHECK(!bad.ok);
    CHECK(bad.message.find("input 0") != std::string::npos);
    auto right = [](const std::vector<Tensor>& in) { return in[0] * in[0]; };
    CHECK(autograd::gradcheck(right, {leaf({1, 2, 3})}).ok);
}

TEST_CASE("multi-output ops: a gradient on one output only") {
    Tensor x = leaf({3, 1, 2, 5});
    auto parts = chunk(x, 2);
    sum(parts[1] * 2.0).backward();
    CHECK(grad_at(x, 0) == 0);
    CHECK(grad_at(x, 3) == 2);
    Tensor m = leaf({1, 7, 3});
    auto [values, indices] = max(reshape(m, {1, 3}), 1);
    sum(values).backward();
    CHECK(grad_at(m, 1) == 1);
    CHECK(grad_at(m, 0) == 0);
}

TEST_CASE("the README's library example compiles and does what it says") {
    Tensor w = randn({10, 784}).requires_grad_();  // requires_grad_ returns the tensor
    Tensor x = randn({32, 784});
    Tensor loss = mean(pow(linear(x, w), 2.0));
    loss.backward();  // w.grad() now holds dloss/dw
    REQUIRE(w.has_grad());
    Tensor before = clone(detach(w));
    {
        autograd::NoGradGuard g;
        add_(w, w.grad(), -0.1);
    }
    // One SGD step on a convex loss lowers it.
    CHECK(mean(pow(linear(x, w), 2.0)).item() < loss.item());
    CHECK(max(abs(w - before)).item() > 0);
}
