// Prints the op-case registry as JSON for tests/golden/gen/gen_ops.py: case names, family,
// small-tier input shapes, domains, index ranges, which inputs need gradients, and the parity
// and bench tiers' shapes (bench/bench_ops --list prints its benchmarks from the same cases).
#include <iostream>
#include <nlohmann/json.hpp>

#include "tests/ops/op_cases.h"

int main() {
    using namespace marrow::test;
    nlohmann::json cases = nlohmann::json::array();
    const char* domains[] = {"any", "positive", "nonzero", "index"};
    const char* bench_on[] = {"both", "cpu", "cuda"};
    for (const OpCase& c : op_cases()) {
        nlohmann::json inputs = nlohmann::json::array();
        for (const InputSpec& s : c.inputs)
            inputs.push_back({{"shape", s.shape},
                              {"domain", domains[int(s.domain)]},
                              {"index_high", s.index_high},
                              {"grad", s.differentiable && c.differentiable}});
        nlohmann::json bench = nlohmann::json::array();
        for (const BenchSize& b : c.bench)
            bench.push_back({{"name", b.name},
                             {"shapes", b.shapes},
                             {"on", bench_on[int(b.on)]},
                             {"backward", b.backward}});
        cases.push_back({{"name", c.name},
                         {"op", c.op},
                         {"family", c.family},
                         {"inputs", inputs},
                         {"differentiable", c.differentiable},
                         {"parity_shapes", c.parity_shapes},
                         {"bench", bench},
                         {"composed", c.composed}});
    }
    std::cout << cases.dump(1) << "\n";
}
