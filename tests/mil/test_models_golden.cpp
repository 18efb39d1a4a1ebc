// The MIL models against PyTorch transcriptions of SCEMILA's AMiL and AttentionDeepMIL's
// (gated) attention with DinoBloom's head (fixture from tests/golden/gen/gen_mil.py), float64:
// each config's state_dict loads strictly by PyTorch's keys; one bag's outputs, loss, input and
// parameter gradients; a masked batch of 3 bags of different lengths against each bag run
// alone (padding random, not zero); 5 optimizer steps: SCEMILA's rule (SGD Nesterov, backward
// every bag, step + zero_grad every 2nd: the sum of 2 gradients) or Adam on the masked batch.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "mil/models.h"
#include "nn/adam.h"
#include "nn/losses.h"
#include "nn/optim.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

namespace {

const Tensor& get(const std::string& key) { return golden_tensor("mil", key, "gen_mil.py"); }

nlohmann::json meta(const std::string& key) {
    return nlohmann::json::parse(golden_fixture("mil").metadata.at(key));
}

void check_close(const Tensor& ours, const Tensor& ref, TolClass c, const std::string& what) {
    REQUIRE_MESSAGE(ours.shape() == ref.shape(), what, ": ", fmt::format("{}", ours.shape()),
                    " vs ", fmt::format("{}", ref.shape()));
    Comparison cmp = compare(ours, ref, tolerance(c, ref.dtype()));
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

std::shared_ptr<mil::MilModel> make(const nlohmann::json& c) {
    std::string kind = c["model"];
    if (kind == "amil") {
        return std::make_shared<mil::Amil>(
            mil::AmilOptions{.classes = c["classes"],
                             .multicolumn = c["multicolumn"],
                             .in = c["in"],
                             .spatial = c["spatial"],
                             .embed = c["embed"],
                             .attention_hidden = c["attention_hidden"],
                             .classifier_hidden = c["classifier_hidden"]});
    }
    mil::AttentionMilOptions o{.in = c["in"],
                               .classes = c["classes"],
                               .embed = c["embed"],
                               .classifier_hidden = c["classifier_hidden"]};
    if (kind == "meanpool") return std::make_shared<mil::MeanPoolMil>(o);
    o.attention_hidden = c["attention_hidden"];
    o.gated = c["gated"];
    return std::make_shared<mil::AttentionMil>(o);
}

nn::StateDict fixture_state(const std::string& name, const std::string& part) {
    nn::StateDict sd;
    for (const auto& key : meta("keys." + name))
        sd.insert(key.get<std::string>(), get(name + "/" + part + "/" + key.get<std::string>()));
    return sd;
}

// Every parameter's gradient against <prefix><key>; parameters the fixture has none for (the
// AMiL branch not used) must have none here either.
void check_gradients(const mil::MilModel& model, const std::string& prefix) {
    const SafetensorsFile& file = golden_fixture("mil");
    for (const auto& named : model.named_parameters()) {
        const std::string& key = named.first;  // (not a structured binding: CAPTURE's lambda)
        const Tensor& p = named.second;
        CAPTURE(key);
        bool expected = file.tensors.count(prefix + key) > 0;
        REQUIRE(p.has_grad() == expected);
        if (expected) check_close(p.grad(), get(prefix + key), TolClass::model, "grad " + key);
    }
}

void check_config(const std::string& name) {
    CAPTURE(name);
    const std::string p = name + "/";
    nlohmann::json c = meta("config." + name);
    std::shared_ptr<mil::MilModel> model = make(c);
    model->to(DType::f64);
    std::vector<std::string> keys;
    for (const auto& [k, v] : model->state_dict()) keys.push_back(k);
    CHECK(keys == meta("keys." + name).get<std::vector<std::string>>());
    model->load_state_dict(fixture_state(name, "sd"));  // strict

    // one bag
    Tensor bag = clone(get(p + "bag")).requires_grad_();
    mil::MilOutput out = model->forward(bag);
    check_close(out.logits, get(p + "logits"), TolClass::model, "logits");
    check_close(out.attention_raw, get(p + "attention_raw"), TolClass::model, "attention_raw");
    check_close(out.attention, get(p + "attention"), TolClass::model, "attention");
    check_close(out.features, get(p + "features"), TolClass::model, "features");
    Tensor loss = nn::cross_entropy(out.logits, get(p + "label"));
    check_close(loss, get(p + "loss"), TolClass::model, "loss");
    loss.backward();
    check_close(bag.grad(), get(p + "bag.grad"), TolClass::model, "bag.grad");
    check_gradients(*model, p + "grad/");

    // a masked batch of 3 bags against each alone
    model->zero_grad();
    mil::MilOutput batch = model->forward(get(p + "batch/bags"), get(p + "batch/mask"));
    check_close(batch.logits, get(p + "batch/logits"), TolClass::model, "batch logits");
    check_close(batch.attention, get(p + "batch/attention"), TolClass::model, "batch attention");
    check_close(batch.features, get(p + "batch/features"), TolClass::model, "batch features");
    Tensor batch_loss = nn::cross_entropy(batch.logits, get(p + "batch/labels"));
    check_close(batch_loss, get(p + "batch/loss"), TolClass::model, "batch loss");
    batch_loss.backward();
    check_gradients(*model, p + "batch/grad/");

    // 5 optimizer steps from the initial state
    model->zero_grad();
    model->load_state_dict(fixture_state(name, "sd"));
    std::vector<double> losses;
    if (c["train"] == "sgd_accumulate") {
        nn::SGD opt(model->parameters(), {.lr = 0.01, .momentum = 0.9, .nesterov = true});
        const Tensor& labels = get(p + "train/labels");
        for (int64_t i = 0; i < 10; ++i) {
            Tensor l =
                nn::cross_entropy(model->forward(get(p + "train/bag" + std::to_string(i))).logits,
                                  narrow(labels, 0, i, 1));
            l.backward();  // gradients add up over the 2 bags of a step: the sum, not the mean
            losses.push_back(l.item());
            if ((i + 1) % 2 == 0) {
                opt.step();
                opt.zero_grad();
            }
        }
    } else {
        nn::Adam opt(model->parameters(), {.lr = 1e-3, .weight_decay = 1e-4});
        for (int step = 0; step < 5; ++step) {
            opt.zero_grad();
            Tensor l = nn::cross_entropy(
                model->forward(get(p + "batch/bags"), get(p + "batch/mask")).logits,
                get(p + "batch/labels"));
            l.backward();
            opt.step();
            losses.push_back(l.item());
        }
    }
    check_close(from_vector(losses, {int64_t(losses.size())}), get(p + "train/losses"),
                TolClass::trajectory, "losses");
    nn::StateDict after = fixture_state(name, "after");
    for (const auto& entry : model->state_dict()) {
        const std::string& key = entry.first;
        CAPTURE(key);
        check_close(entry.second, *after.find(key), TolClass::optimizer, "after " + key);
    }
}

}  // namespace

TEST_CASE("MIL models match PyTorch: forward, backward, masked batches, 5 optimizer steps") {
    for (const auto& name : meta("configs")) check_config(name.get<std::string>());
}
