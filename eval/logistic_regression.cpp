// Multinomial logistic regression; see logistic_regression.h. Minimizes
//   L(W, b) = mean_i cross_entropy(x_i W + b, y_i) + l2 * sum(W^2)
// by full-batch gradient descent from W = 0, b = 0 (convex, so the start only sets the path).
#include "eval/logistic_regression.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "eval/metrics.h"
#include "nn/losses.h"
#include "nn/optim.h"

namespace marrow::eval {

LogisticRegression::LogisticRegression(LogisticRegressionOptions options) : options_(options) {
    MARROW_CHECK(options.steps >= 0, "LogisticRegression: steps must be >= 0, got {}",
                 options.steps);
    MARROW_CHECK(options.lr > 0, "LogisticRegression: lr must be > 0, got {}", options.lr);
    MARROW_CHECK(options.l2 >= 0, "LogisticRegression: l2 must be >= 0, got {}", options.l2);
}

Tensor LogisticRegression::prepare(const Tensor& x, const char* op) const {
    MARROW_CHECK(x.dim() == 2 && is_floating(x.dtype()),
                 "LogisticRegression.{}: x must be a 2-D floating tensor (N, F), got {} of "
                 "shape {}",
                 op, x.dtype(), x.shape());
    if (weight_)
        MARROW_CHECK(x.size(1) == weight_->size(0),
                     "LogisticRegression.{}: x has {} features (shape {}), the model was fit "
                     "on {}",
                     op, x.size(1), x.shape(), weight_->size(0));
    return mean_ ? (x - *mean_) / *std_ : x;
}

LogisticRegression& LogisticRegression::fit(const Tensor& x, const Tensor& y, int64_t num_classes) {
    MARROW_CHECK(x.dim() == 2 && y.dim() == 1 && x.size(0) == y.size(0) && x.size(0) > 0,
                 "LogisticRegression.fit: x must be (N, F) and y (N) with N > 0, got x {} and "
                 "y {}",
                 x.shape(), y.shape());
    MARROW_CHECK(y.dtype() == DType::i64, "LogisticRegression.fit: y must be int64, got {}",
                 y.dtype());
    if (num_classes < 0) {  // read on the host: the reductions take floating dtypes only
        std::vector<int64_t> labels = labels_to_vector(y, "y");
        num_classes = *std::max_element(labels.begin(), labels.end()) + 1;
    }
    weight_.reset();
    mean_.reset();
    std_.reset();
    Tensor xs = detach(x);
    if (options_.standardize) {  // unbiased std, as the baseline always used
        mean_ = mean(xs, {0}, true);
        std_ = marrow::std(xs, {0}, true, true) + options_.std_eps;
    }
    xs = prepare(xs, "fit");

    Tensor w = zeros({x.size(1), num_classes}, x.dtype(), x.device()).requires_grad_();
    Tensor b = zeros({num_classes}, x.dtype(), x.device()).requires_grad_();
    nn::SGD opt({w, b}, {.lr = options_.lr});  // momentum 0: plain gradient descent
    for (int s = 0; s < options_.steps; ++s) {
        // cross_entropy checks y's range against num_classes. One expression, as the
        // baseline app wrote it, so the graph (and the order in which w's gradient terms are
        // summed) is the same and the app's results are bit for bit those of before.
        Tensor loss = nn::cross_entropy(add(matmul(xs, w), b), y) + options_.l2 * sum(w * w);
        opt.zero_grad();
        loss.backward();
        opt.step();
    }
    weight_ = detach(w);
    bias_ = detach(b);
    return *this;
}

const Tensor& LogisticRegression::weight() const {
    MARROW_CHECK(weight_, "LogisticRegression.weight: the model is not fitted (call fit first)");
    return *weight_;
}

const Tensor& LogisticRegression::bias() const {
    MARROW_CHECK(bias_, "LogisticRegression.bias: the model is not fitted (call fit first)");
    return *bias_;
}

Tensor LogisticRegression::decision_function(const Tensor& x) const {
    MARROW_CHECK(weight_, "LogisticRegression.decision_function: the model is not fitted");
    autograd::NoGradGuard no_grad;
    return add(matmul(prepare(x, "decision_function"), *weight_), *bias_);
}

Tensor LogisticRegression::predict_proba(const Tensor& x) const {
    autograd::NoGradGuard no_grad;
    return softmax(decision_function(x), 1);
}

Tensor LogisticRegression::predict(const Tensor& x) const {
    autograd::NoGradGuard no_grad;
    return argmax(decision_function(x), 1);
}

}  // namespace marrow::eval
