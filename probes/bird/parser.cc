#include "probes/bird/parser.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <utility>

#include "probes/bird/framing.h"

namespace cbe::bird {
namespace {

constexpr std::size_t kNoTree = std::string_view::npos;
constexpr int kCodeDaemonUp = 13;  // "0013 Daemon is up and running"

// The bytes of an 8-byte word that equal `byte`, as its 0x80 bits; the lowest one set is the
// first such byte (little-endian; the bits above it may be false).
constexpr std::uint64_t kLowBits = 0x0101010101010101;
constexpr std::uint64_t kHighBits = 0x8080808080808080;
inline std::uint64_t BytesEqual(std::uint64_t word, unsigned char byte) {
  const std::uint64_t x = word ^ (kLowBits * byte);
  return (x - kLowBits) & ~x & kHighBits;
}

inline std::uint64_t Load8(const char* p) {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return word;
}

// The number of blanks (spaces, tabs) `s` starts with. BIRD pads every detail value into a
// column ("BGP state:          Established"): skipping those runs a byte at a time was ~11% of a
// round's instructions (callgrind, by hand).
[[gnu::always_inline]] inline std::size_t LeadingBlanks(std::string_view s) {
  std::size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    constexpr std::uint64_t kEightSpaces = 0x2020202020202020;
    while (i + 8 <= s.size()) {
      const std::uint64_t differs = Load8(s.data() + i) ^ kEightSpaces;
      if (differs != 0) {
        i += static_cast<std::size_t>(std::countr_zero(differs)) / 8;  // The first non-space.
        if (s[i] != '\t') {
          return i;  // Most lines: no byte-by-byte look at it.
        }
        break;
      }
      i += 8;
    }
  }
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) {
    ++i;
  }
  return i;
}

[[gnu::always_inline]] inline std::string_view TrimLeft(std::string_view s) {
  return s.substr(LeadingBlanks(s));
}

[[gnu::always_inline]] inline std::string_view TrimRight(std::string_view s) {
  std::size_t n = s.size();
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
    --n;
  }
  return s.substr(0, n);
}

std::string_view Trim(std::string_view s) { return TrimRight(TrimLeft(s)); }

// The length of the token `s` starts with: up to its first blank, 8 bytes at a time.
std::size_t TokenLength(std::string_view s) {
  std::size_t end = 0;
  if constexpr (std::endian::native == std::endian::little) {
    while (end + 8 <= s.size()) {
      const std::uint64_t word = Load8(s.data() + end);
      const std::uint64_t blanks = BytesEqual(word, ' ') | BytesEqual(word, '\t');
      if (blanks != 0) {
        return end + static_cast<std::size_t>(std::countr_zero(blanks)) / 8;
      }
      end += 8;
    }
  }
  while (end < s.size() && s[end] != ' ' && s[end] != '\t') {
    ++end;
  }
  return end;
}

// The first `byte` in `s` (npos if none), 8 bytes at a time: a detail key's colon is a few
// words in, where a call to memchr costs more than the search.
std::size_t FindByte(std::string_view s, char byte) {
  std::size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    for (; i + 8 <= s.size(); i += 8) {
      if (const std::uint64_t found = BytesEqual(Load8(s.data() + i), byte); found != 0) {
        return i + static_cast<std::size_t>(std::countr_zero(found)) / 8;
      }
    }
  }
  for (; i < s.size(); ++i) {
    if (s[i] == byte) {
      return i;
    }
  }
  return std::string_view::npos;
}

