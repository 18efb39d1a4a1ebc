// Collapse and NaN monitors for self-supervised training (issue 15; users_and_data.md 1.1):
// cheap no-grad statistics for metrics.jsonl, a detector that turns them into one warning per
// failure (naming the signal, its value, the threshold and the epoch it set in), a finite
// check whose error names the step, the loss term and the tensor, and a kNN monitor.
//
// The two collapses (spec 5.2, dino#43, dinov2#272/#407, swav#12, lightly#736):
// - uniform: the teacher (or the SwAV codes) spread over all K outputs; the loss sits at ln K
//   (8.318 for K = 4096, 11.09 for 65536). Centering dominates sharpening.
// - one-hot / constant: every image gets the same output; the batch-mean teacher puts its
//   mass on one output (KL to uniform -> ln K) and the embeddings stop varying (std of
//   normalized embeddings -> 0, effective rank -> 1). Sharpening dominates centering. Sharp
//   rows alone are no collapse: a healthy teacher at T = 0.04 has row entropies ~0.2 nats.
//
//   ssl::CollapseDetector detector;
//   for (epoch ...) {
//       ssl::CollapseSignals s{.epoch = epoch, .loss = loss, .ln_k = std::log(K),
//                              .teacher_entropy = ssl::mean_entropy(q),
//                              .teacher_kl_uniform = ssl::kl_to_uniform(q),
//                              .embedding_std = ssl::embedding_std(z), .dim = z.size(1),
//                              .effective_rank = ssl::effective_rank(z)};
//       for (const auto& w : detector.update(s)) fmt::print(stderr, "{}\n", w.message);
//   }
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/knn.h"
#include "tensor/error.h"
#include "tensor/tensor.h"

