// Bags of instance features for MIL, from the features file extract_features writes with
// --per-bag (ssl/feature_extraction.h: "features", "bag_offsets", "bag_labels", metadata
// bag_ids, bag_class_names, paths), and the per-cell ground truth of the synthetic cohort
// (<root>/cells.csv: patient_id, file, cell_type, diagnostic), matched to the bags' cells by
// patient folder and file name.
//
//   mil::FeatureBags fb = mil::load_feature_bags("runs/x/features.safetensors");
//   mil::CellAnnotations cells = mil::read_cell_annotations("runs/synth/cells.csv", fb.bags);
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mil/training.h"
#include "ssl/feature_extraction.h"

namespace marrow::mil {

struct FeatureBags {
    std::vector<Bag> bags;                 // in the file's order; instance_names = cell paths
    std::vector<std::string> class_names;  // what the bags' labels index
    nlohmann::json encoder;                // the file's "encoder" metadata (or null)
    std::string path;
};
// Unlabelled bags (label -1) are dropped (`dropped` says how many). Errors name the file and
// what is missing or inconsistent (a file written without --per-bag, offsets out of range).
FeatureBags load_feature_bags(const std::filesystem::path& path, int64_t* dropped = nullptr);

// SCEMILA's feature layout (its ml_pipeline reads nothing else): one NumPy file per patient,
// <root>/data/<label>/<patient>/<prefix>bn_features_layer_7.npy of shape (N, 512, 5, 5)
// (or any (N, ...) float array), the classes being the label folders in sorted order. Row i
// is the cell image <patient>/NNN.TIF with NNN = i zero-padded to 3 digits (SCEMILA's
// generate_tiffname), which names the instances. Patient folders without the file are
// skipped (`dropped` says how many); none at all is an Error naming the expected path.
FeatureBags load_scemila_features(const std::filesystem::path& root,
                                  const std::string& prefix = "fnl34_", int64_t* dropped = nullptr);

// The bags of a bag-layout source (ssl::ImageSource with bag entries) from its features (N, D)
// in the source's row order (ssl::extract_features); unlabelled bags are dropped.
FeatureBags bags_from_source(const ssl::ImageSource& source, const Tensor& features);

struct CellAnnotations {
    std::vector<std::vector<std::string>> cell_type;  // [bag][cell]
    std::vector<std::vector<bool>> diagnostic;        // [bag][cell]
};
// An Error naming the first cell without a row (a cells.csv of another cohort).
CellAnnotations read_cell_annotations(const std::filesystem::path& cells_csv,
                                      const std::vector<Bag>& bags);

}  // namespace marrow::mil
