#!/usr/bin/python3
"""Helpers of the e2e test (run inside the lab namespace, standard library + PyYAML):

  override-rules SRC DST FOR [ALERT:OLD=NEW...]
                                    copy of the rule file with every `for:` set to FOR, and in
                                    the expression of ALERT every range `[OLD]` and `offset OLD`
                                    set to NEW (for rules that count a duration in the
                                    expression instead of `for:`, e.g. CalicoBGPPeerDown)
  wait-ready URL SECONDS            poll URL until it answers 200
  wait-query PROM EXPR SECONDS      poll an instant query until it returns a sample
  wait-webhook FILE SECONDS STATUS LABEL=VALUE...
                                    poll the webhook's log for a notification with an alert of
                                    that status (firing|resolved) and those labels; prints it
  check-alerts PROM SECONDS ALERTNAME LABEL=VALUE... [-- ANNOTATION=VALUE...]
                                    poll /api/v1/alerts until that alert is firing
  expect-empty PROM EXPR            an instant query that must succeed with no result now
  show PROM EXPR...                 print each query's result (for a failure's context)
  evaluate PROM REPO_ROOT SECONDS   evaluate every dashboard target and variable query and every
                                    rule expression; see evaluate() below

Every wait polls with a deadline and never sleeps a fixed time to wait for a state.
"""
import glob
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

kPoll = 0.25


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def api(prom, path, **params):
    url = f"{prom}{path}?{urllib.parse.urlencode(params, doseq=True)}"
    try:
        status, body = http_get(url, timeout=10)
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            doc = json.loads(body)
        except ValueError:
            return {"status": "error", "error": f"HTTP {e.code}: {body[:300]!r}"}
        return doc
    return json.loads(body)


def poll(seconds, fn):
    deadline = time.monotonic() + seconds
    while True:
        result = fn()
        if result:
            return result
        if time.monotonic() >= deadline:
            return None
        time.sleep(kPoll)


def override_rules(src, dst, for_value, *windows):
    with open(src, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    n = 0
    for g in doc["groups"]:
        for r in g["rules"]:
            if "for" in r:
                r["for"] = for_value
                n += 1
    for spec in windows:
        name, durations = spec.split(":", 1)
        old, new = durations.split("=", 1)
        rules = [r for g in doc["groups"] for r in g["rules"] if r.get("alert") == name]
        if not rules:
            raise SystemExit(f"override-rules: no alert {name}")
        for r in rules:
            expr, k = re.subn(r"\[" + re.escape(old) + r"\]", f"[{new}]", r["expr"])
            expr, m = re.subn(r"\boffset\s+" + re.escape(old) + r"\b", f"offset {new}", expr)
            if k + m == 0:
                raise SystemExit(f"override-rules: {name} has no [{old}] or offset {old} in its expression")
            r["expr"] = expr
            print(f"{dst}: {name}: {k} ranges and {m} offsets of {old} set to {new}")
    with open(dst, "w", encoding="utf-8") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    print(f"{dst}: {n} `for:` set to {for_value}")


def wait_ready(url, seconds):
    def ready():
        try:
            return http_get(url, timeout=2)[0] == 200
        except (OSError, urllib.error.URLError):
            return False
    if not poll(float(seconds), ready):
        print(f"FAIL: {url} not ready after {seconds}s", file=sys.stderr)
        return 1
    return 0


def wait_query(prom, expr, seconds):
    def has_data():
        doc = api(prom, "/api/v1/query", query=expr)
        return doc.get("status") == "success" and doc["data"]["result"]
    if not poll(float(seconds), has_data):
        print(f"FAIL: no result for {expr} after {seconds}s", file=sys.stderr)
        return 1
    return 0


def expect_empty(prom, expr):
    doc = api(prom, "/api/v1/query", query=expr)
    if doc.get("status") != "success":
        print(f"FAIL: {expr}: {doc.get('error')}", file=sys.stderr)
        return 1
    if doc["data"]["result"]:
        print(f"FAIL: {expr} has a result: {json.dumps(doc['data']['result'])}", file=sys.stderr)
        return 1
    return 0


def show(prom, *exprs):
    for expr in exprs:
        doc = api(prom, "/api/v1/query", query=expr)
        result = doc.get("data", {}).get("result") if doc.get("status") == "success" else doc.get("error")
        print(f"{expr}: {json.dumps(result)}", file=sys.stderr)
    return 0


def parse_pairs(args):
    return dict(a.split("=", 1) for a in args)


def wait_webhook(path, seconds, status, labels):
    def find():
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.readlines()
        except FileNotFoundError:
            return None
        for line in lines:
            doc = json.loads(line)
            for a in doc.get("alerts", []):
                if a.get("status") == status and all(a["labels"].get(k) == v for k, v in labels.items()):
                    return a
        return None
    alert = poll(float(seconds), find)
    if not alert:
        print(f"FAIL: no {status} notification with {labels} at the webhook after {seconds}s",
              file=sys.stderr)
        return 1
    print(json.dumps({"status": alert["status"], "labels": alert["labels"],
                      "annotations": alert.get("annotations", {})}, indent=1, sort_keys=True))
    return 0


def check_alerts(prom, seconds, name, labels, annotations):
    def find():
        doc = api(prom, "/api/v1/alerts")
        for a in doc.get("data", {}).get("alerts", []):
            if (a["labels"].get("alertname") == name and a.get("state") == "firing" and
                    all(a["labels"].get(k) == v for k, v in labels.items()) and
                    all(a["annotations"].get(k) == v for k, v in annotations.items())):
                return a
        return None
    a = poll(float(seconds), find)
    if not a:
        doc = api(prom, "/api/v1/alerts")
        got = [(x["labels"], x.get("state"), x.get("annotations")) for x in doc.get("data", {}).get("alerts", [])
               if x["labels"].get("alertname") == name]
        print(f"FAIL: {name} {labels} {annotations} not firing after {seconds}s; {name} alerts: {got}",
              file=sys.stderr)
        return 1
    print(f"firing: {name} {json.dumps(a['labels'], sort_keys=True)}")
    return 0


# Grafana's built-in variables as a dashboard opened on the last 5 minutes would fill them.
kBuiltins = {"__rate_interval": "1m", "__interval": "15s", "__interval_ms": "15000",
             "__range": "5m", "__range_s": "300", "__range_ms": "300000"}


def substitute(expr, values):
    def repl(m):
        name = m.group(1) or m.group(2)
        if name.isdigit():
            return m.group(0)  # label_replace's "$1": Grafana has no such variable, leaves it
        if name not in values:
            raise KeyError(f"unknown variable ${name} in {expr}")
        return values[name]
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)


