// The MIL models (mil/models.h) against the oracles of ssl_mil_spec.md sections 7, 8.3, 8.6 and
// 13: AMiL's parameter count for C = 5 (5,554,948) and its (N, 512, 5, 5) -> (N, 500) path;
// identical instances give uniform attention and z = h; logits invariant to permuting the
// instances; a bag of two copies gives the single instance's logits; padding gets exactly zero
// attention and changes nothing (the classic batching bug); attention rows sum to 1; the
// softmax-pooling gradient dz/de_k = a_k (h_k - z) by float64 gradcheck; clear errors.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <numeric>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "mil/models.h"
#include "tensor/error.h"
#include "tensor/factory.h"
#include "tensor/random.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

namespace {

Tensor rn(const Shape& shape, Generator& gen, DType dtype = DType::f64) {
    return randn(shape, dtype, Device::cpu(), gen);
}

int64_t count(const nn::Module& m) {
    int64_t n = 0;
    for (const Tensor& p : m.parameters()) n += p.numel();
    return n;
}

int64_t count_prefix(const nn::Module& m, const std::string& prefix) {
    int64_t n = 0;
    for (const auto& [name, p] : m.named_parameters())
        if (name.rfind(prefix + ".", 0) == 0) n += p.numel();
    return n;
}

void check_close(const Tensor& ours, const Tensor& ref, TolClass c, const std::string& what) {
    REQUIRE_MESSAGE(ours.shape() == ref.shape(), what, ": ", fmt::format("{}", ours.shape()),
                    " vs ", fmt::format("{}", ref.shape()));
    Comparison cmp = compare(ours, ref, tolerance(c, ref.dtype()));
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

// Small models of every kind, float64, with instances of `in` features (AMiL: (in, 5, 5) maps).
std::vector<std::shared_ptr<mil::MilModel>> small_models(int64_t in, Generator& gen) {
    std::vector<std::shared_ptr<mil::MilModel>> models = {
        std::make_shared<mil::Amil>(
            mil::AmilOptions{
                .classes = 3, .in = in, .embed = 10, .attention_hidden = 6, .classifier_hidden = 5},
            &gen),
        std::make_shared<mil::Amil>(mil::AmilOptions{.classes = 3,
                                                     .multicolumn = false,
                                                     .in = in,
                                                     .embed = 10,
                                                     .attention_hidden = 6,
                                                     .classifier_hidden = 5},
                                    &gen),
        std::make_shared<mil::Amil>(
            mil::AmilOptions{
                .classes = 2, .in = in, .spatial = false, .embed = 10, .attention_hidden = 6},
            &gen),
        std::make_shared<mil::AttentionMil>(
            mil::AttentionMilOptions{
                .in = in, .classes = 3, .embed = 10, .attention_hidden = 6, .gated = true},
            &gen),
        std::make_shared<mil::AttentionMil>(mil::AttentionMilOptions{.in = in,
                                                                     .classes = 3,
                                                                     .attention_hidden = 6,
                                                                     .gated = false,
                                                                     .classifier_hidden = 0},
                                            &gen),
        std::make_shared<mil::MeanPoolMil>(mil::AttentionMilOptions{.in = in, .classes = 3}, &gen),
    };
    for (auto& m : models) m->to(DType::f64);
    return models;
}

Tensor random_bag(const mil::MilModel& m, int64_t n, int64_t in, Generator& gen) {
    Shape s = m.instance_rank() == 3 ? Shape{n, in, 5, 5} : Shape{n, in};
    return rn(s, gen);
}

}  // namespace

TEST_CASE("AMiL: SCEMILA's parameter count and the (N, 512, 5, 5) -> (N, 500) shape path") {
    mil::Amil model({.classes = 5});
    CHECK(count(model) == 5'554'948);
    // ssl_mil_spec.md 8.3's per-module counts
    CHECK(count_prefix(model, "ftr_proc.0") == 1'573'632);
    CHECK(count_prefix(model, "ftr_proc.2") == 3'146'752);
    CHECK(count_prefix(model, "ftr_proc.6") == 512'500);
    CHECK(count_prefix(model, "attention") == 64'257);
    CHECK(count_prefix(model, "classifier") == 32'389);
    CHECK(count_prefix(model, "attention_multi_column") == 64'773);
    CHECK(count_prefix(model, "classifier_multi_column") == 160'645);
    Generator gen(1);
    mil::MilOutput out = model.forward(rn({7, 512, 5, 5}, gen, DType::f32));
    CHECK(out.logits.shape() == Shape{1, 5});
    CHECK(out.attention.shape() == Shape{1, 5, 7});
    CHECK(out.attention_raw.shape() == Shape{1, 5, 7});
    CHECK(out.features.shape() == Shape{1, 5, 500});
    // upstream's keys, in its order
    std::vector<std::string> keys;
    for (const auto& [k, v] : model.state_dict()) keys.push_back(k);
    CHECK(keys.front() == "ftr_proc.0.weight");
    CHECK(std::find(keys.begin(), keys.end(), "classifier_multi_column.4.2.bias") != keys.end());
    CHECK(std::find(keys.begin(), keys.end(), "ftr_proc.6.weight") != keys.end());
    CHECK(keys.back() == "classifier_multi_column.4.2.bias");
}

TEST_CASE("MIL oracles: identical instances, permutations, two copies, row sums") {
    Generator gen(7);
    const int64_t in = 4;
    for (auto& model : small_models(in, gen)) {
        CAPTURE(model->type_name());
        Tensor one = random_bag(*model, 1, in, gen);
        Tensor bag = random_bag(*model, 6, in, gen);
        mil::MilOutput single = model->forward(one);
        mil::MilOutput out = model->forward(bag);
        // attention rows sum to 1 over the instances
        check_close(sum(out.attention, {2}), ones({1, model->heads()}, DType::f64),
                    TolClass::reduction, "attention row sums");
        // N identical instances: a_k = 1/N, z = h, logits = the single instance's
        Shape rep = one.shape();
        rep[0] = 5;
        mil::MilOutput same = model->forward(expand(one, rep));
        check_close(same.attention, full({1, model->heads(), 5}, 0.2, DType::f64),
                    TolClass::transcendental, "identical instances: uniform attention");
        check_close(same.features, single.features, TolClass::reduction, "identical: z = h");
        check_close(same.logits, single.logits, TolClass::reduction, "identical: logits");
        // a bag of two copies (SCEMILA's solitary prediction) = the single instance
        mil::MilOutput two = model->forward(cat({one, one}, 0));
        check_close(two.logits, single.logits, TolClass::reduction, "two copies");
        // permutation invariance of the logits; the attention permutes along
        Tensor perm = from_vector<int64_t>({3, 0, 5, 1, 4, 2}, {6});
        mil::MilOutput permuted = model->forward(index_select(bag, 0, perm));
        check_close(permuted.logits, out.logits, TolClass::reduction, "permuted logits");
        check_close(permuted.attention, index_select(out.attention, 2, perm), TolClass::reduction,
                    "permuted attention");
        // N = 1: attention 1
        check_close(single.attention, ones({1, model->heads(), 1}, DType::f64), TolClass::exact,
                    "one instance");
    }
}

TEST_CASE("MIL batching: padding gets exactly zero attention and changes nothing") {
    Generator gen(11);
    const int64_t in = 4;
    for (auto& model : small_models(in, gen)) {
        CAPTURE(model->type_name());
        std::vector<Tensor> bags = {random_bag(*model, 5, in, gen), random_bag(*model, 2, in, gen),
                                    random_bag(*model, 4, in, gen)};
        mil::BatchedBags batch = mil::pad_bags(bags);
        REQUIRE(batch.mask);
        CHECK(batch.bags.shape()[0] == 3);
        CHECK(batch.bags.shape()[1] == 5);
        // padding filled with large values: it must not leak into anything
        Tensor junk = full(batch.bags.shape(), 50.0, DType::f64);
        Shape mask_shape = batch.mask->shape();
        for (int64_t d = 2; d < batch.bags.dim(); ++d) mask_shape.push_back(1);
        Tensor padded = where(reshape(*batch.mask, mask_shape), batch.bags, junk);
        mil::MilOutput out = model->forward(padded, batch.mask);
        for (int64_t i = 0; i < 3; ++i) {
            CAPTURE(i);
            int64_t n = bags[i].size(0);
            mil::MilOutput alone = model->forward(bags[i]);
            check_close(narrow(out.logits, 0, i, 1), alone.logits, TolClass::reduction, "logits");
            check_close(narrow(narrow(out.attention, 0, i, 1), 2, 0, n), alone.attention,
                        TolClass::reduction, "attention on the instances");
            if (n < 5) {
                Tensor pad_attention = narrow(narrow(out.attention, 0, i, 1), 2, n, 5 - n);
                CHECK(equal(pad_attention, zeros(pad_attention.shape(), DType::f64)));
            }
            check_close(narrow(out.features, 0, i, 1), alone.features, TolClass::reduction,
                        "features");
        }
        // Without the mask the padding does get attention: the bug this guards against.
        mil::MilOutput unmasked = model->forward(padded);
        Tensor leaked = narrow(narrow(unmasked.attention, 0, 1, 1), 2, 2, 3);
        CHECK(sum(leaked).item() > 0);
    }
}

TEST_CASE("MIL attention pooling: float64 gradcheck through masked softmax pooling") {
    Generator gen(3);
    Tensor scores = rn({2, 4, 3}, gen).requires_grad_();
    Tensor h = rn({2, 4, 5}, gen).requires_grad_();
    Tensor mask = from_vector<bool>({true, true, true, false, true, true, false, false}, {2, 4});
    auto f = [&](const std::vector<Tensor>& xs) {
        mil::Pooled p = mil::attention_pool(xs[0], xs[1], mask);
        return sum(p.features * p.features) + sum(p.attention * p.attention);
    };
    CHECK(autograd::gradcheck(f, {scores, h}).ok);
    // dz/de_k = a_k (h_k - z) (ssl_mil_spec.md 7), one head, one bag, for L = sum(z * r)
    Tensor e = rn({1, 4, 1}, gen).requires_grad_();
    Tensor hb = rn({1, 4, 5}, gen);
    Tensor r = rn({1, 1, 5}, gen);
    mil::Pooled p = mil::attention_pool(e, hb, std::nullopt);
    sum(p.features * r).backward();
    Tensor a = reshape(p.attention, {4, 1});
    Tensor z = reshape(p.features, {1, 5});
    Tensor expected = a * sum((reshape(hb, {4, 5}) - z) * reshape(r, {1, 5}), {1}, true);
    check_close(reshape(e.grad(), {4, 1}), detach(expected), TolClass::reduction, "dL/de");
}

TEST_CASE("MIL models: errors name the model and the shapes") {
    mil::Amil amil({.classes = 2, .in = 8});
    Generator gen(5);
    auto message = [](auto&& fn) {
        try {
            fn();
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(message([&] {
              amil.forward(rn({4, 8}, gen, DType::f32));
          }).find("AMiL: expected one bag (N, C, h, w)") != std::string::npos);
    CHECK(message([&] {
              amil.forward(rn({4, 7, 5, 5}, gen, DType::f32));
          }).find("(8, h, w)") != std::string::npos);
    CHECK(message([&] {
              amil.forward(rn({4, 8, 2, 2}, gen, DType::f32));
          }).find("h, w >= 3") != std::string::npos);
    mil::AttentionMil abmil({.in = 6, .classes = 2});
    Tensor bags = rn({2, 3, 6}, gen, DType::f32);
    CHECK(message([&] {
              abmil.forward(bags, ones({2, 4}, DType::b8));
          }).find("mask shape [2, 4] does not match bags [2, 3, 6]") != std::string::npos);
    CHECK(message([&] {
              abmil.forward(bags, ones({2, 3}, DType::f32));
          }).find("must be bool") != std::string::npos);
    Tensor empty_bag = from_vector<bool>({true, true, false, false, false, false}, {2, 3});
    CHECK(message([&] { abmil.forward(bags, empty_bag); }).find("bag 1 of 2 has no instance") !=
          std::string::npos);
    CHECK(message([&] {
              abmil.forward(rn({2, 3, 5}, gen, DType::f32));
          }).find("6 features") != std::string::npos);
    CHECK(message([&] {
              mil::pad_bags({rn({2, 6}, gen, DType::f32), rn({3, 5}, gen, DType::f32)});
          }).find("pad_bags: bag 1") != std::string::npos);
}
