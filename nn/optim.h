// Optimizers over parameter tensors or parameter groups, with torch.optim's update rules, so a
// recipe (and its hyperparameters) carries over from PyTorch unchanged.
//
//   nn::SGD opt(model.parameters(), {.lr = 0.05, .momentum = 0.9});
//   nn::AdamW opt(nn::decay_groups(model.named_parameters()), {.lr = 5e-4, .weight_decay = 0.04});
//   for (...) { Tensor loss = ...; opt.zero_grad(); loss.backward(); opt.step(); }
//
// The pattern every optimizer here follows (SGD below, Adam/AdamW in nn/adam.h, LARS/LARC in
// nn/lars.h): an options struct checked in the constructor; groups whose lr and weight_decay
// default to the options' and can be changed between steps (schedules do); per-parameter
// state created lazily on the first step that sees a gradient, kept by name in state_
// (PyTorch's optimizer.state[p]); updates under NoGradGuard with in-place ops, through the
// fused optim_step kernel where one exists (tensor/ops/optim.h; options.fused = false runs
// the composite reference).
//
// Note [Where the gradient all-reduce goes]
// Data-parallel training (a later issue) averages gradients across processes after backward
// and before anything reads them. The training step is therefore written in four phases:
//   loss.backward();                        // 1. local gradients
//   /* all_reduce(opt.parameters()) */      // 2. later: average p.grad() over ranks (NCCL/MPI)
//   nn::clip_grad_norm_(params, 3.0);       // 3. clipping sees the global gradient
//   opt.step(); scheduler.step();           // 4. identical update on every rank
// Nothing in the optimizers reads gradients before step(), and step() reads them only through
// p.grad(), so phase 2 needs no optimizer change: it replaces each p.grad() with the reduced
// buffer (set_grad). Gradient accumulation (k micro-batches of loss / k) belongs before phase 2,
// so the reduction runs once per optimizer step.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tensor/math/optim_math.h"
#include "tensor/tensor.h"

namespace marrow::nn {

// A parameter group as the caller hands it in: its own lr / weight_decay, or the optimizer's
// defaults when unset (torch.optim's param_groups).
struct ParamGroup {
    std::vector<Tensor> params = {};
    std::optional<double> lr = std::nullopt;
    std::optional<double> weight_decay = std::nullopt;
    // LARS / LARC only: whether the trust ratio applies (false: plain momentum SGD for this
    // group, as SimCLR does for biases and batch-norm parameters). Other optimizers ignore it.
    std::optional<bool> layer_adaptation = std::nullopt;
};

// A group once its defaults are filled in. lr and weight_decay are read at every step, so
// schedules (nn/schedule.h) write them here.
struct OptimizerGroup {
    std::vector<Tensor> params;
    double lr;
    double weight_decay;
    bool layer_adaptation;
};

// The no-decay rule of DINO's get_params_groups (and timm's): biases (names ending in
// ".bias") and every parameter with at most one dimension (norm weights, LayerScale gammas)
// get no weight decay.
bool no_weight_decay(const std::string& name, const Tensor& param);

// Splits named parameters (a Module's named_parameters(): {"layer1.0.bn1.weight", tensor})
// into the two groups DINO uses: group 0 = the regularized ones (weight_decay unset: the
// optimizer's, which a schedule may change), group 1 = those `exclude` picks, with
// weight_decay 0 and layer_adaptation false (SimCLR's LARS excludes the same parameters
// from the trust ratio). Parameters with requires_grad false (frozen) are left out; both
// groups are always returned, possibly empty, so group indices are stable.
std::vector<ParamGroup> decay_groups(
    const std::vector<std::pair<std::string, Tensor>>& named_params,
    const std::function<bool(const std::string&, const Tensor&)>& exclude = no_weight_decay);

class Optimizer {
public:
    // params: leaf tensors (floating point, each listed once across all groups); the optimizer
    // keeps handles, so updates are seen by whoever else holds them. Parameter i of the
    // optimizer is the i-th tensor over the groups in order (PyTorch's state_dict indexing).
    Optimizer(std::vector<ParamGroup> groups, std::string_view name, double default_lr,
              double default_weight_decay);
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    // Forgets every parameter's gradient (torch's zero_grad(set_to_none=True)).
    void zero_grad();
    // One update of every parameter that has a gradient; the others are left as they are.
    virtual void step() = 0;

