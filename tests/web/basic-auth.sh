#!/usr/bin/env bash
# Basic auth (basic_auth_users, bcrypt through libcrypt) on every path, with real curl: missing
# credentials and wrong passwords get 401 on /metrics, /, /healthz, /runbook and unknown paths;
# the right ones get the page. Also over TLS, and the http_server_config headers.
#   tests/web/basic-auth.sh build/calico-bgp-exporter
source "$(dirname "$0")/lib.sh"

make_certs
CONFIG=$(no_probes_config)
ALICE=$(bcrypt 'correct horse')
BOB=$(bcrypt 'b:o:b')  # Colons in passwords are fine; only the user ends at the first.

cat > "$WORK/web-auth.yml" <<YML
basic_auth_users:
  alice: $ALICE
  bob: '$BOB'
http_server_config:
  headers:
    X-Frame-Options: deny
    Content-Security-Policy: "default-src 'self'"
YML
start_exporter auth --config.file="$CONFIG" --web.config.file="$WORK/web-auth.yml"
BASE="http://127.0.0.1:$PORT"
for path in /metrics / /healthz /runbook /nope; do
  check "no credentials: 401 on $path" test "$(http_code "$BASE$path")" = 401
  check "wrong password: 401 on $path" \
    test "$(http_code "$BASE$path" -u 'alice:correct horsE')" = 401
  check "unknown user with a valid password: 401 on $path" \
    test "$(http_code "$BASE$path" -u 'mallory:correct horse')" = 401
done
check "empty password: 401" test "$(http_code "$BASE/metrics" -u 'alice:')" = 401
check "a bearer token is not basic auth: 401" \
  test "$(http_code "$BASE/metrics" -H 'Authorization: Bearer abc')" = 401
check "malformed base64: 401" \
  test "$(http_code "$BASE/metrics" -H 'Authorization: Basic !!!!')" = 401
check "alice: /metrics 200" test "$(http_code "$BASE/metrics" -u 'alice:correct horse')" = 200
check "alice: / 200" test "$(http_code "$BASE/" -u 'alice:correct horse')" = 200
check "alice: /healthz 200" test "$(http_code "$BASE/healthz" -u 'alice:correct horse')" = 200
check "alice: /runbook 200" test "$(http_code "$BASE/runbook" -u 'alice:correct horse')" = 200
check "alice: an unknown path is 404 once authenticated" \
  test "$(http_code "$BASE/nope" -u 'alice:correct horse')" = 404
check "bob, a password with colons: 200" test "$(http_code "$BASE/metrics" -u 'bob:b:o:b')" = 200
check "the metrics are there" sh -c \
  "curl -sf -u 'alice:correct horse' '$BASE/metrics' | grep -q '^calico_bgp_exporter_build_info'"
headers=$(curl -s -D - -o /dev/null "$BASE/metrics")
check "401 asks for basic auth with the exporter's realm" \
  sh -c 'printf "%s" "$1" | grep -qi "^WWW-Authenticate: Basic realm=\"calico-bgp-exporter\""' _ \
  "$headers"
headers=$(curl -s -D - -o /dev/null -u 'alice:correct horse' "$BASE/")
check "http_server_config.headers on the pages: X-Frame-Options" \
  sh -c 'printf "%s" "$1" | grep -qi "^X-Frame-Options: deny"' _ "$headers"
check "http_server_config.headers on the pages: Content-Security-Policy" \
  sh -c 'printf "%s" "$1" | grep -qi "^Content-Security-Policy: default-src '"'"'self'"'"'"' _ \
  "$headers"
check "20 authenticated scrapes in a row (bcrypt results cached)" \
  sh -c "for i in \$(seq 20); do curl -sf -o /dev/null -u 'alice:correct horse' '$BASE/metrics' || exit 1; done"

# --- over TLS, with client certificates as well -----------------------------------------------
cat > "$WORK/web-tls-auth.yml" <<YML
tls_server_config:
  cert_file: $WORK/server.crt
  key_file: $WORK/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: $WORK/ca.crt
basic_auth_users:
  alice: $ALICE
YML
start_exporter tls-auth --config.file="$CONFIG" --web.config.file="$WORK/web-tls-auth.yml"
URL="https://127.0.0.1:$PORT/metrics"
TLS=(--cacert "$WORK/ca.crt" --cert "$WORK/client.crt" --key "$WORK/client.key")
check "TLS + client certificate, no password: 401" test "$(http_code "$URL" "${TLS[@]}")" = 401
check "TLS + client certificate, wrong password: 401" \
  test "$(http_code "$URL" "${TLS[@]}" -u 'alice:nope')" = 401
check "TLS + client certificate + password: 200" \
  test "$(http_code "$URL" "${TLS[@]}" -u 'alice:correct horse')" = 200
check "TLS + password but no client certificate: refused" \
  test "$(curl_exit "$URL" --cacert "$WORK/ca.crt" -u 'alice:correct horse')" != 0

finish
