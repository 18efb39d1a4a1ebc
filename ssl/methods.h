// The four methods' SslModels (ssl/ssl_model.h explains the interface). Built by
// make_ssl_model(config); declared here for the tests that look inside them.
#pragma once
#include <memory>

#include "nn/ema.h"
#include "ssl/dino_loss.h"
#include "ssl/encoder.h"
#include "ssl/heads.h"
#include "ssl/ssl_model.h"

namespace marrow::ssl {

// The encoder of `config.arch` without its classifier: images (B, C, H, W) -> (B, D).
// The student gets config.drop_path_rate (ViTs), the teacher none; DINOv2's ViTs have
// LayerScale (1e-5), DINO's none.
EncoderSpec encoder_spec(const SslConfig& config, bool student);
std::shared_ptr<Encoder> make_backbone(const SslConfig& config, bool student,
                                       Generator& generator);
ProjectionHeadOptions simclr_head_options(const SslConfig& config, int64_t in);
SwavHeadOptions swav_head_options(const SslConfig& config, int64_t in);
DinoHeadOptions dino_head_options(const SslConfig& config, int64_t in);

class SimClr : public SslModel {
public:
    explicit SimClr(const SslConfig& config);
    StepLoss forward_loss(const std::vector<Tensor>& views, const StepContext& ctx) override;
    nn::NamedTensors student_parameters() const override;
    Encoder& export_encoder() override { return *encoder; }
    Encoder& student_encoder() override { return *encoder; }
    std::shared_ptr<Encoder> encoder;
    std::shared_ptr<nn::Layer> backbone;  // encoder's module, registered as "backbone"
    std::shared_ptr<ProjectionHead> head;
};

class Swav : public SslModel {
public:
    explicit Swav(const SslConfig& config);
    void before_forward(const StepContext& ctx) override;
    StepLoss forward_loss(const std::vector<Tensor>& views, const StepContext& ctx) override;
    void before_optimizer_step(const StepContext& ctx) override;
    nn::NamedTensors student_parameters() const override;
    Encoder& export_encoder() override { return *encoder; }
    Encoder& student_encoder() override { return *encoder; }
    std::shared_ptr<Encoder> encoder;
    std::shared_ptr<nn::Layer> backbone;  // encoder's module, registered as "backbone"
    std::shared_ptr<SwavHead> head;
    // (2, queue_length, d) past embeddings of the two assign crops (the "queue" buffer);
    // none without a queue.
    std::optional<Tensor> queue;
};

// DINO's MultiCropWrapper: "backbone" and "head" (upstream's checkpoint keys), plus the
// iBOT patch head for DINOv2 ("dino_head", "ibot_head" there).
class StudentTeacherPart : public nn::Module {
public:
    StudentTeacherPart(const SslConfig& config, bool student, Generator& generator);
    std::shared_ptr<Encoder> encoder;
    std::shared_ptr<nn::Layer> backbone;  // encoder's module
    std::shared_ptr<DinoHead> head;       // DINO: "head"; DINOv2: "dino_head"
    std::shared_ptr<DinoHead> ibot_head;  // DINOv2 with a separate head; else null
    DinoHead& patch_head() { return ibot_head ? *ibot_head : *head; }
};

// Student and teacher (an EMA copy, no gradient), for DINO and DINOv2.
class DinoFamily : public SslModel {
public:
    explicit DinoFamily(const SslConfig& config);
    StepLoss forward_loss(const std::vector<Tensor>& views, const StepContext& ctx) override;
    void before_optimizer_step(const StepContext& ctx) override;
    void after_optimizer_step(const StepContext& ctx) override;
    nn::NamedTensors student_parameters() const override;
    Encoder& export_encoder() override { return *teacher->encoder; }
    Encoder& student_encoder() override { return *student->encoder; }
    std::shared_ptr<StudentTeacherPart> student, teacher;
    std::shared_ptr<DinoLoss> dino_loss;
    std::shared_ptr<IbotPatchLoss> ibot_loss;  // DINOv2 only

private:
    StepLoss dino_step(const std::vector<Tensor>& views, const StepContext& ctx);
    StepLoss dinov2_step(const std::vector<Tensor>& views, const StepContext& ctx);
    std::unique_ptr<nn::ModelEMA> ema_;
};

}  // namespace marrow::ssl
