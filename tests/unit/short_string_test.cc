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

TEST_CASE("short string: holds any length, inline up to 15 bytes", "[unit]") {
  CHECK(ShortString().empty());
  CHECK(ShortString().size() == 0);
  for (std::size_t n : {0, 1, 14, 15, 16, 17, 39, 100, 5000}) {
    CAPTURE(n);
    std::string text;
    for (std::size_t i = 0; i < n; ++i) {
      text.push_back(static_cast<char>('a' + i % 26));
    }
    const ShortString s(text);
    CHECK(s.size() == n);
    CHECK(s.view() == text);
    CHECK(s.str() == text);
    CHECK(s == text);
    // Inline text lives in the object itself; longer text does not.
    const char* data = s.data();
    const auto* object = reinterpret_cast<const char*>(&s);
    CHECK((data >= object && data < object + sizeof s) == (n <= ShortString::kInline));
  }
  // Text with NUL bytes and the 0xff byte the heap marker uses.
  const std::string odd("a\0b\xff", 4);
  CHECK(ShortString(odd).view() == odd);
  const std::string fifteen("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 15);
  CHECK(ShortString(fifteen).view() == fifteen);
}

TEST_CASE("name string: inline up to 23 bytes, so Calico's IPv4 protocol names fit", "[unit]") {
  for (const std::string& name :
       {std::string("Mesh_10_2_3_4"), std::string("Mesh_192_168_10_101"),
        std::string("Global_255_255_255_255"), std::string("Mesh_fd00_10_244_0_0_0_0_1"),
        std::string(23, 'x'), std::string(24, 'y')}) {
    CAPTURE(name);
    NameString s(name);
    CHECK(s == name);
    const char* data = s.data();
    const auto* object = reinterpret_cast<const char*>(&s);
    CHECK((data >= object && data < object + sizeof s) == (name.size() <= 23));
    NameString copy(s);
    NameString moved(std::move(s));
    CHECK(copy == name);
    CHECK(moved == name);
    moved = ShortString("short").view();
    CHECK(moved == "short");
    CHECK(copy < NameString(name + "z"));
  }
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
