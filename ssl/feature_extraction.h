// Feature extraction: a frozen encoder over a dataset in any layout data/ reads -> one
// safetensors file in the format eval/feature_io.h reads (the logic of apps/extract_features).
//
//   ssl::ImageSource src = ssl::open_image_source("runs/synth", "auto");
//   Tensor feats = ssl::extract_features(*encoder, src, {.batch_size = 64, .tta = true});
//   ssl::save_features("features.safetensors", src, feats, {.per_bag = true});
//
// The features file (a superset of eval/feature_io.h's):
//   "features"   (N, D) float32: one row per image, in the source's order (a bag layout: the
//                patients in order, each patient's cells in file order)
//   "labels"     (N) int64: the image's class (a bag layout: its patient's diagnosis); absent
//                when nothing is labelled; -1 marks an unlabelled row otherwise
//   "split"      (N) int64, 0 train / 1 test, when the layout has a fixed split (MNIST)
//   metadata "class_names" (JSON list), "paths" (JSON list, one per row; MNIST rows are
//                "<images file>#<index>"), "encoder" (the encoder's spec and provenance, JSON),
//                "layout" (the data layout read).
// Per patient bag (--per-bag; what attention MIL consumes), in addition:
//   "bag_offsets" (P + 1) int64: bag p is rows [bag_offsets[p], bag_offsets[p + 1]) of
//                 "features" (so bag p's instances are features[off[p]:off[p+1]], (n_p, D))
//   "bag_labels"  (P) int64: each bag's class, an index into bag_class_names (-1: unlabelled)
//   metadata "bag_ids" (JSON list of P patient ids), "bag_class_names" (JSON list; the same
//                 as class_names unless the rows were relabelled per cell, --cell-labels).
// Without --per-bag a bag layout is flattened to cells and the bag entries are left out.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ssl/encoder.h"
#include "ssl/monitors.h"
#include "tensor/tensor.h"

namespace marrow::ssl {

// The images of a dataset, flattened, with what the features file records about them.
struct ImageSource {
    std::string layout;                // the layout read (see open_image_source)
    std::vector<std::string> classes;  // class names
    std::vector<std::string> paths;    // one per image
    std::vector<int64_t> labels;       // one per image, -1 unlabelled
    std::vector<int64_t> split;        // empty, or 0 train / 1 test per image
    std::optional<Tensor> pixels;      // MNIST: (N, 28, 28) uint8; otherwise files are read
    // Bag layouts only: patient ids, their labels and row offsets (P + 1).
    std::vector<std::string> bag_ids;
    std::vector<int64_t> bag_labels, bag_offsets;
    std::vector<std::string> bag_classes;  // what bag_labels index (the diagnoses)
    std::vector<std::string> files;        // the files to fingerprint in the run record
    std::vector<std::string> warnings;     // the reader's (a metadata row without images, ...)
    int64_t size() const { return int64_t(paths.size()); }
    bool has_bags() const { return !bag_offsets.empty(); }
};

// Layouts: aml_hehr (<root>/data/<label>/<patient>/*.tif + metadata.csv; the synthetic
// cohort), lymphocytosis (<root>/trainset/<ID>/*.jpg + CSV), folders (<root>/<class>/<image>,
// e.g. Matek-19), acevedo, raabin (<root>/Train/...), bmc, list (a text file, `path [label]`
// per line), mnist (an MNIST-layout folder: train then t10k, with the split). "auto": a file
// is a list; a folder with data/ is aml_hehr, with trainset/ lymphocytosis, with
// train-images-idx3-ubyte[.gz] mnist; any other folder is class folders.
ImageSource open_image_source(const std::string& path, const std::string& layout = "auto");
// Image `index` of a source as f32 (C, H, W) in [0, 1] (C = 1 for MNIST pixels and gray
// files); an unreadable file throws data::BadFile naming it.
Tensor source_image(const ImageSource& source, int64_t index);
const std::vector<std::string>& image_layouts();

// Replaces the images' labels by a per-cell column of a CSV with columns patient_id, file and
// `column` (the synthetic cohort's cells.csv: cell_type, morphology, diagnostic, site): a row
// matches an image whose parent folder is patient_id and whose file name is file. The classes
// become the column's sorted values; the bags keep their diagnoses (bag_classes). An image
// without a row is an Error naming it.
void relabel_cells(ImageSource& source, const std::string& csv_path, const std::string& column);

// Keeps the first `n` training images and every test image of a source with a fixed split
// (MNIST: a quick run on a subset, as evaluate --mnist-train), else the first `n` images. The
// bag entries are dropped when that cuts a bag layout.
void limit_images(ImageSource& source, int64_t n);

struct ExtractOptions {
    int64_t batch_size = 64;
    // Images are resized to image_size x image_size (0: the encoder spec's image_size; a spec
    // with 0 keeps the images' size, which must then agree within a batch).
    int64_t image_size = 0;
    // Test-time augmentation: the encoder's features averaged over the image, its horizontal
    // flip and its vertical flip (cells have no up or down).
    bool tta = false;
    int workers = 2;  // decoding threads
};

// Features (N, D) float32 on the CPU of every image of `source`, in order: the encoder in eval
// mode (BN running statistics, no drop path; the caller's mode is restored after) under
// no_grad, batch by batch. Images are read as RGB (as the loader does), converted to the
// encoder's channels (torchvision's gray for 1 channel), resized and normalized with the
// spec's mean/std. `progress(done, total)` after each batch.
Tensor extract_features(Encoder& encoder, const ImageSource& source, const ExtractOptions& options,
                        const std::function<void(int64_t, int64_t)>& progress = {});

// The kNN monitor on a labelled subset (monitors.h): the encoder's features of `source`
// (train/eval mode restored after), k-NN accuracy on its fixed split when it has one (MNIST),
// else on every 5th image held out.
double knn_monitor(Encoder& encoder, const ImageSource& source, const KnnMonitorOptions& knn = {},
                   const ExtractOptions& extract = {});

struct SaveFeaturesOptions {
    bool per_bag = false;              // write the bag entries (an Error for a layout without bags)
    nlohmann::json encoder_info = {};  // the "encoder" metadata (spec, method, run id, ...)
};
// Writes the features file above (temp file + rename).
void save_features(const std::string& path, const ImageSource& source, const Tensor& features,
                   const SaveFeaturesOptions& options);

}  // namespace marrow::ssl
