#include <catch2/catch.hpp>

#include "probes/bird/client.h"
#include "probes/bird/framing.h"
#include "tests/unit/fake_stream.h"
#include "tests/unit/fixtures.h"

namespace cbe::bird {
namespace {

using testing::FakeBird;
using testing::FakeClock;
using testing::FakeConnector;

struct Harness {
  FakeBird bird;
  FakeClock clock;
  FakeConnector connector{&bird};
  Client client{ClientOptions{"/run/bird/bird.ctl", std::chrono::milliseconds(500), 1 << 20},
                &connector, &clock};
  Harness() { bird.clock = &clock; }
};

TEST_CASE("client: greeting, restrict, then the command", "[unit]") {
  Harness h;
  const std::string status = testing::ReadFixture("bird1/show_status__all_states.raw");
  h.bird.replies.push_back(status);
  auto r = h.client.Query("show status");
  REQUIRE(r.ok());
  CHECK(*r == status);
  CHECK(h.bird.written == std::vector<std::string>{"restrict", "show status"});
  CHECK(h.client.greeting_version() == "1.6.8");
  CHECK(h.client.connected());
}

TEST_CASE("client: replies arriving one byte at a time", "[unit]") {
  Harness h;
  h.bird.chunk = 1;
  const std::string all = testing::ReadFixture("bird2/show_protocols_all__all_states.raw");
  h.bird.greeting = testing::ReadFixture("bird2/greeting__bird2.raw");
  h.bird.replies.push_back(all);
  auto r = h.client.Query("show protocols all");
  REQUIRE(r.ok());
  CHECK(*r == all);
  CHECK(h.client.greeting_version() == "2.0.12");
}

TEST_CASE("client: one connection serves many commands", "[unit]") {
  Harness h;
  h.bird.replies = {"0013 Daemon is up and running\n", "0000 \n"};
  REQUIRE(h.client.Query("show status").ok());
  REQUIRE(h.client.Query("show protocols all").ok());
  CHECK(h.bird.connects == 1);
}

TEST_CASE("client: Calico's fork banner", "[unit]") {
  Harness h;
  h.bird.greeting = "0001 BIRD v0.3.3+birdv1.6.8 ready.\n";
  h.bird.replies.push_back("0013 Daemon is up and running\n");
  REQUIRE(h.client.Query("show status").ok());
  CHECK(h.client.greeting_version() == "v0.3.3+birdv1.6.8");
}

TEST_CASE("client: BIRD >= 2.16 is asked for Unix times on each new connection", "[unit]") {
  Harness h;
  h.bird.greeting = "0001 BIRD 3.3.0 ready.\n";
  h.bird.replies = {"0013 Daemon is up and running\n"};
  REQUIRE(h.client.Query("show status").ok());
  CHECK(h.bird.written ==
        std::vector<std::string>{"restrict", "timeformat \"%s.%3f\"", "show status"});
  CHECK(h.client.unix_times());
  CHECK(h.client.unix_times_error().empty());
}

TEST_CASE("client: older BIRDs and Calico's fork are not asked", "[unit]") {
  for (const char* greeting :
       {"0001 BIRD 1.6.8 ready.\n", "0001 BIRD 2.0.12 ready.\n", "0001 BIRD 2.15.1 ready.\n",
        "0001 BIRD v0.3.3+birdv1.6.8 ready.\n"}) {
    CAPTURE(greeting);
    Harness h;
    h.bird.greeting = greeting;
    h.bird.replies = {"0013 Daemon is up and running\n"};
    REQUIRE(h.client.Query("show status").ok());
    CHECK(h.bird.written == std::vector<std::string>{"restrict", "show status"});
    CHECK_FALSE(h.client.unix_times());
  }
}

TEST_CASE("client: a BIRD that refuses timeformat is read with its own time format", "[unit]") {
  Harness h;
  h.bird.greeting = "0001 BIRD 2.16 ready.\n";
  h.bird.timeformat_reply = "9001 syntax error, unexpected TEXT\n";
  h.bird.replies = {"0013 Daemon is up and running\n"};
  REQUIRE(h.client.Query("show status").ok());
  CHECK_FALSE(h.client.unix_times());
  CHECK(h.client.unix_times_error() ==
        "BIRD 2.16 refused `timeformat \"%s.%3f\"`: \"syntax error, unexpected TEXT\"");
}

TEST_CASE("client: which versions take the CLI's timeformat", "[unit]") {
  CHECK(SupportsCliTimeformat("2.16"));
  CHECK(SupportsCliTimeformat("2.16.1"));
  CHECK(SupportsCliTimeformat("2.17.1"));
  CHECK(SupportsCliTimeformat("3.0.0"));
  CHECK(SupportsCliTimeformat("3.3.0"));
  CHECK_FALSE(SupportsCliTimeformat("2.15.1"));
  CHECK_FALSE(SupportsCliTimeformat("2.0.12"));
  CHECK_FALSE(SupportsCliTimeformat("1.6.8"));
  CHECK_FALSE(SupportsCliTimeformat("v0.3.3+birdv1.6.8"));
  CHECK_FALSE(SupportsCliTimeformat(""));
  CHECK_FALSE(SupportsCliTimeformat("3"));
  CHECK_FALSE(SupportsCliTimeformat("x.y"));
}

TEST_CASE("client: only read-only show commands are ever sent", "[unit]") {
  Harness h;
  for (const char* cmd : {"configure", "disable Mesh_10_99_0_1", "restart all", "down",
                          "show status\nconfigure", "show status; configure", "showstatus", "",
                          "enable all", "debug all all", "eval 1", "graceful restart"}) {
    CAPTURE(cmd);
    auto r = h.client.Query(cmd);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.rfind("refusing to send", 0) == 0);
  }
  CHECK(h.bird.written.empty());
  CHECK(IsReadOnlyCommand("show protocols all"));
  CHECK(IsReadOnlyCommand("show status"));
}

TEST_CASE("client: BIRD refusing restrict is an error and nothing else is sent", "[unit]") {
  Harness h;
  h.bird.restrict_reply = "9001 syntax error\n";
  h.bird.replies.push_back("0013 Daemon is up and running\n");
  auto r = h.client.Query("show status");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "BIRD did not accept `restrict`: \"syntax error\"");
  CHECK(h.bird.written == std::vector<std::string>{"restrict"});
  CHECK_FALSE(h.client.connected());
}

