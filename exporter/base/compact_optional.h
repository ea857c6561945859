#pragma once

// An optional number in the number's own size: "absent" is a value BIRD never prints (NaN for a
// double, the largest value for an unsigned integer), where std::optional adds a flag and pads
// it to 16 bytes. For the numbers a snapshot holds per session (issue 19: a round keeps two
// vectors of 1000 sessions). Reads and writes like the std::optional it replaces, converts to
// and from one, and compares equal to one holding the same value.
//
// The sentinel itself cannot be held: assigning it leaves the optional empty. Parsers refuse it
// as input (a route count of 2^64-1) so that no value is lost silently.

#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>

namespace cbe {

template <typename T>
requires std::floating_point<T> || std::unsigned_integral<T>
class CompactOptional {
 public:
  // The value that means "absent".
  static constexpr T Sentinel() {
    if constexpr (std::floating_point<T>) {
      return std::numeric_limits<T>::quiet_NaN();
    } else {
      return std::numeric_limits<T>::max();
    }
  }
  static constexpr bool IsSentinel(T v) {
    if constexpr (std::floating_point<T>) {
      return std::isnan(v);
    } else {
      return v == Sentinel();
    }
  }

  constexpr CompactOptional() noexcept = default;
  constexpr CompactOptional(std::nullopt_t) noexcept {}          // NOLINT: as std::optional's.
  constexpr CompactOptional(T v) noexcept : value_(v) {}         // NOLINT
  constexpr CompactOptional(const std::optional<T>& o) noexcept  // NOLINT
      : value_(o ? *o : Sentinel()) {}

  constexpr bool has_value() const noexcept { return !IsSentinel(value_); }
  constexpr explicit operator bool() const noexcept { return has_value(); }
  // As std::optional's: only on a value.
  constexpr T operator*() const noexcept { return value_; }
  constexpr T value_or(T fallback) const noexcept { return has_value() ? value_ : fallback; }
  constexpr void reset() noexcept { value_ = Sentinel(); }
  constexpr operator std::optional<T>() const noexcept {  // NOLINT: implicit, for old readers.
    return has_value() ? std::optional<T>(value_) : std::nullopt;
  }

  friend constexpr bool operator==(const CompactOptional& a, const CompactOptional& b) noexcept {
    return a.has_value() == b.has_value() && (!a.has_value() || a.value_ == b.value_);
  }
  friend constexpr bool operator==(const CompactOptional& a, std::nullopt_t) noexcept {
    return !a.has_value();
  }
  friend constexpr bool operator==(const CompactOptional& a, T v) noexcept {
    return a.has_value() && a.value_ == v;
  }
  friend constexpr bool operator==(const CompactOptional& a, const std::optional<T>& o) noexcept {
    return a == CompactOptional(o);
  }
  friend std::ostream& operator<<(std::ostream& os, const CompactOptional& o) {
    if (o.has_value()) {
      return os << o.value_;
    }
    return os << "(none)";
  }

 private:
  T value_ = Sentinel();
};

using OptionalDouble = CompactOptional<double>;
using OptionalCount = CompactOptional<std::uint64_t>;

static_assert(sizeof(OptionalDouble) == 8 && sizeof(OptionalCount) == 8);

}  // namespace cbe
