// Patient-level cross-validation of a MIL model over bags, repeated over seeds, with the
// metrics of the papers per test fold and their mean +- sd (ssl_mil_spec.md 8.2, seed 000's
// Table 1: F1, ROC AUC and PR AUC over 5 folds x 3 seeds; seed 002: weighted F1 and balanced
// accuracy).
//   folds "scemila": SCEMILA's split (mil/protocol.h), run k = train {0,1,2}+k, val {3}+k,
//         test {4}+k; the same folds for every seed (upstream seeds them with 42);
//   folds "stratified": data::stratified_folds keyed by the seed, test = fold f, val = f + 1.
// Each (seed, fold) trains a fresh model (initialized from the seed and the fold) with
// train_mil (early stopping on the validation fold) and predicts the test fold.
//
//   mil::MilCvResult r = mil::run_mil_cv(bags, class_names, {.model = "amil"});
//   eval::MeanSd f1 = r.summary.at("f1_macro");
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/aggregate.h"
#include "eval/ranking_metrics.h"
#include "mil/explain.h"
#include "mil/training.h"

namespace marrow::mil {

// The model names run_mil_cv builds: amil (SCEMILA's, multicolumn), amil_single, abmil
// (gated, DinoBloom's head), abmil_plain, meanpool.
const std::vector<std::string>& mil_model_names();
// A model for instances of `instance_shape` ((D) vectors; (C, h, w) maps for AMiL only) and
// `classes` classes, initialized from `seed`; the papers' sizes (AMiL L = 500, D = 128; ABMIL
// L = 128 on the features themselves, head 64).
std::shared_ptr<MilModel> make_mil_model(const std::string& name, const Shape& instance_shape,
                                         int64_t classes, uint64_t seed);

struct MilCvOptions {
    std::string model = "amil";
    std::string folds = "scemila";  // scemila | stratified
    int k = 5;                      // folds (scemila: 5)
    std::vector<uint64_t> seeds = {0, 1, 2};
    MilTrainOptions train = MilTrainOptions::scemila();  // its seed is replaced per run
    bool explain = false;  // occlusion and solitary predictions of every test bag
    // Feature vectors z-scored per dimension with the mean and sd of the training bags'
    // instances (each run its own), as a probe's StandardScaler. Not in SCEMILA; features
    // with a large common component (a random encoder's) need it.
    bool standardize = false;
};

struct MilFoldRun {
    uint64_t seed = 0;
    int fold = 0;
    std::vector<int64_t> train, val, test;      // bag indices
    std::vector<BagPrediction> predictions;     // the test bags', in `test` order
    std::vector<CellExplanation> explanations;  // when options.explain
    MilTrainResult training;
    std::map<std::string, double> metrics;  // eval::fold_metrics on the test fold
};

struct MilCvResult {
    std::vector<std::string> class_names;
    std::string model;
    std::vector<MilFoldRun> runs;                 // seed-major, then fold
    std::map<std::string, eval::MeanSd> summary;  // every metric over seeds x folds
    double seconds = 0;
    nlohmann::json to_json() const;  // summary and per-run metrics (no predictions)
};

// Progress: (runs done, runs in all) after each run, with the run just finished.
using CvProgress = std::function<void(int, int, const MilFoldRun&)>;

// Errors: fewer bags than folds, a label outside class_names, mixed instance shapes.
MilCvResult run_mil_cv(const std::vector<Bag>& bags, const std::vector<std::string>& class_names,
                       const MilCvOptions& options, const CvProgress& progress = {},
                       MilTrainObserver* observer = nullptr);

// Every test prediction of one seed (each bag once: the folds pooled), in bag order of the
// runs: for the confusion matrix and the ROC curves of a cross-validation.
struct PooledPredictions {
    std::vector<int64_t> y_true, y_pred;
    eval::ScoreMatrix proba;
    std::vector<const BagPrediction*> predictions;
};
PooledPredictions pooled_predictions(const MilCvResult& result, uint64_t seed);

}  // namespace marrow::mil
