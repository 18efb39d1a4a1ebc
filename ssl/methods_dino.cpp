// DINO (spec 5) and DINOv2 / DinoBloom (spec 6) as SslModels: a student trained against an
// EMA teacher that sees only the global crops.
#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/models/vit.h"
#include "ssl/masking.h"
#include "ssl/methods.h"
#include "tensor/error.h"

namespace marrow::ssl {

StudentTeacherPart::StudentTeacherPart(const SslConfig& c, bool student, Generator& generator)
    : nn::Module("MultiCropWrapper") {
    encoder = make_backbone(c, student, generator);
    backbone = register_module("backbone", encoder->module_ptr());
    const bool v2 = c.method == Method::dinov2;
    head = register_module(v2 ? "dino_head" : "head",
                           std::make_shared<DinoHead>(dino_head_options(c, encoder->feature_dim()), &generator));
    if (v2 && c.separate_ibot_head)
        ibot_head = register_module("ibot_head", std::make_shared<DinoHead>(dino_head_options(c, encoder->feature_dim()), &generator));
}

DinoFamily::DinoFamily(const SslConfig& c) : SslModel(c.method == Method::dino ? "DINO" : "DINOv2") {
    set_config(c);
    student = register_module("student", std::make_shared<StudentTeacherPart>(c, true, generator_));
    teacher = register_module("teacher", std::make_shared<StudentTeacherPart>(c, false, generator_));
    // The teacher starts as the student (upstream loads the student's state dict into it)
    // and never gets a gradient: only the EMA moves it.
    teacher->load_state_dict(student->state_dict());
    teacher->requires_grad_(false);
    TargetOptions targets{.centering = c.centering, .center_momentum = c.center_momentum,
                          .sinkhorn_iterations = c.sinkhorn_iterations};
    dino_loss = register_module("dino_loss", std::make_shared<DinoLoss>(c.out_dim, targets));
    if (c.method == Method::dinov2)
        ibot_loss = register_module("ibot_patch_loss",
                                    std::make_shared<IbotPatchLoss>(c.out_dim, targets));
    // Every parameter pair, frozen ones included (upstream zips all parameters).
    std::vector<Tensor> s, t;
    for (auto& [name, p] : student->named_parameters()) s.push_back(p);
    for (auto& [name, p] : teacher->named_parameters()) t.push_back(p);
    ema_ = std::make_unique<nn::ModelEMA>(t, s);
}

nn::NamedTensors DinoFamily::student_parameters() const {
    nn::NamedTensors out;
    for (auto& [name, p] : student->named_parameters()) out.emplace_back("student." + name, p);
    return out;
}

StepLoss DinoFamily::forward_loss(const std::vector<Tensor>& views, const StepContext& ctx) {
    MARROW_CHECK(views.size() >= 2, "{}: expected at least the 2 global crops, got {} views",
                 type_name(), views.size());
    return config_.method == Method::dino ? dino_step(views, ctx) : dinov2_step(views, ctx);
}

StepLoss DinoFamily::dino_step(const std::vector<Tensor>& views, const StepContext& ctx) {
    const int64_t b = views[0].size(0);
    const Tensor teacher_out = [&] {
        autograd::NoGradGuard no_grad;
        return teacher->head->forward(forward_crops(*teacher->backbone, views, 0, 2));
    }();
    Tensor feats = forward_crops(*student->backbone, views, 0, views.size());
    Tensor loss = dino_loss->forward(student->head->forward(feats), teacher_out, 2,
                                     ctx.teacher_temp, config_.student_temp);
    return {.total = loss, .terms = {{"dino", detach(loss)}},
            .features = detach(narrow(feats, 0, 0, b)), .targets = dino_loss->last_targets(),
            .classes = config_.out_dim};
}

// DINOv2's forward_backward (spec 6.1), with DinoBloom's rule that the local crops' DINO term
// runs only for more than one local crop (its n_local_terms = max(2 L, 1) stays in the
// denominator, which halves the global term for L = 1).
StepLoss DinoFamily::dinov2_step(const std::vector<Tensor>& views, const StepContext& ctx) {
    MARROW_CHECK(ctx.generator != nullptr, "DINOv2: the step needs a generator for its masks");
    const int64_t b = views[0].size(0), k = config_.out_dim;
    const int64_t locals = int64_t(views.size()) - 2;
    Tensor globals = cat({views[0], views[1]});  // (2B, C, S, S)
    const int64_t grid = globals.size(2) / config_.patch_size;
    BlockMasks masks = sample_block_masks(
        2 * b, MaskingGenerator::dinov2(grid),
        {.probability = config_.mask_probability, .ratio_min = config_.mask_ratio[0],
         .ratio_max = config_.mask_ratio[1]},
        *ctx.generator);
    const int64_t n_masked = masks.n_masked_patches();

    // The teacher sees the unmasked globals: its class-token logits (2B, K) and, at the
    // student's masked positions, its patch logits (M, K).
    std::optional<Tensor> teacher_patch;
    const Tensor teacher_cls = [&] {
        autograd::NoGradGuard no_grad;
        nn::models::VitFeatures t = teacher->encoder->forward_features(globals);
        if (n_masked > 0)
            teacher_patch = teacher->patch_head().forward(
                index_select(reshape(t.patch, {-1, t.patch.size(2)}), 0, masks.indices));
        return teacher->head->forward(t.cls);
    }();
    nn::models::VitFeatures s = student->encoder->forward_features(globals, masks.masks);
    Tensor student_global = student->head->forward(s.cls);  // (2B, K)

    const int64_t n_local_terms = std::max<int64_t>(2 * config_.local_crops, 1);
    const Tensor dino = [&] {
        if (locals > 1) {
            // Every (teacher global, other crop) pair averaged: DINOv2's global and local
            // terms over their common denominator 2 + 2 L.
            Tensor student_local = student->head->forward(
                forward_crops(*student->backbone, views, 2, views.size()));
            return dino_loss->forward(cat({student_global, student_local}), teacher_cls, 2,
                                      ctx.teacher_temp, config_.student_temp);
        }
        return dino_loss->forward(student_global, teacher_cls, 2, ctx.teacher_temp,
                                  config_.student_temp) *
               (2.0 / double(2 + n_local_terms));
    }();
    // KoLeo on the student's pre-head class tokens, per global crop (never across views).
    Tensor koleo = (koleo_loss(narrow(s.cls, 0, 0, b)) + koleo_loss(narrow(s.cls, 0, b, b))) *
                   config_.koleo_weight;
    StepLoss out{.total = dino + koleo,
                 .terms = {{"dino", detach(dino)}, {"koleo", detach(koleo)}},
                 .features = detach(narrow(s.cls, 0, 0, b)),
                 .targets = dino_loss->last_targets(),
                 .classes = k};
    if (n_masked > 0) {
        Tensor student_patch = student->patch_head().forward(
            index_select(reshape(s.patch, {-1, s.patch.size(2)}), 0, masks.indices));
        // iBOT divides by the number of crops, masked or not (spec 6.3).
        Tensor ibot = ibot_loss->forward(student_patch, *teacher_patch,
                                         masks.weights / double(2 * b),
                                         ctx.teacher_temp, config_.student_temp) *
                      config_.ibot_weight;
        out.total = out.total + ibot;
        out.terms.emplace_back("ibot", detach(ibot));
    }
    return out;
}

void DinoFamily::before_optimizer_step(const StepContext& ctx) {
    // freeze_last_layer: during the first epochs the head's last layer gets no update (its
    // gradient is dropped after clipping, so no decay or momentum either).
    if (ctx.epoch < config_.freeze_last_layer_epochs) cancel_gradients(*student, "last_layer");
}

void DinoFamily::after_optimizer_step(const StepContext& ctx) {
    ema_->update(ctx.teacher_momentum);
}

}  // namespace marrow::ssl
