#include "ssl/pretrain_data.h"

#include <algorithm>
#include <numeric>

#include "tensor/error.h"
#include "tensor/factory.h"
#include "tensor/random.h"

namespace marrow::ssl {

ViewsDataset::ViewsDataset(const ImageSource& source, data::MultiCropSpec spec)
    : source_(source), spec_(std::move(spec)) {
    MARROW_CHECK(source_.size() > 0, "SSL pre-training: no images in the {} source",
                 source_.layout);
}

data::Example ViewsDataset::get(int64_t index, uint64_t epoch, uint64_t seed) const {
    Tensor image = source_image(source_, index);  // f32 (C, H, W) in [0, 1]
    if (image.size(0) == 1) image = image.expand({3, image.size(1), image.size(2)}).contiguous();
    data::Example example;
    example.tensors = data::multi_crop(image, spec_, seed, epoch, uint64_t(index));
    example.label = source_.labels[size_t(index)];
    example.index = index;
    return example;
}

ImageSource select_images(const ImageSource& source, const std::vector<int64_t>& rows) {
    ImageSource out;
    out.layout = source.layout;
    out.classes = source.classes;
    out.files = source.files;
    for (int64_t i : rows) {
        MARROW_CHECK(i >= 0 && i < source.size(), "select_images: row {} of a source of {} images",
                     i, source.size());
        out.paths.push_back(source.paths[size_t(i)]);
        out.labels.push_back(source.labels[size_t(i)]);
        if (!source.split.empty()) out.split.push_back(source.split[size_t(i)]);
    }
    if (source.pixels) out.pixels = index_select(*source.pixels, 0, from_vector(rows));
    return out;
}

ImageSource training_images(const ImageSource& source) {
    if (source.split.empty()) return source;
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < source.size(); ++i)
        if (source.split[size_t(i)] == 0) keep.push_back(i);
    ImageSource out = select_images(source, keep);
    out.split.clear();  // all training images now
    return out;
}

ImageSource labelled_subset(const ImageSource& source, int64_t n, uint64_t seed) {
    std::vector<int64_t> labelled;
    for (int64_t i = 0; i < source.size(); ++i)
        if (source.labels[size_t(i)] >= 0) labelled.push_back(i);
    if (int64_t(labelled.size()) > n) {
        // A seeded permutation's first n, then back to file order.
        Generator gen(seed);
        Tensor perm = randperm(int64_t(labelled.size()), gen);
        const auto* order = perm.data<int64_t>();
        std::vector<int64_t> picked;
        for (int64_t i = 0; i < n; ++i) picked.push_back(labelled[size_t(order[i])]);
        labelled = picked;
        std::sort(labelled.begin(), labelled.end());
    }
    return select_images(source, labelled);
}

}  // namespace marrow::ssl
