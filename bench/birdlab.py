"""The benchmark's BIRD lab: configs, daemons, a raw control-socket client.

Topology (namespaces are created by bench/run; this module only starts daemons in them):

    ns P-a (observed BIRD, exporters, load)   lo: 10.1.0.1/16  (every 10.1.x.y is local)
       vb 10.254.1.1/30 <-> ns P-b va 10.254.1.2/30  lo: 10.2.0.1/16  (peer BIRD)
       vc 10.254.2.1/30 <-> ns P-c va 10.254.2.2/30  lo: 10.3.0.1/16  (no daemon: RST)

An address on `lo` with a prefix makes the whole prefix local, so one address per namespace
gives thousands of bindable addresses without thousands of `ip addr add` or ARP entries.

Session i of the established half: a's `Mesh_10_2_X_Y` (neighbor 10.2.X.Y, source 10.1.X.Y)
<-> b's `Mesh_10_1_X_Y` (neighbor 10.1.X.Y, source 10.2.X.Y, passive). Each session has its own
address pair on both sides: BIRD locks the neighbour address, so one peer daemon carries them
all. The down half: a's `Mesh_10_3_X_Y` (neighbor 10.3.X.Y), where nothing listens: the kernel
in P-c answers with RST and BIRD shows `Active  Socket: Connection refused`.
"""

import os
import signal
import socket
import subprocess
import time

BIRD1 = "/usr/sbin/bird"

PEER_AS = 64512


def host_octets(i):
    """Session index -> (X, Y) of 10.k.X.Y. Starts at .0.10, skips nothing special."""
    h = i + 10
    return h >> 8, h & 255


def addr(net, i):
    x, y = host_octets(i)
    return f"10.{net}.{x}.{y}"


def proto_name(ip):
    return "Mesh_" + ip.replace(".", "_")


# Calico's bird.cfg.template, reduced to what this lab needs (kernel exports nothing).
BIRD1_HEAD = """\
log "{log}" {{ warning, error, fatal }};
router id {router_id};

filter calico_export_to_bgp_peers {{
  if ( net ~ 192.168.0.0/16 ) then {{ accept; }}
  reject;
}}
filter calico_import_from_bgp_peers {{
  if ( net = 0.0.0.0/0 ) then {{ reject; }}
  accept;
}}

protocol static {{
  route {static_route} blackhole;
}}

protocol kernel {{
  learn;
  persist;
  scan time 2;
  import all;
  export none;
  graceful restart;
  merge paths on;
}}

protocol device {{
  debug {{ states }};
  scan time 2;
}}

protocol direct {{
  debug {{ states }};
  interface -"cali*", -"kube-ipvs*", "*";
}}

template bgp bgp_template {{
  debug {{ states }};
  description "Connection to BGP peer";
  local as {asn};
  multihop;
  gateway recursive;
  import filter calico_import_from_bgp_peers;
  export filter calico_export_to_bgp_peers;
  add paths on;
  graceful restart;
  connect delay time 1;
  connect retry time 3;
  error wait time 5,60;
}}
"""

BIRD2_HEAD = """\
log "{log}" {{ warning, error, fatal }};
router id {router_id};

filter calico_export_to_bgp_peers {{
  if ( net ~ 192.168.0.0/16 ) then accept;
  reject;
}}
filter calico_import_from_bgp_peers {{
  if ( net = 0.0.0.0/0 ) then reject;
  accept;
}}

protocol static {{
  ipv4;
  route {static_route} blackhole;
}}

protocol kernel {{
  ipv4 {{
    import all;
    export none;
  }};
  learn;
  persist;
  scan time 2;
  graceful restart;
  merge paths on;
}}

protocol device {{
  debug {{ states }};
  scan time 2;
}}

protocol direct {{
  debug {{ states }};
  ipv4;
  interface -"cali*", -"kube-ipvs*", "*";
}}

template bgp bgp_template {{
  debug {{ states }};
  description "Connection to BGP peer";
  local as {asn};
  multihop;
  ipv4 {{
    gateway recursive;
    import filter calico_import_from_bgp_peers;
    export filter calico_export_to_bgp_peers;
    add paths on;
  }};
  graceful restart;
  connect delay time 1;
  connect retry time 3;
  error wait time 5,60;
}}
"""


