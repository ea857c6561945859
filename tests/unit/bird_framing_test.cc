#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "probes/bird/framing.h"
#include "tests/unit/fixtures.h"

namespace cbe::bird {
namespace {

struct Seen {
  std::vector<ReplyLine> lines;
  std::vector<std::string> texts;  // Copies: a streamed line's text is valid during the call only.
};

// The whole reply through ForEachReplyLine; `error` gets its error ("" when it framed).
Seen Lines(std::string_view reply, std::string* error = nullptr) {
  Seen seen;
  auto framed = ForEachReplyLine(reply, [&](const ReplyLine& line) {
    seen.lines.push_back(line);
    seen.texts.emplace_back(line.text);
  });
  if (error != nullptr) {
    *error = framed ? "" : framed.error().message;
  }
  return seen;
}

// The reply fed to one ReplyStream in pieces of `chunk` bytes; returns the status after each.
std::vector<ReplyStream::Status> Feed(ReplyStream* stream, std::string_view reply,
                                      std::size_t chunk, Seen* seen) {
  std::vector<ReplyStream::Status> statuses;
  for (std::size_t at = 0; at < reply.size(); at += chunk) {
    statuses.push_back(stream->Feed(reply.substr(at, chunk), [&](const ReplyLine& line) {
      seen->lines.push_back(line);
      seen->texts.emplace_back(line.text);
    }));
  }
  return statuses;
}

TEST_CASE("framing: codes, continuations and the last line", "[unit]") {
  const std::string reply =
      "1000-BIRD 1.6.8\n1011-Router ID is 10.99.0.5\n Current server time is x\n"
      "0013 Daemon is up and running\n";
  const Seen seen = Lines(reply);
  REQUIRE(seen.lines.size() == 4);
  CHECK(seen.lines[0].code == 1000);
  CHECK(seen.lines[0].kind == LineKind::kMore);
  CHECK(seen.texts[0] == "BIRD 1.6.8");
  CHECK(seen.lines[2].code == 1011);
  CHECK(seen.lines[2].kind == LineKind::kContinuation);
  CHECK(seen.texts[2] == "Current server time is x");
  CHECK(seen.lines[3].code == 13);
  CHECK(seen.lines[3].kind == LineKind::kLast);
  CHECK(FinalLineText(reply) == "Daemon is up and running");
  // A whole reply's texts are views into it.
  CHECK(seen.lines[0].text.data() == reply.data() + 5);
}

TEST_CASE("framing: bytes after the reply's last line are an error", "[unit]") {
  std::string error;
  const Seen seen = Lines("0001 BIRD 1.6.8 ready.\n0016 Access restricted\n", &error);
  REQUIRE(seen.lines.size() == 1);
  CHECK(seen.lines[0].code == 1);
  CHECK(error == "unexpected bytes after the end of a reply");
  Lines("0013 Daemon is up\n0013 Daemon", &error);
  CHECK(error == "unexpected bytes after the end of a reply");
}

TEST_CASE("framing: a reply that ends before its last line", "[unit]") {
  std::string error;
  CHECK(Lines("1000-BIRD 1.6.8\n1011-Router ID is 10.99.0.5\n", &error).lines.size() == 2);
  CHECK(error == "reply ends before its last line");
  CHECK(Lines("0013 Daemon is up", &error).lines.empty());
  CHECK(error == "reply ends before its last line");
  CHECK(Lines("", &error).lines.empty());
  CHECK(error == "reply ends before its last line");
  CHECK(FinalLineText("1000-BIRD 1.6.8\n1011-Router ID is") == "BIRD 1.6.8");
}

TEST_CASE("framing: the empty final line of multi-line replies", "[unit]") {
  const Seen seen = Lines("2002-name proto\n1002-x y\n0000 \n");
  REQUIRE(seen.lines.size() == 3);
  CHECK(seen.lines[2].code == 0);
  CHECK(seen.lines[2].kind == LineKind::kLast);
  CHECK(seen.texts[2].empty());
}

TEST_CASE("framing: error replies 8xxx and 9xxx", "[unit]") {
  for (const char* path : {"bird1/show_protocols_all_NoSuchProto__error_no_such_protocol.raw",
                           "bird2/show_protocols_all_NoSuchProto__error_no_such_protocol.raw",
                           "bird1/show_protocolz__error_syntax.raw",
                           "bird2/show_protocols_Zzz__error_pattern_matches_nothing.raw"}) {
    CAPTURE(path);
    std::string error;
    const Seen seen = Lines(testing::ReadFixture(path), &error);
    REQUIRE(error.empty());
    REQUIRE_FALSE(seen.lines.empty());
    CHECK(IsErrorCode(seen.lines.back().code));
  }
  CHECK_FALSE(IsErrorCode(13));
  CHECK(IsErrorCode(8003));
  CHECK(IsErrorCode(9001));
}

TEST_CASE("framing: a reply in pieces completes exactly at its end, with the same lines",
          "[unit]") {
  for (const char* path :
       {"bird1/show_protocols_all__all_states.raw", "bird2/show_protocols_all__all_states.raw",
        "bird2/show_status__all_states.raw"}) {
    CAPTURE(path);
    const std::string reply = testing::ReadFixture(path);
    const Seen whole = Lines(reply);
    for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{4096}}) {
      CAPTURE(chunk);
      ReplyStream stream;
      Seen seen;
      const auto statuses = Feed(&stream, reply, chunk, &seen);
      for (std::size_t i = 0; i + 1 < statuses.size(); ++i) {
        REQUIRE(statuses[i] == ReplyStream::Status::kNeedMore);
      }
      REQUIRE(statuses.back() == ReplyStream::Status::kComplete);
      CHECK(stream.bytes() == reply.size());
      CHECK(seen.texts == whole.texts);
    }
  }
}

