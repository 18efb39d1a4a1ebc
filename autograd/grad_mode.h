// Thread-local autograd switches: grad mode (no_grad), anomaly detection, and the name scope
// recorded on every graph node so errors can say where a node was created.
#pragma once
#include <string>
#include <string_view>

namespace marrow::autograd {

bool grad_enabled();
void set_grad_enabled(bool enabled);

// RAII: disables graph recording in its scope (torch.no_grad()).
class NoGradGuard {
public:
    NoGradGuard() : previous_(grad_enabled()) { set_grad_enabled(false); }
    ~NoGradGuard() { set_grad_enabled(previous_); }
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

// Anomaly mode: the first NaN/Inf produced by a recorded op's forward, or by any backward
// function, raises an Error naming the op and where it was created (torch.autograd
// detect_anomaly). It costs a scan of every output, so it is off by default.
bool anomaly_enabled();
void set_anomaly_enabled(bool enabled);
class DetectAnomalyGuard {
public:
    DetectAnomalyGuard() : previous_(anomaly_enabled()) { set_anomaly_enabled(true); }
    ~DetectAnomalyGuard() { set_anomaly_enabled(previous_); }
    DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
    DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

private:
    bool previous_;
};

// RAII: pushes a name ("encoder", "block3", "attn") onto the scope path that graph nodes
// record as their creation site ("encoder/block3/attn").
class NameScope {
public:
    explicit NameScope(std::string_view name);
    ~NameScope();
    NameScope(const NameScope&) = delete;
    NameScope& operator=(const NameScope&) = delete;

private:
    size_t previous_size_;
};
const std::string& current_scope();

}  // namespace marrow::autograd
