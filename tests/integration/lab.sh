#!/usr/bin/env bash
# Integration-test lab: real BIRD daemons in network namespaces (see README.md next to this file).
#
#   lab.sh up P V DIR                 build namespaces P-hub and one per node (V 1, 2: a b c e f g;
#                                     V fork, 3: also d and i), write configs to DIR/<node>/, drop
#                                     tcp/179 on d, start BIRD everywhere except on c
#   lab.sh down P                     kill everything running in P-* and delete the namespaces
#   lab.sh bird-start P V DIR NODE    start BIRD on NODE (a, a:6 = bird6 of BIRD 1.6 / the fork)
#   lab.sh bird-stop P NODE           SIGTERM (then SIGKILL after 5 s) and wait until it is gone
#   lab.sh bird-kill P NODE           SIGKILL; the control socket file stays behind (stale)
#   lab.sh birdc P V DIR NODE CMD     run the matching birdc against NODE's control socket
#   lab.sh remove-protocol P V DIR NODE NAME
#                                     drop `protocol bgp NAME` from NODE's config, birdc configure
#   lab.sh status P V DIR             `show protocols` of every running daemon (for humans)
#
# P: lab prefix (letters/digits, at most 16 characters), unique per lab.
# V: BIRD flavour:
#    1     Debian's BIRD 1.6.8 (bird + bird6, two daemons), configs/bird1/
#    2     Debian's BIRD 2.0.12 (one daemon), configs/bird2/
#    fork  Calico's fork v0.3.3+birdv1.6.8 (bird + bird6, two sockets bird.ctl/bird6.ctl, as
#          calico-node runs it), configs as confd renders them (calico_birdcfg.py)
#    3     BIRD 3.3.0 (one daemon, one bird.ctl), configs as Calico's BIRD 3 migration renders
#          them (calico_birdcfg.py: timeformat protocol "%F")
# NODE: a b c e f g (+ d i with fork and 3); with ":6" the bird6 daemon of that node (V=1:
# a b c; V=fork: a b c i).
# BIRD 2 is taken from $CBE_BIRD2_DIR (a `dpkg -x` of Debian's bird2 package), default
# build/bird2; the fork from $CBE_CALICO_BIRD_DIR, default build/third_party/calico-bird; BIRD 3
# from $CBE_BIRD3_DIR, default build/third_party/bird3 (.ci/build-third-party-birds builds both);
# relative paths are relative to the repository root.
#
# Only namespace-internal addresses are used (10.99.0.0/24, fd00:99::/64); nothing touches
# the host's network namespace.
set -euo pipefail
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"

kScriptDir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kRepoRoot="$(cd "${kScriptDir}/../.." && pwd)"
readonly kScriptDir kRepoRoot
readonly kConfigDir="${kScriptDir}/configs"
readonly kCalicoLab="${kConfigDir}/calico/lab.json"

die() {
  echo "lab.sh: $*" >&2
  exit 1
}

# Addresses of a node (node_v6 prints nothing for nodes without IPv6).
node_v4() {
  case "$1" in
    a) echo 10.99.0.5 ;; b) echo 10.99.0.1 ;; c) echo 10.99.0.2 ;;
    e) echo 10.99.0.4 ;; f) echo 10.99.0.6 ;; g) echo 10.99.0.7 ;;
    d) echo 10.99.0.3 ;; i) echo 10.99.0.9 ;;
    *) die "unknown node '$1'" ;;
  esac
}
node_v6() {
  case "$1" in
    a) echo fd00:99::5 ;; b) echo fd00:99::1 ;; c) echo fd00:99::2 ;;
    i) echo fd00:99::9 ;;
    *) echo "" ;;
  esac
}

check_prefix() {
  [[ "$1" =~ ^[A-Za-z0-9]{1,16}$ ]] || die "bad lab prefix '$1' (1-16 letters/digits)"
}
check_flavour() {
  [[ "$1" == 1 || "$1" == 2 || "$1" == fork || "$1" == 3 ]] ||
    die "bad BIRD flavour '$1' (1, 2, fork or 3)"
}

