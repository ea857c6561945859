// The BIRD reply framing has one machine, ReplyStream. Fed the same bytes in random pieces it
// must hand out exactly the lines ForEachReplyLine sees in the whole buffer, in order, and reach
// the same verdict. A stream told that another reply follows (pipelined commands) hands out the
// same lines and keeps exactly the bytes after the reply's last line.
//
// Input: 8 bytes seeding the piece sizes, then the bytes BIRD sends.

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::uint64_t seed = 0;
  if (size >= sizeof(seed)) {
    std::memcpy(&seed, data, sizeof(seed));
    data += sizeof(seed);
    size -= sizeof(seed);
  }
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  // The whole buffer at once: every text is a view into it.
  std::string whole_lines;
  int whole_code = -1;
  bool whole_last = false;
  auto whole = cbe::bird::ForEachReplyLine(bytes, [&](const ReplyLine& line) {
    FUZZ_CHECK(line.text.empty() ||
               (line.text.data() >= bytes.data() &&
                line.text.data() + line.text.size() <= bytes.data() + bytes.size()));
    whole_last = line.kind == LineKind::kLast;
    Record(line, &whole_code, &whole_lines);
  });
  FUZZ_CHECK(!whole.ok() || whole_last);
  (void)cbe::bird::FinalLineText(bytes);

  // The same bytes in pieces of 1..64 bytes (1 when the seed is 0), as the client reads them.
  std::mt19937_64 rng(seed);
  ReplyStream stream;
  std::string streamed;
  int streamed_code = -1;
  ReplyStream::Status st = ReplyStream::Status::kNeedMore;
  std::size_t at = 0;
  while (at < bytes.size() && st == ReplyStream::Status::kNeedMore) {
    const std::size_t n = std::min(bytes.size() - at, seed == 0 ? 1 : 1 + rng() % 64);
    st = stream.Feed(bytes.substr(at, n),
                     [&](const ReplyLine& l) { Record(l, &streamed_code, &streamed); });
    at += n;
  }
  FUZZ_CHECK(stream.status() == st);
  FUZZ_CHECK(stream.bytes() == at);
  if (whole.ok()) {
    // Complete, and nothing after the last line: the pieces end exactly there too.
    FUZZ_CHECK(st == ReplyStream::Status::kComplete);
    FUZZ_CHECK(at == bytes.size());
    FUZZ_CHECK(streamed == whole_lines);
    FUZZ_CHECK(!bytes.empty() && bytes.back() == '\n');
  } else if (st == ReplyStream::Status::kMalformed && !stream.trailing_bytes()) {
    // A malformed line is found wherever the pieces split it, with the same message.
    FUZZ_CHECK(streamed == whole_lines);
    FUZZ_CHECK(whole.error().message == "malformed reply: " + stream.error());
  } else if (st == ReplyStream::Status::kNeedMore) {
    FUZZ_CHECK(streamed == whole_lines);
    FUZZ_CHECK(whole.error().message == "reply ends before its last line");
  } else {
    // Complete in pieces, or bytes after the last line in the same piece: the whole buffer has
    // bytes after the reply's end; the lines up to it agree.
    FUZZ_CHECK(whole.error().message == "unexpected bytes after the end of a reply");
    FUZZ_CHECK(streamed == whole_lines);
  }

  // Pipelined: the same pieces into a stream that keeps what follows the reply's last line.
  ReplyStream first(ReplyStream::After::kNextReply);
  std::string first_lines;
  int first_code = -1;
  std::string after;  // The bytes the stream did not take: its rest, then the unread pieces.
  at = 0;
  std::mt19937_64 rng2(seed);
  st = ReplyStream::Status::kNeedMore;
  while (at < bytes.size() && st == ReplyStream::Status::kNeedMore) {
    const std::size_t n = std::min(bytes.size() - at, seed == 0 ? 1 : 1 + rng2() % 64);
    st = first.Feed(bytes.substr(at, n),
                    [&](const ReplyLine& l) { Record(l, &first_code, &first_lines); });
    at += n;
  }
  FUZZ_CHECK(!first.trailing_bytes());
  if (st == ReplyStream::Status::kComplete) {
    after = std::string(first.rest()) + std::string(bytes.substr(at));
    const std::size_t end = bytes.size() - after.size();  // Where the reply ended.
    FUZZ_CHECK(first.bytes() - first.rest().size() == end);
    FUZZ_CHECK(end > 0 && bytes[end - 1] == '\n');
    // The reply alone, held whole, is complete and has these lines.
    std::string alone;
    int alone_code = -1;
    FUZZ_CHECK(cbe::bird::ForEachReplyLine(bytes.substr(0, end), [&](const ReplyLine& l) {
                 Record(l, &alone_code, &alone);
               }).ok());
    FUZZ_CHECK(alone == first_lines);
  } else {
    FUZZ_CHECK(first.rest().empty());
    FUZZ_CHECK(first_lines == streamed);
  }
  return 0;
}
