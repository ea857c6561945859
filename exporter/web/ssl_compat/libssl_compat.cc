// libssl.so for civetweb 1.15 on OpenSSL 3: built as build/lib/cbe-ssl/libssl.so (SONAME
// "libssl.so"), installed in the exporter's private directory, never on the system path.
//
// Debian's civetweb loads OpenSSL at run time with dlopen("libssl.so") and dlsym()s OpenSSL
// 1.1's function names. OpenSSL 3 kept all of them but one: SSL_get_peer_certificate became a
// macro for SSL_get1_peer_certificate, so civetweb's load fails half-way and every TLS
// connection crashes. This library links libssl.so.3 (dlsym() on its handle searches its
// dependencies, so every other name resolves to libssl.so.3 and libcrypto.so.3 themselves) and
// defines the one missing name. The exporter dlopen()s it by absolute path before civetweb
// starts TLS, and civetweb's dlopen("libssl.so") then finds it by its SONAME (see
// exporter/tls_context.cc and docs/tls.md).

#include <openssl/ssl.h>

#undef SSL_get_peer_certificate

extern "C" {

// OpenSSL 1.1's SSL_get_peer_certificate also returned a new reference (the caller frees it):
// exactly SSL_get1_peer_certificate.
__attribute__((visibility("default"))) X509* SSL_get_peer_certificate(const SSL* ssl) {
  return SSL_get1_peer_certificate(ssl);
}

// Lets the exporter check that civetweb will load this library and not another libssl.so.
__attribute__((visibility("default"))) const char* cbe_ssl_compat_version() {
  return "calico-bgp-exporter libssl compat 1";
}

}  // extern "C"
