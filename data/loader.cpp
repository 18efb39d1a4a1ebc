#include "data/loader.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "autograd/ops.h"
#include "tensor/factory.h"

namespace marrow::data {
namespace {

// Every decoder failure, as a BadFile naming the file (decoders name it; this makes sure).
Image decode_or_bad(const fs::path& path) {
    try {
        return read_image(path);
    } catch (const Error& e) {
        std::string what = e.what();
        if (what.find(path.string()) == std::string::npos) what = path.string() + ": " + what;
        throw BadFile(what);
    }
}

// Sample `k` of `n` indices without replacement, sorted (a bag's cells keep their order).
std::vector<int64_t> subsample(int64_t n, int64_t k, SampleRng& rng) {
    std::vector<int64_t> all(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) all[size_t(i)] = i;
    for (int64_t i = 0; i < k; ++i) std::swap(all[size_t(i)], all[size_t(rng.integer(i, n))]);
    all.resize(size_t(k));
    std::sort(all.begin(), all.end());
    return all;
}

// The stream for dataset-level choices of an epoch (order, bag subsampling): view slots far
// above any multi-crop's, so they never share a key with a view.
constexpr uint64_t kOrderView = ~uint64_t(0);
constexpr uint64_t kBagView = ~uint64_t(0) - 1;

}  // namespace

ImageTransform views_transform(MultiCropSpec spec) {
    return [spec = std::move(spec)](const Tensor& image, uint64_t seed, uint64_t epoch,
                                    int64_t index) {
        return multi_crop(image, spec, seed, epoch, uint64_t(index));
    };
}

ImageTransform eval_transform(int64_t size) {
    return [size](const Tensor& image, uint64_t, uint64_t, int64_t) {
        return std::vector<Tensor>{
            normalize(resize(image, size, size), kImageNetMean, kImageNetStd)};
    };
}

ImageDataset::ImageDataset(CellDataset cells, ImageTransform transform, ImageDatasetOptions options)
    : cells_(std::move(cells)), transform_(std::move(transform)), options_(options) {}

int64_t ImageDataset::label(int64_t index) const { return cells_.samples[size_t(index)].label; }

Image ImageDataset::load(int64_t index) const {
    const fs::path& path = cells_.samples[size_t(index)].path;
    if (!options_.cache) return decode_or_bad(path);
    {
        std::lock_guard lock(cache_mutex_);
        auto it = cache_.find(index);
        if (it != cache_.end()) return *it->second;
    }
    auto image = std::make_shared<const Image>(decode_or_bad(path));  // decode unlocked
    std::lock_guard lock(cache_mutex_);
    cache_.emplace(index, image);
    return *image;
}

Example ImageDataset::get(int64_t index, uint64_t epoch, uint64_t seed) const {
    Tensor image = image_to_tensor(load(index));
    return {transform_(image, seed, epoch, index), label(index), index, {}};
}

TensorImageDataset::TensorImageDataset(Tensor images, Tensor labels, RandomOp transform)
    : images_(std::move(images)), labels_(std::move(labels)), transform_(std::move(transform)) {
    MARROW_CHECK(images_.dim() == 4 && labels_.dim() == 1 && labels_.size(0) == images_.size(0),
                 "TensorImageDataset: expected images (N, C, H, W) and labels (N), got {} and {}",
                 images_.shape(), labels_.shape());
    MARROW_CHECK(images_.dtype() == DType::u8 || is_floating(images_.dtype()),
                 "TensorImageDataset: images must be uint8 or floating, got {}", images_.dtype());
    MARROW_CHECK(labels_.dtype() == DType::i64, "TensorImageDataset: labels must be int64, got {}",
                 labels_.dtype());
    images_ = contiguous(to(images_, Device::cpu()));
    labels_ = contiguous(to(labels_, Device::cpu()));
}

int64_t TensorImageDataset::label(int64_t index) const {
    return labels_.data<int64_t>()[index];
}

Example TensorImageDataset::get(int64_t index, uint64_t epoch, uint64_t seed) const {
    Shape shape(images_.shape().begin() + 1, images_.shape().end());
    Tensor image = to(reshape(narrow(images_, 0, index, 1), shape), DType::f32);
    if (images_.dtype() == DType::u8) image = image / 255.0;
    if (transform_) {
        SampleRng rng(seed, epoch, uint64_t(index), 0);
        image = transform_(image, rng);
    }
    return {{image}, label(index), index, {}};
}

PatientBagDataset::PatientBagDataset(BagDataset bags, int64_t image_size, int64_t max_instances)
    : bags_(std::move(bags)), image_size_(image_size), max_instances_(max_instances) {
    MARROW_CHECK(max_instances > 0, "PatientBagDataset: max_instances {} must be positive",
                 max_instances);
}

Example PatientBagDataset::get(int64_t index, uint64_t epoch, uint64_t seed) const {
    const Patient& p = bags_.patients[size_t(index)];
    int64_t n = int64_t(p.images.size());
    SampleRng rng(seed, epoch, uint64_t(index), kBagView);
    std::vector<int64_t> chosen = subsample(n, std::min(n, max_instances_), rng);
    std::vector<Tensor> cells;
    std::vector<std::string> skipped;
    for (int64_t i : chosen) {
        std::optional<Image> image;
        try {
            image = decode_or_bad(p.images[size_t(i)]);
        } catch (const BadFile& e) {
            skipped.push_back(e.what());
            continue;
        }
        Tensor cell = image_to_tensor(*image);
        if (cell.size(1) != image_size_ || cell.size(2) != image_size_)
            cell = resize(cell, image_size_, image_size_);
        cells.push_back(normalize(cell, kImageNetMean, kImageNetStd));
    }
    if (cells.empty())
        throw BadFile(fmt::format("patient {}: none of its {} chosen cells can be read (first: {})",
                                  p.id, skipped.size(), skipped.front()),
                      skipped);
    return {{stack(cells)}, p.label, index, std::move(skipped)};
}

std::vector<int64_t> epoch_order(const Dataset& dataset, Sampling sampling, uint64_t seed,
                                 uint64_t epoch) {
    int64_t n = dataset.size();
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
    SampleRng rng(seed, epoch, 0, kOrderView);
    if (sampling == Sampling::shuffle) {
        for (int64_t i = n - 1; i > 0; --i)
            std::swap(order[size_t(i)], order[size_t(rng.integer(0, i + 1))]);
    } else if (sampling == Sampling::class_balanced) {
        // Weight 1 / count per sample: every class is drawn equally often on average
        // (torch's WeightedRandomSampler with replacement), via a cumulative table.
        std::map<int64_t, int64_t> count;
        for (int64_t i = 0; i < n; ++i) ++count[dataset.label(i)];
        std::vector<double> cumulative(static_cast<size_t>(n));
        double total = 0;
        for (int64_t i = 0; i < n; ++i) {
            total += 1.0 / double(count[dataset.label(i)]);
            cumulative[size_t(i)] = total;
        }
        for (int64_t& o : order) {
            double u = rng.uniform(0, total);
            o = std::min<int64_t>(
                int64_t(std::upper_bound(cumulative.begin(), cumulative.end(), u) -
                        cumulative.begin()),
                n - 1);
        }
    }
    return order;
}

Loader::Loader(const Dataset& dataset, LoaderOptions options)
    : dataset_(dataset), options_(options) {
    MARROW_CHECK(options.batch_size > 0, "Loader: batch_size {} must be positive",
                 options.batch_size);
    MARROW_CHECK(options.workers >= 0 && options.prefetch > 0,
                 "Loader: workers {} must be >= 0 and prefetch {} > 0", options.workers,
                 options.prefetch);
}

Loader::~Loader() { stop_workers(); }

int64_t Loader::batches_per_epoch() const {
    int64_t n = dataset_.size(), b = options_.batch_size;
    return options_.drop_last ? n / b : (n + b - 1) / b;
}

void Loader::stop_workers() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    space_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
}

