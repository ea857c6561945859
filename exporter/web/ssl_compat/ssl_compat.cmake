# TLS, basic auth and least privilege: the libraries they need, and the two compatibility
# libraries civetweb 1.15 needs to use OpenSSL 3 (docs/tls.md). Included by the root
# exporter/web/CMakeLists.txt after cbe_web is defined.
#
# Build: libssl-dev (OpenSSL 3 headers), libcap-dev, libcrypt-dev. Run: libssl3, libcap2,
# libcrypt1 only (no -dev package: the compatibility libraries stand in for libssl-dev's
# libssl.so and libcrypto.so symlinks).

# The private directory of the compatibility libraries: build/lib/cbe-ssl in the build tree,
# <prefix>/lib/calico-bgp-exporter once installed. The exporter dlopen()s them by absolute path
# (exporter/web/tls_context.cc): no RPATH, no LD_LIBRARY_PATH, nothing on the system library path.
# The install folder is the exporter's private library folder (CBE_PRIVATE_LIB_INSTALL_DIR,
# exporter/base/CMakeLists.txt), where the plugins go too.

foreach(lib ssl crypto)
  add_library(cbe_${lib}_compat SHARED ${CMAKE_CURRENT_LIST_DIR}/lib${lib}_compat.cc)
  # lib${lib}.so with SONAME lib${lib}.so: the names civetweb dlopen()s.
  set_target_properties(cbe_${lib}_compat PROPERTIES
    OUTPUT_NAME ${lib}
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib/cbe-ssl
    CXX_VISIBILITY_PRESET hidden
    SKIP_BUILD_RPATH ON)
  target_link_options(cbe_${lib}_compat PRIVATE "LINKER:--as-needed" "LINKER:-z,defs")
  install(TARGETS cbe_${lib}_compat LIBRARY DESTINATION ${CBE_PRIVATE_LIB_INSTALL_DIR})
endforeach()
target_link_libraries(cbe_ssl_compat PRIVATE OpenSSL::SSL OpenSSL::Crypto)
target_link_libraries(cbe_crypto_compat PRIVATE OpenSSL::Crypto)

