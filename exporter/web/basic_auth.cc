#include "exporter/web/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <memory>

namespace cbe {
namespace {

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

// Standard base64 with padding, nothing else (RFC 7617 asks for it).
std::optional<std::string> DecodeBase64(std::string_view in) {
  if (in.size() % 4 != 0) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = in[i + j];
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) {
        return std::nullopt;  // Data after padding.
      }
      v[j] = Base64Value(c);
      if (v[j] < 0) {
        return std::nullopt;
      }
    }
    const unsigned bits = (static_cast<unsigned>(v[0]) << 18) |
                          (static_cast<unsigned>(v[1]) << 12) | (static_cast<unsigned>(v[2]) << 6) |
                          static_cast<unsigned>(v[3]);
    out += static_cast<char>((bits >> 16) & 0xff);
    if (pad < 2) {
      out += static_cast<char>((bits >> 8) & 0xff);
    }
    if (pad < 1) {
      out += static_cast<char>(bits & 0xff);
    }
  }
  return out;
}

bool BcryptMatches(const std::string& password, const std::string& hash) {
  if (password.find('\0') != std::string::npos) {
    return false;  // crypt(3) would stop at the NUL and accept a prefix.
  }
  auto data = std::make_unique<crypt_data>();  // ~32 KiB: not on a civetweb thread's stack.
  const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
  if (out == nullptr || std::strlen(out) != hash.size()) {
    return false;
  }
  return CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
}

}  // namespace

std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header) {
  constexpr std::string_view kScheme = "basic ";
  if (header.size() < kScheme.size()) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = header[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) {
      return std::nullopt;
    }
  }
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') {
    token.remove_prefix(1);
  }
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
    token.remove_suffix(1);
  }
  const auto decoded = DecodeBase64(token);
  if (!decoded) {
    return std::nullopt;
  }
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) {
    return std::nullopt;
  }
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

BasicAuth::BasicAuth(const std::vector<std::pair<std::string, std::string>>& users)
    : users_(users.begin(), users.end()) {}

bool BasicAuth::Check(std::string_view user, std::string_view password) const {
  if (users_.empty()) {
    return false;
  }
  const auto it = users_.find(user);
  const bool known = it != users_.end();
  // An unknown user is checked against a real hash too: same cost, same timing.
  const std::string& hash = known ? it->second : users_.begin()->second;

  Digest key{};
  {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    unsigned int len = 0;
    const unsigned char sep = 0;
    const bool ok =
        md != nullptr && EVP_DigestInit_ex(md, EVP_sha256(), nullptr) == 1 &&
        EVP_DigestUpdate(md, user.data(), user.size()) == 1 && EVP_DigestUpdate(md, &sep, 1) == 1 &&
        EVP_DigestUpdate(md, hash.data(), hash.size()) == 1 && EVP_DigestUpdate(md, &sep, 1) == 1 &&
        EVP_DigestUpdate(md, password.data(), password.size()) == 1 &&
        EVP_DigestFinal_ex(md, key.data(), &len) == 1 && len == key.size();
    EVP_MD_CTX_free(md);
    if (!ok) {
      return false;
    }
  }
  {
    std::lock_guard lock(cache_mutex_);
    if (const auto c = cache_.find(key); c != cache_.end()) {
      return c->second && known;
    }
  }
  bool matches = false;
  {
    std::lock_guard lock(bcrypt_mutex_);
    matches = BcryptMatches(std::string(password), hash);
  }
  const bool ok = matches && known;
  std::lock_guard lock(cache_mutex_);
  if (cache_.size() >= kCacheSize) {
    cache_.erase(cache_.begin());
  }
  cache_[key] = ok;
  return ok;
}

bool BasicAuth::CheckHeader(const char* authorization) const {
  if (!enabled()) {
    return true;
  }
  if (authorization == nullptr) {
    return false;
  }
  const auto credentials = ParseBasicAuthorization(authorization);
  return credentials && Check(credentials->user, credentials->password);
}

}  // namespace cbe
