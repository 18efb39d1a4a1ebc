// cohort_baseline: the floor learned features must beat. Each patient becomes 9 numbers (the
// mean over its cells of each cell's mean and standard deviation of R, G, B, and the spread
// over cells of the cell means), and a multinomial logistic regression
// (eval::LogisticRegression) is cross-validated on them with patient-level stratified folds.
// Works on the real AML Hehr or lymphocytosis data as on the synthetic cohorts. An image that
// gives a non-finite feature stops the run naming it; the readers' warnings (metadata rows
// without a patient folder) go to stderr and run.json.
//
//   cohort_baseline --data runs/synth [--kind aml|lymphocytosis] [--folds 5] [--max-cells 100]
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>

#include "apps/run_record.h"
#include "data/datasets.h"
#include "data/image.h"
#include "data/splits.h"
#include "marrow.h"

using namespace marrow;
using namespace marrow::data;

namespace {

constexpr int64_t kFeatures = 9;

// The patient's features from up to `max_cells` of its images (evenly spaced).
std::vector<double> patient_features(const Patient& p, int64_t max_cells) {
    int64_t n = int64_t(p.images.size()), used = std::min(n, max_cells);
    std::vector<double> f(kFeatures, 0.0), means;
    for (int64_t k = 0; k < used; ++k) {
        const fs::path& path = p.images[size_t(k * n / used)];
        Image img = read_image(path);
        double count = double(img.width) * img.height;
        if (!(count > 0))  // decoders refuse these; an empty image would make NaN features
            fail("cohort_baseline: patient {}: {} is a {}x{} image, no pixels to average", p.id,
                 path.string(), img.width, img.height);
        for (int c = 0; c < 3; ++c) {
            double s = 0, s2 = 0;
            for (size_t i = size_t(c); i < img.pixels.size(); i += 3) {
                double v = img.pixels[i] / 255.0;
                s += v;
                s2 += v * v;
            }
            double mean = s / count, sd = std::sqrt(std::max(0.0, s2 / count - mean * mean));
            if (!std::isfinite(mean) || !std::isfinite(sd))
                fail("cohort_baseline: patient {}: {} gives non-finite features (mean {}, sd {})",
                     p.id, path.string(), mean, sd);
            f[size_t(c)] += mean / double(used);
            f[size_t(3 + c)] += sd / double(used);
            means.push_back(mean);
        }
    }
    for (int c = 0; c < 3; ++c) {  // spread of the cell means across the bag
        double m = f[size_t(c)], var = 0;
        for (int64_t k = 0; k < used; ++k) var += std::pow(means[size_t(3 * k + c)] - m, 2);
        f[size_t(6 + c)] = std::sqrt(var / double(used));
    }
    for (double v : f)  // NaN or Inf would train silently into a constant prediction
        if (!std::isfinite(v))
            fail("cohort_baseline: patient {}: non-finite feature {} from its {} images (first {})",
                 p.id, v, used, p.images.front().string());
    return f;
}

}  // namespace

int main(int argc, char** argv) try {
    std::string data, kind = "aml", out = "runs/cohort_baseline";
    int folds = 5;
    int64_t max_cells = 100;
    uint64_t seed = 0;
    CLI::App cli{"Mean-pixel features + logistic regression, patient-level cross-validation"};
    cli.add_option("--data", data, "dataset root")->required();
    cli.add_option("--kind", kind, "aml or lymphocytosis")
        ->check(CLI::IsMember({"aml", "lymphocytosis"}));
    cli.add_option("--folds", folds)->check(CLI::Range(2, 20));
    cli.add_option("--max-cells", max_cells, "images read per patient")->check(CLI::PositiveNumber);
    cli.add_option("--seed", seed, "fold assignment");
    cli.add_option("--out", out, "run directory");
    CLI11_PARSE(cli, argc, argv);

    BagDataset ds = kind == "aml" ? read_aml_hehr(data) : read_lymphocytosis(data);
    for (const std::string& w : ds.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    std::erase_if(ds.patients, [](const Patient& p) { return p.label < 0; });
    int64_t n = int64_t(ds.patients.size()), classes = int64_t(ds.classes.size());
    nlohmann::json flags = {{"data", data},
                            {"kind", kind},
                            {"folds", folds},
                            {"max_cells", max_cells},
                            {"probe", "LogisticRegression(C=1, standardize)"}};
    apps::RunRecord record(out, "cohort_baseline", flags, seed, {});

    Tensor x = empty({n, kFeatures}, DType::f64);
    std::vector<int64_t> labels;
    for (int64_t i = 0; i < n; ++i) {
        std::vector<double> f = patient_features(ds.patients[size_t(i)], max_cells);
        std::copy(f.begin(), f.end(), x.data<double>() + i * kFeatures);
        labels.push_back(ds.patients[size_t(i)].label);
    }
    std::vector<int> fold = stratified_folds(labels, folds, seed);
    std::vector<int64_t> truth, predicted;  // over the test folds, in fold order
    for (int f = 0; f < folds; ++f) {
        std::vector<int64_t> train, test, ytr;
        for (int64_t i = 0; i < n; ++i) (fold[size_t(i)] == f ? test : train).push_back(i);
        if (test.empty()) continue;
        for (int64_t i : train) ytr.push_back(labels[size_t(i)]);
        eval::LogisticRegression model({.C = 1.0, .standardize = true});
        model.fit(index_select(x, 0, from_vector<int64_t>(train)), from_vector<int64_t>(ytr),
                  classes);
        std::vector<int64_t> pred = eval::labels_to_vector(
            model.predict(index_select(x, 0, from_vector<int64_t>(test))), "prediction");
        for (size_t k = 0; k < test.size(); ++k) {
            truth.push_back(labels[size_t(test[k])]);
            predicted.push_back(pred[k]);
        }
    }
    eval::ConfusionMatrix confusion = eval::confusion_matrix(truth, predicted, classes);
    double accuracy = eval::accuracy(truth, predicted);
    double balanced = eval::balanced_accuracy(confusion);
    std::printf(
        "%lld patients, %lld classes, %d-fold CV: accuracy %.1f%%, balanced accuracy "
        "%.1f%% (chance %.1f%%)\nconfusion (rows: truth %s):\n",
        (long long)n, (long long)classes, folds, 100 * accuracy, 100 * balanced,
        100.0 / double(classes), fmt::format("{}", fmt::join(ds.classes, ", ")).c_str());
    for (const auto& row : confusion)
        std::printf("  %s\n", fmt::format("{}", fmt::join(row, " ")).c_str());
    record.finish({{"patients", n},
                   {"accuracy", accuracy},
                   {"balanced_accuracy", balanced},
                   {"confusion", confusion},
                   {"classes", ds.classes},
                   {"warnings", ds.warnings}});
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "cohort_baseline: error: %s\n", e.what());
    return 1;
}