// Splits off the next whitespace-separated token; `rest` keeps what follows it.
std::string_view NextToken(std::string_view* rest) {
  const std::string_view s = TrimLeft(*rest);
  const std::size_t end = TokenLength(s);
  *rest = s.substr(end);
  return s.substr(0, end);
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

template <typename T>
std::optional<T> ParseNumber(std::string_view s) {
  T value{};
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (ec != std::errc() || ptr != end || s.empty()) {
    return std::nullopt;
  }
  return value;
}

// Digits with at most one '.' and at least one digit ("143.007", "240", ".5"): a number
// std::from_chars reads whole, found without it.
bool IsPlainDecimal(std::string_view s) {
  bool dot = false;
  bool digit = false;
  for (const char c : s) {
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digit;
}

// "140/240" or "143.007/240" -> 240. BIRD prints these two figures for every Established
// session: plain digits are read without from_chars (3% of a round's instructions went to
// from_chars here, callgrind), anything else the way from_chars reads it.
std::optional<double> ParseTimerLimit(std::string_view value) {
  const std::size_t slash = value.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  if (const std::string_view left = value.substr(0, slash);
      !IsPlainDecimal(left) && !ParseNumber<double>(left)) {
    return std::nullopt;
  }
  const std::string_view limit = value.substr(slash + 1);
  constexpr std::size_t kExactDigits = 15;  // Below 2^53: the integer is the double exactly.
  if (!limit.empty() && limit.size() <= kExactDigits &&
      std::all_of(limit.begin(), limit.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::uint64_t n = 0;
    for (const char c : limit) {
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return static_cast<double>(n);
  }
  return ParseNumber<double>(limit);
}

// Counts summed over channels (routes, BIRD 3's pending prefixes); a sum past what a count
// holds stays at its largest.
void AddCount(OptionalCount* total, std::uint64_t n) {
  const std::uint64_t sum = total->value_or(0) + n;
  const std::uint64_t largest = OptionalCount::Sentinel() - 1;
  *total = sum < n || sum > largest ? largest : sum;
}

// "1 imported, 1 filtered, 2 exported, 1 preferred".
bool ParseRoutes(std::string_view value, RouteCounts* routes) {
  RouteCounts parsed;
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view item = Trim(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    std::string_view words = item;
    const auto count = ParseNumber<std::uint64_t>(NextToken(&words));
    const std::string_view kind = Trim(words);
    if (!count || OptionalCount::IsSentinel(*count)) {
      return false;  // 2^64-1 is the count a RouteCounts cannot hold: an unparsed line.
    }
    if (kind == "imported") {
      parsed.imported = count;
    } else if (kind == "filtered") {
      parsed.filtered = count;
    } else if (kind == "exported") {
      parsed.exported = count;
    } else if (kind == "preferred") {
      parsed.preferred = count;
    } else {
      return false;
    }
  }
  for (auto [from, to] : {std::pair{&parsed.imported, &routes->imported},
                          std::pair{&parsed.filtered, &routes->filtered},
                          std::pair{&parsed.exported, &routes->exported},
                          std::pair{&parsed.preferred, &routes->preferred}}) {
    if (*from) {
      AddCount(to, **from);
    }
  }
  return true;
}

// BIRD 3's "TX pending: 123 bytes" (Established only): bytes queued to the peer's socket.
bool ParseTxPending(std::string_view value, Protocol* p) {
  std::string_view words = value;
  const auto bytes = ParseNumber<std::uint64_t>(NextToken(&words));
  if (!bytes || Trim(words) != "bytes") {
    return false;
  }
  p->tx_pending_bytes = *bytes;
  return true;
}

// BIRD 3, per channel: "Pending 2 attribute sets with total 5 prefixes to send".
bool ParsePendingAttributeSets(std::string_view text, Protocol* p) {
  std::string_view words = text;
  NextToken(&words);  // "Pending"
  const auto sets = ParseNumber<std::uint64_t>(NextToken(&words));
  for (std::string_view expected : {"attribute", "sets", "with", "total"}) {
    if (NextToken(&words) != expected) {
      return false;
    }
  }
  const auto prefixes = ParseNumber<std::uint64_t>(NextToken(&words));
  if (!sets || !prefixes || OptionalCount::IsSentinel(*prefixes) ||
      Trim(words) != "prefixes to send") {
    return false;
  }
  AddCount(&p->pending_prefixes, *prefixes);
  return true;
}

// Detail keys that carry nothing the exporter reports, but are understood.
constexpr std::string_view kKnownDetailKeys[] = {
    "Description",
    "Preference",
    "Input filter",
    "Output filter",
    "Import limit",
    "Export limit",
    "Receive limit",
    "Route limit",
    "Route change stats",
    "Import updates",
    "Import withdraws",
    "Export updates",
    "Export withdraws",
    "Neighbor caps",
    "Connect delay",
    "Error wait",
    "Table",
    "State",
    "BGP Next hop",
    "IGP IPv4 table",
    "IGP IPv6 table",
    "IGP table",
    "Neighbor port",
    "Neighbor range",
    "Restart timer",
    "Send hold timer",
    "Local port",
    "Neighbor graceful restart active",
    "Neighbor long-lived graceful restart active",
    "Hostname",
    "VRF",
    "Message",
    "Start delay",
    "Router ID",
    "GR recovery",
    "Action",
    "Neighbor GR",
    "LL stale timer",
    // BIRD 3.
    "Created",
    "Last autorestart",
    "AltExp state",
    "TCP-AO",
    "Current key",
    "RNext key",
    "Good packets",
    "Bad packets",
    "FSM established transitions",
    "Rcvd messages",
    "Sent messages",
    "Last rcvd update elapsed time",
};

// The whole detail keys: those whose value the parser reads, and the known ones.
enum class DetailKey {
  kUnknown,
  kKnown,  // Understood, carries nothing the exporter reports.
  kBgpState,
  kNeighborAddress,
  kNeighborAs,
  kLocalAs,
  kSourceAddress,
  kNeighborId,
  kSession,
  kHoldTimer,
  kKeepaliveTimer,
  kLastError,
  kRoutes,
  kTxPending,
  kCapabilities,  // "Local capabilities", "Neighbor capabilities": a tree of lines follows.
};

// The keys whose value the parser reads.
constexpr std::pair<std::string_view, DetailKey> kReadDetailKeys[] = {
    {"BGP state", DetailKey::kBgpState},
    {"Neighbor address", DetailKey::kNeighborAddress},
    {"Neighbor AS", DetailKey::kNeighborAs},
    {"Local AS", DetailKey::kLocalAs},
    {"Source address", DetailKey::kSourceAddress},
    {"Neighbor ID", DetailKey::kNeighborId},
    {"Session", DetailKey::kSession},
    {"Hold timer", DetailKey::kHoldTimer},
    {"Keepalive timer", DetailKey::kKeepaliveTimer},
    {"Last error", DetailKey::kLastError},
    {"Routes", DetailKey::kRoutes},
    {"TX pending", DetailKey::kTxPending},
    {"Local capabilities", DetailKey::kCapabilities},
    {"Neighbor capabilities", DetailKey::kCapabilities},
};

// Every whole detail key the parser knows, in an open-addressing table: one lookup per detail
// line (~25 lines per BGP protocol, 25,000 a round at 1000 peers) costs a few comparisons of
// lengths where a scan of ~75 names, or a std::unordered_map hashing every byte, cost more.
class DetailKeyTable {
  // Two keys of one length are the same: a word at a time, without a call to memcmp (one per
  // detail line; BIRD's keys are 2 to 45 bytes long).
  static bool SameBytes(std::string_view a, std::string_view b) {
    const std::size_t n = a.size();
    if (n < 8) {
      return a == b;
    }
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      if (Load8(a.data() + i) != Load8(b.data() + i)) {
        return false;
      }
    }
    return Load8(a.data() + n - 8) == Load8(b.data() + n - 8);  // The last 8, overlapping.
  }

 public:
  constexpr DetailKeyTable() {
    for (const auto& [key, value] : kReadDetailKeys) {
      Add(key, value);
    }
    for (std::string_view known : kKnownDetailKeys) {
      Add(known, DetailKey::kKnown);
    }
  }

  DetailKey Find(std::string_view key) const {
    for (std::size_t i = Home(key);; i = (i + 1) & kMask) {
      if (slots_[i].key.empty()) {
        return DetailKey::kUnknown;
      }
      if (slots_[i].key.size() == key.size() && SameBytes(slots_[i].key, key)) {
        return slots_[i].value;
      }
    }
  }

 private:
  static constexpr std::size_t kSlots = 256;
  static constexpr std::size_t kMask = kSlots - 1;
  // Never more than half full: short probe runs, and an empty slot ends every search.
  static_assert(std::size(kReadDetailKeys) + std::size(kKnownDetailKeys) <= kSlots / 2);
  struct Entry {
    std::string_view key;
    DetailKey value = DetailKey::kUnknown;
  };

  // The length and the first and last characters tell BIRD's keys apart well enough.
  static constexpr std::size_t Home(std::string_view key) {
    return key.empty() ? 0
                       : (key.size() * 31 + static_cast<unsigned char>(key.front()) * 7 +
                          static_cast<unsigned char>(key.back())) &
                             kMask;
  }
  constexpr void Add(std::string_view key, DetailKey value) {
    std::size_t i = Home(key);
    while (!slots_[i].key.empty() && slots_[i].key != key) {
      i = (i + 1) & kMask;
    }
    slots_[i] = Entry{key, value};
  }

  std::array<Entry, kSlots> slots_{};
};

// Built by the compiler: no guard of a function's static on every lookup.
constexpr DetailKeyTable kDetailKeys;

DetailKey LookupDetailKey(std::string_view key) { return kDetailKeys.Find(key); }

}  // namespace

std::span<const std::string_view> KnownDetailKeys() { return kKnownDetailKeys; }

namespace {

// Keys that name a channel or one of its counters, e.g. "Channel ipv4", "Import updates".
bool IsKnownDetailPrefix(std::string_view key) {
  return StartsWith(key, "Channel ") || StartsWith(key, "Import ") || StartsWith(key, "Export ") ||
         StartsWith(key, "Route ");
}

struct DetailState {
  std::size_t tree_indent = kNoTree;  // Inside "Local capabilities" and the like.
};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// The first `n` bytes of `s` (at least n long) are blanks. A tree's indent is a few spaces: one
// 8-byte word holds it (little-endian; tabs and deeper indents go byte by byte).
bool StartsWithBlanks(std::string_view s, std::size_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    if (n <= 8 && s.size() >= 8) {
      std::uint64_t word;
      std::memcpy(&word, s.data(), sizeof word);
      const std::uint64_t mask = n == 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * n)) - 1;
      if (((word ^ 0x2020202020202020) & mask) == 0) {
        return true;
      }
    }
  }
  return std::all_of(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n), IsBlank);
}

