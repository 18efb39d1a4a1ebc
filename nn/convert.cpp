#include "nn/convert.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "tensor/error.h"

namespace marrow::nn {

ConvertResult read_checkpoint(const std::string& in, const ConvertOptions& options) {
    ConvertResult r;
    PthOptions po{.skip_unknown_globals = options.skip_unknown_globals};
    if (is_pth_file(in)) {
        PthFile file = read_pth(in, po);
        r.skipped_globals = file.skipped_globals();
        for (auto& [key, tensor] : flatten_tensors(file)) r.dict.insert(key, tensor);
    } else {
        r.dict = load_state_dict_file(in);
    }
    if (!options.select.empty()) {
        StateDict picked = select_prefix(r.dict, options.select + ".");
        if (picked.empty()) {
            std::set<std::string> tops;
            for (const auto& [key, t] : r.dict) tops.insert(key.substr(0, key.find('.')));
            fail("{}: no key starts with \"{}.\" (top-level names: {})", in, options.select,
                 fmt::join(tops, ", "));
        }
        r.dict = std::move(picked);
    }
    for (const std::string& prefix : options.strip_prefixes) r.dict = strip_prefix(r.dict, prefix);
    MARROW_CHECK(!r.dict.empty(), "{}: no tensors in the checkpoint", in);
    return r;
}

ConvertResult convert_checkpoint(const std::string& in, const std::string& out,
                                 const ConvertOptions& options) {
    ConvertResult r = read_checkpoint(in, options);
    save_state_dict_file(out, r.dict, {{"converted_from", in}});
    return r;
}

std::string format_key_table(const StateDict& dict) {
    size_t width = 3;
    for (const auto& [key, t] : dict) width = std::max(width, key.size());
    std::string out =
        fmt::format("{:<{}}  {:<8}  {:<20}  {:>12}\n", "key", width, "dtype", "shape", "bytes");
    uint64_t elements = 0, bytes = 0;
    for (const auto& [key, t] : dict) {
        uint64_t n = uint64_t(t.numel()) * t.element_size();
        elements += uint64_t(t.numel());
        bytes += n;
        out += fmt::format("{:<{}}  {:<8}  {:<20}  {:>12}\n", key, width, dtype_name(t.dtype()),
                           fmt::format("{}", t.shape()), n);
    }
    out += fmt::format("{} tensors, {} elements, {} bytes ({:.1f} MB)\n", dict.size(), elements,
                       bytes, double(bytes) / 1e6);
    return out;
}

}  // namespace marrow::nn
