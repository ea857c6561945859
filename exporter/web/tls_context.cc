#include "exporter/web/tls_context.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include "exporter/base/plugin.h"

namespace cbe {
namespace {

constexpr unsigned char kSessionIdContext[] = "calico-bgp-exporter";

std::string OpenSslErrors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += out.empty() ? "" : "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

// The PEM text of a file key or of its inline twin, and how to name it in errors.
struct PemSource {
  std::string text;
  std::string where;  // "tls_server_config.cert_file: /etc/x.crt"
};

Result<PemSource> ReadPem(const std::string& file, const std::string& inline_pem,
                          const std::string& file_key, const std::string& inline_key) {
  if (file.empty()) {
    return PemSource{inline_pem, "tls_server_config." + inline_key};
  }
  const std::string where = "tls_server_config." + file_key + ": " + file;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return Error{where + ": cannot read: " + std::strerror(errno)};
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return PemSource{buf.str(), where};
}

std::vector<X509Ptr> ReadCertificates(const std::string& pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (bio) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (x == nullptr) {
      break;
    }
    certs.emplace_back(x);
  }
  ERR_clear_error();  // The read past the last certificate.
  return certs;
}

std::string Asn1TimeString(const ASN1_TIME* t) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || ASN1_TIME_print(bio.get(), t) != 1) {
    return "?";
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(len)};
}

std::string SubjectString(X509* cert) {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
  return buf;
}

// The allowed client SANs ride on the SSL_CTX (ex_data) and die with it.
int SansIndex() {
  static const int index = SSL_CTX_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {  // NOLINT(google-runtime-int)
        delete static_cast<std::vector<std::string>*>(ptr);
      });
  return index;
}

std::vector<std::string> SubjectAltNames(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) {
    return out;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS || name->type == GEN_EMAIL || name->type == GEN_URI) {
      const ASN1_IA5STRING* s = name->d.ia5;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      char buf[INET6_ADDRSTRLEN] = {};
      const int len = ASN1_STRING_length(ip);
      const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
      if (family != 0 && inet_ntop(family, ASN1_STRING_get0_data(ip), buf, sizeof(buf))) {
        out.emplace_back(buf);
      }
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

// Per certificate of the client's chain. `accept_any`: RequestClientCert and
// RequireAnyClientCert, which take any certificate (exporter-toolkit's semantics).
template <bool accept_any>
int VerifyClient(int preverify_ok, X509_STORE_CTX* store) {
  if (!accept_any && preverify_ok != 1) {
    return 0;
  }
  if (X509_STORE_CTX_get_error_depth(store) != 0) {
    return 1;
  }
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const auto* allowed = ssl == nullptr
                            ? nullptr
                            : static_cast<const std::vector<std::string>*>(
                                  SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), SansIndex()));
  if (allowed == nullptr || allowed->empty()) {
    return 1;
  }
  for (const std::string& san : SubjectAltNames(X509_STORE_CTX_get_current_cert(store))) {
    if (std::find(allowed->begin(), allowed->end(), san) != allowed->end()) {
      return 1;
    }
  }
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

std::shared_ptr<ssl_ctx_st> g_pending_tls;  // Guarded by g_pending_mutex.
std::mutex g_pending_mutex;

