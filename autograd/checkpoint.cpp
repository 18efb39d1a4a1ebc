#include "autograd/checkpoint.h"

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace marrow::autograd {
namespace {

struct SavedGenerators {
    std::vector<Generator*> generators;
    std::vector<GeneratorState> states;

    explicit SavedGenerators(const std::vector<Generator*>& gens)
        : generators(gens.empty() ? std::vector<Generator*>{&default_generator()} : gens) {
        for (Generator* g : generators) states.push_back(g->state());
    }
};

// The recompute's scope: grad mode on, the generators at the states the forward started from;
// both put back on exit (also when fn throws).
class Replay {
public:
    explicit Replay(const SavedGenerators& saved) : saved_(saved), grad_was_(grad_enabled()) {
        for (size_t i = 0; i < saved.generators.size(); ++i) {
            now_.push_back(saved.generators[i]->state());
            saved.generators[i]->set_state(saved.states[i]);
        }
        set_grad_enabled(true);
    }
    ~Replay() {
        set_grad_enabled(grad_was_);
        for (size_t i = 0; i < saved_.generators.size(); ++i)
            saved_.generators[i]->set_state(now_[i]);
    }
    Replay(const Replay&) = delete;
    Replay& operator=(const Replay&) = delete;

private:
    const SavedGenerators& saved_;
    bool grad_was_;
    std::vector<GeneratorState> now_;
};

}  // namespace

std::vector<Tensor> checkpoint(const CheckpointFn& fn, const std::vector<Tensor>& inputs,
                               const std::vector<Generator*>& generators) {
    if (!grad_enabled() || !any_requires_grad(inputs)) return fn(inputs);
    auto rng = std::make_shared<SavedGenerators>(generators);
    std::vector<Tensor> outputs;
    {
        NoGradGuard no_grad;
        outputs = fn(inputs);
    }
    std::vector<SavedTensor> saved;
    for (const Tensor& x : inputs) saved.emplace_back(x, "checkpoint");
    return record("checkpoint", inputs, outputs,
                  [fn, saved, rng](const Grads& grads, const NeedsGrad& needs) {
                      // The inputs as new leaves, so the inner graph stops at them.
                      std::vector<Tensor> leaves;
                      for (size_t i = 0; i < saved.size(); ++i) {
                          Tensor leaf = detach(saved[i].get());
                          if (needs[i]) leaf.requires_grad_(true);
                          leaves.push_back(leaf);
                      }
                      std::vector<Tensor> recomputed;
                      {
                          Replay replay(*rng);
                          recomputed = fn(leaves);
                      }
                      std::vector<Tensor> roots;
                      std::vector<std::optional<Tensor>> root_grads;
                      for (size_t i = 0; i < recomputed.size(); ++i)
                          if (grads[i] && recomputed[i].requires_grad()) {
                              roots.push_back(recomputed[i]);
                              root_grads.push_back(grads[i]);
                          }
                      if (!roots.empty()) backward(roots, root_grads);
                      Grads out(leaves.size());
                      for (size_t i = 0; i < leaves.size(); ++i)
                          if (needs[i] && leaves[i].has_grad()) out[i] = leaves[i].grad();
                      return out;
                  });
}

Tensor checkpoint(const std::function<Tensor(const Tensor&)>& fn, const Tensor& x,
                  const std::vector<Generator*>& generators) {
    return checkpoint(
        [fn](const std::vector<Tensor>& xs) { return std::vector<Tensor>{fn(xs[0])}; }, {x},
        generators)[0];
}

}  // namespace marrow::autograd