void Loader::start_epoch(uint64_t epoch, int64_t first_batch) {
    MARROW_CHECK(first_batch >= 0 && first_batch <= batches_per_epoch(),
                 "Loader::start_epoch: first batch {} is outside the epoch's {} batches",
                 first_batch, batches_per_epoch());
    stop_workers();
    epoch_ = epoch;
    order_ = epoch_order(dataset_, options_.sampling, options_.seed, epoch);
    first_batch_ = first_batch;
    next_batch_ = first_batch;
    done_.clear();
    failed_.clear();
    stopping_ = false;
    for (int w = 0; w < options_.workers; ++w) threads_.emplace_back([this, w] { worker_loop(w); });
}

Batch Loader::load_batch(int64_t b) {
    int64_t first = b * options_.batch_size;
    int64_t last = std::min<int64_t>(first + options_.batch_size, int64_t(order_.size()));
    std::vector<Example> examples;
    for (int64_t k = first; k < last; ++k) {
        int64_t index = order_[size_t(k)];
        try {
            Example e = dataset_.get(index, epoch_, options_.seed);
            if (!e.skipped.empty()) {
                if (!options_.skip_bad_files)
                    throw BadFile(fmt::format("example {}: {}", index, e.skipped.front()));
                std::lock_guard lock(mutex_);
                bad_files_.insert(bad_files_.end(), e.skipped.begin(), e.skipped.end());
                skipped_.push_back({epoch_, index, int64_t(e.skipped.size()), false});
            }
            examples.push_back(std::move(e));
        } catch (const BadFile& e) {
            if (!options_.skip_bad_files) throw;
            std::lock_guard lock(mutex_);
            bad_files_.insert(bad_files_.end(), e.files().begin(), e.files().end());
            skipped_.push_back({epoch_, index, int64_t(e.files().size()), true});
        }
    }
    Batch batch;
    std::vector<int64_t> labels;
    for (const Example& e : examples) {
        labels.push_back(e.label);
        batch.indices.push_back(e.index);
    }
    batch.labels = from_vector<int64_t>(labels);
    if (examples.empty()) return batch;
    if (options_.stack) {
        for (size_t t = 0; t < examples[0].tensors.size(); ++t) {
            std::vector<Tensor> parts;
            for (const Example& e : examples) parts.push_back(e.tensors[t]);
            batch.tensors.push_back(stack(parts));
        }
    } else {
        for (Example& e : examples) batch.examples.push_back(std::move(e.tensors));
    }
    return batch;
}

