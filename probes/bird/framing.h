#pragma once

// The BIRD control-socket reply framing, below any table parsing.
//
// A reply is a sequence of '\n'-terminated lines:
//   "DDDD-text"  a line with code DDDD, more lines follow;
//   " text"      a continuation of the previous line's code;
//   "DDDD text"  the last line of the reply (a space after the code).
// Codes 8xxx are run-time errors and 9xxx syntax/parse errors.

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include "exporter/base/result.h"

namespace cbe::bird {

enum class LineKind { kMore, kContinuation, kLast };

struct ReplyLine {
  int code = 0;  // For a continuation: the code of the line it continues.
  LineKind kind = LineKind::kMore;
  std::string_view text;  // Without the code, separator and '\n'.
};

inline bool IsErrorCode(int code) { return code >= 8000; }

// ClassifyReplyLine's out-of-line part: a coded line, or what is malformed (a continuation
// reaches it only before any coded line).
bool ClassifyCodedLine(std::string_view raw, ReplyLine* line, std::string* error);

// Classifies one line (without its '\n') given the code of the line before (-1: none). Returns
// false with `error` set when the line is malformed. Continuations, most lines of `show
// protocols all`, are classified here, inline: the call was 7% of a round's instructions.
inline bool ClassifyReplyLine(std::string_view raw, int last_code, ReplyLine* line,
                              std::string* error) {
  if (!raw.empty() && raw[0] == ' ' && last_code >= 0) {
    line->code = last_code;
    line->kind = LineKind::kContinuation;
    line->text = raw.substr(1);
    return true;
  }
  return ClassifyCodedLine(raw, line, error);
}

// The one framing machine of the protocol. Splits a reply that arrives in pieces (one read()
// each) into its lines as they complete, keeping only the unfinished last line: a reply of many
// MB is never held whole. A reply held whole goes through the same machine (ForEachReplyLine).
class ReplyStream {
 public:
  enum class Status { kNeedMore, kComplete, kMalformed };
  // What may follow the reply's last line in the pieces: nothing (bytes there make the reply
  // malformed), or the reply to a command sent behind it on the same connection (kept, rest()).
  enum class After { kNothing, kNextReply };

  ReplyStream() = default;
  explicit ReplyStream(After after) : keep_rest_(after == After::kNextReply) {}

  // Feeds the next piece and calls on_line(const ReplyLine&) for each line it completes, in
  // order; line.text is valid during the call only. A malformed line makes the reply malformed
  // (error()); so do bytes after its last line, unless After::kNextReply keeps them (rest()).
  template <typename F>
  Status Feed(std::string_view piece, F&& on_line) {
    if (status_ != Status::kNeedMore) {
      return status_;
    }
    bytes_ += piece.size();
    if (!partial_.empty()) {
      const std::size_t nl = piece.find('\n');
      if (nl == std::string_view::npos) {
        partial_.append(piece);
        return status_;
      }
      partial_.append(piece.substr(0, nl));
      const std::string line = std::move(partial_);
      partial_.clear();
      if (!Line(line, on_line)) {
        if (status_ == Status::kComplete && nl + 1 < piece.size()) {
          Trailing(piece.substr(nl + 1));
        }
        return status_;
      }
      piece.remove_prefix(nl + 1);
    }
    // Pointers, not views: one memchr per line and no bounds checks (a line is ~35 bytes; the
    // checks of find() and substr() cost a third as much as the search).
    const char* at = piece.data();
    const char* const end = at + piece.size();
    while (at != end) {
      const auto* nl =
          static_cast<const char*>(std::memchr(at, '\n', static_cast<std::size_t>(end - at)));
      if (nl == nullptr) {
        partial_.assign(at, static_cast<std::size_t>(end - at));
        break;
      }
      if (!Line(std::string_view(at, static_cast<std::size_t>(nl - at)), on_line)) {
        if (status_ == Status::kComplete && nl + 1 != end) {
          Trailing(std::string_view(nl + 1, static_cast<std::size_t>(end - nl - 1)));
        }
        return status_;
      }
      at = nl + 1;
    }
    return status_;
  }

  Status status() const { return status_; }
  std::size_t bytes() const { return bytes_; }         // Fed so far.
  const std::string& error() const { return error_; }  // Valid when kMalformed.
  // Malformed because bytes followed the last line (not because of a malformed line).
  bool trailing_bytes() const { return trailing_; }
  // With After::kNextReply, once complete: the bytes of the last piece after the last line.
  std::string_view rest() const { return rest_; }

 private:
  // One complete line; false once the reply ended or went wrong.
  template <typename F>
  bool Line(std::string_view raw, F& on_line) {
    ReplyLine line;
    if (!ClassifyReplyLine(raw, last_code_, &line, &error_)) {
      status_ = Status::kMalformed;
      return false;
    }
    last_code_ = line.code;
    on_line(static_cast<const ReplyLine&>(line));
    if (line.kind == LineKind::kLast) {
      status_ = Status::kComplete;
      return false;
    }
    return true;
  }
  void Trailing(std::string_view bytes) {
    if (keep_rest_) {
      rest_.assign(bytes);
      return;
    }
    error_ = "unexpected bytes after the end of a reply";
    trailing_ = true;
    status_ = Status::kMalformed;
  }

  Status status_ = Status::kNeedMore;
  std::string partial_;  // The unfinished last line, without its '\n' (not yet received).
  int last_code_ = -1;
  std::size_t bytes_ = 0;
  std::string error_;
  bool trailing_ = false;
  bool keep_rest_ = false;
  std::string rest_;
};

// Frames a reply held whole in one buffer with ReplyStream: on_line(const ReplyLine&) sees each
// line in order, and line.text is a view into `reply` (one piece never splits a line). An error
// for a malformed line, a reply that ends before its last line, or bytes after it.
template <typename F>
Result<bool> ForEachReplyLine(std::string_view reply, F&& on_line) {
  ReplyStream stream;
  switch (stream.Feed(reply, on_line)) {
    case ReplyStream::Status::kComplete:
      return true;
    case ReplyStream::Status::kMalformed:
      return Error{stream.trailing_bytes() ? stream.error() : "malformed reply: " + stream.error()};
    case ReplyStream::Status::kNeedMore:
      break;
  }
  return Error{"reply ends before its last line"};
}

// The text of the last line of a reply, e.g. "No protocols match" for 8003; the text of the last
// well-formed line when the reply is cut or malformed (for error messages).
std::string FinalLineText(std::string_view reply);

}  // namespace cbe::bird
