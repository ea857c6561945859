// libcrypto.so for civetweb 1.15 on OpenSSL 3: built as build/lib/cbe-ssl/libcrypto.so (SONAME
// "libcrypto.so"), a library with no code of its own that depends on libcrypto.so.3.
//
// civetweb dlopen()s "libcrypto.so", a name only libssl-dev provides (as a symlink). This stands
// in for it in the exporter's private directory, so the exporter needs only libssl3 at run time:
// dlsym() on its handle finds every name in libcrypto.so.3, its dependency. See
// libssl_compat.cc and docs/tls.md.

#include <openssl/crypto.h>

extern "C" {

// Lets the exporter check that civetweb will load this library and not another libcrypto.so.
// Calling into libcrypto keeps the dependency, which the build links with --as-needed.
__attribute__((visibility("default"))) const char* cbe_crypto_compat_version() {
  return OpenSSL_version(OPENSSL_VERSION) != nullptr ? "calico-bgp-exporter libcrypto compat 1"
                                                     : "";
}

}  // extern "C"
