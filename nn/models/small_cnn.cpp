#include "nn/models/small_cnn.h"

#include "nn/conv_layers.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/norm_layers.h"
#include "autograd/ops.h"
#include "tensor/error.h"

namespace marrow::nn::models {

SmallCnn::SmallCnn(const SmallCnnOptions& o) : Layer("SmallCnn") {
    MARROW_CHECK(!o.widths.empty() && o.in_channels > 0 && o.num_classes > 0,
                 "small_cnn: needs at least one stage, in_channels > 0 and num_classes > 0");
    Generator* gen = o.generator;
    auto features = std::make_shared<Sequential>();
    int64_t in = o.in_channels;
    for (size_t s = 0; s < o.widths.size(); ++s) {
        for (int layer = 0; layer < 2; ++layer) {
            auto conv = std::make_shared<Conv2d>(
                in, o.widths[s], Conv2dOptions{.kernel_size = 3, .padding = 1, .bias = false}, gen);
            init::kaiming_normal_(conv->weight, 0, init::FanMode::fan_out, "relu", gen);
            features->push_back(conv);
            features->push_back(std::make_shared<BatchNorm2d>(o.widths[s]));
            features->push_back(std::make_shared<ReLU>());
            in = o.widths[s];
        }
        if (s + 1 < o.widths.size())
            features->push_back(std::make_shared<MaxPool2d>(MaxPool2dOptions{.kernel_size = 2}));
    }
    features->push_back(std::make_shared<AdaptiveAvgPool2d>(1));
    features->push_back(std::make_shared<Flatten>());
    features_ = register_module("features", features);
    if (o.dropout > 0) dropout_ = register_module("dropout", std::make_shared<Dropout>(o.dropout, gen));
    classifier_ = register_module("classifier", std::make_shared<Linear>(in, o.num_classes, true, gen));
}

Tensor SmallCnn::forward(const Tensor& x) {
    Tensor h = features_->forward(x);
    if (dropout_) h = dropout_->forward(h);
    return classifier_->forward(h);
}

}  // namespace marrow::nn::models
