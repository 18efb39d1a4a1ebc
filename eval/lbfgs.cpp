// L-BFGS with a strong-Wolfe line search; see lbfgs.h. References: Nocedal & Wright,
// "Numerical Optimization" (2nd ed.), Algorithms 3.5-3.6 (line search and zoom) and 7.4
// (two-loop recursion); scipy/optimize/lbfgsb_src/lbfgsb.f for the first step and the
// stopping rules.
#include "eval/lbfgs.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

#include "tensor/error.h"

namespace marrow::eval {

namespace {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

double max_abs(const std::vector<double>& v) {
    double m = 0;
    for (double x : v) m = std::max(m, std::abs(x));
    return m;
}

// A point on the search line: step a, phi(a) = f(x + a d), dphi(a) = grad(x + a d) . d.
struct LinePoint {
    double a = 0, phi = 0, dphi = 0;
    std::vector<double> x, grad;
};

// The minimizer of the cubic through (a, phi, dphi) at both ends, kept inside the middle 80%
// of the interval (else its midpoint), so zoom always shrinks the interval.
double interpolate(const LinePoint& lo, const LinePoint& hi) {
    double d1 = lo.dphi + hi.dphi - 3 * (lo.phi - hi.phi) / (lo.a - hi.a);
    double disc = d1 * d1 - lo.dphi * hi.dphi;
    double mid = 0.5 * (lo.a + hi.a);
    if (!(disc >= 0)) return mid;
    double d2 = std::copysign(std::sqrt(disc), hi.a - lo.a);
    double a = hi.a - (hi.a - lo.a) * (hi.dphi + d2 - d1) / (hi.dphi - lo.dphi + 2 * d2);
    double left = std::min(lo.a, hi.a), width = std::abs(hi.a - lo.a);
    if (!std::isfinite(a) || a < left + 0.1 * width || a > left + 0.9 * width) return mid;
    return a;
}

class LineSearch {
public:
    LineSearch(const Objective& f, const std::vector<double>& x, const std::vector<double>& d,
               double phi0, double dphi0, int max_evals)
        : f_(f), x_(x), d_(d), phi0_(phi0), dphi0_(dphi0), evals_left_(max_evals) {}

    // Strong Wolfe search from step a0 (Nocedal & Wright 3.5); false when no acceptable
    // step was found within the evaluation budget (the best decreasing point, if any, is
    // still returned in `out`).
    bool run(double a0, LinePoint& out, int& evaluations) {
        LinePoint prev{0, phi0_, dphi0_, x_, {}};
        LinePoint cur;
        double a = a0;
        for (bool first = true;; first = false) {
            if (!eval(a, cur, evaluations)) return give_up(prev, out);
            if (!sufficient(cur) || (!first && cur.phi >= prev.phi))
                return zoom(std::move(prev), std::move(cur), out, evaluations);
            if (curvature(cur)) return accept(std::move(cur), out);
            if (cur.dphi >= 0) return zoom(std::move(cur), std::move(prev), out, evaluations);
            prev = cur;
            a *= 4;  // extrapolate (dcsrch's xtrapu)
        }
    }

private:
    bool sufficient(const LinePoint& p) const { return p.phi <= phi0_ + kC1 * p.a * dphi0_; }
    bool curvature(const LinePoint& p) const { return std::abs(p.dphi) <= -kC2 * dphi0_; }

    bool eval(double a, LinePoint& p, int& evaluations) {
        if (evals_left_-- <= 0) return false;
        p.a = a;
        p.x.resize(x_.size());
        p.grad.resize(x_.size());
        for (size_t i = 0; i < x_.size(); ++i) p.x[i] = x_[i] + a * d_[i];
        p.phi = f_(p.x, p.grad);
        p.dphi = dot(p.grad, d_);
        ++evaluations;
        MARROW_CHECK(std::isfinite(p.phi), "minimize_lbfgs: the objective is {} at step {}",
                     p.phi, a);
        return true;
    }

    // Nocedal & Wright 3.6: lo satisfies sufficient decrease with the lowest phi so far; the
    // interval [lo, hi] contains a strong Wolfe step.
    bool zoom(LinePoint lo, LinePoint hi, LinePoint& out, int& evaluations) {
        LinePoint cur;
        for (;;) {
            if (!eval(interpolate(lo, hi), cur, evaluations)) return give_up(lo, out);
            if (!sufficient(cur) || cur.phi >= lo.phi) {
                hi = cur;
            } else {
                if (curvature(cur)) return accept(std::move(cur), out);
                if (cur.dphi * (hi.a - lo.a) >= 0) hi = lo;
                lo = cur;
            }
        }
    }

    static bool accept(LinePoint p, LinePoint& out) {
        out = std::move(p);
        return true;
    }

