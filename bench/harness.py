#!/usr/bin/python3
"""The benchmark of issue 7, run by bench/run inside the lab's observed namespace (P-a).

bench/run creates the namespaces P-a, P-b, P-c (see birdlab.py) and calls this with
`ip netns exec P-a`; everything this script starts is a child of P-a or runs in P-b, so
bench/run's EXIT trap can clean up by namespace. Results: JSON for report.py.
"""

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # No __pycache__ in the source tree.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import birdlab  # noqa: E402
import measure  # noqa: E402

OURS_PORT = 19101
THEIRS_PORT = 19102
FAKE_GREETING = {1: "BIRD 1.6.8", 2: "BIRD 2.0.12"}
# The project's one fake BIRD (also used by the fault tests).
FAKE_BIRD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fake_bird.py")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Plan:
    """How many samples to take; each phase also stops at its time budget."""

    def __init__(self, quick):
        self.quick = quick
        self.seq_max, self.seq_budget = (40, 4.0) if quick else (200, 10.0)
        self.conc_max_per_thread, self.conc_budget = (10, 4.0) if quick else (40, 10.0)
        self.plain_max, self.plain_budget = (10, 2.0) if quick else (50, 4.0)
        self.min_samples = 5
        self.threads = 8
        self.round_interval_s = 0.2
        self.round_window_s = 3.0 if quick else 6.0
        # CPU per round: the median of this many windows. One window's figure moved by up to
        # 0.7 ms between runs of the same binary at N = 1000 (issue 19).
        self.round_windows = 1 if quick else 3
        self.answer_reps = 7 if quick else 15


# --- Phases ---------------------------------------------------------------------------------

def timed_sequential(port, max_count, budget_s, min_count, gzip=True):
    lat = []
    deadline = time.monotonic() + budget_s
    while len(lat) < max_count and (len(lat) < min_count or time.monotonic() < deadline):
        lat += measure.sequential(port, 1, gzip=gzip)
    return lat


def sched_boot_options():
    """The kernel's scheduler options from its command line (sched_vcpu_pack=15 on this VM: not
    an upstream option, and it decides where BIRD and the round thread run)."""
    try:
        with open("/proc/cmdline") as f:
            words = f.read().split()
    except OSError:
        return []
    if "--" in words:
        words = words[:words.index("--")]  # What follows is the init's, not the kernel's.
    return [w for w in words if w.startswith("sched")]


def latency_summary(lat):
    return {"n": len(lat), "p50_ms": measure.percentile(lat, 50) * 1e3,
            "p99_ms": measure.percentile(lat, 99) * 1e3, "max_ms": max(lat) * 1e3}


def scrape_phases(port, pid, plan, n, rounds_cpu_per_s=0.0):
    """Warm-up, sequential (gzip), sequential (identity), 8 concurrent; CPU over the first."""
    for _ in range(5 if n >= 1000 else 20):
        measure.scrape(port)
    rss_warm, rss_warm_max = measure.rss_median_kib(pid)
    meter = measure.CpuMeter(pid)
    seq = timed_sequential(port, plan.seq_max, plan.seq_budget, plan.min_samples)
    cpu = meter.stop()
    # Background BIRD rounds that ran during the phase (ours only) are not scrape cost.
    round_share = rounds_cpu_per_s * cpu["wall_s"]
    cpu_per_scrape = {"sched_ms": max(0.0, cpu["sched_s"] - round_share) / len(seq) * 1e3,
                      "stat_ms": max(0.0, cpu["stat_s"] - round_share) / len(seq) * 1e3,
                      "raw_sched_s": cpu["sched_s"], "raw_stat_s": cpu["stat_s"],
                      "rounds_subtracted_s": round_share, "scrapes": len(seq)}
    rss_seq = measure.rss_kib(pid)
    plain = timed_sequential(port, plan.plain_max, plan.plain_budget, plan.min_samples,
                             gzip=False)
    conc = measure.concurrent(port, plan.threads, plan.conc_max_per_thread, plan.conc_budget,
                              1, gzip=True)
    _, status, body = measure.scrape(port, gzip=False)
    _, _, gz = measure.scrape(port, gzip=True)
    rss_end, rss_end_max = measure.rss_median_kib(pid)
    return {"seq": latency_summary(seq), "plain": latency_summary(plain),
            "conc": latency_summary(conc), "cpu_per_scrape": cpu_per_scrape,
            "bytes": len(body), "gzip_bytes": len(gz), "body": body.decode(errors="replace"),
            "rss_warm_kib": rss_warm, "rss_warm_max_kib": rss_warm_max, "rss_seq_kib": rss_seq,
            "rss_kib": rss_end, "rss_max_kib": rss_end_max,
            "rss_breakdown_kib": measure.rss_breakdown_kib(pid)}


