#!/usr/bin/python3
"""Series of a full mesh of N nodes with metrics.sessions `all` and `unhealthy` (issue 17).

Measured, not computed: for each N a real calico-bgp-exporter (every probe on, the default
metrics.extra) reads tests/fake_bird.py serving a recorded BIRD 2 reply scaled to N-1 BGP
sessions (a full mesh of N nodes has N-1 sessions per node), a stated share of them healthy
(Established with routes, for an hour), the others refused (port_closed). The exporter probes
every peer for real: the scaled neighbour addresses are local addresses of the bench's own
network namespace (a 10.0.0.0/8 prefix on its loopback, MTU 1500), which answer the TCP probe
(RST), ICMP echo, the path MTU search and ICMP timestamps, so every per-peer probe series
exists, as in a cluster where every peer answers. The series of one exporter's scrape (every
sample line) are counted once the probes have covered every peer; the mesh has N such nodes.
Then the same exporter is switched to `unhealthy` with SIGHUP (its config file rewritten) and
scraped again.

    sudo bench/series.py [--sizes 100,300,1000] [--healthy 0.99] [--exporter PATH]
                         [--out bench/results/series.txt]

Needs root (a network namespace of its own, deleted at the end, also on failure). ~1-2 min.
Prints the table (and writes it to --out) with the series count per node and in the mesh.
"""

import argparse
import datetime
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # No __pycache__ in the source tree.
kBenchDir = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, kBenchDir)

import measure  # noqa: E402

kRepo = os.path.dirname(kBenchDir)
kFakeBird = os.path.join(kRepo, "tests", "fake_bird.py")
kReply = os.path.join(kBenchDir, "results", "recorded-bird2-n1000-show_protocols_all.raw.gz")
kStatus = os.path.join(kBenchDir, "results", "recorded-bird2-n1000-show_status.raw.gz")
kPort = 19131
# The per-peer probe families: each must cover every shown peer before the count is taken.
kPeerProbeFamilies = ("calico_bgp_peer_port_state", "calico_bgp_peer_icmp_rtt_seconds",
                      "calico_bgp_peer_icmp_loss_ratio", "calico_bgp_peer_path_mtu_bytes",
                      "calico_bgp_peer_clock_offset_seconds")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def read_recording(path):
    with open(path, "rb") as f:
        data = f.read()
    return gzip.decompress(data) if path.endswith(".gz") else data