TEST_CASE("client: a greeting that is not BIRD's", "[unit]") {
  Harness h;
  h.bird.greeting = "0013 Daemon is up and running\n";
  auto r = h.client.Query("show status");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "unexpected greeting: \"Daemon is up and running\"");
}

TEST_CASE("client: silence until the deadline", "[unit]") {
  Harness h;  // No reply queued for the command.
  auto r = h.client.Query("show status");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "read: deadline exceeded");
  CHECK_FALSE(h.client.connected());
}

TEST_CASE("client: a reply that stops half-way", "[unit]") {
  Harness h;
  h.bird.replies.push_back("1000-BIRD 1.6.8\n1011-Router ID is 10.0.0.1\n");
  auto r = h.client.Query("show status");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "read: deadline exceeded");
  CHECK_FALSE(h.client.connected());
}

TEST_CASE("client: a reply cut short by a closed connection", "[unit]") {
  Harness h;
  h.bird.close_after_reply = true;
  h.bird.replies.push_back("1000-BIRD 1.6.8\n1011-Router ID is 10.0.0.1\n");
  auto r = h.client.Query("show status");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "connection closed in the middle of a reply (43 bytes received)");
  CHECK(h.bird.connects == 1);  // A new connection is not retried for a fresh one.
}

TEST_CASE("client: a reply larger than the cap", "[unit]") {
  FakeBird bird;
  FakeClock clock;
  bird.clock = &clock;
  bird.chunk = 4096;
  FakeConnector connector(&bird);
  Client client(ClientOptions{"/x.ctl", std::chrono::milliseconds(500), 1000}, &connector, &clock);
  std::string big = "2002-name proto table state since info\n";
  while (big.size() < 5000) {
    big += "1002-Mesh_10_99_0_1 BGP master up 06:47:46 Established\n";
  }
  big += "0000 \n";
  bird.replies.push_back(big);
  auto r = client.Query("show protocols all");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "reply larger than the cap of 1000 bytes");
}

