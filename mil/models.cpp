#include "mil/models.h"

#include <fmt/format.h>

#include <limits>

#include "autograd/ops.h"
#include "nn/conv_layers.h"
#include "tensor/error.h"
#include "tensor/factory.h"

namespace marrow::mil {

namespace {

std::shared_ptr<nn::Linear> linear(int64_t in, int64_t out, Generator* gen) {
    return std::make_shared<nn::Linear>(in, out, true, gen);
}

// Linear(in, hidden) - ReLU - Linear(hidden, out), or Linear(in, out) when hidden is 0; with
// `relu_last`, a ReLU after the last Linear too (the instance networks).
std::shared_ptr<nn::Sequential> mlp(int64_t in, int64_t hidden, int64_t out, Generator* gen,
                                    bool relu_last = false) {
    if (relu_last) {
        auto net = mlp(in, hidden, out, gen);
        net->push_back(std::make_shared<nn::ReLU>());
        return net;
    }
    if (hidden == 0)
        return std::make_shared<nn::Sequential>(
            std::vector<std::shared_ptr<nn::Layer>>{linear(in, out, gen)});
    return std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Layer>>{
        linear(in, hidden, gen), std::make_shared<nn::ReLU>(), linear(hidden, out, gen)});
}

// Linear(in, hidden) - Tanh - Linear(hidden, out): the attention network of both papers.
std::shared_ptr<nn::Sequential> tanh_attention(int64_t in, int64_t hidden, int64_t out,
                                               Generator* gen) {
    return std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Layer>>{
        linear(in, hidden, gen), std::make_shared<nn::Tanh>(), linear(hidden, out, gen)});
}

// (B, N, *instance) -> the instances as one batch (B N, *instance).
Tensor instances(const Tensor& bags) {
    Shape flat(bags.shape().begin() + 1, bags.shape().end());
    flat[0] = bags.size(0) * bags.size(1);
    return reshape(bags, flat);
}

// (B, N, ...) bags through an instance network `net` (B N, ...) -> (B N, M): (B, N, M).
Tensor embed_instances(nn::Layer& net, const Tensor& bags) {
    Tensor h = net.forward(instances(bags));
    return reshape(h, {bags.size(0), bags.size(1), h.size(-1)});
}

void check_positive(const char* model, const char* what, int64_t value) {
    MARROW_CHECK(value > 0, "{}: {} must be positive, got {}", model, what, value);
}

}  // namespace

// ---- shared pieces

BatchedBags batch_bags(const char* model, const Tensor& bags, const std::optional<Tensor>& mask,
                       int64_t instance_rank) {
    const std::string instance = instance_rank == 1 ? "D" : "C, h, w";
    MARROW_CHECK(bags.dim() == instance_rank + 1 || bags.dim() == instance_rank + 2,
                 "{}: expected one bag (N, {}) or a batch of bags (B, N, {}), got shape {}", model,
                 instance, instance, bags.shape());
    MARROW_CHECK(is_floating(bags.dtype()), "{}: bags must be floating point, got {}", model,
                 bags.dtype());
    bool single = bags.dim() == instance_rank + 1;
    BatchedBags out{single ? unsqueeze(bags, 0) : bags, std::nullopt};
    int64_t b = out.bags.size(0), n = out.bags.size(1);
    MARROW_CHECK(n > 0, "{}: a bag needs at least one instance, got shape {}", model, bags.shape());
    if (!mask) return out;
    Tensor m = single && mask->dim() == 1 ? unsqueeze(*mask, 0) : *mask;
    MARROW_CHECK(m.dtype() == DType::b8, "{}: the mask must be bool (true = instance), got {}",
                 model, m.dtype());
    MARROW_CHECK(m.shape() == Shape({b, n}),
                 "{}: mask shape {} does not match bags {} (expected {})", model, mask->shape(),
                 bags.shape(), Shape({b, n}));
    MARROW_CHECK(m.device() == bags.device(), "{}: the mask is on {}, the bags on {}", model,
                 m.device(), bags.device());
    // A bag with no instance would give 0/0 attention: name it rather than return NaN.
    Tensor empty = to(logical_not(any(m, {1})), Device::cpu());
    for (int64_t i = 0; i < b; ++i)
        MARROW_CHECK(!empty.data<bool>()[i],
                     "{}: bag {} of {} has no instance (its mask is all "
                     "false)",
                     model, i, b);
    out.mask = m;
    return out;
}

