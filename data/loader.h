// The loader: worker threads turn sample indices into tensors (decode, augment) while the
// training loop consumes earlier batches. Batches come out in order and, because every
// sample's randomness is keyed by (seed, epoch, index, view) (Note [Sample randomness]), a
// run is identical with 0, 1 or 8 workers.
//
//   ImageDataset ds(read_matek19(root), views_transform(dino_views()), {.cache = true});
//   Loader loader(ds, {.batch_size = 64, .workers = 2, .seed = 1});
//   for (uint64_t epoch = 0; epoch < 10; ++epoch) {
//       loader.start_epoch(epoch);
//       while (auto batch = loader.next()) { ... batch->tensors[0] is (64, 3, 224, 224) ... }
//   }
//   loader.bad_files();  // with skip_bad_files: what was skipped, and why
//   loader.skipped();    // ... and per example (a bag's bad cells, a bag left empty)
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "data/datasets.h"
#include "data/image.h"
#include "data/transforms.h"
#include "tensor/error.h"
#include "tensor/factory.h"
#include "tensor/tensor.h"

namespace marrow::data {

// One sample as tensors (the views of an image, or a bag's instances) with its label.
struct Example {
    std::vector<Tensor> tensors;
    int64_t label = -1;
    int64_t index = -1;
    // Parts left out because their file could not be read, "path: reason" (a bag's bad cells;
    // the loader accepts them only with skip_bad_files, else it fails naming the first).
    std::vector<std::string> skipped;
};

// A dataset the loader can read from many threads at once.
class Dataset {
public:
    virtual ~Dataset() = default;
    virtual int64_t size() const = 0;
    virtual int64_t label(int64_t index) const = 0;  // without loading (samplers use it)
    virtual Example get(int64_t index, uint64_t epoch, uint64_t seed) const = 0;
};

// Decoded image (f32 (3, H, W) in [0, 1]) -> the sample's tensors, e.g. its views.
using ImageTransform = std::function<std::vector<Tensor>(const Tensor& image, uint64_t seed,
                                                         uint64_t epoch, int64_t index)>;
ImageTransform views_transform(MultiCropSpec spec);  // multi_crop (data/transforms.h)
ImageTransform eval_transform(int64_t size);  // one tensor: resized to size x size, normalized

// An image that cannot be read or decoded, or a bag none of whose cells can (the loader's
// skip_bad_files catches these only). `files`: each unreadable file, "path: reason".
class BadFile : public Error {
public:
    explicit BadFile(const std::string& what, std::vector<std::string> files = {})
        : Error(what), files_(files.empty() ? std::vector<std::string>{what} : std::move(files)) {}
    const std::vector<std::string>& files() const { return files_; }

private:
    std::vector<std::string> files_;
};

struct ImageDatasetOptions {
    bool cache = false;  // keep decoded 8-bit images in memory (small datasets)
};

// Single-cell images from a reader (data/datasets.h).
class ImageDataset : public Dataset {
public:
    ImageDataset(CellDataset cells, ImageTransform transform, ImageDatasetOptions options = {});
    int64_t size() const override { return int64_t(cells_.samples.size()); }
    int64_t label(int64_t index) const override;
    Example get(int64_t index, uint64_t epoch, uint64_t seed) const override;
    const CellDataset& cells() const { return cells_; }

private:
    Image load(int64_t index) const;
    CellDataset cells_;
    ImageTransform transform_;
    ImageDatasetOptions options_;
    mutable std::mutex cache_mutex_;
    mutable std::map<int64_t, std::shared_ptr<const Image>> cache_;
};

// Images already in memory (N, C, H, W), uint8 (scaled to [0, 1]) or floating, with int64
// labels (N): one tensor per example, the image put through `transform` (none: as is) with
// the sample's random stream (view 0). Fashion-MNIST and other tensor datasets.
class TensorImageDataset : public Dataset {
public:
    TensorImageDataset(Tensor images, Tensor labels, RandomOp transform = nullptr);
    int64_t size() const override { return images_.size(0); }
    int64_t label(int64_t index) const override;
    Example get(int64_t index, uint64_t epoch, uint64_t seed) const override;

private:
    Tensor images_, labels_;
    RandomOp transform_;
};

// Patient bags (data/datasets.h): one example per patient whose single tensor is the bag,
// (N, 3, S, S) with N <= max_instances: larger bags are subsampled at random per epoch
// (keyed like views), as the MIL paper caps bags at 500 cells. A chosen cell that cannot be
// decoded is left out of the bag and listed in Example::skipped; a bag left with no cell
// throws BadFile listing them all.
class PatientBagDataset : public Dataset {
public:
    PatientBagDataset(BagDataset bags, int64_t image_size, int64_t max_instances = 500);
    int64_t size() const override { return int64_t(bags_.patients.size()); }
    int64_t label(int64_t index) const override { return bags_.patients[size_t(index)].label; }
    Example get(int64_t index, uint64_t epoch, uint64_t seed) const override;

private:
    BagDataset bags_;
    int64_t image_size_, max_instances_;
};

// Which indices an epoch visits, in order.
enum class Sampling {
    sequential,      // 0, 1, ..., n - 1
    shuffle,         // a random permutation per epoch
    class_balanced,  // n draws with replacement, weight 1 / (count of the sample's class)
};

struct LoaderOptions {
    int64_t batch_size = 32;
    Sampling sampling = Sampling::shuffle;
    bool drop_last = false;
    int workers = 2;   // 0: load in the calling thread
    int prefetch = 2;  // batches ready or in flight ahead of the consumer, per worker
    uint64_t seed = 0;
    bool stack = true;            // stack each tensor of the examples into (B, ...); false: keep a
                                  // list per example (variable-size bags)
    bool skip_bad_files = false;  // leave out and report unreadable images instead of failing
};

// An example the loader left out, or kept without some of its files (skip_bad_files).
struct Skipped {
    uint64_t epoch = 0;
    int64_t index = -1;    // in the dataset (an image, a patient's bag)
    int64_t files = 0;     // unreadable files in it (cells skipped, for a bag)
    bool dropped = false;  // the whole example was left out (an image, a bag left empty)
};

struct Batch {
    std::vector<Tensor> tensors;                // stack: tensors[k] = (B, ...) of examples' k-th
    std::vector<std::vector<Tensor>> examples;  // !stack: each example's tensors
    Tensor labels = empty({0}, DType::i64);     // (B,)
    std::vector<int64_t> indices;
};

// The order of an epoch's indices (exposed for tests and for the splits' samplers).
std::vector<int64_t> epoch_order(const Dataset& dataset, Sampling sampling, uint64_t seed,
                                 uint64_t epoch);

class Loader {
public:
    Loader(const Dataset& dataset, LoaderOptions options);
    ~Loader();
    Loader(const Loader&) = delete;
    Loader& operator=(const Loader&) = delete;

