// The loader on small image folders written here: identical batches with 0, 1 and 2 workers,
// epoch orders, class balancing, bad files (skipped and reported, or an error naming the
// file), bags with a size cap, and the decoded-image cache.
#include <doctest/doctest.h>

#include <fstream>

#include "data/loader.h"
#include "marrow.h"

using namespace marrow;
using namespace marrow::data;

namespace {

// <root>/<class>/<i>.png, 12 x 10 images with distinct content.
struct ImageTree {
    fs::path root;
    ImageTree(const std::string& name, std::vector<std::pair<std::string, int>> classes)
        : root(fs::temp_directory_path() / ("marrow_loader_" + name)) {
        fs::remove_all(root);
        int k = 0;
        for (const auto& [cls, count] : classes) {
            fs::create_directories(root / cls);
            for (int i = 0; i < count; ++i, ++k) {
                Image img(10, 12, 3);
                for (size_t p = 0; p < img.pixels.size(); ++p)
                    img.pixels[p] = uint8_t((p * 7 + size_t(k) * 31) % 256);
                write_png(root / cls / (std::to_string(i) + ".png"), img);
            }
        }
    }
    ~ImageTree() { fs::remove_all(root); }
};

std::vector<Batch> whole_epoch(Loader& loader, uint64_t epoch) {
    loader.start_epoch(epoch);
    std::vector<Batch> out;
    while (auto b = loader.next()) out.push_back(std::move(*b));
    return out;
}

bool same(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && all(eq(a, b)).item() != 0;
}

MultiCropSpec small_views() { return dino_views(8, 4, 2); }

}  // namespace

TEST_CASE("loader: the same batches with 0, 1 and 2 workers, epoch after epoch") {
    if (!image_io_available()) return;
    ImageTree tree("determinism", {{"a", 7}, {"b", 6}});
    ImageDataset ds(read_bmc(tree.root), views_transform(small_views()));
    REQUIRE(ds.size() == 13);
    std::vector<std::vector<Batch>> runs;
    for (int workers : {0, 1, 2}) {
        Loader loader(ds, {.batch_size = 4, .workers = workers, .prefetch = 1, .seed = 5});
        CHECK(loader.batches_per_epoch() == 4);
        std::vector<Batch> epochs = whole_epoch(loader, 0);
        std::vector<Batch> next = whole_epoch(loader, 1);
        epochs.insert(epochs.end(), std::make_move_iterator(next.begin()),
                      std::make_move_iterator(next.end()));
        runs.push_back(std::move(epochs));
    }
    REQUIRE(runs[0].size() == 8);
    CHECK(runs[0][3].indices.size() == 1);  // 13 = 4 + 4 + 4 + 1
    CHECK(runs[0][0].tensors.size() == 4);  // 2 global + 2 local views
    CHECK(runs[0][0].tensors[0].shape() == std::vector<int64_t>{4, 3, 8, 8});
    CHECK(runs[0][0].tensors[2].shape() == std::vector<int64_t>{4, 3, 4, 4});
    CHECK(runs[0][0].indices != runs[0][4].indices);  // epochs are shuffled differently
    for (size_t r = 1; r < runs.size(); ++r)
        for (size_t b = 0; b < runs[0].size(); ++b) {
            CAPTURE(r);
            CAPTURE(b);
            CHECK(runs[r][b].indices == runs[0][b].indices);
            CHECK(same(runs[r][b].labels, runs[0][b].labels));
            for (size_t t = 0; t < runs[0][b].tensors.size(); ++t)
                CHECK(same(runs[r][b].tensors[t], runs[0][b].tensors[t]));
        }
}

TEST_CASE("epoch orders: sequential, shuffled permutations, class-balanced draws") {
    if (!image_io_available()) return;
    ImageTree tree("orders", {{"many", 18}, {"few", 2}});
    ImageDataset ds(read_bmc(tree.root), eval_transform(8));
    std::vector<int64_t> seq = epoch_order(ds, Sampling::sequential, 1, 0);
    for (int64_t i = 0; i < 20; ++i) CHECK(seq[size_t(i)] == i);
    std::vector<int64_t> perm = epoch_order(ds, Sampling::shuffle, 1, 0);
    CHECK(perm != seq);
    std::sort(perm.begin(), perm.end());
    CHECK(perm == seq);
    int64_t few = 0, total = 0;
    for (uint64_t epoch = 0; epoch < 50; ++epoch)
        for (int64_t i : epoch_order(ds, Sampling::class_balanced, 1, epoch)) {
            few += ds.label(i) == 0;  // classes sorted: "few" is 0
            ++total;
        }
    CHECK(double(few) / double(total) == doctest::Approx(0.5).epsilon(0.1));

    Loader loader(ds, {.batch_size = 6, .sampling = Sampling::sequential, .drop_last = true});
    std::vector<Batch> batches = whole_epoch(loader, 0);
    CHECK(batches.size() == 3);
    CHECK(batches[2].indices == std::vector<int64_t>{12, 13, 14, 15, 16, 17});
    CHECK(batches[0].tensors[0].shape() == std::vector<int64_t>{6, 3, 8, 8});
}