PROBE_KINDS = ("tcp", "icmp", "mtu", "listener")


def ours_config(sock, interval, timeout, probes):
    """probes: None or "default" (no `probes:` key: every probe and the clock on at their default
    intervals, or a binary without probes), "off" (all disabled: the BIRD path alone), "fast"
    (the defaults, but every probe and the clock every 2 s: all their rounds always in flight)."""
    text = f"bird:\n  sockets: [{sock}]\n  interval: {interval}\n  timeout: {timeout}\n"
    if probes == "off":
        text += "probes:\n" + "".join(f"  {k}: {{enabled: false}}\n" for k in PROBE_KINDS)
        text += "clock:\n  chrony: {enabled: false}\n  peer_offset: {enabled: false}\n"
    elif probes == "fast":
        text += "probes:\n" + "".join(f"  {k}: {{interval: 2s}}\n" for k in PROBE_KINDS)
        text += "clock:\n  interval: 2s\n"
    return text


def exporter_has_probes(args):
    """True if the binary accepts the `probes:` section (the probes landed after issue 2)."""
    path = os.path.join(args.work, "probe-check.yml")
    with open(path, "w") as f:
        f.write(ours_config("/tmp/x.ctl", "5s", "2s", "off"))
    r = subprocess.run([args.exporter, f"--config.file={path}", "--config.check"],
                       capture_output=True, text=True)
    return r.returncode == 0


def start_ours(args, work, tag, sock, interval, timeout, n, env=None, probes="off",
               reachable=True, wrapper=()):
    """reachable: every peer answers probes (the lab); the fake BIRD's N=5000 peers beyond the
    lab's 1000 addresses do not, so there only the port state and ICMP loss series (which
    unreachable peers have too) are waited for. wrapper: a command that runs the exporter
    (valgrind and its options)."""
    conf = os.path.join(work, f"ours-{tag}.yml")
    with open(conf, "w") as f:
        f.write(ours_config(sock, interval, timeout, probes if args.has_probes else None))
    proc = measure.Process([*wrapper, args.exporter, f"--config.file={conf}",
                            f"--web.listen-address=127.0.0.1:{OURS_PORT}"],
                           os.path.join(work, f"ours-{tag}.log"), env=env)

    def ready():
        _, status, body = measure.scrape(OURS_PORT, gzip=False, timeout=5)
        text = body.decode(errors="replace")
        return status == 200 and text.count("\ncalico_bgp_peer_up{") == n

    measure.wait_until(ready, 30, f"calico-bgp-exporter sees {n} peers", proc)
    if probes in ("fast", "default") and args.has_probes:
        names = ("calico_bgp_peer_port_state", "calico_bgp_peer_icmp_loss_ratio")
        if reachable:
            names += ("calico_bgp_peer_path_mtu_bytes", "calico_bgp_peer_clock_offset_seconds")
        seen = {}

        def probed():
            _, _, body = measure.scrape(OURS_PORT, gzip=False, timeout=5)
            text = body.decode(errors="replace")
            seen.update({name: text.count("\n" + name + "{") for name in names})
            return all(count >= n for count in seen.values())

        try:
            measure.wait_until(probed, 90, f"probe series for {n} peers", proc, interval=0.5)
        except TimeoutError as e:
            raise TimeoutError(f"{e}; series seen: {seen}") from None
        if probes == "fast":
            time.sleep(2.5)  # One more round of every probe (the MTU one is the slowest).
    return proc


def round_durations(plan):
    """Ten rounds' wall times (s) as ours reports them, one scrape per round."""
    durations = []
    for _ in range(10):
        _, _, body = measure.scrape(OURS_PORT, gzip=False)
        durations += measure.sample_values(
            body.decode(), 'calico_bgp_probe_duration_seconds{probe="bird"}')
        time.sleep(plan.round_interval_s * 1.05)
    return durations


