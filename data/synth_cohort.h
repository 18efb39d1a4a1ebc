// A synthetic AML cohort in the layout of the AML Hehr / SCEMILA dataset, so every experiment
// runs with no download: patients of the five classes (CBFB_MYH11, NPM1, PML_RARA,
// RUNX1_RUNX1T1, control), each a bag of 50-500 single-cell images whose mix of cell types
// varies per patient and whose diagnosis shows only in a minority of cells:
//
//   PML_RARA       abnormal hypergranular promyelocytes, often bilobed, some with bundles of
//                  Auer rods (faggot cells)
//   NPM1           blasts with a cup-like nuclear invagination
//   CBFB_MYH11     myelomonocytic blasts and eosinophils with large dark abnormal granules
//   RUNX1_RUNX1T1  blasts with a single long Auer rod, perinuclear clearing, salmon cytoplasm
//   control        a normal peripheral-blood differential
//
// All AML classes also carry ordinary myeloblasts, so counting blasts does not tell them
// apart. Planning (which cells each patient has) is separate from rendering, and every image
// is a pure function of (seed, patient, cell): any subset renders the same in any order.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "data/synth_cell.h"

namespace marrow::data {

struct CohortOptions {
    int patients_per_class = 4;
    int min_cells = 50, max_cells = 500;  // bag size, uniform per patient
    int image_size = 144;
    uint64_t seed = 0;
};

struct SynthPatient {
    std::string id;     // a 3-letter pseudonym, as in the real data
    std::string label;  // the bag label (folder name)
    Stain stain;
    std::vector<CellSpec> cells;
    std::map<std::string, double> differential;  // % per column of metadata.csv
};

struct Cohort {
    CohortOptions options;
    std::vector<std::string> classes;  // sorted, as read_aml_hehr orders them
    std::vector<SynthPatient> patients;
};

Cohort plan_cohort(const CohortOptions& options);

// Cell `cell` of patient `patient` (indices into the cohort).
Image render_cohort_cell(const Cohort& cohort, size_t patient, size_t cell);

// Writes <root>/data/<label>/<id>/NNN.TIF, <root>/metadata.csv (patient_id, bag_label and
// the differential in %, as the real metadata), and <root>/cells.csv (patient_id, file,
// cell_type, morphology, diagnostic): the ground truth for auditing attention. Returns the
// number of images written.
int64_t write_cohort(const Cohort& cohort, const std::filesystem::path& root);

// Whether a cell carries its class's diagnostic morphology.
bool is_diagnostic(const CellSpec& cell);

}  // namespace marrow::data
