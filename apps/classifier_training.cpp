#include "apps/classifier_training.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "apps/progress.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "eval/metrics.h"
#include "nn/checkpoint.h"
#include "nn/losses.h"
#include "nn/optim.h"
#include "nn/schedule.h"
#include "nn/training.h"

namespace marrow::apps {

double evaluate_accuracy(nn::Layer& model, const data::Dataset& dataset, int64_t batch_size,
                         int workers) {
    autograd::NoGradGuard no_grad;
    bool was_training = model.is_training();
    model.eval();
    data::Loader loader(dataset, {.batch_size = batch_size,
                                  .sampling = data::Sampling::sequential,
                                  .workers = workers});
    loader.start_epoch(0);
    int64_t correct = 0, total = 0;
    while (auto batch = loader.next()) {
        Tensor predicted = argmax(model.forward(batch->tensors[0]), 1);
        correct += int64_t(sum(to(eq(predicted, batch->labels), DType::f64)).item());
        total += batch->labels.numel();
    }
    model.train(was_training);
    return total > 0 ? double(correct) / double(total) : 0;
}

ClassifierTrainingResult train_classifier(nn::Layer& model, const data::Dataset& train,
                                          const data::Dataset& test,
                                          const ClassifierTrainingOptions& o,
                                          RunRecord& record) {
    auto start = std::chrono::steady_clock::now();
    auto seconds = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    data::Loader loader(train, {.batch_size = o.batch_size, .drop_last = true,
                                .workers = o.workers, .seed = o.seed});
    int64_t per_epoch = loader.batches_per_epoch(), total = per_epoch * o.epochs;
    nn::SGD optimizer(nn::decay_groups(model.named_parameters()),
                      {.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay,
                       .nesterov = true});
    nn::Scheduler schedule(optimizer,
                           std::make_shared<nn::WarmupCosine>(o.lr, 0, total, o.warmup_steps));
    nn::CheckpointDir checkpoints(record.dir() + "/checkpoints", o.keep_checkpoints);
    nn::TrainingParts parts{model, optimizer, &schedule, nullptr};
    nlohmann::json config = {{"epochs", o.epochs}, {"batch_size", o.batch_size}, {"lr", o.lr},
                             {"seed", o.seed}};

    nn::TrainingPosition pos;
    if (o.resume) {
        auto latest = checkpoints.latest();
        MARROW_CHECK(latest.has_value(), "--resume: no checkpoint in {}/checkpoints",
                     record.dir());
        pos = nn::restore_training(nn::load_checkpoint(*latest), parts);
        std::fprintf(stderr, "resumed from %s at step %lld (epoch %lld, batch %lld)\n",
                     latest->c_str(), (long long)pos.step, (long long)pos.epoch + 1,
                     (long long)pos.batch);
    }
    auto save = [&] { checkpoints.save(pos.step, nn::capture_training(parts, pos, config)); };

    ClassifierTrainingResult result;
    model.train();
    for (; pos.epoch < o.epochs; ++pos.epoch, pos.batch = 0) {
        loader.start_epoch(uint64_t(pos.epoch), pos.batch);
        ProgressBar bar(fmt::format("epoch {}/{}", pos.epoch + 1, o.epochs), per_epoch, pos.batch);
        double loss_sum = 0;
        int64_t counted = 0;
        while (auto batch = loader.next()) {
            Tensor loss = nn::cross_entropy(model.forward(batch->tensors[0]), batch->labels);
            double l = loss.item();
            MARROW_CHECK(std::isfinite(l),
                         "step {}: the cross-entropy loss is {} (lower --lr, or check the data)",
                         pos.step, l);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            schedule.step();
            ++pos.step;
            ++pos.batch;
            loss_sum += l;
            ++counted;
            bar.update(pos.batch, fmt::format("loss {:.4f}", loss_sum / double(counted)));
            if (o.checkpoint_every > 0 && pos.step % o.checkpoint_every == 0) save();
            if (pos.step == o.stop_after_steps) {
                bar.finish(pos.batch, "stopped");
                save();
                result.steps = pos.step;
                result.seconds = seconds();
                return result;
            }
        }
        double accuracy = evaluate_accuracy(model, test, 500, o.workers);
        bar.finish(pos.batch, fmt::format("loss {:.4f}  test accuracy {:.2f}%",
                                          loss_sum / double(std::max<int64_t>(counted, 1)),
                                          100 * accuracy));
        record.log({{"epoch", pos.epoch + 1},
                    {"step", pos.step},
                    {"train_loss", loss_sum / double(std::max<int64_t>(counted, 1))},
                    {"test_accuracy", accuracy},
                    {"lr", optimizer.param_groups()[0].lr},
                    {"elapsed_s", seconds()}});
        result.test_accuracy = accuracy;
    }
    save();
    result.steps = pos.step;
    result.seconds = seconds();
    result.finished = true;
    return result;
}

}  // namespace marrow::apps
