#include "exporter/metrics/families.h"

#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cbe::metrics {
namespace {

// What the sink got, piece by piece.
struct Sink {
  std::vector<std::string> pieces;

  std::function<void(std::string_view)> Function() {
    return [this](std::string_view text) { pieces.emplace_back(text); };
  }
  std::string Joined() const {
    std::string out;
    for (const std::string& p : pieces) {
      out += p;
    }
    return out;
  }
};

TEST_CASE("families: text goes out in the order the families were added, each whole", "[unit]") {
  Sink sink;
  Families families(1, sink.Function());
  Family& a = families.Add("a", "A.");
  Family& b = families.Add("b", "B.");
  Family& empty = families.Add("c", "C.");
  Family& d = families.Add("d", "D.", prometheus::MetricType::Counter);

  a.Add({{"x", "1"}}, 1);  // The first family streams.
  REQUIRE(sink.pieces.size() == 1);
  CHECK(sink.pieces[0] == "# HELP a A.\n# TYPE a gauge\na{x=\"1\"} 1\n");
  b.Add({{"x", "1"}}, 2);  // Held: a is open.
  d.Add({{"x", "1"}}, 5);
  d.Close();  // Complete, but held behind a, b and c.
  CHECK(sink.pieces.size() == 1);
  a.Add({{"x", "2"}}, 3);
  CHECK(sink.pieces.size() == 2);
  a.Close();  // b's text goes out and b streams from now on.
  REQUIRE(sink.pieces.size() == 3);
  CHECK(sink.pieces[2] == "# HELP b B.\n# TYPE b gauge\nb{x=\"1\"} 2\n");
  b.Add({{"x", "2"}}, 4);
  CHECK(sink.pieces.size() == 4);
  empty.Close();  // c and d wait for b.
  CHECK(sink.pieces.size() == 4);
  families.CloseAll();
  a.Close();  // Again: nothing more.

  CHECK(sink.Joined() ==
        "# HELP a A.\n# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 3\n"
        "# HELP b B.\n# TYPE b gauge\nb{x=\"1\"} 2\nb{x=\"2\"} 4\n"
        "# HELP d D.\n# TYPE d counter\nd{x=\"1\"} 5\n");
}

TEST_CASE("families: a family added after every earlier one closed streams at once", "[unit]") {
  Sink sink;
  Families families(0, sink.Function());  // Chunk 0: a family's text at its close.
  Family& a = families.Add("a", "A.");
  a.Add({}, 1);
  CHECK(sink.pieces.empty());
  families.CloseAll();
  REQUIRE(sink.pieces.size() == 1);
  Family& b = families.Add("b", "B.");
  b.Add({}, 2);
  b.Add({}, 3);
  CHECK(sink.pieces.size() == 1);
  b.Close();
  REQUIRE(sink.pieces.size() == 2);
  CHECK(sink.pieces[1] == "# HELP b B.\n# TYPE b gauge\nb 2\nb 3\n");
}

TEST_CASE("families: an empty family is left out and holds the ones after it until closed",
          "[unit]") {
  Sink sink;
  Families families(1, sink.Function());
  Family& a = families.Add("a", "A.");
  Family& b = families.Add("b", "B.");
  b.Add({}, 1);
  b.Close();
  CHECK(sink.pieces.empty());
  a.Close();
  CHECK(sink.Joined() == "# HELP b B.\n# TYPE b gauge\nb 1\n");
}

}  // namespace
}  // namespace cbe::metrics
