// Attention multiple-instance learning (MIL): a bag of instance features (the cells of one
// patient) in, one diagnosis out, with the attention that says which instances drove it.
//   Amil          SCEMILA's AMiL (Hehr et al. 2023; marrlab/SCEMILA ml_pipeline/model.py): a
//                 feature processor (N, 512, h, w) -> (N, 500), then class-wise multi-head
//                 attention with one classifier per class (multicolumn, the paper's setting) or
//                 one attention branch with one classifier. Both branches are built, as
//                 upstream, so its state_dict loads by key; forward uses one.
//   AttentionMil  ABMIL (Ilse et al. 2018; AMLab-Amsterdam/AttentionDeepMIL model.py), plain or
//                 gated attention, with DinoBloom's head (Linear - ReLU - Linear).
//   MeanPoolMil   the mean of the instance embeddings: the baseline without attention.
//
// Bags are batched: `bags` (B, N, *instance) with `mask` (B, N) bool, true for a real instance,
// false for padding; padded instances get exactly zero attention (their score is -inf before
// the softmax: the classic bug of batching bags, tested against). One bag may come unbatched,
// (N, *instance), and is treated as B = 1. Outputs are always batched:
//
//   mil::Amil model({.classes = 5});                 // 5,554,948 parameters
//   mil::MilOutput out = model.forward(bag);         // bag (N, 512, 5, 5)
//   out.logits;      // (1, 5)
//   out.attention;   // (1, 5, N): per class, a softmax over the N cells
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "nn/layers.h"
#include "nn/module.h"

namespace marrow::mil {

struct MilOutput {
    Tensor logits;         // (B, classes): raw scores (cross-entropy takes them as they are)
    Tensor attention_raw;  // (B, heads, N): scores before the softmax (padding: the padding's)
    Tensor attention;      // (B, heads, N): softmax over a bag's instances; padding exactly 0
    Tensor features;       // (B, heads, M): the attention-weighted bag embeddings
};

// A MIL model: bags in (batched or one), MilOutput out. forward composes three stages, which
// occlusion and solitary predictions (mil/explain.h) also call on their own:
//   embed             (B, N, *instance) -> H (B, N, M)    the instance network
//   attention_scores  H -> (B, N, heads)                   raw attention (before the softmax)
//   classify          z (B, heads, M) -> (B, classes)      the bag classifier
// with z = attention_pool(scores, H, mask). heads() is the number of attention distributions
// per bag (Amil multicolumn: one per class; otherwise 1).
class MilModel : public nn::Module {
public:
    using nn::Module::Module;
    MilOutput forward(const Tensor& bags, const std::optional<Tensor>& mask = std::nullopt);
    MilOutput operator()(const Tensor& bags, const std::optional<Tensor>& mask = std::nullopt) {
        return forward(bags, mask);
    }
    virtual Tensor embed(const Tensor& bags) = 0;
    virtual Tensor attention_scores(const Tensor& h) = 0;
    virtual Tensor classify(const Tensor& z) = 0;
    virtual int64_t classes() const = 0;
    virtual int64_t heads() const = 0;
    // The rank of one instance: 1 for feature vectors (D), 3 for feature maps (C, h, w).
    virtual int64_t instance_rank() const = 0;

    // Checks a batch (B, N, *instance) fits the instance network; `given` is the caller's shape.
    virtual void check_instances(const Tensor& batched, const Shape& given) const = 0;
};

// ---- SCEMILA's AMiL
struct AmilOptions {
    int64_t classes = 5;
    bool multicolumn = true;  // class-wise attention (the paper); false: the single branch
    // Instances: feature maps (in, h, w) through SCEMILA's convolutional processor
    // (Conv2d(in, 1.5 in, 2) - ReLU - Conv2d(1.5 in, 2 in, 2) - ReLU - AdaptiveMaxPool2d(1) -
    // Flatten - Linear(2 in, embed) - ReLU; h, w >= 3), or, with spatial = false, feature
    // vectors (in) through Linear(in, embed) - ReLU (keys ftr_proc.0.*).
    int64_t in = 512;
    bool spatial = true;
    int64_t embed = 500;             // SCEMILA's L
    int64_t attention_hidden = 128;  // SCEMILA's D
    int64_t classifier_hidden = 64;
};

class Amil : public MilModel {
public:
    explicit Amil(AmilOptions options = {}, Generator* gen = nullptr);
    Tensor embed(const Tensor& bags) override;
    Tensor attention_scores(const Tensor& h) override;
    Tensor classify(const Tensor& z) override;
    int64_t classes() const override { return options_.classes; }
    int64_t heads() const override { return options_.multicolumn ? options_.classes : 1; }
    int64_t instance_rank() const override { return options_.spatial ? 3 : 1; }
    const AmilOptions& options() const { return options_; }

