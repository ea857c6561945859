// The BIRD reply framing: ReplyScanner fed the same bytes in random chunkings must agree with
// one scan of the whole buffer and with ReplyLineReader; ReplyStream fed the same chunks must
// hand out exactly ReplyLineReader's lines.
//
// Input: 8 bytes seeding the chunk sizes, then the bytes BIRD sends.

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
using cbe::bird::ReplyLineReader;
using cbe::bird::ReplyScanner;
using cbe::bird::ReplyStream;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::uint64_t seed = 0;
  if (size >= sizeof(seed)) {
    std::memcpy(&seed, data, sizeof(seed));
    data += sizeof(seed);
    size -= sizeof(seed);
  }
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  // One scan over everything.
  ReplyScanner whole;
  const ReplyScanner::Status whole_status = whole.Scan(bytes);

  // The same bytes as a growing buffer, in chunks of 1..64 bytes (or 1 when seed is 0).
  std::mt19937_64 rng(seed);
  ReplyScanner chunked;
  ReplyScanner::Status status = ReplyScanner::Status::kNeedMore;
  std::size_t end = 0;
  while (end < bytes.size()) {
    end = std::min(bytes.size(), end + (seed == 0 ? 1 : 1 + rng() % 64));
    status = chunked.Scan(bytes.substr(0, end));
    if (status != ReplyScanner::Status::kNeedMore) {
      break;
    }
  }
  if (bytes.empty()) {
    status = chunked.Scan(bytes);
  }
  FUZZ_CHECK(status == whole_status);
  if (status == ReplyScanner::Status::kComplete) {
    FUZZ_CHECK(chunked.reply_size() == whole.reply_size());
    FUZZ_CHECK(chunked.final_code() == whole.final_code());
    FUZZ_CHECK(whole.reply_size() > 0 && whole.reply_size() <= bytes.size());
    FUZZ_CHECK(bytes[whole.reply_size() - 1] == '\n');
    FUZZ_CHECK(whole.final_code() >= 0 && whole.final_code() <= 9999);
    // Scanning again after completion is stable.
    FUZZ_CHECK(chunked.Scan(bytes) == ReplyScanner::Status::kComplete);
  } else if (status == ReplyScanner::Status::kMalformed) {
    FUZZ_CHECK(!whole.error().empty());
    FUZZ_CHECK(chunked.error() == whole.error());
  }

  // ReplyLineReader sees the same lines and the same end of the reply.
  ReplyLineReader reader(bytes);
  ReplyLine line;
  int last_code = -1;
  std::size_t lines = 0;
  while (reader.Next(&line)) {
    ++lines;
    FUZZ_CHECK(line.code >= 0 && line.code <= 9999);
    if (line.kind == LineKind::kContinuation) {
      FUZZ_CHECK(line.code == last_code);
    }
    // The text is a view into the input.
    FUZZ_CHECK(line.text.empty() ||
               (line.text.data() >= bytes.data() &&
                line.text.data() + line.text.size() <= bytes.data() + bytes.size()));
    last_code = line.code;
    FUZZ_CHECK(reader.offset() <= bytes.size());
  }
  FUZZ_CHECK(reader.finished() == (whole_status == ReplyScanner::Status::kComplete));
  FUZZ_CHECK(!reader.error().empty() == (whole_status == ReplyScanner::Status::kMalformed));
  if (reader.finished()) {
    FUZZ_CHECK(reader.offset() == whole.reply_size());
    FUZZ_CHECK(line.kind == LineKind::kLast);
  }
  (void)cbe::bird::FinalLineText(bytes);

  // ReplyStream over the same chunking: the same lines, in order, and the same verdict (bytes
  // after the last line make it malformed, where the scanner stops at the reply's end).
  std::string expected;
  ReplyLineReader again(bytes);
  while (again.Next(&line)) {
    expected += std::to_string(line.code) + ":" + std::string(line.text) + "\n";
  }
  std::mt19937_64 rng2(seed);
  ReplyStream stream;
  std::string streamed;
  ReplyStream::Status sst = ReplyStream::Status::kNeedMore;
  std::size_t at = 0;
  while (at < bytes.size() && sst == ReplyStream::Status::kNeedMore) {
    const std::size_t n = std::min(bytes.size() - at, seed == 0 ? 1 : 1 + rng2() % 64);
    sst = stream.Feed(bytes.substr(at, n), [&](const ReplyLine& l) {
      streamed += std::to_string(l.code) + ":" + std::string(l.text) + "\n";
    });
    at += n;
  }
  if (whole_status == ReplyScanner::Status::kMalformed) {
    FUZZ_CHECK(sst == ReplyStream::Status::kMalformed);
    FUZZ_CHECK(stream.error() == whole.error());
  } else if (whole_status == ReplyScanner::Status::kComplete) {
    // Bytes after the last line count only when they came in the same piece (the client stops
    // reading at the end of a reply, as with ReplyScanner).
    FUZZ_CHECK(sst == ReplyStream::Status::kComplete ||
               (sst == ReplyStream::Status::kMalformed && whole.reply_size() < bytes.size() &&
                stream.error() == "unexpected bytes after the end of a reply"));
  } else {
    FUZZ_CHECK(sst == ReplyStream::Status::kNeedMore);
  }
  if (sst != ReplyStream::Status::kMalformed || whole_status == ReplyScanner::Status::kComplete) {
    FUZZ_CHECK(streamed == expected);
  }
  (void)lines;
  return 0;
}
