// Dataset readers on miniature copies of each public layout, built in a temporary folder
// (files are empty: readers list, they do not decode), and their errors for wrong roots.
#include <doctest/doctest.h>

#include <fstream>

#include "data/csv.h"
#include "data/datasets.h"
#include "tensor/error.h"

using namespace marrow;
using namespace marrow::data;

namespace {

// A fresh folder per test case, removed at the end.
struct TempTree {
    fs::path root;
    explicit TempTree(const std::string& name)
        : root(fs::temp_directory_path() / ("marrow_test_" + name)) {
        fs::remove_all(root);
        fs::create_directories(root);
    }
    ~TempTree() { fs::remove_all(root); }
    void file(const std::string& rel, const std::string& content = "") const {
        fs::create_directories((root / rel).parent_path());
        std::ofstream(root / rel) << content;
    }
};

std::vector<std::string> names(const std::vector<fs::path>& paths) {
    std::vector<std::string> out;
    for (const fs::path& p : paths) out.push_back(p.filename().string());
    return out;
}

}  // namespace

TEST_CASE("csv: quotes, CRLF, BOM, and errors naming file and line") {
    CsvTable t = parse_csv("\xEF\xBB\xBFID,NOTE\r\nA,\"x, \"\"y\"\"\"\r\n\r\nB,z\n", "t.csv");
    CHECK(t.header == std::vector<std::string>{"ID", "NOTE"});
    REQUIRE(t.rows.size() == 2);
    CHECK(t.rows[0][1] == "x, \"y\"");
    CHECK(t.rows[1][0] == "B");
    CHECK_THROWS_WITH_AS(parse_csv("a,b\n1\n", "u.csv"),
                         doctest::Contains("u.csv:2: 1 fields, the header has 2"), Error);
    CHECK_THROWS_WITH_AS(t.column("LABEL"), doctest::Contains("t.csv: no column 'LABEL'"), Error);
}

TEST_CASE("AML Hehr: patients from folders, metadata joined, ._ files skipped, blast filter") {
    TempTree t("aml");
    t.file("data/PML_RARA/AAA/000.TIF");
    t.file("data/PML_RARA/AAA/001.TIF");
    t.file("data/PML_RARA/AAA/._000.TIF");
    t.file("data/control/CCC/000.TIF");
    t.file("data/NPM1/BBB/000.TIF");
    t.file("metadata.csv",
           "patient_id,bag_label,pb_myeloblast,pb_promyelocyte,pb_myelocyte\n"
           "AAA,PML_RARA,5,30,1\nBBB,NPM1,10,0,2\nCCC,control,0,0,0\n");
    BagDataset ds = read_aml_hehr(t.root);
    CHECK(ds.warnings.empty());
    CHECK(ds.classes == std::vector<std::string>{"NPM1", "PML_RARA", "control"});
    REQUIRE(ds.patients.size() == 3);
    CHECK(ds.patients[1].id == "AAA");
    CHECK(names(ds.patients[1].images) == std::vector<std::string>{"000.TIF", "001.TIF"});
    CHECK(ds.patients[1].metadata.at("pb_promyelocyte") == "30");
    CHECK(ds.class_counts() == std::vector<int64_t>{1, 1, 1});
    // --filter_diff 20: BBB (12 %) goes, the control stays.
    BagDataset filtered = read_aml_hehr(t.root, 20);
    REQUIRE(filtered.patients.size() == 2);
    CHECK(filtered.patients[0].id == "AAA");
    CHECK(filtered.patients[1].id == "CCC");

    // A row for a patient without a folder is reported; two rows for one patient are an error.
    t.file("metadata.csv", "patient_id,bag_label\nAAA,PML_RARA\nZZZ,NPM1\nCCC,control\n");
    BagDataset extra = read_aml_hehr(t.root);
    CHECK(extra.patients.size() == 3);
    REQUIRE(extra.warnings.size() == 1);
    CHECK(extra.warnings[0].find((t.root / "metadata.csv").string() +
                                 " has a row for patient 'ZZZ', who has no image folder") !=
          std::string::npos);
    t.file("metadata.csv", "patient_id,bag_label\nAAA,PML_RARA\nAAA,NPM1\n");
    CHECK_THROWS_WITH_AS(read_aml_hehr(t.root),
                         doctest::Contains("metadata.csv: patient 'AAA' has more than one row"),
                         Error);
    t.file("metadata.csv", "patient_id,bag_label\nAAA,NPM1\n");
    CHECK_THROWS_WITH_AS(read_aml_hehr(t.root),
                         doctest::Contains("patient AAA is in data/PML_RARA/ but"), Error);
    CHECK_THROWS_WITH_AS(read_aml_hehr(t.root / "data"),
                         doctest::Contains("expected <root>/data/<bag_label>/<patient_id>"), Error);
}

