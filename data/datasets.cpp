#include "data/datasets.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "data/csv.h"
#include "tensor/error.h"

namespace marrow::data {
namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// Hidden files and macOS `._*` resource forks are never data.
bool hidden(const fs::path& p) { return p.filename().string().starts_with("."); }

bool is_image_file(const fs::path& p) {
    static const std::set<std::string> kExtensions = {".png", ".jpg", ".jpeg",
                                                      ".bmp", ".tif", ".tiff"};
    return !hidden(p) && kExtensions.count(lower(p.extension().string())) > 0;
}

std::vector<fs::path> image_files(const fs::path& dir, bool recursive) {
    std::vector<fs::path> out;
    if (recursive) {
        for (const auto& e : fs::recursive_directory_iterator(dir))
            if (e.is_regular_file() && is_image_file(e.path())) out.push_back(e.path());
    } else {
        for (const auto& e : fs::directory_iterator(dir))
            if (e.is_regular_file() && is_image_file(e.path())) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

void require_dir(const fs::path& dir, const std::string& reader, const std::string& expected) {
    if (!fs::is_directory(dir))
        fail("{}: {} is not a folder; expected {}", reader, dir.string(), expected);
}

// One class per sub-folder of `root`, every image below it (recursively when `recursive`).
CellDataset class_folders(const fs::path& root, const std::string& name, bool recursive,
                          const std::string& expected) {
    require_dir(root, name, expected);
    CellDataset ds{name, {}, {}};
    for (const fs::path& dir : subdirectories(root)) {
        std::vector<fs::path> files = image_files(dir, recursive);
        if (files.empty()) continue;
        int label = int(ds.classes.size());
        ds.classes.push_back(dir.filename().string());
        for (fs::path& f : files) ds.samples.push_back({std::move(f), label, {}});
    }
    if (ds.samples.empty())
        fail("{}: no images found under {}; expected {}", name, root.string(), expected);
    return ds;
}

// Descends through wrappers such as PBC_dataset_normal_DIB/PBC_dataset_normal_DIB/: folders
// holding exactly one folder and no images, whose one folder holds no images either (else it
// is a class folder, and `dir` the root).
fs::path unwrap(fs::path dir) {
    for (int depth = 0; depth < 4 && fs::is_directory(dir); ++depth) {
        std::vector<fs::path> subs = subdirectories(dir);
        if (subs.size() != 1 || !image_files(dir, false).empty() ||
            !image_files(subs[0], false).empty())
            break;
        dir = subs[0];
    }
    return dir;
}

std::vector<int64_t> count_labels(const std::vector<int>& labels, size_t classes) {
    std::vector<int64_t> counts(classes, 0);
    for (int l : labels)
        if (l >= 0) ++counts[size_t(l)];
    return counts;
}

// The rows of a patient CSV by their `id_col`; a repeated ID is an error (which row holds?).
std::map<std::string, const std::vector<std::string>*> rows_by_id(const CsvTable& csv,
                                                                  size_t id_col,
                                                                  const fs::path& path) {
    std::map<std::string, const std::vector<std::string>*> by_id;
    for (const auto& row : csv.rows)
        if (!by_id.emplace(row[id_col], &row).second)
            fail("{}: patient '{}' has more than one row", path.string(), row[id_col]);
    return by_id;
}

// A warning per row whose patient is not in `known` (the IDs of the folders found).
void warn_unknown_rows(const std::map<std::string, const std::vector<std::string>*>& by_id,
                       const std::set<std::string>& known, const fs::path& path,
                       const std::string& reader, std::vector<std::string>& warnings) {
    for (const auto& [id, row] : by_id)
        if (!known.count(id))
            warnings.push_back(fmt::format("{}: {} has a row for patient '{}', who has no image "
                                           "folder (row ignored)",
                                           reader, path.string(), id));
}

double parse_number(const std::string& text, const std::string& what) {
    double v = 0;
    const char* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc() || p != end) fail("{}: '{}' is not a number", what, text);
    return v;
}

}  // namespace

std::vector<fs::path> subdirectories(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_directory() && !hidden(e.path())) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<int64_t> CellDataset::class_counts() const {
    std::vector<int> labels;
    for (const CellSample& s : samples) labels.push_back(s.label);
    return count_labels(labels, classes.size());
}

std::vector<int64_t> BagDataset::class_counts() const {
    std::vector<int> labels;
    for (const Patient& p : patients) labels.push_back(p.label);
    return count_labels(labels, classes.size());
}

CellDataset read_matek19(const fs::path& root) {
    CellDataset ds = class_folders(root, "matek19", false,
                                   "class folders <CLASS>/<CLASS>_NNNN.tiff (BAS, EBO, EOS, ...)");
    fs::path annotations = root / "annotations.dat";
    if (!fs::exists(annotations)) return ds;
    std::ifstream in(annotations);
    std::map<std::string, std::string> reannotated;  // relative path -> "re1 re2"
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        std::istringstream fields(line);
        std::string path, label, re1, re2;
        if (!(fields >> path)) continue;
        if (!(fields >> label >> re1 >> re2))
            fail("{}:{}: expected 4 fields (path, label, re-annotation 1, re-annotation 2)",
                 annotations.string(), n);
        reannotated[path] = re1 + " " + re2;
    }
    for (CellSample& s : ds.samples) {
        auto it = reannotated.find(fs::relative(s.path, root).generic_string());
        if (it != reannotated.end()) s.detail = it->second;
    }
    return ds;
}

