#!/usr/bin/env bash
# The container image, built by `make image` and run the way deploy/kubernetes runs it: the
# DaemonSet's args, security context and mounts are read from daemonset.yaml and given to
# `podman --runtime runc run`: the network of the node (here a network namespace the test makes,
# with a real BIRD 1.6 in it: no traffic leaves the machine), a read-only root filesystem with no
# tmpfs added, every capability dropped but NET_RAW, uid 0, no new privileges, the ConfigMap's
# config.yml from a read-only mount of /etc/calico-bgp-exporter, BIRD's socket directory from a
# read-only mount of /var/run/calico.
#
# Checks /metrics (BIRD read through the read-only socket mount, a raw-socket probe that worked),
# /healthz, /runbook, `check` inside the container, the process's capabilities and uid, that the
# root filesystem is read-only; then TLS with a web config and a test CA (curl and openssl
# s_client; this needs the TLS compatibility libraries that civetweb loads by path). Prints the
# image's build time and size.
#
#   tests/image/image-test.sh [IMAGE]     root; default localhost/calico-bgp-exporter:<version>
# Needs: buildah, podman, runc, mmdebstrap (make image-deps), bird, curl, openssl, iproute2,
# python3-yaml.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version=$(sed -n 's/^project(calico-bgp-exporter VERSION \([^ )]*\).*/\1/p' "$root/CMakeLists.txt")
IMAGE=${1:-localhost/calico-bgp-exporter:$version}
[ "$(id -u)" = 0 ] || { echo "image-test: needs root (network namespace, podman)" >&2; exit 1; }

NS=cbeimg$$
WORK=$(mktemp -d /tmp/cbe-image-test.XXXXXX)
CONTAINERS=()
FAILURES=0
CHECKS=0
PORT=10179   # The DaemonSet's; the namespace is the test's own, so it is free.

cleanup() {
  local c
  for c in "${CONTAINERS[@]}"; do
    podman --runtime runc rm -f -t 2 "$c" >/dev/null 2>&1 || true
  done
  if [ -s "$WORK/bird.pid" ]; then
    kill "$(cat "$WORK/bird.pid")" 2>/dev/null || true
  fi
  ip netns del "$NS" 2>/dev/null || true
  if [ "$FAILURES" -ne 0 ] || [ "${KEEP_WORK:-0}" = 1 ]; then
    echo "work directory kept: $WORK"
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
wait_for() {  # wait_for "description" seconds command...: polls every 0.2 s until it succeeds.
  local what=$1 secs=$2
  shift 2
  local deadline=$((SECONDS + secs))
  while [ $SECONDS -lt $deadline ]; do
    if "$@" >/dev/null 2>&1; then pass "$what"; return 0; fi
    sleep 0.2
  done
  fail "$what (not within ${secs}s)"
}
in_ns() { ip netns exec "$NS" "$@"; }

# --- the image ---------------------------------------------------------------------------------
build_started=$SECONDS
make -C "$root" --no-print-directory image IMAGE="$IMAGE"
build_seconds=$((SECONDS - build_started))

# --- the node: a network namespace with BIRD 1.6 and one BGP peer that does not answer ----------
ip netns add "$NS"
in_ns ip link set lo up
in_ns ip link add d0 type veth peer name d1   # d1: no address, nothing answers 10.200.0.2
in_ns ip addr add 10.200.0.1/24 dev d0
in_ns ip link set d0 up
in_ns ip link set d1 up
mkdir -p "$WORK/run/calico" "$WORK/etc/tls"
cat > "$WORK/bird.conf" <<'CONF'
router id 10.200.0.1;
protocol device { scan time 10; }
protocol bgp Mesh_10_200_0_2 {
  local as 64512;
  neighbor 10.200.0.2 as 64512;
}
CONF
in_ns bird -c "$WORK/bird.conf" -s "$WORK/run/calico/bird.ctl" -P "$WORK/bird.pid"
wait_for "BIRD 1.6 answers on its socket" 10 birdc -s "$WORK/run/calico/bird.ctl" show status

# --- the DaemonSet's way to run it -----------------------------------------------------------
# Its args, and the podman flags its securityContext and volumeMounts ask for (the volumes come
# from the test: the ConfigMap's config.yml, BIRD's socket directory).
cp "$root/deploy/kubernetes/base/config.yml" "$WORK/etc/config.yml"
mapfile -t DS < <(/usr/bin/python3 - "$root/deploy/kubernetes/base/daemonset.yaml" \
  "$WORK" <<'PY'
import sys, yaml
ds = yaml.safe_load(open(sys.argv[1]))
work = sys.argv[2]
pod = ds["spec"]["template"]["spec"]
c = pod["containers"][0]
sc = {**pod.get("securityContext", {}), **c.get("securityContext", {})}
assert pod.get("hostNetwork") is True, "the DaemonSet must use the node's network"
flags = []
if sc.get("readOnlyRootFilesystem"):
    flags += ["--read-only", "--read-only-tmpfs=false"]  # Kubernetes adds no tmpfs either.
caps = sc.get("capabilities", {})
flags += [f"--cap-drop={x.lower()}" for x in caps.get("drop", [])]
flags += [f"--cap-add={x}" for x in caps.get("add", [])]
flags.append(f"--user={sc['runAsUser']}:{sc.get('runAsGroup', 0)}")
if sc.get("allowPrivilegeEscalation") is False:
    flags.append("--security-opt=no-new-privileges")
if sc.get("privileged"):
    flags.append("--privileged")
for e in c.get("env", []):  # The downward API's node name, as the kubelet would set it.
    if e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName":
        flags.append(f"--env={e['name']}=cbe-image-test-node")
local = {"config": f"{work}/etc", "var-run-calico": f"{work}/run/calico"}
for m in c.get("volumeMounts", []):
    mode = "ro" if m.get("readOnly") else "rw"
    flags.append(f"--volume={local[m['name']]}:{m['mountPath']}:{mode}")
for f in flags:
    print("flag", f)
for a in c.get("args", []):
    print("arg", a)
PY
)
FLAGS=()
ARGS=()
for line in "${DS[@]}"; do
  case "$line" in
    flag\ *) FLAGS+=("${line#flag }") ;;
    arg\ *) ARGS+=("${line#arg }") ;;
  esac
