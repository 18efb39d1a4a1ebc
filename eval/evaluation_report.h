// What an evaluation run leaves in its run directory (users_and_data.md section 4.2):
//   results.json            per method: every metric's mean, sd and n over folds x repeats,
//                           each fold's values, and 95% bootstrap intervals of accuracy,
//                           balanced accuracy and macro F1 on the pooled test predictions
//   predictions_<m>.csv     the pooled test predictions of repeat 0: row, true, predicted,
//                           one probability per class
//   figures/*.svg           each figure of the report, standalone
//   report.html             results table, bootstrap intervals, confusion matrices, ROC and PR curves per class,
//                           per-class F1, PCA and UMAP scatter plots of the features coloured
//                           by class, and (when images are known) the most confident errors
//
//   eval::ProtocolResult r = eval::run_protocol(data, options);
//   eval::write_evaluation(run_dir, r, data, run_json);
//   std::puts(eval::summary_table(r).c_str());
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "eval/protocol.h"

namespace marrow::eval {

struct EvaluationReportOptions {
    int64_t embedding_points = 5000;  // rows (drawn at random) in the PCA / UMAP plots; 0: none
    bool umap = true;                 // also a UMAP (else PCA only)
    int64_t montage_size = 24;        // most confident errors shown, when images are known
    uint64_t seed = 0;                // the subsample and the UMAP
};

// Writes results.json, predictions CSVs, figures and report.html into run_dir (each written
// to a temporary file and renamed). run_json: the run's record (its flags, versions, data),
// shown as the report's metadata.
void write_evaluation(const std::filesystem::path& run_dir, const ProtocolResult& result,
                      const LabelledFeatures& data, const nlohmann::json& run_json,
                      const EvaluationReportOptions& options = {});

// The results as a text table (methods x headline metrics, mean ± sd) for the terminal.
std::string summary_table(const ProtocolResult& result);

}  // namespace marrow::eval
