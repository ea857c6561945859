#!/usr/bin/env bash
# Native TLS with Debian's civetweb 1.15 and OpenSSL 3, checked with real curl and openssl
# s_client: TLS 1.3 and 1.2, min_version and max_version enforced, an expired certificate
# refused by curl, plaintext HTTP to the TLS port fails cleanly while the server keeps serving,
# and no libssl-dev needed at run time.
#   tests/web/tls.sh build/calico-bgp-exporter
source "$(dirname "$0")/lib.sh"

make_certs
CONFIG=$(no_probes_config)

# --- TLS 1.2 and 1.3 --------------------------------------------------------------------------
cat > "$WORK/web-tls.yml" <<'YML'
tls_server_config:
  cert_file: server.crt     # relative to this file
  key_file: server.key
YML
start_exporter tls --config.file="$CONFIG" --web.config.file="$WORK/web-tls.yml"
URL="https://127.0.0.1:$PORT"
check "curl over TLS (CA-verified) gets /healthz 200" \
  test "$(http_code "$URL/healthz" --cacert "$WORK/ca.crt")" = 200
check "curl gets /metrics over TLS" \
  sh -c "curl -sf --cacert '$WORK/ca.crt' '$URL/metrics' | grep -q '^calico_bgp_exporter_build_info'"
check "curl --tlsv1.3 works" test "$(http_code "$URL/" --cacert "$WORK/ca.crt" --tlsv1.3)" = 200
check "curl --tls-max 1.2 works (TLS 1.2)" \
  test "$(http_code "$URL/" --cacert "$WORK/ca.crt" --tls-max 1.2)" = 200
s_client() {  # s_client PORT args...: a request through openssl s_client, its whole output.
  local port=$1
  shift
  printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' |
    timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$WORK/ca.crt" \
      -verify_return_error -ign_eof "$@" 2>&1 || true
}
out=$(s_client "$PORT" -tls1_3)
check "openssl s_client -tls1_3: TLSv1.3, verified, 200" \
  sh -c 'printf "%s" "$1" | grep -q "Protocol *: TLSv1.3" &&
         printf "%s" "$1" | grep -q "Verify return code: 0 (ok)" &&
         printf "%s" "$1" | grep -q "HTTP/1.1 200 OK"' _ "$out"
out=$(s_client "$PORT" -tls1_2)
check "openssl s_client -tls1_2: TLSv1.2, 200" \
  sh -c 'printf "%s" "$1" | grep -q "Protocol *: TLSv1.2" &&
         printf "%s" "$1" | grep -q "HTTP/1.1 200 OK"' _ "$out"
# The client must allow TLS 1.1 itself (SECLEVEL=0) for the server's refusal to show.
out=$(s_client "$PORT" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0')
check "openssl s_client -tls1_1: the server refuses (default min_version TLS12)" \
  sh -c '! printf "%s" "$1" | grep -q "HTTP/1.1 200" &&
         printf "%s" "$1" | grep -q "alert protocol version"' _ "$out"

# --- plaintext to the TLS port ----------------------------------------------------------------
check "plain HTTP to the TLS port gets no HTTP answer (curl fails)" \
  test "$(http_code "http://127.0.0.1:$PORT/healthz")" = 000
raw=$(printf 'GET /metrics HTTP/1.0\r\n\r\n' | timeout 5 /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.stdin.buffer.read())
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(len(data))' "$PORT" || echo error)
check "plaintext request: the server closes the connection, sends no metrics (got $raw bytes)" \
  test "$raw" -lt 100
check "the server keeps serving TLS after plaintext requests" \
  test "$(http_code "$URL/healthz" --cacert "$WORK/ca.crt")" = 200
check "the exporter is still running" kill -0 "$PID"
check "the failed handshake is logged" grep -q 'http request' "$WORK/tls.log"

# --- min_version: TLS13 -----------------------------------------------------------------------
cat > "$WORK/web-tls13.yml" <<YML
tls_server_config:
  cert_file: $WORK/server.crt
  key_file: $WORK/server.key
  min_version: TLS13
YML
start_exporter tls13 --config.file="$CONFIG" --web.config.file="$WORK/web-tls13.yml"
check "min_version TLS13: curl --tls-max 1.2 is refused" \
  test "$(curl_exit "https://127.0.0.1:$PORT/" --cacert "$WORK/ca.crt" --tls-max 1.2)" != 0
out=$(s_client "$PORT" -tls1_2)
check "min_version TLS13: openssl s_client -tls1_2 gets a protocol version alert" \
  sh -c '! printf "%s" "$1" | grep -q "HTTP/1.1 200" &&
         printf "%s" "$1" | grep -q "alert protocol version"' _ "$out"
check "min_version TLS13: TLS 1.3 works" \
  test "$(http_code "https://127.0.0.1:$PORT/" --cacert "$WORK/ca.crt" --tlsv1.3)" = 200

# --- max_version: TLS12 -----------------------------------------------------------------------
cat > "$WORK/web-tls12.yml" <<YML
tls_server_config:
  cert_file: $WORK/server.crt
  key_file: $WORK/server.key
  max_version: TLS12
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]
YML
start_exporter tls12 --config.file="$CONFIG" --web.config.file="$WORK/web-tls12.yml"
out=$(s_client "$PORT" -tls1_3)
check "max_version TLS12: openssl s_client -tls1_3 gets a protocol version alert" \
  sh -c '! printf "%s" "$1" | grep -q "HTTP/1.1 200" &&
         printf "%s" "$1" | grep -q "alert protocol version"' _ "$out"
