#include "nn/models/resnet.h"

#include "autograd/ops.h"
#include "nn/init.h"
#include "tensor/error.h"

namespace marrow::nn::models {
namespace {

std::shared_ptr<Conv2d> conv3x3(int64_t in, int64_t out, int64_t stride, int64_t groups,
                                Generator* gen) {
    return std::make_shared<Conv2d>(in, out,
                                    Conv2dOptions{.kernel_size = 3, .stride = stride,
                                                  .padding = 1, .groups = groups, .bias = false},
                                    gen);
}

// A block's shortcut, Sequential(conv1x1, BatchNorm2d), through conv_bn.
Tensor downsample(const Sequential& shortcut, const Tensor& x) {
    return conv_bn(dynamic_cast<const Conv2d&>(shortcut[0]), dynamic_cast<BatchNorm&>(shortcut[1]),
                   x);
}

std::shared_ptr<Conv2d> conv1x1(int64_t in, int64_t out, int64_t stride, Generator* gen) {
    return std::make_shared<Conv2d>(
        in, out, Conv2dOptions{.kernel_size = 1, .stride = stride, .bias = false}, gen);
}

}  // namespace

std::string stem_name(ResNetStem stem) {
    switch (stem) {
        case ResNetStem::imagenet: return "imagenet";
        case ResNetStem::small: return "small";
        case ResNetStem::small_pool: return "small_pool";
    }
    return "?";
}

ResNetStem stem_from_flags(bool small_input, bool small_input_pool) {
    if (small_input_pool) return ResNetStem::small_pool;
    return small_input ? ResNetStem::small : ResNetStem::imagenet;
}

ResNetStem parse_stem(const std::string& name) {
    for (ResNetStem s : {ResNetStem::imagenet, ResNetStem::small, ResNetStem::small_pool})
        if (stem_name(s) == name) return s;
    fail("ResNet: unknown stem \"{}\" (expected imagenet, small or small_pool)", name);
}

BasicBlock::BasicBlock(int64_t inplanes, int64_t planes, int64_t stride,
                       std::shared_ptr<Sequential> downsample, const ResNetOptions& o)
    : Layer("BasicBlock") {
    MARROW_CHECK(o.groups == 1 && o.width_per_group == 64,
                 "BasicBlock only supports groups=1 and width_per_group=64 (as torchvision)");
    Generator* gen = o.generator;
    conv1_ = register_module("conv1", conv3x3(inplanes, planes, stride, 1, gen));
    bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
    conv2_ = register_module("conv2", conv3x3(planes, planes, 1, 1, gen));
    bn2_ = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
    if (downsample) downsample_ = register_module("downsample", std::move(downsample));
}

Tensor BasicBlock::forward(const Tensor& x) {
    Tensor out = conv_bn(*conv1_, *bn1_, x, /*relu=*/true);
    out = conv_bn(*conv2_, *bn2_, out);
    return relu(out + (downsample_ ? downsample(*downsample_, x) : x));
}

void BasicBlock::zero_init_last_bn() { init::zeros_(bn2_->weight.value()); }

Bottleneck::Bottleneck(int64_t inplanes, int64_t planes, int64_t stride,
                       std::shared_ptr<Sequential> downsample, const ResNetOptions& o)
    : Layer("Bottleneck") {
    int64_t width = planes * o.width_per_group / 64 * o.groups;
    Generator* gen = o.generator;
    conv1_ = register_module("conv1", conv1x1(inplanes, width, 1, gen));
    bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(width));
    conv2_ = register_module("conv2", conv3x3(width, width, stride, o.groups, gen));
    bn2_ = register_module("bn2", std::make_shared<BatchNorm2d>(width));
    conv3_ = register_module("conv3", conv1x1(width, planes * expansion, 1, gen));
    bn3_ = register_module("bn3", std::make_shared<BatchNorm2d>(planes * expansion));
    if (downsample) downsample_ = register_module("downsample", std::move(downsample));
}

Tensor Bottleneck::forward(const Tensor& x) {
    Tensor out = conv_bn(*conv1_, *bn1_, x, /*relu=*/true);
    out = conv_bn(*conv2_, *bn2_, out, /*relu=*/true);
    out = conv_bn(*conv3_, *bn3_, out);
    return relu(out + (downsample_ ? downsample(*downsample_, x) : x));
}

void Bottleneck::zero_init_last_bn() { init::zeros_(bn3_->weight.value()); }

