#include "ssl/ssl_model.h"

#include <algorithm>

#include "autograd/ops.h"
#include "ssl/encoder.h"
#include "ssl/methods.h"
#include "tensor/error.h"

namespace marrow::ssl {

Tensor forward_crops(nn::Layer& backbone, const std::vector<Tensor>& views, size_t begin,
                     size_t end) {
    MARROW_CHECK(begin < end && end <= views.size(), "forward_crops: views [{}, {}) of {}",
                 begin, end, views.size());
    std::vector<Tensor> outputs;
    for (size_t first = begin; first < end;) {
        size_t last = first + 1;
        while (last < end && views[last].shape() == views[first].shape()) ++last;
        std::vector<Tensor> group(views.begin() + long(first), views.begin() + long(last));
        outputs.push_back(backbone.forward(group.size() == 1 ? group[0] : cat(group)));
        first = last;
    }
    return outputs.size() == 1 ? outputs[0] : cat(outputs);
}

EncoderSpec encoder_spec(const SslConfig& c, bool student) {
    EncoderSpec spec;
    spec.arch = c.arch;
    spec.patch_size = c.patch_size;
    spec.image_size = c.global_size;
    spec.in_channels = 3;  // the views are RGB (gray images are replicated)
    spec.stem = c.stem;
    spec.layerscale = c.method == Method::dinov2 ? std::optional<double>(1e-5) : std::nullopt;
    spec.drop_path_rate = student && spec.is_vit() ? c.drop_path_rate : 0.0;
    return spec;
}

std::shared_ptr<Encoder> make_backbone(const SslConfig& c, bool student, Generator& generator) {
    return make_encoder(encoder_spec(c, student), &generator);
}


ProjectionHeadOptions simclr_head_options(const SslConfig& c, int64_t in) {
    // projection = the widths after the encoder: [hidden..., out] (the seed: [512, 64]).
    ProjectionHeadOptions o;
    o.in = in;
    o.hidden = c.projection.size() > 1 ? c.projection[0] : in;
    o.out = c.projection.back();
    o.layers = int64_t(c.projection.size());
    o.batch_norm = c.head_batch_norm;
    return o;
}

SwavHeadOptions swav_head_options(const SslConfig& c, int64_t in) {
    SwavHeadOptions o;
    o.in = in;
    o.hidden = c.projection.size() > 1 ? c.projection[0] : 0;
    o.out = c.projection.back();
    o.prototypes = c.out_dim;
    o.layers = std::max<int64_t>(int64_t(c.projection.size()), 1);
    return o;
}

DinoHeadOptions dino_head_options(const SslConfig& c, int64_t in) {
    DinoHeadOptions o = c.method == Method::dinov2 ? DinoHeadOptions::dinov2(in, c.out_dim)
                                                   : DinoHeadOptions::dino(in, c.out_dim);
    o.use_bn = c.head_batch_norm;
    o.norm_last_layer = c.norm_last_layer;
    o.nlayers = c.head_layers;
    o.hidden = c.head_hidden;
    o.bottleneck = c.bottleneck;
    return o;
}

std::unique_ptr<SslModel> make_ssl_model(const SslConfig& config) {
    config.validate();
    switch (config.method) {
        case Method::simclr: return std::make_unique<SimClr>(config);
        case Method::swav: return std::make_unique<Swav>(config);
        case Method::dino:
        case Method::dinov2: return std::make_unique<DinoFamily>(config);
    }
    return nullptr;
}

void initialize_backbones(SslModel& model, const std::string& path) {
    LoadedEncoder loaded = load_encoder(path, model.student_encoder().spec());
    const nn::StateDict weights = loaded.encoder->module().state_dict();
    model.student_encoder().module().load_state_dict(weights);
    if (&model.export_encoder() != &model.student_encoder())
        model.export_encoder().module().load_state_dict(weights);
}

}  // namespace marrow::ssl