// Inside a tree (half the lines of an Established session's block): a line indented deeper
// than the tree's key that does not end in a blank belongs to it, told by its indent alone,
// without trimming it. Other lines take the long way (ParseDetail).
bool DeeperInTree(std::string_view text, const DetailState& ds) {
  if (ds.tree_indent == kNoTree) {
    return false;
  }
  const std::size_t deeper = ds.tree_indent + 1;
  return text.size() > deeper && !IsBlank(text.back()) && text.back() != '\r' &&
         StartsWithBlanks(text, deeper);
}

// A detail line's value into `p`, by its key; false when the line does not read as that key's
// (it is then counted unparsed). `value` is trimmed only for the keys read here.
bool ReadDetail(DetailKey kind, std::string_view key, bool has_colon, std::string_view value,
                Protocol* p) {
  switch (kind) {
    case DetailKey::kBgpState:
      p->bgp_state = value;
      return true;
    case DetailKey::kNeighborAddress:
      p->neighbor_address = value;
      return true;
    case DetailKey::kNeighborAs:
      p->neighbor_as = ParseNumber<std::uint32_t>(value);
      return p->neighbor_as.has_value();
    case DetailKey::kLocalAs:
      p->local_as = ParseNumber<std::uint32_t>(value);
      return p->local_as.has_value();
    case DetailKey::kSourceAddress:
      p->source_address = value;
      return true;
    case DetailKey::kNeighborId:
      p->neighbor_id = value;
      return true;
    case DetailKey::kSession:
      p->session = value;
      return true;
    case DetailKey::kHoldTimer:
      p->hold_time = ParseTimerLimit(value);
      return p->hold_time.has_value();
    case DetailKey::kKeepaliveTimer:
      p->keepalive_time = ParseTimerLimit(value);
      return p->keepalive_time.has_value();
    case DetailKey::kLastError:
      p->last_error = value;
      return true;
    case DetailKey::kRoutes:
      return ParseRoutes(value, &p->routes);
    case DetailKey::kTxPending:
      return ParseTxPending(value, p);
    case DetailKey::kCapabilities:  // A tree: ParseDetail keeps its indent.
    case DetailKey::kKnown:
      return true;
    case DetailKey::kUnknown:
      if (!has_colon && StartsWith(key, "Pending ")) {
        return ParsePendingAttributeSets(key, p);
      }
      return IsKnownDetailPrefix(key);
  }
  return false;
}

