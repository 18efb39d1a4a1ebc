// Feature extraction; see feature_extraction.h for the file format.
#include "ssl/feature_extraction.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "data/csv.h"
#include "data/datasets.h"
#include "data/functional.h"
#include "data/image.h"
#include "data/loader.h"
#include "data/mnist.h"
#include "eval/metrics.h"
#include "nn/state_dict.h"
#include "tensor/factory.h"

namespace marrow::ssl {

namespace fs = std::filesystem;

namespace {

void add_cells(ImageSource& s, const data::CellDataset& ds) {
    s.classes = ds.classes;
    for (const data::CellSample& c : ds.samples) {
        s.paths.push_back(c.path.string());
        s.labels.push_back(c.label);
    }
    s.files = s.paths;
}

void add_bags(ImageSource& s, const data::BagDataset& ds) {
    s.classes = s.bag_classes = ds.classes;
    s.warnings = ds.warnings;
    s.bag_offsets.push_back(0);
    for (const data::Patient& p : ds.patients) {
        s.bag_ids.push_back(p.id);
        s.bag_labels.push_back(p.label);
        for (const fs::path& img : p.images) {
            s.paths.push_back(img.string());
            s.labels.push_back(p.label);
        }
        s.bag_offsets.push_back(int64_t(s.paths.size()));
    }
    s.files = s.paths;
}

bool has_idx(const fs::path& dir) {
    return fs::exists(dir / "train-images-idx3-ubyte") ||
           fs::exists(dir / "train-images-idx3-ubyte.gz");
}

std::string detect_layout(const fs::path& p) {
    if (fs::is_regular_file(p)) return "list";
    MARROW_CHECK(fs::is_directory(p), "extract: the data path {} does not exist", p.string());
    if (fs::is_directory(p / "data")) return "aml_hehr";
    if (fs::is_directory(p / "trainset")) return "lymphocytosis";
    if (has_idx(p)) return "mnist";
    return "folders";
}

// The images of `source` as the encoder's input tensors (C, S, S).
class SourceDataset : public data::Dataset {
public:
    SourceDataset(const ImageSource& source, const EncoderSpec& spec, int64_t size)
        : source_(source),
          channels_(spec.in_channels),
          size_(size),
          mean_(per_channel(spec.norm_mean())),
          std_(per_channel(spec.norm_std())) {}
    int64_t size() const override { return source_.size(); }
    int64_t label(int64_t index) const override { return source_.labels[size_t(index)]; }
    data::Example get(int64_t index, uint64_t, uint64_t) const override {
        Tensor img = load(index);  // f32 (c, H, W) in [0, 1]
        if (img.size(0) != channels_) {
            if (channels_ == 1 && img.size(0) == 3)
                img = data::rgb_to_grayscale(img, 1);
            else if (img.size(0) == 1)
                img = img.expand({channels_, img.size(1), img.size(2)}).contiguous();
            else
                fail("extract: {} has {} channels, the encoder takes {}",
                     source_.paths[size_t(index)], img.size(0), channels_);
        }
        if (size_ > 0 && (img.size(1) != size_ || img.size(2) != size_))
            img = data::resize(img, size_, size_);
        return {{(img - mean_) / std_}, label(index), index, {}};
    }

private:
    static Tensor per_channel(const std::vector<double>& v) {
        std::vector<float> f(v.begin(), v.end());
        return from_vector(f, {int64_t(f.size()), 1, 1});
    }
    Tensor load(int64_t index) const { return source_image(source_, index); }
    const ImageSource& source_;
    int64_t channels_, size_;
    Tensor mean_, std_;
};

}  // namespace

Tensor source_image(const ImageSource& source, int64_t index) {
    if (source.pixels)
        return source.pixels->narrow(0, index, 1).to(DType::f32) / 255.0;  // (1, H, W)
    const std::string& path = source.paths[size_t(index)];
    try {
        return data::image_to_tensor(data::read_image(path));
    } catch (const Error& e) {
        throw data::BadFile(e.what());  // read_image names the path
    }
}

const std::vector<std::string>& image_layouts() {
    static const std::vector<std::string> l = {"auto",    "aml_hehr", "lymphocytosis",
                                               "folders", "acevedo",  "raabin",
                                               "bmc",     "list",     "mnist"};
    return l;
}

ImageSource open_image_source(const std::string& path, const std::string& layout) {
    const auto& known = image_layouts();
    MARROW_CHECK(std::find(known.begin(), known.end(), layout) != known.end(),
                 "extract: unknown data layout \"{}\" (known: {})", layout, fmt::join(known, ", "));
    ImageSource s;
    s.layout = layout == "auto" ? detect_layout(path) : layout;
    const std::string& l = s.layout;
    if (l == "aml_hehr") {
        add_bags(s, data::read_aml_hehr(path));
    } else if (l == "lymphocytosis") {
        add_bags(s, data::read_lymphocytosis(path));
    } else if (l == "folders") {
        add_cells(s, data::read_matek19(path));  // class folders, one level (its reader)
    } else if (l == "acevedo") {
        add_cells(s, data::read_acevedo(path));
    } else if (l == "raabin") {
        add_cells(s, data::read_raabin(path, "Train"));
    } else if (l == "bmc") {
        add_cells(s, data::read_bmc(path));
    } else if (l == "list") {
        add_cells(s, data::read_path_list(path));
        s.files.push_back(path);
    } else {  // mnist: train then test, with the fixed split
        data::MnistSplit train = data::load_mnist_split(path, "train");
        data::MnistSplit test = data::load_mnist_split(path, "t10k");
        s.pixels = cat({train.images, test.images}, 0);
        for (const auto* part : {&train, &test}) {
            std::vector<int64_t> y = eval::labels_to_vector(part->labels, "mnist labels");
            for (size_t i = 0; i < y.size(); ++i) {
                s.paths.push_back(fmt::format("{}#{}", part->files.at(0), i));
                s.labels.push_back(y[i]);
                s.split.push_back(part == &test);
            }
            s.files.insert(s.files.end(), part->files.begin(), part->files.end());
        }
        for (int c = 0; c < 10; ++c) s.classes.push_back(std::to_string(c));
    }
    MARROW_CHECK(s.size() > 0, "extract: no images in {} ({} layout)", path, l);
    return s;
}

void relabel_cells(ImageSource& source, const std::string& csv_path, const std::string& column) {
    data::CsvTable t = data::read_csv(csv_path);
    size_t pc = t.column("patient_id"), fc = t.column("file"), vc = t.column(column);
    std::map<std::string, std::string> value;  // "patient/file" -> the column's value
    for (const auto& row : t.rows) value[row[pc] + "/" + row[fc]] = row[vc];
    std::vector<std::string> values;
    for (const std::string& path : source.paths) {
        fs::path p(path);
        std::string key = p.parent_path().filename().string() + "/" + p.filename().string();
        auto it = value.find(key);
        MARROW_CHECK(it != value.end(), "{}: no row for image {} (patient_id {}, file {})",
                     csv_path, path, p.parent_path().filename().string(), p.filename().string());
        values.push_back(it->second);
    }
    source.classes = values;
    std::sort(source.classes.begin(), source.classes.end());
    source.classes.erase(std::unique(source.classes.begin(), source.classes.end()),
                         source.classes.end());
    for (size_t i = 0; i < values.size(); ++i)
        source.labels[i] =
            std::lower_bound(source.classes.begin(), source.classes.end(), values[i]) -
            source.classes.begin();
    source.files.push_back(csv_path);
}

void limit_images(ImageSource& s, int64_t n) {
    MARROW_CHECK(n >= 0, "limit_images: n must be >= 0, got {}", n);
    std::vector<int64_t> keep;
    int64_t train = 0;
    for (int64_t i = 0; i < s.size(); ++i) {
        bool is_test = !s.split.empty() && s.split[size_t(i)] == 1;
        if (is_test || train++ < n) keep.push_back(i);
    }
    if (int64_t(keep.size()) == s.size()) return;
    size_t n_before = std::min(s.files.size(), s.paths.size());  // files = paths + extras
    auto pick = [&](auto& v) {
        std::remove_reference_t<decltype(v)> out;
        for (int64_t i : keep) out.push_back(v[size_t(i)]);
        v = std::move(out);
    };
    pick(s.paths);
    pick(s.labels);
    if (!s.split.empty()) pick(s.split);
    if (s.pixels) s.pixels = index_select(*s.pixels, 0, from_vector(keep, {int64_t(keep.size())}));
    if (!s.pixels) {  // the images read, then what came after them (a list file)
        std::vector<std::string> files = s.paths;
        files.insert(files.end(), s.files.begin() + std::ptrdiff_t(n_before), s.files.end());
        s.files = std::move(files);
    }
    s.bag_ids.clear();
    s.bag_labels.clear();
    s.bag_offsets.clear();
}

Tensor extract_features(Encoder& encoder, const ImageSource& source, const ExtractOptions& options,
                        const std::function<void(int64_t, int64_t)>& progress) {
    MARROW_CHECK(options.batch_size >= 1, "extract: batch size must be >= 1, got {}",
                 options.batch_size);
    int64_t size = options.image_size > 0 ? options.image_size : encoder.spec().image_size;
    SourceDataset dataset(source, encoder.spec(), size);
    data::Loader loader(dataset, {.batch_size = options.batch_size,
                                  .sampling = data::Sampling::sequential,
                                  .workers = options.workers});
    // Eval mode for the pass (BN running statistics), the caller's mode restored after (a
    // trainer's per-epoch kNN monitor calls this between training steps).
    struct ModeGuard {
        nn::Module& m;
        bool was = m.is_training();
        ~ModeGuard() { m.train(was); }
    } mode{encoder.module()};
    encoder.module().eval();
    autograd::NoGradGuard no_grad;
    std::vector<Tensor> parts;
    int64_t done = 0, total = source.size();
    if (progress) progress(0, total);
    loader.start_epoch(0);
    while (auto batch = loader.next()) {
        const Tensor& x = batch->tensors.at(0);  // (B, C, S, S)
        Tensor f = encoder.forward(x);
        if (options.tta) {
            f = f + encoder.forward(flip(x, {3}).contiguous());  // horizontal flip
            f = f + encoder.forward(flip(x, {2}).contiguous());  // vertical flip
            f = f / 3.0;
        }
        parts.push_back(f.to(Device::cpu(), DType::f32));
        done += x.size(0);
        if (progress) progress(done, total);
    }
    return cat(parts, 0).contiguous();
}

void save_features(const std::string& path, const ImageSource& source, const Tensor& features,
                   const SaveFeaturesOptions& options) {
    MARROW_CHECK(features.dim() == 2 && features.size(0) == source.size(),
                 "save_features {}: features {} do not match the {} images", path, features.shape(),
                 source.size());
    MARROW_CHECK(!options.per_bag || source.has_bags(),
                 "save_features {}: --per-bag needs a layout with patient bags (aml_hehr, "
                 "lymphocytosis); {} has none",
                 path, source.layout);
    nn::StateDict sd;
    sd.insert("features", features.to(DType::f32).contiguous());
    int64_t n = source.size();
    bool labelled =
        std::any_of(source.labels.begin(), source.labels.end(), [](int64_t l) { return l >= 0; });
    if (labelled) sd.insert("labels", from_vector(source.labels, {n}));
    if (!source.split.empty()) sd.insert("split", from_vector(source.split, {n}));
    std::map<std::string, std::string> meta = {
        {"class_names", nlohmann::json(source.classes).dump()},
        {"paths", nlohmann::json(source.paths).dump()},
        {"layout", source.layout},
        {"encoder", options.encoder_info.dump()}};
    if (options.per_bag) {
        int64_t p = int64_t(source.bag_ids.size());
        sd.insert("bag_offsets", from_vector(source.bag_offsets, {p + 1}));
        sd.insert("bag_labels", from_vector(source.bag_labels, {p}));
        meta["bag_ids"] = nlohmann::json(source.bag_ids).dump();
        meta["bag_class_names"] = nlohmann::json(source.bag_classes).dump();
    }
    nn::save_state_dict_file(path, sd, meta);
}

}  // namespace marrow::ssl

namespace marrow::ssl {

double knn_monitor(Encoder& encoder, const ImageSource& source, const KnnMonitorOptions& knn,
                   const ExtractOptions& extract) {
    bool labelled =
        std::all_of(source.labels.begin(), source.labels.end(), [](int64_t l) { return l >= 0; });
    MARROW_CHECK(labelled, "knn_monitor: every image needs a label ({} layout)", source.layout);
    Tensor f = extract_features(encoder, source, extract);
    Tensor y = from_vector(source.labels, {source.size()});
    if (source.split.empty()) return knn_monitor_accuracy(f, y, knn);
    std::vector<int64_t> train, test;
    for (int64_t i = 0; i < source.size(); ++i)
        (source.split[size_t(i)] ? test : train).push_back(i);
    auto rows = [](const Tensor& t, const std::vector<int64_t>& idx) {
        return index_select(t, 0, from_vector(idx, {int64_t(idx.size())}));
    };
    return knn_monitor_accuracy(rows(f, train), rows(y, train), rows(f, test), rows(y, test), knn);
}

}  // namespace marrow::ssl