# Flavours whose configs calico_birdcfg.py renders (Calico's fork and BIRD 3).
calico_rendered() {
  [[ "$1" == fork || "$1" == 3 ]]
}

# The lab's nodes (namespaces) for a flavour.
lab_nodes() {  # flavour
  if calico_rendered "$1"; then
    echo a b c d e f g i
  else
    echo a b c e f g
  fi
}

# A directory from an environment variable, relative to the repository root unless absolute.
repo_dir() {  # value
  local d="$1"
  [[ "$d" == /* ]] || d="${kRepoRoot}/${d}"
  echo "$d"
}

bird2_dir() {
  repo_dir "${CBE_BIRD2_DIR:-build/bird2}"
}

third_party_bird_dir() {  # flavour (fork or 3)
  if [[ "$1" == fork ]]; then
    repo_dir "${CBE_CALICO_BIRD_DIR:-build/third_party/calico-bird}"
  else
    repo_dir "${CBE_BIRD3_DIR:-build/third_party/bird3}"
  fi
}

# The config file of a daemon: Calico's name (bird.cfg, bird6.cfg) for the rendered flavours.
conf_file() {  # flavour dir node daemon
  if calico_rendered "$1"; then
    echo "$2/$3/$4.cfg"
  else
    echo "$2/$3/$4.conf"
  fi
}

# Splits a daemon spec "a" / "a:6" into globals: node, daemon (bird|bird6).
parse_spec() {
  local spec="$1"
  node="${spec%%:*}"
  daemon=bird
  if [[ "$spec" == *:6 ]]; then
    daemon=bird6
  elif [[ "$spec" == *:* ]]; then
    die "bad daemon spec '$spec' (NODE or NODE:6)"
  fi
  node_v4 "$node" >/dev/null
}

bird_bin() {  # flavour daemon
  if [[ "$1" == 1 ]]; then
    echo "/usr/sbin/$2"
  elif calico_rendered "$1"; then
    local b
    b="$(third_party_bird_dir "$1")/$2"
    [[ -x "$b" ]] || die "$b not found (build it: .ci/build-third-party-birds build/third_party," \
      "or make third-party-birds; or set CBE_CALICO_BIRD_DIR / CBE_BIRD3_DIR)"
    echo "$b"
  else
    local b
    b="$(bird2_dir)/usr/sbin/bird"
    [[ -x "$b" ]] || die "BIRD 2 not found at $b (set CBE_BIRD2_DIR; create it with:" \
      "apt-get download bird2 && dpkg -x bird2_*.deb build/bird2;" \
      "apt-get install libssh-gcrypt-4)"
    echo "$b"
  fi
}

birdc_bin() {  # flavour
  if [[ "$1" == 1 ]]; then
    echo /usr/sbin/birdc
  elif calico_rendered "$1"; then
    echo "$(third_party_bird_dir "$1")/birdcl"
  else
    echo "$(bird2_dir)/usr/sbin/birdc"
  fi
}

# Daemons of a node for a flavour: "bird" or "bird bird6".
node_daemons() {  # flavour node
  if [[ ("$1" == 1 || "$1" == fork) && -n "$(node_v6 "$2")" ]]; then
    echo "bird bird6"
  else
    echo "bird"
  fi
}

lab_namespaces() {  # prefix -> existing namespaces of the lab
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$1-(hub|[a-z])\$" || true
}

# Removes `protocol bgp NAME ... }` (up to the first line that is a lone `}`) from stdin.
drop_protocol() {  # name
  awk -v name="$1" '
    $0 ~ ("^protocol bgp " name "[ \t{]") { skip = 1 }
    skip && /^}/ { skip = 0; next }
    !skip { print }'
}

write_config() {  # flavour dir node daemon
  local flavour="$1" dir="$2" node="$3" daemon="$4"
  local src="${kConfigDir}/bird${flavour}/${node}/${daemon}.conf"
  local dst="${dir}/${node}/${daemon}.conf"
  [[ -f "$src" ]] || die "missing fixture config $src"
  mkdir -p "${dir}/${node}"
  # Absolute log path; the kernel protocol keeps its name (kernel1/kernel2) but exports nothing,
  # so the lab never programs routes; protocols towards nodes that are not part of this lab
  # (d = 10.99.0.3, i = 10.99.0.9) are dropped. The passive ones towards h stay (no traffic).
  sed -e "s|^log \"${daemon}.log\" all;|log \"${dir}/${node}/${daemon}.log\" all;|" \
      -e 's|export filter calico_kernel_programming;.*$|export none;|' "$src" |
    drop_protocol Mesh_10_99_0_3 | drop_protocol Node_10_99_0_9 >"${dst}.tmp"
  grep -q "^log \"${dir}/${node}/${daemon}.log\" all;" "${dst}.tmp" ||
    die "could not set the log path in $dst"
  mv "${dst}.tmp" "$dst"
}

# The rendered flavours: every node's files from the lab description, as confd would render
# them (with the log path and `export none` on the kernel protocols, see calico_birdcfg.py).
write_calico_configs() {  # flavour dir
  local generator=bird3
  [[ "$1" == fork ]] && generator=fork
  # shellcheck disable=SC2046
  /usr/bin/python3 "${kScriptDir}/calico_birdcfg.py" --flavour "$generator" --lab "$kCalicoLab" \
    --out "$2" $(lab_nodes "$1") || die "calico_birdcfg.py failed"
}

# A daemon of a flavour with a bird6 (1.6 and the fork only).
check_daemon() {  # flavour daemon
  [[ "$2" == bird || "$1" == 1 || "$1" == fork ]] ||
    die "bird6 only exists with BIRD 1.6 and Calico's fork"
}

# A zombie counts as gone: daemonized BIRDs are reparented to PID 1, which may reap late
# (in this container it takes a few seconds).
pid_alive() {
  [[ -n "$1" ]] || return 1
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != Z ]]
}

wait_gone() {  # pid tenths-of-a-second
  local i
  for ((i = 0; i < $2; i++)); do
    pid_alive "$1" || return 0
    sleep 0.1
  done
  ! pid_alive "$1"
}

cmd_bird_start() {  # prefix flavour dir spec
  local prefix="$1" flavour="$2" dir="$3" node daemon
  parse_spec "$4"
  check_daemon "$flavour" "$daemon"
  local ns="${prefix}-${node}"
  local conf sock="${dir}/${node}/${daemon}.ctl"
  conf="$(conf_file "$flavour" "$dir" "$node" "$daemon")"
  local pidfile="${dir}/${node}/${daemon}.pid"
  [[ -f "$conf" ]] || die "no config $conf (run up first)"
  ip netns list | awk '{print $1}' | grep -qx "$ns" || die "namespace $ns does not exist"
  local old
  old="$(find_daemon_pid "$prefix" "$node" "$daemon")"
  [[ -z "$old" ]] || die "$daemon on $node already runs (pid $old)"
  local bin
  bin="$(bird_bin "$flavour" "$daemon")"
  # BIRD daemonizes after it has parsed the config and opened the control socket (a stale
  # socket file left by bird-kill is unlinked by BIRD itself).
  ip netns exec "$ns" "$bin" -c "$conf" -s "$sock" -P "$pidfile" ||
    die "$bin failed to start on $node (see ${dir}/${node}/${daemon}.log)"
  local birdc i
  birdc="$(birdc_bin "$flavour")"
  for ((i = 0; i < 100; i++)); do
    if "$birdc" -s "$sock" show status >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  die "$daemon on $node does not answer on $sock"
}

# Pid of a running daemon ("bird" or "bird6") in the node's namespace, or nothing.
find_daemon_pid() {  # prefix node daemon
  local pid comm
  for pid in $(ip netns pids "$1-$2" 2>/dev/null || true); do
    comm=""
    { read -r comm <"/proc/${pid}/comm"; } 2>/dev/null || true
    if [[ "$comm" == "$3" ]] && pid_alive "$pid"; then
      echo "$pid"
      return 0
    fi
  done
}

signal_daemon() {  # prefix spec signal -> prints the pid it signalled, or nothing
  local prefix="$1" signal="$3" node daemon pid
  parse_spec "$2"
  pid="$(find_daemon_pid "$prefix" "$node" "$daemon")"
  if [[ -n "$pid" ]]; then
    kill "-${signal}" "$pid" 2>/dev/null || true
    echo "$pid"
  fi
}

cmd_bird_stop() {  # prefix spec
  local pid
  pid="$(signal_daemon "$1" "$2" TERM)"
  [[ -n "$pid" ]] || return 0
  wait_gone "$pid" 50 && return 0
  kill -KILL "$pid" 2>/dev/null || true
  wait_gone "$pid" 50 || die "pid $pid does not die"
}

cmd_bird_kill() {  # prefix spec
  local pid
  pid="$(signal_daemon "$1" "$2" KILL)"
  [[ -z "$pid" ]] || wait_gone "$pid" 50 || die "pid $pid does not die"
}

cmd_birdc() {  # prefix flavour dir spec command...
  local flavour="$2" dir="$3" node daemon
  parse_spec "$4"
  check_daemon "$flavour" "$daemon"
  shift 4
  "$(birdc_bin "$flavour")" -s "${dir}/${node}/${daemon}.ctl" "$@"
}

cmd_remove_protocol() {  # prefix flavour dir spec name
  local prefix="$1" flavour="$2" dir="$3" spec="$4" name="$5" node daemon
  parse_spec "$spec"
  [[ "$name" =~ ^[A-Za-z0-9_]+$ ]] || die "bad protocol name '$name'"
  local conf
  conf="$(conf_file "$flavour" "$dir" "$node" "$daemon")"
  grep -Eq "^protocol bgp ${name}[ {]" "$conf" || die "$name is not in $conf"
  drop_protocol "$name" <"$conf" >"${conf}.tmp"
  mv "${conf}.tmp" "$conf"
  local out
  out="$(cmd_birdc "$prefix" "$flavour" "$dir" "$spec" configure)"
  echo "$out"
  # "Reconfigured", or "Reconfiguration in progress" while the removed protocol shuts down.
  grep -Eq "Reconfigur(ed|ation in progress)" <<<"$out" || die "configure failed on $spec: $out"
}

cmd_up() {  # prefix flavour dir
  local prefix="$1" flavour="$2" dir="$3"
  [[ "$dir" == /* ]] || die "DIR must be absolute"
  # Control socket paths must fit sockaddr_un.sun_path (108 bytes).
  ((${#dir} <= 80)) || die "DIR is too long for control socket paths: $dir"
  [[ -z "$(lab_namespaces "$prefix")" ]] || die "lab $prefix already exists (lab.sh down $prefix)"
  if [[ "$flavour" != 1 ]]; then
    local b
    b="$(bird_bin "$flavour" bird)"
    "$b" --version >/dev/null 2>&1 || die "$b does not run (BIRD 2: missing libssh-gcrypt-4?):" \
      "$("$b" --version 2>&1 | head -1)"
  fi
  mkdir -p "$dir"

  local hub="${prefix}-hub" node ns nodes
  read -ra nodes <<<"$(lab_nodes "$flavour")"
  ip netns add "$hub"
  ip netns exec "$hub" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1
  ip -n "$hub" link add br0 type bridge forward_delay 0 stp_state 0
  ip -n "$hub" link set lo up
  ip -n "$hub" link set br0 up
  for node in "${nodes[@]}"; do
    ns="${prefix}-${node}"
    ip netns add "$ns"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
      net.ipv6.conf.default.accept_dad=0
    # Created inside the hub: interface names never collide with other labs or the host.
    ip -n "$hub" link add "v-${node}" type veth peer name eth0 netns "$ns"
    ip -n "$hub" link set "v-${node}" master br0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$(node_v4 "$node")/24" dev eth0
    if [[ -n "$(node_v6 "$node")" ]]; then
      ip -n "$ns" addr add "$(node_v6 "$node")/64" dev eth0 nodad
    fi
    ip -n "$ns" link set eth0 up
  done
  local daemon
  if calico_rendered "$flavour"; then
    write_calico_configs "$flavour" "$dir"
    # d's firewall drops every BGP connection to it (a stays in Connect, no error).
    ip netns exec "${prefix}-d" iptables -A INPUT -p tcp --dport 179 -j DROP
  fi
  for node in "${nodes[@]}"; do
    for daemon in $(node_daemons "$flavour" "$node"); do
      calico_rendered "$flavour" || write_config "$flavour" "$dir" "$node" "$daemon"
      rm -f "${dir}/${node}/${daemon}.pid" "${dir}/${node}/${daemon}.ctl"
    done
  done
  for node in "${nodes[@]}"; do
    [[ "$node" == c ]] && continue  # c's BIRD is never started by `up`: a sees refused
    cmd_bird_start "$prefix" "$flavour" "$dir" "$node"
    if [[ "$(node_daemons "$flavour" "$node")" == *bird6* ]]; then
      cmd_bird_start "$prefix" "$flavour" "$dir" "${node}:6"
    fi
  done
}

lab_pids() {  # prefix -> pids of every process in the lab's namespaces
  local ns
  for ns in $(lab_namespaces "$1"); do
    ip netns pids "$ns" 2>/dev/null || true
  done
}

cmd_down() {  # prefix
  local prefix="$1" ns pid signal
  # Everything that runs inside the lab's namespaces was started for this lab (BIRD, the
  # exporter under test): TERM first, KILL whatever is still there after 2 s.
  for signal in TERM KILL; do
    local pids
    pids="$(lab_pids "$prefix")"
    [[ -n "$pids" ]] || break
    for pid in $pids; do
      kill "-${signal}" "$pid" 2>/dev/null || true
    done
    local i alive
    for ((i = 0; i < 20; i++)); do
      alive=0
      for pid in $pids; do
        if pid_alive "$pid"; then
          alive=1
          break
        fi
      done
      ((alive)) || break
      sleep 0.1
    done
  done
  for ns in $(lab_namespaces "$prefix"); do
    ip netns del "$ns" 2>/dev/null || true
  done
}

cmd_status() {  # prefix flavour dir
  local node daemon
  for node in $(lab_nodes "$2"); do
    for daemon in $(node_daemons "$2" "$node"); do
      local spec="$node"
      [[ "$daemon" == bird6 ]] && spec="${node}:6"
      echo "== ${spec}"
      cmd_birdc "$1" "$2" "$3" "$spec" show protocols 2>&1 || true
    done
  done
}

main() {
  [[ $# -ge 2 ]] ||
    die "usage: lab.sh up|down|bird-start|bird-stop|bird-kill|birdc|remove-protocol|status P ..."
  local cmd="$1"
  check_prefix "$2"
  case "$cmd" in
    up)
      [[ $# -eq 4 ]] || die "usage: lab.sh up P V DIR"
      check_flavour "$3"
      cmd_up "$2" "$3" "$4"
      ;;
    down)
      [[ $# -eq 2 ]] || die "usage: lab.sh down P"
      cmd_down "$2"
      ;;
    bird-start)
      [[ $# -eq 5 ]] || die "usage: lab.sh bird-start P V DIR NODE"
      check_flavour "$3"
      cmd_bird_start "$2" "$3" "$4" "$5"
      ;;
    bird-stop)
      [[ $# -eq 3 ]] || die "usage: lab.sh bird-stop P NODE"
      cmd_bird_stop "$2" "$3"
      ;;
    bird-kill)
      [[ $# -eq 3 ]] || die "usage: lab.sh bird-kill P NODE"
      cmd_bird_kill "$2" "$3"
      ;;
    birdc)
      [[ $# -ge 6 ]] || die "usage: lab.sh birdc P V DIR NODE 'command'"
      check_flavour "$3"
      cmd_birdc "$2" "$3" "$4" "$5" "${@:6}"
      ;;
    remove-protocol)
      [[ $# -eq 6 ]] || die "usage: lab.sh remove-protocol P V DIR NODE NAME"
      check_flavour "$3"
      cmd_remove_protocol "$2" "$3" "$4" "$5" "$6"
      ;;
    status)
      [[ $# -eq 4 ]] || die "usage: lab.sh status P V DIR"
      check_flavour "$3"
      cmd_status "$2" "$3" "$4"
      ;;
    *)
      die "unknown command '$cmd'"
      ;;
  esac
}

main "$@"
