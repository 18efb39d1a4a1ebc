// Logistic regression by L-BFGS; see logistic_regression.h. Reference:
// sklearn/linear_model/_logistic.py (_logistic_regression_path, lbfgs branch) and
// _linear_loss.py (LinearModelLoss.loss_gradient) of scikit-learn 1.2.
//
// Gradient of the objective, with z_i = W x_i + b (K scores) and G_i = p_i - onehot(y_i)
// (multinomial: p = softmax(z); binomial: p = sigmoid(z), onehot = [y_i is the 2nd class]):
//   dW = G' X + W / C   (K, F)        db = sum_i G_i   (K)
// since d CE / d z_i = G_i for both the softmax and the sigmoid cross entropy.
#include "eval/logistic_regression.h"

#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "eval/features.h"
#include "eval/lbfgs.h"
#include "tensor/factory.h"

namespace marrow::eval {

namespace {

// The objective over the present classes (class index k = position in `classes`).
struct Problem {
    Tensor x;                      // (N, F) standardized features, the GEMMs' dtype
    std::vector<int64_t> target;   // (N) index into the present classes
    int64_t n = 0, f = 0, k = 0;   // samples, features, score rows (1 when binomial)
    bool binomial = false, intercept = true;
    double inv_c = 1;

    // params = [W (k x f, row-major), b (k)]; writes the gradient, returns the objective.
    double operator()(const std::vector<double>& params, std::vector<double>& grad) const {
        Tensor w = empty({k, f}, DType::f64);
        std::copy(params.begin(), params.begin() + k * f, w.data<double>());
        Tensor wt = to(w, x.dtype());
        Tensor scores = contiguous(to(mm(x, transpose(wt, 0, 1)),
                                                    DType::f64));  // (N, K)
        const double* b = params.data() + k * f;
        double* z = scores.data<double>();  // becomes G in place
        double loss = 0;
#pragma omp parallel for reduction(+ : loss) schedule(static)
        for (int64_t i = 0; i < n; ++i) {
            double* zi = z + i * k;
            for (int64_t c = 0; c < k; ++c) zi[c] += intercept ? b[c] : 0.0;
            if (binomial) {  // log(1 + e^z) - y z, and G = sigmoid(z) - y
                double y = double(target[size_t(i)]);
                double s = zi[0];
                loss += std::max(s, 0.0) + std::log1p(std::exp(-std::abs(s))) - y * s;
                zi[0] = 1 / (1 + std::exp(-s)) - y;
            } else {  // logsumexp(z) - z_y, and G = softmax(z) - onehot(y)
                double m = *std::max_element(zi, zi + k), sum = 0;
                for (int64_t c = 0; c < k; ++c) sum += std::exp(zi[c] - m);
                loss += m + std::log(sum) - zi[target[size_t(i)]];
                for (int64_t c = 0; c < k; ++c) zi[c] = std::exp(zi[c] - m) / sum;
                zi[target[size_t(i)]] -= 1;
            }
        }
        Tensor g = to(scores, x.dtype());
        Tensor dw = contiguous(to(mm(transpose(g, 0, 1), x), DType::f64));
        double penalty = 0;
        for (int64_t j = 0; j < k * f; ++j) {
            penalty += params[size_t(j)] * params[size_t(j)];
            grad[size_t(j)] = dw.data<double>()[j] + inv_c * params[size_t(j)];
        }
        for (int64_t c = 0; c < k; ++c) {
            double s = 0;
            for (int64_t i = 0; i < n; ++i) s += z[i * k + c];
            grad[size_t(k * f + c)] = intercept ? s : 0.0;
        }
        return loss + 0.5 * inv_c * penalty;
    }
};

}  // namespace

LogisticRegression::LogisticRegression(LogisticRegressionOptions options) : options_(options) {
    MARROW_CHECK(options.C > 0, "LogisticRegression: C must be > 0, got {}", options.C);
    MARROW_CHECK(options.max_iter >= 0, "LogisticRegression: max_iter must be >= 0, got {}",
                 options.max_iter);
    MARROW_CHECK(options.tol >= 0, "LogisticRegression: tol must be >= 0, got {}", options.tol);
}

LogisticRegressionOptions LogisticRegression::dinobloom(int64_t num_features,
                                                        int64_t num_classes) {
    MARROW_CHECK(num_features > 0 && num_classes > 0,
                 "LogisticRegression::dinobloom: need features and classes > 0, got {} and {}",
                 num_features, num_classes);
    double lambda = 100.0 / double(num_features * num_classes);
    return {.C = 1 / lambda, .max_iter = 1000};
}

Tensor LogisticRegression::prepare(const Tensor& x, const char* op) const {
    check_features(x, op);
    if (coef_)
        MARROW_CHECK(x.size(1) == coef_->size(1),
                     "{}: x has {} features (shape {}), the model was fit on {}", op, x.size(1),
                     x.shape(), coef_->size(1));
    Tensor host = to(x, Device::cpu());
    return mean_ ? contiguous((host - to(*mean_, x.dtype())) / to(*scale_, x.dtype()))
                 : contiguous(host);
}

LogisticRegression& LogisticRegression::fit(const Tensor& x, const Tensor& y, int64_t num_classes) {
    autograd::NoGradGuard no_grad;
    const char* op = "LogisticRegression.fit";
    check_features(x, op);
    std::vector<int64_t> labels = check_labels(y, x.size(0), op, num_classes);
    num_classes_ = num_classes >= 0 ? num_classes
                                    : 1 + *std::max_element(labels.begin(), labels.end());
    classes_ = labels;
    std::sort(classes_.begin(), classes_.end());
    classes_.erase(std::unique(classes_.begin(), classes_.end()), classes_.end());
    MARROW_CHECK(classes_.size() >= 2,
                 "{}: the training data holds one class ({}); a classifier needs at least two",
                 op, classes_[0]);
    coef_.reset();
    mean_.reset();
    scale_.reset();
    if (options_.standardize) {  // StandardScaler: population std, zero -> 1
        Tensor x64 = to(to(x, Device::cpu()), DType::f64);
        mean_ = mean(x64, {0}, true);
        Tensor sd = marrow::std(x64, {0}, false, true);
        for (int64_t j = 0; j < sd.numel(); ++j)
            if (sd.data<double>()[j] == 0) sd.data<double>()[j] = 1;
        scale_ = sd;
    }

    bool binomial = classes_.size() == 2;
    Problem p{.x = prepare(x, op),
              .target = {},
              .n = x.size(0),
              .f = x.size(1),
              .k = binomial ? 1 : int64_t(classes_.size()),
              .binomial = binomial,
              .intercept = options_.fit_intercept,
              .inv_c = 1 / options_.C};
    for (int64_t label : labels)
        p.target.push_back(std::lower_bound(classes_.begin(), classes_.end(), label) -
                           classes_.begin());

    LbfgsResult r = minimize_lbfgs(p, std::vector<double>(size_t(p.k * (p.f + 1)), 0.0),
                                   {.max_iter = options_.max_iter, .gtol = options_.tol});
    n_iter_ = r.iterations;
    converged_ = r.converged;
    objective_ = r.f;
    coef_ = from_vector<double>(std::vector<double>(r.x.begin(), r.x.begin() + p.k * p.f),
                                {p.k, p.f});
    intercept_ = from_vector<double>(std::vector<double>(r.x.begin() + p.k * p.f, r.x.end()),
                                     {p.k});
    return *this;
}

const Tensor& LogisticRegression::coef() const {
    MARROW_CHECK(coef_, "LogisticRegression.coef: the model is not fitted (call fit first)");
    return *coef_;
}

const Tensor& LogisticRegression::intercept() const {
    MARROW_CHECK(intercept_,
                 "LogisticRegression.intercept: the model is not fitted (call fit first)");
    return *intercept_;
}

Tensor LogisticRegression::decision_function(const Tensor& x) const {
    MARROW_CHECK(coef_, "LogisticRegression.decision_function: the model is not fitted");
    autograd::NoGradGuard no_grad;
    Tensor xs = prepare(x, "LogisticRegression.decision_function");
    Tensor scores = mm(xs, transpose(to(*coef_, xs.dtype()), 0, 1));
    return contiguous(to(scores, DType::f64) + *intercept_);
}

Tensor LogisticRegression::predict_proba(const Tensor& x) const {
    Tensor scores = decision_function(x);  // (M, K) f64
    int64_t m = scores.size(0), k = scores.size(1);
    Tensor proba = zeros({m, num_classes_}, DType::f64);
    const double* z = scores.data<double>();
    double* p = proba.data<double>();
    for (int64_t i = 0; i < m; ++i) {
        double* row = p + i * num_classes_;
        if (k == 1) {
            double s = 1 / (1 + std::exp(-z[i]));
            row[classes_[0]] = 1 - s;
            row[classes_[1]] = s;
            continue;
        }
        const double* zi = z + i * k;
        double mx = *std::max_element(zi, zi + k), sum = 0;
        for (int64_t c = 0; c < k; ++c) sum += std::exp(zi[c] - mx);
        for (int64_t c = 0; c < k; ++c) row[classes_[size_t(c)]] = std::exp(zi[c] - mx) / sum;
    }
    return proba;
}

Tensor LogisticRegression::predict(const Tensor& x) const {
    Tensor scores = decision_function(x);
    int64_t m = scores.size(0), k = scores.size(1);
    std::vector<int64_t> pred(static_cast<size_t>(m));
    const double* z = scores.data<double>();
    for (int64_t i = 0; i < m; ++i) {  // sklearn: score > 0, or the first highest score
        const double* zi = z + i * k;
        size_t best = k == 1 ? size_t(zi[0] > 0) : size_t(std::max_element(zi, zi + k) - zi);
        pred[size_t(i)] = classes_[best];
    }
    return from_vector<int64_t>(pred);
}

}  // namespace marrow::eval
