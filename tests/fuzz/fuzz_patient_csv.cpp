// Fuzz target: the patient tables the bag readers join to their image folders
// (data/datasets.h): the bytes become both AML Hehr's metadata.csv (patient_id, bag_label,
// blast percentages, with the blast filter on) and the lymphocytosis trainset CSV (ID, LABEL,
// GENDER, DOB, LYMPH_COUNT), in a small folder tree made once per process. The readers take
// paths, so the bytes go through a file.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "data/datasets.h"
#include "tensor/error.h"

namespace fs = std::filesystem;

namespace {

// <tmp>/aml/data/{NPM1/P1,control/P2}/0.tif and <tmp>/lympho/trainset/{P1,P2}/0.jpg (empty
// files: the readers list images, they do not decode them), removed at exit.
struct Tree {
    fs::path root =
        fs::temp_directory_path() / ("marrow_fuzz_patient_csv_" + std::to_string(getpid()));
    Tree() {
        for (std::string dir : {"aml/data/NPM1/P1", "aml/data/control/P2", "lympho/trainset/P1",
                                "lympho/trainset/P2"}) {
            fs::create_directories(root / dir);
            std::ofstream(root / dir / (dir.starts_with("aml") ? "0.tif" : "0.jpg"));
        }
    }
    ~Tree() { fs::remove_all(root); }
};

void write(const fs::path& path, const uint8_t* data, size_t size) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(data),
                                                std::streamsize(size));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const Tree tree;
    const fs::path& root = tree.root;
    write(root / "aml/metadata.csv", data, size);
    try {
        marrow::data::BagDataset ds = marrow::data::read_aml_hehr(root / "aml", 20);
        for (const marrow::data::Patient& p : ds.patients)
            if (p.label < 0 || p.label >= int(ds.classes.size())) std::abort();
    } catch (const marrow::Error&) {
    }
    write(root / "lympho/trainset/trainset_true.csv", data, size);
    try {
        marrow::data::BagDataset ds = marrow::data::read_lymphocytosis(root / "lympho");
        for (const marrow::data::Patient& p : ds.patients)
            if (p.label < -1 || p.label > 1 || !p.age_years || !p.gender) std::abort();
    } catch (const marrow::Error&) {
    }
    return 0;
}