// Forward, for K heads over a bag's N instances (batched):
//   raw = scores^T (B, K, N); a = softmax_n(raw masked to -inf at padding); z = a @ H.
// Backward is the composed ops': through the softmax, dL/draw_k = a_k (dL/da_k - <dL/da, a>),
// zero at padding (a = 0 there and masked_fill passes no gradient to filled entries).
Pooled attention_pool(const Tensor& scores, const Tensor& embeddings,
                      const std::optional<Tensor>& mask) {
    Tensor raw = transpose(scores, 1, 2);  // (B, K, N)
    Tensor masked = mask ? masked_fill(raw, logical_not(unsqueeze(*mask, 1)),
                                       -std::numeric_limits<double>::infinity())
                         : raw;
    Tensor a = softmax(masked, -1);
    return {raw, a, bmm(a, embeddings)};
}

BatchedBags pad_bags(const std::vector<Tensor>& bags) {
    MARROW_CHECK(!bags.empty(), "pad_bags: no bags");
    int64_t longest = 0;
    for (size_t i = 0; i < bags.size(); ++i) {
        MARROW_CHECK(bags[i].dim() >= 2 && bags[i].size(0) > 0,
                     "pad_bags: bag {} must be (N, ...) with N >= 1, got shape {}", i,
                     bags[i].shape());
        Shape tail(bags[i].shape().begin() + 1, bags[i].shape().end());
        Shape first(bags[0].shape().begin() + 1, bags[0].shape().end());
        MARROW_CHECK(tail == first && bags[i].dtype() == bags[0].dtype(),
                     "pad_bags: bag {} has instances {} {}, bag 0 {} {}", i, tail, bags[i].dtype(),
                     first, bags[0].dtype());
        longest = std::max(longest, bags[i].size(0));
    }
    std::vector<Tensor> padded, masks;
    for (const Tensor& bag : bags) {
        int64_t n = bag.size(0);
        std::vector<int64_t> pads(2 * (bag.dim() - 1), 0);
        pads.push_back(0);
        pads.push_back(longest - n);  // pad's pairs run from the last dim: N is the last pair
        padded.push_back(n == longest ? bag : pad(bag, pads));
        masks.push_back(lt(arange(longest, DType::i64, bag.device()), static_cast<double>(n)));
    }
    return {stack(padded, 0), stack(masks, 0)};
}

// ---- MilModel

MilOutput MilModel::forward(const Tensor& bags, const std::optional<Tensor>& mask) {
    BatchedBags in = batch_bags(type_name().c_str(), bags, mask, instance_rank());
    check_instances(in.bags, bags.shape());
    Tensor h = embed(in.bags);  // (B, N, M)
    Pooled p = attention_pool(attention_scores(h), h, in.mask);
    return {classify(p.features), p.raw, p.attention, p.features};
}

// ---- Amil

Amil::Amil(AmilOptions options, Generator* gen) : MilModel("AMiL"), options_(options) {
    const AmilOptions& o = options_;
    for (auto [what, v] : {std::pair{"classes", o.classes},
                           {"in", o.in},
                           {"embed", o.embed},
                           {"attention_hidden", o.attention_hidden},
                           {"classifier_hidden", o.classifier_hidden}})
        check_positive("AMiL", what, v);
    if (o.spatial) {
        // SCEMILA: int(in * 1.5) and in * 2 channels, kernel 2 twice (a 5x5 map -> 3x3).
        int64_t c1 = o.in * 3 / 2, c2 = o.in * 2;
        nn::Conv2dOptions k2{.kernel_size = 2};
        ftr_proc_ = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Layer>>{
            std::make_shared<nn::Conv2d>(o.in, c1, k2, gen), std::make_shared<nn::ReLU>(),
            std::make_shared<nn::Conv2d>(c1, c2, k2, gen), std::make_shared<nn::ReLU>(),
            std::make_shared<nn::AdaptiveMaxPool2d>(1), std::make_shared<nn::Flatten>(),
            linear(c2, o.embed, gen), std::make_shared<nn::ReLU>()});
    } else {
        ftr_proc_ = mlp(o.in, 0, o.embed, gen, true);
    }
    register_module("ftr_proc", ftr_proc_);
    // upstream's registration order (its state_dict order)
    attention_ = register_module("attention", tanh_attention(o.embed, o.attention_hidden, 1, gen));
    classifier_ = register_module("classifier", mlp(o.embed, o.classifier_hidden, o.classes, gen));
    attention_multi_column_ = register_module(
        "attention_multi_column", tanh_attention(o.embed, o.attention_hidden, o.classes, gen));
    classifier_multi_column_ =
        register_module("classifier_multi_column", std::make_shared<nn::ModuleList>());
    for (int64_t c = 0; c < o.classes; ++c)
        classifier_multi_column_->push_back(mlp(o.embed, o.classifier_hidden, 1, gen));
}

