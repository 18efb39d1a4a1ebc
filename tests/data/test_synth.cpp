// The synthetic cohort: its plan (classes, bag sizes, diagnostic cells only where they belong,
// and only a minority), pure-function rendering, and a written cohort read back by the AML
// Hehr reader and decoded.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "data/csv.h"
#include "data/datasets.h"
#include "data/loader.h"
#include "data/synth_cohort.h"
#include "marrow.h"

using namespace marrow;
using namespace marrow::data;

namespace {

double mean_of(const Image& img, int y0, int x0, int size) {
    double s = 0;
    for (int y = y0; y < y0 + size; ++y)
        for (int x = x0; x < x0 + size; ++x)
            for (int c = 0; c < 3; ++c) s += img.at(y, x, c);
    return s / (3.0 * size * size);
}

}  // namespace

TEST_CASE("cohort plan: five classes, bag sizes, diagnostic cells a minority of their class") {
    Cohort cohort = plan_cohort({.patients_per_class = 6,
                                 .min_cells = 60,
                                 .max_cells = 200,
                                 .image_size = 64,
                                 .seed = 3,
                                 .morphology_noise = 0});
    REQUIRE(cohort.patients.size() == 30);
    std::set<std::string> ids;
    for (const SynthPatient& p : cohort.patients) {
        CAPTURE(p.id);
        ids.insert(p.id);
        CHECK(p.cells.size() >= 60);
        CHECK(p.cells.size() <= 200);
        size_t diagnostic = 0;
        for (const CellSpec& c : p.cells) {
            diagnostic += morphology_class(c.morphology) == p.label;
            const Morphology& m = c.morphology;
            if (p.label != "PML_RARA") CHECK(!(m.hypergranular || m.auer_bundle || m.bilobed));
            if (p.label != "NPM1") CHECK(!m.cup_nucleus);
            if (p.label != "CBFB_MYH11") CHECK(!(m.myelomonocytic || m.abnormal_granules));
            if (p.label != "RUNX1_RUNX1T1")
                CHECK(!(m.single_auer_rod || m.perinuclear_clearing || m.salmon_cytoplasm));
        }
        CHECK(p.site == int(&p - &cohort.patients[0]) % 6 % 3);  // 2 per site and class
        double fraction = double(diagnostic) / double(p.cells.size());
        if (p.label == "control") {
            CHECK(diagnostic == 0);
        } else {
            CHECK(fraction > 0.03);
            CHECK(fraction < 0.5);
        }
        double sum = 0;
        for (const auto& [col, pct] : p.differential) sum += pct;
        CHECK(sum == doctest::Approx(100.0));
    }
    CHECK(ids.size() == 30);
    Cohort again = plan_cohort(cohort.options);
    CHECK(again.patients[7].id == cohort.patients[7].id);
    CHECK(again.patients[7].cells.size() == cohort.patients[7].cells.size());
}

TEST_CASE("every cell type and morphology renders; an image is a function of its key") {
    Appearance stain;
    for (int t = 0; t < kNumCellTypes; ++t) {
        CAPTURE(cell_type_name(CellType(t)));
        SampleRng a(1, 2, uint64_t(t), 0), b(1, 2, uint64_t(t), 0);
        Image x = render_cell({CellType(t), {}}, 64, stain, a);
        Image y = render_cell({CellType(t), {}}, 64, stain, b);
        CHECK(x.pixels == y.pixels);
        // The cell sits in the middle: the centre differs from the pale plasma colour.
        CHECK(mean_of(x, 26, 26, 12) < 225);
    }
    Morphology all;
    all.auer_bundle = all.hypergranular = all.bilobed = all.cup_nucleus = true;
    all.single_auer_rod = all.perinuclear_clearing = all.salmon_cytoplasm = true;
    SampleRng r(4, 0, 0, 0);
    Image m = render_cell({CellType::promyelocyte, all}, 48, stain, r);
    CHECK(m.width == 48);
    CHECK(all.describe() ==
          "auer_bundle;hypergranular;bilobed;cup_nucleus;single_auer_rod;perinuclear_clearing;"
          "salmon_cytoplasm");
    SampleRng tiny(0, 0, 0, 0);
    CHECK_THROWS_WITH_AS(render_cell({}, 8, stain, tiny), doctest::Contains("too small"), Error);
}

