#include "data/synth_cohort.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>

#include "tensor/error.h"

namespace marrow::data {
namespace {

namespace fs = std::filesystem;

// Stream slots (the `view` coordinate of SampleRng keys) for the planner and renderer.
constexpr uint64_t kPlanSlot = 1000, kCellSlot = 1001;

// A component of a patient's mix: a cell kind, its share range in %, and how its morphology is
// drawn per cell.
struct Component {
    CellType type;
    double lo, hi;
    int special = 0;  // 0 normal; 1..5: the morphology recipes in draw_morphology
};

// The normal differential shared by every class (control: alone; AML: scaled down).
const std::vector<Component> kNormal = {{CellType::neutrophil_segmented, 45, 65},
                                        {CellType::neutrophil_band, 3, 8},
                                        {CellType::lymphocyte_typical, 20, 35},
                                        {CellType::lymphocyte_atypical, 0, 3},
                                        {CellType::monocyte, 4, 9},
                                        {CellType::eosinophil, 1, 4},
                                        {CellType::basophil, 0, 1},
                                        {CellType::smudge_cell, 0, 3},
                                        {CellType::erythroblast, 0, 0.5},
                                        {CellType::myelocyte, 0, 1}};

// Class-specific components (in % of the bag); the normal differential fills the rest.
std::vector<Component> class_components(const std::string& label) {
    if (label == "PML_RARA")
        return {{CellType::promyelocyte, 18, 38, 1}, {CellType::myeloblast, 4, 12}};
    if (label == "NPM1")
        return {{CellType::myeloblast, 10, 28, 2},
                {CellType::myeloblast, 15, 35},
                {CellType::monocyte, 4, 12}};
    if (label == "CBFB_MYH11")
        return {{CellType::myeloblast, 12, 30, 3},
                {CellType::eosinophil, 3, 10, 4},
                {CellType::myeloblast, 8, 20},
                {CellType::monocyte, 6, 16}};
    if (label == "RUNX1_RUNX1T1")
        return {{CellType::myeloblast, 12, 30, 5},
                {CellType::myeloblast, 8, 22},
                {CellType::myelocyte, 3, 8},
                {CellType::promyelocyte, 2, 6}};
    return {{CellType::myeloblast, 0, 1}};
}

Morphology draw_morphology(int special, SampleRng& rng) {
    Morphology m;
    switch (special) {
        case 1:  // PML::RARA abnormal promyelocyte
            m.hypergranular = true;
            m.bilobed = rng.bernoulli(0.5);
            m.auer_bundle = rng.bernoulli(0.25);
            break;
        case 2:
            m.cup_nucleus = true;
            break;
        case 3:
            m.myelomonocytic = true;
            break;
        case 4:
            m.abnormal_granules = true;
            break;
        case 5:  // RUNX1::RUNX1T1 blast: at least one of its three features
            do {
                m.single_auer_rod = rng.bernoulli(0.6);
                m.perinuclear_clearing = rng.bernoulli(0.7);
                m.salmon_cytoplasm = rng.bernoulli(0.7);
            } while (!m.any());
            break;
        default:
            break;
    }
    return m;
}

std::string pseudonym(SampleRng& rng) {
    std::string id(3, 'A');
    for (char& c : id) c = char('A' + rng.integer(0, 26));
    return id;
}

// metadata.csv columns: the paper's three blast-lineage columns first.
std::string column_of(CellType t) {
    switch (t) {
        case CellType::myeloblast:
            return "pb_myeloblast";
        case CellType::promyelocyte:
            return "pb_promyelocyte";
        case CellType::myelocyte:
            return "pb_myelocyte";
        default:
            return "pb_" + std::string(cell_type_name(t));
    }
}

}  // namespace

bool is_diagnostic(const CellSpec& cell) { return cell.morphology.any(); }

Cohort plan_cohort(const CohortOptions& o) {
    MARROW_CHECK(o.patients_per_class > 0 && o.min_cells > 0 && o.min_cells <= o.max_cells,
                 "plan_cohort: patients_per_class {} and bag sizes [{}, {}] must be positive and "
                 "ordered",
                 o.patients_per_class, o.min_cells, o.max_cells);
    Cohort cohort{o, {"CBFB_MYH11", "NPM1", "PML_RARA", "RUNX1_RUNX1T1", "control"}, {}};
    std::set<std::string> used;
    for (size_t c = 0; c < cohort.classes.size(); ++c)
        for (int k = 0; k < o.patients_per_class; ++k) {
            uint64_t p = cohort.patients.size();
            SampleRng rng(o.seed, 0, p, kPlanSlot);
            SynthPatient patient;
            patient.label = cohort.classes[c];
            do patient.id = pseudonym(rng);
            while (!used.insert(patient.id).second);
            patient.stain = random_stain(rng);
            // This patient's mix: class components at drawn shares, the normal differential
            // (drawn, then scaled) filling the rest.
            std::vector<Component> parts = class_components(patient.label);
            std::vector<double> share;
            double special_total = 0;
            for (const Component& part : parts) {
                share.push_back(rng.uniform(part.lo, part.hi));
                special_total += share.back();
            }
            double normal_total = 0;
            std::vector<double> normal;
            for (const Component& part : kNormal) {
                normal.push_back(rng.uniform(part.lo, part.hi));
                normal_total += normal.back();
            }
            for (size_t i = 0; i < kNormal.size(); ++i) {
                parts.push_back(kNormal[i]);
                share.push_back(normal[i] / normal_total * std::max(0.0, 100 - special_total));
            }
            std::vector<double> cumulative;
            double total = 0;
            for (double s : share) cumulative.push_back(total += s);
            int n = int(rng.integer(o.min_cells, int64_t(o.max_cells) + 1));
            std::map<std::string, double> counts;
            for (int i = 0; i < n; ++i) {
                double u = rng.uniform(0, total);
                size_t j = size_t(std::upper_bound(cumulative.begin(), cumulative.end(), u) -
                                  cumulative.begin());
                j = std::min(j, parts.size() - 1);
                CellSpec cell{parts[j].type, draw_morphology(parts[j].special, rng)};
                patient.cells.push_back(cell);
                counts[column_of(cell.type)] += 1;
            }
            for (int t = 0; t < kNumCellTypes; ++t)
                patient.differential[column_of(CellType(t))] =
                    100.0 * counts[column_of(CellType(t))] / double(n);
            cohort.patients.push_back(std::move(patient));
        }
    return cohort;
}

Image render_cohort_cell(const Cohort& cohort, size_t patient, size_t cell) {
    const SynthPatient& p = cohort.patients.at(patient);
    SampleRng rng(cohort.options.seed, patient, cell, kCellSlot);
    return render_cell(p.cells.at(cell), cohort.options.image_size, p.stain, rng);
}

int64_t write_cohort(const Cohort& cohort, const fs::path& root) {
    fs::create_directories(root / "data");
    std::vector<std::string> columns;
    for (int t = 0; t < kNumCellTypes; ++t) columns.push_back(column_of(CellType(t)));
    std::ofstream metadata(root / "metadata.csv.tmp"), cells(root / "cells.csv.tmp");
    if (!metadata || !cells) fail("write_cohort: cannot write into {}", root.string());
    metadata << "patient_id,bag_label";
    for (const std::string& c : columns) metadata << "," << c;
    metadata << "\n";
    cells << "patient_id,file,cell_type,morphology,diagnostic\n";
    int64_t written = 0;
    for (size_t p = 0; p < cohort.patients.size(); ++p) {
        const SynthPatient& patient = cohort.patients[p];
        fs::path dir = root / "data" / patient.label / patient.id;
        fs::create_directories(dir);
        metadata << patient.id << "," << patient.label;
        for (const std::string& c : columns) {
            char value[32];
            std::snprintf(value, sizeof value, "%.1f", patient.differential.at(c));
            metadata << "," << value;
        }
        metadata << "\n";
        auto name_of = [](size_t i) {
            char name[32];
            std::snprintf(name, sizeof name, "%03zu.TIF", i);
            return std::string(name);
        };
        // Cells render independently (each is a function of its key): in parallel.
        int64_t n = int64_t(patient.cells.size());
        std::vector<std::string> errors(patient.cells.size());
#pragma omp parallel for schedule(dynamic, 4)
        for (int64_t i = 0; i < n; ++i) {
            try {
                write_tiff(dir / name_of(size_t(i)), render_cohort_cell(cohort, p, size_t(i)));
            } catch (const std::exception& e) {
                errors[size_t(i)] = e.what();
            }
        }
        for (const std::string& e : errors)
            if (!e.empty()) fail("write_cohort: {}", e);
        for (size_t i = 0; i < patient.cells.size(); ++i) {
            std::string name = name_of(i);
            const CellSpec& cell = patient.cells[i];
            cells << patient.id << "," << name << "," << cell_type_name(cell.type) << ","
                  << cell.morphology.describe() << "," << (is_diagnostic(cell) ? 1 : 0) << "\n";
            ++written;
        }
    }
    metadata.close();
    cells.close();
    fs::rename(root / "metadata.csv.tmp", root / "metadata.csv");
    fs::rename(root / "cells.csv.tmp", root / "cells.csv");
    return written;
}

}  // namespace marrow::data
