#pragma once

// HTTP basic authentication against the web config's bcrypt hashes, verified with libcrypt's
// crypt_r (no bcrypt of our own). As exporter-toolkit: one bcrypt at a time (it is meant to be
// slow), results cached by a SHA-256 of user, hash and password, and an unknown user costs as
// much as a known one so timing does not tell which users exist.

#include <array>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/web/web_crypto.h"

namespace cbe {

struct BasicCredentials {
  std::string user;
  std::string password;
};

// Parses an Authorization header value, "Basic base64(user:password)". The scheme is
// case-insensitive; the user ends at the first ':'. nullopt for anything else.
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header);

class BasicAuth final : public Authenticator {
 public:
  // user -> bcrypt hash (see IsBcryptHash). No users: every request is allowed.
  explicit BasicAuth(const std::vector<std::pair<std::string, std::string>>& users);

  bool enabled() const override { return !users_.empty(); }

  // Thread-safe. False for unknown users, wrong passwords and passwords with a NUL byte.
  bool Check(std::string_view user, std::string_view password) const;

  // Checks an Authorization header (nullptr: none). True when authentication is off.
  bool CheckHeader(const char* authorization) const override;

 private:
  using Digest = std::array<unsigned char, 32>;
  static constexpr std::size_t kCacheSize = 256;

  std::map<std::string, std::string, std::less<>> users_;
  mutable std::mutex bcrypt_mutex_;
  mutable std::mutex cache_mutex_;
  mutable std::map<Digest, bool> cache_;
};

}  // namespace cbe
