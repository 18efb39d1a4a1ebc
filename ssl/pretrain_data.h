// The images a pre-training run reads, as the loader's datasets: every layout
// ssl/feature_extraction.h opens (cell folders, path lists, AML Hehr / lymphocytosis bags
// flattened to cells, the synthetic cohort, Fashion-MNIST), each image turned into the
// method's crops (data/transforms.h multi_crop; gray images are replicated to RGB first).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "data/loader.h"
#include "data/transforms.h"
#include "ssl/feature_extraction.h"

namespace marrow::ssl {

// One example per image of `source` (labels kept for the loader, never used by the loss):
// tensors = its views, each (3, S_v, S_v), keyed by (seed, epoch, index) like every loader
// dataset, so a resumed run sees the same crops. `source` must outlive the dataset.
class ViewsDataset : public data::Dataset {
public:
    ViewsDataset(const ImageSource& source, data::MultiCropSpec spec);
    int64_t size() const override { return source_.size(); }
    int64_t label(int64_t index) const override { return source_.labels[size_t(index)]; }
    data::Example get(int64_t index, uint64_t epoch, uint64_t seed) const override;

private:
    const ImageSource& source_;
    data::MultiCropSpec spec_;
};

// The images a pre-training run learns from: a source with a fixed split (MNIST) keeps its
// training images only, so the test images stay unseen until evaluation; others are
// returned as they are.
ImageSource training_images(const ImageSource& source);

// The images `rows` of `source` (in that order) as a source of their own: paths, labels,
// split and MNIST pixels; the bag entries are dropped. A row out of range is an Error.
ImageSource select_images(const ImageSource& source, const std::vector<int64_t>& rows);

// At most `n` labelled images of `source` drawn without replacement (seeded), in their
// original order, as a source of their own (the kNN monitor's set). Bags are dropped.
ImageSource labelled_subset(const ImageSource& source, int64_t n, uint64_t seed);

}  // namespace marrow::ssl
