#!/usr/bin/python3
"""Consistency checks of deploy/prometheus/alerts.yaml beyond promtool:

- every alert has a `severity` of critical or warning, a summary, a description and a
  runbook_url pointing at its own section of docs/runbook.md, which exists; every alert
  section of the runbook belongs to an alert; every runbook link is the same template (the
  exporter's /runbook, render-prometheusrule --runbook-url replaces it) plus '#<section>';
- every alert is tested in alerts_test.yaml both firing (non-empty exp_alerts) and silent
  (empty exp_alerts);
- the rendered PrometheusRule (deploy/kubernetes/base/prometheusrule.yaml) holds exactly the
  groups of alerts.yaml;
- the diagnosed causes (as `calico-bgp-exporter check --list-causes` prints them) each have a section
  `## cause-<cause>` in docs/runbook.md whose `**Next step:**` line is the exporter's next
  step, and CalicoBGPPeerDown's `next_step` annotation has a branch per cause with that same
  text and a `cause_runbook_url` to those sections: the alert, `check` and the runbook say the
  same thing;
- the runbook's kubectl commands work for both Calico layouts: no namespace calico-system
  (Tigera operator) or kube-system (manifest install, Kubespray) written into them;
- the clock alerts' threshold is the `clock.max_offset` of the shipped configs
  (deploy/config.example.yml, deploy/kubernetes/base/config.yml): the exporter does not export
  it, so the rules repeat it.

    check_rules.py REPO_ROOT EXPORTER
"""
import json
import os
import re
import subprocess
import sys

import yaml

# The default runbook link names the page the exporter serves (/runbook, docs/runbook.md of the
# running version); what it resolves to is tested by promtool (alerts_test.yaml) and the e2e test.
kExporterRunbookPage = "http://{{ .Labels.instance }}/runbook"


def runbook_template(rules, errors):
    """The one template (before '#') of every runbook_url and cause_runbook_url."""
    urls = [v for g in rules["groups"] for r in g["rules"] if "alert" in r
            for k, v in r.get("annotations", {}).items() if k in ("runbook_url", "cause_runbook_url")]
    templates = sorted({u.split("#", 1)[0] for u in urls})
    if len(templates) != 1:
        errors.append(f"alerts.yaml: every runbook link must be one template plus '#<section>', "
                      f"found {templates}")
        return None
    if kExporterRunbookPage not in templates[0]:
        errors.append(f"alerts.yaml: the runbook links must name the exporter's page "
                      f"{kExporterRunbookPage}, have {templates[0]!r}")
    return templates[0]


def exporter_causes(exporter):
    """{cause name: next step}, as the exporter lists them (`check --list-causes`)."""
    out = subprocess.run([exporter, "check", "--list-causes", "--output", "json"],
                         check=True, capture_output=True, text=True).stdout
    return {c["cause"]: c["next_step"] for c in json.loads(out)}


def template_branches(text):
    """{cause: text} of an annotation `{{- if eq $labels.cause "x" -}} text {{- else if ...`;
    the final `{{- else -}}` branch under the key None."""
    out = {}
    for m in re.finditer(r'\{\{-?\s*(?:else\s+)?if\s+eq\s+\$labels\.cause\s+"(\w+)"\s*-?\}\}(.*?)(?=\{\{)',
                         text, re.S):
        out[m.group(1)] = m.group(2).strip()
    m = re.search(r'\{\{-?\s*else\s*-?\}\}(.*?)\{\{-?\s*end', text, re.S)
    if m:
        out[None] = m.group(1).strip()
    return out