def an_hour_later(status):
    """The recorded `show status` with BIRD's clock an hour on: every session has been in its
    state for an hour (not `negotiating`, not within metrics.keep_recovered)."""
    m = re.search(rb"Current server time is (\S+ \S+)", status)
    if not m:
        raise RuntimeError("no `Current server time` in the recorded show status")
    t = datetime.datetime.strptime(m.group(1).decode(), "%Y-%m-%d %H:%M:%S.%f")
    later = (t + datetime.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return status[:m.start(1)] + later.encode() + status[m.end(1):]


def config(sock, sessions):
    return (f"bird: {{sockets: [{sock}], interval: 1s, timeout: 1s}}\n"
            "probes:\n"
            "  tcp: {interval: 2s, timeout: 500ms}\n"
            "  icmp: {interval: 2s, timeout: 500ms}\n"
            "  mtu: {interval: 2s, timeout: 300ms}\n"
            "  listener: {interval: 2s}\n"
            "clock: {interval: 2s, timeout: 500ms}\n"
            f"metrics: {{sessions: {sessions}}}\n")


def scrape_text():
    _, status, body = measure.scrape(kPort, gzip=False, timeout=10)
    if status != 200:
        raise RuntimeError(f"HTTP {status}")
    return body.decode()


def series_lines(text):
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def family_counts(lines):
    counts = {}
    for line in lines:
        name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
        counts[name] = counts.get(name, 0) + 1
    return counts


def settled(text, sessions, shown_peers):
    """Every session diagnosed, every peer probed (no `unprobed`), each per-peer probe family
    covering the peers that have series; calico_bgp_peers counts every session."""
    lines = series_lines(text)
    counts = family_counts(lines)
    diagnosed = sum(float(line.rsplit(None, 1)[1]) for line in lines
                    if line.startswith("calico_bgp_peers{"))
    unprobed = sum(float(line.rsplit(None, 1)[1]) for line in lines
                   if line.startswith("calico_bgp_peers_port_state{") and 'state="unprobed"' in line)
    probed = sum(float(line.rsplit(None, 1)[1]) for line in lines
                 if line.startswith("calico_bgp_peers_port_state{"))
    return (diagnosed == sessions and probed == sessions and unprobed == 0 and
            all(counts.get(f, 0) == shown_peers for f in kPeerProbeFamilies))


def measure_mode(proc, n, sessions, shown_peers, mode):
    seen = {}

    def ready():
        seen["text"] = scrape_text()
        return settled(seen["text"], sessions, shown_peers)

    try:
        measure.wait_until(ready, 120, f"N={n} {mode}: every peer probed", proc, interval=0.5)
    except TimeoutError as e:
        counts = family_counts(series_lines(seen.get("text", "")))
        raise TimeoutError(f"{e}; per-peer families: "
                           f"{ {f: counts.get(f, 0) for f in kPeerProbeFamilies} }") from None
    # The count once more after another probe round of every kind: it must not move.
    first = len(series_lines(seen["text"]))
    time.sleep(2.5)
    text = scrape_text()
    lines = series_lines(text)
    if len(lines) != first or not settled(text, sessions, shown_peers):
        raise RuntimeError(f"N={n} {mode}: the series count moved ({first} -> {len(lines)})")
    per_session = sum(1 for line in lines if re.search(r'[{,](protocol|peer)="', line))
    return {"mode": mode, "series": len(lines), "per_session_series": per_session,
            "families": family_counts(lines)}


def run_size(work, n, healthy_share, exporter):
    sessions = n - 1
    healthy = int(sessions * healthy_share)
    d = os.path.join(work, f"n{n}")
    os.makedirs(d)
    protocols = os.path.join(d, "show_protocols_all.raw")
    status = os.path.join(d, "show_status.raw")
    with open(os.path.join(d, "recorded.raw"), "wb") as f:
        f.write(read_recording(kReply))
    subprocess.run([sys.executable, kFakeBird, "scale", "--in", os.path.join(d, "recorded.raw"),
                    "--out", protocols, "--protocols", str(sessions),
                    "--established-share", str(healthy_share)], check=True)
    with open(status, "wb") as f:
        f.write(an_hour_later(read_recording(kStatus)))
    sock = os.path.join(d, "bird.ctl")
    fake = measure.Process([sys.executable, kFakeBird, "serve", "--socket", sock, "--greeting",
                            "BIRD 2.0.12", "--status", status, "--protocols", protocols],
                           os.path.join(d, "fake_bird.log"))
    conf = os.path.join(d, "exporter.yml")
    with open(conf, "w") as f:
        f.write(config(sock, "all"))
    proc = measure.Process([exporter, f"--config.file={conf}",
                            f"--web.listen-address=127.0.0.1:{kPort}"],
                           os.path.join(d, "exporter.log"))
    try:
        log(f"N={n}: {sessions} sessions per node, {healthy} healthy")
        all_mode = measure_mode(proc, n, sessions, sessions, "all")
        with open(conf, "w") as f:
            f.write(config(sock, "unhealthy"))
        os.kill(proc.pid, signal.SIGHUP)
        unhealthy = measure_mode(proc, n, sessions, sessions - healthy, "unhealthy")
    finally:
        proc.stop()
        fake.stop()
    return {"n": n, "sessions_per_node": sessions, "healthy_per_node": healthy,
            "modes": [all_mode, unhealthy]}


def table(results, healthy_share):
    rows = [f"Series of a full mesh of N nodes (N-1 BGP sessions per node, {healthy_share:.0%} "
            "of them healthy, the others refused), every probe on, metrics.extra empty;",
            "measured by bench/series.py: one exporter's scrape, times N nodes.", "",
            "| nodes | mode | series per node | of them per session or peer | series in the mesh |",
            "|---|---|---|---|---|"]
    for r in results:
        for m in r["modes"]:
            rows.append(f"| {r['n']:,} | `{m['mode']}` | {m['series']:,} | "
                        f"{m['per_session_series']:,} | {m['series'] * r['n']:,} |")
    return "\n".join(rows) + "\n"


def inner(args):
    work = tempfile.mkdtemp(prefix="cbeseries.")
    try:
        results = [run_size(work, n, args.healthy, args.exporter) for n in args.sizes]
    finally:
        if args.keep:
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    text = table(results, args.healthy)
    print(text, end="")
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
        with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
            json.dump({"healthy_share": args.healthy, "results": results}, f, indent=1)
    return 0


def outer(args):
    """A network namespace of our own: the peers' addresses are local there, and nothing
    leaves it. Deleted again (with everything in it) however the run ends."""
    ns = f"cbes{os.getpid()}"
    ip = ["ip", "-n", ns]
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(ip + ["link", "set", "lo", "mtu", "1500", "up"], check=True)
        subprocess.run(ip + ["addr", "add", "10.0.0.1/8", "dev", "lo"], check=True)
        argv = [sys.executable, os.path.abspath(__file__), "--inner",
                "--sizes", ",".join(map(str, args.sizes)), "--healthy", str(args.healthy),
                "--exporter", os.path.abspath(args.exporter)]
        if args.out:
            argv += ["--out", os.path.abspath(args.out)]
        if args.keep:
            argv.append("--keep")
        return subprocess.run(["ip", "netns", "exec", ns] + argv).returncode
    finally:
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
        for pid in pids.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", ns])


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                   default=[100, 300, 1000])
    p.add_argument("--healthy", type=float, default=0.99, help="share of healthy sessions")
    p.add_argument("--exporter", default=os.path.join(kRepo, "build", "calico-bgp-exporter"))
    p.add_argument("--out", default=os.path.join(kBenchDir, "results", "series.txt"))
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.inner:
        return inner(args)
    if os.geteuid() != 0:
        print("bench/series.py: needs root (a network namespace)", file=sys.stderr)
        return 1
    if not os.access(args.exporter, os.X_OK):
        print(f"bench/series.py: no exporter at {args.exporter} (make build)", file=sys.stderr)
        return 1
    return outer(args)


if __name__ == "__main__":
    sys.exit(main())
