#!/usr/bin/env bash
# Client certificates (mTLS) with real curl and openssl s_client: RequireAndVerifyClientCert
# refuses clients without a certificate and with one the client CA did not sign;
# VerifyClientCertIfGiven, RequireAnyClientCert and client_allowed_sans behave as in
# exporter-toolkit.
#   tests/web/mtls.sh build/calico-bgp-exporter
source "$(dirname "$0")/lib.sh"

make_certs
CONFIG=$(no_probes_config)
CA=(--cacert "$WORK/ca.crt")
GOOD=(--cert "$WORK/client.crt" --key "$WORK/client.key")
ROGUE=(--cert "$WORK/rogue.crt" --key "$WORK/rogue.key")
OTHER_SAN=(--cert "$WORK/other-san.crt" --key "$WORK/other-san.key")

s_client() {  # s_client PORT args...: a request through openssl s_client, its whole output.
  local port=$1
  shift
  printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' |
    timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$WORK/ca.crt" -ign_eof "$@" \
      2>&1 || true
}
has() { printf '%s' "$1" | grep -q "$2"; }
lacks() { ! printf '%s' "$1" | grep -q "$2"; }

# --- RequireAndVerifyClientCert ---------------------------------------------------------------
cat > "$WORK/web-mtls.yml" <<YML
tls_server_config:
  cert_file: $WORK/server.crt
  key_file: $WORK/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: $WORK/ca.crt
YML
start_exporter mtls --config.file="$CONFIG" --web.config.file="$WORK/web-mtls.yml"
URL="https://127.0.0.1:$PORT/healthz"
check "RequireAndVerifyClientCert: a client certificate of the CA gets 200" \
  test "$(http_code "$URL" "${CA[@]}" "${GOOD[@]}")" = 200
check "... /metrics too" test "$(http_code "https://127.0.0.1:$PORT/metrics" "${CA[@]}" "${GOOD[@]}")" = 200
rc=$(curl_exit "$URL" "${CA[@]}")
check "RequireAndVerifyClientCert: curl without a client certificate is refused (exit $rc)" \
  test "$rc" != 0
rc=$(curl_exit "$URL" "${CA[@]}" "${ROGUE[@]}")
check "RequireAndVerifyClientCert: curl with an untrusted client certificate is refused (exit $rc)" \
  test "$rc" != 0
out=$(s_client "$PORT" -cert "$WORK/client.crt" -key "$WORK/client.key")
check "s_client with the client certificate: 200" has "$out" "HTTP/1.1 200 OK"
out=$(s_client "$PORT")
check "s_client without a client certificate: alert certificate required, no answer" \
  sh -c 'printf "%s" "$1" | grep -q "alert certificate required" &&
         ! printf "%s" "$1" | grep -q "HTTP/1.1"' _ "$out"
out=$(s_client "$PORT" -cert "$WORK/rogue.crt" -key "$WORK/rogue.key")
check "s_client with an untrusted client certificate: alert unknown ca, no answer" \
  sh -c 'printf "%s" "$1" | grep -q "alert unknown ca" &&
         ! printf "%s" "$1" | grep -q "HTTP/1.1"' _ "$out"
out=$(s_client "$PORT" -tls1_2 -cert "$WORK/rogue.crt" -key "$WORK/rogue.key")
check "... also over TLS 1.2" \
  sh -c 'printf "%s" "$1" | grep -q "alert unknown ca" &&
         ! printf "%s" "$1" | grep -q "HTTP/1.1"' _ "$out"
out=$(s_client "$PORT" -cert "$WORK/client.crt" -key "$WORK/client.key")
check "the server keeps serving after refused clients" has "$out" "HTTP/1.1 200 OK"
check "the server asks for certificates of the client CA" \
  has "$out" "Acceptable client certificate CA names"

# --- VerifyClientCertIfGiven ------------------------------------------------------------------
cat > "$WORK/web-ifgiven.yml" <<YML
tls_server_config:
  cert_file: $WORK/server.crt
  key_file: $WORK/server.key
  client_auth_type: VerifyClientCertIfGiven
  client_ca_file: $WORK/ca.crt
YML
start_exporter ifgiven --config.file="$CONFIG" --web.config.file="$WORK/web-ifgiven.yml"
URL="https://127.0.0.1:$PORT/healthz"
check "VerifyClientCertIfGiven: no client certificate is fine" \
  test "$(http_code "$URL" "${CA[@]}")" = 200
check "VerifyClientCertIfGiven: a good one is fine" \
  test "$(http_code "$URL" "${CA[@]}" "${GOOD[@]}")" = 200
check "VerifyClientCertIfGiven: an untrusted one is refused" \
  test "$(curl_exit "$URL" "${CA[@]}" "${ROGUE[@]}")" != 0

# --- RequireAnyClientCert ---------------------------------------------------------------------
cat > "$WORK/web-any.yml" <<YML
tls_server_config:
  cert_file: $WORK/server.crt
  key_file: $WORK/server.key
  client_auth_type: RequireAnyClientCert
YML
start_exporter any --config.file="$CONFIG" --web.config.file="$WORK/web-any.yml"
URL="https://127.0.0.1:$PORT/healthz"
check "RequireAnyClientCert: any certificate, even untrusted, is accepted" \
  test "$(http_code "$URL" "${CA[@]}" "${ROGUE[@]}")" = 200
check "RequireAnyClientCert: none is refused" test "$(curl_exit "$URL" "${CA[@]}")" != 0

# --- client_allowed_sans ----------------------------------------------------------------------
cat > "$WORK/web-sans.yml" <<YML
tls_server_config:
  cert_file: $WORK/server.crt
  key_file: $WORK/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: $WORK/ca.crt
  client_allowed_sans: [prometheus.test]
YML
start_exporter sans --config.file="$CONFIG" --web.config.file="$WORK/web-sans.yml"
URL="https://127.0.0.1:$PORT/healthz"
check "client_allowed_sans: the CA's client with the allowed SAN gets 200" \
  test "$(http_code "$URL" "${CA[@]}" "${GOOD[@]}")" = 200
check "client_allowed_sans: the CA's client with another SAN is refused" \
  test "$(curl_exit "$URL" "${CA[@]}" "${OTHER_SAN[@]}")" != 0
check "client_allowed_sans: an untrusted client with the allowed SAN is refused" \
  test "$(curl_exit "$URL" "${CA[@]}" "${ROGUE[@]}")" != 0

finish
