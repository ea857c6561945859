#!/usr/bin/python3
"""Renders harness.py's JSON as the one results table (plus the figures of issue 7).

  report.py RESULTS.json > latest.txt
"""

import json
import math
import sys

PARSER_TARGET_MBPS = 200.0
RSS_TARGET_MIB = 12.0


def fmt(v, digits=3):
    """Numbers with about `digits` significant digits, no exponent for normal sizes."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, str):
        return v
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 10 ** digits:
        return f"{v:,.0f}"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(a))))
    return f"{v:.{decimals}f}"


def ratio(a, b):
    if a is None or b is None or b == 0 or (isinstance(a, float) and math.isnan(a)):
        return None
    return a / b


def fmt_ratio(r):
    if r is None:
        return "-"
    if r < 1:
        return f"1/{1 / r:.3g}" if r > 0 else "0"
    return f"{r:.3g}x"


COLUMNS = [
    # (header line 1, header line 2, width, getter)
    ("seq", "p50", 8, lambda e: e["seq"]["p50_ms"]),
    ("seq", "p99", 8, lambda e: e["seq"]["p99_ms"]),
    ("8conc", "p50", 8, lambda e: e["conc"]["p50_ms"]),
    ("8conc", "p99", 8, lambda e: e["conc"]["p99_ms"]),
    ("plain", "p50", 9, lambda e: e["plain"]["p50_ms"]),
    ("bytes/", "scrape", 12, lambda e: e["bytes"]),
    ("gzip", "bytes", 9, lambda e: e["gzip_bytes"]),
    ("series", "/peer", 7, lambda e: e["per_protocol_series"] / e["_n"]),
    ("RSS MiB", "warm", 8, lambda e: e["rss_warm_kib"] / 1024),
    ("RSS MiB", "end", 8, lambda e: e["rss_kib"] / 1024),
    ("CPU ms", "/scrape", 8, lambda e: e["cpu_per_scrape"]["sched_ms"]),
    ("CPU ms", "/round", 8, lambda e: e["round"]["cpu_sched_ms"]),
    ("round", "wall ms", 8, lambda e: e["round"]["wall_ms"]),
]
LABEL_W = 28


def case_title(c):
    bird = "BIRD 1.6" if c["version"] == 1 else "BIRD 2"
    if c["source"] == "lab":
        src = (f"real {bird} lab, {c.get('established', c['n'] // 2)} of {c['n']} Established "
               f"after {c['establish_s']:.1f} s")
    else:
        src = (f"fake {bird} (python) serving the recorded N={c['recorded_from_n']} lab reply "
               f"scaled to {c['n']}")
    a = c["bird_answer"]
    who = "BIRD answers" if c["source"] == "lab" else "the fake answers"
    return (f"N={c['n']}: {src}; `show protocols all` = {a['reply_bytes']:,} bytes, {who} in "
            f"{fmt(a['median_ms'])} ms (median of {a['reps']})")


def row(label, values, widths):
    return label.ljust(LABEL_W) + "".join(v.rjust(w) for v, w in zip(values, widths))


def table(results):
    widths = [w for _, _, w, _ in COLUMNS]
    out = []
    out.append(row("", [h1 for h1, _, _, _ in COLUMNS], widths))
    out.append(row("exporter", [h2 for _, h2, _, _ in COLUMNS], widths))
    out.append("-" * (LABEL_W + sum(widths)))
    for c in results["cases"]:
        out.append(case_title(c))
        entries = [("calico-bgp-exporter", c["ours"])]
        for v in c.get("variants", []):
            entries.append((v["variant"]["label"], v))
        entries.append(("bird_exporter", c["theirs"]))
        vals = {}
        for name, e in entries:
            e["_n"] = c["n"]
            vals[name] = []
            cells = []
            for _, _, _, get in COLUMNS:
                try:
                    v = get(e)
                except (KeyError, TypeError):
                    v = None
                vals[name].append(v)
                cells.append(fmt(v))
            if name == "bird_exporter":
                cells[-1] = "=scrape"
            if "variant" in e:
                cells[-3:] = ["-", "-", "-"] if not e["variant"]["cpu_valid"] else (
                    cells[-3:-2] + ["-", "-"])
            out.append(row("  " + name, cells, widths))
        rs = [fmt_ratio(ratio(a, b))
              for a, b in zip(vals["calico-bgp-exporter"], vals["bird_exporter"])]
        rs[-1] = fmt_ratio(ratio(c["ours"]["round"]["wall_ms"], c["bird_answer"]["median_ms"]))
        if c["source"] == "fake":
            rs[-1] = "(fake)"  # The fake answers with a memcpy: no BIRD to compare with.
        out.append(row("  ours/theirs", rs, widths))
        s = c["ours"]
        t = c["theirs"]
        out.append(f"  (samples ours/theirs: seq {s['seq']['n']}/{t['seq']['n']}, 8conc "
                   f"{s['conc']['n']}/{t['conc']['n']}, plain {s['plain']['n']}/{t['plain']['n']};"
                   f" ours' round: {fmt(s['round']['rounds'])} rounds at "
                   f"{s['round']['interval_s'] * 1000:.0f} ms; the last ratio is ours' round wall"
                   f" time / BIRD's answer time; 1-min load average "
                   f"{c.get('loadavg1', [0, 0])[0]:.1f} -> {c.get('loadavg1', [0, 0])[1]:.1f})")
    out.append("-" * (LABEL_W + sum(widths)))
    pr = results.get("probe_round")
    if pr:
        out.append(f"Probe round over {pr['peers']} peers, half closed (RST), half filtered "
                   f"(iptables DROP), probe timeout {pr['timeout_s']:g} s, default "
                   f"packets_per_second (bench/probe_round.py; 1-min load average "
                   f"{pr['loadavg1']:.1f}):")
        for kind, k in pr["kinds"].items():
            out.append(f"  {kind:4s} wall {k['wall_s']:.3f} s = {k['wall_s'] / pr['timeout_s']:.2f}x "
                       f"the timeout (rounds {', '.join(f'{d:.3f}' for d in k['rounds_s'])}), "
                       f"CPU {k['cpu_ms']:.0f} ms per round; {k['peers']}")
    else:
        out.append("Probe round: not measured (bench/probe_round.py failed or was not run)")
    return out


def find_case(results, source, version, n):
    for c in results["cases"]:
        if c["source"] == source and c["version"] == version and c["n"] == n:
            return c
    return None


def verdict(ok):
    return "MET   " if ok else "MISSED"


def figures(results):
    out = ["Figures of issue 7 (N=1000, real BIRD lab, same run; medians):"]
    for version in (1, 2):
        c = find_case(results, "lab", version, 1000)
        if not c:
            continue
        o, t = c["ours"], c["theirs"]
        bird = "BIRD 1.6" if version == 1 else "BIRD 2"
        for pct, limit in (("p50", 20), ("p99", 10)):
            key = f"{pct}_ms"
            r = ratio(o["seq"][key], t["seq"][key])
            conc = fmt_ratio(ratio(o["conc"][key], t["conc"][key]))
            out.append(f"  [{bird}] scrape {pct} <= 1/{limit} of bird_exporter's: "
                       f"{verdict(r <= 1 / limit)} {fmt(o['seq'][key])} vs {fmt(t['seq'][key])} "
                       f"ms = {fmt_ratio(r)} (8 concurrent: {conc})")
        r = ratio(o["bytes"], t["bytes"])
        out.append(f"  [{bird}] bytes per scrape <= 1/4 of bird_exporter's: {verdict(r <= 1 / 4)} "
                   f"{o['bytes']:,} vs {t['bytes']:,} = {fmt_ratio(r)} (gzip: "
                   f"{o['gzip_bytes']:,} vs {t['gzip_bytes']:,})")
        spp = o["per_protocol_series"] / c["n"]
        probes_on = [v for v in c.get("variants", []) if v["variant"].get("probes") == "fast"]
        if probes_on:
            pspp = probes_on[0]["per_protocol_series"] / c["n"]
            pb = probes_on[0]["bytes"]
            pmax = probes_on[0].get("per_peer_max", 0)
            out.append(f"  [{bird}] series per peer <= 12 by default: "
                       f"{verdict(pspp <= 12 and pmax <= 12)} "
                       f"{fmt(pspp)} on average, {pmax} for the peer with the most (an Established "
                       f"session), with every probe and the clock on (the default config; {pb:,} bytes = "
                       f"{fmt_ratio(ratio(pb, t['bytes']))} of bird_exporter's), {fmt(spp)} "
                       f"for the BIRD part alone (bird_exporter "
                       f"{fmt(t['per_protocol_series'] / c['n'])})")
        else:
            out.append(f"  [{bird}] series per peer <= 12: {verdict(spp <= 12)} {fmt(spp)} "
                       f"(bird_exporter {fmt(t['per_protocol_series'] / c['n'])})")
        warm = o["rss_warm_kib"] / 1024
        end = o["rss_kib"] / 1024
        out.append(f"  [{bird}] RSS <= {RSS_TARGET_MIB:.0f} MiB: {verdict(warm <= RSS_TARGET_MIB)} "
                   f"{fmt(warm)} MiB after warm-up, {fmt(end)} MiB after the 8-scraper phase "
                   f"{'(also within)' if end <= RSS_TARGET_MIB else '(exceeds)'}"
                   + "".join(f"; {v['variant']['label'].lstrip('.')}: "
                             f"{fmt(v['rss_warm_kib'] / 1024)} / {fmt(v['rss_kib'] / 1024)} MiB"
                             for v in c.get("variants", [])))
        r = ratio(o["round"]["wall_ms"], c["bird_answer"]["median_ms"])
        out.append(f"  [{bird}] BIRD round <= 2x BIRD's answer time: {verdict(r <= 2)} "
                   f"{fmt(o['round']['wall_ms'])} ms (show status + show protocols all + parse + "
                   f"snapshot, median) vs {fmt(c['bird_answer']['median_ms'])} ms = {fmt(r)}x; "
                   f"CPU {fmt(o['round']['cpu_sched_ms'])} ms per round")
    s = results.get("soak")
    if s:
        smp = s["samples"]
        first = next((x for x in smp if x["rounds"] >= s.get("warmup_rounds", 0)), smp[0])
        last = smp[-1]
        grow = last["rss_kib"] - first["rss_kib"]
        ok = grow <= max(256, 0.02 * first["rss_kib"])
        # Least-squares trend over the second half of the post-warm-up samples.
        half = [x for x in smp if x["rounds"] >= first["rounds"]]
        half = half[len(half) // 2:]
        slope = 0.0
        if len(half) >= 2:
            mx = sum(x["rounds"] for x in half) / len(half)
            my = sum(x["rss_kib"] for x in half) / len(half)
            den = sum((x["rounds"] - mx) ** 2 for x in half)
            slope = sum((x["rounds"] - mx) * (x["rss_kib"] - my) for x in half) / den * 1000
        out.append(f"  RSS not growing over {last['rounds'] - first['rounds']:,} rounds (fake BIRD "
                   f"{'1.6' if s['version'] == 1 else '2'}, N={s['n']}, interval {s['interval']}, "
                   f"timeout {s['timeout']}, no scrapes): {verdict(ok)} {first['rss_kib']} KiB at "
                   f"round {first['rounds']:,} -> {last['rss_kib']} KiB at round "
                   f"{last['rounds']:,} ({grow:+d} KiB; max {s['rss_max_kib']} KiB; "
                   f"{smp[0]['rss_kib']} KiB at round {smp[0]['rounds']}, before the warm-up "
                   f"ended; trend over the last {len(half)} samples {slope:+.0f} KiB per 1,000 "
                   f"rounds); bird_up at the end {s.get('bird_up_at_end')}, 'BIRD is down' log "
                   f"lines {s.get('bird_down_transitions')}; {s['wall_s']:.0f} s")
    pr = results.get("probe_round")
    if pr:
        for kind, k in pr["kinds"].items():
            x = k["wall_s"] / pr["timeout_s"]
            out.append(f"  Probe round over {pr['peers']} peers, half filtered ({kind}): wall <= "
                       f"1.2x the timeout and CPU < 100 ms: {verdict(x <= 1.2 and k['cpu_ms'] < 100)}"
                       f" {k['wall_s']:.3f} s = {x:.2f}x {pr['timeout_s']:g} s, CPU "
                       f"{k['cpu_ms']:.0f} ms")
    else:
        out.append("  Probe round over 1000 peers: not measured")
    p = results.get("parser") or {}
    spa = [b for b in p.get("benchmarks", []) if b["name"].startswith("BM_ParseShowProtocols/")
           and "show_protocols_all" in b["name"]]
    if spa:
        worst = min(spa, key=lambda b: b["bytes_per_second"])
        ok = worst["bytes_per_second"] / 1e6 >= PARSER_TARGET_MBPS
        out.append(f"  Parsers >= {PARSER_TARGET_MBPS:.0f} MB/s on `show protocols all`: "
                   f"{verdict(ok)} slowest {fmt(worst['bytes_per_second'] / 1e6)} MB/s "
                   f"({worst['name']}); fastest "
                   f"{fmt(max(b['bytes_per_second'] for b in spa) / 1e6)} MB/s")
    else:
        out.append(f"  Parsers >= {PARSER_TARGET_MBPS:.0f} MB/s: not measured "
                   f"({p.get('skipped', 'no results')})")
    return out


def parser_table(results):
    p = results.get("parser") or {}
    if not p.get("benchmarks"):
        return []
    out = ["Google Benchmark (bench/parser_bench; MB/s = 10^6 bytes of BIRD reply per second):"]
    for b in p["benchmarks"]:
        mbps = (b["bytes_per_second"] or 0) / 1e6
        size = f"{int(b['bytes']):,} B" if b.get("bytes") else ""
        out.append(f"  {b['name']:<78} {fmt(mbps):>8} MB/s  {size:>12}")
    return out


def soak_table(results):
    s = results.get("soak")
    if not s:
        return []
    cells = ", ".join(f"{x['rounds']}: {x['rss_kib']}" for x in s["samples"])
    return [f"Soak RSS (KiB) by round: {cells}"]


def main():
    with open(sys.argv[1]) as f:
        results = json.load(f)
    m = results["meta"]
    lines = [f"calico-bgp-exporter vs prometheus-bird-exporter -- {m['started']}, {m['cpus']} CPUs,"
             f" kernel {m['kernel']}{' (QUICK run: few samples)' if m.get('quick') else ''}",
             "  " + "; ".join(f"{v}" for v in m["versions"].values()),
             "  Latencies in ms per scrape on a new connection with Accept-Encoding: gzip (as "
             "Prometheus asks); 'plain' = without gzip. bytes/scrape = uncompressed exposition.",
             "  series/peer = series with a protocol= or peer= (ours) or name= + proto=\"BGP\" "
             "(bird_exporter) label / N. RSS = VmRSS after warm-up and at the end of all phases.",
             "  CPU = sum of the threads' schedstat run time; ours' CPU/scrape has the background "
             "rounds (interval 5s) subtracted; for bird_exporter a scrape IS a BIRD round.",
             "  calico-bgp-exporter rows: BIRD path only (all probes disabled in its config); "
             "'..' rows are experiments (other env/config), not the product's defaults."
             if m.get("exporter_has_probes") else
             "  calico-bgp-exporter: config `bird: {sockets, interval, timeout}` only.",
             ""]
    lines += table(results)
    lines += [""] + figures(results)
    lines += [""] + soak_table(results)
    lines += [""] + parser_table(results)
    lines.append("")
    lines.append(f"(run took {m.get('duration_s', 0):.0f} s)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
