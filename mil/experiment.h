// The MIL experiment of the SSL-MIL seed (000) and DinoBloom's ABMIL row (002), one encoder per
// row: the cross-validation of mil/cross_validation.h on that encoder's bags, what its
// attention says (per cell type, and the audit against the synthetic cohort's ground truth),
// a UMAP of its cell features coloured by cell type, then results.json and report.html with
// every row side by side (Table 1: F1 / ROC AUC / PR AUC / balanced accuracy as mean +- sd,
// confusion matrices, ROC curves, attention by cell type, the most attended cells per class).
//
//   mil::EncoderRow row = mil::evaluate_encoder("dino", fb.bags, fb.class_names, cv_options);
//   mil::analyze_cells(row, mil::read_cell_annotations(root / "cells.csv", row.bags));
//   mil::write_results(run_dir, rows);    // results.json
//   mil::write_report(run_dir, rows, {}); // report.html (with run.json's metadata)
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mil/bags.h"
#include "mil/cross_validation.h"

namespace marrow::mil {

struct EncoderRow {
    std::string encoder;
    std::vector<Bag> bags;
    MilCvResult cv;
    // From the cells' annotations (analyze_cells), over the first seed's test predictions
    // (every bag once):
    std::optional<AttentionAudit> audit;
    std::map<std::string, eval::MeanSd> attention_by_cell_type;
    // A UMAP of (a sample of) the cell features, coloured by cell type.
    std::vector<double> umap_x, umap_y;
    std::vector<int64_t> umap_labels;
    std::vector<std::string> umap_classes;
};

EncoderRow evaluate_encoder(const std::string& encoder, std::vector<Bag> bags,
                            const std::vector<std::string>& class_names,
                            const MilCvOptions& options, const CvProgress& progress = {});

// Attention per cell type, the attention audit (when some cells are diagnostic) and the UMAP
// of up to `umap_cells` cells (evenly spaced over the bags; 0: none).
void analyze_cells(EncoderRow& row, const CellAnnotations& cells, int64_t umap_cells = 3000,
                   uint64_t seed = 0);

// <path>: the per-cell attention table (write_attention_csv) of the row's first-seed test
// predictions, with occlusion and solitary probability when the CV ran with explain.
void write_attention(const std::filesystem::path& path, const EncoderRow& row);

// results.json: per encoder the CV summary and runs, the audit and attention per cell type.
nlohmann::json results_json(const std::vector<EncoderRow>& rows);
void write_results(const std::filesystem::path& run_dir, const std::vector<EncoderRow>& rows);

struct ReportOptions {
    std::string title = "Attention MIL on single-cell features";
    int top_k = 8;       // most attended cells shown per class (montage; 0: none)
    bool images = true;  // read the cells' images for the montages (instance_names are paths)
};
// report.html in run_dir (run.json, when there, gives the metadata).
void write_report(const std::filesystem::path& run_dir, const std::vector<EncoderRow>& rows,
                  const ReportOptions& options = {});

}  // namespace marrow::mil
