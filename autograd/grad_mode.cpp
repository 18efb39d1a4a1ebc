#include "autograd/grad_mode.h"

namespace marrow::autograd {
namespace {
thread_local bool t_grad_enabled = true;
thread_local bool t_anomaly_enabled = false;
thread_local std::string t_scope;
}  // namespace

bool grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool enabled) { t_grad_enabled = enabled; }
bool anomaly_enabled() { return t_anomaly_enabled; }
void set_anomaly_enabled(bool enabled) { t_anomaly_enabled = enabled; }

NameScope::NameScope(std::string_view name) : previous_size_(t_scope.size()) {
    if (!t_scope.empty()) t_scope += '/';
    t_scope += name;
}
NameScope::~NameScope() { t_scope.resize(previous_size_); }
const std::string& current_scope() { return t_scope; }

}  // namespace marrow::autograd