Result<std::string> LoadCompatAndInit() {
  std::string tried;
  for (const auto& dir : PrivateLibraryDirs("cbe-ssl")) {
    const auto ssl_path = dir / "libssl.so";
    const auto crypto_path = dir / "libcrypto.so";
    std::error_code ec;
    if (!std::filesystem::exists(ssl_path, ec) || !std::filesystem::exists(crypto_path, ec)) {
      tried += (tried.empty() ? "" : ", ") + dir.string();
      continue;
    }
    std::string why;
    if (!SafeToLoad(ssl_path, &why) || !SafeToLoad(crypto_path, &why)) {
      return Error{"refusing the TLS compatibility libraries: " + why};
    }
    void* crypto = dlopen(crypto_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (crypto == nullptr) {
      return Error{std::string("cannot load the TLS compatibility library: ") + dlerror()};
    }
    void* ssl = dlopen(ssl_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (ssl == nullptr) {
      return Error{std::string("cannot load the TLS compatibility library: ") + dlerror()};
    }
    // civetweb's dlopen("libssl.so") must now return these (glibc matches loaded SONAMEs).
    void* ssl_by_name = dlopen("libssl.so", RTLD_NOW | RTLD_NOLOAD);
    void* crypto_by_name = dlopen("libcrypto.so", RTLD_NOW | RTLD_NOLOAD);
    const bool ours = ssl_by_name == ssl && crypto_by_name == crypto &&
                      dlsym(ssl, "cbe_ssl_compat_version") != nullptr &&
                      dlsym(ssl, "SSL_get_peer_certificate") != nullptr &&
                      dlsym(crypto, "cbe_crypto_compat_version") != nullptr;
    if (ssl_by_name != nullptr) {
      dlclose(ssl_by_name);  // Only the NOLOAD references; the libraries stay loaded.
    }
    if (crypto_by_name != nullptr) {
      dlclose(crypto_by_name);
    }
    if (!ours) {
      return Error{"another libssl.so or libcrypto.so is already loaded: civetweb would not use " +
                   dir.string()};
    }
    const unsigned features = mg_init_library(MG_FEATURES_TLS);
    if ((features & MG_FEATURES_TLS) == 0) {
      return Error{"civetweb could not initialize OpenSSL through " + dir.string()};
    }
    return dir.string();
  }
  return Error{"the TLS compatibility libraries (libssl.so, libcrypto.so) are in none of: " +
               tried + " (see docs/tls.md)"};
}

}  // namespace

namespace {

std::string JoinColons(const std::vector<std::string>& items) {
  std::string list;
  for (const auto& item : items) {
    list += (list.empty() ? "" : ":") + item;
  }
  return list;
}

// Versions, options, cipher suites and curves.
Result<bool> SetProtocols(SSL_CTX* c, const TlsServerConfig& tls) {
  if (SSL_CTX_set_min_proto_version(c, static_cast<int>(tls.min_version)) != 1 ||
      SSL_CTX_set_max_proto_version(c, static_cast<int>(tls.max_version)) != 1) {
    return Error{"tls_server_config: cannot set the TLS versions: " + OpenSslErrors()};
  }
  SSL_CTX_set_options(c,
                      SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                          (tls.prefer_server_cipher_suites ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
  SSL_CTX_set_session_id_context(c, kSessionIdContext, sizeof(kSessionIdContext) - 1);
  if (!tls.cipher_suites.empty() &&
      SSL_CTX_set_cipher_list(c, JoinColons(tls.cipher_suites).c_str()) != 1) {
    return Error{"tls_server_config.cipher_suites: OpenSSL supports none of them: " +
                 OpenSslErrors()};
  }
  if (!tls.curve_preferences.empty() &&
      SSL_CTX_set1_groups_list(c, JoinColons(tls.curve_preferences).c_str()) != 1) {
    return Error{"tls_server_config.curve_preferences: " + OpenSslErrors()};
  }
  return true;
}

// The key, which must match the certificate already in the context.
Result<bool> UsePrivateKey(SSL_CTX* c, const TlsServerConfig& tls) {
  auto key_pem = ReadPem(tls.key_file, tls.key, "key_file", "key");
  if (!key_pem) {
    return key_pem.error();
  }
  BioPtr bio(BIO_new_mem_buf(key_pem->text.data(), static_cast<int>(key_pem->text.size())));
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    ERR_clear_error();
    // Never print the key's text; the file name is enough.
    return Error{key_pem->where + ": no unencrypted PEM private key in it"};
  }
  if (SSL_CTX_use_PrivateKey(c, key.get()) != 1 || SSL_CTX_check_private_key(c) != 1) {
    ERR_clear_error();
    return Error{key_pem->where + ": the key does not match the certificate (" +
                 (tls.cert_file.empty() ? std::string("cert") : tls.cert_file) + ")"};
  }
  return true;
}

// The certificate, its chain and the key; a summary of the leaf and warnings about its dates
// go to `out`.
Result<bool> UseCertificateAndKey(SSL_CTX* c, const TlsServerConfig& tls, ServerTlsContext* out) {
  auto cert_pem = ReadPem(tls.cert_file, tls.cert, "cert_file", "cert");
  if (!cert_pem) {
    return cert_pem.error();
  }
  auto certs = ReadCertificates(cert_pem->text);
  if (certs.empty()) {
    return Error{cert_pem->where + ": no PEM certificate in it"};
  }
  if (SSL_CTX_use_certificate(c, certs.front().get()) != 1) {
    return Error{cert_pem->where + ": " + OpenSslErrors()};
  }
  for (std::size_t i = 1; i < certs.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(c, certs[i].get()) != 1) {
      return Error{cert_pem->where + ": chain certificate " + std::to_string(i) + ": " +
                   OpenSslErrors()};
    }
  }
  if (auto key = UsePrivateKey(c, tls); !key) {
    return key.error();
  }
  X509* leaf = certs.front().get();
  out->certificate_summary =
      SubjectString(leaf) + " not_after=" + Asn1TimeString(X509_get0_notAfter(leaf));
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
    out->warnings.push_back(cert_pem->where + ": the certificate expired on " +
                            Asn1TimeString(X509_get0_notAfter(leaf)) + " (clients will refuse it)");
  } else if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0) {
    out->warnings.push_back(cert_pem->where + ": the certificate is valid only from " +
                            Asn1TimeString(X509_get0_notBefore(leaf)));
  }
  return true;
}

