#include "exporter/web/basic_auth.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

namespace cbe {
namespace {

// crypt("pw") at cost 4, made with Python's crypt (libcrypt); $2y$ and $2a$ give the same hash.
constexpr const char* kPwHash = "$2b$04$wAXJP3EDoeINJKEMN8a1TeWnXhtzGPmnmRu.gHU7WNzmHuIoFIWIa";
using Users = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kPwHash2y = "$2y$04$wAXJP3EDoeINJKEMN8a1TeWnXhtzGPmnmRu.gHU7WNzmHuIoFIWIa";

TEST_CASE("ParseBasicAuthorization", "[unit]") {
  auto c = ParseBasicAuthorization("Basic YWxpY2U6cHc=");  // alice:pw
  REQUIRE(c);
  CHECK(c->user == "alice");
  CHECK(c->password == "pw");
  c = ParseBasicAuthorization("basic  YWxpY2U6cDp3  ");  // alice:p:w, the user ends at ':'
  REQUIRE(c);
  CHECK(c->user == "alice");
  CHECK(c->password == "p:w");
  c = ParseBasicAuthorization("BASIC Og==");  // ":"
  REQUIRE(c);
  CHECK(c->user.empty());
  CHECK(c->password.empty());
  CHECK_FALSE(ParseBasicAuthorization(""));
  CHECK_FALSE(ParseBasicAuthorization("Bearer YWxpY2U6cHc="));
  CHECK_FALSE(ParseBasicAuthorization("Basic"));
  CHECK_FALSE(ParseBasicAuthorization("Basic YWxpY2U"));        // No padding.
  CHECK_FALSE(ParseBasicAuthorization("Basic YWxpY2U6cHc=="));  // Bad padding.
  CHECK_FALSE(ParseBasicAuthorization("Basic YWxp=2U6"));       // Data after padding.
  CHECK_FALSE(ParseBasicAuthorization("Basic YWxpY2U*cHc="));
  CHECK_FALSE(ParseBasicAuthorization("Basic YWxpY2U="));  // "alice": no colon.
}

TEST_CASE("BasicAuth checks bcrypt hashes with crypt_r", "[unit]") {
  BasicAuth auth(Users{{"alice", kPwHash}, {"bob", kPwHash2y}});
  CHECK(auth.enabled());
  CHECK(auth.Check("alice", "pw"));
  CHECK(auth.Check("alice", "pw"));  // Cached.
  CHECK(auth.Check("bob", "pw"));
  CHECK_FALSE(auth.Check("alice", "pW"));
  CHECK_FALSE(auth.Check("alice", ""));
  CHECK_FALSE(auth.Check("Alice", "pw"));
  CHECK_FALSE(
      auth.Check("mallory", "pw"));  // Unknown users never pass, even with a user's password.
  CHECK_FALSE(auth.Check("alice", std::string("pw\0x", 4)));
  CHECK(auth.CheckHeader("Basic YWxpY2U6cHc="));
  CHECK_FALSE(auth.CheckHeader("Basic YWxpY2U6cFc="));  // alice:pW
  CHECK_FALSE(auth.CheckHeader(nullptr));
  CHECK_FALSE(auth.CheckHeader("Basic !!!"));
}

TEST_CASE("BasicAuth without users lets everything through", "[unit]") {
  BasicAuth auth(Users{});
  CHECK_FALSE(auth.enabled());
  CHECK(auth.CheckHeader(nullptr));
  CHECK(auth.CheckHeader("Basic YWxpY2U6cHc="));
  CHECK_FALSE(auth.Check("alice", "pw"));
}

TEST_CASE("BasicAuth's cache stays bounded and correct", "[unit]") {
  BasicAuth auth(Users{{"alice", kPwHash}});
  for (int i = 0; i < 300; ++i) {
    CHECK_FALSE(auth.Check("alice", "wrong" + std::to_string(i)));
  }
  CHECK(auth.Check("alice", "pw"));
  CHECK_FALSE(auth.Check("alice", "wrong0"));
}

}  // namespace
}  // namespace cbe