def round_wall_apart(pid, bird_pid, plan):
    """The round's wall time (ms) with BIRD held on CPU 0 and ours' BIRD round thread on CPU 1.
    Left alone, the scheduler here puts them on one CPU (the command wakes BIRD on the round
    thread's CPU, BIRD's writes wake the round thread on BIRD's; likely this VM kernel's
    sched_vcpu_pack, see sched_boot_options), and the parsing cannot overlap BIRD's writing.
    None with fewer than 2 CPUs."""
    cpus = os.sched_getaffinity(0)
    rounds = measure.thread_ids(pid, "round-bird")
    if not ({0, 1} <= cpus) or not rounds or bird_pid is None:
        return None
    try:
        os.sched_setaffinity(bird_pid, {0})
        for tid in rounds:
            os.sched_setaffinity(tid, {1})
        time.sleep(plan.round_interval_s * 2)
        return measure.median(round_durations(plan)) * 1e3
    finally:
        os.sched_setaffinity(bird_pid, cpus)
        for tid in rounds:
            os.sched_setaffinity(tid, cpus)


def measure_ours(args, work, sock, n, plan, bird_pid=None):
    res = {"exporter": "calico-bgp-exporter"}
    # 1. Rounds: a short interval, no scrapes in the CPU window.
    interval_ms = int(plan.round_interval_s * 1000)
    proc = start_ours(args, work, "rounds", sock, f"{interval_ms}ms", f"{interval_ms}ms", n)
    try:
        time.sleep(1.0)
        windows = []
        for _ in range(plan.round_windows):
            meter = measure.CpuMeter(proc.pid)
            time.sleep(plan.round_window_s)
            windows.append(meter.stop())
        durations = round_durations(plan)
        round_wall = measure.median(durations)
        period = max(plan.round_interval_s, round_wall)
        sched_ms = [w["sched_s"] / (w["wall_s"] / period) * 1e3 for w in windows]
        stat_ms = [w["stat_s"] / (w["wall_s"] / period) * 1e3 for w in windows]
        faults = [w["minflt"] / (w["wall_s"] / period) for w in windows]
        res["round"] = {"interval_s": plan.round_interval_s, "window_s": windows[0]["wall_s"],
                        "rounds": windows[0]["wall_s"] / period,
                        "cpu_sched_ms": measure.median(sched_ms),
                        "cpu_stat_ms": measure.median(stat_ms),
                        "cpu_windows_ms": sched_ms,
                        "minflt_per_round": measure.median(faults),
                        "wall_ms": round_wall * 1e3,
                        "wall_samples_ms": sorted(d * 1e3 for d in durations),
                        "overran": round_wall > plan.round_interval_s * 0.8,
                        "rss_kib": measure.rss_kib(proc.pid)}
        res["round"]["wall_apart_ms"] = round_wall_apart(proc.pid, bird_pid, plan)
    finally:
        proc.stop()
    # 2. Scrapes: the default interval (5 s), the rounds that fall into a phase subtracted.
    proc = start_ours(args, work, "scrapes", sock, "5s", "2s", n)
    try:
        per_s = res["round"]["cpu_sched_ms"] / 1e3 / 5.0
        res.update(scrape_phases(OURS_PORT, proc.pid, plan, n, rounds_cpu_per_s=per_s))
    finally:
        proc.stop()
    res.update(measure.analyse_exposition(res["body"]))
    return res


def measure_ours_variant(args, work, sock, n, plan, variant, round_cpu_ms, reachable):
    """The scrape phases again in another setting (the probes on, or an experiment)."""
    res = {"exporter": "calico-bgp-exporter", "variant": variant}
    proc = start_ours(args, work, "variant-" + variant["tag"], sock, "5s", "2s", n,
                      env=variant.get("env"), probes=variant.get("probes", "off"),
                      reachable=reachable)
    try:
        res.update(scrape_phases(OURS_PORT, proc.pid, plan, n,
                                 rounds_cpu_per_s=round_cpu_ms / 1e3 / 5.0))
    finally:
        proc.stop()
    res.update(measure.analyse_exposition(res["body"]))
    return res