TEST_CASE("client: a malformed reply", "[unit]") {
  Harness h;
  h.bird.replies.push_back("HTTP/1.1 400 Bad Request\n");
  auto r = h.client.Query("show status");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "malformed reply: line is neither coded nor a continuation: \"HTTP/1.1 400 Bad Request\"");
}

TEST_CASE("client: no socket", "[unit]") {
  Harness h;
  h.bird.refuse_connect = true;
  auto r = h.client.Query("show status");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "connect /run/bird/bird.ctl: Connection refused");
}

TEST_CASE("client: BIRD restarted between two queries: one retry on a new connection", "[unit]") {
  Harness h;
  h.bird.close_after_reply = true;  // The first connection dies after this query.
  h.bird.replies = {"0013 Daemon is up and running\n", "0013 Daemon is up and running\n"};
  REQUIRE(h.client.Query("show status").ok());
  auto r = h.client.Query("show status");
  REQUIRE(r.ok());
  CHECK(h.bird.connects == 2);
  CHECK(h.bird.written ==
        std::vector<std::string>{"restrict", "show status", "restrict", "show status"});
}

// QueryLines: the lines of the reply, each joined with its code, as a test sees them.
std::string Lines(Client* client, std::string_view command, Result<std::size_t>* result) {
  std::string seen;
  *result = client->QueryLines(command, [&](const ReplyLine& line) {
    seen += std::to_string(line.code) + ":" + std::string(line.text) + "\n";
  });
  return seen;
}

TEST_CASE("client: QueryLines hands out the lines of a reply arriving in pieces", "[unit]") {
  const std::string all = testing::ReadFixture("bird2/show_protocols_all__all_states.raw");
  std::string expected;
  REQUIRE(ForEachReplyLine(all, [&](const ReplyLine& line) {
            expected += std::to_string(line.code) + ":" + std::string(line.text) + "\n";
          }).ok());
  for (std::size_t chunk :
       {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{4096}, all.size()}) {
    CAPTURE(chunk);
    Harness h;
    h.bird.chunk = chunk;
    h.bird.replies = {all, "0013 Daemon is up and running\n"};
    Result<std::size_t> r = Error{};
    CHECK(Lines(&h.client, "show protocols all", &r) == expected);
    REQUIRE(r.ok());
    CHECK(*r == all.size());
    REQUIRE(h.client.Query("show status").ok());  // The connection is left at a reply's end.
    CHECK(h.bird.connects == 1);
  }
}

TEST_CASE("client: QueryLines errors are those of Query", "[unit]") {
  SECTION("malformed") {
    Harness h;
    h.bird.replies.push_back("1002-ok\nHTTP/1.1 400 Bad Request\n");
    Result<std::size_t> r = Error{};
    CHECK(Lines(&h.client, "show protocols all", &r) == "1002:ok\n");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "malformed reply: line is neither coded nor a continuation: \"HTTP/1.1 400 Bad "
          "Request\"");
    CHECK_FALSE(h.client.connected());
  }
  SECTION("cut short") {
    Harness h;
    h.bird.close_after_reply = true;
    h.bird.replies.push_back("1002-a\n1002-b\n");
    Result<std::size_t> r = Error{};
    Lines(&h.client, "show protocols all", &r);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "connection closed in the middle of a reply (14 bytes received)");
  }
  SECTION("bytes after the last line") {
    Harness h;
    h.bird.replies.push_back("0000 \nextra");
    Result<std::size_t> r = Error{};
    Lines(&h.client, "show protocols all", &r);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "unexpected bytes after the end of a reply");
  }
  SECTION("over the cap") {
    FakeBird bird;
    FakeClock clock;
    bird.clock = &clock;
    bird.chunk = 4096;
    FakeConnector connector(&bird);
    Client client(ClientOptions{"/x.ctl", std::chrono::milliseconds(500), 1000}, &connector,
                  &clock);
    std::string big;
    while (big.size() < 5000) {
      big += "1002-Mesh_10_99_0_1 BGP master up 06:47:46 Established\n";
    }
    bird.replies.push_back(big + "0000 \n");
    Result<std::size_t> r = Error{};
    Lines(&client, "show protocols all", &r);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "reply larger than the cap of 1000 bytes");
  }
  SECTION("not a show command") {
    Harness h;
    Result<std::size_t> r = Error{};
    CHECK(Lines(&h.client, "configure", &r).empty());
    REQUIRE_FALSE(r.ok());
    CHECK(h.bird.written.empty());
  }
}

