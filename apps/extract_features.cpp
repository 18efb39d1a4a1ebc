// extract_features: a frozen encoder over a dataset -> one safetensors file of embeddings per
// image (or grouped per patient bag, what MIL consumes), with the image paths and labels, in
// the format the evaluate app reads (ssl/feature_extraction.h documents it).
//
//   extract_features --encoder runs/dino/encoder.safetensors --data runs/synth --out
//   feats.safetensors extract_features --encoder DinoBloom-S.pth --arch vit_small --data cells.txt
//   --out f.safetensors extract_features --random-init --arch resnet18 --seed 0 --data ... --out
//   random.safetensors options: --layout auto|aml_hehr|...  --per-bag  --cell-labels cell_type
//   --tta  --batch-size 64  --image-size N
//            --patch-size 14  --stem small  --in-channels 3  --threads N  --workers 2
//            --save-encoder FILE  --run-dir DIR (run.json; default <out>.run)
#include <omp.h>
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "apps/progress.h"
#include "apps/run_record.h"
#include "marrow.h"

using namespace marrow;

int main(int argc, char** argv) try {
    std::string encoder_path, arch, data_path, layout = "auto", out, run_dir, save_encoder;
    std::string cell_labels;
    bool random_init = false, per_bag = false;
    std::string stem = "imagenet";
    uint64_t seed = 0;
    int threads = 0;
    int64_t limit = -1;
    ssl::EncoderSpec spec;
    ssl::ExtractOptions eo;
    CLI::App cli{"Extract features of a frozen encoder over a dataset into one safetensors file"};
    auto* enc = cli.add_option("--encoder", encoder_path,
                               "encoder file (ssl_pretrain's) or a published .pth/.safetensors");
    auto* rnd = cli.add_flag("--random-init", random_init,
                             "a randomly initialized encoder (the baseline); needs --arch");
    enc->excludes(rnd);
    cli.add_option("--arch", arch, "for a published checkpoint or --random-init")
        ->check(CLI::IsMember(ssl::encoder_archs()));
    cli.add_option("--patch-size", spec.patch_size, "ViT patch size (with --arch)");
    cli.add_option("--in-channels", spec.in_channels, "input channels (with --arch)")
        ->check(CLI::PositiveNumber);
    cli.add_option("--stem", stem, "ResNet stem (with --arch): imagenet, small (28-32 px: 3x3 "
                                   "stride 1, no max pool) or small_pool (keeping the max pool)");
    cli.add_option("--seed", seed, "--random-init's weights");
    cli.add_option("--data", data_path, "dataset folder or path list")->required();
    cli.add_option("--layout", layout, "data layout")->check(CLI::IsMember(ssl::image_layouts()));
    cli.add_option("--out", out, "features file to write")->required();
    cli.add_option("--cell-labels", cell_labels,
                   "label rows by a column of a per-cell CSV: [CSV:]COLUMN (default CSV: "
                   "<data>/cells.csv, the synthetic cohort's; e.g. cell_type)");
    cli.add_option("--limit", limit,
                   "first N training images (all test images of a fixed split, e.g. MNIST)")
        ->check(CLI::PositiveNumber);
    cli.add_flag("--per-bag", per_bag, "group the rows per patient bag (bag layouts)");
    cli.add_flag("--tta", eo.tta, "average over the image and its horizontal/vertical flips");
    cli.add_option("--batch-size", eo.batch_size)->check(CLI::PositiveNumber);
    cli.add_option("--image-size", eo.image_size,
                   "resize to N x N (default: the encoder's image size; ViT with --arch: its "
                   "pos_embed grid)")
        ->check(CLI::NonNegativeNumber);
    cli.add_option("--threads", threads, "compute threads (0: OpenMP's default)")
        ->check(CLI::NonNegativeNumber);
    cli.add_option("--workers", eo.workers, "decoding threads")->check(CLI::NonNegativeNumber);
    cli.add_option(
        "--save-encoder", save_encoder,
        "also write the encoder used as an encoder file (the random baseline's weights)");
    cli.add_option("--run-dir", run_dir, "run record folder (default: <out>.run)");
    CLI11_PARSE(cli, argc, argv);
    if (encoder_path.empty() == !random_init) {
        std::fprintf(stderr, "extract_features: give --encoder FILE or --random-init --arch A\n");
        return 2;
    }
    if (threads > 0) omp_set_num_threads(threads);

    spec.stem = nn::models::parse_stem(stem);  // checked even when the file holds the spec
    std::optional<ssl::EncoderSpec> arch_spec;
    if (!arch.empty()) {
        spec.arch = arch;
        spec.image_size = eo.image_size;  // ViT: its grid (0: 224); ResNet: 0 keeps the size
        arch_spec = spec;
    }
    std::shared_ptr<ssl::Encoder> encoder;
    nlohmann::json info;
    if (random_init) {
        if (!arch_spec) {
            std::fprintf(stderr, "extract_features: --random-init needs --arch\n");
            return 2;
        }
        Generator gen(seed);
        encoder = ssl::make_encoder(*arch_spec, &gen);
        info = {{"source", "random-init"}, {"seed", seed}};
    } else {
        ssl::LoadedEncoder loaded = ssl::load_encoder(encoder_path, arch_spec);
        encoder = loaded.encoder;
        info = {{"source", encoder_path}, {"published", loaded.published}};
        for (const auto& [k, v] : loaded.metadata)
            if (k != "marrow_encoder") info[k] = v;
    }
    info["spec"] = encoder->spec().to_json();
    if (!save_encoder.empty())
        ssl::save_encoder(
            save_encoder, *encoder,
            {{"source", random_init ? fmt::format("random-init seed {}", seed) : encoder_path}});

    ssl::ImageSource source = ssl::open_image_source(data_path, layout);
    if (limit > 0) ssl::limit_images(source, limit);
    if (!cell_labels.empty()) {
        size_t colon = cell_labels.rfind(':');
        std::string csv = colon == std::string::npos
                              ? (std::filesystem::path(data_path) / "cells.csv").string()
                              : cell_labels.substr(0, colon);
        ssl::relabel_cells(source, csv,
                           cell_labels.substr(colon == std::string::npos ? 0 : colon + 1));
    }
    for (const std::string& w : source.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    std::printf("extract_features: %s (%lld-d) over %lld images (%s layout%s)%s\n",
                encoder->spec().describe().c_str(), (long long)encoder->feature_dim(),
                (long long)source.size(), source.layout.c_str(),
                source.has_bags() ? fmt::format(", {} bags", source.bag_ids.size()).c_str() : "",
                eo.tta ? ", flip TTA" : "");
    nlohmann::json flags = {{"encoder", random_init ? "random-init" : encoder_path},
                            {"arch", encoder->spec().describe()},
                            {"data", data_path},
                            {"layout", source.layout},
                            {"images", source.size()},
                            {"out", out},
                            {"per_bag", per_bag},
                            {"limit", limit},
                            {"cell_labels", cell_labels},
                            {"tta", eo.tta},
                            {"batch_size", eo.batch_size},
                            {"image_size", eo.image_size},
                            {"encoder_info", info}};
    std::vector<std::string> fingerprinted;
    if (!random_init) fingerprinted.push_back(encoder_path);
    // Every image is fingerprinted for datasets up to 5000 files; above, the list is recorded
    // by count (hashing 100k images doubles the run's reads).
    if (source.files.size() <= 5000)
        fingerprinted.insert(fingerprinted.end(), source.files.begin(), source.files.end());
    apps::RunRecord record(run_dir.empty() ? out + ".run" : run_dir, "extract_features", flags,
                           seed, fingerprinted);

    std::optional<apps::ProgressBar> bar;
    Tensor features = ssl::extract_features(*encoder, source, eo, [&](int64_t done, int64_t total) {
        if (!bar) bar.emplace("extract", total);
        bar->update(done);
    });
    bar->finish(source.size());
    ssl::save_features(out, source, features, {.per_bag = per_bag, .encoder_info = info});
    record.finish({{"rows", features.size(0)}, {"feature_dim", features.size(1)}});
    std::printf("wrote %s: features (%lld, %lld)%s\n", out.c_str(), (long long)features.size(0),
                (long long)features.size(1),
                per_bag ? fmt::format(", {} bags", source.bag_ids.size()).c_str() : "");
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "extract_features: error: %s\n", e.what());
    return 1;
}