CellDataset read_acevedo(const fs::path& root, bool fine) {
    fs::path dir = unwrap(root);
    CellDataset groups = class_folders(
        dir, "acevedo", false,
        "the PBC_dataset_normal_DIB groups basophil/ eosinophil/ erythroblast/ ig/ lymphocyte/ "
        "monocyte/ neutrophil/ platelet/ with PREFIX_<id>.jpg files");
    for (CellSample& s : groups.samples) {
        std::string stem = s.path.stem().string();
        s.detail = stem.substr(0, stem.find('_'));
    }
    if (!fine) return groups;
    // DinoBloom's 10 classes; the prefix decides inside ig/ and neutrophil/.
    static const std::map<std::string, std::string> kByGroup = {
        {"basophil", "basophil"},
        {"eosinophil", "eosinophil"},
        {"erythroblast", "erythroblast"},
        {"lymphocyte", "lymphocyte_typical"},
        {"monocyte", "monocyte"}};
    static const std::map<std::string, std::string> kByPrefix = {{"PMY", "promyelocyte"},
                                                                 {"MY", "myelocyte"},
                                                                 {"MMY", "metamyelocyte"},
                                                                 {"BNE", "neutrophil_band"},
                                                                 {"SNE", "neutrophil_segmented"}};
    CellDataset ds{"acevedo_fine", {}, {}};
    std::map<std::string, int> index;
    std::vector<std::pair<std::string, CellSample>> kept;
    for (CellSample& s : groups.samples) {
        const std::string& group = groups.classes[size_t(s.label)];
        std::string cls;
        if (auto g = kByGroup.find(group); g != kByGroup.end()) {
            cls = g->second;
        } else if (group == "ig" || group == "neutrophil") {
            if (auto p = kByPrefix.find(s.detail); p != kByPrefix.end()) cls = p->second;
        }
        if (!cls.empty()) kept.emplace_back(cls, std::move(s));
    }
    for (const auto& [cls, s] : kept) index[cls] = 0;
    for (auto& [cls, i] : index) {
        i = int(ds.classes.size());
        ds.classes.push_back(cls);
    }
    for (auto& [cls, s] : kept) {
        s.label = index[cls];
        ds.samples.push_back(std::move(s));
    }
    return ds;
}

CellDataset read_raabin(const fs::path& root, const std::string& split) {
    if (split != "Train" && split != "TestA" && split != "TestB")
        fail("raabin: split '{}' (expected Train, TestA or TestB)", split);
    return class_folders(root / split, "raabin", false,
                         "<root>/{Train,TestA,TestB}/<Class>/*.jpg (the cropped double-labelled "
                         "release, extracted)");
}

CellDataset read_bmc(const fs::path& root) {
    fs::path dir =
        fs::is_directory(root / "BM_cytomorphology_data") ? root / "BM_cytomorphology_data" : root;
    return class_folders(dir, "bmc", true,
                         "class folders <CLASS>/[<range>/]<CLASS>_NNNNN.jpg (ABE, ART, BAS, ...)");
}

// Integer labels of a path list name classes 0..max: more than ImageNet-21k's 21,841 is a
// corrupt file, not a dataset (found by fuzzing: "a.png 1061628893" spent minutes and
// gigabytes making class names).
constexpr int kMaxListClasses = 100000;

CellDataset read_path_list(const fs::path& list_file) {
    std::ifstream in(list_file, std::ios::binary);
    if (!in) fail("cannot open path list {}", list_file.string());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return parse_path_list(text, list_file);
}

