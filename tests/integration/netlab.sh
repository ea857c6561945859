#!/usr/bin/env bash
# A routed lab for the peer probes: a <-> r <-> z, with a 1400-byte link between r and z.
#
#   netlab.sh up P DIR      namespaces P-a, P-r, P-z; BIRD 1.6 on a and z, one iBGP session
#                           a <-> z (multihop, graceful restart, Calico's timers)
#
# Environment: NETLAB_Z_MTU (default 1400) is the MTU of z's own interface. With 1500, z and a
# both believe in 1500 while r's link to z carries 1400: large segments vanish in both directions
# once r's ICMP errors are dropped (a PMTU black hole). NETLAB_A_ROUTES (default 0) makes a
# export that many /32 routes to z (large UPDATEs); NETLAB_HOLD sets both ends' hold time.
#   netlab.sh down P        kill everything in P-* and delete the namespaces
#   netlab.sh bird-start P DIR NODE / bird-stop P NODE / birdc P DIR NODE CMD
#
#   P-a  eth0 10.98.1.2/24  fd00:98:1::2/64  mtu 1500   (the observed node)
#   P-r  a0   10.98.1.1/24  fd00:98:1::1/64  mtu 1500   (router, ip_forward)
#        z0   10.98.2.1/24  fd00:98:2::1/64  mtu 1400
#   P-z  eth0 10.98.2.2/24  fd00:98:2::2/64  mtu 1400   (the peer)
#
# Only namespace-internal addresses; the host's namespace is never touched.
set -euo pipefail
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"

die() { echo "netlab.sh: $*" >&2; exit 1; }
check_prefix() { [[ "$1" =~ ^[A-Za-z0-9]{1,14}$ ]] || die "bad prefix '$1'"; }

addr_of() {
  case "$1" in a) echo 10.98.1.2 ;; z) echo 10.98.2.2 ;; *) die "no BIRD on '$1'" ;; esac
}

write_bird_conf() {  # dir node
  local dir="$1" node="$2" me peer
  me=$(addr_of "$node")
  if [[ "$node" == a ]]; then peer=10.98.2.2; else peer=10.98.1.2; fi
  mkdir -p "$dir/$node"
  local routes="${NETLAB_A_ROUTES:-0}" hold="${NETLAB_HOLD:-}" static="" export_rule="export none;"
  local timers=""
  if [[ -n "$hold" ]]; then
    timers="  hold time $hold;
  keepalive time $(( hold / 3 ));"
  fi
  if [[ "$node" == a && "$routes" -gt 0 ]]; then
    static="protocol static {
$(for i in $(seq 0 $((routes - 1))); do echo "  route 10.200.$((i / 250)).$((i % 250 + 1))/32 blackhole;"; done)
}"
    export_rule="export all;"
  fi
  cat >"$dir/$node/bird.conf" <<CONF
log "$dir/$node/bird.log" all;
router id $me;
protocol device { scan time 2; }
protocol direct { interface "*"; }
protocol kernel { export none; }
$static
template bgp bgp_template {
  debug { states };
  local as 64512;
  multihop;
  gateway recursive;
  import all;
  $export_rule
$timers
  add paths on;
  graceful restart;
  connect delay time 1;
  connect retry time 3;
  error wait time 5,60;
}
protocol bgp Mesh_${peer//./_} from bgp_template {
  neighbor $peer as 64512;
  source address $me;
}
CONF
}

bird_start() {  # prefix dir node
  local p="$1" dir="$2" node="$3"
  write_bird_conf "$dir" "$node"
  rm -f "$dir/$node/bird.ctl"
  ip netns exec "$p-$node" /usr/sbin/bird -c "$dir/$node/bird.conf" -s "$dir/$node/bird.ctl" \
    -P "$dir/$node/bird.pid"
  for _ in $(seq 1 50); do
    [[ -S "$dir/$node/bird.ctl" ]] && return 0
    sleep 0.1
  done
  die "BIRD on $node did not create its socket"
}

bird_stop() {  # prefix node
  local p="$1" node="$2" pid
  for pid in $(ip netns pids "$p-$node" 2>/dev/null); do
    [[ "$(cat /proc/"$pid"/comm 2>/dev/null)" == bird ]] && kill "$pid" 2>/dev/null || true
  done
  for _ in $(seq 1 50); do
    local alive=0
    for pid in $(ip netns pids "$p-$node" 2>/dev/null); do
      [[ "$(cat /proc/"$pid"/comm 2>/dev/null)" == bird ]] &&
        [[ "$(awk '{print $3}' /proc/"$pid"/stat 2>/dev/null)" != Z ]] && alive=1
    done
    [[ $alive == 0 ]] && return 0
    sleep 0.1
  done
  die "BIRD on $node did not stop"
}

up() {  # prefix dir
  local p="$1" dir="$2"
  mkdir -p "$dir"
  for n in a r z; do
    ip netns add "$p-$n"
    ip netns exec "$p-$n" ip link set lo up
    ip netns exec "$p-$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  done
  ip netns exec "$p-r" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  ip -n "$p-a" link add eth0 type veth peer name a0 netns "$p-r"
  ip -n "$p-z" link add eth0 type veth peer name z0 netns "$p-r"
  ip -n "$p-r" link set z0 mtu 1400
  ip -n "$p-z" link set eth0 mtu "${NETLAB_Z_MTU:-1400}"
  ip -n "$p-a" addr add 10.98.1.2/24 dev eth0
  ip -n "$p-a" addr add fd00:98:1::2/64 dev eth0 nodad
  ip -n "$p-r" addr add 10.98.1.1/24 dev a0
  ip -n "$p-r" addr add fd00:98:1::1/64 dev a0 nodad
  ip -n "$p-r" addr add 10.98.2.1/24 dev z0
  ip -n "$p-r" addr add fd00:98:2::1/64 dev z0 nodad
  ip -n "$p-z" addr add 10.98.2.2/24 dev eth0
  ip -n "$p-z" addr add fd00:98:2::2/64 dev eth0 nodad
  for l in "a eth0" "r a0" "r z0" "z eth0"; do
    set -- $l
    ip -n "$p-$1" link set "$2" up
  done
  ip -n "$p-a" route add 10.98.2.0/24 via 10.98.1.1
  ip -n "$p-a" -6 route add fd00:98:2::/64 via fd00:98:1::1
  ip -n "$p-z" route add 10.98.1.0/24 via 10.98.2.1
  ip -n "$p-z" -6 route add fd00:98:1::/64 via fd00:98:2::1
  bird_start "$p" "$dir" a
  bird_start "$p" "$dir" z
}

down() {  # prefix
  local p="$1" ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$p-[a-z]\$" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns delete "$ns" 2>/dev/null || true
  done
}

cmd="${1:-}"
shift || true
case "$cmd" in
  up) check_prefix "$1"; down "$1"; up "$1" "$2" || { down "$1"; exit 1; } ;;
  down) check_prefix "$1"; down "$1" ;;
  bird-start) check_prefix "$1"; bird_start "$1" "$2" "$3" ;;
  bird-stop) check_prefix "$1"; bird_stop "$1" "$2" ;;
  birdc) check_prefix "$1"; /usr/sbin/birdc -s "$2/$3/bird.ctl" "$4" ;;
  *) die "usage: netlab.sh up|down|bird-start|bird-stop|birdc ..." ;;
esac
