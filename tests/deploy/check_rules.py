#!/usr/bin/python3
"""Consistency checks of deploy/prometheus/alerts.yaml beyond promtool:

- every alert has a `severity` of critical or warning, a summary, a description and a
  runbook_url pointing at its own section of docs/runbook.md, which exists; every alert
  section of the runbook belongs to an alert;
- every alert is tested in alerts_test.yaml both firing (non-empty exp_alerts) and silent
  (empty exp_alerts);
- the rendered PrometheusRule (deploy/kubernetes/base/prometheusrule.yaml) holds exactly the
  groups of alerts.yaml.

    check_rules.py REPO_ROOT
"""
import os
import re
import sys

import yaml

kRunbookBase = "https://github.com/calico-bgp-exporter/calico-bgp-exporter/blob/main/docs/runbook.md#"


def main():
    root = sys.argv[1]
    errors = []
    with open(os.path.join(root, "deploy/prometheus/alerts.yaml"), encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    with open(os.path.join(root, "deploy/prometheus/alerts_test.yaml"), encoding="utf-8") as f:
        tests = yaml.safe_load(f)
    with open(os.path.join(root, "docs/runbook.md"), encoding="utf-8") as f:
        runbook = f.read()
    with open(os.path.join(root, "deploy/kubernetes/base/prometheusrule.yaml"), encoding="utf-8") as f:
        prometheus_rule = yaml.safe_load(f)

    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    sections = set(re.findall(r"^## (\S+)\s*$", runbook, re.M))
    for a in alerts:
        name = a["alert"]
        sev = a.get("labels", {}).get("severity")
        if sev not in ("critical", "warning"):
            errors.append(f"{name}: severity must be critical or warning, is {sev!r}")
        ann = a.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            if not ann.get(key):
                errors.append(f"{name}: annotation {key} missing")
        url = ann.get("runbook_url", "")
        if url != kRunbookBase + name.lower():
            errors.append(f"{name}: runbook_url should be {kRunbookBase + name.lower()}, is {url!r}")
        if name not in sections:
            errors.append(f"{name}: docs/runbook.md has no section '## {name}'")
    names = {a["alert"] for a in alerts}
    for s in sorted(sections):
        if s.startswith("CalicoBGP") and s not in names:
            errors.append(f"docs/runbook.md: section '## {s}' has no alert in alerts.yaml")

    fired, silent = set(), set()
    for t in tests["tests"]:
        for case in t.get("alert_rule_test", []):
            (fired if case.get("exp_alerts") else silent).add(case["alertname"])
    for name in sorted(names):
        if name not in fired:
            errors.append(f"{name}: alerts_test.yaml has no case where it fires")
        if name not in silent:
            errors.append(f"{name}: alerts_test.yaml has no case where it stays silent")
    for name in sorted((fired | silent) - names):
        errors.append(f"alerts_test.yaml tests {name}, which alerts.yaml does not define")

    if prometheus_rule.get("kind") != "PrometheusRule":
        errors.append("deploy/kubernetes/base/prometheusrule.yaml is not a PrometheusRule")
    elif prometheus_rule.get("spec", {}).get("groups") != rules["groups"]:
        errors.append("deploy/kubernetes/base/prometheusrule.yaml does not hold the groups of "
                      "alerts.yaml: run deploy/prometheus/render-prometheusrule")

    for e in errors:
        print(f"FAIL: {e}", file=sys.stderr)
    if errors:
        return 1
    print(f"{len(alerts)} alerts: severities, runbook sections, firing and silent tests, "
          f"PrometheusRule in sync")
    return 0


if __name__ == "__main__":
    sys.exit(main())
