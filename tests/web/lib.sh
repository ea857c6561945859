# Shared by tests/web/*.sh: certificates, web configs, an exporter on 127.0.0.1 and checks.
# Every test: `source lib.sh EXPORTER`, then use the functions; cleanup runs on exit, also on
# failure. Needs: openssl, curl, /usr/bin/python3 (bcrypt hashes through libcrypt).

set -euo pipefail

EXPORTER=${1:?usage: $0 path/to/calico-bgp-exporter}
EXPORTER=$(readlink -f "$EXPORTER")
WORK=$(mktemp -d /tmp/cbe-web-test.XXXXXX)
PIDS=()
FAILURES=0
CHECKS=0

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$FAILURES" -ne 0 ] || [ "${KEEP_WORK:-0}" = 1 ]; then
    echo "work directory kept: $WORK"
    for f in "$WORK"/*.log; do
      [ -e "$f" ] || continue
      echo "--- $f"
      tail -n 30 "$f"
    done
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

pass() { CHECKS=$((CHECKS + 1)); echo "ok   $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILURES=$((FAILURES + 1)); echo "FAIL $*"; }
check() {  # check "description" command...
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
  echo "$CHECKS checks, $FAILURES failed"
  [ "$FAILURES" -eq 0 ]
}

# --- certificates ----------------------------------------------------------------------------
# $WORK/ca.{crt,key}: the CA; server.{crt,key}: 127.0.0.1 and localhost; client.{crt,key}: a
# client of the CA; rogue.{crt,key}: a client of another CA; expired.{crt,key}: a server
# certificate of the CA that expired in 2020; server2.{crt,key}: another server certificate.
make_certs() {
  local d=$WORK
  (
    cd "$d"
    ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
    ec ca.key
    openssl req -x509 -new -key ca.key -days 2 -subj /CN=cbe-test-ca -out ca.crt
    ec rogue-ca.key
    openssl req -x509 -new -key rogue-ca.key -days 2 -subj /CN=cbe-rogue-ca -out rogue-ca.crt
    sign() {  # sign NAME CA EXTENSIONS
      ec "$1.key"
      openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr"
      printf '%s\n' "$3" > "$1.ext"
      openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 2 \
        -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    }
    sign server ca "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
    sign server2 ca "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
    sign client ca "subjectAltName=DNS:prometheus.test
extendedKeyUsage=clientAuth"
    sign other-san ca "subjectAltName=DNS:intruder.test
extendedKeyUsage=clientAuth"
    sign rogue rogue-ca "subjectAltName=DNS:prometheus.test
extendedKeyUsage=clientAuth"
    # Expired: signed by the CA, valid for one day in 2020 (openssl ca sets the dates).
    mkdir -p ca-db
    : > ca-db/index.txt
    echo 1000 > ca-db/serial
    cat > ca-db/ca.cnf <<CNF
[ ca ]
default_ca = expired_ca
[ expired_ca ]
database = $d/ca-db/index.txt
new_certs_dir = $d/ca-db
serial = $d/ca-db/serial
default_md = sha256
policy = any
copy_extensions = copy
[ any ]
commonName = supplied
CNF
    ec expired.key
    openssl req -new -key expired.key -subj /CN=expired -addext \
      "subjectAltName=IP:127.0.0.1,DNS:localhost" -out expired.csr
    openssl ca -batch -config ca-db/ca.cnf -cert ca.crt -keyfile ca.key -in expired.csr \
      -startdate 20200101000000Z -enddate 20200102000000Z -notext -out expired.crt 2>/dev/null
  )
}

# bcrypt at cost 4 (fast tests) through libcrypt, as htpasswd -B would make it.
bcrypt() {
  /usr/bin/python3 -W ignore -c \
    'import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))' \
    "$1"
}

# --- the exporter ----------------------------------------------------------------------------
# A config without probes (nothing but BIRD, which is absent: bird_up 0, fine here).
no_probes_config() {
  cat > "$WORK/config.yml" <<'CFG'
probes:
  tcp: {enabled: false}
  icmp: {enabled: false}
  mtu: {enabled: false}
  listener: {enabled: false}
CFG
  echo "$WORK/config.yml"
}

# start_exporter NAME [flags...]: starts it on 127.0.0.1 with a port of its own choosing, waits
# until it listens; sets PORT and PID. The log is $WORK/NAME.log.
start_exporter() {
  local name=$1
  shift
  local log="$WORK/$name.log"
  "$EXPORTER" --web.listen-address=127.0.0.1:0 "$@" > "$log" 2>&1 &
  PID=$!
  PIDS+=("$PID")
  PORT=""
  local deadline=$((SECONDS + 10))
  while [ $SECONDS -lt $deadline ]; do
    PORT=$(grep 'msg="HTTP server listening"' "$log" | head -n1 | sed -n 's/.* ports=\([0-9][0-9]*\).*/\1/p' || true)
    [ -n "$PORT" ] && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "exporter $name did not start:"
  cat "$log"
  return 1
}

# wait_for "description" seconds command...: polls until the command succeeds.
wait_for() {
  local what=$1 secs=$2
  shift 2
  local deadline=$((SECONDS + secs))
  while [ $SECONDS -lt $deadline ]; do
    if "$@" >/dev/null 2>&1; then pass "$what"; return 0; fi
    sleep 0.2
  done
  fail "$what (not within ${secs}s)"
  return 0
}

# http_code URL [curl args...]: the status code, or 000 when no HTTP answer came.
http_code() {
  local url=$1
  shift
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$url" || true
}

# code_is CODE URL [curl args...]: true when the answer has that status (for wait_for, which
# must run the request again on every try).
code_is() {
  local want=$1
  shift
  [ "$(http_code "$@")" = "$want" ]
}

# curl_exit URL [curl args...]: curl's exit code (0 on success, 35/56/60... on TLS errors).
curl_exit() {
  local url=$1 rc=0
  shift
  curl -s -o /dev/null --max-time 5 "$@" "$url" || rc=$?
  echo "$rc"
}