    bool give_up(const LinePoint& best, LinePoint& out) const {
        out = best;
        return false;
    }

    static constexpr double kC1 = 1e-3, kC2 = 0.9;  // scipy's dcsrch ftol, gtol
    const Objective& f_;
    const std::vector<double>& x_;
    const std::vector<double>& d_;
    double phi0_, dphi0_;
    int evals_left_;
};

}  // namespace

LbfgsResult minimize_lbfgs(const Objective& f, std::vector<double> x0,
                           const LbfgsOptions& options) {
    MARROW_CHECK(options.memory >= 1 && options.max_line_search >= 1 && options.max_iter >= 0 &&
                     options.gtol >= 0 && options.ftol >= 0,
                 "minimize_lbfgs: memory and max_line_search must be >= 1, max_iter, gtol and "
                 "ftol >= 0 (got {}, {}, {}, {}, {})",
                 options.memory, options.max_line_search, options.max_iter, options.gtol,
                 options.ftol);
    LbfgsResult r;
    r.x = std::move(x0);
    r.grad.assign(r.x.size(), 0.0);
    r.f = f(r.x, r.grad);
    r.evaluations = 1;
    MARROW_CHECK(std::isfinite(r.f), "minimize_lbfgs: the objective is {} at the start", r.f);
    if (max_abs(r.grad) <= options.gtol) {
        r.converged = true;
        r.message = "the gradient at the start is within gtol";
        return r;
    }
    struct Pair {
        std::vector<double> s, y;
        double rho;
    };
    std::deque<Pair> memory;
    std::vector<double> d(r.x.size());
    std::vector<double> alpha(size_t(options.memory));
    for (;;) {
        if (r.iterations >= options.max_iter) {
            r.message = "reached max_iter";
            return r;
        }
        if (r.evaluations >= options.max_evals) {
            r.message = "reached max_evals";
            return r;
        }
        // d = -H g by the two-loop recursion (the newest pair is memory.back()).
        for (size_t i = 0; i < d.size(); ++i) d[i] = -r.grad[i];
        for (size_t k = memory.size(); k-- > 0;) {
            alpha[k] = memory[k].rho * dot(memory[k].s, d);
            for (size_t i = 0; i < d.size(); ++i) d[i] -= alpha[k] * memory[k].y[i];
        }
        if (!memory.empty()) {
            const Pair& last = memory.back();
            double gamma = dot(last.s, last.y) / dot(last.y, last.y);
            for (double& v : d) v *= gamma;
        }
        for (size_t k = 0; k < memory.size(); ++k) {
            double beta = memory[k].rho * dot(memory[k].y, d);
            for (size_t i = 0; i < d.size(); ++i) d[i] += (alpha[k] - beta) * memory[k].s[i];
        }
        double dphi0 = dot(r.grad, d);
        if (!(dphi0 < 0)) {  // not a descent direction (rounding): restart from -g
            memory.clear();
            for (size_t i = 0; i < d.size(); ++i) d[i] = -r.grad[i];
            dphi0 = dot(r.grad, d);
        }
        double a0 = memory.empty() ? 1.0 / std::sqrt(dot(d, d)) : 1.0;
        LinePoint next;
        LineSearch search(f, r.x, d, r.f, dphi0,
                          std::min(options.max_line_search, options.max_evals - r.evaluations));
        bool found = search.run(a0, next, r.evaluations);
        if (!found && next.a == 0) {
            r.message = "the line search found no decrease";
            return r;
        }
        Pair pair{std::vector<double>(d.size()), std::vector<double>(d.size()), 0};
        for (size_t i = 0; i < d.size(); ++i) {
            pair.s[i] = next.x[i] - r.x[i];
            pair.y[i] = next.grad[i] - r.grad[i];
        }
        double sy = dot(pair.s, pair.y), yy = dot(pair.y, pair.y);
        if (sy > std::numeric_limits<double>::epsilon() * yy) {  // keeps H positive definite
            pair.rho = 1 / sy;
            memory.push_back(std::move(pair));
            if (int(memory.size()) > options.memory) memory.pop_front();
        }
        double f_prev = r.f;
        r.x = std::move(next.x);
        r.grad = std::move(next.grad);
        r.f = next.phi;
        ++r.iterations;
        if (!found) {
            r.message = "the line search found no step meeting the Wolfe conditions";
            return r;
        }
        if (max_abs(r.grad) <= options.gtol) {
            r.converged = true;
            r.message = "the gradient is within gtol";
            return r;
        }
        if (f_prev - r.f <= options.ftol * std::max({std::abs(f_prev), std::abs(r.f), 1.0})) {
            r.converged = true;
            r.message = "the relative reduction of f is within ftol";
            return r;
        }
    }
}

}  // namespace marrow::eval
