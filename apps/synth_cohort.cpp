// synth_cohort: renders a synthetic cohort (data/synth_cohort.h) in a real dataset's layout,
// so the SSL and MIL apps run with no download, and optionally a montage of example cells.
//
//   synth_cohort --out runs/synth --patients-per-class 4 --min-cells 50 --max-cells 500
//
// writes runs/synth/data/<label>/<patient>/NNN.TIF, metadata.csv, cells.csv (per-cell ground
// truth), montage_<class>.png (with --montage) and run.json; --kind lymphocytosis writes the
// challenge's trainset/<ID>/NNN.jpg + trainset/trainset_true.csv instead.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "apps/run_record.h"
#include "data/synth_cohort.h"
#include "marrow.h"

using namespace marrow;
using namespace marrow::data;

namespace {

// A row of `count` cells of the class's first patient, its diagnostic cells first.
Image montage(const Cohort& cohort, const std::string& label, int count) {
    size_t p = 0;
    while (cohort.patients[p].label != label) ++p;
    const SynthPatient& patient = cohort.patients[p];
    std::vector<size_t> order(patient.cells.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_partition(order.begin(), order.end(), [&](size_t i) {
        return morphology_class(patient.cells[i].morphology) == label;
    });
    int s = cohort.options.image_size, n = std::min(count, int(order.size()));
    Image out(s, n * s, 3);
    for (int k = 0; k < n; ++k) {
        Image cell = render_cohort_cell(cohort, p, order[size_t(k)]);
        for (int y = 0; y < s; ++y)
            for (int x = 0; x < s; ++x)
                for (int ch = 0; ch < 3; ++ch) out.at(y, k * s + x, ch) = cell.at(y, x, ch);
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) try {
    CohortOptions o;
    std::string out = "runs/synth_cohort";
    bool with_montage = false;
    CLI::App cli{"Render the synthetic AML cohort in the AML Hehr folder layout"};
    cli.add_option("--out", out, "dataset folder to write");
    cli.add_option("--patients-per-class", o.patients_per_class)->check(CLI::PositiveNumber);
    cli.add_option("--min-cells", o.min_cells, "smallest bag")->check(CLI::PositiveNumber);
    cli.add_option("--max-cells", o.max_cells, "largest bag")->check(CLI::PositiveNumber);
    cli.add_option("--size", o.image_size, "image side in pixels")->check(CLI::Range(16, 1024));
    cli.add_option("--seed", o.seed);
    std::string kind = "aml";
    cli.add_option("--kind", kind, "aml (AML Hehr layout) or lymphocytosis (challenge layout)")
        ->check(CLI::IsMember({"aml", "lymphocytosis"}));
    cli.add_option("--format", o.format,
                   "image files: tif or png (aml), jpg or png "
                   "(lymphocytosis); default tif / jpg");
    cli.add_option("--diagnostic-rate", o.diagnostic_rate,
                   "multiplies the share of each class's diagnostic cells");
    cli.add_option("--morphology-noise", o.morphology_noise,
                   "diagnostic cells without features (p/2), ordinary cells with another "
                   "class's (p/10)");
    cli.add_option("--domain-strength", o.domain_strength, "how different the 3 sites look");
    cli.add_flag("--montage", with_montage,
                 "also write montage_<class>.png (8 cells of one patient per class)");
    CLI11_PARSE(cli, argc, argv);

    o.kind = kind == "aml" ? CohortKind::aml : CohortKind::lymphocytosis;
    if (o.kind == CohortKind::lymphocytosis && cli.count("--format") == 0) o.format = "jpg";
    auto t0 = std::chrono::steady_clock::now();
    Cohort cohort = plan_cohort(o);
    nlohmann::json flags = {{"kind", kind},
                            {"format", o.format},
                            {"diagnostic_rate", o.diagnostic_rate},
                            {"morphology_noise", o.morphology_noise},
                            {"domain_strength", o.domain_strength},
                            {"patients_per_class", o.patients_per_class},
                            {"min_cells", o.min_cells},
                            {"max_cells", o.max_cells},
                            {"size", o.image_size}};
    apps::RunRecord record(out, "synth_cohort", flags, o.seed, {});
    int64_t images = write_cohort(cohort, out);
    if (with_montage)
        for (const std::string& label : cohort.classes)
            write_png(std::filesystem::path(out) / ("montage_" + label + ".png"),
                      montage(cohort, label, 8));
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    record.finish({{"patients", cohort.patients.size()}, {"images", images}, {"seconds", seconds}});
    std::printf("synth_cohort: %zu patients, %lld images in %.1fs -> %s\n", cohort.patients.size(),
                (long long)images, seconds, out.c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "synth_cohort: error: %s\n", e.what());
    return 1;
}
