// bird::Client against a scripted BIRD whose bytes and read sizes come from the input: the
// greeting, the answer to `restrict` and the replies of two commands, each delivered in chunks.
// Covers the reassembly loop above the framing: the size cap, bytes after a reply, EOF in the
// middle of a reply, the reconnect after a dead connection, and two commands sent in one write
// (QueryLinesThen), whose replies may arrive in one piece.
//
// Input: 1 byte chunk size, 1 byte cap selector, then records separated by "\n====\n".

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "probes/bird/client.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

class FuzzClock final : public cbe::Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1795650000));
  }
  std::chrono::steady_clock::time_point Monotonic() const override { return mono; }
  std::chrono::steady_clock::time_point mono{std::chrono::hours(1)};
};

struct Script {
  std::deque<std::string> answers;  // Greeting first, then one per written command.
  std::size_t chunk = 1;
  FuzzClock* clock = nullptr;
  int connects = 0;
};

class ScriptedStream final : public cbe::net::Stream {
 public:
  explicit ScriptedStream(Script* s) : s_(s) { Next(); }

  cbe::Result<bool> WriteAll(std::string_view data, cbe::net::Deadline) override {
    FUZZ_CHECK(!data.empty() && data.back() == '\n');
    for (char c : data) {
      if (c == '\n') {
        Next();  // One answer per command; pipelined commands come in one write.
      }
    }
    return true;
  }

  cbe::Result<std::size_t> Read(char* buffer, std::size_t size,
                                cbe::net::Deadline deadline) override {
    FUZZ_CHECK(size > 0);
    if (pending_.empty()) {
      if (s_->answers.empty()) {
        return std::size_t{0};  // EOF: BIRD went away.
      }
      s_->clock->mono = std::max(s_->clock->mono, deadline);
      return cbe::Error{"read: deadline exceeded"};
    }
    const std::size_t n = std::min({size, s_->chunk, pending_.size()});
    std::memcpy(buffer, pending_.data(), n);
    pending_.erase(0, n);
    return n;
  }

 private:
  void Next() {
    if (!s_->answers.empty()) {
      pending_ += s_->answers.front();
      s_->answers.pop_front();
    }
  }
  Script* s_;
  std::string pending_;
};

class ScriptedConnector final : public cbe::net::StreamConnector {
 public:
  explicit ScriptedConnector(Script* s) : s_(s) {}
  cbe::Result<std::unique_ptr<cbe::net::Stream>> Connect(const std::string&,
                                                         cbe::net::Deadline) override {
    if (++s_->connects > 3) {
      return cbe::Error{"connect: Connection refused"};
    }
    return std::unique_ptr<cbe::net::Stream>(std::make_unique<ScriptedStream>(s_));
  }

 private:
  Script* s_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  FuzzClock clock;
  Script script;
  script.clock = &clock;
  script.chunk = 1 + data[0] % 97;
  const std::size_t cap = data[1] < 128 ? 64u << 20 : 16 + data[1];
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  constexpr std::string_view kSeparator = "\n====\n";
  while (!rest.empty()) {
    const std::size_t sep = rest.find(kSeparator);
    if (sep == std::string_view::npos) {
      script.answers.emplace_back(rest);
      break;
    }
    script.answers.emplace_back(rest.substr(0, sep + 1));  // Keeps the record's '\n'.
    rest.remove_prefix(sep + kSeparator.size());
  }

  ScriptedConnector connector(&script);
  cbe::bird::Client client(
      cbe::bird::ClientOptions{"/run/bird/bird.ctl", std::chrono::milliseconds(100), cap},
      &connector, &clock);
  for (const char* command : {"show status", "show protocols all", "show status"}) {
    auto reply = client.Query(command);
    if (reply) {
      // A reply is whole (it ends with a complete last line) and no larger than the cap
      // (ClientOptions: "A reply larger than this is an error").
      FUZZ_CHECK(!reply->empty() && reply->back() == '\n');
      FUZZ_CHECK(reply->size() <= cap);
    } else {
      FUZZ_CHECK(!reply.error().message.empty());
    }
  }
  std::size_t lines = 0;
  auto both = client.QueryLinesThen(
      "show protocols all", [&](const cbe::bird::ReplyLine&) { ++lines; }, "show status");
  if (both) {
    // Both replies are whole, and the second no larger than the cap (that caps both).
    FUZZ_CHECK(lines > 0);
    FUZZ_CHECK(!both->empty() && both->back() == '\n');
    FUZZ_CHECK(both->size() <= cap);
  } else {
    const std::string& m = both.error().message;
    FUZZ_CHECK(m.rfind("show protocols all: ", 0) == 0 || m.rfind("show status: ", 0) == 0);
  }
  FUZZ_CHECK(!client.Query("configure").ok());  // Never sent: not read-only.
  return 0;
}
