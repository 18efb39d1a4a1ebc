// Labelled features for the evaluation protocols, from files: a safetensors file of features
// (what a feature-extraction app writes) with labels in it or in a CSV manifest, or the
// pixels of an MNIST-layout dataset as a baseline.
//
// features.safetensors: "features" (N, F) floating; optional "labels" (N) int64, "split" (N)
// int64 (0 train, 1 test), "images" (N, H, W) or (N, 3, H, W) uint8 thumbnails for montages;
// optional metadata "class_names" (a JSON list). A per-bag file (ssl/feature_extraction.h:
// "bag_offsets" (P + 1) int64 and metadata "bag_ids") gives each row its bag as its group.
// labels.csv (overrides the file's labels): a header row and one row per feature row, in the
// same order: "label" (a class name, or a class index when every value is an integer), and
// optionally "group" (a patient id: folds keep a patient's rows together) and "split"
// ("train" / "test").
#pragma once
#include <cstdint>
#include <string>

#include "eval/protocol.h"

namespace marrow::eval {

LabelledFeatures load_labelled_features(const std::string& features_path,
                                        const std::string& labels_csv = "");

// Pixels / 255 of <dir>/train and <dir>/t10k (at most max_train training images, the first
// ones) with the fixed split, the images for montages, and Fashion-MNIST's class names when
// `fashion` (else the digits).
LabelledFeatures load_mnist_pixels(const std::string& dir, int64_t max_train = -1,
                                   bool fashion = true);

}  // namespace marrow::eval
