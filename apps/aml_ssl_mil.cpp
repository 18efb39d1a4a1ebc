// aml_ssl_mil: the SSL-MIL seed's experiment (000) end to end on an AML Hehr layout, real or
// synthetic: encoders (self-supervised, supervised on the cells' types, random, or given
// files), their features of every cell, SCEMILA's class-wise attention MIL cross-validated over
// patients (5 folds x seeds), and in the run directory run.json, metrics.jsonl (one line per
// encoder), results.json, <encoder>_attention.csv (every test cell's attention, occlusion and
// solitary prediction) and report.html: Table 1 per encoder side by side, confusion matrices,
// ROC curves, attention by cell type, UMAPs of the cell features, the most attended cells, and
// the attention audit against the synthetic cohort's per-cell ground truth.
//
//   aml_ssl_mil --synthetic 20 --out runs/aml                  (renders the cohort first)
//   aml_ssl_mil --data /data/AML_Hehr --encoders dino,supervised --encoder mine=enc.safetensors
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "apps/encoders.h"
#include "apps/progress.h"
#include "apps/run_record.h"
#include "data/synth_cohort.h"
#include "mil/experiment.h"

using namespace marrow;
namespace fs = std::filesystem;

int main(int argc, char** argv) try {
    std::string data_path, out = "runs/aml_ssl_mil", stem = "small_pool", preset = "scemila";
    int synthetic = 0;
    data::CohortOptions cohort{.min_cells = 40, .max_cells = 80, .image_size = 32};
    std::vector<std::string> encoders = {"simclr", "swav", "dino", "supervised", "random"};
    std::vector<std::string> given, feature_files;  // name=path
    std::string accumulation;
    double mil_lr = 0;
    int64_t accumulate = 0, max_instances = -1;
    apps::EncoderRecipe recipe;
    mil::MilCvOptions cv;
    cv.explain = true;
    cv.standardize = true;
    int64_t mil_epochs = 0, umap_cells = 3000;
    std::vector<std::string> requirements;  // encoder=min balanced accuracy
    double max_seconds = 0;
    CLI::App cli{"SSL encoders + attention MIL for AML subtypes, cross-validated over patients"};
    cli.add_option("--data", data_path, "an AML Hehr layout (data/<label>/<patient>/*.tif)");
    cli.add_option("--synthetic", synthetic,
                   "render a synthetic cohort of N patients per class "
                   "into <out>/cohort and use it")
        ->check(CLI::PositiveNumber);
    cli.add_option("--cells", cohort.max_cells,
                   "synthetic: at most this many cells per patient "
                   "(at least half as many)")
        ->check(CLI::Range(2, 500));
    cli.add_option("--domain-strength", cohort.domain_strength,
                   "synthetic: how different the three acquisition sites look");
    CLI::Option* encoders_flag = cli.add_option("--encoders", encoders,
                                                "encoders to train or build: simclr, swav, dino, "
                                                "supervised, random (default: all five, or none "
                                                "when --encoder or --features is given)")
                                     ->delimiter(',');
    cli.add_option("--encoder", given, "an encoder file as name=path (repeatable)");
    cli.add_option("--features", feature_files,
                   "a features file of this data (extract_features --per-bag) or a folder "
                   "in SCEMILA's layout (data/<label>/<patient>/fnl34_bn_features_layer_7.npy) "
                   "as name=path (repeatable)");
    cli.add_option("--arch", recipe.arch, "encoder backbone");
    cli.add_option("--stem", stem, "ResNet stem: imagenet, small or small_pool");
    cli.add_option("--image-size", recipe.image_size,
                   "crop and extraction size (synthetic: the "
                   "rendered size too)")
        ->check(CLI::Range(16, 512));
    cli.add_option("--epochs", recipe.epochs, "encoder training epochs")
        ->check(CLI::PositiveNumber);
    cli.add_option("--supervised-epochs", recipe.supervised_epochs,
                   "the supervised encoder's epochs (0: --epochs)");
    cli.add_option("--batch-size", recipe.batch_size, "encoder training batch")
        ->check(CLI::PositiveNumber);
    cli.add_option("--ssl-set", recipe.ssl_sets,
                   "a self-supervised config field as key=value, or method:key=value for "
                   "one method (e.g. out_dim=4096 dino:lr=2e-3; repeatable)");
    cli.add_option("--model", cv.model,
                   "amil (SCEMILA), amil_single, abmil, abmil_plain, meanpool");
    cli.add_option("--preset", preset,
                   "MIL training: scemila (lr 5e-5, 20 bags per step, 150 "
                   "epochs) or seed000 (lr 0.015 cosine, 10 bags, 50 epochs)")
        ->check(CLI::IsMember({"scemila", "seed000"}));
    cli.add_option("--mil-epochs", mil_epochs, "MIL epochs (0: the preset's)");
    cli.add_option("--mil-lr", mil_lr, "MIL learning rate (0: the preset's)");
    cli.add_option("--accumulate", accumulate, "bags per MIL step (0: the preset's)");
    cli.add_option("--max-instances", max_instances,
                   "MIL training: at most this many cells per bag, a fresh random subset each "
                   "epoch (-1: the preset's, 500; 0: all); evaluation sees every cell");
    cli.add_option("--accumulation", accumulation,
                   "sum (SCEMILA: the sum of the bags' gradients, "
                   "an epoch's rest dropped) or mean")
        ->check(CLI::IsMember({"sum", "mean"}));
    cli.add_option("--folds", cv.folds, "scemila (SCEMILA's split) or stratified")
        ->check(CLI::IsMember({"scemila", "stratified"}));
    cli.add_option("--seeds", cv.seeds, "MIL seeds (runs per fold)")->delimiter(',');
    cli.add_option("--standardize", cv.standardize,
                   "z-score the features with each run's training cells (default true)");
    cli.add_option("--umap-cells", umap_cells, "cells in each encoder's UMAP (0: none)");
    cli.add_option("--require", requirements,
                   "encoder=value: exit 1 when that row's mean "
                   "balanced accuracy is below value (CI's demo)");
    cli.add_option("--max-seconds", max_seconds,
                   "exit 1 when the whole run takes longer (0: no "
                   "limit)");
    cli.add_option("--workers", recipe.workers, "loader threads");
    cli.add_option("--seed", recipe.seed, "cohort, encoders");
    cli.add_option("--out", out, "run directory");
    CLI11_PARSE(cli, argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // results interleave with stderr's progress
    const auto start = std::chrono::steady_clock::now();
    MARROW_CHECK(synthetic > 0 || !data_path.empty(), "aml_ssl_mil: give --data or --synthetic N");
    recipe.stem = nn::models::parse_stem(stem);
    if (encoders_flag->count() == 0 && (!given.empty() || !feature_files.empty()))
        encoders.clear();  // only the rows asked for
    cv.train = preset == "scemila" ? mil::MilTrainOptions::scemila()
                                   : mil::MilTrainOptions::ssl_mil_seed();
    cv.train.flip_instances = false;  // the instances are feature vectors
    if (mil_epochs > 0) cv.train.max_epochs = mil_epochs;
    if (mil_lr > 0) cv.train.lr = mil_lr;
    if (accumulate > 0) cv.train.accumulate = accumulate;
    if (max_instances >= 0) cv.train.max_instances = max_instances;
    if (!accumulation.empty())
        cv.train.accumulation =
            accumulation == "sum" ? mil::Accumulation::sum_drop_remainder : mil::Accumulation::mean;

    fs::create_directories(out);
    if (synthetic > 0) {
        cohort.patients_per_class = synthetic;
        cohort.min_cells = std::max(1, cohort.max_cells / 2);
        cohort.image_size = int(recipe.image_size);
        cohort.seed = recipe.seed;
        data_path = out + "/cohort";
        int64_t images = data::write_cohort(data::plan_cohort(cohort), data_path);
        std::printf("synthetic cohort: %lld cells of %d patients per class in %s\n",
                    (long long)images, synthetic, data_path.c_str());
    }
    ssl::ImageSource source = ssl::open_image_source(data_path, "aml_hehr");
    for (const std::string& w : source.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    const std::string cells_csv =
        fs::exists(data_path + "/cells.csv") ? data_path + "/cells.csv" : "";
    nlohmann::json flags = {{"data", data_path},
                            {"synthetic", synthetic},
                            {"encoders", encoders},
                            {"given", given},
                            {"arch", recipe.arch},
                            {"stem", stem},
                            {"image_size", recipe.image_size},
                            {"supervised_epochs", recipe.supervised_epochs},
                            {"epochs", recipe.epochs},
                            {"batch_size", recipe.batch_size},
                            {"ssl_sets", recipe.ssl_sets},
                            {"features", feature_files},
                            {"standardize", cv.standardize},
                            {"model", cv.model},
                            {"preset", preset},
                            {"folds", cv.folds},
                            {"seeds", cv.seeds},
                            {"mil", cv.train.to_json()},
                            {"images", source.size()},
                            {"patients", source.bag_ids.size()}};
    if (synthetic > 0) flags["domain_strength"] = cohort.domain_strength;
    apps::RunRecord record(out, "aml_ssl_mil", flags, recipe.seed, source.files);

    struct Row {
        std::string name, encoder_file, features_file;  // neither file: train or build it
    };
    std::vector<Row> todo;
    auto split = [](const std::string& g, const char* flag) {
        auto eq = g.find('=');
        MARROW_CHECK(eq != std::string::npos && eq > 0,
                     "aml_ssl_mil: {} wants name=path, got \"{}\"", flag, g);
        return std::pair{g.substr(0, eq), g.substr(eq + 1)};
    };
    for (const std::string& e : encoders)
        if (!e.empty()) todo.push_back({e, "", ""});  // (--encoders "" trains none)
    for (const std::string& g : given) {
        auto named = split(g, "--encoder");
        todo.push_back({named.first, named.second, ""});
    }
    for (const std::string& g : feature_files) {
        auto named = split(g, "--features");
        todo.push_back({named.first, "", named.second});
    }
    std::vector<mil::EncoderRow> rows;
    for (Row& r : todo) {
        const std::string& name = r.name;
        std::string& path = r.encoder_file;
        const std::string& features_path = r.features_file;
        mil::FeatureBags fb;
        if (!features_path.empty()) {
            fb = fs::is_directory(features_path) ? mil::load_scemila_features(features_path)
                                                 : mil::load_feature_bags(features_path);
        } else {
            if (path.empty())
                path = apps::obtain_encoder(name, source, cells_csv, recipe,
                                            out + "/encoders/" + name);
            ssl::LoadedEncoder loaded = ssl::load_encoder(path);
            apps::ProgressBar bar(name + " features", source.size());
            Tensor features =
                ssl::extract_features(*loaded.encoder, source,
                                      {.image_size = recipe.image_size, .workers = recipe.workers},
                                      [&](int64_t done, int64_t) { bar.update(done); });
            bar.finish(source.size());
            fb = mil::bags_from_source(source, features);
        }
        apps::ProgressBar runs(name + " " + cv.model + " runs", int64_t(cv.seeds.size()) * cv.k);
        mil::EncoderRow row = mil::evaluate_encoder(
            name, fb.bags, fb.class_names, cv, [&](int done, int, const mil::MilFoldRun& r) {
                runs.update(done, fmt::format("F1 {:.3f}", r.metrics.at("f1_macro")));
            });
        runs.finish(int64_t(row.cv.runs.size()));
        if (!cells_csv.empty())
            mil::analyze_cells(row, mil::read_cell_annotations(cells_csv, row.bags), umap_cells,
                               recipe.seed);
        mil::write_attention(fs::path(out) / (name + "_attention.csv"), row);
        const auto& s = row.cv.summary;
        std::printf("%-12s macro F1 %s  balanced accuracy %s  ROC AUC %s%s\n", name.c_str(),
                    eval::format_mean_sd(s.at("f1_macro"), 3).c_str(),
                    eval::format_mean_sd(s.at("balanced_accuracy"), 3).c_str(),
                    eval::format_mean_sd(s.at("roc_auc_macro"), 3).c_str(),
                    row.audit ? fmt::format("  attention audit AUC {}",
                                            eval::format_mean_sd(row.audit->overall, 3))
                                    .c_str()
                              : "");
        record.log(mil::results_json({row}).at(0));
        rows.push_back(std::move(row));
    }
    mil::write_results(out, rows);
    mil::write_report(out, rows, {.title = "AML subtypes: SSL encoders + attention MIL"});
    nlohmann::json summary = nlohmann::json::object();
    for (const auto& r : rows)
        summary[r.encoder] = {{"f1_macro", r.cv.summary.at("f1_macro").mean},
                              {"balanced_accuracy", r.cv.summary.at("balanced_accuracy").mean}};
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    summary["seconds"] = seconds;
    record.finish(summary);
    std::printf("%.0f s\nreport: %s/report.html\n", seconds, out.c_str());
    int status = 0;
    for (const std::string& req : requirements) {
        auto eq = req.find('=');
        MARROW_CHECK(eq != std::string::npos,
                     "aml_ssl_mil: --require wants encoder=value, got "
                     "\"{}\"",
                     req);
        std::string name = req.substr(0, eq);
        double want = std::stod(req.substr(eq + 1));
        MARROW_CHECK(summary.contains(name), "aml_ssl_mil: --require names {}, which is not a row",
                     name);
        double got = summary[name]["balanced_accuracy"].get<double>();
        if (got < want) {
            std::fprintf(stderr, "aml_ssl_mil: %s's balanced accuracy %.3f is below %.3f\n",
                         name.c_str(), got, want);
            status = 1;
        }
    }
    if (max_seconds > 0 && seconds > max_seconds) {
        std::fprintf(stderr, "aml_ssl_mil: took %.0f s, more than --max-seconds %.0f\n", seconds,
                     max_seconds);
        status = 1;
    }
    return status;
} catch (const std::exception& e) {
    std::fprintf(stderr, "aml_ssl_mil: error: %s\n", e.what());
    return 1;
}
