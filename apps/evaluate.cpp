// evaluate: scores frozen features the way the papers do (DinoBloom's 1-NN, 20-NN and linear
// probe; AE-CFE's random forest) and writes a run directory with run.json, metrics.jsonl (one
// line per method and fold), results.json, predictions, figures and report.html.
//
//   evaluate --features feats.safetensors [--labels labels.csv] [--out runs/evaluate]
//   evaluate --mnist /usr/share/datasets/fashion-mnist        (pixels as features: a baseline)
//   options: --methods knn1,knn20,logreg,forest  --folds 5  --repeats 1  --seed 0
//            --knn-metric euclidean|cosine  --knn-vote uniform|distance|temperature
//            --probe-c 1.0|dinobloom  --probe-iter 1000  --trees 100  --embedding-points 5000
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>

#include "apps/progress.h"
#include "apps/run_record.h"
#include "eval/evaluation_report.h"
#include "eval/feature_io.h"

using namespace marrow;

int main(int argc, char** argv) try {
    std::string features, labels, mnist, out = "runs/evaluate", methods = "knn1,knn20,logreg,forest";
    std::string knn_metric = "euclidean", knn_vote = "uniform", probe_c = "1.0";
    int64_t mnist_train = -1;
    eval::ProtocolOptions po;
    eval::EvaluationReportOptions ro;
    CLI::App cli{"Evaluate frozen features: kNN, linear probe, random forest; report.html"};
    auto* f = cli.add_option("--features", features, "safetensors file with \"features\" (N, F)");
    cli.add_option("--labels", labels, "CSV with a label column (and optional group, split)");
    auto* m = cli.add_option("--mnist", mnist, "MNIST-layout folder: its pixels as features");
    f->excludes(m);
    cli.add_option("--mnist-train", mnist_train, "with --mnist: first N training images only");
    cli.add_option("--methods", methods, "comma-separated: knn<k>, logreg, forest");
    cli.add_option("--folds", po.folds, "stratified folds (without a fixed split)")
        ->check(CLI::Range(2, 100));
    cli.add_option("--repeats", po.repeats, "fold assignments / forest seeds")
        ->check(CLI::Range(1, 100));
    cli.add_option("--seed", po.seed, "folds, forest, subsample, UMAP");
    cli.add_option("--knn-metric", knn_metric)->check(CLI::IsMember({"euclidean", "cosine"}));
    cli.add_option("--knn-vote", knn_vote)
        ->check(CLI::IsMember({"uniform", "distance", "temperature"}));
    cli.add_option("--probe-c", probe_c, "logistic regression C, or dinobloom")
        ->check([](const std::string& v) {
            if (v == "dinobloom") return std::string();
            char* end = nullptr;
            double c = std::strtod(v.c_str(), &end);
            return *end == '\0' && c > 0 ? std::string()
                                          : "must be a positive number or dinobloom, got " + v;
        });
    cli.add_option("--probe-iter", po.logreg_max_iter, "L-BFGS iterations")
        ->check(CLI::PositiveNumber);
    cli.add_option("--trees", po.forest_trees)->check(CLI::PositiveNumber);
    cli.add_option("--embedding-points", ro.embedding_points, "rows in the PCA/UMAP plots (0: none)")
        ->check(CLI::NonNegativeNumber);
    cli.add_option("--out", out, "run directory");
    CLI11_PARSE(cli, argc, argv);
    if (features.empty() == mnist.empty()) {
        std::fprintf(stderr, "evaluate: give --features FILE or --mnist DIR (see --help)\n");
        return 2;
    }

    po.methods.clear();
    for (size_t start = 0; start <= methods.size();) {
        size_t end = std::min(methods.find(',', start), methods.size());
        if (end > start) po.methods.push_back(methods.substr(start, end - start));
        start = end + 1;
    }
    po.knn_metric = knn_metric == "cosine" ? eval::KnnMetric::cosine : eval::KnnMetric::euclidean;
    po.knn_vote = knn_vote == "distance"      ? eval::KnnVote::distance
                  : knn_vote == "temperature" ? eval::KnnVote::temperature
                                              : eval::KnnVote::uniform;
    po.logreg_c = probe_c == "dinobloom" ? 0.0 : std::strtod(probe_c.c_str(), nullptr);
    ro.seed = po.seed;

    eval::LabelledFeatures data = mnist.empty() ? eval::load_labelled_features(features, labels)
                                                : eval::load_mnist_pixels(mnist, mnist_train);
    nlohmann::json flags = {{"features", mnist.empty() ? features : mnist + " (pixels / 255)"},
                            {"labels", labels},
                            {"methods", po.methods},
                            {"folds", po.folds},
                            {"repeats", po.repeats},
                            {"knn_metric", knn_metric},
                            {"knn_vote", knn_vote},
                            {"probe_c", probe_c},
                            {"probe_iter", po.logreg_max_iter},
                            {"trees", po.forest_trees},
                            {"rows", data.features.size(0)},
                            {"feature_dim", data.features.size(1)},
                            {"classes", data.class_names}};
    apps::RunRecord record(out, "evaluate", flags, po.seed, data.files);
    std::printf("%lld rows x %lld features, %zu classes, %s\n", (long long)data.features.size(0),
                (long long)data.features.size(1), data.class_names.size(),
                !data.split.empty()    ? "fixed train/test split"
                : data.groups.empty() ? "stratified folds"
                                      : "patient-grouped folds");

    std::optional<apps::ProgressBar> bar;  // the first call (0 done) gives the total
    eval::ProtocolResult result = eval::run_protocol(data, po, [&](int done, int total) {
        if (!bar) bar.emplace("evaluate (fits)", total);
        bar->update(done);
    });
    bar->finish(int64_t(result.results.size()));
    for (const eval::FoldResult& r : result.results) {
        nlohmann::json line = {{"method", r.method}, {"repeat", r.repeat}, {"fold", r.fold},
                               {"seconds", r.seconds}};
        for (const auto& [name, v] : r.metrics) line[name] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
        record.log(line);
    }
    nlohmann::json run_json;
    std::ifstream(record.dir() + "/run.json") >> run_json;
    eval::write_evaluation(record.dir(), result, data, run_json, ro);
    std::string table = eval::summary_table(result);
    std::fputs(table.c_str(), stdout);
    std::printf("wrote %s/report.html\n", record.dir().c_str());
    nlohmann::json summary;
    for (const eval::SummaryRow& row : eval::summarize(result))
        for (const auto& [name, ms] : row.metrics)
            summary[row.method][name] = std::isfinite(ms.mean) ? nlohmann::json(ms.mean) : nlohmann::json();
    record.finish(summary);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "evaluate: error: %s\n", e.what());
    return 1;
}
