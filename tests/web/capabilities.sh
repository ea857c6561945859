#!/usr/bin/env bash
# Least privilege, as root: after start the exporter holds CAP_NET_RAW and nothing else in its
# effective, permitted and bounding sets (every thread), no inheritable or ambient capability,
# no_new_privs; its probes still work. Without CAP_NET_RAW a probe reports `unprobed` with the
# reason. On a port below 1024 it keeps CAP_NET_BIND_SERVICE too. Started as nobody with an
# ambient CAP_NET_RAW it keeps that in its effective set. The binary imports no way to run a
# program.
#   tests/web/capabilities.sh build/calico-bgp-exporter      (needs root)
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
  echo "skip: needs root"
  exit 0
fi
NET_RAW=0000000000002000
NET_RAW_BIND=0000000000002400  # + CAP_NET_BIND_SERVICE
NONE=0000000000000000

# Probes enabled (this is the one test with them): a static peer on loopback, whose port 179
# answers the SYN probe with a RST when nothing listens.
cat > "$WORK/config.yml" <<'CFG'
peers:
  static:
    - {address: 127.0.0.1, name: loopback}
probes:
  tcp: {interval: 1s, timeout: 500ms}
  icmp: {interval: 1s, timeout: 500ms}
  mtu: {enabled: false}
  listener: {enabled: false}
CFG
chmod 0644 "$WORK/config.yml"
chmod 0755 "$WORK"

cap() {  # cap PID FIELD: e.g. cap 123 CapEff -> 0000000000002000
  sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"
}
every_thread() {  # every_thread PID FIELD VALUE: all threads agree
  local t
  for t in /proc/"$1"/task/*; do
    [ "$(sed -n "s/^$2:[[:space:]]*//p" "$t/status")" = "$3" ] || return 1
  done
}
metric() {  # metric PORT SELECTOR: the scraped lines matching
  curl -sf --max-time 5 "http://127.0.0.1:$1/metrics" | grep -F "$2" || true
}

# --- root --------------------------------------------------------------------------------------
start_exporter root --config.file="$WORK/config.yml"
wait_for "the TCP probe ran" 10 grep -q 'probe=tcp peer=127.0.0.1 state=closed' "$WORK/root.log"
check "CapEff is CAP_NET_RAW only ($(cap "$PID" CapEff))" test "$(cap "$PID" CapEff)" = "$NET_RAW"
check "CapPrm is CAP_NET_RAW only ($(cap "$PID" CapPrm))" test "$(cap "$PID" CapPrm)" = "$NET_RAW"
check "CapBnd is CAP_NET_RAW only ($(cap "$PID" CapBnd))" test "$(cap "$PID" CapBnd)" = "$NET_RAW"
check "CapInh is empty" test "$(cap "$PID" CapInh)" = "$NONE"
check "CapAmb is empty" test "$(cap "$PID" CapAmb)" = "$NONE"
check "NoNewPrivs is set" test "$(cap "$PID" NoNewPrivs)" = 1
check "still uid 0 (BIRD's socket is root's)" test "$(awk '/^Uid:/ {print $3}' "/proc/$PID/status")" = 0
check "every thread ($(ls /proc/"$PID"/task | wc -l)) has CapEff = CAP_NET_RAW" \
  every_thread "$PID" CapEff "$NET_RAW"
check "every thread has CapBnd = CAP_NET_RAW" every_thread "$PID" CapBnd "$NET_RAW"
check "the drop is logged" grep -q 'kept=cap_net_raw .*msg="dropped capabilities"' "$WORK/root.log"
check "the SYN probe (raw socket) works after the drop: closed" \
  sh -c "curl -sf 'http://127.0.0.1:$PORT/metrics' | grep -q 'calico_bgp_peer_port_state{.*peer=\"127.0.0.1\".*state=\"closed\".* 1'"