TEST_CASE("Matek-19 with annotations.dat, BMC with range folders, Raabin splits") {
    TempTree t("cells");
    t.file("matek/BAS/BAS_0001.tiff");
    t.file("matek/MYO/MYO_0001.tiff");
    t.file("matek/MYO/MYO_0002.tiff");
    t.file("matek/annotations.dat",
           "BAS/BAS_0001.tiff BAS nan nan\nMYO/MYO_0002.tiff MYO MYB UNC\n");
    CellDataset m = read_matek19(t.root / "matek");
    CHECK(m.classes == std::vector<std::string>{"BAS", "MYO"});
    REQUIRE(m.samples.size() == 3);
    CHECK(m.samples[2].detail == "MYB UNC");
    CHECK(m.class_counts() == std::vector<int64_t>{1, 2});

    t.file("bmc/BM_cytomorphology_data/ABE/ABE_00001.jpg");
    t.file("bmc/BM_cytomorphology_data/NGB/0001-1000/NGB_00001.jpg");
    t.file("bmc/BM_cytomorphology_data/NGB/9001-9968/NGB_09454.jpg");
    CellDataset b = read_bmc(t.root / "bmc");
    CHECK(b.classes == std::vector<std::string>{"ABE", "NGB"});
    CHECK(b.class_counts() == std::vector<int64_t>{1, 2});

    t.file("raabin/TestB/Lymphocyte/a.jpg");
    t.file("raabin/TestB/Neutrophil/b.jpg");
    CHECK(read_raabin(t.root / "raabin", "TestB").classes.size() == 2);
    CHECK_THROWS_WITH_AS(read_raabin(t.root / "raabin", "Train"),
                         doctest::Contains("expected <root>/{Train,TestA,TestB}/<Class>"), Error);
    CHECK_THROWS_WITH_AS(read_matek19(t.root / "nothing"), doctest::Contains("is not a folder"),
                         Error);
}

TEST_CASE("Acevedo: nested root, folder groups, and DinoBloom's fine classes from prefixes") {
    TempTree t("acevedo");
    std::string base = "PBC_dataset_normal_DIB/PBC_dataset_normal_DIB/";
    for (const char* f :
         {"ig/PMY_1.jpg", "ig/MY_2.jpg", "ig/MMY_3.jpg", "ig/IG_4.jpg", "neutrophil/BNE_5.jpg",
          "neutrophil/SNE_6.jpg", "neutrophil/NEUTROPHIL_7.jpg", "lymphocyte/LY_8.jpg",
          "platelet/PLATELET_9.jpg"})
        t.file(base + f);
    CellDataset groups = read_acevedo(t.root);
    CHECK(groups.classes == std::vector<std::string>{"ig", "lymphocyte", "neutrophil", "platelet"});
    CHECK(groups.samples.size() == 9);
    CHECK(groups.samples[0].detail == "IG");
    CellDataset fine = read_acevedo(t.root, true);
    CHECK(fine.classes == std::vector<std::string>{"lymphocyte_typical", "metamyelocyte",
                                                   "myelocyte", "neutrophil_band",
                                                   "neutrophil_segmented", "promyelocyte"});
    CHECK(fine.samples.size() == 6);  // IG, NEUTROPHIL and platelet dropped
}

