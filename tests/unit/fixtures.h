#pragma once

#include <string>
#include <string_view>

namespace cbe::testing {

// The bytes of tests/fixtures/<relative_path>; fails the test when missing.
std::string ReadFixture(std::string_view relative_path);

}  // namespace cbe::testing
