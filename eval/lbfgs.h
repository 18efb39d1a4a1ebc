// Limited-memory BFGS for smooth unconstrained minimization: the solver behind the linear
// probe (eval::LogisticRegression), with scipy's L-BFGS-B defaults and stopping rules so a
// fit stops where sklearn's `LogisticRegression(solver="lbfgs")` stops.
//
//   auto result = eval::minimize_lbfgs(
//       [&](const std::vector<double>& x, std::vector<double>& grad) { ...; return f; }, x0,
//       {.max_iter = 100, .gtol = 1e-4});
//
// Direction: the two-loop recursion over the last `memory` (s, y) pairs with the initial
// Hessian gamma I, gamma = s'y / y'y (Nocedal & Wright, Algorithm 7.4). Step: a line search
// for the strong Wolfe conditions (sufficient decrease c1 = 1e-3 and curvature c2 = 0.9, the
// values of scipy's dcsrch), trying step 1 except on the first iteration, where it tries
// 1 / ||g|| as L-BFGS-B does. Stops (scipy's rules, in its order) when
//   max_i |g_i| <= gtol                                   (converged: gradient)
//   (f_prev - f) / max(|f_prev|, |f|, 1) <= ftol           (converged: relative reduction)
//   iterations == max_iter or evaluations >= max_evals    (not converged)
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace marrow::eval {

struct LbfgsOptions {
    int max_iter = 15000;                 // iterations (scipy's maxiter)
    int max_evals = 15000;                // function evaluations (scipy's maxfun)
    int memory = 10;                      // stored (s, y) pairs (scipy's maxcor)
    double gtol = 1e-5;                   // max-abs gradient to stop at (scipy's gtol)
    double ftol = 2.220446049250313e-09;  // relative reduction to stop at (factr 1e7 * eps)
    int max_line_search = 20;             // evaluations per line search (scipy's maxls)
};

struct LbfgsResult {
    std::vector<double> x;  // the last accepted point
    double f = 0;           // f(x)
    std::vector<double> grad;
    int iterations = 0;
    int evaluations = 0;
    bool converged = false;  // stopped by gtol or ftol, not by a limit or a failed search
    std::string message;     // why it stopped, in words
};

// f(x, grad) returns f at x and writes its gradient into grad (already sized like x).
using Objective = std::function<double(const std::vector<double>& x, std::vector<double>& grad)>;

LbfgsResult minimize_lbfgs(const Objective& f, std::vector<double> x0,
                           const LbfgsOptions& options = {});

}  // namespace marrow::eval
