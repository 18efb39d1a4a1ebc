// Logistic regression fit by L-BFGS: the linear probe of the evaluation layer, with
// scikit-learn's `LogisticRegression(solver="lbfgs", penalty="l2")` model, objective and
// stopping rule, so its coefficients agree with sklearn's on the same data.
//
//   eval::LogisticRegression probe({.C = 1.0, .max_iter = 1000});
//   probe.fit(x_train, y_train, num_classes);   // x: (N, F) floating, y: (N) int64
//   Tensor pred = probe.predict(x_test);        // (M) int64
//
// Model (sklearn's multi_class="auto"): with three or more classes in y, multinomial: one
// weight row and intercept per class, p = softmax(x W' + b). With two, binomial: one row w,
// p(second class) = sigmoid(x w + b) (sklearn's coef_ of shape (1, F)). Objective, minimized
// from zero:
//   sum_i CE(p_i, y_i) + ||W||^2 / (2 C)        (a sum over samples; intercepts unpenalized)
// L-BFGS stops at max_iter or when max |gradient| <= tol (see lbfgs.h for the other rule).
// Classes are those present in y: a class in [0, num_classes) absent from the training fold
// gets probability 0 (sklearn, which fits on np.unique(y), does the same), and fewer than two
// present classes is an error. GEMMs run in x's dtype on the CPU; the optimizer works in f64.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "tensor/tensor.h"

namespace marrow::eval {

struct LogisticRegressionOptions {
    double C = 1.0;            // inverse L2 strength (sklearn's C); larger = weaker penalty
    int max_iter = 100;        // L-BFGS iterations (sklearn's max_iter)
    double tol = 1e-4;         // stop when max |gradient| <= tol (sklearn's tol)
    bool fit_intercept = true;
    bool standardize = false;  // z-score features first, as sklearn's StandardScaler does
                               // (population std; a constant feature keeps scale 1)
};

class LogisticRegression {
public:
    explicit LogisticRegression(LogisticRegressionOptions options = {});

    // DinoBloom's linear-probe rule (ssl_mil_spec.md section 6): lambda = 100 / (F * classes),
    // C = 1 / lambda, with max_iter 1000.
    static LogisticRegressionOptions dinobloom(int64_t num_features, int64_t num_classes);

    // x: (N, F) floating point, y: (N) int64 in [0, num_classes). num_classes < 0 takes
    // 1 + max(y). Refitting starts from zero again.
    LogisticRegression& fit(const Tensor& x, const Tensor& y, int64_t num_classes = -1);

    Tensor decision_function(const Tensor& x) const;  // (M, F) -> (M, K) raw scores, K below
    Tensor predict_proba(const Tensor& x) const;      // (M, F) -> (M, num_classes) f64
    Tensor predict(const Tensor& x) const;            // (M, F) -> (M) int64

    bool fitted() const { return coef_.has_value(); }
    // (K, F) and (K) in f64, on standardized features when standardize; K = 1 for two
    // classes (the row scores the second), else one row per present class.
    const Tensor& coef() const;
    const Tensor& intercept() const;
    const std::vector<int64_t>& classes() const { return classes_; }  // present, ascending
    int64_t num_classes() const { return num_classes_; }
    int n_iter() const { return n_iter_; }           // L-BFGS iterations of the last fit
    bool converged() const { return converged_; }    // false: stopped by max_iter
    double objective() const { return objective_; }  // the minimized sum, at the end
    const LogisticRegressionOptions& options() const { return options_; }

private:
    Tensor prepare(const Tensor& x, const char* op) const;  // checks, then standardizes

    LogisticRegressionOptions options_;
    std::optional<Tensor> mean_, scale_;  // (1, F) training-set statistics
    std::optional<Tensor> coef_, intercept_;
    std::vector<int64_t> classes_;
    int64_t num_classes_ = 0;
    int n_iter_ = 0;
    bool converged_ = false;
    double objective_ = 0;
};

}  // namespace marrow::eval