def measure_theirs(args, work, sock, version, n, plan):
    argv = ["prometheus-bird-exporter", f"-bird.socket={sock}",
            f"-web.listen-address=127.0.0.1:{THEIRS_PORT}", "-format.new=true"]
    argv += ["-bird.v2"] if version >= 2 else ["-bird.ipv6=false"]
    proc = measure.Process(argv, os.path.join(work, "bird_exporter.log"))

    def ready():
        _, status, body = measure.scrape(THEIRS_PORT, gzip=False, timeout=30)
        text = body.decode(errors="replace")
        up = [ln for ln in text.splitlines()
              if ln.startswith("bird_protocol_up{") and 'proto="BGP"' in ln]
        return status == 200 and len(up) == n

    try:
        measure.wait_until(ready, 60, f"bird_exporter sees {n} BGP protocols", proc)
        res = {"exporter": "bird_exporter", "argv": argv}
        res.update(scrape_phases(THEIRS_PORT, proc.pid, plan, n))
    finally:
        proc.stop()
    res.update(measure.analyse_exposition(res["body"], bgp_only_label='proto="BGP"'))
    # A scrape is a BIRD round for bird_exporter (one `show protocols all` per scrape).
    res["round"] = {"cpu_sched_ms": res["cpu_per_scrape"]["sched_ms"],
                    "cpu_stat_ms": res["cpu_per_scrape"]["stat_ms"],
                    "wall_ms": res["plain"]["p50_ms"], "is_scrape": True}
    return res


def answer_summary(samples):
    """Medians and range of `samples`, {"times_ms": [...], "first_ms": [...]} of some queries."""
    times, firsts = samples["times_ms"], samples["first_ms"]
    return {"median_ms": measure.median(times), "min_ms": min(times), "max_ms": max(times),
            "reps": len(times), "first_byte_ms": measure.median(firsts)}


def bird_answer(sock, reps, gap_s=0.0):
    """BIRD's own answer time for `show protocols all` (one connection, after the greeting):
    back to back, or with `gap_s` between the queries (as the exporter's rounds ask). Returns
    (summary, samples to pool with later ones, reply, status)."""
    samples = {"times_ms": [], "first_ms": []}
    with birdlab.BirdSocket(sock) as s:
        status, _ = s.query("show status")
        for _ in range(reps):
            time.sleep(gap_s)
            reply, dt = s.query("show protocols all")
            samples["times_ms"].append(dt * 1e3)
            # BIRD starts writing `show protocols all` once all of it is in its memory (Calico's
            # fork: nest/proto.c walks every protocol within the command, nest/cli.c writes
            # after it), so the first byte is BIRD's own time, whatever the reader does.
            samples["first_ms"].append(s.first_byte_s * 1e3)
    return {**answer_summary(samples), "reply_bytes": len(reply)}, samples, reply, status


def strip_bodies(case):
    for key in ("ours", "theirs"):
        case[key].pop("body", None)
    for v in case.get("variants", []):
        v.pop("body", None)
    return case


def variants(args):
    out = []
    if args.variant_env:
        k, v = args.variant_env.split("=", 1)
        out.append({"tag": "env", "label": f"..with {k}={v}", "env": {k: v}, "cpu_valid": True})
    if args.has_probes and args.variant_probes:
        # The RSS figure: the default config (probes every 30 s, MTU every 5 min, the
        # clock every minute; each probe's first rounds run as BIRD reports the peers).
        out.append({"tag": "probes-default", "label": "..probes on (defaults)",
                    "probes": "default", "cpu_valid": False})
        # Harder than the default: every probe's round always in flight.
        out.append({"tag": "probes", "label": "..probes on (2s)", "probes": "fast",
                    "cpu_valid": False})
    return out


def run_pair(args, work, sock, version, n, plan, case, bird_pid=None):
    log("  calico-bgp-exporter ...")
    case["ours"] = measure_ours(args, work, sock, n, plan, bird_pid)
    # BIRD's answer time again right after ours' rounds (the machine's load drifts): pooled.
    _, again, _, _ = bird_answer(sock, plan.answer_reps)
    before = case.pop("bird_answer_samples")
    case["bird_answer"].update(answer_summary({k: before[k] + again[k] for k in before}))
    # The same query paced like ours' rounds: BIRD between two of them is idle, not warm.
    case["bird_answer_paced"], _, _, _ = bird_answer(sock, plan.answer_reps,
                                                     gap_s=plan.round_interval_s)
    if n >= args.variant_min_n:
        case["variants"] = []
        for variant in variants(args):
            log(f"  calico-bgp-exporter {variant['label']} ...")
            case["variants"].append(measure_ours_variant(
                args, work, sock, n, plan, variant, case["ours"]["round"]["cpu_sched_ms"],
                reachable=case["source"] == "lab"))
    log("  bird_exporter ...")
    case["theirs"] = measure_theirs(args, work, sock, version, n, plan)
    o, t = case["ours"], case["theirs"]
    log(f"  seq p50 {o['seq']['p50_ms']:.2f} vs {t['seq']['p50_ms']:.2f} ms, "
        f"bytes {o['bytes']} vs {t['bytes']}, RSS {o['rss_kib']} vs {t['rss_kib']} KiB")
    return strip_bodies(case)


