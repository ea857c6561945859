#include "tests/unit/fixtures.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace cbe::testing {

std::string ReadFixture(std::string_view relative_path) {
  const std::string path = std::string(CBE_FIXTURES_DIR) + "/" + std::string(relative_path);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("missing fixture " + path);
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace cbe::testing