void Amil::check_instances(const Tensor& batched, const Shape& given) const {
    if (!options_.spatial) {
        MARROW_CHECK(batched.size(2) == options_.in,
                     "AMiL: instances must have {} features, got bags {}", options_.in, given);
        return;
    }
    MARROW_CHECK(batched.size(2) == options_.in && batched.size(3) >= 3 && batched.size(4) >= 3,
                 "AMiL: instances must be ({}, h, w) feature maps with h, w >= 3, got bags {}",
                 options_.in, given);
}

Tensor Amil::embed(const Tensor& bags) { return embed_instances(*ftr_proc_, bags); }

Tensor Amil::attention_scores(const Tensor& h) {
    return (options_.multicolumn ? attention_multi_column_ : attention_)->forward(h);
}

// Multicolumn: one attention distribution per class (heads = classes), each pooled bag
// embedding scored by that class's own classifier: logit_c = classifier_c(z_c).
Tensor Amil::classify(const Tensor& z) {
    if (!options_.multicolumn) return classifier_->forward(squeeze(z, 1));
    std::vector<Tensor> logits;
    for (int64_t c = 0; c < options_.classes; ++c) {
        auto& head = static_cast<nn::Layer&>((*classifier_multi_column_)[c]);
        logits.push_back(head.forward(squeeze(narrow(z, 1, c, 1), 1)));  // (B, 1)
    }
    return cat(logits, 1);
}

// ---- AttentionMil

AttentionMil::AttentionMil(AttentionMilOptions options, Generator* gen)
    : MilModel(options.gated ? "GatedAttention" : "Attention"), options_(options) {
    const AttentionMilOptions& o = options_;
    for (auto [what, v] :
         {std::pair{"in", o.in}, {"classes", o.classes}, {"attention_hidden", o.attention_hidden}})
        check_positive("AttentionMil", what, v);
    int64_t m = o.embed > 0 ? o.embed : o.in;
    if (o.embed > 0) {
        feature_extractor_ = register_module("feature_extractor", mlp(o.in, 0, o.embed, gen, true));
    }
    if (o.gated) {
        attention_v_ = register_module(
            "attention_V", std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Layer>>{
                               linear(m, o.attention_hidden, gen), std::make_shared<nn::Tanh>()}));
        attention_u_ = register_module(
            "attention_U",
            std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Layer>>{
                linear(m, o.attention_hidden, gen), std::make_shared<nn::Sigmoid>()}));
        attention_w_ = register_module("attention_w", linear(o.attention_hidden, 1, gen));
    } else {
        attention_ = register_module("attention", tanh_attention(m, o.attention_hidden, 1, gen));
    }
    classifier_ = register_module("classifier", mlp(m, o.classifier_hidden, o.classes, gen));
}

void AttentionMil::check_instances(const Tensor& batched, const Shape& given) const {
    MARROW_CHECK(batched.size(2) == options_.in, "{}: instances must have {} features, got bags {}",
                 type_name(), options_.in, given);
}

Tensor AttentionMil::embed(const Tensor& bags) {
    return feature_extractor_ ? embed_instances(*feature_extractor_, bags) : bags;
}

Tensor AttentionMil::attention_scores(const Tensor& h) {
    if (!options_.gated) return attention_->forward(h);
    return attention_w_->forward(attention_v_->forward(h) * attention_u_->forward(h));
}

Tensor AttentionMil::classify(const Tensor& z) { return classifier_->forward(squeeze(z, 1)); }

// ---- MeanPoolMil

MeanPoolMil::MeanPoolMil(AttentionMilOptions options, Generator* gen)
    : MilModel("MeanPoolMil"), options_(options) {
    const AttentionMilOptions& o = options_;
    check_positive("MeanPoolMil", "in", o.in);
    check_positive("MeanPoolMil", "classes", o.classes);
    int64_t m = o.embed > 0 ? o.embed : o.in;
    if (o.embed > 0) {
        feature_extractor_ = register_module("feature_extractor", mlp(o.in, 0, o.embed, gen, true));
    }
    classifier_ = register_module("classifier", mlp(m, o.classifier_hidden, o.classes, gen));
}

void MeanPoolMil::check_instances(const Tensor& batched, const Shape& given) const {
    MARROW_CHECK(batched.size(2) == options_.in,
                 "MeanPoolMil: instances must have {} features, got bags {}", options_.in, given);
}

Tensor MeanPoolMil::embed(const Tensor& bags) {
    return feature_extractor_ ? embed_instances(*feature_extractor_, bags) : bags;
}

// equal scores: the masked softmax is 1/n on a bag's n instances, 0 on its padding
Tensor MeanPoolMil::attention_scores(const Tensor& h) {
    return zeros({h.size(0), h.size(1), 1}, h.dtype(), h.device());
}

Tensor MeanPoolMil::classify(const Tensor& z) { return classifier_->forward(squeeze(z, 1)); }

}  // namespace marrow::mil
