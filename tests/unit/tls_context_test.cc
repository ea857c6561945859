#include "exporter/web/tls_context.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

namespace cbe {
namespace {

struct KeyCert {
  std::string key;
  std::string cert;
};

std::string Pem(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

// A self-signed P-256 certificate valid from now+not_before to now+not_after (seconds).
KeyCert MakeSelfSigned(const std::string& cn, long not_before, long not_after) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), not_before);
  X509_gmtime_adj(X509_getm_notAfter(x), not_after);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_sign(x, key, EVP_sha256());
  BIO* kb = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr);
  BIO* cb = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cb, x);
  X509_free(x);
  EVP_PKEY_free(key);
  return {Pem(kb), Pem(cb)};
}

class TempDir {
 public:
  TempDir()
      : path_(std::filesystem::temp_directory_path() /
              ("cbe-tls-context-test-" + std::to_string(getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    const auto p = path_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

TEST_CASE("BuildServerTlsContext from files and inline PEM", "[unit]") {
  TempDir dir;
  const KeyCert server = MakeSelfSigned("exporter.test", 0, 86400);
  TlsServerConfig tls;
  tls.enabled = true;
  tls.cert_file = dir.Write("server.crt", server.cert);
  tls.key_file = dir.Write("server.key", server.key);
  auto ctx = BuildServerTlsContext(tls);
  REQUIRE(ctx.ok());
  CHECK(ctx->ctx != nullptr);
  CHECK(ctx->warnings.empty());
  CHECK(ctx->certificate_summary.find("/CN=exporter.test not_after=") == 0);
  CHECK(SSL_CTX_get_min_proto_version(ctx->ctx.get()) == TLS1_2_VERSION);
  CHECK(SSL_CTX_get_max_proto_version(ctx->ctx.get()) == TLS1_3_VERSION);
  CHECK(SSL_CTX_get_verify_mode(ctx->ctx.get()) == SSL_VERIFY_NONE);

  TlsServerConfig inline_pem;
  inline_pem.enabled = true;
  inline_pem.cert = server.cert;
  inline_pem.key = server.key;
  inline_pem.min_version = TlsVersion::kTls13;
  inline_pem.client_ca = server.cert;
  inline_pem.client_auth = ClientAuth::kRequireAndVerifyClientCert;
  ctx = BuildServerTlsContext(inline_pem);
  REQUIRE(ctx.ok());
  CHECK(SSL_CTX_get_min_proto_version(ctx->ctx.get()) == TLS1_3_VERSION);
  CHECK(SSL_CTX_get_verify_mode(ctx->ctx.get()) ==
        (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT));
}

TEST_CASE("BuildServerTlsContext errors name the key and the file", "[unit]") {
  TempDir dir;
  const KeyCert a = MakeSelfSigned("a", 0, 86400);
  const KeyCert b = MakeSelfSigned("b", 0, 86400);
  TlsServerConfig tls;
  tls.enabled = true;
  tls.cert_file = dir.Write("a.crt", a.cert);
  tls.key_file = dir.Write("b.key", b.key);
  auto ctx = BuildServerTlsContext(tls);
  REQUIRE_FALSE(ctx.ok());
  CHECK(ctx.error().message == "tls_server_config.key_file: " + tls.key_file +
                                   ": the key does not match the certificate (" + tls.cert_file +
                                   ")");

  tls.key_file = dir.Write("a.key", a.key);
  tls.cert_file = dir.Write("missing.crt", "");
  std::filesystem::remove(tls.cert_file);
  ctx = BuildServerTlsContext(tls);
  REQUIRE_FALSE(ctx.ok());
  CHECK(ctx.error().message == "tls_server_config.cert_file: " + tls.cert_file +
                                   ": cannot read: No such file or directory");

  tls.cert_file = dir.Write("empty.crt", "not a certificate\n");
  ctx = BuildServerTlsContext(tls);
  REQUIRE_FALSE(ctx.ok());
  CHECK(ctx.error().message ==
        "tls_server_config.cert_file: " + tls.cert_file + ": no PEM certificate in it");

  tls.cert_file = dir.Write("a.crt", a.cert);
  tls.key_file = dir.Write("cert-as.key", a.cert);
  ctx = BuildServerTlsContext(tls);
  REQUIRE_FALSE(ctx.ok());
  CHECK(ctx.error().message ==
        "tls_server_config.key_file: " + tls.key_file + ": no unencrypted PEM private key in it");

  tls.key_file = dir.Write("a.key", a.key);
  tls.client_auth = ClientAuth::kRequireAndVerifyClientCert;
  tls.client_ca_file = dir.Write("ca.crt", "# no certificates\n");
  ctx = BuildServerTlsContext(tls);
  REQUIRE_FALSE(ctx.ok());
  CHECK(ctx.error().message ==
        "tls_server_config.client_ca_file: " + tls.client_ca_file + ": no PEM certificate in it");
}

TEST_CASE("BuildServerTlsContext warns about an expired certificate", "[unit]") {
  const KeyCert old = MakeSelfSigned("old", -2 * 86400, -86400);
  TlsServerConfig tls;
  tls.enabled = true;
  tls.cert = old.cert;
  tls.key = old.key;
  auto ctx = BuildServerTlsContext(tls);
  REQUIRE(ctx.ok());
  REQUIRE(ctx->warnings.size() == 1);
  CHECK(ctx->warnings[0].find("tls_server_config.cert: the certificate expired on ") == 0);
}

TEST_CASE("cipher suites and groups reach OpenSSL", "[unit]") {
  const KeyCert kc = MakeSelfSigned("c", 0, 86400);
  TlsServerConfig tls;
  tls.enabled = true;
  tls.cert = kc.cert;
  tls.key = kc.key;
  tls.cipher_suites = {"ECDHE-ECDSA-AES128-GCM-SHA256"};
  tls.curve_preferences = {"X25519"};
  auto ctx = BuildServerTlsContext(tls);
  REQUIRE(ctx.ok());
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx->ctx.get());
  bool found = false;
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const std::string name = SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ciphers, i));
    CHECK((name == "ECDHE-ECDSA-AES128-GCM-SHA256" || name.rfind("TLS_", 0) == 0));
    found = found || name == "ECDHE-ECDSA-AES128-GCM-SHA256";
  }
  CHECK(found);
}

TEST_CASE("ExternalSslContext hands civetweb a reference and takes it back", "[unit]") {
  void* slot = nullptr;
  SetPendingServerTls(nullptr);
  CHECK(ExternalSslContext(&slot, nullptr) == -1);  // TLS port without a context.
  const KeyCert kc = MakeSelfSigned("c", 0, 86400);
  TlsServerConfig tls;
  tls.enabled = true;
  tls.cert = kc.cert;
  tls.key = kc.key;
  auto ctx = BuildServerTlsContext(tls);
  REQUIRE(ctx.ok());
  SetPendingServerTls(ctx->ctx);
  CHECK(ExternalSslContext(&slot, nullptr) == 1);
  CHECK(slot == ctx->ctx.get());
  SetPendingServerTls(nullptr);
  CHECK(ExternalSslContext(&slot, nullptr) == 1);  // Stop: drops civetweb's reference.
  // Our reference still works.
  CHECK(SSL_CTX_get_min_proto_version(ctx->ctx.get()) == TLS1_2_VERSION);
}

}  // namespace
}  // namespace cbe
