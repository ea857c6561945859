#pragma once

// A scripted stand-in for BIRD's control socket: answers each written command with the next
// canned reply, delivered in chunks of a chosen size, so partial reads are exercised.

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "exporter/base/clock.h"
#include "probes/net/stream.h"

namespace cbe::testing {

class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return wall; }
  std::chrono::steady_clock::time_point Monotonic() const override { return mono; }
  void Advance(std::chrono::milliseconds d) {
    wall += d;
    mono += d;
  }
  std::chrono::system_clock::time_point wall{std::chrono::seconds(1795650000)};
  std::chrono::steady_clock::time_point mono{std::chrono::hours(1)};
};

struct FakeBird {
  std::string greeting = "0001 BIRD 1.6.8 ready.\n";
  std::string restrict_reply = "0016 Access restricted\n";
  // The answer to `timeformat ...` (BIRD >= 2.16 takes it with an empty 0000 line).
  std::string timeformat_reply = "0000 \n";
  std::deque<std::string> replies;   // One per command after `restrict`.
  std::size_t chunk = 7;             // Bytes per read().
  std::vector<std::string> written;  // Every command received, across connections.
  int connects = 0;
  bool refuse_connect = false;
  bool close_after_reply = false;  // The connection dies once the next reply is sent.
  // Reads that find no data: the stream reports the deadline passed and advances the clock.
  FakeClock* clock = nullptr;
};

class FakeStream final : public net::Stream {
 public:
  explicit FakeStream(FakeBird* bird) : bird_(bird) { pending_ = bird->greeting; }

  Result<bool> WriteAll(std::string_view data, net::Deadline /*deadline*/) override {
    if (dead_) {
      return Error{"write: Broken pipe"};
    }
    // One command per line: a client may send several in one write (pipelining).
    while (!data.empty()) {
      const std::size_t nl = data.find('\n');
      Command(std::string(data.substr(0, nl)));
      data.remove_prefix(nl == std::string_view::npos ? data.size() : nl + 1);
    }
    return true;
  }

  Result<std::size_t> Read(char* buffer, std::size_t size, net::Deadline deadline) override {
    if (pending_.empty()) {
      if (dead_) {
        return std::size_t{0};
      }
      if (bird_->clock != nullptr) {
        bird_->clock->mono = std::max(bird_->clock->mono, deadline);
      }
      return Error{"read: deadline exceeded"};
    }
    const std::size_t n = std::min({size, bird_->chunk, pending_.size()});
    std::memcpy(buffer, pending_.data(), n);
    pending_.erase(0, n);
    if (pending_.empty() && die_when_drained_) {
      dead_ = true;  // BIRD exits once this reply is out.
    }
    return n;
  }

 private:
  void Command(const std::string& cmd) {
    bird_->written.push_back(cmd);
    if (cmd == "restrict") {
      pending_ += bird_->restrict_reply;
    } else if (cmd.rfind("timeformat ", 0) == 0) {
      pending_ += bird_->timeformat_reply;
    } else {
      if (!bird_->replies.empty()) {
        pending_ += bird_->replies.front();
        bird_->replies.pop_front();
      }
      if (bird_->close_after_reply) {
        bird_->close_after_reply = false;
        die_when_drained_ = true;
      }
    }
  }

  FakeBird* bird_;
  std::string pending_;
  bool die_when_drained_ = false;
  bool dead_ = false;
};

class FakeConnector final : public net::StreamConnector {
 public:
  explicit FakeConnector(FakeBird* bird) : bird_(bird) {}
  Result<std::unique_ptr<net::Stream>> Connect(const std::string& path,
                                               net::Deadline /*deadline*/) override {
    if (bird_->refuse_connect) {
      return Error{"connect " + path + ": Connection refused"};
    }
    ++bird_->connects;
    return std::unique_ptr<net::Stream>(std::make_unique<FakeStream>(bird_));
  }

 private:
  FakeBird* bird_;
};

}  // namespace cbe::testing
