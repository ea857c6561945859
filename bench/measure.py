"""Measuring an exporter process: scrapes (latency, bytes, series), RSS, CPU."""

import http.client
import multiprocessing
import os
import re
import statistics
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- HTTP ---------------------------------------------------------------------------------

def scrape(port, path="/metrics", gzip=True, timeout=60.0):
    """One scrape on a new connection, as Prometheus does it (Accept-Encoding: gzip).

    Returns (seconds from connect to the last body byte, HTTP status, body bytes).
    """
    headers = {"Accept": "text/plain;version=0.0.4;q=1,*/*;q=0.1",
               "Accept-Encoding": "gzip" if gzip else "identity",
               "User-Agent": "cbe-bench"}
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        status = resp.status
    finally:
        conn.close()
    return time.perf_counter() - start, status, body


def sequential(port, count, gzip=True):
    lat = []
    for _ in range(count):
        dt, status, _ = scrape(port, gzip=gzip)
        if status != 200:
            raise RuntimeError(f"HTTP {status} from :{port}")
        lat.append(dt)
    return lat


def _concurrent_worker(port, max_per_thread, budget_s, min_per_thread, gzip, barrier, out):
    mine = []
    try:
        barrier.wait()
        deadline = time.monotonic() + budget_s  # CLOCK_MONOTONIC: the same in every process
        while len(mine) < max_per_thread and (
                len(mine) < min_per_thread or time.monotonic() < deadline):
            dt, status, _ = scrape(port, gzip=gzip)
            if status != 200:
                raise RuntimeError(f"HTTP {status}")
            mine.append(dt)
        out.send(("ok", mine))
    except Exception as e:  # noqa: BLE001 - reported by the parent
        out.send(("error", repr(e)))
    finally:
        out.close()


def concurrent(port, threads, max_per_thread, budget_s, min_per_thread, gzip=True):
    """`threads` scrapers, each scraping back to back until it has `max_per_thread` samples
    or the budget is spent (but at least `min_per_thread`). Returns all latencies.

    Each scraper is a process of its own: Python threads would share one interpreter lock and
    measure the lock (a scrape's Python side costs about as much CPU as the exporter's)."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(threads)
    pipes, procs = [], []
    for _ in range(threads):
        recv, send = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_concurrent_worker,
                        args=(port, max_per_thread, budget_s, min_per_thread, gzip, barrier, send))
        p.start()
        send.close()
        pipes.append(recv)
        procs.append(p)
    lat, errors = [], []
    for recv in pipes:
        try:
            kind, value = recv.recv()
        except EOFError:
            kind, value = "error", "a scraper process died"
        (lat.extend if kind == "ok" else errors.append)(value)
    for p in procs:
        p.join()
    if errors:
        raise RuntimeError(f"{len(errors)} scraper(s) failed: {errors[0]}")
    return lat


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100)."""
    v = sorted(values)
    if not v:
        return float("nan")
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


# --- /proc ----------------------------------------------------------------------------------

def cpu_stat_seconds(pid):
    """utime + stime of the whole process (all threads, dead ones included), 1/CLK_TCK steps."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def minor_faults(pid):
    """Minor page faults of the whole process (all threads): a page mapped for the first time
    since it was last given back costs one."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[7])