ResNet::ResNet(BlockKind block, std::vector<int64_t> layers, const ResNetOptions& o)
    : Layer("ResNet") {
    MARROW_CHECK(layers.size() == 4, "ResNet: expected 4 stage depths, got {}", layers.size());
    MARROW_CHECK(o.num_classes >= 0, "ResNet: num_classes must be >= 0, got {}", o.num_classes);
    Generator* gen = o.generator;
    MARROW_CHECK(o.in_channels >= 1, "ResNet: in_channels must be >= 1, got {}", o.in_channels);
    in_channels_ = o.in_channels;
    Conv2dOptions stem{.kernel_size = 7, .stride = 2, .padding = 3, .bias = false};
    if (o.stem != ResNetStem::imagenet)
        stem = {.kernel_size = 3, .stride = 1, .padding = 1, .bias = false};
    conv1_ = register_module("conv1", std::make_shared<Conv2d>(o.in_channels, 64, stem, gen));
    bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(64));
    if (o.stem == ResNetStem::small)
        maxpool_ = register_module("maxpool", std::make_shared<Identity>());
    else
        maxpool_ = register_module(
            "maxpool", std::make_shared<MaxPool2d>(MaxPool2dOptions{.kernel_size = 3, .stride = 2,
                                                               .padding = 1}));
    layer1_ = register_module("layer1", make_stage(block, 64, layers[0], 1, o));
    layer2_ = register_module("layer2", make_stage(block, 128, layers[1], 2, o));
    layer3_ = register_module("layer3", make_stage(block, 256, layers[2], 2, o));
    layer4_ = register_module("layer4", make_stage(block, 512, layers[3], 2, o));
    avgpool_ = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>(1));
    feature_dim_ = inplanes_;
    fc_ = register_module("fc", std::make_shared<Linear>(feature_dim_, o.num_classes, true, gen));

    // torchvision's init: every conv kaiming_normal_(fan_out, relu) (drawn after all modules
    // exist, in module order), norms 1 and 0 (their constructors' values already).
    for (auto& [name, module] : named_modules())
        if (auto* conv = dynamic_cast<Conv2d*>(module))
            init::kaiming_normal_(conv->weight, 0, init::FanMode::fan_out, "relu", gen);
    if (o.zero_init_residual)
        for (auto& [name, module] : named_modules()) {
            if (auto* b = dynamic_cast<BasicBlock*>(module)) b->zero_init_last_bn();
            if (auto* b = dynamic_cast<Bottleneck*>(module)) b->zero_init_last_bn();
        }
}

std::shared_ptr<Sequential> ResNet::make_stage(BlockKind block, int64_t planes, int64_t blocks,
                                               int64_t stride, const ResNetOptions& o) {
    int64_t expansion = block == BlockKind::basic ? BasicBlock::expansion : Bottleneck::expansion;
    auto make = [&](int64_t in, int64_t s, std::shared_ptr<Sequential> down) -> std::shared_ptr<Layer> {
        if (block == BlockKind::basic)
            return std::make_shared<BasicBlock>(in, planes, s, std::move(down), o);
        return std::make_shared<Bottleneck>(in, planes, s, std::move(down), o);
    };
    std::shared_ptr<Sequential> downsample;
    if (stride != 1 || inplanes_ != planes * expansion)
        downsample = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
            conv1x1(inplanes_, planes * expansion, stride, o.generator),
            std::make_shared<BatchNorm2d>(planes * expansion)});
    auto stage = std::make_shared<Sequential>();
    stage->push_back(make(inplanes_, stride, downsample));
    inplanes_ = planes * expansion;
    for (int64_t i = 1; i < blocks; ++i) stage->push_back(make(inplanes_, 1, nullptr));
    return stage;
}

Tensor ResNet::feature_map(const Tensor& x) {
    MARROW_CHECK(x.dim() == 4 && x.size(1) == in_channels_,
                 "ResNet: expected input of shape (N, {}, H, W), got {}", in_channels_, x.shape());
    Tensor y = maxpool_->forward(conv_bn(*conv1_, *bn1_, x, /*relu=*/true));
    return layer4_->forward(layer3_->forward(layer2_->forward(layer1_->forward(y))));
}

Tensor ResNet::features(const Tensor& x) { return flatten(avgpool_->forward(feature_map(x)), 1); }

Tensor ResNet::forward(const Tensor& x) { return fc_->forward(features(x)); }

void ResNet::set_fc(std::shared_ptr<Layer> fc) {
    replace_child("fc", fc);
    fc_ = std::move(fc);
}

std::shared_ptr<ResNet> resnet18(const ResNetOptions& o) {
    return std::make_shared<ResNet>(BlockKind::basic, std::vector<int64_t>{2, 2, 2, 2}, o);
}
std::shared_ptr<ResNet> resnet34(const ResNetOptions& o) {
    return std::make_shared<ResNet>(BlockKind::basic, std::vector<int64_t>{3, 4, 6, 3}, o);
}
std::shared_ptr<ResNet> resnet50(const ResNetOptions& o) {
    return std::make_shared<ResNet>(BlockKind::bottleneck, std::vector<int64_t>{3, 4, 6, 3}, o);
}
std::shared_ptr<ResNet> resnet101(const ResNetOptions& o) {
    return std::make_shared<ResNet>(BlockKind::bottleneck, std::vector<int64_t>{3, 4, 23, 3}, o);
}
std::shared_ptr<ResNet> resnet152(const ResNetOptions& o) {
    return std::make_shared<ResNet>(BlockKind::bottleneck, std::vector<int64_t>{3, 8, 36, 3}, o);
}

}  // namespace marrow::nn::models
