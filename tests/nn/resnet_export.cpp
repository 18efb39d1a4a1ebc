// Writes ResNet-18 and ResNet-50 as marrow initializes them (seeded), and marrow's eval-mode
// logits for a fixed batch, for tests/golden/check_torch_roundtrip.py to load into
// torchvision and compare. The running statistics are first moved off their (0, 1) start by a
// few train-mode passes, so the buffers are checked too.
//   resnet_export DIR
#include <cstdio>
#include <filesystem>

#include "marrow.h"

using namespace marrow;

int main(int argc, char** argv) try {
    MARROW_CHECK(argc == 2, "usage: resnet_export DIR");
    std::filesystem::create_directories(argv[1]);
    for (const char* name : {"resnet18", "resnet50"}) {
        Generator gen(7);
        nn::models::ResNetOptions o{.num_classes = 10, .generator = &gen};
        auto model = std::string(name) == "resnet18" ? nn::models::resnet18(o)
                                                      : nn::models::resnet50(o);
        autograd::NoGradGuard no_grad;
        Tensor x = randn({2, 3, 64, 64}, {.generator = &gen});
        for (int i = 0; i < 3; ++i) model->forward(randn({4, 3, 64, 64}, {.generator = &gen}));
        model->eval();
        Tensor logits = model->forward(x);
        std::string base = std::string(argv[1]) + "/" + name;
        nn::save_state_dict_file(base + ".safetensors", model->state_dict());
        save_safetensors(base + ".io.safetensors", {{"x", x}, {"logits", logits}});
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "resnet_export: %s\n", e.what());
    return 1;
}
