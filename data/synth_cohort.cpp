#include "data/synth_cohort.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>

#include "data/datasets.h"
#include "tensor/error.h"

namespace marrow::data {
namespace {

namespace fs = std::filesystem;

// Stream slots (the `view` coordinate of SampleRng keys) for the planner and renderer.
constexpr uint64_t kPlanSlot = 1000, kCellSlot = 1001;

// Morphology recipes: how a diagnostic cell of each kind is drawn.
enum Recipe { kNone, kApl, kCup, kMyelomonocytic, kAbnormalEos, kRunx1, kTumoral };

// A component of a patient's mix: a cell kind, its share range in %, and its recipe.
struct Component {
    CellType type;
    double lo, hi;
    Recipe recipe = kNone;
};

// The normal differential shared by every AML class (control: alone; AML: scaled down).
const std::vector<Component> kNormalBlood = {{CellType::neutrophil_segmented, 45, 65},
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
        return {{CellType::promyelocyte, 18, 38, kApl}, {CellType::myeloblast, 4, 12}};
    if (label == "NPM1")
        return {{CellType::myeloblast, 10, 28, kCup},
                {CellType::myeloblast, 15, 35},
                {CellType::monocyte, 4, 12}};
    if (label == "CBFB_MYH11")
        return {{CellType::myeloblast, 12, 30, kMyelomonocytic},
                {CellType::eosinophil, 3, 10, kAbnormalEos},
                {CellType::myeloblast, 8, 20},
                {CellType::monocyte, 6, 16}};
    if (label == "RUNX1_RUNX1T1")
        return {{CellType::myeloblast, 12, 30, kRunx1},
                {CellType::myeloblast, 8, 22},
                {CellType::myelocyte, 3, 8},
                {CellType::promyelocyte, 2, 6}};
    if (label == "control") return {{CellType::myeloblast, 0, 1}};
    // Lymphocytosis: both classes are mostly lymphocytes in similar proportions; the
    // tumoral ones differ in chromatin texture, so colour statistics alone stay weak.
    if (label == "reactive")
        return {{CellType::lymphocyte_typical, 45, 65},
                {CellType::lymphocyte_atypical, 8, 25},
                {CellType::neutrophil_segmented, 3, 10},
                {CellType::monocyte, 2, 6},
                {CellType::smudge_cell, 0, 6}};
    if (label == "malignant")
        return {{CellType::lymphocyte_typical, 15, 40, kTumoral},
                {CellType::lymphocyte_typical, 20, 45},
                {CellType::lymphocyte_atypical, 4, 18},
                {CellType::smudge_cell, 2, 10},
                {CellType::neutrophil_segmented, 2, 8},
                {CellType::monocyte, 1, 5}};
    fail("synth_cohort: no class '{}'", label);
}

Morphology draw_morphology(Recipe recipe, SampleRng& rng) {
    Morphology m;
    switch (recipe) {
        case kApl:
            m.hypergranular = true;
            m.bilobed = rng.bernoulli(0.5);
            m.auer_bundle = rng.bernoulli(0.25);
            break;
        case kCup:
            m.cup_nucleus = true;
            break;
        case kMyelomonocytic:
            m.myelomonocytic = true;
            break;
        case kAbnormalEos:
            m.abnormal_granules = true;
            break;
        case kRunx1:  // at least one of the three features
            do {
                m.single_auer_rod = rng.bernoulli(0.6);
                m.perinuclear_clearing = rng.bernoulli(0.7);
                m.salmon_cytoplasm = rng.bernoulli(0.7);
            } while (!m.any());
            break;
        case kTumoral:
            m.clumped_chromatin = true;
            break;
        case kNone:
            break;
    }
    return m;
}

// Another class's diagnostic cell, shown by an ordinary cell (morphology noise).
CellSpec mimic(CohortKind kind, const std::string& own_label, SampleRng& rng) {
    if (kind == CohortKind::lymphocytosis)
        return {CellType::lymphocyte_typical, draw_morphology(kTumoral, rng)};
    static const std::vector<std::pair<CellType, Recipe>> kAml = {
        {CellType::promyelocyte, kApl},
        {CellType::myeloblast, kCup},
        {CellType::myeloblast, kMyelomonocytic},
        {CellType::eosinophil, kAbnormalEos},
        {CellType::myeloblast, kRunx1}};
    while (true) {
        auto [type, recipe] = kAml[size_t(rng.integer(0, int64_t(kAml.size())))];
        CellSpec cell{type, draw_morphology(recipe, rng)};
        if (morphology_class(cell.morphology) != own_label) return cell;
    }
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

// The inverse of parse_date_days (H. Hinnant's civil_from_days).
void civil_from_days(int64_t z, int& y, int& m, int& d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    d = int(doy - (153 * mp + 2) / 5 + 1);
    m = int(mp < 10 ? mp + 3 : mp - 9);
    y = int(yoe + era * 400 + (m <= 2));
}

double normal(SampleRng& rng, double mean, double sd) {  // Box-Muller
    double u1 = rng.uniform(1e-12, 1.0), u2 = rng.uniform();
    return mean + sd * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

// Lymphocytosis clinical attributes: malignant patients older with higher counts, with
// overlap, so the attributes help without deciding alone.
void draw_clinical(SynthPatient& p, SampleRng& rng) {
    bool malignant = p.label == "malignant";
    p.age = std::clamp(malignant ? normal(rng, 70, 10) : normal(rng, 48, 18), 18.0, 97.0);
    p.lymph_count = std::clamp(malignant ? std::exp(normal(rng, std::log(20.0), 0.7))
                                         : std::exp(normal(rng, std::log(7.0), 0.35)),
                               4.0, 300.0);
    p.lymph_count = std::round(p.lymph_count * 100) / 100;
    p.gender = rng.bernoulli(0.5) ? 'M' : 'F';
    int64_t reference = parse_date_days("2020-01-01", "reference");
    int y, m, d;
    civil_from_days(reference - int64_t(p.age * 365.25), y, m, d);
    char dob[32];
    std::snprintf(dob, sizeof dob, rng.bernoulli(0.5) ? "%02d-%02d-%04d" : "%02d/%02d/%04d", d, m,
                  y);
    p.dob = dob;
}

std::string file_name(size_t i, const std::string& format) {
    char name[32];
    std::snprintf(name, sizeof name, "%03zu.%s", i, format == "tif" ? "TIF" : format.c_str());
    return name;
}

}  // namespace

std::string morphology_class(const Morphology& m) {
    if (m.hypergranular || m.auer_bundle || m.bilobed) return "PML_RARA";
    if (m.cup_nucleus) return "NPM1";
    if (m.myelomonocytic || m.abnormal_granules) return "CBFB_MYH11";
    if (m.single_auer_rod || m.perinuclear_clearing || m.salmon_cytoplasm) return "RUNX1_RUNX1T1";
    if (m.clumped_chromatin) return "malignant";
    return "";
}

Cohort plan_cohort(const CohortOptions& o) {
    MARROW_CHECK(o.patients_per_class > 0 && o.min_cells > 0 && o.min_cells <= o.max_cells,
                 "plan_cohort: patients_per_class {} and bag sizes [{}, {}] must be positive and "
                 "ordered",
                 o.patients_per_class, o.min_cells, o.max_cells);
    MARROW_CHECK(o.diagnostic_rate >= 0 && o.morphology_noise >= 0 && o.morphology_noise <= 1 &&
                     o.domain_strength >= 0,
                 "plan_cohort: diagnostic_rate {} and domain_strength {} must be >= 0, "
                 "morphology_noise {} in [0, 1]",
                 o.diagnostic_rate, o.domain_strength, o.morphology_noise);
    bool aml = o.kind == CohortKind::aml;
    std::set<std::string> formats =
        aml ? std::set<std::string>{"tif", "png"} : std::set<std::string>{"jpg", "png"};
    MARROW_CHECK(formats.count(o.format), "plan_cohort: format '{}' (this cohort writes {})",
                 o.format, fmt::join(formats, " or "));
    Cohort cohort{o, {}, {}};
    cohort.classes =
        aml ? std::vector<std::string>{"CBFB_MYH11", "NPM1", "PML_RARA", "RUNX1_RUNX1T1", "control"}
            : std::vector<std::string>{"reactive", "malignant"};
    std::set<std::string> used;
    for (size_t c = 0; c < cohort.classes.size(); ++c)
        for (int k = 0; k < o.patients_per_class; ++k) {
            uint64_t p = cohort.patients.size();
            SampleRng rng(o.seed, 0, p, kPlanSlot);
            SynthPatient patient;
            patient.label = cohort.classes[c];
            if (aml) {
                do patient.id = pseudonym(rng);
                while (!used.insert(patient.id).second);
            } else {
                patient.id = "P" + std::to_string(p + 1);
                draw_clinical(patient, rng);
            }
            patient.site = k % kNumSites;
            patient.look = patient_appearance(patient.site, float(o.domain_strength), rng);
            // The mix: class components at drawn shares (diagnostic ones scaled by the rate),
            // then for AML the normal differential filling the rest.
            std::vector<Component> parts = class_components(patient.label);
            std::vector<double> share;
            double special = 0;
            for (const Component& part : parts) {
                double s = rng.uniform(part.lo, part.hi);
                if (part.recipe != kNone) s *= o.diagnostic_rate;
                share.push_back(s);
                special += s;
            }
            if (aml) {
                double normal_total = 0;
                std::vector<double> normal;
                for (const Component& part : kNormalBlood) {
                    normal.push_back(rng.uniform(part.lo, part.hi));
                    normal_total += normal.back();
                }
                for (size_t i = 0; i < kNormalBlood.size(); ++i) {
                    parts.push_back(kNormalBlood[i]);
                    share.push_back(normal[i] / normal_total * std::max(0.0, 100 - special));
                }
            }
            std::vector<double> cumulative;
            double total = 0;
            for (double s : share) cumulative.push_back(total += s);
            int n = int(rng.integer(o.min_cells, int64_t(o.max_cells) + 1));
            std::map<std::string, double> counts;
            for (int i = 0; i < n; ++i) {
                size_t j = size_t(
                    std::upper_bound(cumulative.begin(), cumulative.end(), rng.uniform(0, total)) -
                    cumulative.begin());
                const Component& part = parts[std::min(j, parts.size() - 1)];
                CellSpec cell{part.type, draw_morphology(part.recipe, rng)};
                double u = rng.uniform();
                if (part.recipe != kNone && u < o.morphology_noise / 2) {
                    cell.morphology = {};  // a diagnostic cell without its features
                } else if (part.recipe == kNone && u < o.morphology_noise / 10 &&
                           (part.type == CellType::myeloblast ||
                            part.type == CellType::promyelocyte ||
                            part.type == CellType::eosinophil ||
                            part.type == CellType::lymphocyte_typical)) {
                    cell = mimic(o.kind, patient.label, rng);
                }
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
    return render_cell(p.cells.at(cell), cohort.options.image_size, p.look, rng);
}

int64_t write_cohort(const Cohort& cohort, const fs::path& root) {
    const CohortOptions& o = cohort.options;
    bool aml = o.kind == CohortKind::aml;
    fs::path images_root = aml ? root / "data" : root / "trainset";
    fs::path table_path = aml ? root / "metadata.csv" : images_root / "trainset_true.csv";
    fs::create_directories(images_root);
    std::ofstream table(table_path.string() + ".tmp"), cells(root / "cells.csv.tmp");
    if (!table || !cells) fail("write_cohort: cannot write into {}", root.string());
    std::vector<std::string> columns;
    for (int t = 0; t < kNumCellTypes; ++t) columns.push_back(column_of(CellType(t)));
    if (aml) {
        table << "patient_id,bag_label,site";
        for (const std::string& c : columns) table << "," << c;
    } else {
        table << "ID,LABEL,GENDER,DOB,LYMPH_COUNT";
    }
    table << "\n";
    cells << "patient_id,file,cell_type,morphology,diagnostic,site\n";
    int64_t written = 0;
    for (size_t p = 0; p < cohort.patients.size(); ++p) {
        const SynthPatient& patient = cohort.patients[p];
        fs::path dir = aml ? images_root / patient.label / patient.id : images_root / patient.id;
        fs::create_directories(dir);
        if (aml) {
            table << patient.id << "," << patient.label << "," << site_name(patient.site);
            for (const std::string& c : columns) {
                char value[32];
                std::snprintf(value, sizeof value, "%.1f", patient.differential.at(c));
                table << "," << value;
            }
        } else {
            table << patient.id << "," << (patient.label == "malignant" ? 1 : 0) << ","
                  << patient.gender << "," << patient.dob << "," << patient.lymph_count;
        }
        table << "\n";
        // Cells render independently (each is a function of its key): in parallel.
        int64_t n = int64_t(patient.cells.size());
        std::vector<std::string> errors(patient.cells.size());
#pragma omp parallel for schedule(dynamic, 4)
        for (int64_t i = 0; i < n; ++i) {
            try {
                fs::path path = dir / file_name(size_t(i), o.format);
                Image image = render_cohort_cell(cohort, p, size_t(i));
                if (o.format == "tif")
                    write_tiff(path, image);
                else if (o.format == "png")
                    write_png(path, image);
                else
                    write_jpeg(path, image, 95);
            } catch (const std::exception& e) {
                errors[size_t(i)] = e.what();
            }
        }
        for (const std::string& e : errors)
            if (!e.empty()) fail("write_cohort: {}", e);
        for (size_t i = 0; i < patient.cells.size(); ++i) {
            const CellSpec& cell = patient.cells[i];
            bool diagnostic = morphology_class(cell.morphology) == patient.label;
            cells << patient.id << "," << file_name(i, o.format) << "," << cell_type_name(cell.type)
                  << "," << cell.morphology.describe() << "," << (diagnostic ? 1 : 0) << ","
                  << site_name(patient.site) << "\n";
            ++written;
        }
    }
    table.close();
    cells.close();
    if (!table || !cells) fail("write_cohort: error writing the tables in {}", root.string());
    fs::rename(table_path.string() + ".tmp", table_path);
    fs::rename(root / "cells.csv.tmp", root / "cells.csv");
    return written;
}

}  // namespace marrow::data