TEST_CASE("bad files: skipped and reported, or an error naming the file") {
    if (!image_io_available()) return;
    ImageTree tree("bad", {{"a", 5}});
    std::ofstream(tree.root / "a" / "2.png") << "not a png";
    ImageDataset ds(read_bmc(tree.root), eval_transform(8), {.cache = true});
    Loader skipping(
        ds,
        {.batch_size = 2, .sampling = Sampling::sequential, .workers = 2, .skip_bad_files = true});
    std::vector<Batch> batches = whole_epoch(skipping, 0);
    REQUIRE(batches.size() == 3);
    CHECK(batches[1].indices == std::vector<int64_t>{3});
    REQUIRE(skipping.bad_files().size() == 1);
    CHECK(skipping.bad_files()[0].find("2.png: not a PNG, JPEG") != std::string::npos);
    std::vector<Batch> cached = whole_epoch(skipping, 0);  // cache: same tensors again
    CHECK(same(cached[0].tensors[0], batches[0].tensors[0]));

    Loader strict(ds, {.batch_size = 2, .sampling = Sampling::sequential, .workers = 1});
    strict.start_epoch(0);
    CHECK(strict.next().has_value());
    CHECK_THROWS_WITH_AS(strict.next(), doctest::Contains("batch 1: "), Error);
}

TEST_CASE("bags: one tensor per patient, capped and subsampled per epoch") {
    if (!image_io_available()) return;
    ImageTree tree("bags", {{"data/NPM1/P1", 3}, {"data/control/P2", 7}});
    PatientBagDataset ds(read_aml_hehr(tree.root), 6, 5);
    Loader loader(
        ds, {.batch_size = 2, .sampling = Sampling::sequential, .workers = 1, .stack = false});
    std::vector<Batch> e0 = whole_epoch(loader, 0), e1 = whole_epoch(loader, 1);
    REQUIRE(e0.size() == 1);
    REQUIRE(e0[0].examples.size() == 2);
    CHECK(e0[0].examples[0][0].shape() == std::vector<int64_t>{3, 3, 6, 6});
    CHECK(e0[0].examples[1][0].shape() == std::vector<int64_t>{5, 3, 6, 6});  // 7 capped at 5
    CHECK(same(e0[0].labels, from_vector<int64_t>({0, 1})));
    CHECK(same(e0[0].examples[0][0], e1[0].examples[0][0]));   // all 3 cells, same order
    CHECK(!same(e0[0].examples[1][0], e1[0].examples[1][0]));  // another 5 of 7
}

namespace {

// Overwrite a written image with bytes no decoder accepts: text, nothing, or a cut-off PNG.
void corrupt(const fs::path& path, int how) {
    std::string bytes;
    if (how == 2) {
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
        bytes.resize(40);  // signature and IHDR, no pixel data
    } else if (how == 0) {
        bytes = "not an image";
    }
    std::ofstream(path, std::ios::binary) << bytes;
}

// 10 patients P0..P9 of 3 cells (P0-P4 NPM1, P5-P9 control; patient index i is Pi).
ImageTree cohort(const std::string& name) {
    std::vector<std::pair<std::string, int>> patients;
    for (int i = 0; i < 10; ++i)
        patients.emplace_back(fmt::format("data/{}/P{}", i < 5 ? "NPM1" : "control", i), 3);
    return ImageTree(name, patients);
}

fs::path cell_path(const ImageTree& tree, int patient, int cell) {
    return tree.root / fmt::format("data/{}/P{}/{}.png", patient < 5 ? "NPM1" : "control",
                                   patient, cell);
}

}  // namespace

