#include "mil/bags.h"

#include <algorithm>
#include <map>

#include "autograd/ops.h"
#include "data/csv.h"
#include "data/datasets.h"
#include "tensor/error.h"
#include "tensor/npy.h"
#include "tensor/safetensors.h"

namespace marrow::mil {

namespace {

const Tensor& entry(const SafetensorsFile& f, const std::string& key, const std::string& path) {
    auto it = f.tensors.find(key);
    MARROW_CHECK(it != f.tensors.end(),
                 "load_feature_bags: {} has no \"{}\" (write it with extract_features --per-bag)",
                 path, key);
    return it->second;
}

nlohmann::json meta(const SafetensorsFile& f, const std::string& key, const std::string& path) {
    auto it = f.metadata.find(key);
    MARROW_CHECK(it != f.metadata.end(), "load_feature_bags: {} has no metadata \"{}\"", path, key);
    return nlohmann::json::parse(it->second);
}

}  // namespace

FeatureBags load_feature_bags(const std::filesystem::path& path, int64_t* dropped) {
    const std::string name = path.string();
    SafetensorsFile f = load_safetensors(name);
    Tensor features = entry(f, "features", name);
    Tensor offsets = contiguous(entry(f, "bag_offsets", name));
    Tensor labels = contiguous(entry(f, "bag_labels", name));
    MARROW_CHECK(
        features.dim() == 2 && offsets.dtype() == DType::i64 && labels.dtype() == DType::i64 &&
            offsets.dim() == 1 && labels.dim() == 1 && offsets.size(0) == labels.size(0) + 1,
        "load_feature_bags: {}: features {}, bag_offsets {} {}, bag_labels {} {} do not "
        "fit together (P + 1 offsets for P labels)",
        name, features.shape(), offsets.shape(), offsets.dtype(), labels.shape(), labels.dtype());
    std::vector<std::string> ids = meta(f, "bag_ids", name);
    std::vector<std::string> paths = meta(f, "paths", name);
    FeatureBags out;
    out.path = name;
    out.class_names = meta(f, "bag_class_names", name).get<std::vector<std::string>>();
    if (f.metadata.count("encoder")) out.encoder = meta(f, "encoder", name);
    const int64_t p = labels.size(0), n = features.size(0);
    MARROW_CHECK(int64_t(ids.size()) == p && int64_t(paths.size()) == n,
                 "load_feature_bags: {}: {} bag ids for {} bags, {} paths for {} rows", name,
                 ids.size(), p, paths.size(), n);
    const int64_t* off = offsets.data<int64_t>();
    int64_t skipped = 0;
    for (int64_t b = 0; b < p; ++b) {
        MARROW_CHECK(off[b] >= 0 && off[b] < off[b + 1] && off[b + 1] <= n,
                     "load_feature_bags: {}: bag {} ({}) has rows [{}, {}) of {}", name, b, ids[b],
                     off[b], off[b + 1], n);
        int64_t label = labels.data<int64_t>()[b];
        if (label < 0) {
            ++skipped;
            continue;
        }
        MARROW_CHECK(label < int64_t(out.class_names.size()),
                     "load_feature_bags: {}: bag {} ({}) has label {} of {} classes", name, b,
                     ids[b], label, out.class_names.size());
        out.bags.push_back(
            {ids[b], label, narrow(features, 0, off[b], off[b + 1] - off[b]),
             std::vector<std::string>(paths.begin() + off[b], paths.begin() + off[b + 1])});
    }
    if (dropped) *dropped = skipped;
    return out;
}

FeatureBags load_scemila_features(const std::filesystem::path& root, const std::string& prefix,
                                  int64_t* dropped) {
    namespace fs = std::filesystem;
    const fs::path data_dir = root / "data";
    MARROW_CHECK(fs::is_directory(data_dir),
                 "load_scemila_features: {} is not a folder (SCEMILA's layout: "
                 "data/<label>/<patient>/{}bn_features_layer_7.npy)",
                 data_dir.string(), prefix);
    FeatureBags out;
    out.path = root.string();
    int64_t skipped = 0;
    const std::string file = prefix + "bn_features_layer_7.npy";
    for (const fs::path& class_dir : data::subdirectories(data_dir)) {
        const int64_t label = int64_t(out.class_names.size());
        out.class_names.push_back(class_dir.filename().string());
        for (const fs::path& patient : data::subdirectories(class_dir)) {
            if (!fs::exists(patient / file)) {
                ++skipped;
                continue;
            }
            Tensor x = load_npy((patient / file).string());
            MARROW_CHECK(
                x.dim() >= 2 && x.size(0) > 0 &&
                    (x.dtype() == DType::f32 || x.dtype() == DType::f64 || x.dtype() == DType::f16),
                "load_scemila_features: {}: {} {} is not a float array of (N, ...) "
                "features with N > 0",
                (patient / file).string(), x.shape(), x.dtype());
            if (!out.bags.empty())
                MARROW_CHECK(x.dim() == out.bags[0].instances.dim() &&
                                 std::equal(x.shape().begin() + 1, x.shape().end(),
                                            out.bags[0].instances.shape().begin() + 1),
                             "load_scemila_features: {}: cells of shape {}, but {} has {}",
                             (patient / file).string(), x.shape(), out.bags[0].id,
                             out.bags[0].instances.shape());
            std::vector<std::string> names;
            for (int64_t i = 0; i < x.size(0); ++i)
                names.push_back((patient / fmt::format("{:03d}.TIF", i)).string());
            out.bags.push_back({patient.filename().string(), label, to(x, DType::f32), names});
        }
    }
    MARROW_CHECK(!out.bags.empty(), "load_scemila_features: no {} under {}/<label>/<patient>/",
                 file, data_dir.string());
    if (dropped) *dropped = skipped;
    return out;
}

FeatureBags bags_from_source(const ssl::ImageSource& source, const Tensor& features) {
    MARROW_CHECK(source.has_bags(), "bags_from_source: the {} source has no patient bags",
                 source.layout);
    MARROW_CHECK(features.dim() == 2 && features.size(0) == source.size(),
                 "bags_from_source: features {} for {} images", features.shape(), source.size());
    FeatureBags out;
    out.class_names = source.bag_classes;
    for (size_t b = 0; b < source.bag_ids.size(); ++b) {
        int64_t first = source.bag_offsets[b], n = source.bag_offsets[b + 1] - first;
        if (source.bag_labels[b] < 0 || n <= 0) continue;
        out.bags.push_back({source.bag_ids[b], source.bag_labels[b], narrow(features, 0, first, n),
                            std::vector<std::string>(source.paths.begin() + first,
                                                     source.paths.begin() + first + n)});
    }
    return out;
}

CellAnnotations read_cell_annotations(const std::filesystem::path& cells_csv,
                                      const std::vector<Bag>& bags) {
    data::CsvTable t = data::read_csv(cells_csv);
    size_t pc = t.column("patient_id"), fc = t.column("file"), tc = t.column("cell_type"),
           dc = t.column("diagnostic");
    std::map<std::string, std::pair<std::string, bool>> rows;  // "patient/file" -> annotations
    for (const auto& r : t.rows) rows[r[pc] + "/" + r[fc]] = {r[tc], r[dc] == "1"};
    CellAnnotations out;
    for (const Bag& b : bags) {
        MARROW_CHECK(int64_t(b.instance_names.size()) == b.instances.size(0),
                     "read_cell_annotations: bag {} names {} of its {} cells", b.id,
                     b.instance_names.size(), b.instances.size(0));
        out.cell_type.emplace_back();
        out.diagnostic.emplace_back();
        for (const std::string& cell : b.instance_names) {
            std::filesystem::path p(cell);
            std::string key = p.parent_path().filename().string() + "/" + p.filename().string();
            auto it = rows.find(key);
            MARROW_CHECK(it != rows.end(),
                         "read_cell_annotations: {} has no row for {} (patient {})",
                         cells_csv.string(), cell, b.id);
            out.cell_type.back().push_back(it->second.first);
            out.diagnostic.back().push_back(it->second.second);
        }
    }
    return out;
}

}  // namespace marrow::mil
