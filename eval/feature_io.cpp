// Loading labelled features; see feature_io.h.
#include "eval/feature_io.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "data/csv.h"
#include "data/mnist.h"
#include "eval/metrics.h"
#include "tensor/safetensors.h"

namespace marrow::eval {

namespace {

bool parse_index(const std::string& s, int64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && out >= 0;
}

// Class names "0" .. "C-1" for integer labels without names.
std::vector<std::string> index_names(const std::vector<int64_t>& labels) {
    int64_t c = labels.empty() ? 0 : 1 + *std::max_element(labels.begin(), labels.end());
    std::vector<std::string> names;
    for (int64_t i = 0; i < c; ++i) names.push_back(std::to_string(i));
    return names;
}

void read_csv_labels(const std::string& path, int64_t n, LabelledFeatures& d) {
    data::CsvTable t = data::read_csv(path);
    MARROW_CHECK(int64_t(t.rows.size()) == n,
                 "{}: {} label rows but the features have {} rows", path, t.rows.size(), n);
    size_t col = t.column("label");
    std::vector<std::string> values;
    for (const auto& row : t.rows) values.push_back(row[col]);
    std::vector<int64_t> indices(values.size());
    bool numeric = std::all_of(values.begin(), values.end(), [&, i = size_t(0)](const std::string& v) mutable {
        return parse_index(v, indices[i++]);
    });
    if (numeric) {
        d.labels = indices;
        if (d.class_names.empty() ||
            int64_t(d.class_names.size()) <= *std::max_element(indices.begin(), indices.end()))
            d.class_names = index_names(indices);
    } else {  // class names, in sorted order
        d.class_names = values;
        std::sort(d.class_names.begin(), d.class_names.end());
        d.class_names.erase(std::unique(d.class_names.begin(), d.class_names.end()),
                            d.class_names.end());
        d.labels.clear();
        for (const std::string& v : values)
            d.labels.push_back(std::lower_bound(d.class_names.begin(), d.class_names.end(), v) -
                               d.class_names.begin());
    }
    if (t.has_column("group")) {
        size_t g = t.column("group");
        d.groups.clear();
        for (const auto& row : t.rows) d.groups.push_back(row[g]);
    }
    if (t.has_column("split")) {
        size_t s = t.column("split");
        d.split.clear();
        for (size_t i = 0; i < t.rows.size(); ++i) {
            const std::string& v = t.rows[i][s];
            MARROW_CHECK(v == "train" || v == "test",
                         "{}: row {}: split must be \"train\" or \"test\", got \"{}\"", path,
                         i + 2, v);
            d.split.push_back(v == "test");
        }
    }
}

}  // namespace

LabelledFeatures load_labelled_features(const std::string& features_path,
                                        const std::string& labels_csv) {
    SafetensorsFile file = load_safetensors(features_path);
    auto find = [&](const char* key) -> const Tensor* {
        auto it = file.tensors.find(key);
        return it == file.tensors.end() ? nullptr : &it->second;
    };
    const Tensor* features = find("features");
    MARROW_CHECK(features, "{}: no \"features\" tensor (it has {} tensors)", features_path,
                 file.tensors.size());
    LabelledFeatures d{*features, {}, {}, {}, {}, std::nullopt};
    MARROW_CHECK(features->dim() == 2 && is_floating(features->dtype()),
                 "{}: \"features\" must be (N, F) floating, got {} of shape {}", features_path,
                 features->dtype(), features->shape());
    int64_t n = features->size(0);
    if (auto it = file.metadata.find("class_names"); it != file.metadata.end()) {
        nlohmann::json names = nlohmann::json::parse(it->second, nullptr, false);
        MARROW_CHECK(names.is_array(), "{}: metadata class_names must be a JSON list",
                     features_path);
        for (const auto& name : names) d.class_names.push_back(name.is_string() ? name.get<std::string>() : name.dump());
    }
    if (const Tensor* labels = find("labels")) {
        MARROW_CHECK(labels->dim() == 1 && labels->dtype() == DType::i64,
                     "{}: \"labels\" must be (N) int64, got {} of shape {}", features_path,
                     labels->dtype(), labels->shape());
        MARROW_CHECK(labels->size(0) == n, "{}: {} feature rows but {} labels", features_path,
                     n, labels->size(0));
        d.labels = labels_to_vector(*labels, "labels");
        for (int64_t l : d.labels)
            MARROW_CHECK(l >= 0, "{}: negative label {}", features_path, l);
        if (d.class_names.empty() ||
            int64_t(d.class_names.size()) <= *std::max_element(d.labels.begin(), d.labels.end()))
            d.class_names = index_names(d.labels);
    }
    if (const Tensor* split = find("split")) {
        std::vector<int64_t> s = labels_to_vector(*split, "split");
        MARROW_CHECK(int64_t(s.size()) == n, "{}: {} feature rows but {} split entries",
                     features_path, n, s.size());
        for (int64_t v : s) {
            MARROW_CHECK(v == 0 || v == 1, "{}: split values must be 0 (train) or 1 (test), got {}",
                         features_path, v);
            d.split.push_back(int(v));
        }
    }
    if (const Tensor* images = find("images")) {
        MARROW_CHECK(images->dtype() == DType::u8 && images->size(0) == n &&
                         (images->dim() == 3 || (images->dim() == 4 && images->size(1) == 3)),
                     "{}: \"images\" must be (N, H, W) or (N, 3, H, W) uint8 with N = {}, got {} "
                     "of shape {}",
                     features_path, n, images->dtype(), images->shape());
        d.images = *images;
    }
    // A per-bag file (ssl/feature_extraction.h): a row's group is its bag's id, so folds keep
    // a patient's cells together.
    if (const Tensor* offsets = find("bag_offsets")) {
        auto it = file.metadata.find("bag_ids");
        nlohmann::json ids = it == file.metadata.end()
                                 ? nlohmann::json()
                                 : nlohmann::json::parse(it->second, nullptr, false);
        std::vector<int64_t> off = labels_to_vector(*offsets, "bag_offsets");
        MARROW_CHECK(ids.is_array() && off.size() == ids.size() + 1 && off.front() == 0 &&
                         off.back() == n && std::is_sorted(off.begin(), off.end()),
                     "{}: \"bag_offsets\" must run from 0 to {} rows, one more than the "
                     "metadata bag_ids",
                     features_path, n);
        d.groups.clear();
        for (size_t p = 0; p + 1 < off.size(); ++p)
            for (int64_t r = off[p]; r < off[p + 1]; ++r)
                d.groups.push_back(ids[p].is_string() ? ids[p].get<std::string>() : ids[p].dump());
    }
    d.files.push_back(features_path);
    if (!labels_csv.empty()) {
        read_csv_labels(labels_csv, n, d);
        d.files.push_back(labels_csv);
    }
    MARROW_CHECK(!d.labels.empty(), "{}: no labels: the file has no \"labels\" tensor and no "
                 "labels CSV was given", features_path);
    return d;
}

LabelledFeatures load_mnist_pixels(const std::string& dir, int64_t max_train, bool fashion) {
    data::MnistSplit train = data::load_mnist_split(dir, "train");
    data::MnistSplit test = data::load_mnist_split(dir, "t10k");
    int64_t n_train = max_train < 0 ? train.images.size(0)
                                    : std::min(max_train, train.images.size(0));
    int64_t n_test = test.images.size(0);
    Tensor images = cat({train.images.narrow(0, 0, n_train), test.images}, 0);
    Tensor labels = cat({train.labels.narrow(0, 0, n_train), test.labels}, 0);
    LabelledFeatures d{contiguous(to(images.reshape({n_train + n_test, -1}), DType::f32) / 255.0),
                       {}, {}, {}, {}, std::nullopt};
    d.labels = labels_to_vector(contiguous(labels), "labels");
    d.class_names = fashion ? std::vector<std::string>{"T-shirt/top", "Trouser", "Pullover",
                                                        "Dress", "Coat", "Sandal", "Shirt",
                                                        "Sneaker", "Bag", "Ankle boot"}
                            : index_names(d.labels);
    d.split.assign(size_t(n_train), 0);
    d.split.resize(size_t(n_train + n_test), 1);
    d.images = contiguous(images);
    d.files = train.files;
    d.files.insert(d.files.end(), test.files.begin(), test.files.end());
    return d;
}

}  // namespace marrow::eval