TEST_CASE("bags with bad cells: the cells are skipped, the bags kept, the skips counted") {
    if (!image_io_available()) return;
    ImageTree tree = cohort("bad_cells");
    // 5 bad cells in 4 patients (before: 4 whole bags were dropped, 6 of 10 kept).
    std::vector<std::pair<int, int>> bad = {{1, 0}, {3, 0}, {3, 2}, {5, 1}, {7, 2}};
    for (size_t k = 0; k < bad.size(); ++k)
        corrupt(cell_path(tree, bad[k].first, bad[k].second), int(k % 3));
    PatientBagDataset ds(read_aml_hehr(tree.root), 6);
    for (int workers : {0, 2}) {
        CAPTURE(workers);
        Loader loader(ds, {.batch_size = 3,
                           .sampling = Sampling::sequential,
                           .workers = workers,
                           .stack = false,
                           .skip_bad_files = true});
        std::vector<int64_t> indices, cells;
        for (const Batch& b : whole_epoch(loader, 0)) {
            indices.insert(indices.end(), b.indices.begin(), b.indices.end());
            for (const auto& e : b.examples) cells.push_back(e[0].size(0));
        }
        CHECK(indices == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
        CHECK(cells == std::vector<int64_t>{3, 2, 3, 1, 3, 2, 3, 2, 3, 3});
        std::vector<Skipped> skipped = loader.skipped();
        REQUIRE(skipped.size() == 4);
        std::vector<std::pair<int64_t, int64_t>> per_bag;
        for (const Skipped& s : skipped) {
            CHECK(!s.dropped);
            CHECK(s.epoch == 0);
            per_bag.emplace_back(s.index, s.files);
        }
        CHECK(per_bag == std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 2}, {5, 1}, {7, 1}});
        std::vector<std::string> files = loader.bad_files();
        REQUIRE(files.size() == 5);
        for (const auto& [patient, cell] : bad) {
            std::string path = cell_path(tree, patient, cell).string();
            CHECK(std::count_if(files.begin(), files.end(), [&](const std::string& f) {
                      return f.starts_with(path + ": ");
                  }) == 1);
        }
    }
    // Without skip_bad_files the first bad cell is an error naming it.
    Loader strict(ds, {.batch_size = 3, .sampling = Sampling::sequential, .stack = false});
    strict.start_epoch(0);
    CHECK_THROWS_WITH_AS(strict.next(), doctest::Contains(cell_path(tree, 1, 0).string().c_str()), Error);
}

TEST_CASE("a bag whose every cell is bad is skipped and reported") {
    if (!image_io_available()) return;
    ImageTree tree = cohort("bad_bag");
    for (int c = 0; c < 3; ++c) corrupt(cell_path(tree, 4, c), c);
    corrupt(cell_path(tree, 8, 1), 0);
    PatientBagDataset ds(read_aml_hehr(tree.root), 6);
    Loader loader(ds, {.batch_size = 4,
                       .sampling = Sampling::sequential,
                       .workers = 1,
                       .stack = false,
                       .skip_bad_files = true});
    std::vector<Batch> batches = whole_epoch(loader, 0);
    REQUIRE(batches.size() == 3);
    CHECK(batches[1].indices == std::vector<int64_t>{5, 6, 7});
    CHECK(same(batches[1].labels, from_vector<int64_t>({1, 1, 1})));
    std::vector<Skipped> skipped = loader.skipped();
    REQUIRE(skipped.size() == 2);
    CHECK(skipped[0].index == 4);
    CHECK(skipped[0].files == 3);
    CHECK(skipped[0].dropped);
    CHECK(skipped[1].index == 8);
    CHECK(skipped[1].files == 1);
    CHECK(!skipped[1].dropped);
    CHECK(loader.bad_files().size() == 4);
    CHECK_THROWS_WITH_AS(ds.get(4, 0, 0), doctest::Contains("patient P4: none of its 3 chosen"),
                         BadFile);
}

TEST_CASE("tensor images: a resumed epoch gives the same batches as an unbroken one") {
    // 40 distinct 1x4x4 uint8 images, a random crop (padding 1) and flip per sample.
    std::vector<uint8_t> pixels(40 * 16);
    std::vector<int64_t> classes(40);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i % 251);
    for (size_t i = 0; i < classes.size(); ++i) classes[i] = int64_t(i % 3);
    Tensor images = from_vector(pixels, {40, 1, 4, 4}), labels = from_vector(classes);
    data::TensorImageDataset ds(images, labels,
                                data::compose({data::random_crop(4, 1), data::random_hflip()}));
    CHECK(ds.label(5) == 2);
    for (int workers : {0, 2}) {
        data::Loader loader(ds, {.batch_size = 6, .workers = workers, .seed = 9});
        loader.start_epoch(3);
        std::vector<data::Batch> whole;
        while (auto b = loader.next()) whole.push_back(*b);
        REQUIRE(whole.size() == 7);
        loader.start_epoch(3, 4);
        for (size_t b = 4; b < whole.size(); ++b) {
            auto batch = loader.next();
            REQUIRE(batch.has_value());
            CHECK(equal(batch->tensors[0], whole[b].tensors[0]));
            CHECK(equal(batch->labels, whole[b].labels));
        }
        CHECK_FALSE(loader.next().has_value());
        CHECK_THROWS_WITH_AS(loader.start_epoch(0, 8), doctest::Contains("first batch 8"), Error);
    }
    // Pixels scaled to [0, 1]; the crop keeps the size.
    data::TensorImageDataset plain(images, labels);
    data::Example e = plain.get(1, 0, 0);
    CHECK(e.tensors[0].shape() == Shape{1, 4, 4});
    CHECK(e.tensors[0].data<float>()[0] == doctest::Approx(16.0 / 255));
}