TEST_CASE("a written cohort is an AML Hehr dataset: read, joined, decoded") {
    if (!image_io_available()) return;
    fs::path root = fs::temp_directory_path() / "marrow_synth_cohort";
    fs::remove_all(root);
    Cohort cohort = plan_cohort(
        {.patients_per_class = 1, .min_cells = 5, .max_cells = 8, .image_size = 40, .seed = 9});
    int64_t written = write_cohort(cohort, root);
    BagDataset ds = read_aml_hehr(root);
    CHECK(ds.classes == cohort.classes);
    int64_t images = 0;
    for (const Patient& p : ds.patients) {
        images += int64_t(p.images.size());
        CHECK(p.metadata.count("pb_myeloblast") == 1);
    }
    CHECK(images == written);
    CsvTable cells = read_csv(root / "cells.csv");
    CHECK(int64_t(cells.rows.size()) == written);
    Image first = read_image(ds.patients[0].images[0]);
    size_t p0 = 0;
    while (cohort.patients[p0].id != ds.patients[0].id) ++p0;
    CHECK(first.pixels == render_cohort_cell(cohort, p0, 0).pixels);
    fs::remove_all(root);
}

TEST_CASE("difficulty knobs: diagnostic rate, morphology noise, domain strength") {
    auto count = [](const Cohort& c, bool own) {
        int64_t n = 0;
        for (const SynthPatient& p : c.patients)
            for (const CellSpec& cell : p.cells) {
                std::string cls = morphology_class(cell.morphology);
                n += own ? cls == p.label : (!cls.empty() && cls != p.label);
            }
        return n;
    };
    CohortOptions o{.patients_per_class = 3, .min_cells = 100, .max_cells = 100, .seed = 1};
    o.diagnostic_rate = 0;
    o.morphology_noise = 0;
    CHECK(count(plan_cohort(o), true) == 0);
    o.diagnostic_rate = 1;
    int64_t clean = count(plan_cohort(o), true);
    CHECK(count(plan_cohort(o), false) == 0);
    o.morphology_noise = 0.5;
    Cohort noisy = plan_cohort(o);
    CHECK(count(noisy, false) > 0);     // ordinary cells showing another class's morphology
    CHECK(count(noisy, true) < clean);  // diagnostic cells that lost theirs

    Appearance ref = site_appearance(0, 1), b = site_appearance(1, 1), flat = site_appearance(1, 0);
    CHECK(ref.hue_shift == 0);
    CHECK(ref.scale == 1);
    CHECK(b.blur_sigma > 0);
    CHECK(b.scale != 1);
    CHECK(flat.hue_shift == 0);
    CHECK(flat.blur_sigma == 0);
    CHECK(site_name(2) == "site_c");
}

TEST_CASE("lymphocytosis cohort: the challenge layout, clinical attributes tied to the label") {
    if (!image_io_available()) return;
    fs::path root = fs::temp_directory_path() / "marrow_synth_lympho";
    fs::remove_all(root);
    CohortOptions o{.kind = CohortKind::lymphocytosis,
                    .patients_per_class = 12,
                    .min_cells = 2,
                    .max_cells = 3,
                    .image_size = 32,
                    .seed = 2,
                    .format = "jpg"};
    Cohort cohort = plan_cohort(o);
    write_cohort(cohort, root);
    BagDataset ds = read_lymphocytosis(root);
    REQUIRE(ds.patients.size() == 24);
    double age[2] = {0, 0}, count[2] = {0, 0};
    for (const Patient& p : ds.patients) {
        REQUIRE((p.label == 0 || p.label == 1));
        age[p.label] += *p.age_years / 12;
        count[p.label] += *p.lymph_count / 12;
        CHECK(read_image(p.images[0]).width == 32);
    }
    CHECK(age[1] > age[0] + 5);      // malignant patients are older on average
    CHECK(count[1] > count[0] + 3);  // and have higher lymphocyte counts
    // The written DOB round-trips to the planned age (within a day).
    const SynthPatient& first = cohort.patients[0];
    auto it = std::find_if(ds.patients.begin(), ds.patients.end(),
                           [&](const Patient& p) { return p.id == first.id; });
    REQUIRE(it != ds.patients.end());
    CHECK(*it->age_years == doctest::Approx(first.age).epsilon(0.001));
    fs::remove_all(root);
}