CellDataset parse_path_list(std::string_view text, const fs::path& list_file) {
    std::istringstream in{std::string(text)};
    fs::path base = list_file.parent_path();
    CellDataset ds{"path_list", {}, {}};
    std::vector<std::string> names;
    bool any_named = false;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        line = line.substr(0, line.find('#'));
        std::istringstream fields(line);
        std::string path, label, extra;
        if (!(fields >> path)) continue;
        fields >> label;
        if (fields >> extra)
            fail("{}:{}: expected 'path' or 'path label', got more fields", list_file.string(), n);
        fs::path p = fs::path(path).is_absolute() ? fs::path(path) : base / path;
        int value = -1;
        if (!label.empty()) {
            auto [end, ec] = std::from_chars(label.data(), label.data() + label.size(), value);
            if (ec != std::errc() || end != label.data() + label.size()) {
                any_named = true;
                value = -1;
            } else if (value < 0) {
                fail("{}:{}: negative label {}", list_file.string(), n, value);
            } else if (value >= kMaxListClasses) {  // the classes "0".."label" are made below
                fail("{}:{}: label {} (a list has at most {} classes)", list_file.string(), n,
                     value, kMaxListClasses);
            }
        }
        ds.samples.push_back({p, value, label});
        names.push_back(label);
    }
    if (ds.samples.empty()) fail("{}: no image paths in the list", list_file.string());
    if (any_named) {  // class names: sorted, then indexed
        std::set<std::string> unique(names.begin(), names.end());
        unique.erase("");
        ds.classes.assign(unique.begin(), unique.end());
        for (CellSample& s : ds.samples) {
            auto it = std::lower_bound(ds.classes.begin(), ds.classes.end(), s.detail);
            s.label = s.detail.empty() ? -1 : int(it - ds.classes.begin());
        }
    } else {
        int top = -1;
        for (const CellSample& s : ds.samples) top = std::max(top, s.label);
        for (int i = 0; i <= top; ++i) ds.classes.push_back(std::to_string(i));
    }
    return ds;
}

void join_aml_hehr_metadata(BagDataset& ds, const CsvTable& csv, double min_blast_percent) {
    const fs::path metadata = csv.name;
    size_t id_col = csv.column("patient_id"), label_col = csv.column("bag_label");
    auto by_id = rows_by_id(csv, id_col, metadata);
    std::set<std::string> known;
    for (const Patient& p : ds.patients) known.insert(p.id);
    warn_unknown_rows(by_id, known, metadata, "aml_hehr", ds.warnings);
    for (Patient& p : ds.patients) {
        auto it = by_id.find(p.id);
        if (it == by_id.end()) continue;
        const std::vector<std::string>& row = *it->second;
        const std::string& folder_label = ds.classes[size_t(p.label)];
        if (row[label_col] != folder_label)
            fail("aml_hehr: patient {} is in data/{}/ but {} says bag_label '{}'", p.id,
                 folder_label, metadata.string(), row[label_col]);
        for (size_t c = 0; c < csv.header.size(); ++c) p.metadata[csv.header[c]] = row[c];
    }
    if (min_blast_percent > 0) {
        std::erase_if(ds.patients, [&](const Patient& p) {
            if (ds.classes[size_t(p.label)] == "control") return false;
            if (p.metadata.empty())
                fail("aml_hehr: patient {} has no row in {} to filter on", p.id,
                     metadata.string());
            double blasts = 0;
            for (const char* col : {"pb_myeloblast", "pb_promyelocyte", "pb_myelocyte"}) {
                auto it = p.metadata.find(col);
                if (it == p.metadata.end())
                    fail("aml_hehr: {} has no column {}", metadata.string(), col);
                blasts += parse_number(it->second, "aml_hehr: " + p.id + " " + col);
            }
            return blasts < min_blast_percent;
        });
    }
}

BagDataset read_aml_hehr(const fs::path& root, double min_blast_percent) {
    const std::string expected =
        "<root>/data/<bag_label>/<patient_id>/NNN.TIF (CBFB_MYH11, NPM1, PML_RARA, "
        "RUNX1_RUNX1T1, control) and <root>/metadata.csv";
    require_dir(root / "data", "aml_hehr", expected);
    BagDataset ds{"aml_hehr", {}, {}, {}};
    for (const fs::path& label_dir : subdirectories(root / "data")) {
        int label = int(ds.classes.size());
        ds.classes.push_back(label_dir.filename().string());
        for (const fs::path& patient_dir : subdirectories(label_dir)) {
            Patient p;
            p.id = patient_dir.filename().string();
            p.label = label;
            p.images = image_files(patient_dir, false);
            if (!p.images.empty()) ds.patients.push_back(std::move(p));
        }
    }
    if (ds.patients.empty())
        fail("aml_hehr: no patient folders with images under {}; expected {}",
             (root / "data").string(), expected);
    fs::path metadata = root / "metadata.csv";
    if (fs::exists(metadata)) {
        join_aml_hehr_metadata(ds, read_csv(metadata), min_blast_percent);
    } else if (min_blast_percent > 0) {
        fail("aml_hehr: filtering by blast percentage needs {}", metadata.string());
    }
    return ds;
}