void ParseDetail(std::string_view text, Protocol* p, DetailState* ds, Unparsed* unparsed) {
  if (DeeperInTree(text, *ds)) {
    return;
  }
  const std::size_t indent = LeadingBlanks(text);
  // The line after its indent. Only blanks and a '\r' can follow its last character: the key
  // and the value are trimmed on their right, the line as a whole is not.
  const std::string_view content = text.substr(indent);
  if (content.empty() || (content.front() == '\r' && TrimRight(content).empty())) {
    ds->tree_indent = kNoTree;  // The line of one space that ends a block.
    return;
  }
  if (ds->tree_indent != kNoTree) {
    if (indent > ds->tree_indent) {
      return;
    }
    ds->tree_indent = kNoTree;
  }
  const std::size_t colon = FindByte(content, ':');
  const bool has_colon = colon != std::string_view::npos;
  const std::string_view key = TrimRight(content.substr(0, colon));
  const DetailKey kind = LookupDetailKey(key);
  if (kind == DetailKey::kCapabilities) {
    ds->tree_indent = indent;
  }
  // ReadDetail's cases that read a value (kUnknown reads the key).
  const bool read = has_colon && kind != DetailKey::kKnown && kind != DetailKey::kCapabilities &&
                    kind != DetailKey::kUnknown;
  const std::string_view value = read ? Trim(content.substr(colon + 1)) : std::string_view();
  if (!ReadDetail(kind, key, has_colon, value, p)) {
    unparsed->Add(text);
  }
}

