// Prints the op-case registry as JSON for tests/golden/gen/gen_ops.py: case names, input
// shapes, domains, index ranges, and which inputs need gradients.
#include <iostream>
#include <nlohmann/json.hpp>

#include "tests/ops/op_cases.h"

int main() {
    using namespace marrow::test;
    nlohmann::json cases = nlohmann::json::array();
    const char* domains[] = {"any", "positive", "nonzero", "index"};
    for (const OpCase& c : op_cases()) {
        nlohmann::json inputs = nlohmann::json::array();
        for (const InputSpec& s : c.inputs)
            inputs.push_back({{"shape", s.shape},
                              {"domain", domains[int(s.domain)]},
                              {"index_high", s.index_high},
                              {"grad", s.differentiable && c.differentiable}});
        cases.push_back({{"name", c.name},
                         {"op", c.op},
                         {"inputs", inputs},
                         {"differentiable", c.differentiable}});
    }
    std::cout << cases.dump(1) << "\n";
}
