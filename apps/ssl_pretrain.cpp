// ssl_pretrain: self-supervised pre-training (SimCLR, SwAV, DINO, DINOv2/DinoBloom) of a
// ResNet or ViT encoder on a folder of cell images (any layout ssl/feature_extraction.h
// opens), writing run.json (every hyperparameter), metrics.jsonl (losses and collapse
// monitors per epoch), checkpoints, encoder.safetensors (the backbone to extract features
// with) and report.html.
//
//   ssl_pretrain --data runs/cohort --preset seed000-dino --epochs 20 --out runs/dino
//   ssl_pretrain --data /usr/share/datasets/fashion-mnist --method simclr --arch resnet18
//                --stem small_pool --set global_size=28 --batch-size 256 --knn-images 2000
//   ssl_pretrain ... --resume            (continue from the run directory's latest checkpoint)
//   ssl_pretrain --preset dinobloom-s --init DinoBloom-S.pth ...   (continued pre-training)
#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>

#include <fmt/format.h>

#include "apps/progress.h"
#include "apps/run_record.h"
#include "ssl/config.h"
#include "ssl/feature_extraction.h"
#include "ssl/pretrain_data.h"
#include "ssl/report.h"
#include "ssl/ssl_model.h"
#include "ssl/trainer.h"

using namespace marrow;

namespace {

// The progress bar per epoch and metrics.jsonl per epoch.
class AppObserver : public ssl::TrainerObserver {
public:
    explicit AppObserver(apps::RunRecord& record, int64_t epochs) : record_(record), epochs_(epochs) {}
    void epoch_begin(int64_t epoch, int64_t iterations, int64_t first) override {
        bar_.emplace(fmt::format("epoch {}/{}", epoch + 1, epochs_), iterations, first);
        iterations_ = iterations;
    }
    void step(int64_t done, const nlohmann::json& m) override {
        bar_->update(done, fmt::format("loss {:.4f}", m.value("loss", 0.0)));
    }
    void epoch_end(const nlohmann::json& m) override {
        std::string extra = fmt::format("loss {:.4f} (ln K {:.3f})", m.value("loss", 0.0),
                                        m.value("ln_k", 0.0));
        if (m.contains("knn_accuracy"))
            extra += fmt::format("  kNN {:.2f}%", 100 * m["knn_accuracy"].get<double>());
        bar_->finish(iterations_, extra);
        record_.log(m);
    }
    void message(const std::string& text) override { std::fprintf(stderr, "%s\n", text.c_str()); }

private:
    apps::RunRecord& record_;
    int64_t epochs_, iterations_ = 0;
    std::optional<apps::ProgressBar> bar_;
};

}  // namespace

