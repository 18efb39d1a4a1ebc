// The supervised baseline encoder: a backbone plus a linear classifier trained with
// cross-entropy on a dataset's labels (the synthetic cohort's cell types with --cell-labels),
// the backbone then saved as an encoder file that extract_features reads. It is the row SSL
// features are compared against (seed 000 compares its SSL encoders with a supervised one).
//
//   supervised_encoder --data runs/synth --cell-labels cell_type --arch resnet18
//                      --image-size 64 --epochs 10 --out runs/supervised
//
// Augmentation: random resized crop (scale 0.25-1) and horizontal / vertical flips, no colour
// jitter. Held out for the per-epoch accuracy: a fixed split's test images (MNIST), else
// every 5th labelled image; unlabelled images are left out. SGD with Nesterov momentum,
// warm-up + cosine (apps/classifier_training.h); checkpoints and --resume as the demo.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "apps/classifier_training.h"
#include "apps/encoders.h"
#include "apps/run_record.h"
#include "marrow.h"
#include "nn/layers.h"
#include "ssl/encoder.h"
#include "ssl/feature_extraction.h"
#include "ssl/pretrain_data.h"

using namespace marrow;

int main(int argc, char** argv) try {
    std::string data_path, layout = "auto", cell_labels, out = "runs/supervised_encoder";
    ssl::EncoderSpec spec{.arch = "resnet18"};
    std::string stem = "imagenet";
    int64_t image_size = 64;
    apps::ClassifierTrainingOptions o{.epochs = 10, .batch_size = 64, .lr = 0.1};
    double warmup_epochs = 1;
    CLI::App cli{"Train a supervised encoder (backbone + linear classifier) on labelled images"};
    cli.add_option("--data", data_path, "images in any layout extract_features reads")->required();
    cli.add_option("--layout", layout, "data layout")->check(CLI::IsMember(ssl::image_layouts()));
    cli.add_option("--cell-labels", cell_labels,
                   "label the cells by this column of <data>/cells.csv (e.g. cell_type)");
    cli.add_option("--arch", spec.arch, "resnet18 | resnet34 | resnet50 | vit_small | vit_base");
    cli.add_option("--stem", stem,
                   "ResNet stem: imagenet, small (28-32 px images: 3x3 stride 1, "
                   "no max pool) or small_pool (keeping the max pool)");
    cli.add_option("--image-size", image_size, "training crop size (also the encoder's)")
        ->check(CLI::PositiveNumber);
    cli.add_option("--epochs", o.epochs)->check(CLI::PositiveNumber);
    cli.add_option("--batch-size", o.batch_size)->check(CLI::PositiveNumber);
    cli.add_option("--lr", o.lr, "peak learning rate (after warm-up; cosine to 0)");
    cli.add_option("--weight-decay", o.weight_decay, "(not on biases and norms)");
    cli.add_option("--warmup-epochs", warmup_epochs, "linear warm-up (then cosine to 0)")
        ->check(CLI::NonNegativeNumber);
    cli.add_option("--workers", o.workers, "loader threads");
    cli.add_option("--seed", o.seed, "init, shuffling and augmentation");
    cli.add_option("--out", out, "run directory");
    cli.add_option("--stop-after-steps", o.stop_after_steps,
                   "stop after this many steps, with a checkpoint");
    cli.add_flag("--resume", o.resume, "continue from the run directory's latest checkpoint");
    CLI11_PARSE(cli, argc, argv);

    ssl::ImageSource all = ssl::open_image_source(data_path, layout);
    if (!cell_labels.empty()) ssl::relabel_cells(all, data_path + "/cells.csv", cell_labels);
    std::vector<int64_t> train_rows, held_rows;
    for (int64_t i = 0, labelled = 0; i < all.size(); ++i) {
        if (all.labels[size_t(i)] < 0) continue;
        bool held = all.split.empty() ? labelled++ % 5 == 4 : all.split[size_t(i)] == 1;
        (held ? held_rows : train_rows).push_back(i);
    }
    MARROW_CHECK(!train_rows.empty() && !held_rows.empty(),
                 "supervised_encoder: {} has {} labelled training and {} held-out images; both "
                 "must be non-empty",
                 data_path, train_rows.size(), held_rows.size());
    const ssl::ImageSource train_source = ssl::select_images(all, train_rows);
    const ssl::ImageSource held_source = ssl::select_images(all, held_rows);
    ssl::ViewsDataset train_set(train_source, apps::single_view(image_size, true));
    ssl::ViewsDataset held_set(held_source, apps::single_view(image_size, false));
    MARROW_CHECK(warmup_epochs <= double(o.epochs),
                 "supervised_encoder: --warmup-epochs {} > --epochs {}", warmup_epochs, o.epochs);
    o.warmup_steps = int64_t(warmup_epochs * double(int64_t(train_rows.size()) / o.batch_size));

    spec.image_size = image_size;
    spec.stem = nn::models::parse_stem(stem);
    nlohmann::json flags = {{"data", data_path},
                            {"layout", all.layout},
                            {"cell_labels", cell_labels},
                            {"spec", spec.to_json()},
                            {"epochs", o.epochs},
                            {"batch_size", o.batch_size},
                            {"lr", o.lr},
                            {"weight_decay", o.weight_decay},
                            {"warmup_epochs", warmup_epochs},
                            {"train_images", train_rows.size()},
                            {"held_out", held_rows.size()}};
    apps::RunRecord record(out, "supervised_encoder", flags, o.seed, all.files, o.resume);
    Generator gen(o.seed);
    auto encoder = ssl::make_encoder(spec, &gen);
    apps::EncoderClassifier model(encoder, int64_t(all.classes.size()), &gen);
    std::printf("supervised %s: %zu classes, %zu training / %zu held-out images at %lld px\n",
                spec.describe().c_str(), all.classes.size(), train_rows.size(), held_rows.size(),
                (long long)image_size);

    apps::ClassifierTrainingResult r =
        apps::train_classifier(model, train_set, held_set, o, record);
    if (!r.finished) {
        std::printf("stopped after %lld steps (%.1fs); resume with --resume\n", (long long)r.steps,
                    r.seconds);
        return 0;
    }
    const std::string encoder_path = out + "/encoder.safetensors";
    ssl::save_encoder(encoder_path, *encoder,
                      {{"method", "supervised"},
                       {"steps", std::to_string(r.steps)},
                       {"labels", cell_labels.empty() ? "labels" : cell_labels}});
    record.finish({{"held_out_accuracy", r.test_accuracy},
                   {"seconds", r.seconds},
                   {"encoder", encoder_path}});
    std::printf("held-out accuracy %.2f%% after %lld epochs (%.1fs)\nencoder: %s\n",
                100 * r.test_accuracy, (long long)o.epochs, r.seconds, encoder_path.c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "supervised_encoder: error: %s\n", e.what());
    return 1;
}
