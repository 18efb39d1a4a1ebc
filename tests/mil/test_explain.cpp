// Per-cell explanations (mil/explain.h) against their definitions (ssl_mil_spec.md 8.5): the
// occlusion of cell i is the logits of the bag run without cell i minus the full bag's; the
// solitary prediction is the prediction for a bag of two copies of the cell. Then the
// attention table, attention per cell type and the attention audit on hand-made attention.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "data/csv.h"
#include "mil/explain.h"
#include "tensor/error.h"
#include "tensor/factory.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

namespace {

void check_close(const Tensor& ours, const Tensor& ref, const std::string& what) {
    REQUIRE_MESSAGE(ours.shape() == ref.shape(), what);
    Comparison cmp = compare(ours, ref, tolerance(TolClass::reduction, DType::f64));
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

Tensor drop_row(const Tensor& x, int64_t i) {
    std::vector<int64_t> keep;
    for (int64_t j = 0; j < x.size(0); ++j)
        if (j != i) keep.push_back(j);
    return index_select(x, 0, from_vector(keep, {int64_t(keep.size())}));
}

// A prediction with the given attention row (one head) and label.
mil::BagPrediction with_attention(const std::string& id, int64_t label,
                                  const std::vector<double>& a) {
    Tensor att = from_vector(a, {1, int64_t(a.size())});
    return {id, label, label, {}, {}, 0.0, att, att, zeros({1, 1}, DType::f64)};
}

}  // namespace

TEST_CASE("explain_bag: occlusion and solitary predictions match their definitions") {
    Generator gen(4);
    std::vector<std::shared_ptr<mil::MilModel>> models = {
        std::make_shared<mil::Amil>(
            mil::AmilOptions{
                .classes = 3, .in = 4, .embed = 10, .attention_hidden = 6, .classifier_hidden = 5},
            &gen),
        std::make_shared<mil::AttentionMil>(
            mil::AttentionMilOptions{.in = 4, .classes = 3, .embed = 8, .attention_hidden = 6},
            &gen),
        std::make_shared<mil::MeanPoolMil>(mil::AttentionMilOptions{.in = 4, .classes = 3}, &gen),
    };
    for (auto& model : models) {
        CAPTURE(model->type_name());
        model->to(DType::f64);
        Shape s = model->instance_rank() == 3 ? Shape{6, 4, 5, 5} : Shape{6, 4};
        Tensor bag = randn(s, DType::f64, Device::cpu(), gen);
        mil::CellExplanation e = mil::explain_bag(*model, bag);
        autograd::NoGradGuard no_grad;
        Tensor full_logits = model->forward(bag).logits;
        for (int64_t i = 0; i < 6; ++i) {
            CAPTURE(i);
            Tensor without = model->forward(drop_row(bag, i)).logits - full_logits;
            check_close(narrow(e.occlusion, 0, i, 1), without, "occlusion");
            Tensor cell = narrow(bag, 0, i, 1);
            Tensor two = model->forward(cat({cell, cell}, 0)).logits;
            check_close(narrow(e.solitary_logits, 0, i, 1), two, "solitary logits");
            check_close(narrow(e.solitary_probability, 0, i, 1), softmax(two, 1), "solitary p");
        }
    }
    // one cell: no bag without it
    auto& abmil = *models[1];
    mil::CellExplanation one =
        mil::explain_bag(abmil, randn({1, 4}, DType::f64, Device::cpu(), gen));
    CHECK(std::isnan(one.occlusion.data<double>()[0]));
    CHECK_THROWS_WITH_AS(mil::explain_bag(abmil, zeros({3, 5}, DType::f64)),
                         doctest::Contains("4 features"), Error);
}

TEST_CASE("write_attention_csv: one row per cell and head, with names and explanations") {
    Generator gen(2);
    mil::Amil model({.classes = 2, .in = 3, .spatial = false, .embed = 6, .attention_hidden = 4});
    std::vector<mil::Bag> bags = {
        {"pat,1",
         0,
         randn({3, 3}, DType::f32, Device::cpu(), gen),
         {"a/001.tif", "a/002.tif", "a/003.tif"}},
        {"pat2", 1, randn({2, 3}, DType::f32, Device::cpu(), gen)},
    };
    auto preds = mil::predict_bags(model, bags);
    std::vector<mil::CellExplanation> ex;
    for (const auto& b : bags) ex.push_back(mil::explain_bag(model, b.instances));
    auto path = std::filesystem::temp_directory_path() / "marrow_attention_test.csv";
    mil::write_attention_csv(path, bags, preds, {"control", "NPM1"}, &ex);
    data::CsvTable t = data::read_csv(path);
    CHECK(t.header == std::vector<std::string>{"patient", "cell", "label", "predicted", "head",
                                               "attention_raw", "attention", "relative_attention",
                                               "occlusion", "solitary_probability"});
    REQUIRE(t.rows.size() == (3 + 2) * 2);  // cells x class-wise heads
    CHECK(t.rows[0][0] == "pat,1");         // quoted and read back
    CHECK(t.rows[0][1] == "a/001.tif");
    CHECK(t.rows[0][2] == "control");
    CHECK(t.rows[0][4] == "control");
    CHECK(t.rows[3][4] == "NPM1");
    CHECK(t.rows[6][1] == "0");  // unnamed cells: their index
    double sum = 0;
    for (int r = 0; r < 3; ++r) sum += std::stod(t.rows[r][7]);
    CHECK(sum == doctest::Approx(3));  // relative attention averages 1 over a head's cells
    std::filesystem::remove(path);
}

TEST_CASE("attention_audit and attention_by_cell_type on hand-made attention") {
    std::vector<mil::BagPrediction> preds = {
        with_attention("a", 1, {0.1, 0.6, 0.1, 0.2}),  // diagnostic cells 1 and 3 on top: AUC 1
        with_attention("b", 1, {0.4, 0.1, 0.4, 0.1}),  // diagnostic cells at the bottom: AUC 0
        with_attention("c", 0, {0.5, 0.5}),            // no diagnostic cell: NaN, skipped
    };
    std::vector<std::vector<bool>> diagnostic = {
        {false, true, false, true}, {false, true, false, true}, {false, false}};
    mil::AttentionAudit audit = mil::attention_audit(preds, diagnostic, 2);
    REQUIRE(audit.patients.size() == 3);
    CHECK(audit.patients[0].auc == doctest::Approx(1.0));
    CHECK(audit.patients[1].auc == doctest::Approx(0.0));
    CHECK(std::isnan(audit.patients[2].auc));
    CHECK(audit.patients[0].diagnostic == 2);
    CHECK(audit.per_class[1].mean == doctest::Approx(0.5));
    CHECK(audit.per_class[1].n == 2);
    CHECK(audit.per_class[0].n == 0);
    CHECK(audit.overall.n == 2);
    nlohmann::json j = audit.to_json({"control", "AML"});
    CHECK(j["per_class"]["AML"]["mean"].get<double>() == doctest::Approx(0.5));
    CHECK(j["per_class"]["control"]["mean"].is_null());

    auto by_type =
        mil::attention_by_cell_type(preds, {{"blast", "promyelocyte", "blast", "lymphocyte"},
                                            {"blast", "promyelocyte", "blast", "lymphocyte"},
                                            {"neutrophil", "neutrophil"}});
    // relative attention = a x N: promyelocyte 0.6 x 4 and 0.1 x 4
    CHECK(by_type["promyelocyte"].mean == doctest::Approx((2.4 + 0.4) / 2));
    CHECK(by_type["neutrophil"].mean == doctest::Approx(1.0));
    CHECK(by_type["blast"].n == 4);
    CHECK_THROWS_WITH_AS(mil::attention_audit(preds, {{true}}, 2),
                         doctest::Contains("ground truth for 1 bags"), Error);
}