// The column order of the 2002 heading: "name proto table state since info" (1.6) or
// "Name Proto Table State Since Info" (2.x, 3.x). A missing column is tolerated.
struct Columns {
  bool has_table = true;
};

bool ParseHeading(std::string_view text, Columns* cols) {
  std::string_view rest = text;
  std::array<std::string_view, 6> expected = {"name", "proto", "table", "state", "since", "info"};
  bool table_seen = false;
  std::size_t matched = 0;
  for (std::string_view tok = NextToken(&rest); !tok.empty(); tok = NextToken(&rest)) {
    std::string lower(tok);
    for (char& c : lower) {
      c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    if (lower == "table") {
      table_seen = true;
    }
    for (std::string_view e : expected) {
      matched += lower == e ? 1 : 0;
    }
  }
  cols->has_table = table_seen;
  return matched >= 4;
}

bool ParseRow(std::string_view text, const Columns& cols, Protocol* p) {
  std::string_view rest = text;
  p->name = NextToken(&rest);
  p->proto = NextToken(&rest);
  if (cols.has_table) {
    p->table = NextToken(&rest);
  }
  p->state = NextToken(&rest);
  const std::string_view since_token = NextToken(&rest);
  if (p->name.empty() || p->proto.empty() || p->state.empty() || since_token.empty()) {
    return false;
  }
  std::string_view since_text = since_token;
  p->since = ParseBirdTime(since_token);
  if (p->since && p->since->kind == BirdTime::Kind::kDate) {
    // `timeformat protocol iso long`: "2026-11-26 06:47:44" is two tokens.
    std::string_view after = rest;
    const std::string_view time_token = NextToken(&after);
    if (!time_token.empty()) {
      const std::size_t len =
          static_cast<std::size_t>(time_token.data() + time_token.size() - since_token.data());
      const std::string_view both(since_token.data(), len);
      if (auto dt = ParseBirdTime(both); dt && dt->kind == BirdTime::Kind::kDateTime) {
        p->since = dt;
        since_text = both;
        rest = after;
      }
    }
  }
  p->since_text = since_text;
  p->info = Trim(rest);
  if (p->is_bgp()) {
    if (p->state == "down") {
      // A down protocol prints only its last error, without a BGP state.
      p->bgp_state = "Down";
      p->last_error = p->info;
    } else {
      std::string_view info = p->info;
      p->bgp_state = NextToken(&info);
      p->last_error = Trim(info);
    }
  }
  return true;
}

// Empties `p` for the next row, but keeps the buffers of its long texts: the rows of a reply
// reuse them instead of allocating every info, session and error text past 15 bytes again.
void ResetKeepingBuffers(Protocol* p) {
  static constexpr std::string Protocol::*kStrings[] = {&Protocol::info, &Protocol::session,
                                                        &Protocol::last_error};
  Protocol next;
  for (std::string Protocol::*field : kStrings) {
    (p->*field).clear();
    (next.*field).swap(p->*field);
  }
  *p = std::move(next);
}

std::string ErrorReply(int code, std::string_view text) {
  std::string code_text = std::to_string(code);
  code_text.insert(0, 4 - std::min<std::size_t>(4, code_text.size()), '0');
  return "BIRD answered " + code_text + " " + std::string(text);
}

}  // namespace