def check_causes(exporter, rules, runbook, template, errors):
    causes = exporter_causes(exporter)
    if not causes:
        errors.append("check --list-causes: found no causes")
        return
    sections = {}
    for m in re.finditer(r"^## cause-(\S+)\s*\n(.*?)(?=^#|\Z)", runbook, re.M | re.S):
        step = re.search(r"^\*\*Next step:\*\* (.+)$", m.group(2), re.M)
        sections[m.group(1)] = step.group(1).strip() if step else None
    for cause, step in sorted(causes.items()):
        if step is None:
            errors.append(f"check --list-causes: no next step for cause {cause}")
        if cause not in sections:
            errors.append(f"docs/runbook.md: no section '## cause-{cause}'")
        elif sections[cause] != step:
            errors.append(f"docs/runbook.md: '## cause-{cause}' needs the line "
                          f"'**Next step:** {step}' (the exporter's), has {sections[cause]!r}")
    for cause in sorted(set(sections) - set(causes)):
        errors.append(f"docs/runbook.md: section '## cause-{cause}' is no cause of the exporter")
    peer_down = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "CalicoBGPPeerDown"]
    if len(peer_down) != 1:
        errors.append("alerts.yaml: expected one CalicoBGPPeerDown rule")
        return
    ann = peer_down[0].get("annotations", {})
    if ann.get("cause_runbook_url") != f"{template}#cause-{{{{ $labels.cause }}}}":
        errors.append(f"CalicoBGPPeerDown: cause_runbook_url should be {template}#cause-{{{{ $labels.cause }}}}, "
                      f"is {ann.get('cause_runbook_url')!r}")
    branches = template_branches(ann.get("next_step", ""))
    for cause, step in sorted(causes.items()):
        got = branches.get(cause, branches.get(None) if cause == "unknown" else None)
        if got != step:
            errors.append(f"CalicoBGPPeerDown: next_step for cause {cause} should be {step!r}, is {got!r}")
    for cause in sorted(set(branches) - set(causes) - {None}):
        errors.append(f"CalicoBGPPeerDown: next_step has a branch for {cause}, which is no cause")
    if branches.get(None) != causes.get("unknown"):
        errors.append("CalicoBGPPeerDown: next_step's {{ else }} branch must be the next step of unknown")
    return len(causes)


def check_calico_namespaces(runbook, errors):
    """calico-node lives in calico-system or kube-system: commands must not pick one."""
    for n, line in enumerate(runbook.splitlines(), 1):
        if re.search(r"kubectl\b.*(-n|--namespace)[ =](calico-system|kube-system)\b", line):
            errors.append(f"docs/runbook.md:{n}: a namespace of one Calico layout only "
                          f"(use $CALICO_NS or kubectl get pod -A): {line.strip()}")


def seconds(duration):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", str(duration))
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[m.group(2)] if m else None


def check_clock_threshold(root, rules, errors):
    configs = {}
    for rel in ("deploy/config.example.yml", "deploy/kubernetes/base/config.yml"):
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            configs[rel] = seconds(((yaml.safe_load(f) or {}).get("clock") or {}).get("max_offset", "100ms"))
    for rel, value in configs.items():
        if value is None:
            errors.append(f"{rel}: clock.max_offset is not a duration like 100ms")
    want = next(iter(configs.values()))
    for name in ("CalicoBGPClockOffsetHigh", "CalicoBGPPeerClockSkew"):
        exprs = [r["expr"] for g in rules["groups"] for r in g["rules"] if r.get("alert") == name]
        if not exprs:
            errors.append(f"alerts.yaml: no alert {name}")
        for expr in exprs:
            found = [float(x) for x in re.findall(r">\s*(\d+(?:\.\d+)?)", expr)]
            if want is not None and (not found or any(x != want for x in found)):
                errors.append(f"{name}: threshold {found} is not clock.max_offset of the shipped "
                              f"configs ({want} s, {configs})")


def main():
    root, exporter = sys.argv[1], sys.argv[2]
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
    template = runbook_template(rules, errors)
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
        if url != f"{template}#{name.lower()}":
            errors.append(f"{name}: runbook_url should be {template}#{name.lower()}, is {url!r}")
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

    causes = check_causes(exporter, rules, runbook, template, errors)
    check_clock_threshold(root, rules, errors)
    check_calico_namespaces(runbook, errors)

    for e in errors:
        print(f"FAIL: {e}", file=sys.stderr)
    if errors:
        return 1
    print(f"{len({a['alert'] for a in alerts})} alerts ({len(alerts)} rules): severities, runbook "
          f"sections, firing and silent tests, PrometheusRule in sync; {causes} causes: runbook "
          f"sections and next steps as the exporter's and CalicoBGPPeerDown's; clock threshold as "
          f"clock.max_offset; runbook commands for both Calico layouts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