def run_lab_case(args, version, n, plan, fork=False):
    """A real BIRD lab of N sessions. fork: Calico's BIRD fork (a 1.6: version 1's configs)."""
    work = os.path.join(args.work, f"fork-n{n}" if fork else f"bird{version}-n{n}")
    os.makedirs(os.path.join(work, "a"), exist_ok=True)
    os.makedirs(os.path.join(work, "b"), exist_ok=True)
    binary = birdlab.BIRD1 if version == 1 else os.path.join(args.bird2, "usr/sbin/bird")
    if fork:
        binary = args.fork
    files = {}
    for node, text in (("a", birdlab.observed_config(version, n, f"{work}/a/bird.log",
                                                      args.connects_per_second)),
                       ("b", birdlab.peer_config(version, n, f"{work}/b/bird.log"))):
        files[node] = (f"{work}/{node}/bird.conf", f"{work}/{node}/bird.ctl",
                       f"{work}/{node}/bird.pid")
        with open(files[node][0], "w") as f:
            f.write(text)
    peer = birdlab.Daemon(binary, f"{args.netns_prefix}-b", *files["b"])
    observed = birdlab.Daemon(binary, None, *files["a"])
    case = {"source": "lab", "version": version, "n": n}
    if fork:
        case["bird"] = "fork"
    log(f"{'Calico fork' if fork else 'BIRD'} {version} lab, N={n}: starting")
    try:
        peer.start()
        observed.start()
        case["establish_s"] = birdlab.wait_established(
            files["a"][1], n // 2, n, args.establish_deadline, progress=log)
        est, total = birdlab.count_bgp_states(files["a"][1])
        case["established"], case["bgp_protocols"] = est, total
        log(f"  {est}/{total} Established after {case['establish_s']:.1f} s")
        time.sleep(1.0)  # Let the last OPEN/UPDATE exchanges settle.
        case["bird_answer"], case["bird_answer_samples"], reply, status = bird_answer(
            files["a"][1], plan.answer_reps)
        log(f"  BIRD answers `show protocols all` ({len(reply)} bytes) in "
            f"{case['bird_answer']['median_ms']:.2f} ms (median)")
        if n == max(args.sizes) and not fork:
            rec = os.path.join(args.work, "recorded")
            os.makedirs(rec, exist_ok=True)
            with open(f"{rec}/bird{version}-n{n}-show_protocols_all.raw", "wb") as f:
                f.write(reply)
            with open(f"{rec}/bird{version}-n{n}-show_status.raw", "wb") as f:
                f.write(status)
        run_pair(args, work, files["a"][1], version, n, plan, case, observed.pid)
        est2, total2 = birdlab.count_bgp_states(files["a"][1])
        case["established_after"] = est2
        if est2 != est:
            log(f"  WARNING: {est2} Established after the measurements (was {est})")
    finally:
        observed.stop()
        peer.stop()
    return case


def start_fake(args, work, version, protocols_file, status_file):
    sock = os.path.join(work, "bird.ctl")
    proc = measure.Process([sys.executable, FAKE_BIRD,
                            "serve", "--socket", sock, "--greeting", FAKE_GREETING[version],
                            "--status", status_file, "--protocols", protocols_file],
                           os.path.join(work, "fake_bird.log"))

    def ready():
        with birdlab.BirdSocket(sock, timeout=2):
            return True

    measure.wait_until(ready, 20, "fake BIRD answers", proc)
    return proc, sock


def fake_stats(sock):
    with birdlab.BirdSocket(sock, timeout=5) as s:
        reply, _ = s.query("fake stats")
    text = reply.decode().strip()[5:]
    return {k: int(v) for k, v in (kv.split("=", 1) for kv in text.split())}


def recorded(args, version):
    rec = os.path.join(args.work, "recorded")
    n = max(args.sizes)
    p = f"{rec}/bird{version}-n{n}-show_protocols_all.raw"
    s = f"{rec}/bird{version}-n{n}-show_status.raw"
    if not (os.path.exists(p) and os.path.exists(s)):
        raise RuntimeError(f"no recording of the BIRD {version} N={n} lab in this run")
    return p, s, n


def run_fake_case(args, version, n, plan):
    work = os.path.join(args.work, f"fake{version}-n{n}")
    os.makedirs(work, exist_ok=True)
    src, status, src_n = recorded(args, version)
    scaled = os.path.join(work, "show_protocols_all.raw")
    subprocess.run([sys.executable, FAKE_BIRD, "scale",
                    "--in", src, "--out", scaled, "--protocols", str(n)], check=True)
    log(f"fake BIRD {version}, N={n} (recorded N={src_n} lab reply, scaled): starting")
    proc, sock = start_fake(args, work, version, scaled, status)
    case = {"source": "fake", "version": version, "n": n, "recorded_from_n": src_n}
    try:
        case["bird_answer"], case["bird_answer_samples"], reply, _ = bird_answer(
            sock, plan.answer_reps)
        log(f"  fake BIRD answers ({len(reply)} bytes) in "
            f"{case['bird_answer']['median_ms']:.2f} ms (median)")
        run_pair(args, work, sock, version, n, plan, case)
    finally:
        proc.stop()
    return case


def run_soak(args, version, rounds, warmup=1000):
    work = os.path.join(args.work, "soak")
    os.makedirs(work, exist_ok=True)
    src, status, n = recorded(args, version)
    log(f"soak: calico-bgp-exporter, {rounds} rounds at 10ms against fake BIRD {version} N={n}")
    fake, sock = start_fake(args, work, version, src, status)
    res = {"version": version, "n": n, "interval": "10ms", "timeout": "10ms",
           "rounds_target": rounds, "warmup_rounds": warmup, "samples": []}
    try:
        proc = start_ours(args, work, "soak", sock, "10ms", "10ms", n)
        try:
            t0 = time.monotonic()
            base = fake_stats(sock).get("show_protocols_all", 0)
            next_mark = 100
            while True:
                done = fake_stats(sock).get("show_protocols_all", 0) - base
                if done >= next_mark:
                    res["samples"].append({"rounds": done, "rss_kib": measure.rss_kib(proc.pid),
                                           "t_s": time.monotonic() - t0})
                    if next_mark >= rounds + warmup:
                        break
                    next_mark = warmup if next_mark < warmup else next_mark + 100  # ~100 samples
                if not proc.alive():
                    raise RuntimeError("calico-bgp-exporter died during the soak")
                if time.monotonic() - t0 > args.soak_deadline:
                    raise TimeoutError(f"soak: only {done} rounds in {args.soak_deadline} s")
                time.sleep(0.05)
            _, _, body = measure.scrape(OURS_PORT, gzip=False)
            text = body.decode()
            res["bird_up_at_end"] = measure.metric_values(text, "calico_bgp_bird_up")
            res["peers_at_end"] = text.count("\ncalico_bgp_peer_up{")
            res["wall_s"] = time.monotonic() - t0
            with open(f"/proc/{proc.pid}/status") as f:
                res["vmhwm_kib"] = int(next(ln for ln in f if ln.startswith("VmHWM:")).split()[1])
        finally:
            proc.stop()
        with open(os.path.join(work, "ours-soak.log"), errors="replace") as f:
            logtext = f.read()
        res["bird_down_transitions"] = len(re.findall(r'msg="BIRD is down"', logtext))
    finally:
        fake.stop()
    s = res["samples"]
    start = next((x for x in s if x["rounds"] >= warmup), s[0])
    res["rss_start_kib"], res["rss_end_kib"] = start["rss_kib"], s[-1]["rss_kib"]
    res["rss_max_kib"] = max(x["rss_kib"] for x in s)
    log(f"  RSS {res['rss_start_kib']} KiB at {start['rounds']} rounds (after the warm-up) -> "
        f"{res['rss_end_kib']} KiB at {s[-1]['rounds']} rounds ({res['wall_s']:.0f} s)")
    return res


def callgrind_calls(path, prefixes):
    """{prefix: (calls, inclusive instructions)} of the calls into the functions whose names start
    with each prefix, from a callgrind output file (name compression: "cfn=(id) name" once, then
    "cfn=(id)"; a call is "calls=N ..." followed by "position inclusive-cost")."""
    names, totals, callee = {}, {p: [0, 0] for p in prefixes}, None
    with open(path, errors="replace") as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines):
        m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line)
        if m:
            if m.group(3):
                names[m.group(2)] = m.group(3)
            callee = names.get(m.group(2), "") if m.group(1) == "cfn" else None
            continue
        m = re.match(r"^calls=(\d+)", line)
        if m and callee is not None and i + 1 < len(lines):
            for prefix in prefixes:
                if callee.startswith(prefix):
                    cost = lines[i + 1].split()
                    totals[prefix][0] += int(m.group(1))
                    totals[prefix][1] += int(cost[1]) if len(cost) > 1 else 0
            callee = None
    return {p: tuple(v) for p, v in totals.items()}


