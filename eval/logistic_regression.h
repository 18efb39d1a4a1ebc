// Multinomial logistic regression by full-batch gradient descent: the linear probe and the
// hand-crafted-feature baseline of the evaluation layer. Built on nn::cross_entropy and
// nn::SGD (momentum 0 = plain gradient descent), on whatever device and floating dtype x has.
//
//   eval::LogisticRegression model({.steps = 500, .lr = 0.5, .l2 = 1e-3});
//   model.fit(x_train, y_train, num_classes);          // x: (N, F) floating, y: (N) int64
//   Tensor pred = model.predict(x_test);                // (M) int64
#pragma once
#include <cstdint>
#include <optional>

#include "tensor/tensor.h"

namespace marrow::eval {

struct LogisticRegressionOptions {
    int steps = 500;          // full-batch gradient steps
    double lr = 0.5;          // step size
    double l2 = 1e-3;         // adds l2 * sum(W^2) to the mean cross entropy (not the bias)
    bool standardize = true;  // z-score features with the training set's mean and std
    double std_eps = 1e-8;    // added to the std (a constant feature then maps to 0)
};

class LogisticRegression {
public:
    explicit LogisticRegression(LogisticRegressionOptions options = {});

    // x: (N, F) floating point; y: (N) int64 in [0, num_classes). num_classes < 0 takes
    // 1 + max(y); pass it when a training fold may lack the last classes. Starts from zero
    // weights every time, so a refit does not depend on an earlier fit.
    LogisticRegression& fit(const Tensor& x, const Tensor& y, int64_t num_classes = -1);

    Tensor decision_function(const Tensor& x) const;  // (M, F) -> (M, C) logits
    Tensor predict_proba(const Tensor& x) const;      // (M, F) -> (M, C), rows sum to 1
    Tensor predict(const Tensor& x) const;            // (M, F) -> (M) int64, argmax class

    bool fitted() const { return weight_.has_value(); }
    const Tensor& weight() const;  // (F, C), on standardized features when standardize
    const Tensor& bias() const;    // (C)
    const LogisticRegressionOptions& options() const { return options_; }

private:
    Tensor prepare(const Tensor& x, const char* op) const;  // checks, then standardizes

    LogisticRegressionOptions options_;
    std::optional<Tensor> mean_, std_;  // (1, F) training-set statistics
    std::optional<Tensor> weight_, bias_;
};

}  // namespace marrow::eval