done
echo "DaemonSet: ${FLAGS[*]} -- ${ARGS[*]}"
[ "${#ARGS[@]}" -gt 0 ] || { fail "no args read from daemonset.yaml"; exit 1; }

# run_exporter NAME [extra args]: the image as the DaemonSet runs it, in the test's namespace.
run_exporter() {
  local name=cbe-image-test-$$-$1
  shift
  CONTAINERS+=("$name")
  # podman's default ulimits fail here ("error setting rlimit"), and so does an nproc limit
  # equal to the machine's: the machine's open files, 4096 processes (the exporter runs ~70
  # threads).
  podman --runtime runc run -d --name "$name" --network "ns:/run/netns/$NS" \
    --ulimit "nofile=$(ulimit -Sn):$(ulimit -Hn)" --ulimit nproc=4096:4096 \
    "${FLAGS[@]}" "$IMAGE" "${ARGS[@]}" "$@" >/dev/null
  C=$name
}
metrics() { in_ns curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics"; }
metric_is() {  # metric_is 'series' value
  local m
  m=$(metrics) || return 1
  grep -qxF "$1 $2" <<<"$m"
}

# --- plain HTTP, as shipped --------------------------------------------------------------------
run_exporter plain
wait_for "/healthz answers 200" 20 in_ns curl -sf --max-time 2 "http://127.0.0.1:$PORT/healthz"
check "/metrics: calico_bgp_exporter_build_info of version $version" \
  sh -c "ip netns exec $NS curl -sf http://127.0.0.1:$PORT/metrics |
         grep -q '^calico_bgp_exporter_build_info{.*version=\"$version\"'"
wait_for "/metrics: BIRD read through the read-only socket mount (bird_up 1)" 20 \
  metric_is 'calico_bgp_bird_up{daemon="bird"}' 1
wait_for "/metrics: the session to 10.200.0.2 is down" 20 \
  metric_is 'calico_bgp_peer_up{daemon="bird",protocol="Mesh_10_200_0_2",peer="10.200.0.2",peer_type="node_mesh"}' 0
wait_for "/metrics: the half-open TCP probe ran with a raw socket (NET_RAW kept)" 20 \
  metric_is 'calico_bgp_probe_success{probe="tcp"}' 1
wait_for "/metrics: the ICMP probe ran" 20 metric_is 'calico_bgp_probe_success{probe="icmp"}' 1
check "/healthz body is ok" test "$(in_ns curl -sf "http://127.0.0.1:$PORT/healthz")" = ok
runbook_type=$(in_ns curl -s -o "$WORK/runbook.html" -w '%{http_code} %{content_type}' \
  "http://127.0.0.1:$PORT/runbook")
check "/runbook: 200 text/html (got $runbook_type)" test "$runbook_type" = "200 text/html; charset=utf-8"
check "/runbook has the section of every cause (cause-port_closed ...)" \
  grep -q 'id="cause-port_closed"' "$WORK/runbook.html"

pid=$(podman inspect --format '{{.State.Pid}}' "$C")
status=$(cat "/proc/$pid/status")
check "the container's process is the exporter" \
  test "$(tr '\0' ' ' < "/proc/$pid/cmdline")" = "/usr/local/bin/calico-bgp-exporter ${ARGS[*]} "
check "CapEff is NET_RAW only (0x2000)" grep -qx $'CapEff:\t0000000000002000' <<<"$status"
check "CapPrm is NET_RAW only" grep -qx $'CapPrm:\t0000000000002000' <<<"$status"
check "CapBnd is NET_RAW only" grep -qx $'CapBnd:\t0000000000002000' <<<"$status"
check "uid 0" grep -qx $'Uid:\t0\t0\t0\t0' <<<"$status"
check "no new privileges" grep -qx $'NoNewPrivs:\t1' <<<"$status"
check "root filesystem read-only (podman)" \
  test "$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$C")" = true
