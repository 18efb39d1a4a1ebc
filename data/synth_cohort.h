// Synthetic patient cohorts, so every experiment runs with no download.
//
// AML (the AML Hehr / SCEMILA layout): patients of five classes, each a bag of 50-500
// single-cell images whose mix of cell types varies per patient and whose diagnosis shows
// only in a minority of cells:
//
//   PML_RARA       abnormal hypergranular promyelocytes, often bilobed, some with bundles of
//                  Auer rods (faggot cells)
//   NPM1           blasts with a cup-like nuclear invagination
//   CBFB_MYH11     myelomonocytic blasts and eosinophils with large dark abnormal granules
//   RUNX1_RUNX1T1  blasts with a single long Auer rod, perinuclear clearing, salmon cytoplasm
//   control        a normal peripheral-blood differential
//
// All AML classes also carry ordinary myeloblasts, so counting blasts does not tell them apart.
//
// Lymphocytosis (the Kaggle challenge's layout): reactive patients (typical and reactive
// lymphocytes) against malignant ones (tumoral lymphocytes with clumped chromatin, many smudge
// cells), with age and lymphocyte count correlated with the label.
//
// Patients are spread over three acquisition sites (data/synth_cell.h) evenly within each
// class, for domain-shift experiments. Planning (which cells each patient has) is separate
// from rendering, and every image is a pure function of (seed, patient, cell): any subset
// renders the same in any order, and the same seed writes the same bytes.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "data/synth_cell.h"

namespace marrow::data {

enum class CohortKind { aml, lymphocytosis };

struct CohortOptions {
    CohortKind kind = CohortKind::aml;
    int patients_per_class = 4;
    int min_cells = 50, max_cells = 500;  // bag size, uniform per patient
    int image_size = 144;
    uint64_t seed = 0;
    // Difficulty knobs. The defaults keep the task learnable but not trivial.
    double diagnostic_rate = 1.0;   // multiplies the share of each class's diagnostic cells
    double morphology_noise = 0.1;  // diagnostic cells lose their features with p = noise / 2;
                                    // ordinary cells show another class's with p = noise / 10
    double domain_strength = 1.0;   // how different the sites look (0: identical)
    std::string format = "tif";     // image files: tif or png (AML), jpg (lymphocytosis)
};

struct SynthPatient {
    std::string id;     // AML: a 3-letter pseudonym; lymphocytosis: P<n>
    std::string label;  // the bag label (AML folder name; lymphocytosis reactive/malignant)
    int site = 0;
    Appearance look;
    std::vector<CellSpec> cells;
    std::map<std::string, double> differential;  // % per cell type (AML metadata.csv columns)
    // Lymphocytosis clinical attributes.
    double age = 0, lymph_count = 0;
    char gender = 'F';
    std::string dob;  // dd-mm-yyyy or dd/mm/yyyy, both as in the challenge's CSV
};

struct Cohort {
    CohortOptions options;
    std::vector<std::string> classes;  // sorted as the readers order them
    std::vector<SynthPatient> patients;
};

Cohort plan_cohort(const CohortOptions& options);

// Cell `cell` of patient `patient` (indices into the cohort).
Image render_cohort_cell(const Cohort& cohort, size_t patient, size_t cell);

// Writes the cohort in its dataset's layout and returns the number of images.
//   AML:            <root>/data/<label>/<id>/NNN.TIF, metadata.csv (patient_id, bag_label,
//                   site, the differential in %)
//   lymphocytosis:  <root>/trainset/<ID>/NNN.jpg, trainset/trainset_true.csv (ID, LABEL,
//                   GENDER, DOB, LYMPH_COUNT)
// and in both <root>/cells.csv (patient_id, file, cell_type, morphology, diagnostic, site):
// the ground truth for auditing attention. `diagnostic` is 1 when the cell shows its own
// patient's class morphology.
int64_t write_cohort(const Cohort& cohort, const std::filesystem::path& root);

// The class a morphology points to ("PML_RARA", ..., "malignant"), or "" for none.
std::string morphology_class(const Morphology& m);

}  // namespace marrow::data
