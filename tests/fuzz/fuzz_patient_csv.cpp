// Fuzz target: the patient tables the bag readers join to their image folders
// (data/datasets.h): the bytes become both AML Hehr's metadata.csv (patient_id, bag_label,
// blast percentages, with the blast filter on) and the lymphocytosis trainset CSV (ID, LABEL,
// GENDER, DOB, LYMPH_COUNT), each joined onto two patients as the folder scans would find
// them. In memory: the joins are what parses, the scans only list folders.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "data/csv.h"
#include "data/datasets.h"
#include "tensor/error.h"

namespace {

using marrow::data::BagDataset;
using marrow::data::Patient;

Patient patient(const char* id, int label, const char* image) {
    Patient p;
    p.id = id;
    p.label = label;
    p.images = {image};
    return p;
}

// Two patients per dataset, as the scans of data/{NPM1/P1,control/P2} and trainset/{P1,P2} give.
BagDataset aml_patients() {
    BagDataset ds{"aml_hehr", {"NPM1", "control"}, {}, {}};
    ds.patients = {patient("P1", 0, "/fuzz/aml/data/NPM1/P1/0.tif"),
                   patient("P2", 1, "/fuzz/aml/data/control/P2/0.tif")};
    return ds;
}

BagDataset lymphocytosis_patients() {
    BagDataset ds{"lymphocytosis", {"reactive", "malignant"}, {}, {}};
    ds.patients = {patient("P1", -1, "/fuzz/lympho/trainset/P1/0.jpg"),
                   patient("P2", -1, "/fuzz/lympho/trainset/P2/0.jpg")};
    return ds;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        BagDataset ds = aml_patients();
        marrow::data::join_aml_hehr_metadata(
            ds, marrow::data::parse_csv(text, "/fuzz/aml/metadata.csv"), 20);
        for (const Patient& p : ds.patients)
            if (p.label < 0 || p.label >= int(ds.classes.size())) std::abort();
    } catch (const marrow::Error&) {
    }
    try {
        BagDataset ds = lymphocytosis_patients();
        marrow::data::join_lymphocytosis_table(
            ds, marrow::data::parse_csv(text, "/fuzz/lympho/trainset/trainset_true.csv"),
            {"P1", "P2"});
        for (const Patient& p : ds.patients)
            if (p.label < -1 || p.label > 1 || !p.age_years || !p.gender) std::abort();
    } catch (const marrow::Error&) {
    }
    return 0;
}
