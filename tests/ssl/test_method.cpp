#include <stdexcept>

#include <doctest/doctest.h>

#include "ssl/method.h"

using namespace marrow::ssl;

TEST_CASE("SSL method names round-trip and unknown names list the four") {
    for (const char* name : {"simclr", "swav", "dino", "dinov2"})
        CHECK(method_name(parse_method(name)) == name);
    CHECK_THROWS_WITH_AS(parse_method("byol"),
                         "unknown SSL method 'byol' (expected simclr, swav, dino or dinov2)",
                         std::invalid_argument);
}