void Unparsed::Add(std::string_view line) {
  if (lines++ == 0) {
    first = line;
  }
}

PeerType PeerTypeFromName(std::string_view name) {
  if (StartsWith(name, "Mesh_")) {
    return PeerType::kNodeMesh;
  }
  if (StartsWith(name, "Node_")) {
    return PeerType::kNodeSpecific;
  }
  if (StartsWith(name, "Global_")) {
    return PeerType::kGlobal;
  }
  return PeerType::kOther;
}

std::string_view PeerTypeName(PeerType type) {
  switch (type) {
    case PeerType::kNodeMesh:
      return "node_mesh";
    case PeerType::kNodeSpecific:
      return "node_specific";
    case PeerType::kGlobal:
      return "global";
    case PeerType::kOther:
      return "other";
  }
  return "other";
}

std::string_view SessionKind(const Protocol& p) {
  if (StartsWith(p.session, "internal")) {
    return "ibgp";
  }
  if (StartsWith(p.session, "external")) {
    return "ebgp";
  }
  if (p.neighbor_as && p.local_as) {
    return *p.neighbor_as == *p.local_as ? "ibgp" : "ebgp";
  }
  return "";
}

struct ShowProtocolsParser::State {
  Protocols out;
  ProtocolSink sink;  // Empty: the protocols go to out.protocols.
  Columns cols;
  DetailState ds;
  Protocol current;  // The protocol whose detail lines are being read.
  bool have_current = false;
  std::optional<Error> error;  // An error reply (8xxx/9xxx): the rest is ignored.

  // The current protocol is complete: its row and all its detail lines were read.
  void HandOutCurrent() {
    if (!have_current) {
      return;
    }
    have_current = false;
    if (sink) {
      sink(std::move(current));
    } else {
      out.protocols.push_back(std::move(current));
    }
  }
};

ShowProtocolsParser::ShowProtocolsParser(std::size_t expected_protocols)
    : s_(std::make_unique<State>()) {
  s_->out.protocols.reserve(expected_protocols);
}

ShowProtocolsParser::ShowProtocolsParser(ProtocolSink sink) : s_(std::make_unique<State>()) {
  s_->sink = std::move(sink);
}

ShowProtocolsParser::~ShowProtocolsParser() = default;

