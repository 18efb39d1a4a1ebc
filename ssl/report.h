// report.html of a pre-training run: the summary (final loss against ln K, kNN accuracy,
// collapse warnings), loss curves per epoch, the collapse monitors next to their healthy and
// collapsed levels, kNN accuracy per epoch, and a montage of the crops the method trained on,
// so a reviewer sees what the encoder was shown.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "data/transforms.h"
#include "ssl/feature_extraction.h"
#include "ssl/trainer.h"

namespace marrow::ssl {

// Writes <run_dir>/report.html from run.json, metrics.jsonl and the result; `source` and
// `views` draw the montage (the first images' crops at epoch 0).
void write_pretrain_report(const std::string& run_dir, const TrainingResult& result,
                           const ImageSource& source, const data::MultiCropSpec& views);

}  // namespace marrow::ssl