TEST_CASE("client: QueryLines retries a dead kept connection, not a reply cut half-way", "[unit]") {
  Harness h;
  h.bird.close_after_reply = true;  // The first connection dies after this query.
  h.bird.replies = {"0013 Daemon is up and running\n", "0000 \n"};
  REQUIRE(h.client.Query("show status").ok());
  Result<std::size_t> r = Error{};
  CHECK(Lines(&h.client, "show protocols all", &r) == "0:\n");  // Once, from the new one.
  REQUIRE(r.ok());
  CHECK(h.bird.connects == 2);
}

TEST_CASE("client: QueryLinesThen sends both commands at once and reads both replies", "[unit]") {
  const std::string all = testing::ReadFixture("bird2/show_protocols_all__all_states.raw");
  const std::string status = testing::ReadFixture("bird2/show_status__all_states.raw");
  std::string expected;
  REQUIRE(ForEachReplyLine(all, [&](const ReplyLine& line) {
            expected += std::to_string(line.code) + ":" + std::string(line.text) + "\n";
          }).ok());
  // Pieces that end inside the first reply, on its end, and across into the second.
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, all.size(),
                            all.size() + 5, all.size() + status.size()}) {
    CAPTURE(chunk);
    Harness h;
    h.bird.chunk = chunk;
    h.bird.replies = {all, status, "0013 Daemon is up and running\n"};
    std::string lines;
    auto r = h.client.QueryLinesThen(
        "show protocols all",
        [&](const ReplyLine& line) {
          lines += std::to_string(line.code) + ":" + std::string(line.text) + "\n";
        },
        "show status");
    REQUIRE(r.ok());
    CHECK(lines == expected);
    CHECK(*r == status);
    CHECK(h.bird.written ==
          std::vector<std::string>{"restrict", "show protocols all", "show status"});
    // The connection is left at the end of the second reply.
    auto next = h.client.Query("show status");
    REQUIRE(next.ok());
    CHECK(*next == "0013 Daemon is up and running\n");
    CHECK(h.bird.connects == 1);
  }
}

TEST_CASE("client: QueryLinesThen errors name the command whose reply failed", "[unit]") {
  const auto query = [](Harness* h) {
    return h->client.QueryLinesThen(
        "show protocols all", [](const ReplyLine&) {}, "show status");
  };
  SECTION("the first reply malformed") {
    Harness h;
    h.bird.replies = {"1002-ok\nHTTP/1.1 400 Bad Request\n", "0013 up\n"};
    auto r = query(&h);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "show protocols all: malformed reply: line is neither coded nor a continuation: "
          "\"HTTP/1.1 400 Bad Request\"");
    CHECK_FALSE(h.client.connected());
  }
  SECTION("the second reply cut short") {
    Harness h;
    h.bird.replies = {"0000 \n", "1000-BIRD 2.0.12\n"};
    h.bird.close_after_reply = true;
    h.bird.chunk = 4096;
    auto r = query(&h);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "show status: connection closed in the middle of a reply (23 bytes received)");
  }
  SECTION("the second reply never comes") {
    Harness h;
    h.bird.replies = {"0000 \n"};
    auto r = query(&h);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "show status: read: deadline exceeded");
  }
  SECTION("bytes after the second reply") {
    Harness h;
    h.bird.replies = {"0000 \n", "0013 up\nextra"};
    h.bird.chunk = 4096;
    auto r = query(&h);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "show status: unexpected bytes after the end of a reply");
  }
  SECTION("no socket") {
    Harness h;
    h.bird.refuse_connect = true;
    auto r = query(&h);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "show protocols all: connect /run/bird/bird.ctl: Connection refused");
  }
  SECTION("not a show command") {
    Harness h;
    auto r = h.client.QueryLinesThen(
        "show protocols all", [](const ReplyLine&) {}, "configure");
    REQUIRE_FALSE(r.ok());
    CHECK(h.bird.written.empty());
  }
}

}  // namespace
}  // namespace cbe::bird
