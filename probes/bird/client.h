#pragma once

// A client of BIRD's control socket. It sends `restrict` right after the greeting, so BIRD
// refuses any command that would change it, and it only ever sends `show` commands itself. On
// BIRD >= 2.16 it then asks, for this connection only, for every time as Unix time
// (`timeformat "%s.%3f"`): exact state-change times whatever the config's time format.

#include <chrono>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "exporter/base/clock.h"
#include "exporter/base/result.h"
#include "probes/bird/framing.h"
#include "probes/net/stream.h"

namespace cbe::bird {

struct ClientOptions {
  std::string socket_path;
  std::chrono::milliseconds timeout{2000};  // Connect, and each command's reply.
  std::size_t max_reply_bytes = 64 << 20;   // A reply larger than this is an error.
};

// True for the read-only commands the client will send ("show ...").
bool IsReadOnlyCommand(std::string_view command);

// True for BIRD versions (from the greeting) whose CLI takes `timeformat`: 2.16 and later.
// False for Calico's fork ("v0.3.3+birdv1.6.8") and anything unparsable.
bool SupportsCliTimeformat(std::string_view version);

class Client {
 public:
  Client(ClientOptions options, net::StreamConnector* connector, const Clock* clock);

  // Sends one command and returns its complete reply. Connects first when needed (and again
  // after any failure, e.g. a BIRD restart). An error reply (8xxx/9xxx) is a reply, not an
  // error of the client: the parsers judge it.
  Result<std::string> Query(std::string_view command);

  // The same, but hands each line of the reply to on_line as it arrives instead of keeping the
  // reply (a large `show protocols all`: parsed while BIRD still writes it, never held whole).
  // Returns the reply's size. on_line's line.text is valid during the call only.
  Result<std::size_t> QueryLines(std::string_view command,
                                 const std::function<void(const ReplyLine&)>& on_line);

  // Two commands sent in one write: `first`'s reply is handed to on_line line by line, as
  // QueryLines does, then `second`'s reply is returned whole. BIRD runs a connection's commands
  // in order and takes the second only once the first's reply is written, so the second reply
  // describes a moment after every line of the first. Together they save a round trip. Errors
  // start with the command they belong to ("show status: ..."). max_reply_bytes caps both
  // replies together.
  Result<std::string> QueryLinesThen(std::string_view first,
                                     const std::function<void(const ReplyLine&)>& on_line,
                                     std::string_view second);

  // BIRD's version from the greeting ("1.6.8", "v0.3.3+birdv1.6.8", "2.0.12").
  const std::string& greeting_version() const { return greeting_version_; }
  // BIRD took `timeformat` on this connection: its times are Unix times.
  bool unix_times() const { return unix_times_; }
  // Why a BIRD that should take `timeformat` did not ("" otherwise).
  const std::string& unix_times_error() const { return unix_times_error_; }
  bool connected() const { return stream_ != nullptr; }
  void Disconnect() { stream_.reset(); }
  const ClientOptions& options() const { return options_; }

 private:
  // Connects and runs the steps below in order; any failure closes the connection.
  Result<bool> Connect();
  Result<bool> ReadGreeting(net::Deadline deadline);
  Result<bool> Restrict(net::Deadline deadline);
  Result<bool> AskUnixTimes(net::Deadline deadline);
  // One command of the connection's setup (restrict, timeformat) and its whole reply.
  Result<std::string> Command(std::string_view command, net::Deadline deadline);
  Result<std::string> ReadReply(net::Deadline deadline, std::size_t expected_size,
                                std::size_t* received = nullptr);
  // Sends read-only commands in one write and reads their replies with read(deadline,
  // &received), connecting first when needed. A kept connection that fails (BIRD restarted) gets
  // one retry on a new one, unless bytes of a reply had arrived and !retry_after_bytes.
  Result<std::size_t> Exchange(
      std::initializer_list<std::string_view> commands, bool retry_after_bytes,
      const std::function<Result<std::size_t>(net::Deadline, std::size_t*)>& read);
  // Reads one reply piece by piece into feed(piece) -> complete?, counting `received` bytes
  // against the cap.
  Result<std::size_t> ReadPieces(net::Deadline deadline, std::size_t* received,
                                 const std::function<Result<bool>(std::string_view)>& feed);
  net::Deadline NewDeadline() const;

  ClientOptions options_;
  net::StreamConnector* connector_;
  const Clock* clock_;
  std::unique_ptr<net::Stream> stream_;
  std::string greeting_version_;
  bool unix_times_ = false;
  std::string unix_times_error_;
  // The size of each command's last reply, so the next buffer is allocated once, not grown.
  std::map<std::string, std::size_t, std::less<>> reply_sizes_;
};

}  // namespace cbe::bird
