// The encoders of the SSL-MIL experiment (seed 000), trained or built on a dataset's cell
// images, each in its own run directory with its own run.json and metrics.jsonl:
//   simclr | swav | dino   ssl_pretrain's library (ssl::train) with the seed-000 preset,
//                          shrunk to the recipe's arch, crop size, epochs and batch
//                          (SimCLR's and SwAV's global crops keep >= 50% of the image);
//   supervised             a backbone + linear classifier on the cells' types (cells.csv's
//                          cell_type), SGD Nesterov with warm-up + cosine (train_classifier);
//   random                 the backbone as initialized (the floor any training must beat).
// Apps that need one call obtain_encoder; supervised_encoder uses the same classifier model.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "data/transforms.h"
#include "nn/layers.h"
#include "nn/models/resnet.h"
#include "ssl/encoder.h"
#include "ssl/feature_extraction.h"

namespace marrow::apps {

// backbone (B, C, H, W) -> (B, D), then fc -> logits (B, classes); keys "backbone.*", "fc.*".
class EncoderClassifier : public nn::Layer {
public:
    EncoderClassifier(std::shared_ptr<ssl::Encoder> encoder, int64_t classes, Generator* gen);
    Tensor forward(const Tensor& x) override;

private:
    std::shared_ptr<ssl::Encoder> encoder_;
    std::shared_ptr<nn::Linear> fc_;
};

// One view per image: `train` draws a random resized crop (scale 0.25-1) and flips, otherwise
// the whole image resized.
data::MultiCropSpec single_view(int64_t size, bool train);

struct EncoderRecipe {
    std::string arch = "resnet18";
    nn::models::ResNetStem stem = nn::models::ResNetStem::small_pool;
    int64_t image_size = 32;  // training crops and extraction
    int64_t epochs = 2;
    int64_t supervised_epochs = 0;  // the supervised encoder's (0: epochs)
    int64_t batch_size = 32;
    int workers = 2;
    uint64_t seed = 0;
    // Self-supervised config fields as key=value (ssl::resolve_config's overrides, e.g.
    // out_dim=4096 local_crops=4), applied to the seed-000 preset before the fields above;
    // method:key=value applies to that method only (dino:lr=2e-3).
    std::vector<std::string> ssl_sets = {};
};

const std::vector<std::string>& trainable_encoders();  // simclr swav dino supervised random

// Trains (or builds) encoder `name` on `source`'s images in run_dir and returns the path of its
// encoder file (run_dir/encoder.safetensors). supervised needs `cells_csv` (its cell_type
// column labels the cells). Errors name the encoder and what is missing.
std::string obtain_encoder(const std::string& name, const ssl::ImageSource& source,
                           const std::string& cells_csv, const EncoderRecipe& recipe,
                           const std::string& run_dir);

}  // namespace marrow::apps