def cpu_sched_seconds(pid):
    """Sum of the threads' sum_exec_runtime (/proc/PID/task/*/schedstat, nanoseconds)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError):
            pass
    return total / 1e9


def thread_ids(pid, name):
    """The threads of `pid` named `name` (/proc/PID/task/*/comm); one that ends meanwhile is left
    out."""
    ids = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip() == name:
                    ids.append(int(tid))
        except OSError:
            pass
    return ids


class CpuMeter:
    """CPU of a process over a window, both ways (schedstat: ns; stat: clock ticks)."""

    def __init__(self, pid):
        self.pid = pid
        self.sched0 = cpu_sched_seconds(pid)
        self.stat0 = cpu_stat_seconds(pid)
        self.faults0 = minor_faults(pid)
        self.t0 = time.monotonic()

    def stop(self):
        return {"sched_s": cpu_sched_seconds(self.pid) - self.sched0,
                "stat_s": cpu_stat_seconds(self.pid) - self.stat0,
                "minflt": minor_faults(self.pid) - self.faults0,
                "wall_s": time.monotonic() - self.t0}


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rss_median_kib(pid, samples=11, gap_s=0.2):
    """VmRSS sampled `samples` times `gap_s` apart: (median, max) in KiB. One sample would show
    whatever a probe round happened to hold at that instant."""
    values = []
    for i in range(samples):
        if i:
            time.sleep(gap_s)
        values.append(rss_kib(pid))
    return median(values), max(values)


MAPPING_RE = re.compile(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$")


def rss_breakdown_kib(pid):
    """Where the RSS is, from /proc/PID/smaps: the pages of each mapped file (by file name), the
    heap, the other anonymous mappings (thread stacks, blocks malloc maps on their own), the main
    thread's stack, and the kernel's ([vdso] and the like)."""
    files, kinds = {}, {"heap": 0, "anonymous": 0, "stack": 0, "kernel": 0}
    name = ""
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = MAPPING_RE.match(line)
            if m:
                name = m.group(1).strip()
            elif line.startswith("Rss:"):
                kib = int(line.split()[1])
                if name.startswith("/"):
                    base = os.path.basename(name.replace(" (deleted)", ""))
                    files[base] = files.get(base, 0) + kib
                elif name == "[heap]":
                    kinds["heap"] += kib
                elif name == "[stack]":
                    kinds["stack"] += kib
                elif name == "":
                    kinds["anonymous"] += kib
                else:
                    kinds["kernel"] += kib
    return {"files": files, **kinds}


# --- Exposition -----------------------------------------------------------------------------

SERIES_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+\S+")


def analyse_exposition(text, bgp_only_label=None):
    """Counts series, and those of one peer (a `protocol=`, `peer=` or `name=` label).

    bgp_only_label: a label that must also be present for a series to count as per-peer
    (bird_exporter: `proto="BGP"`, so its Kernel/Device/Static/Direct series do not count).
    """
    series = per_protocol = 0
    families = {}
    by_peer = {}  # peer= (ours) or name= (bird_exporter) value -> series
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SERIES_RE.match(line)
        if not m:
            continue
        series += 1
        labels = m.group(2) or ""
        if re.search(r'[{,](protocol|peer|name)="', labels) and (
                bgp_only_label is None or bgp_only_label in labels):
            per_protocol += 1
            families[m.group(1)] = families.get(m.group(1), 0) + 1
            key = re.search(r'[{,](?:peer|name)="([^"]*)"', labels)
            if key:
                by_peer[key.group(1)] = by_peer.get(key.group(1), 0) + 1
    return {"series": series, "per_protocol_series": per_protocol, "families": families,
            "per_peer_max": max(by_peer.values(), default=0)}


def metric_values(text, name):
    """All sample values of one metric name (any labels)."""
    out = []
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            out.append(float(line.rsplit(None, 1)[1]))
    return out


def sample_values(text, series):
    """Values of the samples whose line starts with `series` (a name with labels)."""
    return [float(line.rsplit(None, 1)[1]) for line in text.splitlines()
            if line.startswith(series + " ")]


# --- Processes ------------------------------------------------------------------------------

class Process:
    """A started exporter; output goes to a log file."""

    def __init__(self, argv, log_path, env=None):
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "wb")
        full_env = dict(os.environ, **env) if env else None
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=full_env)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def wait_until(predicate, deadline_s, what, proc=None, interval=0.05):
    deadline = time.monotonic() + deadline_s
    last_err = None
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            with open(proc.log_path, "rb") as f:
                tail = f.read()[-2000:].decode(errors="replace")
            raise RuntimeError(f"{what}: process exited ({proc.argv[0]}): {tail}")
        try:
            if predicate():
                return
        except (OSError, http.client.HTTPException) as e:
            last_err = e
        time.sleep(interval)
    raise TimeoutError(f"{what}: not reached within {deadline_s:.0f} s (last error: {last_err})")


def median(values):
    return statistics.median(values) if values else float("nan")
