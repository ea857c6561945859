// The BIRD reply framing has one machine, ReplyStream. Fed the same bytes in random pieces it
// must hand out exactly the lines ForEachReplyLine sees in the whole buffer, in order, and reach
// the same verdict. A stream told that another reply follows (pipelined commands) hands out the
// same lines and keeps exactly the bytes after the reply's last line.
//
// Input: 8 bytes seeding the piece sizes, then the bytes BIRD sends.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>

#include "probes/bird/framing.h"
#include "tests/fuzz/fuzz_check.h"

using cbe::bird::LineKind;
using cbe::bird::ReplyLine;
using cbe::bird::ReplyStream;

namespace {

// Checks one line's invariants and appends it to `out` as "code:text\n".
void Record(const ReplyLine& line, int* last_code, std::string* out) {
  FUZZ_CHECK(line.code >= 0 && line.code <= 9999);
  if (line.kind == LineKind::kContinuation) {
    FUZZ_CHECK(line.code == *last_code);
  }
  *last_code = line.code;
  *out += std::to_string(line.code) + ":" + std::string(line.text) + "\n";
}

// The reply held whole: its verdict and lines. Every text is a view into `bytes`.
struct Whole {
  cbe::Result<bool> verdict = cbe::Error{};
  std::string lines;
};

Whole ParseWhole(std::string_view bytes) {
  Whole w;
  int code = -1;
  bool last = false;
  w.verdict = cbe::bird::ForEachReplyLine(bytes, [&](const ReplyLine& line) {
    FUZZ_CHECK(line.text.empty() ||
               (line.text.data() >= bytes.data() &&
                line.text.data() + line.text.size() <= bytes.data() + bytes.size()));
    last = line.kind == LineKind::kLast;
    Record(line, &code, &w.lines);
  });
  FUZZ_CHECK(!w.verdict.ok() || last);
  (void)cbe::bird::FinalLineText(bytes);
  return w;
}

// What a stream made of the same bytes in pieces of 1..64 bytes (1 when the seed is 0), fed
// until it stopped asking for more, as the client reads them.
struct Fed {
  ReplyStream::Status status = ReplyStream::Status::kNeedMore;
  std::size_t at = 0;  // Bytes fed.
  std::string lines;
};

Fed FeedInPieces(std::string_view bytes, std::uint64_t seed, ReplyStream* stream) {
  std::mt19937_64 rng(seed);
  Fed f;
  int code = -1;
  while (f.at < bytes.size() && f.status == ReplyStream::Status::kNeedMore) {
    const std::size_t n = std::min(bytes.size() - f.at, seed == 0 ? 1 : 1 + rng() % 64);
    f.status = stream->Feed(bytes.substr(f.at, n),
                            [&](const ReplyLine& l) { Record(l, &code, &f.lines); });
    f.at += n;
  }
  FUZZ_CHECK(stream->status() == f.status);
  FUZZ_CHECK(stream->bytes() == f.at);
  return f;
}

// The stream in pieces reaches the whole buffer's verdict, with the same lines.
void CheckStreamed(std::string_view bytes, const Whole& whole, const Fed& fed,
                   const ReplyStream& stream) {
  FUZZ_CHECK(fed.lines == whole.lines);
  if (whole.verdict.ok()) {
    // Complete, and nothing after the last line: the pieces end exactly there too.
    FUZZ_CHECK(fed.status == ReplyStream::Status::kComplete);
    FUZZ_CHECK(fed.at == bytes.size());
    FUZZ_CHECK(!bytes.empty() && bytes.back() == '\n');
  } else if (fed.status == ReplyStream::Status::kMalformed && !stream.trailing_bytes()) {
    // A malformed line is found wherever the pieces split it, with the same message.
    FUZZ_CHECK(whole.verdict.error().message == "malformed reply: " + stream.error());
  } else if (fed.status == ReplyStream::Status::kNeedMore) {
    FUZZ_CHECK(whole.verdict.error().message == "reply ends before its last line");
  } else {
    // Complete in pieces, or bytes after the last line in the same piece: the whole buffer has
    // bytes after the reply's end.
    FUZZ_CHECK(whole.verdict.error().message == "unexpected bytes after the end of a reply");
  }
}

// A stream told that another reply follows hands out the same lines, and once complete keeps
// exactly the bytes after the reply's last line: the reply before them is complete on its own.
void CheckPipelined(std::string_view bytes, const Fed& streamed, const Fed& fed,
                    const ReplyStream& first) {
  FUZZ_CHECK(!first.trailing_bytes());
  if (fed.status != ReplyStream::Status::kComplete) {
    FUZZ_CHECK(first.rest().empty());
    FUZZ_CHECK(fed.lines == streamed.lines);
    return;
  }
  // The bytes the stream did not take: its rest, then the pieces not fed.
  const std::size_t after = first.rest().size() + (bytes.size() - fed.at);
  const std::size_t end = bytes.size() - after;  // Where the reply ended.
  FUZZ_CHECK(first.bytes() - first.rest().size() == end);
  FUZZ_CHECK(bytes.substr(end, first.rest().size()) == first.rest());
  FUZZ_CHECK(end > 0 && bytes[end - 1] == '\n');
  const Whole alone = ParseWhole(bytes.substr(0, end));
  FUZZ_CHECK(alone.verdict.ok());
  FUZZ_CHECK(alone.lines == fed.lines);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::uint64_t seed = 0;
  if (size >= sizeof(seed)) {
    std::memcpy(&seed, data, sizeof(seed));
    data += sizeof(seed);
    size -= sizeof(seed);
  }
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const Whole whole = ParseWhole(bytes);
  ReplyStream stream;
  const Fed streamed = FeedInPieces(bytes, seed, &stream);
  CheckStreamed(bytes, whole, streamed, stream);
  ReplyStream first(ReplyStream::After::kNextReply);
  const Fed pipelined = FeedInPieces(bytes, seed, &first);
  CheckPipelined(bytes, streamed, pipelined, first);
  return 0;
}