int main(int argc, char** argv) try {
    std::string data_path, layout = "auto", out = "runs/ssl_pretrain", preset, method, arch, init;
    std::vector<std::string> sets;
    int64_t epochs = 0, batch_size = 0, knn_images = 0, limit = 0;
    std::string stem;
    ssl::TrainerOptions o;
    CLI::App cli{"Self-supervised pre-training (SimCLR, SwAV, DINO, DINOv2) of a cell encoder"};
    cli.add_option("--data", data_path, "images: a folder (class folders, AML Hehr / "
                                        "lymphocytosis bags, MNIST) or a path list")
        ->required();
    cli.add_option("--layout", layout, "auto, or one of the layouts extract_features reads");
    cli.add_option("--preset", preset, "seed000-simclr | seed000-swav | seed000-dino | dinobloom-s");
    cli.add_option("--method", method, "simclr | swav | dino | dinov2 (without a preset)");
    cli.add_option("--arch", arch, "resnet18 | resnet34 | resnet50 | vit_small | vit_base | vit_large");
    cli.add_option("--stem", stem, "ResNet stem: imagenet, small (28-32 px images: 3x3 stride 1, "
                                   "no max pool) or small_pool (keeping the max pool: a quarter "
                                   "of small's FLOPs); default: the recipe's");
    cli.add_option("--epochs", epochs, "epochs (0: the recipe's)");
    cli.add_option("--batch-size", batch_size, "images per batch (0: the recipe's)");
    cli.add_option("--set", sets, "any config field as key=value (JSON value), e.g. "
                                  "--set teacher_temp=0.07 --set 'projection=[512,64]'");
    cli.add_option("--init", init, "initialize the backbone(s) from an encoder file or a "
                                   "published checkpoint (DinoBloom / DINOv2 .pth, torchvision)");
    cli.add_option("--limit", limit, "the first N training images only (0: all; a fixed split's "
                                     "test images are kept for the kNN monitor)");
    cli.add_option("--knn-images", knn_images, "labelled images for the per-epoch kNN monitor (0: none)");
    cli.add_option("--knn-every", o.knn_every, "epochs between kNN monitors")->check(CLI::PositiveNumber);
    cli.add_option("--out", out, "run directory");
    cli.add_option("--workers", o.workers, "loader threads");
    cli.add_option("--checkpoint-every", o.checkpoint_every, "steps between checkpoints (0: each epoch)");
    cli.add_option("--stop-after-steps", o.stop_after_steps, "stop after this many steps, with a checkpoint");
    cli.add_flag("--resume", o.resume, "continue from the run directory's latest checkpoint");
    CLI11_PARSE(cli, argc, argv);

    ssl::SslConfig c = ssl::resolve_config(preset, method, sets);
    if (!arch.empty()) c.arch = arch;
    if (!stem.empty()) c.stem = nn::models::parse_stem(stem);
    if (epochs > 0) c.epochs = epochs;
    if (batch_size > 0) c.batch_size = batch_size;
    c.validate();

    ssl::ImageSource all = ssl::open_image_source(data_path, layout);
    if (limit > 0) ssl::limit_images(all, limit);
    for (const std::string& w : all.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    const ssl::ImageSource source = ssl::training_images(all);  // MNIST: the training split
    ssl::ImageSource knn_source;
    if (knn_images > 0) {
        knn_source = ssl::labelled_subset(all, knn_images, c.seed);
        if (knn_source.size() >= 10) o.knn_images = &knn_source;
        else std::fprintf(stderr, "warning: fewer than 10 labelled images; no kNN monitor\n");
    }
    data::MultiCropSpec views = ssl::view_recipe(c);
    ssl::ViewsDataset dataset(source, views);

    o.run_dir = out;
    nlohmann::json flags = {{"data", data_path}, {"layout", source.layout}, {"preset", preset},
                            {"init", init}, {"images", source.size()}, {"limit", limit},
                            {"knn_images", knn_images},
                            {"config", c}};
    apps::RunRecord record(out, "ssl_pretrain", flags, c.seed, source.files, o.resume);
    auto model = ssl::make_ssl_model(c);
    if (!init.empty()) ssl::initialize_backbones(*model, init);
    std::printf("%s on %s: %lld images (%s), %zu views of %s, %lld epochs of batch %lld\n",
                ssl::method_name(c.method).c_str(), c.arch.c_str(), (long long)source.size(),
                source.layout.c_str(), views.views.size(), views.name.c_str(),
                (long long)c.epochs, (long long)c.batch_size);

    AppObserver observer(record, c.epochs);
    ssl::TrainingResult r = ssl::train(*model, dataset, o, observer);
    if (!r.finished) {
        std::printf("stopped after %lld steps (%.1fs); resume with --resume\n",
                    (long long)r.steps, r.seconds);
        return 0;
    }
    nlohmann::json summary = r.epochs.empty() ? nlohmann::json::object() : r.epochs.back();
    summary["seconds"] = r.seconds;
    summary["encoder"] = r.encoder_path;
    summary["collapse_warnings"] = r.warnings;
    record.finish(summary);
    ssl::write_pretrain_report(out, r, source, views);
    std::printf("encoder: %s\nreport: %s/report.html\n", r.encoder_path.c_str(), out.c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "ssl_pretrain: error: %s\n", e.what());
    return 1;
}