def observed_config(version, n, log, connects_per_second):
    """Config of the observed daemon: n BGP protocols, n//2 to the peer daemon, the rest down.

    The active side staggers its first connect (`connect delay time`, whole seconds) so the
    peer's listen() backlog of 8 (BIRD 1.6 and 2) does not overflow (fixtures README, surprise
    10): at most `connects_per_second` sessions start connecting in the same second.
    """
    head = BIRD1_HEAD if version == 1 else BIRD2_HEAD
    out = [head.format(log=log, router_id="10.254.1.1", static_route="192.168.1.0/26",
                       asn=PEER_AS)]
    established = n // 2
    for i in range(established):
        peer = addr(2, i)
        delay = 1 + i // connects_per_second
        out.append(f"""
protocol bgp {proto_name(peer)} from bgp_template {{
  neighbor {peer} as {PEER_AS};
  source address {addr(1, i)};
  connect delay time {delay};
}}
""")
    for j in range(n - established):
        peer = addr(3, j)
        out.append(f"""
protocol bgp {proto_name(peer)} from bgp_template {{
  neighbor {peer} as {PEER_AS};
  source address 10.1.0.1;
}}
""")
    return "".join(out)


def peer_config(version, n, log):
    """Config of the peer daemon: the passive end of each established session."""
    head = BIRD1_HEAD if version == 1 else BIRD2_HEAD
    out = [head.format(log=log, router_id="10.254.1.2", static_route="192.168.2.0/26",
                       asn=PEER_AS)]
    for i in range(n // 2):
        peer = addr(1, i)
        out.append(f"""
protocol bgp {proto_name(peer)} from bgp_template {{
  neighbor {peer} as {PEER_AS};
  source address {addr(2, i)};
  passive on;
}}
""")
    return "".join(out)


class BirdSocket:
    """A minimal BIRD control-socket client (blocking, one reply at a time)."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.greeting = self._read_reply()
        self.first_byte_s = None  # Of the last query: from sending it to the reply's first byte.

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read_reply(self):
        chunks = []
        tail = b""
        while True:
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("BIRD closed the connection")
            if not chunks:
                self._first_byte_at = time.perf_counter()
            chunks.append(data)
            # A reply ends with a line "DDDD text\n" (a space after the code).
            tail = (tail + data)[-4096:]
            if tail.endswith(b"\n"):
                start = tail.rfind(b"\n", 0, len(tail) - 1) + 1
                last = tail[start:]
                if len(last) >= 5 and last[:4].isdigit() and last[4:5] == b" ":
                    return b"".join(chunks)

    def query(self, command):
        """Returns (reply bytes, seconds from sending the command to the reply's last byte)."""
        start = time.perf_counter()
        self.sock.sendall(command.encode() + b"\n")
        reply = self._read_reply()
        end = time.perf_counter()
        self.first_byte_s = self._first_byte_at - start
        return reply, end - start


def count_bgp_states(sock_path):
    """`show protocols` -> (established BGP protocols, all BGP protocols)."""
    with BirdSocket(sock_path) as s:
        reply, _ = s.query("show protocols")
    established = total = 0
    for line in reply.decode(errors="replace").splitlines():
        if line.startswith("1002-") or line.startswith(" "):
            fields = line[5:].split() if line.startswith("1002-") else line.split()
            if len(fields) >= 2 and fields[1] == "BGP":
                total += 1
                if "Established" in fields[5:6]:
                    established += 1
    return established, total


class Daemon:
    """One BIRD daemon started in a namespace (BIRD daemonizes; found again by its pid file)."""

    def __init__(self, binary, netns, conf, sock, pidfile):
        self.binary, self.netns, self.conf, self.sock, self.pidfile = (
            binary, netns, conf, sock, pidfile)
        self.pid = None

    def start(self, deadline_s=20.0):
        for p in (self.sock, self.pidfile):
            if os.path.exists(p):
                os.unlink(p)
        cmd = [self.binary, "-c", self.conf, "-s", self.sock, "-P", self.pidfile]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        subprocess.run(cmd, check=True)
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            try:
                with BirdSocket(self.sock, timeout=2):
                    pass
                with open(self.pidfile) as f:
                    self.pid = int(f.read().strip())
                return
            except (OSError, ValueError):
                time.sleep(0.05)
        raise RuntimeError(f"{self.binary} does not answer on {self.sock}")

    def stop(self):
        if self.pid is None:
            return
        for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and pid_alive(self.pid):
                time.sleep(0.05)
            if not pid_alive(self.pid):
                break
        self.pid = None


def pid_alive(pid):
    """A zombie counts as gone (daemonized BIRD is reaped late by PID 1 in containers)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_established(sock_path, want_established, want_total, deadline_s, progress=None):
    """Polls `show protocols` until `want_established` BGP sessions are up. Returns seconds."""
    start = time.monotonic()
    last_print = 0.0
    est = total = 0
    while True:
        try:
            est, total = count_bgp_states(sock_path)
        except OSError:
            pass
        now = time.monotonic()
        if est >= want_established and total == want_total:
            return now - start
        if now - start > deadline_s:
            raise TimeoutError(
                f"{est}/{want_established} Established after {deadline_s:.0f} s "
                f"({total} BGP protocols)")
        if progress and now - last_print >= 10:
            progress(f"  ... {est}/{want_established} Established after {now - start:.0f} s")
            last_print = now
        time.sleep(0.25)