def run_instructions(args, version, rounds):
    """Instructions per BIRD round and per diagnosis, counted by callgrind: unlike CPU time, the
    same on a slow day of this machine and a fast one. Ours under valgrind against the fake BIRD
    serving this run's recorded N=1000 lab reply, a round every 2 s, the probes off."""
    valgrind = shutil.which("valgrind")
    if not valgrind:
        log("instructions per round: skipped (apt-get install valgrind)")
        return {"skipped": "valgrind is not installed: apt-get install valgrind"}
    work = os.path.join(args.work, "instructions")
    os.makedirs(work, exist_ok=True)
    src, status, n = recorded(args, version)
    log(f"instructions per round: calico-bgp-exporter under callgrind, {rounds} rounds against "
        f"fake BIRD {version} N={n}")
    fake, sock = start_fake(args, work, version, src, status)
    out = os.path.join(work, "callgrind.out")
    prefixes = ("cbe::BirdRound::Run()", "cbe::DeriveDiagnosis(")
    try:
        proc = start_ours(args, work, "instructions", sock, "2s", "2s", n, wrapper=(
            valgrind, "--tool=callgrind", "--collect-atstart=no",
            "--toggle-collect=cbe::BirdRound::Run*", "--toggle-collect=cbe::DeriveDiagnosis*",
            f"--callgrind-out-file={out}"))
        try:
            # The first round (connection, tracker, address lookups) is one of `rounds`.
            measure.wait_until(lambda: fake_stats(sock).get("show_protocols_all", 0) >= rounds,
                               rounds * 5 + 60, f"{rounds} rounds under callgrind", proc,
                               interval=0.5)
        finally:
            proc.stop()  # SIGTERM: the exporter exits and valgrind writes the counts.
        measure.wait_until(lambda: os.path.exists(out), 30, "callgrind's output")
    finally:
        fake.stop()
    counts = callgrind_calls(out, prefixes)
    res = {"version": version, "n": n, "rounds": rounds}
    for key, prefix in zip(("round", "diagnosis"), prefixes):
        calls, ir = counts[prefix]
        if calls == 0:
            raise RuntimeError(f"callgrind counted no call of {prefix} (see {out})")
        res[key] = {"calls": calls, "instructions": ir, "per_call": ir / calls}
    log(f"  {res['round']['per_call'] / 1e6:.2f} M instructions per round, "
        f"{res['diagnosis']['instructions'] / res['round']['calls'] / 1e6:.2f} M in its diagnosis")
    return res


