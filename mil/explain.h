// What a trained MIL model says about each instance (ssl_mil_spec.md 8.5), and the attention
// audit that the synthetic cohort's per-cell ground truth makes possible:
//   occlusion   logits(bag without cell i) - logits(bag), per class (SCEMILA's
//               sc_occlusion.py): how much the bag's score for a class drops without the cell;
//   solitary    the prediction for a bag of two copies of cell i (attention 1/2 each, so
//               z = h_i): what the model thinks of the cell alone;
//   audit       per patient, the ROC AUC of the attention (the head of the patient's class)
//               separating the diagnostic cells from the others; per class, their mean.
// Both per-cell quantities reuse the bag's embeddings H and attention scores (one instance
// network pass per bag): occlusion re-pools N bags of N - 1 cells with one (N K, N) x (N, M)
// product, solitary classifies H directly.
//
//   mil::CellExplanation e = mil::explain_bag(model, bag.instances);
//   e.occlusion;             // (N, classes)
//   e.solitary_probability;  // (N, classes)
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "eval/aggregate.h"
#include "mil/training.h"

namespace marrow::mil {

struct CellExplanation {
    Tensor occlusion;             // (N, classes); NaN when N = 1 (no bag without the cell)
    Tensor solitary_logits;       // (N, classes)
    Tensor solitary_probability;  // (N, classes), softmax of solitary_logits
};
// One bag (N, *instance), eval mode, no gradient; float64 results on the CPU.
CellExplanation explain_bag(MilModel& model, const Tensor& instances);

// The head of a bag's attention (heads, N) to read for class `c`: c for class-wise
// (multi-head) attention, the one head otherwise.
int64_t head_for_class(const Tensor& attention, int64_t c);

// The per-cell table, one row per (bag, cell, head): patient, cell (instance name or index),
// label, predicted, head (a class name for class-wise heads, "bag" for a single head),
// attention_raw, attention, relative_attention (attention x N: 1 = uniform), and, when
// `explanations` is given, occlusion and solitary_probability of the head's class (single
// head: the predicted class). Written to a temp file and renamed.
void write_attention_csv(const std::filesystem::path& path, const std::vector<Bag>& bags,
                         const std::vector<BagPrediction>& preds,
                         const std::vector<std::string>& class_names,
                         const std::vector<CellExplanation>* explanations = nullptr);

// Relative attention (x N, read in the head of each bag's true class) averaged per cell type
// over every cell of every bag; cell_types[b][i] names cell i of bag b.
std::map<std::string, eval::MeanSd> attention_by_cell_type(
    const std::vector<BagPrediction>& preds,
    const std::vector<std::vector<std::string>>& cell_types);

struct AuditPatient {
    std::string patient;
    int64_t label = -1;
    int64_t diagnostic = 0, other = 0;  // cells of each kind
    double auc = 0;                     // NaN without both kinds
};
struct AttentionAudit {
    std::vector<AuditPatient> patients;
    std::vector<eval::MeanSd> per_class;  // mean AUC of each class's patients (NaN skipped)
    eval::MeanSd overall;                 // over every patient with both kinds of cell
    nlohmann::json to_json(const std::vector<std::string>& class_names) const;
};
// diagnostic[b][i]: whether cell i of bag b carries its class's diagnostic morphology;
// `classes` sizes per_class.
AttentionAudit attention_audit(const std::vector<BagPrediction>& preds,
                               const std::vector<std::vector<bool>>& diagnostic, int64_t classes);

}  // namespace marrow::mil
