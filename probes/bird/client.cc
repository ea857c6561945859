#include "probes/bird/client.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <functional>
#include <utility>

#include "probes/bird/bird_time.h"
#include "probes/bird/framing.h"

namespace cbe::bird {
namespace {

constexpr int kCodeGreeting = 1;
constexpr int kCodeRestricted = 16;
// BIRD 2.16 added the CLI command `timeformat` (a format for one connection); 3.x has it too.
constexpr int kFirstCliTimeformatMinor = 16;

// Feeds one piece of a reply: complete?, or why the reply is malformed.
template <typename F>
Result<bool> FeedStream(ReplyStream* stream, std::string_view piece, F&& on_line) {
  switch (stream->Feed(piece, on_line)) {
    case ReplyStream::Status::kNeedMore:
      return false;
    case ReplyStream::Status::kMalformed:
      return Error{stream->trailing_bytes() ? stream->error()
                                            : "malformed reply: " + stream->error()};
    case ReplyStream::Status::kComplete:
      break;
  }
  return true;
}

}  // namespace

bool IsReadOnlyCommand(std::string_view command) {
  if (command.find_first_of("\n\r;") != std::string_view::npos) {
    return false;
  }
  return command.substr(0, 5) == "show ";
}

Client::Client(ClientOptions options, net::StreamConnector* connector, const Clock* clock)
    : options_(std::move(options)), connector_(connector), clock_(clock) {}

net::Deadline Client::NewDeadline() const { return clock_->Monotonic() + options_.timeout; }

namespace {

// The code and text of a reply's first line (-1 when it has none).
std::pair<int, std::string_view> FirstLine(std::string_view reply) {
  std::pair<int, std::string_view> first{-1, {}};
  (void)ForEachReplyLine(reply, [&](const ReplyLine& line) {
    if (first.first < 0) {
      first = {line.code, line.text};
    }
  });
  return first;
}

}  // namespace

bool SupportsCliTimeformat(std::string_view version) {
  // Calico's fork names itself "v0.3.3+birdv1.6.8": BIRD 1.6 underneath.
  if (version.empty() || version.front() < '0' || version.front() > '9') {
    return false;
  }
  int major = 0;
  int minor = 0;
  const char* end = version.data() + version.size();
  auto [p, ec] = std::from_chars(version.data(), end, major);
  if (ec != std::errc() || p == end || *p != '.') {
    return false;
  }
  if (std::from_chars(p + 1, end, minor).ec != std::errc()) {
    return false;
  }
  return major > 2 || (major == 2 && minor >= kFirstCliTimeformatMinor);
}

Result<bool> Client::ReadGreeting(net::Deadline deadline) {
  auto greeting = ReadReply(deadline, 0);
  if (!greeting) {
    return Error{"greeting: " + greeting.error().message};
  }
  // "BIRD 1.6.8 ready." -> "1.6.8".
  auto [code, text] = FirstLine(*greeting);
  if (code != kCodeGreeting) {
    return Error{"unexpected greeting: \"" + FinalLineText(*greeting) + "\""};
  }
  if (text.substr(0, 5) == "BIRD ") {
    text.remove_prefix(5);
  }
  if (const auto sp = text.find(' '); sp != std::string_view::npos) {
    text = text.substr(0, sp);
  }
  greeting_version_ = text;
  return true;
}

Result<std::string> Client::Command(std::string_view command, net::Deadline deadline) {
  std::string line(command);
  line += '\n';
  if (auto w = stream_->WriteAll(line, deadline); !w) {
    return w.error();
  }
  return ReadReply(deadline, 0);
}

Result<bool> Client::Restrict(net::Deadline deadline) {
  auto restricted = Command("restrict", deadline);
  if (!restricted) {
    return Error{"restrict: " + restricted.error().message};
  }
  if (FirstLine(*restricted).first != kCodeRestricted) {
    return Error{"BIRD did not accept `restrict`: \"" + FinalLineText(*restricted) + "\""};
  }
  return true;
}

Result<bool> Client::AskUnixTimes(net::Deadline deadline) {
  unix_times_ = false;
  unix_times_error_.clear();
  if (!SupportsCliTimeformat(greeting_version_)) {
    return true;
  }
  const std::string command = "timeformat " + std::string(kUnixTimeFormat);
  auto reply = Command(command, deadline);
  if (!reply) {
    return Error{command + ": " + reply.error().message};
  }
  // BIRD answers "0000 " (no text) when it took the format.
  if (const int code = FirstLine(*reply).first; code != 0) {
    unix_times_error_ = "BIRD " + greeting_version_ + " refused `" + command + "`: \"" +
                        FinalLineText(*reply) + "\"";
    return true;
  }
  unix_times_ = true;
  return true;
}

Result<bool> Client::Connect() {
  stream_.reset();
  const net::Deadline deadline = NewDeadline();
  auto stream = connector_->Connect(options_.socket_path, deadline);
  if (!stream) {
    return stream.error();
  }
  stream_ = std::move(*stream);
  for (auto step : {&Client::ReadGreeting, &Client::Restrict, &Client::AskUnixTimes}) {
    if (auto done = (this->*step)(deadline); !done) {
      stream_.reset();
      return done.error();
    }
  }
  return true;
}

Result<std::size_t> Client::ReadPieces(net::Deadline deadline, std::size_t* received,
                                       const std::function<Result<bool>(std::string_view)>& feed) {
  // Reads into a fixed chunk: growing a buffer before each read() would zero-fill it.
  std::array<char, 64 * 1024> chunk;
  while (true) {
    // Never more than one byte past the cap: that byte is enough to know the reply is too big.
    const std::size_t room = options_.max_reply_bytes - *received;
    const std::size_t want = room < chunk.size() ? room + 1 : chunk.size();
    auto n = stream_->Read(chunk.data(), want, deadline);
    if (!n) {
      return n.error();
    }
    if (*n == 0) {
      return Error{*received == 0 ? "connection closed by BIRD"
                                  : "connection closed in the middle of a reply (" +
                                        std::to_string(*received) + " bytes received)"};
    }
    *received += *n;
    if (*received > options_.max_reply_bytes) {
      return Error{"reply larger than the cap of " + std::to_string(options_.max_reply_bytes) +
                   " bytes"};
    }
    auto complete = feed(std::string_view(chunk.data(), *n));
    if (!complete) {
      return complete.error();
    }
    if (*complete) {
      return *received;
    }
  }
}

Result<std::string> Client::ReadReply(net::Deadline deadline, std::size_t expected_size,
                                      std::size_t* received) {
  std::string buffer;
  buffer.reserve(std::min(expected_size + expected_size / 8 + 4096, options_.max_reply_bytes));
  ReplyStream stream;
  std::size_t bytes = 0;
  auto done = ReadPieces(deadline, received != nullptr ? received : &bytes,
                         [&](std::string_view piece) -> Result<bool> {
                           buffer.append(piece);
                           return FeedStream(&stream, piece, [](const ReplyLine&) {});
                         });
  if (!done) {
    return done.error();
  }
  return buffer;
}

Result<std::size_t> Client::Exchange(
    std::initializer_list<std::string_view> commands, bool retry_after_bytes,
    const std::function<Result<std::size_t>(net::Deadline, std::size_t*)>& read) {
  std::string text;
  for (const std::string_view command : commands) {
    if (!IsReadOnlyCommand(command)) {
      return Error{"refusing to send a command that is not a read-only `show` command: \"" +
                   std::string(command.substr(0, 40)) + "\""};
    }
    text.append(command);
    text += '\n';
  }
  // A kept connection may have died with a BIRD restart: then try once more on a new one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = stream_ != nullptr;
    if (!stream_) {
      if (auto c = Connect(); !c) {
        return c.error();
      }
    }
    const net::Deadline deadline = NewDeadline();
    std::size_t received = 0;
    auto w = stream_->WriteAll(text, deadline);
    Result<std::size_t> size = w ? read(deadline, &received) : Result<std::size_t>(w.error());
    if (size) {
      return size;
    }
    stream_.reset();  // The connection's state is unknown: start afresh.
    if (!reused || (received > 0 && !retry_after_bytes) || clock_->Monotonic() >= deadline) {
      return size;
    }
  }
  return Error{"unreachable"};
}

