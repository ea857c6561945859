// The 16-byte string of the snapshot's per-session text: inline up to 15 bytes, heap beyond.

#include "exporter/base/short_string.h"

#include <catch2/catch.hpp>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace cbe {
namespace {

TEMPLATE_TEST_CASE("short strings: hold any length, inline up to all but their last byte", "[unit]",
                   ShortString, NameString) {
  CHECK(TestType::kInline == sizeof(TestType) - 1);
  CHECK(TestType().empty());
  CHECK(TestType().size() == 0);
  const std::size_t k = TestType::kInline;
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, k - 1, k, k + 1, k + 2, std::size_t{39},
                        std::size_t{100}, std::size_t{5000}}) {
    CAPTURE(n);
    std::string text;
    for (std::size_t i = 0; i < n; ++i) {
      text.push_back(static_cast<char>('a' + i % 26));
    }
    const TestType s(text);
    CHECK(s.size() == n);
    CHECK(s.view() == text);
    CHECK(s.str() == text);
    CHECK(s == text);
    // Inline text lives in the object itself; longer text does not.
    const char* data = s.data();
    const auto* object = reinterpret_cast<const char*>(&s);
    CHECK((data >= object && data < object + sizeof s) == (n <= k));
  }
  // Text with NUL bytes, and the 0xff byte the heap marker uses filling the inline space.
  const std::string odd("a\0b\xff", 4);
  CHECK(TestType(odd).view() == odd);
  const std::string marks(k, '\xff');
  CHECK(TestType(marks).view() == marks);
}

TEST_CASE("name string: Calico's IPv4 protocol names fit inline", "[unit]") {
  // The longest: a global peer's name at the longest IPv4 address.
  CHECK(std::string_view("Global_255_255_255_255").size() <= NameString::kInline);
  CHECK(std::string_view("Mesh_192_168_10_101").size() > ShortString::kInline);
  // Between the two sizes through a view.
  NameString name("Mesh_192_168_10_101");
  name = ShortString("short").view();
  CHECK(name == "short");
}

TEST_CASE("short string: an empty view with no data is an empty string", "[unit]") {
  // A default std::string_view has a null pointer (the parser hands out such views for empty
  // tokens): copying zero bytes from it must not touch it (UBSan, in the ASan suite).
  const std::string_view nothing;
  REQUIRE(nothing.data() == nullptr);
  ShortString a(nothing);
  CHECK(a.empty());
  NameString b = "Mesh_10_99_0_1";
  b = nothing;
  CHECK(b.empty());
  CHECK(b == "");
}

TEST_CASE("short string: copies, moves and assignments keep the text", "[unit]") {
  const std::string long_text = "fd00:1234:5678:9abc:def0:1234:5678:9abc";
  for (const std::string& text : {std::string("10.99.1.23"), long_text}) {
    CAPTURE(text);
    ShortString a(text);
    ShortString b(a);
    CHECK(b == text);
    ShortString c(std::move(a));
    CHECK(c == text);
    CHECK(a.empty());  // NOLINT: a moved-from ShortString is empty.
    ShortString d = "x";
    d = c;
    CHECK(d == text);
    d = d;  // Self-assignment.
    CHECK(d == text);
    d = std::move(c);
    CHECK(d == text);
    // Assigning a view of itself (a suffix) reads it before freeing.
    d = d.view().substr(1);
    CHECK(d == text.substr(1));
    d = d.view().substr(2, 5);  // In place when inline: the bytes move down.
    CHECK(d == text.substr(3, 5));
    ShortString e(d);  // Copies of a 5-byte string, inline.
    CHECK(e == d);
    e = ShortString(long_text);
    e = d;  // A heap string takes an inline one's bytes.
    CHECK(e == text.substr(3, 5));
    d = std::string("abc");
    CHECK(d == "abc");
    d += "def";
    CHECK(d == "abcdef");
    d += std::string(20, 'x');  // Past the inline limit.
    CHECK(d == "abcdef" + std::string(20, 'x'));
    d.clear();
    CHECK(d.empty());
  }
  std::vector<ShortString> v;
  for (int i = 0; i < 100; ++i) {
    v.push_back(i % 2 ? ShortString(long_text + std::to_string(i)) : ShortString("short"));
  }
  v.erase(v.begin(), v.begin() + 50);  // Moves the rest down.
  CHECK(v[0] == "short");
  CHECK(v[1] == long_text + "51");
}

TEST_CASE("short string: compares, orders, concatenates and prints like a string", "[unit]") {
  const ShortString a("Established");
  CHECK(a == "Established");
  CHECK("Established" == a);
  CHECK(a == std::string("Established"));
  CHECK(a == std::string_view("Established"));
  CHECK(a != "Active");
  CHECK(ShortString("a") < ShortString("b"));
  CHECK(a.find('b') == 4);
  CHECK(a.find('z') == std::string_view::npos);
  CHECK(std::string("state ") + a == "state Established");
  CHECK(a + std::string("/up") == "Established/up");
  std::ostringstream os;
  os << a;
  CHECK(os.str() == "Established");
  std::map<ShortString, int> m{{"b", 2}, {"a", 1}};
  CHECK(m.begin()->first == "a");
}

}  // namespace
}  // namespace cbe
