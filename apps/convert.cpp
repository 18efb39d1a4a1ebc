// convert: a PyTorch checkpoint (.pth, as torch.save wrote it; or safetensors) -> safetensors
// under the keys a marrow model loads, printing the key table. No Python involved; the
// unpickler refuses anything but tensor state-dict objects (tensor/pth.h).
//
//   convert IN.pth OUT.safetensors [--select teacher] [--strip-prefix module.]
//           [--strip-prefix backbone.] [--skip-unknown-globals]
#include <CLI/CLI.hpp>
#include <cstdio>

#include "nn/convert.h"

using namespace marrow;

int main(int argc, char** argv) try {
    std::string in, out;
    nn::ConvertOptions o;
    CLI::App cli{"Convert a PyTorch .pth checkpoint to safetensors (no Python)"};
    cli.add_option("input", in, "checkpoint: .pth (zip or legacy torch.save) or safetensors")
        ->required();
    cli.add_option("output", out, "safetensors file to write (atomically)")->required();
    cli.add_option("--select", o.select,
                   "keep the keys under this name, without it (teacher, student, model)");
    cli.add_option("--strip-prefix", o.strip_prefixes,
                   "remove this leading prefix from every key (repeatable, in order)");
    cli.add_flag("--skip-unknown-globals", o.skip_unknown_globals,
                 "skip objects other than tensors and containers (DINO's args: "
                 "argparse.Namespace) instead of refusing the file; nothing is executed");
    CLI11_PARSE(cli, argc, argv);
    nn::ConvertResult r = nn::convert_checkpoint(in, out, o);
    for (const std::string& g : r.skipped_globals)
        std::fprintf(stderr, "convert: skipped objects of %s\n", g.c_str());
    std::fputs(nn::format_key_table(r.dict).c_str(), stdout);
    std::printf("wrote %s\n", out.c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "convert: %s\n", e.what());
    return 1;
}