def label_values(prom, query, values):
    m = re.fullmatch(r"\s*label_values\((?:(.*),\s*)?(\w+)\)\s*", query)
    if not m:
        raise ValueError(f"unsupported variable query {query}")
    selector, label = m.group(1), m.group(2)
    params = {"match[]": substitute(selector, values)} if selector else {}
    doc = api(prom, f"/api/v1/label/{label}/values", **params)
    if doc.get("status") != "success":
        raise ValueError(f"{query}: {doc.get('error')}")
    return sorted(doc["data"])


def evaluate(prom, root, seconds):
    """Every panel target and variable query of every dashboard must succeed and return data;
    every recording rule must succeed and return data; every alert expression must succeed.
    Each query is retried until it has data or `seconds` have passed (the lab's last errors
    flicker for a moment on BIRD's retries)."""
    failures = []
    checked = 0
    seconds = float(seconds)

    def query_ok(expr, instant, want_data):
        def attempt():
            if instant:
                doc = api(prom, "/api/v1/query", query=expr)
            else:
                now = time.time()
                doc = api(prom, "/api/v1/query_range", query=expr, start=now - 300, end=now, step=5)
            if doc.get("status") != "success":
                return ("error", doc.get("error"))
            n = len(doc["data"]["result"])
            if want_data and n == 0:
                return None
            return ("ok", n)
        r = poll(seconds if want_data else 0, attempt)
        if r is None:
            return False, "no data"
        if r[0] == "error":
            return False, f"error: {r[1]}"
        return True, f"{r[1]} series"

    for path in sorted(glob.glob(os.path.join(root, "dashboards/*.json"))):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        name = os.path.basename(path)
        values = dict(kBuiltins)
        values["datasource"] = "prometheus"
        for v in d.get("templating", {}).get("list", []):
            if v.get("type") != "query":
                continue
            q = v["query"]["query"] if isinstance(v.get("query"), dict) else v.get("query", "")
            try:
                options = poll(seconds, lambda: label_values(prom, q, values))
            except (KeyError, ValueError) as e:
                failures.append(f"{name} variable {v['name']}: {e}")
                continue
            checked += 1
            if not options:
                failures.append(f"{name} variable {v['name']}: {q} has no values")
                continue
            if v.get("includeAll"):
                values[v["name"]] = v.get("allValue") or "(" + "|".join(map(re.escape, options)) + ")"
            else:
                values[v["name"]] = options[0]
            print(f"{name} variable {v['name']} = {values[v['name']]} (of {options})")
        panels = []
        for p in d.get("panels", []):
            panels.append(p)
            panels.extend(p.get("panels", []))
        for p in panels:
            for t in p.get("targets", []):
                try:
                    expr = substitute(t["expr"], values)
                except KeyError as e:
                    failures.append(f"{name} panel \"{p['title']}\" {t['refId']}: {e}")
                    continue
                ok, msg = query_ok(expr, t.get("instant", False), want_data=True)
                checked += 1
                line = f"{name} panel \"{p['title']}\" {t['refId']}: {msg}"
                print(("ok   " if ok else "FAIL ") + line)
                if not ok:
                    failures.append(f"{line}: {expr}")

    with open(os.path.join(root, "deploy/prometheus/alerts.yaml"), encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    for g in rules["groups"]:
        for r in g["rules"]:
            is_record = "record" in r
            ok, msg = query_ok(r["expr"], True, want_data=is_record)
            checked += 1
            line = f"{'record' if is_record else 'alert'} {r.get('record') or r.get('alert')}: {msg}"
            print(("ok   " if ok else "FAIL ") + line)
            if not ok:
                failures.append(line)
    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    print(f"queries: {checked - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "override-rules":
        override_rules(*args)
        return 0
    if cmd == "wait-ready":
        return wait_ready(*args)
    if cmd == "wait-query":
        return wait_query(*args)
    if cmd == "wait-webhook":
        return wait_webhook(args[0], args[1], args[2], parse_pairs(args[3:]))
    if cmd == "check-alerts":
        rest = args[3:]
        labels, annotations = (rest[:rest.index("--")], rest[rest.index("--") + 1:]) if "--" in rest else (rest, [])
        return check_alerts(args[0], args[1], args[2], parse_pairs(labels), parse_pairs(annotations))
    if cmd == "show":
        return show(*args)
    if cmd == "expect-empty":
        return expect_empty(*args)
    if cmd == "evaluate":
        return evaluate(*args)
    print(f"unknown command {cmd}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
