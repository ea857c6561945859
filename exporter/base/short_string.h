#pragma once

// A string in 16 bytes instead of std::string's 32, for the text a snapshot holds per session
// (issue 19: a round's snapshot is two vectors of 1000 sessions, kept for the next round). Up to
// 15 bytes are held inline: BGP states, peer types, AS numbers and IPv4 addresses all fit.
// Longer text (IPv6 addresses, error messages) goes to the heap, exactly sized. Read it as a
// std::string_view.
//
// NameString is the same in 24 bytes, 23 inline: for protocol names. Calico names a session
// after the peer's address ("Mesh_192_168_10_101", "Global_10_240_13_121": up to 22 bytes for
// IPv4), past 15 bytes for many node addresses: in 16 bytes each would cost an allocation and a
// free in every round, for the session and again for its diagnosis.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace cbe {

// `Size` bytes in all: up to Size - 1 inline.
template <std::size_t Size>
class BasicShortString {
  // The heap form needs a pointer and a 32-bit size before the marker byte; the inline size
  // must stay below the marker.
  static_assert(Size >= sizeof(char*) + sizeof(std::uint32_t) + 1 && Size < 0xff);

 public:
  static constexpr std::size_t kInline = Size - 1;

  BasicShortString() noexcept { SetInlineSize(0); }
  BasicShortString(std::string_view s) { Assign(s); }  // NOLINT: implicit, as std::string's.
  BasicShortString(const char* s) : BasicShortString(std::string_view(s)) {}  // NOLINT
  BasicShortString(const std::string& s)                                      // NOLINT
      : BasicShortString(std::string_view(s)) {}
  // An inline string is copied whole, its unused bytes too: one fixed-size copy where a
  // copy of its characters would call memcpy (a few per session per round).
  BasicShortString(const BasicShortString& o) {
    if (o.on_heap()) {
      Assign(o.view());
    } else {
      std::memcpy(bytes_, o.bytes_, sizeof bytes_);
    }
  }
  BasicShortString(BasicShortString&& o) noexcept {
    std::memcpy(bytes_, o.bytes_, sizeof bytes_);
    o.SetInlineSize(0);
  }
  BasicShortString& operator=(const BasicShortString& o) {
    if (this != &o) {
      Free();
      if (o.on_heap()) {
        Assign(o.view());
      } else {
        std::memcpy(bytes_, o.bytes_, sizeof bytes_);
      }
    }
    return *this;
  }
  BasicShortString& operator=(BasicShortString&& o) noexcept {
    if (this != &o) {
      Free();
      std::memcpy(bytes_, o.bytes_, sizeof bytes_);
      o.SetInlineSize(0);
    }
    return *this;
  }
  BasicShortString& operator=(std::string_view s) {
    if (s.size() <= kInline && !on_heap()) {  // Nothing to free: in place (`s` may be in it).
      if (!s.empty()) {
        std::memmove(bytes_, s.data(), s.size());
      }
      SetInlineSize(s.size());
      return *this;
    }
    // `s` may point into this string: copy before freeing.
    BasicShortString copy(s);
    return *this = std::move(copy);
  }
  BasicShortString& operator=(const char* s) { return *this = std::string_view(s); }
  BasicShortString& operator+=(std::string_view s) {
    std::string joined(view());
    joined.append(s);
    return *this = std::string_view(joined);
  }
  BasicShortString& operator=(const std::string& s) { return *this = std::string_view(s); }
  ~BasicShortString() { Free(); }

  const char* data() const noexcept { return on_heap() ? HeapPointer() : bytes_; }
  std::size_t size() const noexcept { return on_heap() ? HeapSize() : bytes_[kInline]; }
  bool empty() const noexcept { return size() == 0; }
  std::string_view view() const noexcept { return {data(), size()}; }
  operator std::string_view() const noexcept { return view(); }  // NOLINT: implicit.
  std::string str() const { return std::string(view()); }
  std::size_t find(char c, std::size_t pos = 0) const noexcept { return view().find(c, pos); }
  void clear() noexcept {
    Free();
    SetInlineSize(0);
  }

  friend bool operator==(const BasicShortString& a, const BasicShortString& b) noexcept {
    return a.view() == b.view();
  }
  friend bool operator==(const BasicShortString& a, std::string_view b) noexcept {
    return a.view() == b;
  }
  friend bool operator==(const BasicShortString& a, const char* b) noexcept {
    return a.view() == std::string_view(b);
  }
  friend bool operator==(const BasicShortString& a, const std::string& b) noexcept {
    return a.view() == std::string_view(b);
  }
  friend auto operator<=>(const BasicShortString& a, const BasicShortString& b) noexcept {
    return a.view() <=> b.view();
  }
  friend std::string operator+(const std::string& a, const BasicShortString& b) {
    std::string out;
    out.reserve(a.size() + b.size());
    out.append(a).append(b.view());
    return out;
  }
  friend std::string operator+(std::string&& a, const BasicShortString& b) {
    a.append(b.view());
    return std::move(a);
  }
  friend std::string operator+(const BasicShortString& a, const std::string& b) {
    std::string out(a.view());
    out.append(b);
    return out;
  }
  friend std::ostream& operator<<(std::ostream& os, const BasicShortString& s) {
    return os << s.view();
  }

 private:
  static constexpr unsigned char kHeap = 0xff;

  bool on_heap() const noexcept { return static_cast<unsigned char>(bytes_[kInline]) == kHeap; }
  void SetInlineSize(std::size_t n) noexcept { bytes_[kInline] = static_cast<char>(n); }
  char* HeapPointer() const noexcept {
    char* p;
    std::memcpy(&p, bytes_, sizeof p);
    return p;
  }
  std::size_t HeapSize() const noexcept {
    std::uint32_t n;
    std::memcpy(&n, bytes_ + sizeof(char*), sizeof n);
    return n;
  }
  void Assign(std::string_view s) {
    if (s.size() <= kInline) {
      if (!s.empty()) {  // An empty view may have no data at all: memcpy wants a pointer.
        std::memcpy(bytes_, s.data(), s.size());
      }
      SetInlineSize(s.size());
      return;
    }
    if (s.size() > std::numeric_limits<std::uint32_t>::max()) {
      throw std::length_error("BasicShortString: longer than 4 GiB");
    }
    char* p = new char[s.size()];
    std::memcpy(p, s.data(), s.size());
    const auto n = static_cast<std::uint32_t>(s.size());
    std::memcpy(bytes_, &p, sizeof p);
    std::memcpy(bytes_ + sizeof p, &n, sizeof n);
    bytes_[kInline] = static_cast<char>(kHeap);
  }
  void Free() noexcept {
    if (on_heap()) {
      delete[] HeapPointer();
    }
  }

  // Inline: the characters, then the size in the last byte. On the heap: the pointer, the
  // size (32 bits), and kHeap in the last byte.
  char bytes_[Size];
};

using ShortString = BasicShortString<16>;
using NameString = BasicShortString<24>;
static_assert(sizeof(ShortString) == 16 && sizeof(NameString) == 24);

}  // namespace cbe