    // Starts `epoch` at batch `first_batch` (a resumed run skips the batches it already
    // trained on without loading them; the batches after are the same as an unbroken epoch's).
    void start_epoch(uint64_t epoch, int64_t first_batch = 0);
    std::optional<Batch> next();  // nullopt at the end of the epoch
    int64_t batches_per_epoch() const;

    // With skip_bad_files: "path: reason" for every file skipped so far, and the examples
    // they touched, sorted by epoch and index.
    std::vector<std::string> bad_files() const;
    std::vector<Skipped> skipped() const;

private:
    Batch load_batch(int64_t b);
    void stop_workers();
    void worker_loop(int worker);

    const Dataset& dataset_;
    LoaderOptions options_;
    uint64_t epoch_ = 0;
    std::vector<int64_t> order_;
    int64_t first_batch_ = 0;  // where the epoch started
    int64_t next_batch_ = 0;   // the consumer's position

    mutable std::mutex mutex_;
    std::condition_variable ready_, space_;
    std::map<int64_t, Batch> done_;
    std::map<int64_t, std::string> failed_;  // batch -> error, rethrown in order
    bool stopping_ = false;
    std::vector<std::thread> threads_;
    std::vector<std::string> bad_files_;
    std::vector<Skipped> skipped_;
};

}  // namespace marrow::data
