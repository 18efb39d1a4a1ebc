// dinobloom_eval: DinoBloom's evaluation (seed 002) of any encoder checkpoint (a marrow encoder
// file, or a published ResNet / DINOv2 / DinoBloom .pth with --arch): frozen features of a
// cell-image dataset scored by 1-NN, 20-NN and the linear probe (DinoBloom's C) over stratified
// folds, and of an AML Hehr layout by gated ABMIL with DinoBloom's head over 5 patient-level
// folds; weighted F1 and balanced accuracy for each. The run directory holds run.json,
// cells/ (evaluate's results.json, predictions and report.html) and abmil/ (aml_ssl_mil's
// results.json, attention CSV and report.html).
//
//   dinobloom_eval --encoder runs/dino/encoder.safetensors --cells /data/Acevedo
//                  --aml /data/AML_Hehr --out runs/dinobloom_eval
//   dinobloom_eval --encoder DinoBloom-S.pth --arch vit_small --cells runs/synth
//                  --cell-labels cell_type --aml runs/synth
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "apps/progress.h"
#include "apps/run_record.h"
#include "eval/evaluation_report.h"
#include "eval/protocol.h"
#include "mil/experiment.h"
#include "ssl/encoder.h"
#include "ssl/feature_extraction.h"

using namespace marrow;
namespace fs = std::filesystem;

namespace {

Tensor features_of(ssl::Encoder& encoder, const ssl::ImageSource& source, int64_t image_size,
                   const std::string& label) {
    apps::ProgressBar bar(label, source.size());
    Tensor f = ssl::extract_features(encoder, source, {.image_size = image_size},
                                     [&](int64_t done, int64_t) { bar.update(done); });
    bar.finish(source.size());
    return f;
}

}  // namespace