TEST_CASE("lymphocytosis: clinical attributes, both date formats, errors") {
    TempTree t("lympho");
    t.file("trainset/P1/a.jpg");
    t.file("trainset/P1/b.jpg");
    t.file("trainset/P2/a.jpg");
    t.file("trainset/trainset_true.csv",
           "ID,LABEL,GENDER,DOB,LYMPH_COUNT\nP1,1,M,15-06-1950,12.5\nP2,0,F,01/01/2000,4.1\n");
    BagDataset ds = read_lymphocytosis(t.root);
    CHECK(ds.warnings.empty());
    REQUIRE(ds.patients.size() == 2);
    CHECK(ds.patients[0].label == 1);
    CHECK(ds.patients[0].images.size() == 2);
    CHECK(*ds.patients[0].gender == 'M');
    CHECK(*ds.patients[0].lymph_count == 12.5);
    CHECK(*ds.patients[1].age_years == doctest::Approx(20.0).epsilon(0.001));
    CHECK(*ds.patients[0].age_years == doctest::Approx(69.55).epsilon(0.001));
    CHECK(parse_date_days("1970-01-02", "d") == 1);
    CHECK(parse_date_days("29/02/2000", "d") == parse_date_days("2000-02-29", "d"));
    CHECK_THROWS_WITH_AS(parse_date_days("29-02-2001", "DOB"), doctest::Contains("not a date"),
                         Error);
    // The shared clinical_annotation.csv lists both splits: a row whose folder is in the other
    // split is expected, a row with no folder anywhere is reported.
    fs::rename(t.root / "trainset/trainset_true.csv", t.root / "clinical_annotation.csv");
    t.file("clinical_annotation.csv", "ID,LABEL,GENDER,DOB,LYMPH_COUNT\nP1,1,M,15-06-1950,12.5\n"
                                      "P2,0,F,01/01/2000,4.1\nT1,-1,F,01/01/1990,3\n"
                                      "X9,0,M,01/01/1980,5\n");
    t.file("testset/T1/a.jpg");
    BagDataset shared = read_lymphocytosis(t.root);
    CHECK(shared.patients.size() == 2);
    REQUIRE(shared.warnings.size() == 1);
    CHECK(shared.warnings[0].find("a row for patient 'X9', who has no image folder") !=
          std::string::npos);
    CHECK(read_lymphocytosis(t.root, "testset").warnings.size() == 1);
    t.file("trainset/P3/a.jpg");
    CHECK_THROWS_WITH_AS(read_lymphocytosis(t.root), doctest::Contains("patient P3 has an image folder but no row"), Error);
}

TEST_CASE("path list: names, integers, comments and relative paths") {
    TempTree t("list");
    t.file("list.txt",
           "# SSL on any folder\nimgs/a.png cat\nimgs/b.png dog  # comment\n\n/abs/c.png cat\n");
    CellDataset ds = read_path_list(t.root / "list.txt");
    CHECK(ds.classes == std::vector<std::string>{"cat", "dog"});
    REQUIRE(ds.samples.size() == 3);
    CHECK(ds.samples[0].path == t.root / "imgs/a.png");
    CHECK(ds.samples[1].label == 1);
    CHECK(ds.samples[2].path == fs::path("/abs/c.png"));
    t.file("ints.txt", "a.png 2\nb.png\n");
    CellDataset ints = read_path_list(t.root / "ints.txt");
    CHECK(ints.classes.size() == 3);
    CHECK(ints.samples[1].label == -1);
    CHECK_THROWS_WITH_AS(read_path_list(t.root / "none.txt"),
                         doctest::Contains("cannot open path list"), Error);
    // From memory, as the fuzz target reads it; a huge integer label (fuzzing found it making
    // a billion class names) is an error naming the list and the line.
    CHECK(parse_path_list("a.png 1\n", "/l/list.txt").samples[0].path == fs::path("/l/a.png"));
    CHECK_THROWS_WITH_AS(parse_path_list("b.png 0\na.png 1061628893\n", "big.txt"),
                         doctest::Contains("big.txt:2: label 1061628893 (a list has at most"),
                         Error);
}
