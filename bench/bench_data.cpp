// Data-loading throughput: decode + SimCLR augmentation (two views) through the Loader, the
// way SSL training consumes images. Prints one JSON line {"bench": "data", "case",
// "ours_s" (seconds per image), "images_per_s", "workers", ...}; bench/run_data_bench.py
// runs it against torchvision's pipeline in the same run.
//
//   bench_data --list images.txt --size 144 --workers 2 --batch 64 --images 2000
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "data/loader.h"

using namespace marrow;
using namespace marrow::data;

int main(int argc, char** argv) try {
    std::string list;
    int64_t size = 144, batch = 64, images = 2000;
    int workers = 2;
    CLI::App cli{"decode + SimCLR augmentation throughput through the loader"};
    cli.add_option("--list", list, "path list of images (data/datasets.h read_path_list)")
        ->required();
    cli.add_option("--size", size, "view side");
    cli.add_option("--workers", workers, "loader threads");
    cli.add_option("--batch", batch, "batch size");
    cli.add_option("--images", images, "images to load (whole batches, after one warm-up batch)");
    CLI11_PARSE(cli, argc, argv);

    ImageDataset ds(read_path_list(list), views_transform(simclr_views(size)));
    Loader loader(ds, {.batch_size = batch, .workers = workers, .seed = 1});
    int64_t loaded = 0;
    uint64_t epoch = 0;
    loader.start_epoch(epoch);
    (void)loader.next();  // warm-up: threads started, caches touched
    auto t0 = std::chrono::steady_clock::now();
    while (loaded < images) {
        std::optional<Batch> b = loader.next();
        if (!b) {
            loader.start_epoch(++epoch);
            continue;
        }
        loaded += int64_t(b->indices.size());
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::json line = {{"bench", "data"},
                           {"case", "decode+simclr2v_" + std::to_string(size)},
                           {"ours_s", seconds / double(loaded)},
                           {"images_per_s", double(loaded) / seconds},
                           {"workers", workers},
                           {"batch", batch},
                           {"images", loaded}};
    std::cout << line.dump() << std::endl;
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_data: error: %s\n", e.what());
    return 1;
}