    void check_instances(const Tensor& batched, const Shape& given) const override;

private:
    AmilOptions options_;
    std::shared_ptr<nn::Sequential> ftr_proc_, attention_, classifier_, attention_multi_column_;
    std::shared_ptr<nn::ModuleList> classifier_multi_column_;
};

// ---- ABMIL (Ilse et al.), plain or gated, and mean pooling
struct AttentionMilOptions {
    int64_t in = 384;  // instance feature size
    int64_t classes = 2;
    // > 0: the instances first go through feature_extractor = Linear(in, embed) - ReLU (Ilse's
    // M = 500); 0: attention and pooling act on the inputs themselves.
    int64_t embed = 0;
    int64_t attention_hidden = 128;  // Ilse's L
    // e_k = w^T [tanh(V h_k) * sigmoid(U h_k)] (keys attention_V.0, attention_U.0,
    // attention_w); plain: e_k = w^T tanh(V h_k) (keys attention.0, attention.2).
    bool gated = true;
    // DinoBloom's head: Linear(M, hidden) - ReLU - Linear(hidden, classes) (keys classifier.0,
    // classifier.2); 0: one Linear(M, classes) (classifier.0).
    int64_t classifier_hidden = 64;
};

class AttentionMil : public MilModel {
public:
    explicit AttentionMil(AttentionMilOptions options = {}, Generator* gen = nullptr);
    Tensor embed(const Tensor& bags) override;
    Tensor attention_scores(const Tensor& h) override;
    Tensor classify(const Tensor& z) override;
    int64_t classes() const override { return options_.classes; }
    int64_t heads() const override { return 1; }
    int64_t instance_rank() const override { return 1; }
    const AttentionMilOptions& options() const { return options_; }

    void check_instances(const Tensor& batched, const Shape& given) const override;

private:
    AttentionMilOptions options_;
    std::shared_ptr<nn::Sequential> feature_extractor_, attention_, attention_v_, attention_u_,
        classifier_;
    std::shared_ptr<nn::Linear> attention_w_;
};

// The masked mean of the instance embeddings; `attention` reports the uniform weights 1/n
// (attention_raw is all zeros). Options as AttentionMil's, the attention ones unused.
class MeanPoolMil : public MilModel {
public:
    explicit MeanPoolMil(AttentionMilOptions options = {}, Generator* gen = nullptr);
    Tensor embed(const Tensor& bags) override;
    Tensor attention_scores(const Tensor& h) override;  // zeros: uniform attention
    Tensor classify(const Tensor& z) override;
    int64_t classes() const override { return options_.classes; }
    int64_t heads() const override { return 1; }
    int64_t instance_rank() const override { return 1; }

    void check_instances(const Tensor& batched, const Shape& given) const override;

private:
    AttentionMilOptions options_;
    std::shared_ptr<nn::Sequential> feature_extractor_, classifier_;
};

// ---- the pieces, for models built elsewhere
// A batch of bags as the models take it: bags (B, N, *instance), mask (B, N) bool or none.
struct BatchedBags {
    Tensor bags;
    std::optional<Tensor> mask;
};
// Checks `bags` against the instance rank (unbatched: one bag, made (1, N, ...)) and the mask
// (bool, (B, N), every bag with at least one instance); Errors name `model` and the shapes.
BatchedBags batch_bags(const char* model, const Tensor& bags, const std::optional<Tensor>& mask,
                       int64_t instance_rank);
struct Pooled {
    Tensor raw;        // (B, K, N)
    Tensor attention;  // (B, K, N)
    Tensor features;   // (B, K, M)
};
// Attention pooling: scores (B, N, K) -> K softmax distributions over each bag's instances
// (padding -inf, so exactly 0), features = attention @ embeddings (B, N, M).
Pooled attention_pool(const Tensor& scores, const Tensor& embeddings,
                      const std::optional<Tensor>& mask);

// Padded batches from bags of different lengths: each (n_i, *instance) -> (B, max n, ...)
// with zeros after n_i, and the mask.
BatchedBags pad_bags(const std::vector<Tensor>& bags);

}  // namespace marrow::mil