// The CAs that client certificates are checked against.
Result<bool> UseClientCas(SSL_CTX* c, const TlsServerConfig& tls) {
  if (tls.client_ca_file.empty() && tls.client_ca.empty()) {
    return true;
  }
  auto ca_pem = ReadPem(tls.client_ca_file, tls.client_ca, "client_ca_file", "client_ca");
  if (!ca_pem) {
    return ca_pem.error();
  }
  auto cas = ReadCertificates(ca_pem->text);
  if (cas.empty()) {
    return Error{ca_pem->where + ": no PEM certificate in it"};
  }
  X509_STORE* store = SSL_CTX_get_cert_store(c);
  for (auto& ca : cas) {
    if (X509_STORE_add_cert(store, ca.get()) != 1 || SSL_CTX_add_client_CA(c, ca.get()) != 1) {
      return Error{ca_pem->where + ": " + OpenSslErrors()};
    }
  }
  return true;
}

// client_auth_type and client_allowed_sans.
Result<bool> SetClientVerification(SSL_CTX* c, const TlsServerConfig& tls) {
  switch (tls.client_auth) {
    case ClientAuth::kNoClientCert:
      SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuth::kRequestClientCert:
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER, &VerifyClient<true>);
      break;
    case ClientAuth::kRequireAnyClientCert:
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, &VerifyClient<true>);
      break;
    case ClientAuth::kVerifyClientCertIfGiven:
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER, &VerifyClient<false>);
      break;
    case ClientAuth::kRequireAndVerifyClientCert:
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         &VerifyClient<false>);
      break;
  }
  if (!tls.client_allowed_sans.empty()) {
    auto* sans = new std::vector<std::string>(tls.client_allowed_sans);
    if (SSL_CTX_set_ex_data(c, SansIndex(), sans) != 1) {
      delete sans;
      return Error{"tls_server_config.client_allowed_sans: " + OpenSslErrors()};
    }
  }
  return true;
}

}  // namespace

Result<ServerTlsContext> BuildServerTlsContext(const TlsServerConfig& tls) {
  ERR_clear_error();
  ServerTlsContext out;
  std::shared_ptr<ssl_ctx_st> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) {
    return Error{"cannot create a TLS context: " + OpenSslErrors()};
  }
  SSL_CTX* c = ctx.get();
  if (auto r = SetProtocols(c, tls); !r) {
    return r.error();
  }
  if (auto r = UseCertificateAndKey(c, tls, &out); !r) {
    return r.error();
  }
  if (auto r = UseClientCas(c, tls); !r) {
    return r.error();
  }
  if (auto r = SetClientVerification(c, tls); !r) {
    return r.error();
  }
  out.ctx = std::move(ctx);
  return out;
}

Result<std::string> PrepareCivetwebTls() {
  static std::once_flag once;
  static std::optional<Result<std::string>> outcome;
  std::call_once(once, [] { outcome.emplace(LoadCompatAndInit()); });
  return *outcome;
}

void SetPendingServerTls(std::shared_ptr<ssl_ctx_st> ctx) {
  std::lock_guard lock(g_pending_mutex);
  g_pending_tls = std::move(ctx);
}

int ExternalSslContext(void** ssl_ctx, void* /*user_data*/) {
  if (*ssl_ctx != nullptr) {
    // The server stops: drop the reference it was given. 1: civetweb must not free it.
    SSL_CTX_free(static_cast<SSL_CTX*>(*ssl_ctx));
    return 1;
  }
  std::lock_guard lock(g_pending_mutex);
  if (!g_pending_tls) {
    return -1;  // A TLS port without a context: refuse to start.
  }
  SSL_CTX_up_ref(g_pending_tls.get());
  *ssl_ctx = g_pending_tls.get();
  return 1;
}

}  // namespace cbe