void ShowProtocolsParser::Add(const ReplyLine& line) {
  State& s = *s_;
  if (s.error) {
    return;
  }
  switch (line.code) {
    case 2002:
      if (!ParseHeading(line.text, &s.cols)) {
        s.out.unparsed.Add(line.text);
      }
      break;
    case 1002: {
      s.HandOutCurrent();
      ResetKeepingBuffers(&s.current);  // Handed out (moved from), or a row that did not parse.
      if (ParseRow(line.text, s.cols, &s.current)) {
        if (!s.current.since) {
          s.out.unparsed.Add(line.text);  // A time format we do not know: keep the row.
        }
        s.have_current = true;
        s.ds = DetailState();
      } else {
        s.out.unparsed.Add(line.text);
      }
      break;
    }
    case 1006:
      if (s.have_current) {
        ParseDetail(line.text, &s.current, &s.ds, &s.out.unparsed);
      } else if (!Trim(line.text).empty()) {
        s.out.unparsed.Add(line.text);
      }
      break;
    case 0:
      break;
    default:
      if (IsErrorCode(line.code)) {
        s.error = Error{ErrorReply(line.code, line.text)};
        return;
      }
      s.out.unparsed.Add(line.text);
  }
}

Result<Protocols> ShowProtocolsParser::Finish() {
  if (s_->error) {
    return *s_->error;
  }
  s_->HandOutCurrent();
  return std::move(s_->out);
}

Result<Protocols> ParseShowProtocols(std::string_view reply) {
  // The number of protocols, so their vector is allocated once.
  std::size_t rows = 0;
  for (std::size_t at = reply.find("1002-"); at != std::string_view::npos;
       at = reply.find("\n1002-", at + 1)) {
    ++rows;
  }
  ShowProtocolsParser parser(rows);
  if (auto framed = ForEachReplyLine(reply, [&](const ReplyLine& line) { parser.Add(line); });
      !framed) {
    return framed.error();
  }
  return parser.Finish();
}

namespace {

// One line of `show status` (the last one excluded) into `st`.
void AddStatusLine(const ReplyLine& line, Status* st) {
  const std::string_view text = Trim(line.text);
  if (line.code == 1000 && line.kind != LineKind::kContinuation) {
    st->version = StartsWith(text, "BIRD ") ? text.substr(5) : text;
  } else if (StartsWith(text, "Router ID is ")) {
    st->router_id = text.substr(13);
  } else if (StartsWith(text, "Hostname is ")) {
    st->hostname = text.substr(12);
  } else if (StartsWith(text, "Current server time is ")) {
    st->server_time = ParseBirdTime(text.substr(23));
    if (!st->server_time) {
      st->unparsed.Add(line.text);
    }
  } else if (StartsWith(text, "Last reboot on ")) {
    st->last_reboot_text = text.substr(15);
    st->last_reboot = ParseBirdTime(st->last_reboot_text);
    if (!st->last_reboot) {
      st->unparsed.Add(line.text);
    }
  } else if (StartsWith(text, "Last reconfiguration on ")) {
    st->last_reconfiguration_text = text.substr(24);
    st->last_reconfiguration = ParseBirdTime(st->last_reconfiguration_text);
    if (!st->last_reconfiguration) {
      st->unparsed.Add(line.text);
    }
  } else if (StartsWith(text, "Graceful restart recovery in progress")) {
    st->graceful_restart_recovery = true;
  } else if (StartsWith(text, "Waiting for ") || StartsWith(text, "Wait timer is ")) {
    // Details of the graceful restart recovery.
  } else {
    st->unparsed.Add(line.text);
  }
}

}  // namespace

Result<Status> ParseShowStatus(std::string_view reply) {
  Status st;
  std::optional<Error> error_reply;
  auto framed = ForEachReplyLine(reply, [&](const ReplyLine& line) {
    if (error_reply) {
      return;
    }
    if (IsErrorCode(line.code)) {
      error_reply = Error{ErrorReply(line.code, line.text)};
    } else if (line.kind == LineKind::kLast) {
      st.daemon_message = Trim(line.text);
      st.daemon_up = line.code == kCodeDaemonUp;
    } else {
      AddStatusLine(line, &st);
    }
  });
  if (error_reply) {
    return *error_reply;
  }
  if (!framed) {
    return framed.error();
  }
  if (st.version.empty()) {
    return Error{"show status: no version line (1000)"};
  }
  return st;
}

}  // namespace cbe::bird
