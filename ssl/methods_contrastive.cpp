// SimCLR and SwAV as SslModels (spec sections 3 and 4).
#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "ssl/heads.h"
#include "ssl/methods.h"
#include "tensor/error.h"

namespace marrow::ssl {

// ---- SimCLR: both views through one backbone and projection head, NT-Xent over the 2B rows.
SimClr::SimClr(const SslConfig& c) : SslModel("SimCLR") {
    set_config(c);
    encoder = make_backbone(c, /*student=*/true, generator_);
    backbone = register_module("backbone", encoder->module_ptr());
    head = register_module("head", std::make_shared<ProjectionHead>(simclr_head_options(c, encoder->feature_dim()), &generator_));
}

StepLoss SimClr::forward_loss(const std::vector<Tensor>& views, const StepContext&) {
    MARROW_CHECK(views.size() == 2, "SimCLR: expected 2 views per image, got {}", views.size());
    const int64_t b = views[0].size(0);
    Tensor h = forward_crops(*backbone, views, 0, 2);  // (2B, D): view a rows, then view b
    Tensor loss = nt_xent(head->forward(h), config_.temperature);
    // classes: each anchor's softmax runs over the 2B - 1 other rows.
    return {.total = loss, .terms = {{"nt_xent", detach(loss)}},
            .features = detach(narrow(h, 0, 0, b)), .classes = 2 * b - 1};
}

nn::NamedTensors SimClr::student_parameters() const { return named_parameters(); }

// ---- SwAV: prototypes scored against l2-normalized embeddings; the two global crops' codes
// (Sinkhorn-Knopp, optionally with a queue of past embeddings) are predicted from every
// other crop (spec 4.4).
Swav::Swav(const SslConfig& c) : SslModel("SwAV") {
    set_config(c);
    encoder = make_backbone(c, /*student=*/true, generator_);
    backbone = register_module("backbone", encoder->module_ptr());
    head = register_module("head", std::make_shared<SwavHead>(swav_head_options(c, encoder->feature_dim()), &generator_));
    if (c.queue_length > 0)
        queue = register_buffer("queue", zeros({2, c.queue_length, c.projection.back()}));
}

void Swav::before_forward(const StepContext&) { head->normalize_prototypes(); }

StepLoss Swav::forward_loss(const std::vector<Tensor>& views, const StepContext& ctx) {
    MARROW_CHECK(views.size() >= 2, "SwAV: expected at least the 2 global crops, got {} views",
                 views.size());
    const int64_t b = views[0].size(0), v = int64_t(views.size());
    Tensor feats = forward_crops(*backbone, views, 0, views.size());
    SwavOutput out = head->forward(feats);  // embedding (V B, d), scores (V B, K)
    const int64_t k = out.scores.size(1);

    std::vector<Tensor> codes;
    {
        autograd::NoGradGuard no_grad;
        const bool filling = queue && ctx.epoch >= config_.queue_start_epoch;
        for (int64_t crop = 0; crop < 2; ++crop) {
            Tensor scores = detach(narrow(out.scores, 0, crop * b, b));
            if (filling) {
                Tensor q = reshape(narrow(*queue, 0, crop, 1), {queue->size(1), queue->size(2)});
                // The queue is used once it has filled (its last row is non-zero); its
                // scores come from the current prototypes.
                bool full = sum(abs(narrow(q, 0, q.size(0) - 1, 1))).item() != 0;
                if (full) scores = cat({mm(q, transpose(head->prototypes->weight, 0, 1)), scores});
                const int64_t keep = q.size(0) - b;
                copy_(narrow(q, 0, b, keep), clone(narrow(q, 0, 0, keep)));
                copy_(narrow(q, 0, 0, b), narrow(out.embedding, 0, crop * b, b));
            }
            Tensor assignment = sinkhorn_knopp(scores, config_.sinkhorn_epsilon,
                                               config_.sinkhorn_iterations);
            codes.push_back(narrow(assignment, 0, assignment.size(0) - b, b));
        }
    }
    Tensor targets = stack(codes);  // (2, B, K)
    Tensor loss = cross_entropy_crops(targets, reshape(out.scores, {v, b, k}),
                                      config_.temperature);
    return {.total = loss, .terms = {{"swav", detach(loss)}},
            .features = detach(narrow(feats, 0, 0, b)), .targets = reshape(targets, {2 * b, k}),
            .classes = k};
}

void Swav::before_optimizer_step(const StepContext& ctx) {
    // Frozen prototypes (spec 4.6): no gradient, so no update, decay or momentum.
    if (ctx.iteration < config_.freeze_prototypes_iters) cancel_gradients(*head, "prototypes");
}

nn::NamedTensors Swav::student_parameters() const { return named_parameters(); }

}  // namespace marrow::ssl