out=$(s_client "$PORT")
check "max_version TLS12: negotiates TLSv1.2 with the configured cipher suite" \
  sh -c 'printf "%s" "$1" | grep -q "Protocol *: TLSv1.2" &&
         printf "%s" "$1" | grep -q "Cipher *: ECDHE-ECDSA-AES256-GCM-SHA384"' _ "$out"

# --- an expired certificate -------------------------------------------------------------------
cat > "$WORK/web-expired.yml" <<YML
tls_server_config:
  cert_file: $WORK/expired.crt
  key_file: $WORK/expired.key
YML
start_exporter expired --config.file="$CONFIG" --web.config.file="$WORK/web-expired.yml"
check "expired server certificate: the exporter warns at start" \
  grep -q 'the certificate expired on Jan  2 00:00:00 2020 GMT' "$WORK/expired.log"
rc=$(curl_exit "https://127.0.0.1:$PORT/healthz" --cacert "$WORK/ca.crt")
check "expired server certificate: curl refuses it (exit 60, got $rc)" test "$rc" = 60
check "expired server certificate: curl names the expiry" \
  sh -c "curl -sS --max-time 5 --cacert '$WORK/ca.crt' 'https://127.0.0.1:$PORT/healthz' 2>&1 |
         grep -qi 'expired'"
out=$(s_client "$PORT")
check "expired server certificate: openssl s_client -verify_return_error refuses it" \
  sh -c 'printf "%s" "$1" | grep -q "certificate has expired" &&
         ! printf "%s" "$1" | grep -q "HTTP/1.1 200"' _ "$out"

# --- broken TLS files at start: config error, exit 2 ------------------------------------------
cat > "$WORK/web-badkey.yml" <<YML
tls_server_config:
  cert_file: $WORK/server.crt
  key_file: $WORK/client.key
YML
rc=0
"$EXPORTER" --web.listen-address=127.0.0.1:0 --config.file="$CONFIG" \
  --web.config.file="$WORK/web-badkey.yml" > "$WORK/badkey.log" 2>&1 || rc=$?
check "a key that does not match the certificate: exit 2 at start (got $rc)" test "$rc" = 2
check "... with the file and the reason" grep -qF \
  "$WORK/web-badkey.yml: tls_server_config.key_file: $WORK/client.key: the key does not match the certificate ($WORK/server.crt)" \
  "$WORK/badkey.log"

# --- no libssl-dev at run time ----------------------------------------------------------------
# civetweb dlopen()s "libssl.so" and "libcrypto.so", names only libssl-dev provides. Hide them
# (overlayfs whiteouts, in a private mount namespace) and TLS must still work.
LIBDIR=/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
  mkdir -p "$WORK/ov/upper" "$WORK/ov/work"
  mknod "$WORK/ov/upper/libssl.so" c 0 0
  mknod "$WORK/ov/upper/libcrypto.so" c 0 0
  cat > "$WORK/no-dev.sh" <<SH
set -e
mount -t overlay overlay -o lowerdir=$LIBDIR,upperdir=$WORK/ov/upper,workdir=$WORK/ov/work $LIBDIR
if [ -e $LIBDIR/libssl.so ] || [ -e $LIBDIR/libcrypto.so ]; then echo "not hidden"; exit 3; fi
"$EXPORTER" --web.listen-address=127.0.0.1:0 --config.file="$CONFIG" \
  --web.config.file="$WORK/web-tls.yml" > "$WORK/no-dev.log" 2>&1 &
pid=\$!
for i in \$(seq 100); do
  port=\$(grep 'msg="HTTP server listening"' "$WORK/no-dev.log" | sed -n 's/.* ports=\([0-9][0-9]*\).*/\1/p')
  [ -n "\$port" ] && break
  sleep 0.05
done
code=\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$WORK/ca.crt" "https://127.0.0.1:\$port/healthz" || true)
kill \$pid; wait \$pid || true
echo "code=\$code"
SH
  out=$(unshare -m bash "$WORK/no-dev.sh" 2>&1 || true)
  if printf '%s' "$out" | grep -q "overlay\|not hidden\|mount:"; then
    echo "skip no-libssl-dev check: overlayfs unavailable ($out)"
  else
    check "TLS works with libssl.so and libcrypto.so (libssl-dev) hidden ($out)" \
      test "$out" = "code=200"
  fi
else
  echo "skip no-libssl-dev check: needs root and unshare"
fi

finish
