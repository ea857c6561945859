#!/usr/bin/python3
"""Every metric a rule or dashboard query uses must exist now.

Known: the calico_bgp_* names the exporter's sources emit (string literals in exporter/ and
probes/), the recording rules of deploy/prometheus/alerts.yaml, and Prometheus' own `up`.
A rule or panel for a metric the exporter does not emit yet shows "No data" or never fires,
which is a defect: this check names the file and the unknown metric.

    metric_names.py REPO_ROOT
"""
import glob
import json
import os
import re
import sys

import yaml

kMetricToken = re.compile(r"(?<![A-Za-z0-9_:$])([a-zA-Z_][a-zA-Z0-9_]*(?::[a-zA-Z0-9_]+)+|calico_bgp_[a-z0-9_]+)")


def exporter_metrics(root):
    names = set()
    for pattern in ("exporter/**/*.cc", "exporter/**/*.h", "probes/**/*.cc", "probes/**/*.h"):
        for path in glob.glob(os.path.join(root, pattern), recursive=True):
            with open(path, encoding="utf-8") as f:
                names.update(re.findall(r'"(calico_bgp_[a-z0-9_]+)"', f.read()))
    return names


def strip_strings(expr):
    """Drops string literals (label values, regexes) from a PromQL expression."""
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)


def metrics_in(expr):
    out = set()
    for m in kMetricToken.finditer(strip_strings(expr)):
        out.add(m.group(1))
    return out


def main():
    root = sys.argv[1]
    with open(os.path.join(root, "deploy/prometheus/alerts.yaml"), encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    emitted = exporter_metrics(root)
    if not emitted:
        print("FAIL: found no calico_bgp_* metric names in exporter/ and probes/", file=sys.stderr)
        return 1
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    known = emitted | recorded | {"up"}

    uses = []  # (where, expr)
    for g in rules["groups"]:
        for r in g["rules"]:
            uses.append((f"alerts.yaml {r.get('record') or r.get('alert')}", r["expr"]))
    for path in sorted(glob.glob(os.path.join(root, "dashboards/*.json"))):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        name = os.path.basename(path)
        panels = []
        for p in d.get("panels", []):
            panels.append(p)
            panels.extend(p.get("panels", []))
        for p in panels:
            for t in p.get("targets", []):
                uses.append((f"{name} panel {p.get('id')} \"{p.get('title')}\"", t.get("expr", "")))
        for v in d.get("templating", {}).get("list", []):
            q = v.get("query")
            if isinstance(q, dict):
                q = q.get("query", "")
            if v.get("type") == "query":
                uses.append((f"{name} variable {v.get('name')}", q or ""))

    errors = 0
    for where, expr in uses:
        for m in sorted(metrics_in(expr)):
            # Functions and keywords never contain ':' nor start with calico_bgp_.
            if m not in known:
                print(f"FAIL: {where}: metric {m} is neither emitted by the exporter "
                      f"(exporter/, probes/) nor recorded in deploy/prometheus/alerts.yaml",
                      file=sys.stderr)
                errors += 1
    if errors:
        return 1
    print(f"{len(uses)} expressions use only metrics that exist "
          f"({len(emitted)} emitted by the exporter, {len(recorded)} recorded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