Result<std::size_t> Client::QueryLines(std::string_view command,
                                       const std::function<void(const ReplyLine&)>& on_line) {
  // Lines already handed out cannot be taken back: no retry once a byte of the reply came.
  return Exchange({command}, false, [&](net::Deadline deadline, std::size_t* received) {
    ReplyStream stream;
    return ReadPieces(deadline, received, [&](std::string_view piece) -> Result<bool> {
      return FeedStream(&stream, piece, on_line);
    });
  });
}

Result<std::string> Client::QueryLinesThen(std::string_view first,
                                           const std::function<void(const ReplyLine&)>& on_line,
                                           std::string_view second) {
  std::string second_reply;
  bool first_done = false;
  // As QueryLines: no retry once a byte of the first reply came.
  auto size = Exchange({first, second}, false, [&](net::Deadline deadline, std::size_t* received) {
    first_done = false;
    second_reply.clear();
    ReplyStream first_stream(ReplyStream::After::kNextReply);
    ReplyStream second_stream;
    return ReadPieces(deadline, received, [&](std::string_view piece) -> Result<bool> {
      if (!first_done) {
        auto complete = FeedStream(&first_stream, piece, on_line);
        if (!complete || !*complete) {
          return complete;
        }
        first_done = true;
        piece = first_stream.rest();  // The start of the second reply, if it came along.
        if (piece.empty()) {
          return false;
        }
      }
      second_reply.append(piece);
      return FeedStream(&second_stream, piece, [](const ReplyLine&) {});
    });
  });
  if (!size) {
    return Error{std::string(first_done ? second : first) + ": " + size.error().message};
  }
  return second_reply;
}

Result<std::string> Client::Query(std::string_view command) {
  std::string reply;
  std::size_t& expected = reply_sizes_[std::string(command)];
  auto size = Exchange({command}, true, [&](net::Deadline deadline, std::size_t* received) {
    auto r = ReadReply(deadline, expected, received);
    if (!r) {
      return Result<std::size_t>(r.error());
    }
    reply = std::move(*r);
    return Result<std::size_t>(reply.size());
  });
  if (!size) {
    return size.error();
  }
  expected = reply.size();
  return reply;
}

}  // namespace cbe::bird
