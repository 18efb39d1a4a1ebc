#include "nn/training.h"

#include "tensor/error.h"

namespace marrow::nn {
namespace {

StateDict to_state_dict(const std::map<std::string, Tensor>& map) {
    StateDict out;
    for (const auto& [key, tensor] : map) out.insert(key, tensor);
    return out;
}

std::map<std::string, Tensor> to_map(const StateDict& dict) {
    std::map<std::string, Tensor> out;
    for (const auto& [key, tensor] : dict) out.emplace(key, tensor);
    return out;
}

}  // namespace

Checkpoint capture_training(const TrainingParts& parts, const TrainingPosition& position,
                            const nlohmann::json& config) {
    Checkpoint ck;
    ck.sections["model"] = parts.model.state_dict();
    ck.sections["optimizer"] = to_state_dict(parts.optimizer.state());
    if (parts.scheduler) ck.sections["scheduler"] = to_state_dict(parts.scheduler->state());
    ck.meta["position"] = {
        {"step", position.step}, {"epoch", position.epoch}, {"batch", position.batch}};
    if (parts.generator) {
        GeneratorState g = parts.generator->state();
        ck.meta["generator"] = {{"seed", g.seed}, {"offset", g.offset}};
    }
    ck.meta["optimizer"] = parts.optimizer.name();
    ck.meta["config"] = config;
    return ck;
}

TrainingPosition restore_training(const Checkpoint& ck, const TrainingParts& parts) {
    const std::string where = ck.source.empty() ? "checkpoint" : "\"" + ck.source + "\"";
    std::string saved_optimizer = ck.meta.value("optimizer", "");
    MARROW_CHECK(saved_optimizer == parts.optimizer.name(),
                 "{}: holds the state of a {} optimizer, this run uses {}", where,
                 saved_optimizer, parts.optimizer.name());
    try {
        parts.model.load_state_dict(ck.section("model"));
        parts.optimizer.load_state(to_map(ck.section("optimizer")));
        if (parts.scheduler) parts.scheduler->load_state(to_map(ck.section("scheduler")));
    } catch (const Error& e) {
        fail("{}: {}", where, e.what());
    }
    if (parts.generator) {
        MARROW_CHECK(ck.meta.contains("generator"), "{}: has no generator state", where);
        parts.generator->set_state({ck.meta["generator"]["seed"].get<uint64_t>(),
                                    ck.meta["generator"]["offset"].get<uint64_t>()});
    }
    MARROW_CHECK(ck.meta.contains("position"), "{}: has no training position", where);
    const auto& p = ck.meta["position"];
    return {p.at("step").get<int64_t>(), p.at("epoch").get<int64_t>(),
            p.at("batch").get<int64_t>()};
}

}  // namespace marrow::nn
