#!/usr/bin/env bash
# The web config is re-read when it (or a file it names) changes, without a restart: a new user
# works, a broken file is logged and the running config kept, turning TLS on and renewing the
# certificate restart the HTTP server in-process on the same port.
#   tests/web/reload.sh build/calico-bgp-exporter
source "$(dirname "$0")/lib.sh"

make_certs
CONFIG=$(no_probes_config)
ALICE=$(bcrypt alice-pw)
BOB=$(bcrypt bob-pw)
WEB="$WORK/web.yml"
replace() {  # replace FILE: stdin becomes FILE at once (rename), as config management does.
  cat > "$1.new"
  mv "$1.new" "$1"
}

replace "$WEB" <<YML
basic_auth_users:
  alice: $ALICE
YML
start_exporter reload --config.file="$CONFIG" --web.config.file="$WEB" --log.level=debug
FIRST_PID=$PID
BASE="http://127.0.0.1:$PORT"
check "alice works" test "$(http_code "$BASE/metrics" -u alice:alice-pw)" = 200
check "bob is not a user yet" test "$(http_code "$BASE/metrics" -u bob:bob-pw)" = 401

# --- a new user ------------------------------------------------------------------------------
replace "$WEB" <<YML
basic_auth_users:
  alice: $ALICE
  bob: $BOB
YML
wait_for "bob works once added, without a restart" 15 \
  code_is 200 "$BASE/metrics" -u bob:bob-pw
check "alice still works" test "$(http_code "$BASE/metrics" -u alice:alice-pw)" = 200
check "users applied without restarting the HTTP server" \
  grep -q 'basic_auth_users=2 restarted=false msg="web config applied"' "$WORK/reload.log"

# --- a broken file ----------------------------------------------------------------------------
replace "$WEB" <<'YML'
basic_auth_users:
  alice: [unterminated
YML
wait_for "a broken web config is logged" 15 \
  grep -q 'msg="web config not applied, keeping the running one"' "$WORK/reload.log"
check "... with file, line and column" \
  grep -q "err=\"$WEB:3:1: invalid YAML" "$WORK/reload.log"
check "the running config is kept: bob still works" \
  test "$(http_code "$BASE/metrics" -u bob:bob-pw)" = 200
check "... and no credentials still get 401" test "$(http_code "$BASE/metrics")" = 401
# Two more polls (the debug log says each one): a broken file is reported once, not every poll.
polls() { grep -c 'msg="web config polled"' "$WORK/reload.log" || true; }
polls_at_least() { test "$(polls)" -ge "$1"; }
wait_for "two more polls of the web config" 15 polls_at_least $(($(polls) + 2))
check "the same broken file is logged once" \
  test "$(grep -c 'msg="web config not applied' "$WORK/reload.log")" = 1

replace "$WEB" <<YML
basic_auth_users:
  alice: not-a-hash
YML
wait_for "an invalid hash is logged too" 15 \
  grep -q "err=\"$WEB:2:10: basic_auth_users.alice: must be a bcrypt hash" "$WORK/reload.log"
check "bob still works" test "$(http_code "$BASE/metrics" -u bob:bob-pw)" = 200

# --- authentication off: applies to the next request, no restart ---------------------------
replace "$WEB" <<'YML'
http_server_config:
  headers:
    X-Frame-Options: sameorigin
YML
wait_for "no users: /metrics without credentials" 15 code_is 200 "$BASE/metrics"
wait_for "authentication turned off without restarting the HTTP server" 5 \
  grep -q 'basic_auth_users=0 restarted=false msg="web config applied"' "$WORK/reload.log"
check "headers apply" sh -c "curl -s -D - -o /dev/null '$BASE/' | grep -qi '^X-Frame-Options: sameorigin'"

# --- TLS on: the server restarts in-process, same port ----------------------------------------
replace "$WEB" <<YML
tls_server_config:
  cert_file: $WORK/server.crt
  key_file: $WORK/server.key
basic_auth_users:
  alice: $ALICE
YML
wait_for "TLS turned on: https on the same port" 15 \
  code_is 200 "https://127.0.0.1:$PORT/metrics" --cacert "$WORK/ca.crt" -u alice:alice-pw
check "plain HTTP no longer answers" test "$(http_code "$BASE/metrics" -u alice:alice-pw)" = 000
check "the HTTP server restarted for it" \
  grep -q 'msg="restarting the HTTP server for the new web config"' "$WORK/reload.log"

serial() {
  timeout 5 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$WORK/ca.crt" </dev/null 2>/dev/null |
    openssl x509 -noout -subject 2>/dev/null || true
}
check "serves the first certificate" sh -c "printf '%s' '$(serial)' | grep -q 'CN = server$'"

# --- the certificate renewed in place (same file names) ---------------------------------------
cp "$WORK/server2.key" "$WORK/server.key.new"
cp "$WORK/server2.crt" "$WORK/server.crt.new"
mv "$WORK/server.key.new" "$WORK/server.key"
mv "$WORK/server.crt.new" "$WORK/server.crt"
wait_for "a renewed certificate is served without a restart of the process" 15 \
  sh -c "timeout 5 openssl s_client -connect 127.0.0.1:$PORT -CAfile '$WORK/ca.crt' </dev/null 2>/dev/null |
         openssl x509 -noout -subject | grep -q 'CN = server2$'"

# --- a broken certificate: kept out, the server keeps serving ---------------------------------
cp "$WORK/client.key" "$WORK/server.key"  # No longer matches server.crt.
wait_for "a key that does not match is logged" 15 \
  grep -q 'the key does not match the certificate' "$WORK/reload.log"
check "the running TLS server keeps serving" \
  test "$(http_code "https://127.0.0.1:$PORT/healthz" --cacert "$WORK/ca.crt" -u alice:alice-pw)" = 200
cp "$WORK/server2.key" "$WORK/server.key"

check "one process throughout (pid $FIRST_PID)" kill -0 "$FIRST_PID"
check "no crash, no restart of the process" \
  test "$(grep -c 'msg="starting calico-bgp-exporter"' "$WORK/reload.log")" = 1

finish