TEST_CASE("framing: a split inside the code or right after it", "[unit]") {
  ReplyStream stream;
  Seen seen;
  CHECK(Feed(&stream, "00", 2, &seen).back() == ReplyStream::Status::kNeedMore);
  CHECK(Feed(&stream, "13", 2, &seen).back() == ReplyStream::Status::kNeedMore);
  CHECK(Feed(&stream, " Daemon", 7, &seen).back() == ReplyStream::Status::kNeedMore);
  CHECK(Feed(&stream, " is up and running\n", 19, &seen).back() == ReplyStream::Status::kComplete);
  REQUIRE(seen.lines.size() == 1);
  CHECK(seen.lines[0].code == 13);
  CHECK(seen.texts[0] == "Daemon is up and running");
  // A finished reply stays finished.
  CHECK(stream.Feed("more", [](const ReplyLine&) {}) == ReplyStream::Status::kComplete);
}

TEST_CASE("framing: malformed lines are errors with the line shown", "[unit]") {
  struct Case {
    std::string input;
    std::string error;
  };
  const std::vector<Case> cases = {
      {" orphan continuation\n",
       "continuation line before any coded line: \" orphan continuation\""},
      {"12x4-text\n", "line is neither coded nor a continuation: \"12x4-text\""},
      {"1000+async\n", "bad separator after reply code: \"1000+async\""},
      {"hello\n", "line is neither coded nor a continuation: \"hello\""},
      {"1000-ok\n\x01\x02garbage\n", "line is neither coded nor a continuation: \"??garbage\""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.input);
    for (std::size_t chunk : {std::size_t{1}, c.input.size()}) {
      ReplyStream stream;
      Seen seen;
      CHECK(Feed(&stream, c.input, chunk, &seen).back() == ReplyStream::Status::kMalformed);
      CHECK(stream.error() == c.error);
      CHECK_FALSE(stream.trailing_bytes());
    }
    std::string error;
    Lines(c.input, &error);
    CHECK(error == "malformed reply: " + c.error);
  }
}

TEST_CASE("framing: a long malformed line is shortened in the error", "[unit]") {
  ReplyStream stream;
  CHECK(stream.Feed(std::string(500, 'x') + "\n", [](const ReplyLine&) {}) ==
        ReplyStream::Status::kMalformed);
  CHECK(stream.error().size() < 120);
}

TEST_CASE("framing: a stream refuses bytes after the last line and malformed lines", "[unit]") {
  int lines = 0;
  const auto count = [&](const ReplyLine&) { ++lines; };
  ReplyStream a;
  CHECK(a.Feed("0013 Daemon is up\n", count) == ReplyStream::Status::kComplete);
  CHECK(a.Feed("more", count) == ReplyStream::Status::kComplete);  // A finished reply stays so.
  ReplyStream b;
  CHECK(b.Feed("0013 Daemon", count) == ReplyStream::Status::kNeedMore);
  CHECK(b.Feed(" is up\nx", count) == ReplyStream::Status::kMalformed);
  CHECK(b.error() == "unexpected bytes after the end of a reply");
  CHECK(b.trailing_bytes());
  ReplyStream c;
  CHECK(c.Feed("1000-a\n", count) == ReplyStream::Status::kNeedMore);
  CHECK(c.Feed("GET / HTTP/1.1\n", count) == ReplyStream::Status::kMalformed);
  CHECK(c.error().find("neither coded nor a continuation") != std::string::npos);
  CHECK_FALSE(c.trailing_bytes());
  CHECK(lines == 3);
}

TEST_CASE("framing: a reply followed by the next one keeps the bytes after its last line",
          "[unit]") {
  const std::string first = "1002-a\n1002-b\n0000 \n";
  const std::string second = "1000-BIRD 2.0.12\n0013 Daemon is up and running\n";
  const std::string both = first + second;
  // Every split of the two replies into two pieces: the rest is what the first did not take.
  for (std::size_t cut = 0; cut <= both.size(); ++cut) {
    CAPTURE(cut);
    ReplyStream a(ReplyStream::After::kNextReply);
    int lines = 0;
    const auto count = [&](const ReplyLine&) { ++lines; };
    ReplyStream::Status status = a.Feed(std::string_view(both).substr(0, cut), count);
    std::string rest;
    if (status == ReplyStream::Status::kComplete) {
      rest = std::string(a.rest()) + both.substr(cut);
    } else {
      REQUIRE(status == ReplyStream::Status::kNeedMore);
      REQUIRE(a.Feed(std::string_view(both).substr(cut), count) == ReplyStream::Status::kComplete);
      rest = std::string(a.rest());
    }
    CHECK(lines == 3);
    CHECK(a.bytes() - a.rest().size() == first.size());
    CHECK(rest == second);
    CHECK_FALSE(a.trailing_bytes());
  }
  // The default still refuses them.
  ReplyStream b;
  CHECK(b.Feed(both, [](const ReplyLine&) {}) == ReplyStream::Status::kMalformed);
  CHECK(b.rest().empty());
}

}  // namespace
}  // namespace cbe::bird
