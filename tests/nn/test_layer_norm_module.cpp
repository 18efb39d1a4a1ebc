// nn::LayerNorm: torch.nn.LayerNorm's state_dict keys, initial values, printed form, the
// optional affine parameters, and its forward (the functional layer_norm, the same in train
// and eval mode).
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "nn/norm_layers.h"

using namespace marrow;

namespace {

std::vector<std::string> keys(const nn::Module& m) { return m.state_dict().keys(); }

}  // namespace

TEST_CASE("LayerNorm: weight and bias keys, ones and zeros, PyTorch's printed form") {
    nn::LayerNorm ln(384, 1e-6);  // DINOv2's blocks.N.norm1
    CHECK(keys(ln) == std::vector<std::string>{"weight", "bias"});
    CHECK(ln.weight->shape() == Shape{384});
    CHECK(ln.bias->shape() == Shape{384});
    CHECK(equal(*ln.weight, ones({384})));
    CHECK(equal(*ln.bias, zeros({384})));
    CHECK(ln.weight->requires_grad());
    CHECK(ln.to_string() == "LayerNorm((384,), eps=1e-06, elementwise_affine=True)");
    CHECK(nn::LayerNorm({4, 5}).to_string() ==
          "LayerNorm((4, 5), eps=1e-05, elementwise_affine=True)");
    CHECK(nn::LayerNorm({4, 5}).weight->shape() == Shape{4, 5});

    nn::LayerNorm plain(3, 1e-5, false);
    CHECK(keys(plain).empty());
    CHECK(!plain.weight);
    CHECK(!plain.bias);
    CHECK(plain.to_string() == "LayerNorm((3,), eps=1e-05, elementwise_affine=False)");

    nn::LayerNorm no_bias(3, 1e-5, true, false);
    CHECK(keys(no_bias) == std::vector<std::string>{"weight"});

    CHECK_THROWS_WITH(nn::LayerNorm(std::vector<int64_t>{}), doctest::Contains("LayerNorm"));
}

TEST_CASE("LayerNorm: forward is layer_norm over the trailing dims, with its parameters") {
    Generator gen(3);
    nn::LayerNorm ln({2, 3}, 1e-4);
    nn::StateDict sd;
    sd.insert("weight", randn({2, 3}, DType::f32, Device::cpu(), gen));
    sd.insert("bias", randn({2, 3}, DType::f32, Device::cpu(), gen));
    ln.load_state_dict(sd);
    Tensor x = randn({4, 2, 3}, DType::f32, Device::cpu(), gen);
    Tensor expected = layer_norm(x, {2, 3}, sd.at("weight"), sd.at("bias"), 1e-4);
    CHECK(allclose(ln(x), expected, 0, 0));
    ln.eval();
    CHECK(allclose(ln(x), expected, 0, 0));
    // gradients reach both parameters
    ln.train();
    sum(ln(x) * x).backward();
    CHECK(ln.weight->has_grad());
    CHECK(ln.bias->has_grad());
    CHECK_THROWS_WITH(ln(randn({4, 3, 2})), doctest::Contains("normalized_shape=[2, 3]"));
}
