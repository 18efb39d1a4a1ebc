// The optimizers, clipping and EMA on the CUDA backend (the SIMT simulator in CI, a GPU under
// tools/gpu_check.sh): the same steps on CUDA parameters as on CPU copies agree. The updates
// are compositions of device ops, so this checks that nothing in them reads device memory on
// the host or falls back to a CPU-only path (state "step" stays on the CPU, as in PyTorch).
#include <doctest/doctest.h>

#include <memory>

#include "autograd/ops.h"
#include "nn/adam.h"
#include "nn/clip.h"
#include "nn/ema.h"
#include "nn/lars.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

namespace {

std::unique_ptr<nn::Optimizer> make(const std::string& kind, std::vector<Tensor> ps) {
    std::vector<nn::ParamGroup> groups = {
        {.params = {ps[0]}}, {.params = {ps[1]}, .weight_decay = 0.0, .layer_adaptation = false}};
    if (kind == "sgd")
        return std::make_unique<nn::SGD>(
            groups,
            nn::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-2, .nesterov = true});
    if (kind == "adam")
        return std::make_unique<nn::Adam>(groups, nn::AdamOptions{.lr = 0.01, .amsgrad = true});
    if (kind == "adamw") return std::make_unique<nn::AdamW>(groups, nn::AdamWOptions{.lr = 0.01});
    if (kind == "lars")
        return std::make_unique<nn::LARS>(groups, nn::LARSOptions{.lr = 0.3, .weight_decay = 1e-3});
    return std::make_unique<nn::LARC>(
        groups, nn::SGDOptions{.lr = 0.3, .momentum = 0.9, .weight_decay = 1e-3},
        nn::LARCOptions{.trust_coefficient = 1e-2, .clip = true});
}

}  // namespace

TEST_CASE("optimizers on CUDA parameters match the CPU, with clipping and EMA") {
    Generator gen(11);
    // 1031 elements: past a 1024-thread block and the float4 tails.
    Tensor w0 = randn({1031}, DType::f32, Device::cpu(), gen);
    Tensor b0 = randn({7}, DType::f32, Device::cpu(), gen);
    Tensor target = randn({1031}, DType::f32, Device::cpu(), gen);
    Tolerance tol = tolerance(TolClass::optimizer, DType::f32);
    for (std::string kind : {"sgd", "adam", "adamw", "lars", "larc"}) {
        CAPTURE(kind);
        std::vector<Tensor> cpu = {clone(w0).requires_grad_(), clone(b0).requires_grad_()};
        std::vector<Tensor> dev = {to(w0, Device::cuda()).requires_grad_(),
                                   to(b0, Device::cuda()).requires_grad_()};
        auto opt_cpu = make(kind, cpu), opt_dev = make(kind, dev);
        Tensor t_cpu = zeros_like(cpu[0]), t_dev = zeros({1031}, DType::f32, Device::cuda());
        Tensor target_dev = to(target, Device::cuda());
        for (int k = 0; k < 3; ++k) {
            auto step = [&](std::vector<Tensor>& ps, nn::Optimizer& opt, const Tensor& y,
                            Tensor& teacher) {
                Tensor loss = sum(pow(ps[0] - y, 2.0)) + sum(pow(ps[1], 3.0));
                opt.zero_grad();
                loss.backward();
                Tensor total = nn::clip_grad_norm_(ps, 5.0);
                CHECK(total.device() == ps[0].device());
                opt.step();
                nn::ema_update_({teacher}, {ps[0]}, 0.9);
            };
            step(cpu, *opt_cpu, target, t_cpu);
            step(dev, *opt_dev, target_dev, t_dev);
            for (size_t i = 0; i < cpu.size(); ++i) {
                Comparison cmp = compare(to(dev[i], Device::cpu()), cpu[i], tol);
                INFO("parameter ", i, " after step ", k, ": ", cmp.detail);
                CHECK(cmp.ok);
            }
            Comparison ema = compare(to(t_dev, Device::cpu()), t_cpu, tol);
            INFO("teacher: ", ema.detail);
            CHECK(ema.ok);
        }
        auto state = opt_dev->state();
        for (const auto& [key, t] : state) {  // buffers on the device; counts, lr, wd on the CPU
            bool buffer = !key.starts_with("param_groups.") && !key.ends_with(".step");
            CHECK(t.device() == (buffer ? Device::cuda() : Device::cpu()));
        }
        if (kind == "adam") CHECK(state.at("0.step").device() == Device::cpu());
        // The state moves back onto the device when loaded into a CUDA optimizer.
        std::vector<Tensor> again = {to(w0, Device::cuda()).requires_grad_(),
                                     to(b0, Device::cuda()).requires_grad_()};
        auto opt_again = make(kind, again);
        std::map<std::string, Tensor> on_cpu;
        for (const auto& [key, t] : state) on_cpu.emplace(key, to(t, Device::cpu()));
        opt_again->load_state(on_cpu);
        for (const auto& [key, t] : opt_again->state())
            if (!key.starts_with("param_groups.") && !key.ends_with(".step"))
                CHECK(t.device() == Device::cuda());
    }
}

TEST_CASE("fused updates of many CUDA parameters (multi-tensor launches) match the CPU") {
    // Note [Multi-tensor launch]: 19 parameters of one group take two launches (16 + 3); the
    // sizes cross the 4096-element chunk (several blocks for one tensor) and include one
    // element. Adam and SGD with momentum (state slots used and unused).
    Generator gen(12);
    std::vector<int64_t> sizes = {1, 5000, 4096, 4097, 33, 12289, 7, 256, 255, 1, 2, 3,
                                  9000, 17, 4095, 64, 8193, 100, 1};
    for (std::string kind : {"sgd", "adam"}) {
        CAPTURE(kind);
        std::vector<Tensor> cpu, dev, targets;
        for (int64_t n : sizes) {
            Tensor w = randn({n}, DType::f32, Device::cpu(), gen);
            cpu.push_back(clone(w).requires_grad_());
            dev.push_back(to(w, Device::cuda()).requires_grad_());
            targets.push_back(randn({n}, DType::f32, Device::cpu(), gen));
        }
        auto optimizer = [&](std::vector<Tensor> ps) -> std::unique_ptr<nn::Optimizer> {
            if (kind == "sgd")
                return std::make_unique<nn::SGD>(ps, nn::SGDOptions{.lr = 0.1, .momentum = 0.9});
            return std::make_unique<nn::Adam>(ps, nn::AdamOptions{.lr = 0.01});
        };
        auto opt_cpu = optimizer(cpu), opt_dev = optimizer(dev);
        for (int k = 0; k < 3; ++k) {
            for (auto* side : {&cpu, &dev}) {
                Tensor loss = zeros({}, DType::f32, (*side)[0].device());
                for (size_t i = 0; i < side->size(); ++i)
                    loss = loss + sum(pow((*side)[i] - to(targets[i], (*side)[i].device()), 2.0));
                (side == &cpu ? opt_cpu : opt_dev)->zero_grad();
                loss.backward();
                (side == &cpu ? opt_cpu : opt_dev)->step();
            }
        }
        for (size_t i = 0; i < sizes.size(); ++i) {
            Comparison c = compare(to(dev[i], Device::cpu()), cpu[i],
                                   tolerance(TolClass::optimizer, DType::f32));
            INFO("parameter ", i, " (", sizes[i], " elements): ", c.detail);
            CHECK(c.ok);
        }
    }
}