def run_parser_bench(args):
    if not args.parser_bench:
        return {"skipped": "no parser_bench binary"}
    env = dict(os.environ)
    rec = os.path.join(args.work, "recorded")
    if os.path.isdir(rec):
        env["CBE_BENCH_RECORDED"] = ":".join(
            os.path.join(rec, f) for f in sorted(os.listdir(rec)) if "show_protocols_all" in f)
    out = os.path.join(args.work, "parser_bench.json")
    log("parser_bench ...")
    subprocess.run([args.parser_bench, "--benchmark_format=console",
                    f"--benchmark_out={out}", "--benchmark_out_format=json",
                    f"--benchmark_min_time={0.05 if args.quick else 0.3}"],
                   env=env, check=True, stdout=sys.stderr)
    with open(out) as f:
        data = json.load(f)
    return {"context": {k: data["context"].get(k) for k in
                        ("num_cpus", "mhz_per_cpu", "library_build_type", "cpu_scaling_enabled")},
            "benchmarks": [{"name": b["name"], "bytes_per_second": b.get("bytes_per_second"),
                            "real_time": b.get("real_time"), "time_unit": b.get("time_unit"),
                            "bytes": b.get("bytes")}
                           for b in data["benchmarks"] if b.get("run_type") != "aggregate"]}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--work", required=True)
    p.add_argument("--netns-prefix", required=True)
    p.add_argument("--bench-dir", default=os.path.dirname(os.path.abspath(__file__)))
    p.add_argument("--exporter", required=True)
    p.add_argument("--bird2", required=True, help="dpkg -x of bird2 (usr/sbin/bird inside)")
    p.add_argument("--parser-bench", default="")
    p.add_argument("--versions", default="1,2")
    p.add_argument("--sizes", default="10,100,1000")
    p.add_argument("--fake-sizes", default="5000")
    p.add_argument("--fake-versions", default="2")
    p.add_argument("--fork", default="", help="Calico's BIRD fork (bird binary): a lab of its own")
    p.add_argument("--fork-sizes", default="1000")
    p.add_argument("--soak-rounds", type=int, default=10000)
    p.add_argument("--soak-deadline", type=float, default=400)
    p.add_argument("--instruction-rounds", type=int, default=20,
                   help="rounds counted by callgrind (0: skip)")
    p.add_argument("--establish-deadline", type=float, default=300)
    p.add_argument("--connects-per-second", type=int, default=100)
    p.add_argument("--variant-env", default="MALLOC_ARENA_MAX=2",
                   help="an extra run of ours with this VAR=VALUE (empty: none)")
    p.add_argument("--variant-probes", type=int, default=1,
                   help="1: an extra run of ours with its probes on (if the binary has them)")
    p.add_argument("--variant-min-n", type=int, default=1000)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    args.sizes = [int(x) for x in args.sizes.split(",") if x]
    versions = [int(x) for x in args.versions.split(",") if x]
    fake_sizes = [int(x) for x in args.fake_sizes.split(",") if x]
    fake_versions = [int(x) for x in args.fake_versions.split(",") if x]
    plan = Plan(args.quick)
    args.has_probes = exporter_has_probes(args)

    started = time.time()
    results = {"meta": {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                        "loadavg_start": os.getloadavg(),
                        "host": platform.node(), "kernel": platform.release(),
                        "kernel_sched_options": sched_boot_options(),
                        "cpus": os.cpu_count(), "quick": args.quick,
                        "exporter": args.exporter, "exporter_has_probes": args.has_probes,
                        "versions": {}},
               "cases": [], "soak": None, "instructions": None, "parser": None}
    for cmd in ([args.exporter, "--version"], ["prometheus-bird-exporter", "-version"],
                [birdlab.BIRD1, "--version"],
                [os.path.join(args.bird2, "usr/sbin/bird"), "--version"]) + (
                    ([args.fork, "--version"],) if args.fork else ()):
        r = subprocess.run(cmd, capture_output=True, text=True)
        out = (r.stdout + r.stderr).strip().splitlines()
        text = " ".join(out[:2]) if out and out[0] == "bird_exporter" else out[0]
        results["meta"]["versions"][os.path.basename(cmd[0]) + (
            "2" if "bird2" in cmd[0] else "") + (" (fork)" if cmd[0] == args.fork else "")] = (
                ("Calico's fork: " if cmd[0] == args.fork else "") + text)

    def save():
        results["meta"]["duration_s"] = time.time() - started
        results["meta"]["loadavg_end"] = os.getloadavg()
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)

    def add(case_fn, *a):
        load0 = os.getloadavg()[0]
        case = case_fn(*a)
        case["loadavg1"] = [load0, os.getloadavg()[0]]
        results["cases"].append(case)
        save()

    for version in versions:
        for n in args.sizes:
            add(run_lab_case, args, version, n, plan)
    if args.fork:
        for n in [int(x) for x in args.fork_sizes.split(",") if x]:
            add(run_lab_case, args, 1, n, plan, True)
    for version in fake_versions:
        for n in fake_sizes:
            add(run_fake_case, args, version, n, plan)
    if args.soak_rounds > 0:
        results["soak"] = run_soak(args, fake_versions[0] if fake_versions else versions[-1],
                                   args.soak_rounds)
        save()
    if args.instruction_rounds > 0 and 1000 in args.sizes:
        results["instructions"] = run_instructions(args, 2 if 2 in versions else versions[-1],
                                                   args.instruction_rounds)
        save()
    results["parser"] = run_parser_bench(args)
    save()


if __name__ == "__main__":
    main()
