#include "data/mnist.h"

#include <filesystem>

#include "data/idx.h"
#include "tensor/ops/copy.h"

namespace marrow::data {

static std::string find_file(const std::string& dir, const std::string& stem) {
    for (const char* ext : {".gz", ""}) {
        std::string p = dir + "/" + stem + ext;
        if (std::filesystem::exists(p)) return p;
    }
    fail("{}/{}[.gz]: no such file (on Debian: apt-get install dataset-fashion-mnist)", dir, stem);
}

MnistSplit load_mnist_split(const std::string& dir, const std::string& prefix) {
    std::string ipath = find_file(dir, prefix + "-images-idx3-ubyte");
    std::string lpath = find_file(dir, prefix + "-labels-idx1-ubyte");
    Tensor images = load_idx(ipath);
    Tensor labels = load_idx(lpath);
    MARROW_CHECK(images.dim() == 3 && images.numel() > 0,
                 "{}: expected (N, rows, cols) images, none of them 0, got shape {}", ipath,
                 images.shape());
    MARROW_CHECK(labels.dim() == 1 && labels.size(0) == images.size(0),
                 "{}: {} labels for {} images in {}", lpath, labels.numel(), images.size(0), ipath);
    const uint8_t* l = labels.data<uint8_t>();
    for (int64_t i = 0; i < labels.numel(); ++i)
        MARROW_CHECK(l[i] < 10, "{}: label {} at index {} is not a class in [0, 10)", lpath,
                     int(l[i]), i);
    return {images, op::to_dtype(labels, DType::i64), {ipath, lpath}};
}

}  // namespace marrow::data