int main(int argc, char** argv) try {
    std::string encoder_path, arch, cells, cells_layout = "auto", cell_labels, aml,
                                           out = "runs/dinobloom_eval";
    int64_t patch_size = 14, image_size = 0, mil_epochs = 0;
    int folds = 5;
    std::vector<uint64_t> seeds = {0};
    CLI::App cli{
        "DinoBloom's evaluation of a frozen encoder: kNN and linear probe on cells, "
        "ABMIL on AML patients"};
    cli.add_option("--encoder", encoder_path, "encoder file or published checkpoint")->required();
    cli.add_option("--arch", arch,
                   "for a published checkpoint: resnet18 | resnet50 | vit_small "
                   "| vit_base | vit_large");
    cli.add_option("--patch-size", patch_size, "ViT patch size (with --arch)");
    cli.add_option("--image-size", image_size, "resize cells to N x N (0: the encoder's size)");
    cli.add_option("--cells", cells,
                   "a cell-image dataset (Acevedo, Matek-19, Raabin, BMC, class "
                   "folders, or a bag layout with --cell-labels)");
    cli.add_option("--cells-layout", cells_layout, "its layout")
        ->check(CLI::IsMember(ssl::image_layouts()));
    cli.add_option("--cell-labels", cell_labels,
                   "label the cells by this column of "
                   "<cells>/cells.csv (e.g. cell_type)");
    cli.add_option("--aml", aml, "an AML Hehr layout for the ABMIL evaluation");
    cli.add_option("--folds", folds, "stratified folds for both")->check(CLI::Range(2, 20));
    cli.add_option("--seeds", seeds, "ABMIL seeds")->delimiter(',');
    cli.add_option("--mil-epochs", mil_epochs, "ABMIL epochs (0: the seed-000 preset's 50)");
    cli.add_option("--out", out, "run directory");
    CLI11_PARSE(cli, argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    MARROW_CHECK(!cells.empty() || !aml.empty(), "dinobloom_eval: give --cells, --aml or both");

    std::optional<ssl::EncoderSpec> spec;
    if (!arch.empty()) spec = ssl::EncoderSpec{.arch = arch, .patch_size = patch_size};
    ssl::LoadedEncoder loaded = ssl::load_encoder(encoder_path, spec);
    ssl::Encoder& encoder = *loaded.encoder;
    nlohmann::json flags = {{"encoder", encoder_path},
                            {"spec", encoder.spec().to_json()},
                            {"cells", cells},
                            {"cell_labels", cell_labels},
                            {"aml", aml},
                            {"folds", folds},
                            {"seeds", seeds},
                            {"image_size", image_size}};
    apps::RunRecord record(out, "dinobloom_eval", flags, seeds.front(), {encoder_path});
    nlohmann::json summary = nlohmann::json::object();

    if (!cells.empty()) {  // 1-NN, 20-NN, linear probe (DinoBloom's C = 100 / (M C_cls))
        ssl::ImageSource source = ssl::open_image_source(cells, cells_layout);
        if (!cell_labels.empty()) ssl::relabel_cells(source, cells + "/cells.csv", cell_labels);
        eval::LabelledFeatures data{.features = features_of(encoder, source, image_size, "cells"),
                                    .labels = source.labels,
                                    .class_names = source.classes,
                                    .groups = {},
                                    .split = {source.split.begin(), source.split.end()},
                                    .images = std::nullopt};
        eval::ProtocolOptions po{
            .methods = {"knn1", "knn20", "logreg"}, .folds = folds, .logreg_c = 0};
        eval::ProtocolResult result = eval::run_protocol(data, po);
        const std::string dir = out + "/cells";
        fs::create_directories(dir);
        nlohmann::json run_json;
        std::ifstream(out + "/run.json") >> run_json;
        eval::write_evaluation(dir, result, data, run_json, {.embedding_points = 2000});
        std::fputs(eval::summary_table(result).c_str(), stdout);
        for (const eval::SummaryRow& row : eval::summarize(result))
            summary["cells"][row.method] = {
                {"f1_weighted", row.metrics.at("f1_weighted").mean},
                {"balanced_accuracy", row.metrics.at("balanced_accuracy").mean}};
    }
    if (!aml.empty()) {  // gated ABMIL with DinoBloom's head over patient-level folds
        ssl::ImageSource source = ssl::open_image_source(aml, "aml_hehr");
        mil::FeatureBags fb =
            mil::bags_from_source(source, features_of(encoder, source, image_size, "AML cells"));
        mil::MilCvOptions cv{.model = "abmil",
                             .folds = "stratified",
                             .k = folds,
                             .seeds = seeds,
                             .train = mil::MilTrainOptions::ssl_mil_seed(),
                             .explain = true,
                             .standardize = true};
        cv.train.flip_instances = false;
        if (mil_epochs > 0) cv.train.max_epochs = mil_epochs;
        apps::ProgressBar bar("ABMIL runs", int64_t(seeds.size()) * folds);
        mil::EncoderRow row = mil::evaluate_encoder(
            fs::path(encoder_path).stem().string(), fb.bags, fb.class_names, cv,
            [&](int done, int, const mil::MilFoldRun&) { bar.update(done); });
        bar.finish(int64_t(row.cv.runs.size()));
        if (fs::exists(aml + "/cells.csv"))
            mil::analyze_cells(row, mil::read_cell_annotations(aml + "/cells.csv", row.bags));
        const fs::path dir = fs::path(out) / "abmil";
        fs::create_directories(dir);
        fs::copy_file(fs::path(out) / "run.json", dir / "run.json",
                      fs::copy_options::overwrite_existing);
        mil::write_attention(dir / "attention.csv", row);
        mil::write_results(dir, {row});
        mil::write_report(dir, {row}, {.title = "ABMIL on AML patients (DinoBloom's protocol)"});
        const auto& s = row.cv.summary;
        std::printf("ABMIL: weighted F1 %s  balanced accuracy %s\n",
                    eval::format_mean_sd(s.at("f1_weighted"), 3).c_str(),
                    eval::format_mean_sd(s.at("balanced_accuracy"), 3).c_str());
        summary["abmil"] = {{"f1_weighted", s.at("f1_weighted").mean},
                            {"balanced_accuracy", s.at("balanced_accuracy").mean}};
    }
    record.finish(summary);
    std::printf("reports: %s%s\n", cells.empty() ? "" : (out + "/cells/report.html ").c_str(),
                aml.empty() ? "" : (out + "/abmil/report.html").c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "dinobloom_eval: error: %s\n", e.what());
    return 1;
}
