// Loads torchvision's ResNet-50 state dict as torch.save wrote it (.pth, written by
// tests/golden/save_resnet50_pth.py) into nn::models::resnet50 strictly through the .pth
// reader, and compares eval-mode logits with torch's (TolClass::model).
//   pth_resnet_check DIR
#include <cstdio>

#include "marrow.h"
#include "tests/compare.h"

using namespace marrow;

int main(int argc, char** argv) try {
    MARROW_CHECK(argc == 2, "usage: pth_resnet_check DIR");
    std::string dir = argv[1];
    auto model = nn::models::resnet50();
    nn::StateDict sd = nn::load_state_dict_file(dir + "/resnet50.pth");
    model->load_state_dict(sd, /*strict=*/true);
    model->eval();
    SafetensorsFile io = load_safetensors(dir + "/resnet50.io.safetensors");
    autograd::NoGradGuard no_grad;
    Tensor logits = model->forward(io.tensors.at("x"));
    test::Comparison c = test::compare(logits, io.tensors.at("logits"),
                                       test::tolerance(test::TolClass::model, DType::f32));
    std::printf(
        "resnet50 from .pth (%zu tensors): logits max-abs %.3g max-rel %.3g nmse %.3g: %s\n",
        sd.size(), c.max_abs, c.max_rel, c.nmse, c.ok ? "ok" : "FAILED");
    if (!c.ok) std::printf("%s\n", c.detail.c_str());
    return c.ok ? 0 : 1;
} catch (const std::exception& e) {
    std::fprintf(stderr, "pth_resnet_check: %s\n", e.what());
    return 1;
}
