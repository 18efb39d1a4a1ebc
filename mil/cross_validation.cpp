#include "mil/cross_validation.h"

#include <chrono>
#include <cmath>

#include "autograd/ops.h"
#include "data/splits.h"
#include "eval/protocol.h"
#include "mil/protocol.h"
#include "tensor/error.h"
#include "tensor/factory.h"

namespace marrow::mil {

const std::vector<std::string>& mil_model_names() {
    static const std::vector<std::string> names = {"amil", "amil_single", "abmil", "abmil_plain",
                                                   "meanpool"};
    return names;
}

std::shared_ptr<MilModel> make_mil_model(const std::string& name, const Shape& instance_shape,
                                         int64_t classes, uint64_t seed) {
    Generator gen(seed);
    const bool maps = instance_shape.size() == 3;
    MARROW_CHECK(instance_shape.size() == 1 || (maps && name.rfind("amil", 0) == 0),
                 "make_mil_model: {} takes feature vectors (D); got instances of shape {}", name,
                 instance_shape);
    if (name == "amil" || name == "amil_single")
        return std::make_shared<Amil>(AmilOptions{.classes = classes,
                                                  .multicolumn = name == "amil",
                                                  .in = instance_shape[0],
                                                  .spatial = maps},
                                      &gen);
    if (name == "abmil" || name == "abmil_plain")
        return std::make_shared<AttentionMil>(
            AttentionMilOptions{
                .in = instance_shape[0], .classes = classes, .gated = name == "abmil"},
            &gen);
    if (name == "meanpool")
        return std::make_shared<MeanPoolMil>(
            AttentionMilOptions{.in = instance_shape[0], .classes = classes}, &gen);
    fail("make_mil_model: unknown model \"{}\" (amil, amil_single, abmil, abmil_plain, meanpool)",
         name);
}

namespace {

// z = (x - mean) / sd per feature dimension, the statistics over the instances of `fit`
// (sd 0: left unscaled).
void standardize(const std::vector<Bag>& fit, std::initializer_list<std::vector<Bag>*> apply) {
    MARROW_CHECK(fit.front().instances.dim() == 2,
                 "run_mil_cv: standardize needs feature vectors (N, D), got instances {} (feature "
                 "maps such as SCEMILA's (N, 512, 5, 5) are used as they are: standardize off)",
                 fit.front().instances.shape());
    std::vector<Tensor> all;
    for (const Bag& b : fit) all.push_back(to(b.instances, DType::f64));
    Tensor x = cat(all, 0);
    Tensor mean = marrow::mean(x, {0}, true);
    Tensor sd = marrow::std(x, {0}, false, true);
    sd = where(gt(sd, 1e-12), sd, ones_like(sd));
    for (std::vector<Bag>* bags : apply)
        for (Bag& b : *bags)
            b.instances = to((to(b.instances, DType::f64) - mean) / sd, b.instances.dtype());
}

}  // namespace

nlohmann::json MilCvResult::to_json() const {
    auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
    nlohmann::json s = nlohmann::json::object();
    for (const auto& [k, m] : summary)
        s[k] = {{"mean", num(m.mean)}, {"sd", num(m.sd)}, {"n", m.n}};
    nlohmann::json rs = nlohmann::json::array();
    for (const MilFoldRun& r : runs) {
        nlohmann::json metrics = nlohmann::json::object();
        for (const auto& [k, v] : r.metrics) metrics[k] = num(v);
        rs.push_back({{"seed", r.seed},
                      {"fold", r.fold},
                      {"train", r.train.size()},
                      {"val", r.val.size()},
                      {"test", r.test.size()},
                      {"epochs", r.training.epochs.size()},
                      {"best_epoch", r.training.best_epoch},
                      {"metrics", metrics}});
    }
    return {{"model", model},
            {"classes", class_names},
            {"summary", s},
            {"runs", rs},
            {"seconds", seconds}};
}

MilCvResult run_mil_cv(const std::vector<Bag>& bags, const std::vector<std::string>& class_names,
                       const MilCvOptions& o, const CvProgress& progress,
                       MilTrainObserver* observer) {
    auto t0 = std::chrono::steady_clock::now();
    const int64_t classes = static_cast<int64_t>(class_names.size());
    MARROW_CHECK(o.k >= 2 && int64_t(bags.size()) >= o.k,
                 "run_mil_cv: {} bags for {} folds (need at least one per fold)", bags.size(), o.k);
    MARROW_CHECK(o.folds == "scemila" || o.folds == "stratified",
                 "run_mil_cv: folds must be scemila or stratified, got \"{}\"", o.folds);
    MARROW_CHECK(o.folds != "scemila" || o.k == 5,
                 "run_mil_cv: SCEMILA's split has 5 folds, not {}", o.k);
    MARROW_CHECK(!o.seeds.empty(), "run_mil_cv: no seeds");
    Shape instance(bags.front().instances.shape().begin() + 1,
                   bags.front().instances.shape().end());
    std::vector<std::string> ids;
    std::vector<int64_t> labels, counts(size_t(classes), 0);
    for (size_t i = 0; i < bags.size(); ++i) {
        const Bag& b = bags[i];
        MARROW_CHECK(b.label >= 0 && b.label < classes,
                     "run_mil_cv: bag {} ({}) has label {}; there are {} classes", i, b.id, b.label,
                     classes);
        Shape s(b.instances.shape().begin() + 1, b.instances.shape().end());
        MARROW_CHECK(s == instance, "run_mil_cv: bag {} ({}) has instances {}, bag 0 {}", i, b.id,
                     s, instance);
        ids.push_back(b.id);
        labels.push_back(b.label);
        ++counts[size_t(b.label)];
    }

    MilCvResult result;
    result.class_names = class_names;
    result.model = o.model;
    const int total = int(o.seeds.size()) * o.k;
    for (uint64_t seed : o.seeds) {
        std::vector<int> folds = o.folds == "scemila" ? scemila_folds(ids, labels)
                                                      : data::stratified_folds(labels, o.k, seed);
        for (int f = 0; f < o.k; ++f) {
            data::Split split = o.folds == "scemila" ? scemila_split(folds, f)
                                                     : data::fold_split(folds, f, (f + 1) % o.k);
            MilFoldRun run;
            run.seed = seed;
            run.fold = f;
            run.train = split.train, run.val = split.val, run.test = split.test;
            MARROW_CHECK(!run.train.empty() && !run.test.empty(),
                         "run_mil_cv: seed {} fold {} has {} training and {} test bags", seed, f,
                         run.train.size(), run.test.size());
            auto pick = [&](const std::vector<int64_t>& rows) {
                std::vector<Bag> out;
                for (int64_t r : rows) out.push_back(bags[size_t(r)]);
                return out;
            };
            std::vector<Bag> train = pick(run.train), val = pick(run.val), test = pick(run.test);
            if (o.standardize) standardize(train, {&train, &val, &test});
            auto model = make_mil_model(o.model, instance, classes, seed * 1000 + uint64_t(f));
            MilTrainOptions t = o.train;
            t.seed = seed * 1000 + uint64_t(f);
            if (t.class_counts.empty()) t.class_counts = counts;  // SCEMILA: over all splits
            run.training = train_mil(*model, train, val, t, observer);
            run.predictions = predict_bags(*model, test);
            if (o.explain)
                for (const Bag& b : test)
                    run.explanations.push_back(explain_bag(*model, b.instances));
            std::vector<int64_t> y_true, y_pred;
            std::vector<double> proba;
            for (const BagPrediction& p : run.predictions) {
                y_true.push_back(p.label);
                y_pred.push_back(p.predicted);
                proba.insert(proba.end(), p.probabilities.begin(), p.probabilities.end());
            }
            run.metrics = eval::fold_metrics(
                y_true, y_pred, eval::ScoreMatrix(int64_t(y_true.size()), classes, proba), classes);
            result.runs.push_back(std::move(run));
            if (progress) progress(int(result.runs.size()), total, result.runs.back());
        }
    }
    std::map<std::string, std::vector<double>> values;
    for (const MilFoldRun& r : result.runs)
        for (const auto& [k, v] : r.metrics) values[k].push_back(v);
    for (const auto& [k, v] : values) result.summary[k] = eval::mean_sd(v);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

PooledPredictions pooled_predictions(const MilCvResult& result, uint64_t seed) {
    PooledPredictions out;
    std::vector<double> proba;
    for (const MilFoldRun& r : result.runs) {
        if (r.seed != seed) continue;
        for (const BagPrediction& p : r.predictions) {
            out.y_true.push_back(p.label);
            out.y_pred.push_back(p.predicted);
            proba.insert(proba.end(), p.probabilities.begin(), p.probabilities.end());
            out.predictions.push_back(&p);
        }
    }
    const int64_t classes = int64_t(result.class_names.size());
    out.proba = eval::ScoreMatrix(int64_t(out.y_true.size()), classes, std::move(proba));
    return out;
}

}  // namespace marrow::mil