namespace marrow::ssl {

// ---- statistics (no grad; any floating dtype and device, computed in f64 on the CPU)

// Mean row entropy of probabilities (B, K): (1/B) sum_b -sum_k q_bk ln q_bk (nats; 0 ln 0 = 0).
// ln K for uniform rows, 0 for one-hot rows. Rows must sum to 1 (within 1e-3) and be >= 0.
double mean_entropy(const Tensor& probs);
// KL(mean_b q_b || uniform) = ln K - H(mean_b q_b): 0 when the batch as a whole uses every
// output equally (a uniform teacher, or a healthy balanced one), ln K when every row puts its
// mass on the same output (one-hot collapse). With mean_entropy it tells the collapses apart:
// high mean_entropy = each row uniform (centering dominates); low mean_entropy and high KL =
// every image the same one-hot (sharpening dominates); low entropy, low KL = healthy.
double kl_to_uniform(const Tensor& probs);
// SimSiam's collapse signal (Chen & He 2021, section 4.1): z_hat = z / ||z|| per row, the
// unbiased std over the batch of each dimension, averaged over dimensions. For z ~ N(0, I_d)
// it is ~ 1/sqrt(d); a collapsed (constant) embedding gives 0. z (B, d), B >= 2.
double embedding_std(const Tensor& z);
// RankMe (Garrido et al. 2023): the singular values s of z (B, d), p_k = s_k / sum s, and
// exp(-sum p_k ln p_k) (0 ln 0 = 0; the paper's 1e-7 guard is left out, so identical rows give
// exactly 1). In [1, min(B, d)]: 1 for identical rows, min(B, d) for orthogonal rows of equal
// norm. The raw embeddings, not centered (as the paper). Cost: an eigendecomposition of the
// min(B, d)-sized Gram matrix, O(min(B, d)^3).
double effective_rank(const Tensor& z);

// ---- the detector

// Thresholds, each with its reason. A signal must hold `patience` consecutive updates (the
// first epochs of a healthy run can look uniform: teacher and student start alike).
struct CollapseThresholds {
    // embedding_std < std_fraction / sqrt(d): a fifth of a random embedding's spread.
    double std_fraction = 0.2;
    // effective_rank < max(rank_min, rank_fraction * min(rows, d)): fewer than 2% of the
    // dimensions the batch could span (or
    // 2) carry the batch.
    double rank_fraction = 0.02;
    double rank_min = 2;
    // Uniform collapse: teacher entropy >= (1 - uniform_margin) ln K (DINO's figure 7: the
    // entropy reaching ln K is the uniform collapse; the targets then carry no information,
    // and the loss follows to ln K as the student flattens). Without a teacher entropy
    // (SimCLR) the loss within uniform_margin ln K of ln K is the signal "loss_at_ln_k".
    double uniform_margin = 0.01;
    // One-hot collapse: the batch as a whole uses fewer than onehot_outputs of the K outputs,
    // counted as exp H(mean_b q_b) = K exp(-KL to uniform). Measured on Fashion-MNIST (DINO,
    // K 4096, 256 teacher rows): without centering 2.5 outputs at epochs 1 and 2; the healthy
    // run 7.3 at epoch 1, then 19-46.
    double onehot_outputs = 4;
    int patience = 2;
};

// One update's values; absent ones are not checked.
struct CollapseSignals {
    int64_t epoch = 0;  // or the step, if fed per step
    std::optional<double> loss = std::nullopt, ln_k = std::nullopt, teacher_entropy = std::nullopt,
                          teacher_kl_uniform = std::nullopt, embedding_std = std::nullopt;
    int64_t dim = 0;  // d of the embeddings (embedding_std and effective_rank need it)
    std::optional<double> effective_rank = std::nullopt;
    // The rows the rank was computed on (a rank never exceeds min(rows, d)); 0: unknown, d.
    int64_t rows = 0;
    // The targets are SwAV's Sinkhorn codes, not a DINO teacher: the advice names epsilon,
    // and one-hot rows are no collapse (equipartition spreads them over the prototypes).
    bool sinkhorn_codes = false;
};

struct CollapseWarning {
    std::string signal;  // embedding_std | effective_rank | teacher_uniform | teacher_onehot |
                         // loss_at_ln_k
    double value = 0, threshold = 0;
    int64_t epoch = 0;    // the first epoch of the run of updates that crossed the threshold
    std::string message;  // "collapse: ... (signal ..., value ..., threshold ..., since epoch N)"
};

class CollapseDetector {
public:
    explicit CollapseDetector(CollapseThresholds thresholds = {});
    // The warnings that fire on this update: a signal fires once when it has held `patience`
    // updates, and again only after it recovered.
    std::vector<CollapseWarning> update(const CollapseSignals& signals);
    const std::vector<CollapseWarning>& warnings() const { return warnings_; }  // all so far
    const CollapseThresholds& thresholds() const { return thresholds_; }

private:
    struct State {
        int run = 0;        // consecutive updates over threshold
        int64_t since = 0;  // epoch the run started
        bool fired = false;
    };
    void check(const std::string& signal, bool crossed, double value, double threshold,
               int64_t epoch, const std::string& what, std::vector<CollapseWarning>& out);
    CollapseThresholds thresholds_;
    std::vector<std::pair<std::string, State>> state_;
    std::vector<CollapseWarning> warnings_;
};

// ---- NaN / Inf

// What check_finite throws: the step, the loss term and the tensor, and the first bad element.
class NonFiniteError : public Error {
public:
    using Error::Error;
};

// Throws NonFiniteError when `t` holds a NaN or Inf:
//   "non-finite value at step 12, loss term 'koleo', tensor 'student_cls' of shape [64, 384]:
//    nan at index (3, 17); 5 of 24576 elements non-finite"
// Integer tensors pass. Copies to the CPU only to find the index (after a fast isfinite).
void check_finite(const Tensor& t, int64_t step, const std::string& term,
                  const std::string& tensor_name);

// ---- kNN monitor

// The vote the kNN monitor uses. Default: sklearn's 20-NN (Euclidean, uniform vote: the
// DinoBloom protocol, spec 6.8), so the per-epoch curve is the number the final evaluate table
// reports and compares to the pixel baseline (0.842 on Fashion-MNIST). `dino` is DINO's
// eval_knn (cosine, weights exp(s / 0.07)), what DINO's own logs show.
enum class KnnMonitorVote { sklearn, dino };
struct KnnMonitorOptions {
    int64_t k = 20;
    KnnMonitorVote vote = KnnMonitorVote::sklearn;
};

// Accuracy of a k-NN classifier fit on (train_x (N, D), train_y (N) int64) predicting query_y
// from query_x (M, D). k is capped at N.
double knn_monitor_accuracy(const Tensor& train_x, const Tensor& train_y, const Tensor& query_x,
                            const Tensor& query_y, const KnnMonitorOptions& options = {});
// The same on one labelled set: every 5th row (4, 9, 14, ...) is a query, the others train.
double knn_monitor_accuracy(const Tensor& x, const Tensor& y,
                            const KnnMonitorOptions& options = {});

}  // namespace marrow::ssl