    // The optimizer's state as named tensors, for checkpoints:
    //   "<parameter index>.<name>" (torch's state_dict()["state"][i][name]), e.g.
    //   "0.momentum_buffer", "3.exp_avg", "3.step" (int64 scalar, on the CPU): the live
    //   buffers (handles, not copies); a parameter that never had a gradient has none, as in
    //   PyTorch;
    //   "param_groups.<g>.lr", "param_groups.<g>.weight_decay": float64 scalars (fresh), which
    //   a ReduceLROnPlateau or a manual change may have moved away from the options.
    std::map<std::string, Tensor> state() const;
    // Restores what state() returned (values copied, bit-identical), so the next step()
    // continues exactly. Everything is checked before anything changes: a parameter with some
    // but not all of its entries, an entry whose shape or dtype differs from its parameter's,
    // a missing group entry, or an entry this optimizer does not know is an error naming it.
    void load_state(const std::map<std::string, Tensor>& state);

    std::vector<OptimizerGroup>& param_groups() { return groups_; }
    const std::vector<OptimizerGroup>& param_groups() const { return groups_; }
    // Every group's lr (a single-group schedule's shortcut).
    void set_lr(double lr);
    // All parameters, in index order.
    const std::vector<Tensor>& parameters() const { return params_; }
    const std::string& name() const { return name_; }

protected:
    // The per-parameter state names this optimizer keeps (all or none per parameter), given
    // its options; "step" is an int64 scalar, the others have the parameter's shape and dtype.
    virtual std::vector<std::string> state_names() const = 0;
    // Calls fn(index, param, group) for each parameter that has a gradient, then runs the
    // fused updates fn queued (fused_update).
    template <typename Fn>
    void for_each_with_grad(Fn&& fn) {
        size_t index = 0;
        for (OptimizerGroup& group : groups_)
            for (const Tensor& p : group.params) {
                if (p.has_grad()) fn(index, p, group);  // else frozen, or unused this step
                ++index;
            }
        flush_fused();
    }
    // Queues op::optim_step_(params, p, g, state). Note [Batched fused updates]: consecutive
    // parameters with equal step scalars, dtype and device go to the kernel together (on CUDA
    // a multi-tensor launch: 4 launches for a ResNet-18 instead of 62); the queue runs when
    // the scalars change and at the end of for_each_with_grad, before anything reads the
    // parameters again. Each parameter is updated once per step, so the deferral changes no
    // result.
    void fused_update(const OptimStepParams& params, const Tensor& p, const Tensor& g,
                      std::vector<Tensor> state);
    void flush_fused();
    // Per parameter: its state by name (empty until its first step).
    std::vector<std::map<std::string, Tensor>> state_;

private:
    std::string name_;
    std::vector<OptimizerGroup> groups_;
    std::vector<Tensor> params_;
    struct FusedQueue {
        OptimStepParams params;
        std::vector<Tensor> ps, gs;
        std::vector<std::vector<Tensor>> states;
    } fused_;
};

// One group holding `params` with the optimizer's defaults.
std::vector<ParamGroup> single_group(std::vector<Tensor> params);

struct SGDOptions {
    double lr = 1e-3;
    double momentum = 0;
    double dampening = 0;
    double weight_decay = 0;  // L2: adds weight_decay * p to the gradient
    bool nesterov = false;    // needs momentum > 0 and dampening == 0
    bool maximize = false;    // ascend instead of descend
    // The fused kernel (op::optim_step_, batched: Note [Batched fused updates]) when p, its
    // gradient and its buffer are contiguous float32/float64 on one device; false: the
    // composite update, the reference.
    bool fused = true;
};

// torch.optim.SGD (single-tensor form). Per parameter p with gradient g, in a group with lr
// and weight_decay:
//   g = maximize ? -g : g;  g += weight_decay * p
//   momentum != 0: b = g on the first step (a copy), else b = momentum b + (1 - dampening) g;
//                  g = nesterov ? g + momentum b : b
//   p -= lr g
// State: "momentum_buffer" when momentum != 0.
class SGD : public Optimizer {
public:
    explicit SGD(std::vector<Tensor> params, SGDOptions options = {});
    SGD(std::vector<ParamGroup> groups, SGDOptions options);
    void step() override;
    const SGDOptions& options() const { return options_; }

protected:
    std::vector<std::string> state_names() const override;
    // The update of parameter `index` from gradient g (already maximize-negated or not: this
    // does it) with the given lr and weight decay; LARC calls it with its rescaled gradient.
    void sgd_update(size_t index, const Tensor& p, Tensor g, double lr, double weight_decay);

private:
    SGDOptions options_;
};

}  // namespace marrow::nn