void Loader::worker_loop(int worker) {
    int64_t stride = options_.workers, ahead = int64_t(options_.prefetch) * options_.workers;
    for (int64_t b = first_batch_ + worker; b < batches_per_epoch(); b += stride) {
        {
            std::unique_lock lock(mutex_);
            space_.wait(lock, [&] { return stopping_ || b < next_batch_ + ahead; });
            if (stopping_) return;
        }
        std::optional<Batch> batch;
        std::string error;
        try {
            batch = load_batch(b);
        } catch (const std::exception& e) {
            error = e.what();
        }
        {
            std::lock_guard lock(mutex_);
            if (batch)
                done_.emplace(b, std::move(*batch));
            else
                failed_.emplace(b, error);
        }
        ready_.notify_all();
    }
}

std::optional<Batch> Loader::next() {
    while (next_batch_ < batches_per_epoch()) {
        int64_t b = next_batch_;
        Batch batch;
        if (options_.workers == 0) {
            batch = load_batch(b);
        } else {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [&] { return done_.count(b) || failed_.count(b); });
            if (auto f = failed_.find(b); f != failed_.end()) {
                std::string error = f->second;
                lock.unlock();
                stop_workers();
                fail("Loader: epoch {}, batch {}: {}", epoch_, b, error);
            }
            batch = std::move(done_.at(b));
            done_.erase(b);
        }
        {
            std::lock_guard lock(mutex_);
            ++next_batch_;
        }
        space_.notify_all();
        if (!batch.indices.empty()) return batch;  // every file of this batch was bad: skip it
    }
    return std::nullopt;
}

std::vector<std::string> Loader::bad_files() const {
    std::lock_guard lock(mutex_);
    return bad_files_;
}

std::vector<Skipped> Loader::skipped() const {
    std::vector<Skipped> out;
    {
        std::lock_guard lock(mutex_);
        out = skipped_;
    }
    std::sort(out.begin(), out.end(), [](const Skipped& a, const Skipped& b) {
        return std::tie(a.epoch, a.index) < std::tie(b.epoch, b.index);
    });
    return out;
}

}  // namespace marrow::data
