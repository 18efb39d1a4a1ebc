// SimCLR's projection head and SwAV's projection head + prototypes (ssl/heads.h). DINO's head
// is in dino_head.cpp.
#include "ssl/heads.h"

#include <fmt/format.h>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/init.h"
#include "nn/norm_layers.h"
#include "tensor/error.h"

namespace marrow::ssl {

// ---- ProjectionHead

ProjectionHeadOptions ProjectionHeadOptions::simclr_v1(int64_t in, int64_t out) {
    ProjectionHeadOptions o;
    o.in = o.hidden = in;
    o.out = out;
    return o;
}

ProjectionHeadOptions ProjectionHeadOptions::simclr_tf2(int64_t in, int64_t out, int64_t layers) {
    // tf2/model.py LinearLayer: "use_bias is ignored for the dense layer when use_bn=True"
    // (the bias moves into the BN's center), so no Linear has a bias; the middle BNs center,
    // the last one does not (use_bias=False there).
    return {.in = in,
            .hidden = in,
            .out = out,
            .layers = layers,
            .batch_norm = true,
            .bias = false,
            .last_bias = false,
            .last_batch_norm = true,
            .last_bn_center = false,
            .init_std = 0.01};
}

ProjectionHeadOptions ProjectionHeadOptions::ssl_mil() {
    return ProjectionHeadOptions{};  // the defaults are the seed's
}

namespace {

std::shared_ptr<nn::Linear> make_linear(int64_t in, int64_t out, bool bias,
                                        std::optional<double> init_std, Generator* gen) {
    auto linear = std::make_shared<nn::Linear>(in, out, bias, gen);
    if (init_std) {
        nn::init::normal_(linear->weight, 0, *init_std, gen);
        if (linear->bias) nn::init::zeros_(*linear->bias);
    }
    return linear;
}

}  // namespace

ProjectionHead::ProjectionHead(ProjectionHeadOptions o, Generator* gen) : options_(o) {
    MARROW_CHECK(o.in > 0 && o.out > 0 && o.layers >= 1 && (o.layers == 1 || o.hidden > 0),
                 "ProjectionHead: in ({}), out ({}), layers ({}) and hidden ({}) must be positive",
                 o.in, o.out, o.layers, o.hidden);
    int64_t width = o.in;
    for (int64_t i = 0; i + 1 < o.layers; ++i) {
        push_back(make_linear(width, o.hidden, o.bias, o.init_std, gen));
        if (o.batch_norm) push_back(std::make_shared<nn::BatchNorm1d>(o.hidden));
        push_back(std::make_shared<nn::ReLU>());
        width = o.hidden;
    }
    push_back(make_linear(width, o.out, o.last_bias, o.init_std, gen));
    if (o.last_batch_norm) {
        auto bn = std::make_shared<nn::BatchNorm1d>(o.out);
        if (!o.last_bn_center) bn->bias->requires_grad_(false);
        push_back(bn);
    }
}

Tensor ProjectionHead::forward(const Tensor& x) {
    MARROW_CHECK(x.dim() == 2 && x.size(1) == options_.in,
                 "ProjectionHead({} -> {}): input of shape {} is not (B, {})", options_.in,
                 options_.out, x.shape(), options_.in);
    return Sequential::forward(x);
}

// ---- SwavHead

SwavHead::SwavHead(SwavHeadOptions o, Generator* gen) : Module("SwavHead"), options_(o) {
    MARROW_CHECK(o.in > 0 && o.out > 0 && o.prototypes > 0 && o.hidden >= 0 && o.layers >= 2,
                 "SwavHead: in ({}), out ({}) and prototypes ({}) must be positive, hidden ({}) "
                 ">= 0 and layers ({}) >= 2",
                 o.in, o.out, o.prototypes, o.hidden, o.layers);
    if (o.hidden == 0) {
        // swav resnet50.py: hidden_mlp == 0 -> projection_head = nn.Linear(in, out).
        projection_head = register_module("projection_head",
                                          std::make_shared<nn::Linear>(o.in, o.out, true, gen));
    } else {
        auto seq = std::make_shared<nn::Sequential>();
        int64_t width = o.in;
        for (int64_t i = 0; i + 1 < o.layers; ++i) {
            seq->push_back(std::make_shared<nn::Linear>(width, o.hidden, true, gen));
            seq->push_back(std::make_shared<nn::BatchNorm1d>(o.hidden));
            seq->push_back(std::make_shared<nn::ReLU>());
            width = o.hidden;
        }
        seq->push_back(std::make_shared<nn::Linear>(width, o.out, true, gen));
        projection_head = register_module("projection_head", seq);
    }
    prototypes = register_module("prototypes",
                                 std::make_shared<nn::Linear>(o.out, o.prototypes, false, gen));
}

SwavOutput SwavHead::forward(const Tensor& x) {
    MARROW_CHECK(x.dim() == 2 && x.size(1) == options_.in,
                 "SwavHead({} -> {} -> {} prototypes): input of shape {} is not (B, {})",
                 options_.in, options_.out, options_.prototypes, x.shape(), options_.in);
    Tensor z = projection_head->forward(x);
    if (options_.normalize) z = normalize(z, 2, 1);
    return {z, prototypes->forward(z)};
}

void SwavHead::normalize_prototypes() {
    autograd::NoGradGuard no_grad;
    Tensor w = prototypes->weight;
    copy_(w, normalize(w, 2, 1));
}

}  // namespace marrow::ssl