# --- root without CAP_NET_RAW: the probes say why they cannot run ------------------------------
rc=0
setpriv --bounding-set=-net_raw --inh-caps=-net_raw true || rc=$?
if [ "$rc" = 0 ]; then
  EXPORTER_ORIG=$EXPORTER
  EXPORTER_WRAPPER="$WORK/no-net-raw.sh"
  printf '#!/bin/sh\nexec setpriv --bounding-set=-net_raw --inh-caps=-net_raw %s "$@"\n' \
    "$EXPORTER_ORIG" > "$EXPORTER_WRAPPER"
  chmod +x "$EXPORTER_WRAPPER"
  EXPORTER=$EXPORTER_WRAPPER
  start_exporter no-raw --config.file="$WORK/config.yml"
  EXPORTER=$EXPORTER_ORIG
  wait_for "without CAP_NET_RAW the TCP probe reports unprobed with the reason" 10 \
    grep -q 'probe=tcp peer=127.0.0.1 state=unprobed reason="raw socket (needs CAP_NET_RAW): Operation not permitted"' \
    "$WORK/no-raw.log"
  check "... and the metrics say unprobed" \
    sh -c "curl -sf 'http://127.0.0.1:$PORT/metrics' | grep -q 'calico_bgp_peer_port_state{.*peer=\"127.0.0.1\".*state=\"unprobed\".* 1'"
  check "... and it keeps no capability at all ($(cap "$PID" CapEff))" \
    test "$(cap "$PID" CapEff)" = "$NONE" -a "$(cap "$PID" CapBnd)" = "$NONE"
else
  echo "skip: setpriv cannot drop from the bounding set here"
fi

# --- a port below 1024 keeps CAP_NET_BIND_SERVICE (the server rebinds on TLS changes) ----------
LOW_PORT=$(/usr/bin/python3 -c '
import socket
for p in range(900, 1000):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()')
"$EXPORTER" --config.file="$WORK/config.yml" --web.listen-address="127.0.0.1:$LOW_PORT" \
  > "$WORK/low.log" 2>&1 &
LOW_PID=$!
PIDS+=("$LOW_PID")
wait_for "port $LOW_PORT: listening" 10 code_is 200 "http://127.0.0.1:$LOW_PORT/healthz"
check "port $LOW_PORT: CapEff is CAP_NET_RAW + CAP_NET_BIND_SERVICE ($(cap "$LOW_PID" CapEff))" \
  test "$(cap "$LOW_PID" CapEff)" = "$NET_RAW_BIND"
check "port $LOW_PORT: CapBnd likewise" test "$(cap "$LOW_PID" CapBnd)" = "$NET_RAW_BIND"

# --- nobody with an ambient CAP_NET_RAW (systemd AmbientCapabilities=, Kubernetes non-root) ----
cp "$EXPORTER" "$WORK/exporter-copy"  # Reachable for nobody whatever the build tree's modes.
chmod 0755 "$WORK/exporter-copy"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+net_raw --ambient-caps=+net_raw \
  "$WORK/exporter-copy" --config.file="$WORK/config.yml" --web.listen-address=127.0.0.1:0 \
  > "$WORK/nobody.log" 2>&1 &
NOBODY_PID=$!
PIDS+=("$NOBODY_PID")
wait_for "nobody: the TCP probe works with the ambient CAP_NET_RAW" 10 \
  grep -q 'probe=tcp peer=127.0.0.1 state=closed' "$WORK/nobody.log"
check "nobody: CapEff is CAP_NET_RAW ($(cap "$NOBODY_PID" CapEff))" \
  test "$(cap "$NOBODY_PID" CapEff)" = "$NET_RAW"
check "nobody: the ambient and inheritable sets are cleared" \
  test "$(cap "$NOBODY_PID" CapAmb)" = "$NONE" -a "$(cap "$NOBODY_PID" CapInh)" = "$NONE"
check "nobody: NoNewPrivs is set" test "$(cap "$NOBODY_PID" NoNewPrivs)" = 1

# --- never a shell or another program ----------------------------------------------------------
imports=$(nm -D --undefined-only "$EXPORTER" | awk '{print $NF}' | sed 's/@.*//' |
  grep -Ex '(system|popen|fork|vfork|clone|clone3|execl|execle|execlp|execv|execve|execvp|execvpe|fexecve|posix_spawn|posix_spawnp)' || true)
check "the binary imports no function that runs a program (found: ${imports:-none})" \
  test -z "$imports"

finish
