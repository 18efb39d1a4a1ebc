// ResNet-18/34/50/101/152 with torchvision's exact structure and state_dict keys (v1.5: the
// Bottleneck's stride sits on its 3x3 conv), so torchvision checkpoints load by key:
//
//   auto model = nn::models::resnet50({.num_classes = 1000});
//   model->load_state_dict(nn::load_state_dict_file("resnet50.safetensors"));
//   model->set_fc(std::make_shared<nn::Identity>());   // 2048-d features (DINO, DinoBloom)
//
// Initialization as torchvision: convs kaiming_normal_(fan_out, relu), norms weight 1 bias 0,
// fc Linear's default; zero_init_residual zeroes the last BN weight of every block (the
// SimCLR/Goyal et al. trick). Input (N, 3, H, W) -> (N, num_classes), any H, W >= 32 or so
// (the adaptive average pool absorbs the size: 144 x 144 cell crops give a 5 x 5 map).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/conv_layers.h"
#include "nn/layers.h"
#include "nn/module.h"
#include "nn/norm_layers.h"

namespace marrow::nn::models {

// conv1 and the max pool after it (same state_dict keys for all three):
// - imagenet: 7x7 stride 2, then the 3x3 stride-2 max pool (torchvision; 224 px).
// - small: the CIFAR stem for 28-32 px images (SimCLR's CIFAR ResNet): 3x3 stride 1 padding 1
//   and no max pool (the key "maxpool" holds nn.Identity); layer1 runs at H x W.
// - small_pool: the 3x3 stride-1 stem keeping the max pool, so layer1 runs at H/2 (14 x 14
//   for 28 px): a quarter of small's FLOPs, the CPU-sized 28-px ResNet.
enum class ResNetStem { imagenet, small, small_pool };
std::string stem_name(ResNetStem stem);          // "imagenet" | "small" | "small_pool"
ResNetStem parse_stem(const std::string& name);  // an Error listing the three names
// Files written before the stem was one field held two bools (small_input,
// small_input_pool): the pool flag alone implies the small stem.
ResNetStem stem_from_flags(bool small_input, bool small_input_pool);

struct ResNetOptions {
    int64_t num_classes = 1000;
    bool zero_init_residual = false;
    int64_t groups = 1;           // ResNeXt: 32
    int64_t width_per_group = 64;  // ResNeXt: 4; wide ResNet: 128
    Generator* generator = nullptr;  // initialization draws (default: the default generator)
    int64_t in_channels = 3;       // conv1's input channels (1: grayscale, Fashion-MNIST)
    ResNetStem stem = ResNetStem::imagenet;
};

// conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut (downsample when the shape changes), ReLU.
// Keys: conv1, bn1, conv2, bn2, downsample.0 (1x1 conv), downsample.1 (BN).
class BasicBlock : public Layer {
public:
    static constexpr int64_t expansion = 1;
    BasicBlock(int64_t inplanes, int64_t planes, int64_t stride,
               std::shared_ptr<Sequential> downsample, const ResNetOptions& o);
    Tensor forward(const Tensor& x) override;
    void zero_init_last_bn();

private:
    std::shared_ptr<Conv2d> conv1_, conv2_;
    std::shared_ptr<BatchNorm2d> bn1_, bn2_;
    std::shared_ptr<Sequential> downsample_;
};

// conv1x1-BN-ReLU-conv3x3(stride)-BN-ReLU-conv1x1-BN (x4 channels), shortcut, ReLU.
class Bottleneck : public Layer {
public:
    static constexpr int64_t expansion = 4;
    Bottleneck(int64_t inplanes, int64_t planes, int64_t stride,
               std::shared_ptr<Sequential> downsample, const ResNetOptions& o);
    Tensor forward(const Tensor& x) override;
    void zero_init_last_bn();

private:
    std::shared_ptr<Conv2d> conv1_, conv2_, conv3_;
    std::shared_ptr<BatchNorm2d> bn1_, bn2_, bn3_;
    std::shared_ptr<Sequential> downsample_;
};

enum class BlockKind { basic, bottleneck };

class ResNet : public Layer {
public:
    // layers: blocks per stage, e.g. {2, 2, 2, 2} (ResNet-18), {3, 4, 6, 3} (34 and 50).
    ResNet(BlockKind block, std::vector<int64_t> layers, const ResNetOptions& o);
    Tensor forward(const Tensor& x) override;
    // The pooled features before fc: (N, 512) or (N, 2048).
    Tensor features(const Tensor& x);
    // layer4's map before pooling, (N, 512 or 2048, ~H/32, ~W/32): what SCEMILA consumes.
    Tensor feature_map(const Tensor& x);
    // Replaces the classifier (nn.Identity for a feature extractor, a new Linear for another
    // number of classes); its keys become "fc.*" (none for Identity).
    void set_fc(std::shared_ptr<Layer> fc);
    int64_t feature_dim() const { return feature_dim_; }
    int64_t in_channels() const { return in_channels_; }

private:
    std::shared_ptr<Sequential> make_stage(BlockKind block, int64_t planes, int64_t blocks,
                                           int64_t stride, const ResNetOptions& o);
    int64_t inplanes_ = 64, feature_dim_ = 0, in_channels_ = 3;
    std::shared_ptr<Conv2d> conv1_;
    std::shared_ptr<BatchNorm2d> bn1_;
    std::shared_ptr<Layer> maxpool_;  // MaxPool2d, or Identity with the small stem
    std::shared_ptr<Sequential> layer1_, layer2_, layer3_, layer4_;
    std::shared_ptr<AdaptiveAvgPool2d> avgpool_;
    std::shared_ptr<Layer> fc_;
};

std::shared_ptr<ResNet> resnet18(const ResNetOptions& o = {});
std::shared_ptr<ResNet> resnet34(const ResNetOptions& o = {});
std::shared_ptr<ResNet> resnet50(const ResNetOptions& o = {});
std::shared_ptr<ResNet> resnet101(const ResNetOptions& o = {});
std::shared_ptr<ResNet> resnet152(const ResNetOptions& o = {});

}  // namespace marrow::nn::models