TEST_CASE("same seed, same bytes") {
    if (!image_io_available()) return;
    fs::path a = fs::temp_directory_path() / "marrow_synth_a";
    fs::path b = fs::temp_directory_path() / "marrow_synth_b";
    fs::remove_all(a);
    fs::remove_all(b);
    CohortOptions o{
        .patients_per_class = 1, .min_cells = 3, .max_cells = 4, .image_size = 32, .seed = 5};
    write_cohort(plan_cohort(o), a);
    write_cohort(plan_cohort(o), b);
    int64_t compared = 0;
    for (const auto& entry : fs::recursive_directory_iterator(a)) {
        if (!entry.is_regular_file()) continue;
        fs::path other = b / fs::relative(entry.path(), a);
        std::ifstream x(entry.path(), std::ios::binary), y(other, std::ios::binary);
        std::string bx{std::istreambuf_iterator<char>(x), {}},
            by{std::istreambuf_iterator<char>(y), {}};
        CHECK_MESSAGE(bx == by, entry.path().string());
        ++compared;
    }
    CHECK(compared > 10);
    fs::remove_all(a);
    fs::remove_all(b);
}

TEST_CASE("single-cell layouts filled by the generator: read, decoded, a corrupt file reported") {
    if (!image_io_available()) return;
    fs::path root = fs::temp_directory_path() / "marrow_synth_layouts";
    fs::remove_all(root);
    Appearance look;
    auto cell = [&](CellType type, uint64_t k) {
        SampleRng rng(3, 0, k, 0);
        return render_cell({type, {}}, 32, look, rng);
    };
    // Matek-19: TIFF class folders; Acevedo: nested JPEG groups; BMC: JPEG range folders.
    for (int i = 0; i < 3; ++i) {
        std::string n = "000" + std::to_string(i + 1);
        fs::create_directories(root / "matek/MYO");
        fs::create_directories(root / "matek/LYT");
        write_tiff(root / "matek/MYO" / ("MYO_" + n + ".tiff"), cell(CellType::myeloblast, 10 + i));
        write_tiff(root / "matek/LYT" / ("LYT_" + n + ".tiff"),
                   cell(CellType::lymphocyte_typical, 20 + i));
        fs::create_directories(root / "acevedo/PBC_dataset_normal_DIB/neutrophil");
        write_jpeg(root / "acevedo/PBC_dataset_normal_DIB/neutrophil" / ("SNE_" + n + ".jpg"),
                   cell(CellType::neutrophil_segmented, 30 + i));
        fs::create_directories(root / "bmc/EOS/0001-1000");
        write_jpeg(root / "bmc/EOS/0001-1000" / ("EOS_0" + n + ".jpg"),
                   cell(CellType::eosinophil, 40 + i));
    }
    std::ofstream(root / "matek/MYO/MYO_0009.tiff") << std::string("II*\0garbage", 11);  // corrupt
    for (CellDataset cells : {read_matek19(root / "matek"), read_acevedo(root / "acevedo", true),
                              read_bmc(root / "bmc")}) {
        CAPTURE(cells.name);
        ImageDataset ds(cells, eval_transform(16));
        Loader loader(ds, {.batch_size = 4,
                           .sampling = Sampling::sequential,
                           .workers = 2,
                           .skip_bad_files = true});
        loader.start_epoch(0);
        int64_t seen = 0;
        while (auto b = loader.next()) {
            seen += int64_t(b->indices.size());
            CHECK(b->tensors[0].size(1) == 3);
        }
        bool corrupt = cells.name == "matek19";
        CHECK(seen == int64_t(cells.samples.size()) - (corrupt ? 1 : 0));
        REQUIRE(loader.bad_files().size() == (corrupt ? 1u : 0u));
        if (corrupt)
            CHECK(loader.bad_files()[0].find("MYO_0009.tiff: cannot decode TIFF") !=
                  std::string::npos);
    }
    fs::remove_all(root);
}