touch_out=$(podman exec "$C" sh -c 'touch /tmp/x /etc/x' 2>&1 || true)
check "writing to / fails: Read-only file system" grep -q 'Read-only file system' <<<"$touch_out"
rc=0
podman exec "$C" calico-bgp-exporter "${ARGS[0]}" check > "$WORK/check.txt" 2>&1 || rc=$?
check "check in the container: exit 1 (a session is down)" test "$rc" = 1
check "check lists Mesh_10_200_0_2" grep -q 'Mesh_10_200_0_2' "$WORK/check.txt"
check "check's calico-node hint: both layouts' namespaces (no /var/log/pods in the container)" \
  grep -q 'calico-system (Tigera operator) or kube-system (manifest install, Kubespray)' \
  "$WORK/check.txt"
check "check's calico-node hint: this node (NODE_NAME)" \
  grep -q 'spec.nodeName=cbe-image-test-node' "$WORK/check.txt"
podman logs "$C" > "$WORK/plain.log" 2>&1
check "no error in the exporter's log" sh -c "! grep -q 'level=error' '$WORK/plain.log'"
podman --runtime runc rm -f -t 2 "$C" >/dev/null

# --- TLS with a web config ---------------------------------------------------------------------
(
  cd "$WORK/etc/tls"
  ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
  ec ca.key
  openssl req -x509 -new -key ca.key -days 2 -subj /CN=cbe-image-test-ca -out ca.crt
  ec tls.key
  openssl req -new -key tls.key -subj /CN=calico-bgp-exporter -out tls.csr
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > tls.ext
  openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile tls.ext -out tls.crt 2>/dev/null
)
cat > "$WORK/etc/web.yml" <<'YML'
tls_server_config:
  cert_file: tls/tls.crt   # relative to this file
  key_file: tls/tls.key
YML
run_exporter tls --web.config.file=/etc/calico-bgp-exporter/web.yml
URL="https://127.0.0.1:$PORT"
wait_for "TLS: /healthz 200 with the test CA" 20 \
  in_ns curl -sf --max-time 2 --cacert "$WORK/etc/tls/ca.crt" "$URL/healthz"
check "TLS: /metrics served" sh -c "ip netns exec $NS curl -sf --cacert '$WORK/etc/tls/ca.crt' \
  '$URL/metrics' | grep -q '^calico_bgp_exporter_build_info'"
out=$(printf 'GET /healthz HTTP/1.0\r\n\r\n' | timeout 10 ip netns exec "$NS" openssl s_client \
  -connect "127.0.0.1:$PORT" -CAfile "$WORK/etc/tls/ca.crt" -verify_return_error -ign_eof \
  -tls1_3 2>&1 || true)
check "openssl s_client: TLSv1.3, verified, 200" \
  sh -c 'printf "%s" "$1" | grep -q "Protocol *: TLSv1.3" &&
         printf "%s" "$1" | grep -q "Verify return code: 0 (ok)" &&
         printf "%s" "$1" | grep -q "HTTP/1.1 200 OK"' _ "$out"
check "TLS: plain HTTP gets no answer" \
  test "$(in_ns curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/" || true)" = 000
podman logs "$C" > "$WORK/tls.log" 2>&1
check "no error in the exporter's log (TLS)" sh -c "! grep -q 'level=error' '$WORK/tls.log'"

size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
echo "image $IMAGE: $((size / 1000000)) MB; make image took ${build_seconds} s in this run"
echo "$CHECKS checks, $FAILURES failed"
[ "$FAILURES" -eq 0 ]
