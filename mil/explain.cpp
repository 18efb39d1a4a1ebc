#include "mil/explain.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "eval/ranking_metrics.h"
#include "tensor/error.h"
#include "tensor/factory.h"
#include "tensor/file_io.h"

namespace marrow::mil {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> row_of(const Tensor& t, int64_t row) {
    Tensor r = contiguous(to(narrow(t, 0, row, 1), Device::cpu(), DType::f64));
    return {r.data<double>(), r.data<double>() + r.numel()};
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

// The class whose head a bag is read in: its label, or its prediction when it has none.
int64_t bag_class(const BagPrediction& p) { return p.label >= 0 ? p.label : p.predicted; }

}  // namespace

int64_t head_for_class(const Tensor& attention, int64_t c) { return attention.size(0) > 1 ? c : 0; }

// Occlusion of cell j, for all j at once (K heads, N cells, M features):
//   scores s (N, K) of the full bag; bag j's attention a_j = softmax over i != j of s_i, i.e.
//   the full scores with s_j = -inf; z_j = a_j H; occlusion_j = classify(z_j) - classify(z).
// All N bags' pooling is one product: (N K, N) attention rows times H (N, M).
CellExplanation explain_bag(MilModel& model, const Tensor& instances) {
    autograd::NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    const DType dtype = model.parameters().front().dtype();
    Tensor x = unsqueeze(to(instances, dtype), 0);
    MARROW_CHECK(instances.dim() == model.instance_rank() + 1 && instances.size(0) > 0,
                 "explain_bag: expected one bag (N, *instance) of rank {}, got {}",
                 model.instance_rank() + 1, instances.shape());
    model.check_instances(x, instances.shape());
    const int64_t n = instances.size(0), k = model.heads();
    Tensor h = model.embed(x);                                                    // (1, N, M)
    Tensor s = model.attention_scores(h);                                         // (1, N, K)
    Tensor logits = model.classify(attention_pool(s, h, std::nullopt).features);  // (1, C)
    const int64_t m = h.size(2), classes = logits.size(1);
    Tensor hn = squeeze(h, 0);  // (N, M)

    Tensor occlusion = full({n, classes}, kNaN, DType::f64);
    if (n > 1) {
        Tensor raw = expand(transpose(s, 1, 2), {n, k, n});             // (N bags, K, N cells)
        Tensor drop = reshape(gt(eye(n, DType::f32), 0.5), {n, 1, n});  // bag j drops cell j
        Tensor a = softmax(masked_fill(raw, drop, -std::numeric_limits<double>::infinity()), -1);
        Tensor z = reshape(matmul(reshape(a, {n * k, n}), hn), {n, k, m});
        occlusion = to(model.classify(z) - logits, DType::f64);
    }
    // two copies of cell i: attention 1/2 each in every head, z = h_i
    Tensor solitary = model.classify(expand(unsqueeze(hn, 1), {n, k, m}));
    CellExplanation out{occlusion, to(solitary, DType::f64), to(softmax(solitary, 1), DType::f64)};
    model.train(was_training);
    return out;
}

void write_attention_csv(const std::filesystem::path& path, const std::vector<Bag>& bags,
                         const std::vector<BagPrediction>& preds,
                         const std::vector<std::string>& class_names,
                         const std::vector<CellExplanation>* explanations) {
    MARROW_CHECK(
        bags.size() == preds.size() && (!explanations || explanations->size() == bags.size()),
        "write_attention_csv: {} bags, {} predictions, {} explanations", bags.size(), preds.size(),
        explanations ? explanations->size() : bags.size());
    auto name = [&](int64_t c) {
        return c >= 0 && c < int64_t(class_names.size()) ? class_names[c] : std::to_string(c);
    };
    std::string text =
        "patient,cell,label,predicted,head,attention_raw,attention,relative_attention";
    if (explanations) text += ",occlusion,solitary_probability";
    text += "\n";
    for (size_t b = 0; b < bags.size(); ++b) {
        const BagPrediction& p = preds[b];
        const int64_t n = p.attention.size(1);
        MARROW_CHECK(bags[b].instance_names.empty() || int64_t(bags[b].instance_names.size()) == n,
                     "write_attention_csv: bag {} ({}) names {} cells but has {}", b, bags[b].id,
                     bags[b].instance_names.size(), n);
        const int64_t heads = p.attention.size(0);
        for (int64_t head = 0; head < heads; ++head) {
            std::vector<double> raw = row_of(p.attention_raw, head),
                                att = row_of(p.attention, head);
            // the class this head scores: its own (class-wise heads) or the predicted one
            int64_t cls = heads > 1 ? head : p.predicted;
            std::vector<double> occlusion, solitary;
            if (explanations) {
                Tensor occ = narrow((*explanations)[b].occlusion, 1, cls, 1);
                Tensor sol = narrow((*explanations)[b].solitary_probability, 1, cls, 1);
                occlusion = row_of(transpose(occ, 0, 1), 0);
                solitary = row_of(transpose(sol, 0, 1), 0);
            }
            for (int64_t i = 0; i < n; ++i) {
                std::string cell =
                    bags[b].instance_names.empty() ? std::to_string(i) : bags[b].instance_names[i];
                text += fmt::format(
                    "{},{},{},{},{},{:.7g},{:.7g},{:.7g}", csv_field(p.id), csv_field(cell),
                    csv_field(name(p.label)), csv_field(name(p.predicted)),
                    heads > 1 ? csv_field(name(head)) : "bag", raw[i], att[i], att[i] * double(n));
                if (explanations) text += fmt::format(",{:.7g},{:.7g}", occlusion[i], solitary[i]);
                text += "\n";
            }
        }
    }
    write_file_atomic(path.string(), text, "write_attention_csv");
}

std::map<std::string, eval::MeanSd> attention_by_cell_type(
    const std::vector<BagPrediction>& preds,
    const std::vector<std::vector<std::string>>& cell_types) {
    MARROW_CHECK(preds.size() == cell_types.size(),
                 "attention_by_cell_type: {} predictions but cell types for {} bags", preds.size(),
                 cell_types.size());
    std::map<std::string, std::vector<double>> values;
    for (size_t b = 0; b < preds.size(); ++b) {
        std::vector<double> a =
            row_of(preds[b].attention, head_for_class(preds[b].attention, bag_class(preds[b])));
        MARROW_CHECK(a.size() == cell_types[b].size(),
                     "attention_by_cell_type: bag {} ({}) has {} cells, {} cell types", b,
                     preds[b].id, a.size(), cell_types[b].size());
        for (size_t i = 0; i < a.size(); ++i)
            values[cell_types[b][i]].push_back(a[i] * double(a.size()));
    }
    std::map<std::string, eval::MeanSd> out;
    for (const auto& [type, v] : values) out[type] = eval::mean_sd(v);
    return out;
}

AttentionAudit attention_audit(const std::vector<BagPrediction>& preds,
                               const std::vector<std::vector<bool>>& diagnostic, int64_t classes) {
    MARROW_CHECK(preds.size() == diagnostic.size(),
                 "attention_audit: {} predictions but ground truth for {} bags", preds.size(),
                 diagnostic.size());
    AttentionAudit audit;
    std::vector<std::vector<double>> by_class(size_t(std::max<int64_t>(classes, 0)));
    std::vector<double> all;
    for (size_t b = 0; b < preds.size(); ++b) {
        const BagPrediction& p = preds[b];
        std::vector<double> a = row_of(p.attention, head_for_class(p.attention, bag_class(p)));
        MARROW_CHECK(a.size() == diagnostic[b].size(),
                     "attention_audit: bag {} ({}) has {} cells, ground truth for {}", b, p.id,
                     a.size(), diagnostic[b].size());
        AuditPatient row{p.id, p.label, 0, 0, kNaN};
        std::vector<int64_t> y(a.size());
        for (size_t i = 0; i < a.size(); ++i) {
            y[i] = diagnostic[b][i] ? 1 : 0;
            (diagnostic[b][i] ? row.diagnostic : row.other) += 1;
        }
        if (row.diagnostic > 0 && row.other > 0) {
            row.auc = eval::roc_auc(y, a);
            all.push_back(row.auc);
            if (p.label >= 0 && p.label < classes) by_class[size_t(p.label)].push_back(row.auc);
        }
        audit.patients.push_back(row);
    }
    for (const auto& v : by_class) audit.per_class.push_back(eval::mean_sd(v));
    audit.overall = eval::mean_sd(all);
    return audit;
}

nlohmann::json AttentionAudit::to_json(const std::vector<std::string>& class_names) const {
    auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
    auto ms = [&](const eval::MeanSd& m) {
        return nlohmann::json{{"mean", num(m.mean)}, {"sd", num(m.sd)}, {"n", m.n}};
    };
    nlohmann::json per_class = nlohmann::json::object();
    for (size_t c = 0; c < this->per_class.size(); ++c)
        per_class[c < class_names.size() ? class_names[c] : std::to_string(c)] =
            ms(this->per_class[c]);
    nlohmann::json rows = nlohmann::json::array();
    for (const AuditPatient& p : patients)
        rows.push_back({{"patient", p.patient},
                        {"label", p.label},
                        {"diagnostic", p.diagnostic},
                        {"other", p.other},
                        {"auc", num(p.auc)}});
    return {{"overall", ms(overall)}, {"per_class", per_class}, {"patients", rows}};
}

}  // namespace marrow::mil
