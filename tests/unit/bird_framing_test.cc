#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "probes/bird/framing.h"
#include "tests/unit/fixtures.h"

namespace cbe::bird {
namespace {

std::vector<ReplyLine> Lines(std::string_view reply, std::string* error = nullptr) {
  ReplyLineReader reader(reply);
  std::vector<ReplyLine> lines;
  ReplyLine line;
  while (reader.Next(&line)) {
    lines.push_back(line);
  }
  if (error != nullptr) {
    *error = reader.error();
  }
  return lines;
}

TEST_CASE("framing: codes, continuations and the last line", "[unit]") {
  const std::string reply =
      "1000-BIRD 1.6.8\n1011-Router ID is 10.99.0.5\n Current server time is x\n"
      "0013 Daemon is up and running\n";
  const auto lines = Lines(reply);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].code == 1000);
  CHECK(lines[0].kind == LineKind::kMore);
  CHECK(lines[0].text == "BIRD 1.6.8");
  CHECK(lines[2].code == 1011);
  CHECK(lines[2].kind == LineKind::kContinuation);
  CHECK(lines[2].text == "Current server time is x");
  CHECK(lines[3].code == 13);
  CHECK(lines[3].kind == LineKind::kLast);
  CHECK(FinalLineText(reply) == "Daemon is up and running");
}

TEST_CASE("framing: reading stops after the reply's last line", "[unit]") {
  ReplyLineReader reader("0001 BIRD 1.6.8 ready.\n0016 Access restricted\n");
  ReplyLine line;
  REQUIRE(reader.Next(&line));
  CHECK(line.code == 1);
  CHECK_FALSE(reader.Next(&line));
  CHECK(reader.finished());
  CHECK(reader.offset() == 23);
}

TEST_CASE("framing: the empty final line of multi-line replies", "[unit]") {
  const auto lines = Lines("2002-name proto\n1002-x y\n0000 \n");
  REQUIRE(lines.size() == 3);
  CHECK(lines[2].code == 0);
  CHECK(lines[2].kind == LineKind::kLast);
  CHECK(lines[2].text.empty());
}

TEST_CASE("framing: error replies 8xxx and 9xxx", "[unit]") {
  for (const char* path : {"bird1/show_protocols_all_NoSuchProto__error_no_such_protocol.raw",
                           "bird2/show_protocols_all_NoSuchProto__error_no_such_protocol.raw",
                           "bird1/show_protocolz__error_syntax.raw",
                           "bird2/show_protocols_Zzz__error_pattern_matches_nothing.raw"}) {
    CAPTURE(path);
    const std::string reply = testing::ReadFixture(path);
    ReplyScanner scanner;
    REQUIRE(scanner.Scan(reply) == ReplyScanner::Status::kComplete);
    CHECK(IsErrorCode(scanner.final_code()));
  }
  CHECK_FALSE(IsErrorCode(13));
  CHECK(IsErrorCode(8003));
  CHECK(IsErrorCode(9001));
}

TEST_CASE("framing: a reply split at every byte completes exactly at its end", "[unit]") {
  for (const char* path :
       {"bird1/show_protocols_all__all_states.raw", "bird2/show_protocols_all__all_states.raw",
        "bird2/show_status__all_states.raw"}) {
    CAPTURE(path);
    const std::string reply = testing::ReadFixture(path);
    ReplyScanner scanner;
    for (std::size_t n = 1; n < reply.size(); ++n) {
      REQUIRE(scanner.Scan(std::string_view(reply).substr(0, n)) ==
              ReplyScanner::Status::kNeedMore);
    }
    REQUIRE(scanner.Scan(reply) == ReplyScanner::Status::kComplete);
    CHECK(scanner.reply_size() == reply.size());
  }
}

TEST_CASE("framing: a split inside the code or right after it", "[unit]") {
  ReplyScanner scanner;
  CHECK(scanner.Scan("00") == ReplyScanner::Status::kNeedMore);
  CHECK(scanner.Scan("0013") == ReplyScanner::Status::kNeedMore);
  CHECK(scanner.Scan("0013 Daemon") == ReplyScanner::Status::kNeedMore);
  CHECK(scanner.Scan("0013 Daemon is up and running\n") == ReplyScanner::Status::kComplete);
  CHECK(scanner.final_code() == 13);
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
    ReplyScanner scanner;
    CHECK(scanner.Scan(c.input) == ReplyScanner::Status::kMalformed);
    CHECK(scanner.error() == c.error);
    std::string error;
    Lines(c.input, &error);
    CHECK(error == c.error);
  }
}

TEST_CASE("framing: a long malformed line is shortened in the error", "[unit]") {
  ReplyScanner scanner;
  CHECK(scanner.Scan(std::string(500, 'x') + "\n") == ReplyScanner::Status::kMalformed);
  CHECK(scanner.error().size() < 120);
}

}  // namespace
}  // namespace cbe::bird
