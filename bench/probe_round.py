#!/usr/bin/python3
"""The probe round over 1000 peers (issue 7): wall time against the probe timeout, and CPU.

Builds two namespaces: P-a runs calico-bgp-exporter, P-p holds 1000 peer addresses behind a
veth; half the peers answer port 179 with RST (nothing listens), the other half are silently
dropped by iptables (filtered). The exporter probes them as static peers, one probe kind per
pass, and the figures come from its own self-metrics (calico_bgp_probe_duration_seconds) and
from /proc (CPU over several rounds). Root only; cleans up after itself.

    bench/probe_round.py [--exporter build/calico-bgp-exporter] [--peers 1000] [--json FILE]

--json writes the figures for bench/report.py (bench/run merges them into its results).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

PREFIX = f"cbp{os.getpid()}"
A, P = f"{PREFIX}-a", f"{PREFIX}-p"
PORT = 19990


def sh(*args, check=True, **kw):
    return subprocess.run(args, check=check, capture_output=True, text=True, **kw)


def peer_address(i, n):
    # First half 10.77.0.0/17 (closed), second half 10.77.128.0/17 (filtered).
    half = n // 2
    third = 0 if i < half else 128
    k = i if i < half else i - half
    return f"10.77.{third + k // 250}.{k % 250 + 1}"


def setup(n):
    for ns in (A, P):
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "-n", A, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", P)
    sh("ip", "-n", A, "addr", "add", "10.76.0.1/30", "dev", "eth0")
    sh("ip", "-n", P, "addr", "add", "10.76.0.2/30", "dev", "eth0")
    sh("ip", "-n", A, "link", "set", "eth0", "up")
    sh("ip", "-n", P, "link", "set", "eth0", "up")
    sh("ip", "-n", A, "route", "add", "10.77.0.0/16", "via", "10.76.0.2")
    batch = "".join(f"addr add {peer_address(i, n)}/32 dev lo\n" for i in range(n))
    subprocess.run(["ip", "-n", P, "-batch", "-"], input=batch, text=True, check=True)
    sh("ip", "netns", "exec", P, "iptables", "-A", "INPUT", "-d", "10.77.128.0/17", "-j", "DROP")


def teardown():
    for ns in (A, P):
        for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
            sh("kill", "-9", pid, check=False)
        sh("ip", "netns", "delete", ns, check=False)


def metrics():
    # The exporter listens inside P-a: fetch through `ip netns exec`.
    out = sh("ip", "netns", "exec", A, "curl", "-s", f"http://127.0.0.1:{PORT}/metrics")
    return out.stdout


def value(text, name, labels):
    pat = re.compile(r"^" + re.escape(name) + r"\{([^}]*)\} (\S+)$", re.M)
    for m in pat.finditer(text):
        if all(f'{k}="{v}"' in m.group(1) for k, v in labels.items()):
            return float(m.group(2))
    return None


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_pass(exporter, n, kind, timeout_s, interval_s, rounds, workdir):
    peers = ", ".join(f"{{address: {peer_address(i, n)}}}" for i in range(n))
    tcp_on = "true" if kind == "tcp" else "false"
    icmp_on = "true" if kind == "icmp" else "false"
    config = os.path.join(workdir, f"{kind}.yml")
    with open(config, "w") as f:
        f.write(f"""bird: {{sockets: [{workdir}/none.ctl], interval: 60s, timeout: 1s}}
peers:
  static: [{peers}]
probes:
  tcp: {{enabled: {tcp_on}, interval: {interval_s}s, timeout: {timeout_s}s}}
  icmp: {{enabled: {icmp_on}, interval: {interval_s}s, timeout: {timeout_s}s, count: 3}}
  mtu: {{enabled: false}}
  listener: {{enabled: false}}
clock: {{interval: 600s, chrony: {{enabled: false}}, peer_offset: {{enabled: false}}}}
""")
    proc = subprocess.Popen(["ip", "netns", "exec", A, exporter, f"--config.file={config}",
                             f"--web.listen-address=127.0.0.1:{PORT}", "--log.level=error"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pid = None
        deadline = time.time() + 20
        while time.time() < deadline and pid is None:
            for p in sh("ip", "netns", "pids", A, check=False).stdout.split():
                if "calico-bgp-exporter" in open(f"/proc/{p}/cmdline").read():
                    pid = int(p)
            time.sleep(0.1)
        # The first round, then `rounds` more while measuring CPU.
        def last_run():
            try:
                return value(metrics(), "calico_bgp_probe_last_run_timestamp_seconds",
                             {"probe": kind})
            except subprocess.CalledProcessError:
                return None
        deadline = time.time() + 60
        while last_run() is None and time.time() < deadline:
            time.sleep(0.2)
        first = last_run()
        cpu0 = cpu_seconds(pid)
        durations = []
        seen = first
        deadline = time.time() + interval_s * (rounds + 2) + 30
        while len(durations) < rounds and time.time() < deadline:
            time.sleep(0.2)
            text = metrics()
            t = value(text, "calico_bgp_probe_last_run_timestamp_seconds", {"probe": kind})
            if t is not None and t != seen:
                seen = t
                durations.append(value(text, "calico_bgp_probe_duration_seconds",
                                       {"probe": kind}))
        cpu = (cpu_seconds(pid) - cpu0) / max(1, len(durations))
        text = metrics()
        states = {}
        if kind == "tcp":
            for state in ("open", "closed", "filtered", "unreachable", "unprobed"):
                states[state] = len(re.findall(
                    r'^calico_bgp_peer_port_state\{[^}]*state="' + state + r'"\} 1$', text,
                    re.M))
        else:
            losses = re.findall(r"^calico_bgp_peer_icmp_loss_ratio\{[^}]*\} (\S+)$", text, re.M)
            states["answered"] = sum(1 for x in losses if float(x) == 0)
            states["lost"] = sum(1 for x in losses if float(x) == 1)
        return durations, cpu, states
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exporter", default=os.path.join(os.path.dirname(__file__), "..",
                                                           "build", "calico-bgp-exporter"))
    parser.add_argument("--peers", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("probe_round.py: needs root (network namespaces)")
    exporter = os.path.abspath(args.exporter)
    with tempfile.TemporaryDirectory() as workdir:
        try:
            teardown()
            setup(args.peers)
            interval = int(args.timeout * 2 + 3)
            print(f"Probe round over {args.peers} peers (half closed, half filtered), "
                  f"timeout {args.timeout:g} s, load average {os.getloadavg()[0]:.2f}")
            report = {"peers": args.peers, "timeout_s": args.timeout,
                      "loadavg1": os.getloadavg()[0], "kinds": {}}
            for kind in ("tcp", "icmp"):
                durations, cpu, states = run_pass(exporter, args.peers, kind, args.timeout,
                                                  interval, args.rounds, workdir)
                if not durations:
                    print(f"  {kind}: no round finished")
                    continue
                med = sorted(durations)[len(durations) // 2]
                print(f"  {kind:4s} wall {med:.3f} s = {med / args.timeout:.2f}x the timeout "
                      f"(rounds: {', '.join(f'{d:.3f}' for d in durations)}), "
                      f"CPU {cpu * 1000:.0f} ms per round, peers: {states}")
                report["kinds"][kind] = {"wall_s": med, "rounds_s": durations,
                                         "cpu_ms": cpu * 1000, "peers": states}
            if args.json:
                with open(args.json, "w") as f:
                    json.dump(report, f, indent=1)
        finally:
            teardown()


if __name__ == "__main__":
    main()
