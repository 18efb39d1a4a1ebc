#include "ssl/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "autograd/autocast.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "eval/knn.h"
#include "nn/adam.h"
#include "nn/checkpoint.h"
#include "nn/clip.h"
#include "nn/lars.h"
#include "nn/schedule.h"
#include "nn/training.h"
#include "ssl/encoder.h"
#include "ssl/methods.h"
#include "ssl/monitors.h"
#include "tensor/error.h"

namespace marrow::ssl {

data::MultiCropSpec view_recipe(const SslConfig& c) {
    const std::string name = c.views_name();
    int64_t locals = c.local_crops;
    if (c.method == Method::dinov2 && locals <= 1) locals = 0;  // DinoBloom never uses one
    if (c.method == Method::simclr) locals = 0;
    data::MultiCropSpec spec;
    if (name == "simclr") spec = data::simclr_views(c.global_size);
    else if (name == "swav") spec = data::swav_views(c.global_size, c.local_size, int(locals));
    else if (name == "dino") spec = data::dino_views(c.global_size, c.local_size, int(locals));
    else spec = data::dinobloom_views(c.global_size, c.local_size, int(locals));
    if (c.global_scale[1] > 0)
        for (int64_t v = 0; v < spec.global_views; ++v)
            spec.views[size_t(v)].scale = c.global_scale;
    for (data::ViewSpec& view : spec.views) {
        view.brightness *= c.color_strength, view.contrast *= c.color_strength;
        view.saturation *= c.color_strength;
        view.hue = std::min(0.5, view.hue * c.color_strength);
    }
    if (c.cell_rotations)
        for (data::ViewSpec& view : spec.views) view.vflip_p = view.rot90_p = 0.5;
    return spec;
}

std::unique_ptr<nn::Optimizer> make_optimizer(const SslConfig& c, const nn::NamedTensors& named) {
    std::vector<nn::ParamGroup> groups;
    if (c.method == Method::swav) {
        std::vector<Tensor> params;
        for (const auto& [name, p] : named)
            if (p.requires_grad()) params.push_back(p);
        groups = nn::single_group(params);
    } else {
        groups = nn::decay_groups(named);
    }
    const double lr = c.scaled_lr(), wd = c.weight_decay;
    if (c.optimizer == "adamw")
        return std::make_unique<nn::AdamW>(groups, nn::AdamWOptions{.lr = lr, .weight_decay = wd});
    if (c.optimizer == "lars")
        return std::make_unique<nn::LARS>(
            groups, nn::LARSOptions{.lr = lr, .momentum = c.momentum, .weight_decay = wd,
                                    .eta = c.larc_trust,
                                    // DINO's utils.LARS keeps the lr out of the buffer;
                                    // SimCLR's puts it in.
                                    .lr_outside_momentum = c.method != Method::simclr});
    nn::SGDOptions sgd{.lr = lr, .momentum = c.momentum, .weight_decay = wd};
    if (c.optimizer == "larc")
        return std::make_unique<nn::LARC>(groups, sgd,
                                          nn::LARCOptions{.trust_coefficient = c.larc_trust,
                                                          .clip = false});
    return std::make_unique<nn::SGD>(groups, sgd);
}

namespace {

// Sums of the loss terms over an epoch's steps (each step's last micro-batch), for the
// epoch's means.
class EpochMeans {
public:
    void add(const StepLoss& out) {
        total_ += out.total.item();
        for (const auto& [name, value] : out.terms) terms_[name] += value.item();
        ++count_;
    }
    // The last micro-batch's values.
    static nlohmann::json last_step(const StepLoss& out) {
        nlohmann::json j = {{"loss", out.total.item()}};
        for (const auto& [name, value] : out.terms) j[name] = value.item();
        return j;
    }
    nlohmann::json summary() const {
        const double n = double(std::max<int64_t>(count_, 1));
        nlohmann::json j = {{"loss", total_ / n}};
        for (const auto& [name, sum] : terms_) j[name] = sum / n;
        return j;
    }

private:
    double total_ = 0;
    std::map<std::string, double> terms_;
    int64_t count_ = 0;
};

// The epoch's monitors from its last step (spec 5.2, ssl/monitors.h), into the metrics line.
CollapseSignals add_monitors(nlohmann::json& metrics, const StepLoss& last, int64_t epoch,
                             Method method) {
    CollapseSignals s;
    s.epoch = epoch;
    s.sinkhorn_codes = method == Method::swav;
    s.loss = metrics["loss"].get<double>();
    s.ln_k = std::log(double(last.classes));
    metrics["ln_k"] = *s.ln_k;
    if (last.targets) {
        s.teacher_entropy = mean_entropy(*last.targets);
        metrics["teacher_entropy"] = *s.teacher_entropy;
        s.teacher_kl_uniform = kl_to_uniform(*last.targets);
        metrics["teacher_kl_uniform"] = *s.teacher_kl_uniform;
    }
    s.dim = last.features.size(1);
    s.rows = last.features.size(0);
    s.embedding_std = embedding_std(last.features);
    s.effective_rank = effective_rank(last.features);
    metrics["embedding_std"] = *s.embedding_std;
    metrics["embedding_std_random"] = 1 / std::sqrt(double(s.dim));  // N(0, I)'s, the healthy level
    metrics["effective_rank"] = *s.effective_rank;
    return s;
}

// Names the first non-finite term and every non-finite tensor the monitors can see.
void check_step_finite(const StepLoss& out, int64_t step) {
    double total = out.total.item();
    if (std::isfinite(total)) return;
    std::string terms;
    for (const auto& [name, value] : out.terms) {
        double v = value.item();
        if (!std::isfinite(v)) terms += fmt::format(" {} = {}", name, v);
    }
    // The first tensor upstream of the loss that is already bad names where it started.
    const std::string term = terms.empty() ? "total" : terms.substr(1, terms.find(' ', 1) - 1);
    check_finite(out.features, step, term, "student_features");
    if (out.targets) check_finite(*out.targets, step, term, "teacher_targets");
    check_finite(out.total, step, term, "loss");
}

}  // namespace

StepLoss optimizer_step(SslModel& model, nn::Optimizer& optimizer,
                        const std::function<std::vector<Tensor>()>& next_views,
                        const StepContext& ctx) {
    const SslConfig& c = model.config();
    optimizer.zero_grad();
    std::optional<StepLoss> last;
    for (int64_t m = 0; m < c.accumulate; ++m) {
        std::vector<Tensor> views = next_views();
        model.before_forward(ctx);
        {
            autograd::AutocastGuard autocast(c.autocast_bf16 ? std::optional(DType::bf16)
                                                             : std::nullopt);
            last = model.forward_loss(views, ctx);
        }
        check_step_finite(*last, ctx.iteration);
        (c.accumulate > 1 ? last->total / double(c.accumulate) : last->total).backward();
    }
    if (c.clip_grad > 0) {
        if (c.method == Method::dinov2) {
            // DINOv2 (train.py): one global norm per student submodule (backbone, dino_head,
            // ibot_head), each clipped on its own.
            std::map<std::string, std::vector<Tensor>> parts;
            for (const auto& [name, p] : model.student_parameters()) {
                const size_t first = name.find('.'), second = name.find('.', first + 1);
                if (p.requires_grad()) parts[name.substr(0, second)].push_back(p);
            }
            for (const auto& [part, params] : parts) nn::clip_grad_norm_(params, c.clip_grad);
        } else {
            nn::clip_gradients(optimizer.parameters(), c.clip_grad);  // DINO: per parameter
        }
    }
    model.before_optimizer_step(ctx);
    optimizer.step();
    model.after_optimizer_step(ctx);
    return std::move(*last);
}

TrainingResult train(SslModel& model, const data::Dataset& views, const TrainerOptions& o,
                     TrainerObserver& observer) {
    const SslConfig& c = model.config();
    c.validate();
    const auto start = std::chrono::steady_clock::now();
    auto seconds = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    data::Loader loader(views, {.batch_size = c.batch_size, .drop_last = true,
                                .workers = o.workers, .seed = c.seed});
    const int64_t per_pass = loader.batches_per_epoch();
    MARROW_CHECK(per_pass >= c.accumulate,
                 "SSL training: {} images make {} batches of {}, fewer than one optimizer step "
                 "({} micro-batches)",
                 views.size(), per_pass, c.batch_size, c.accumulate);
    const int64_t iters = c.epoch_length > 0 ? c.epoch_length : per_pass / c.accumulate;
    const int64_t total = iters * c.epochs;
    const auto warm = int64_t(std::llround(c.warmup_epochs * double(iters)));
    nn::WarmupCosine lr_at(c.scaled_lr(), c.min_lr, total, warm, c.start_warmup_lr);
    nn::WarmupCosine wd_at(c.weight_decay, c.weight_decay_end, total);
    nn::WarmupCosine momentum_at(c.momentum_teacher, 1.0, total);
    const auto temp_warm = int64_t(std::llround(
        c.warmup_teacher_temp_epochs * double(c.teacher_temp_per_iteration ? iters : 1)));
    // np.linspace(warmup, final, W)[t] for t < W, then final: DINO's per-epoch array and
    // DINOv2's per-iteration warm-up (W may exceed the run, as DINOv2's 30 "epochs").
    auto temp_at = [&](int64_t t) {
        if (t >= temp_warm) return c.teacher_temp;
        if (temp_warm == 1) return c.warmup_teacher_temp;
        return c.warmup_teacher_temp +
               (c.teacher_temp - c.warmup_teacher_temp) * double(t) / double(temp_warm - 1);
    };

    auto optimizer = make_optimizer(c, model.student_parameters());
    nn::CheckpointDir checkpoints(o.run_dir + "/checkpoints", o.keep_checkpoints);
    nn::TrainingParts parts{model, *optimizer, nullptr, &model.generator()};
    const nlohmann::json config_json = c;
    nn::TrainingPosition pos;
    if (o.resume) {
        auto latest = checkpoints.latest();
        MARROW_CHECK(latest.has_value(), "--resume: no checkpoint in {}/checkpoints", o.run_dir);
        nn::Checkpoint ck = nn::load_checkpoint(*latest);
        // Compared after a round trip through SslConfig, so a field added since the
        // checkpoint was written counts as its default (what the run used).
        SslConfig saved;
        ck.meta.value("config", nlohmann::json::object()).get_to(saved);
        const nlohmann::json saved_json = saved;
        MARROW_CHECK(saved_json == config_json,
                     "--resume: {} was written with another configuration:\n  {}\nthis run:\n  {}",
                     latest->string(), saved_json.dump(), config_json.dump());
        pos = nn::restore_training(ck, parts);
        observer.message(fmt::format("resumed from {} at step {} (epoch {}, iteration {})",
                                     latest->string(), pos.step, pos.step / iters + 1,
                                     pos.step % iters));
    }
    auto save = [&] {
        pos.epoch = pos.step / iters;
        pos.batch = pos.step % iters;
        checkpoints.save(pos.step, nn::capture_training(parts, pos, config_json));
    };

    TrainingResult result;
    CollapseDetector detector;
    model.train();
    int64_t micro = pos.step * c.accumulate;  // micro-batches consumed: the data position
    int64_t pass = -1;                         // the loader's current pass over the data
    while (pos.step < total) {
        const int64_t epoch = pos.step / iters;
        observer.epoch_begin(epoch, iters, pos.step % iters);
        EpochMeans means;
        std::optional<StepLoss> last;
        while (pos.step < total && pos.step / iters == epoch) {
            StepContext ctx{.iteration = pos.step, .epoch = epoch,
                            .teacher_temp = temp_at(c.teacher_temp_per_iteration ? pos.step
                                                                                    : epoch),
                            .teacher_momentum = momentum_at.at(pos.step),
                            .generator = &model.generator()};
            for (auto& g : optimizer->param_groups()) g.lr = lr_at.at(pos.step);
            if (c.method != Method::swav)  // wd schedule on the regularized group only
                optimizer->param_groups()[0].weight_decay = wd_at.at(pos.step);
            StepLoss last_micro = optimizer_step(model, *optimizer, [&] {
                if (micro / per_pass != pass) {
                    pass = micro / per_pass;
                    loader.start_epoch(uint64_t(pass), micro % per_pass);
                }
                auto batch = loader.next();
                MARROW_CHECK(batch.has_value(), "SSL training: the loader ran out at batch {}",
                             micro % per_pass);
                ++micro;
                return batch->tensors;
            }, ctx);
            means.add(last_micro);
            last = last_micro;
            ++pos.step;
            nlohmann::json step_metrics = means.last_step(*last);
            step_metrics["lr"] = lr_at.at(pos.step - 1);
            step_metrics["teacher_temp"] = ctx.teacher_temp;
            observer.step(pos.step - epoch * iters, step_metrics);
            if (o.checkpoint_every > 0 && pos.step % o.checkpoint_every == 0) save();
            if (pos.step == o.stop_after_steps && pos.step % iters != 0) {  // mid-epoch
                save();
                result.steps = pos.step;
                result.seconds = seconds();
                return result;
            }
        }
        // Epoch monitors: means over the epoch, then the last batch's statistics.
        nlohmann::json metrics = means.summary();
        metrics["epoch"] = epoch + 1;
        metrics["step"] = pos.step;
        metrics["lr"] = lr_at.at(pos.step - 1);
        metrics["weight_decay"] = wd_at.at(pos.step - 1);
        metrics["teacher_temp"] = temp_at(c.teacher_temp_per_iteration ? pos.step - 1 : epoch);
        metrics["teacher_momentum"] = momentum_at.at(pos.step - 1);
        CollapseSignals signals = add_monitors(metrics, *last, epoch + 1, c.method);
        if (o.knn_images && ((epoch + 1) % o.knn_every == 0 || pos.step == total)) {
            metrics["knn_accuracy"] = knn_monitor(model.export_encoder(), *o.knn_images,
                                                  {.k = o.knn_k},
                                                  {.batch_size = 256, .workers = o.workers});
        }
        metrics["elapsed_s"] = seconds();
        for (const CollapseWarning& w : detector.update(signals)) {
            metrics["collapse_warning"] = w.message;
            result.warnings.push_back(w.message);
            observer.message(w.message);
        }
        result.epochs.push_back(metrics);
        observer.epoch_end(metrics);
        if (o.checkpoint_every == 0 || pos.step == total || pos.step == o.stop_after_steps)
            save();
        if (pos.step == o.stop_after_steps && pos.step < total) {  // at an epoch's end
            result.steps = pos.step;
            result.seconds = seconds();
            return result;
        }
    }
    result.encoder_path = o.run_dir + "/encoder.safetensors";
    save_encoder(result.encoder_path, model.export_encoder(),
                 {{"method", method_name(c.method)}, {"steps", std::to_string(pos.step)},
                  {"config", config_json.dump()}});
    result.steps = pos.step;
    result.seconds = seconds();
    result.finished = true;
    return result;
}

}  // namespace marrow::ssl
