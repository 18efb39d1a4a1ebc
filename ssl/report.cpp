#include "ssl/report.h"

#include <cmath>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "autograd/ops.h"
#include "data/functional.h"
#include "data/image.h"
#include "eval/report.h"
#include "ssl/pretrain_data.h"

namespace marrow::ssl {
namespace {

std::string number(const nlohmann::json& j, const char* key, const char* format = "{:.4f}") {
    if (!j.contains(key) || !j[key].is_number()) return "-";
    return fmt::format(fmt::runtime(format), j[key].get<double>());
}

// The keys some epoch line has, among `wanted`, in that order.
std::vector<std::string> present(const std::vector<nlohmann::json>& epochs,
                                 const std::vector<std::string>& wanted) {
    std::vector<std::string> out;
    for (const std::string& key : wanted)
        for (const auto& e : epochs)
            if (e.contains(key) && e[key].is_number()) {
                out.push_back(key);
                break;
            }
    return out;
}

// A normalized view (3, S, S) back to an 8-bit image for the montage.
data::Image view_image(const Tensor& view) {
    Tensor mean = reshape(from_vector(std::vector<float>(data::kImageNetMean.begin(),
                                                         data::kImageNetMean.end())),
                          {3, 1, 1});
    Tensor stdev = reshape(from_vector(std::vector<float>(data::kImageNetStd.begin(),
                                                          data::kImageNetStd.end())),
                           {3, 1, 1});
    return data::tensor_to_image(contiguous(view * stdev + mean));
}

}  // namespace

void write_pretrain_report(const std::string& run_dir, const TrainingResult& result,
                           const ImageSource& source, const data::MultiCropSpec& views) {
    nlohmann::json run;
    std::ifstream(run_dir + "/run.json") >> run;
    const nlohmann::json config = run.value("flags", nlohmann::json::object()).value(
        "config", nlohmann::json::object());
    eval::Report report(fmt::format("Self-supervised pre-training: {} on {}",
                                    config.value("method", "?"), config.value("arch", "?")));
    // The run's identity up top; the whole configuration in its own section at the end
    // (run.json has everything, including each input file's fingerprint).
    const nlohmann::json flags = run.value("flags", nlohmann::json::object());
    for (const char* key : {"data", "layout", "images", "preset", "init"})
        if (flags.contains(key) && !(flags[key].is_string() && flags[key].get<std::string>().empty()))
            report.add_metadata(key, flags[key].is_string() ? flags[key].get<std::string>()
                                                           : flags[key].dump());
    for (const char* key : {"app", "git_revision", "seed"})
        if (run.contains(key))
            report.add_metadata(key, run[key].is_string() ? run[key].get<std::string>()
                                                         : run[key].dump());
    if (run.contains("device")) report.add_metadata("device", run["device"].dump());

    auto& summary = report.section("Summary");
    const nlohmann::json last = result.epochs.empty() ? nlohmann::json::object()
                                                      : result.epochs.back();
    eval::Table table{{"epochs", "steps", "loss", "ln K", "teacher entropy", "embedding std",
                       "1/sqrt(d)", "effective rank", "kNN accuracy", "seconds"},
                      {{std::to_string(result.epochs.size()), std::to_string(result.steps),
                        number(last, "loss"), number(last, "ln_k"), number(last, "teacher_entropy"),
                        number(last, "embedding_std"), number(last, "embedding_std_random"),
                        number(last, "effective_rank", "{:.1f}"), number(last, "knn_accuracy"),
                        fmt::format("{:.0f}", result.seconds)}},
                      "The last epoch's values. A loss stuck at ln K, a teacher entropy at ln K "
                      "(uniform) or near 0 (one-hot), an embedding std far below 1/sqrt(d) or "
                      "an effective rank near 1 are the signs of collapse."};
    summary.table(table);
    if (result.warnings.empty())
        summary.paragraph("No collapse warning was raised.");
    for (const std::string& w : result.warnings) summary.paragraph(w);
    if (!result.encoder_path.empty())
        summary.paragraph("Exported encoder: " + result.encoder_path);

    const std::string metrics = run_dir + "/metrics.jsonl";
    // The terms are drawn only when there are several (one term is the loss itself).
    std::vector<std::string> terms = present(result.epochs, {"nt_xent", "swav", "dino", "koleo", "ibot"});
    std::vector<std::string> loss_keys = {"loss", "ln_k"};
    if (terms.size() > 1) loss_keys.insert(loss_keys.begin() + 1, terms.begin(), terms.end());
    if (!loss_keys.empty())
        report.section("Loss").training_curves(
            metrics, "epoch", loss_keys, {},
            "Mean loss per epoch and its terms; ln K is the loss of a uniform prediction.");
    auto& monitors = report.section("Collapse monitors");
    for (const auto& [keys, caption] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"teacher_entropy", "ln_k", "teacher_kl_uniform"},
              "Teacher targets: mean row entropy (ln K = uniform, 0 = one-hot) and KL of the "
              "batch's mean target to uniform (ln K = every image the same output)."},
             {{"embedding_std", "embedding_std_random"},
              "Per-dimension std of the l2-normalized backbone features (last batch) and a "
              "random Gaussian embedding's 1/sqrt(d)."},
             {{"effective_rank"}, "Effective rank (RankMe) of the last batch's features."}}) {
        std::vector<std::string> have = present(result.epochs, keys);
        if (!have.empty()) monitors.training_curves(metrics, "epoch", have, {}, caption);
    }
    if (!present(result.epochs, {"knn_accuracy"}).empty())
        report.section("kNN accuracy").training_curves(
            metrics, "epoch", {"knn_accuracy"}, {},
            "20-NN accuracy of the exported encoder's features on the labelled monitor set "
            "(every 5th image a query).");

    std::vector<eval::MontageItem> items;
    if (source.size() > 0) {
        ViewsDataset dataset(source, views);
        for (int64_t i = 0; i < std::min<int64_t>(4, source.size()); ++i) {
            data::Example ex = dataset.get(i, 0, run.value("seed", uint64_t(0)));
            for (size_t v = 0; v < ex.tensors.size(); ++v)
                items.push_back({view_image(ex.tensors[v]),
                                 fmt::format("image {}, {} {}", i,
                                             v < size_t(views.global_views) ? "global" : "local",
                                             v)});
        }
        report.section("Views").montage(items, fmt::format("The {} crops of the first images "
                                                           "(epoch 0)", views.name),
                                        72);
    }
    eval::Table settings{{"field", "value"}, {}, "Every hyperparameter of the run (run.json "
                                                  "flags.config; ssl/config.h documents them)."};
    for (const auto& [key, value] : config.items())
        settings.rows.push_back({key, value.is_string() ? value.get<std::string>() : value.dump()});
    report.section("Configuration").table(settings);
    report.save(run_dir + "/report.html");
}

}  // namespace marrow::ssl
