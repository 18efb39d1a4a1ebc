// Readers for the on-disk layouts of the hematology datasets as users download them
// (../shared/reference/users_and_data.md, section 2). They list files and labels; decoding is
// the loader's job. Every reader sorts what it finds (classes, patients, files), so the same
// folder gives the same dataset on every machine, skips macOS `._*` resource forks and hidden
// files, and, given a wrong root, says what it expected to find there.
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "data/csv.h"

namespace marrow::data {

namespace fs = std::filesystem;

// The folders directly under `dir`, sorted, without hidden ones (`.*`, macOS `._*`).
std::vector<fs::path> subdirectories(const fs::path& dir);

// ----- single-cell datasets: one labelled image per sample -----

struct CellSample {
    fs::path path;
    int label = -1;      // index into CellDataset::classes (-1: unlabelled)
    std::string detail;  // finer information: Matek re-annotations, Acevedo file prefix
};

struct CellDataset {
    std::string name;
    std::vector<std::string> classes;
    std::vector<CellSample> samples;
    std::vector<int64_t> class_counts() const;
};

// Matek-19 (TCIA AML-Cytomorphology_LMU): <root>/<CLASS>/<CLASS>_NNNN.tiff, 15 classes;
// `annotations.dat` (path, label, re-annotation 1, re-annotation 2), when present in root,
// fills `detail` with the two re-annotations ("nan nan" when none).
CellDataset read_matek19(const fs::path& root);

// Acevedo-20 (PBC_dataset_normal_DIB): <root>[/PBC_dataset_normal_DIB]/<group>/PREFIX_<id>.jpg
// with 8 groups. `fine` = false: the 8 folder groups. `fine` = true: the 10 classes DinoBloom
// evaluates, from the file-name prefixes (ig/ -> PMY promyelocyte, MY myelocyte, MMY
// metamyelocyte; neutrophil/ -> BNE band, SNE segmented), dropping platelets and the
// unspecified IG and NEUTROPHIL images.
CellDataset read_acevedo(const fs::path& root, bool fine = false);

// Raabin-WBC cropped double-labelled release: <root>/<split>/<Class>/*.jpg, split "Train",
// "TestA" or "TestB" (TestB holds only Lymphocyte and Neutrophil).
CellDataset read_raabin(const fs::path& root, const std::string& split);

// BMC (TCIA Bone-Marrow-Cytomorphology): <root>/<CLASS>/<range>/<CLASS>_NNNNN.jpg, or files
// directly under <CLASS>/ for small classes; 21 classes.
CellDataset read_bmc(const fs::path& root);

// A plain list file, one image per line: `path` or `path label` (whitespace-separated; the
// label an integer or a class name; '#' starts a comment). Relative paths are relative to the
// list file's folder. Class names are sorted; integer labels are used as given.
CellDataset read_path_list(const fs::path& list_file);
// The same from the list's text (`list_file` names it in errors and anchors relative paths).
CellDataset parse_path_list(std::string_view text, const fs::path& list_file);

// ----- patient bags: a set of cell images per patient with one diagnosis -----

struct Patient {
    std::string id;
    int label = -1;  // index into BagDataset::classes (-1: unlabelled, e.g. a test patient)
    std::vector<fs::path> images;
    std::map<std::string, std::string> metadata;  // the patient's row of the metadata CSV
    // Clinical covariates (lymphocytosis).
    std::optional<double> age_years;
    std::optional<double> lymph_count;  // x 10^9 / L
    std::optional<char> gender;         // 'M' or 'F'
};

struct BagDataset {
    std::string name;
    std::vector<std::string> classes;
    std::vector<Patient> patients;
    // What the reader noticed but did not stop for, one sentence each naming the file: a
    // metadata row for a patient with no image folder (a partial download, a typo in an ID).
    // Apps print them.
    std::vector<std::string> warnings;
    std::vector<int64_t> class_counts() const;
};

// AML Hehr / SCEMILA (TCIA AML-Cytomorphology_MLL_Helmholtz): <root>/data/<bag_label>/
// <patient_id>/NNN.TIF and, when present, <root>/metadata.csv (index `patient_id`, column
// `bag_label`; the folder and the CSV must agree). Classes: the five folder labels, sorted.
// `min_blast_percent` > 0 drops AML patients whose pb_myeloblast + pb_promyelocyte +
// pb_myelocyte is below it (the paper's --filter_diff 20); controls are kept. A metadata row
// whose patient has no folder is a warning; two rows for one patient are an error.
BagDataset read_aml_hehr(const fs::path& root, double min_blast_percent = 0);

// Lymphocytosis (Kaggle 3md3070-dlmi): <root>/<split>/<ID>/*.jpg with the split's CSV
// (<split>/trainset_true.csv or testset_data.csv, else <root>/clinical_annotation.csv):
// ID, LABEL (0 reactive, 1 malignant, -1 unknown), GENDER, DOB (dd-mm-yyyy or dd/mm/yyyy),
// LYMPH_COUNT. Age is in years at `reference_date` (yyyy-mm-dd; the challenge used 2020).
// A patient folder without a row is an error; a row without a folder (in any split, since
// clinical_annotation.csv lists both) a warning; two rows for one ID an error.
BagDataset read_lymphocytosis(const fs::path& root, const std::string& split = "trainset",
                              const std::string& reference_date = "2020-01-01");

// The metadata joins of the two bag readers, apart from their folder scans (the patient-table
// fuzz target drives them on in-memory tables). `ds` holds the patients a scan found (id,
// label, images); the table's rows (its `name` is the path errors give) are checked and joined
// onto them, with the rules above. `known_ids`: every patient folder of every split.
void join_aml_hehr_metadata(BagDataset& ds, const CsvTable& metadata, double min_blast_percent);
void join_lymphocytosis_table(BagDataset& ds, const CsvTable& table,
                              const std::set<std::string>& known_ids,
                              const std::string& reference_date = "2020-01-01");

// Days since 1970-01-01 of a date given as dd-mm-yyyy, dd/mm/yyyy or yyyy-mm-dd; an Error
// naming `what` when it is not a valid date.
int64_t parse_date_days(const std::string& text, const std::string& what);

}  // namespace marrow::data
