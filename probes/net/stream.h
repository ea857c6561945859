#pragma once

// A thin byte-stream layer so the BIRD client can be tested with fakes.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "exporter/base/clock.h"
#include "exporter/base/result.h"

namespace cbe::net {

using Deadline = std::chrono::steady_clock::time_point;

class Stream {
 public:
  virtual ~Stream() = default;
  // Writes all of `data` before `deadline`.
  virtual Result<bool> WriteAll(std::string_view data, Deadline deadline) = 0;
  // Reads what is available (at most `size` bytes), waiting until `deadline`. 0 means EOF.
  virtual Result<std::size_t> Read(char* buffer, std::size_t size, Deadline deadline) = 0;
};

class StreamConnector {
 public:
  virtual ~StreamConnector() = default;
  virtual Result<std::unique_ptr<Stream>> Connect(const std::string& address,
                                                  Deadline deadline) = 0;
};

// Unix stream sockets (the BIRD control socket). Every wait goes through `clock` (Clock::Poll),
// which must outlive the connector and its streams.
class UnixStreamConnector final : public StreamConnector {
 public:
  explicit UnixStreamConnector(const Clock* clock) : clock_(clock) {}
  Result<std::unique_ptr<Stream>> Connect(const std::string& path, Deadline deadline) override;

 private:
  const Clock* clock_;
};

}  // namespace cbe::net