int64_t parse_date_days(const std::string& text, const std::string& what) {
    std::string t = text;
    std::replace(t.begin(), t.end(), '/', '-');
    int d = 0, m = 0, y = 0;
    char extra = 0;
    bool iso = t.size() >= 4 && t[4] == '-';
    int got = iso ? std::sscanf(t.c_str(), "%d-%d-%d%c", &y, &m, &d, &extra)
                  : std::sscanf(t.c_str(), "%d-%d-%d%c", &d, &m, &y, &extra);
    static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (got != 3 || m < 1 || m > 12 || d < 1 || d > kDays[m - 1] || (m == 2 && d == 29 && !leap))
        fail("{}: '{}' is not a date (dd-mm-yyyy, dd/mm/yyyy or yyyy-mm-dd)", what, text);
    // Days from civil (proleptic Gregorian), H. Hinnant's algorithm.
    int64_t yy = y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void join_lymphocytosis_table(BagDataset& ds, const CsvTable& csv,
                              const std::set<std::string>& known_ids,
                              const std::string& reference_date) {
    const fs::path csv_path = csv.name;
    size_t id = csv.column("ID"), label = csv.column("LABEL"), gender = csv.column("GENDER"),
           dob = csv.column("DOB"), count = csv.column("LYMPH_COUNT");
    int64_t reference = parse_date_days(reference_date, "lymphocytosis: reference date");
    auto by_id = rows_by_id(csv, id, csv_path);
    for (Patient& p : ds.patients) {
        auto it = by_id.find(p.id);
        if (it == by_id.end())
            fail("lymphocytosis: patient {} has an image folder but no row in {}", p.id,
                 csv_path.string());
        const std::vector<std::string>& row = *it->second;
        std::string where = csv_path.string() + ": patient " + p.id;
        double l = parse_number(row[label], where + " LABEL");
        if (l != 0 && l != 1 && l != -1) fail("{}: LABEL {} (expected 0, 1 or -1)", where, l);
        p.label = int(l);
        p.age_years = double(reference - parse_date_days(row[dob], where + " DOB")) / 365.25;
        p.lymph_count = parse_number(row[count], where + " LYMPH_COUNT");
        const std::string& g = row[gender];
        if (g != "M" && g != "F") fail("{}: GENDER '{}' (expected M or F)", where, g);
        p.gender = g[0];
        for (size_t c = 0; c < csv.header.size(); ++c) p.metadata[csv.header[c]] = row[c];
    }
    warn_unknown_rows(by_id, known_ids, csv_path, "lymphocytosis", ds.warnings);
}

BagDataset read_lymphocytosis(const fs::path& root, const std::string& split,
                              const std::string& reference_date) {
    const std::string expected = "<root>/" + split + "/<ID>/*.jpg with " + split + "/" + split +
                                 "_true.csv, " + split + "/" + split +
                                 "_data.csv or <root>/clinical_annotation.csv";
    require_dir(root / split, "lymphocytosis", expected);
    fs::path csv_path;
    for (fs::path candidate :
         {root / split / (split + "_true.csv"), root / split / (split + "_data.csv"),
          root / "clinical_annotation.csv"})
        if (fs::exists(candidate)) {
            csv_path = candidate;
            break;
        }
    if (csv_path.empty()) fail("lymphocytosis: no patient CSV found; expected {}", expected);
    BagDataset ds{"lymphocytosis", {"reactive", "malignant"}, {}, {}};
    for (const fs::path& dir : subdirectories(root / split)) {
        Patient p;
        p.id = dir.filename().string();
        p.images = image_files(dir, false);
        if (p.images.empty()) fail("lymphocytosis: patient folder {} has no images", dir.string());
        ds.patients.push_back(std::move(p));
    }
    if (ds.patients.empty())
        fail("lymphocytosis: no patient folders under {}; expected {}", (root / split).string(),
             expected);
    std::set<std::string> known;  // patient folders of every split (the shared CSV lists all)
    for (const fs::path& s : subdirectories(root))
        for (const fs::path& dir : subdirectories(s)) known.insert(dir.filename().string());
    join_lymphocytosis_table(ds, read_csv(csv_path), known, reference_date);
    return ds;
}

}  // namespace marrow::data
