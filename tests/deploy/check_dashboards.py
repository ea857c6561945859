#!/usr/bin/python3
"""Structural checks of dashboards/*.json that the schema types cannot express:

- unique dashboard uids, tag calico-bgp (the dashboards link each other by tag);
- a `datasource` variable (type datasource, prometheus) and a `node` query variable over the
  `node` label; every panel and target queries through ${datasource};
- panel ids unique, panels inside the 24-column grid and not overlapping;
- every target has a unique refId and an expr that filters on $node;
- a table column `next_step` mapped from the cause (the node dashboard's Diagnosis) maps every
  cause the exporter lists (`check --list-causes`) to its own next step, as `check` prints it;
- every link to an absolute URL is a runbook link to the page the row's exporter serves,
  http://${__data.fields.instance}/runbook#<section> (dashboards/render-configmap --runbook-url
  replaces it), in a table that keeps the `instance` field; no other address.

    check_dashboards.py REPO_ROOT EXPORTER
"""
import glob
import json
import os
import sys

from check_rules import exporter_causes

kDs = "${datasource}"
kRunbookLink = "http://${__data.fields.instance}/runbook#"


def urls_of(node):
    """Every string value of a `url` key anywhere in a JSON document."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "url" and isinstance(v, str):
                yield v
            yield from urls_of(v)
    elif isinstance(node, list):
        for v in node:
            yield from urls_of(v)


def check_links(p, pe):
    """Runbook links read the row's instance: the panel must keep that field. Returns how many."""
    links = [u for u in urls_of(p) if u.startswith(kRunbookLink)]
    for t in p.get("transformations", []):
        if links and t.get("id") == "organize" and \
                t.get("options", {}).get("excludeByName", {}).get("instance"):
            pe("has runbook links to ${__data.fields.instance} but excludes the instance field")
    return len(links)


def panels_of(d):
    out = []
    for p in d.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def main():
    root, exporter = sys.argv[1], sys.argv[2]
    errors = []
    causes = exporter_causes(exporter)
    next_step_tables = 0
    runbook_links = 0
    uids = {}
    paths = sorted(glob.glob(os.path.join(root, "dashboards/*.json")))
    if not paths:
        errors.append("no dashboards/*.json")
    for path in paths:
        name = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        e = lambda msg: errors.append(f"{name}: {msg}")  # noqa: E731
        uid = d.get("uid")
        if not uid or uid in uids:
            e(f"uid {uid!r} missing or also used by {uids.get(uid)}")
        uids[uid] = name
        if "calico-bgp" not in d.get("tags", []):
            e("needs the tag calico-bgp")
        for u in urls_of(d):
            if u and not u.startswith(kRunbookLink):
                e(f"link {u!r}: the only absolute links are runbook links {kRunbookLink}<section>")
        variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
        ds = variables.get("datasource", {})
        if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
            e("needs a variable `datasource` of type datasource for prometheus")
        node = variables.get("node", {})
        q = node.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        if node.get("type") != "query" or not q.startswith("label_values(") or not q.rstrip().endswith(", node)"):
            e("needs a query variable `node` = label_values(<metric>, node)")
        for v in variables.values():
            if v.get("type") == "query" and v.get("datasource", {}).get("uid") != kDs:
                e(f"variable {v.get('name')} must query ${{datasource}}")
        ids = set()
        cells = {}
        for p in panels_of(d):
            title = p.get("title")
            pe = lambda msg: e(f"panel {p.get('id')} \"{title}\": {msg}")  # noqa: E731
            if not title:
                pe("no title")
            if p.get("id") in ids:
                pe("duplicate id")
            ids.add(p.get("id"))
            if p.get("type") == "row":
                continue
            runbook_links += check_links(p, pe)
            g = p.get("gridPos", {})
            if not all(isinstance(g.get(k), int) for k in "xywh") or g["x"] + g["w"] > 24:
                pe(f"gridPos {g} outside the 24-column grid")
            else:
                for x in range(g["x"], g["x"] + g["w"]):
                    for y in range(g["y"], g["y"] + g["h"]):
                        if (x, y) in cells:
                            pe(f"overlaps panel {cells[(x, y)]}")
                            break
                        cells[(x, y)] = p.get("id")
                    else:
                        continue
                    break
            if p.get("datasource", {}).get("uid") != kDs:
                pe("datasource must be ${datasource}")
            targets = p.get("targets", [])
            if not targets:
                pe("no targets")
            refs = set()
            for t in targets:
                if t.get("refId") in refs or not t.get("refId"):
                    pe(f"refId {t.get('refId')!r} missing or duplicate")
                refs.add(t.get("refId"))
                if t.get("datasource", {}).get("uid") != kDs:
                    pe(f"target {t.get('refId')}: datasource must be ${{datasource}}")
                if "$node" not in t.get("expr", ""):
                    pe(f"target {t.get('refId')}: expr does not filter on $node: {t.get('expr')}")
            for o in p.get("fieldConfig", {}).get("overrides", []):
                if o.get("matcher", {}).get("options") != "next_step":
                    continue
                next_step_tables += 1
                mapped = {}
                for prop in o.get("properties", []):
                    if prop.get("id") == "mappings":
                        for m in prop.get("value", []):
                            mapped.update({k: v.get("text") for k, v in m.get("options", {}).items()})
                if mapped != causes:
                    pe(f"next_step mappings differ from the exporter's next steps: "
                       f"missing {sorted(set(causes) - set(mapped))}, extra {sorted(set(mapped) - set(causes))}, "
                       f"different {sorted(k for k in causes if k in mapped and mapped[k] != causes[k])}")
    if next_step_tables == 0:
        errors.append("no dashboard has a Diagnosis table with next_step mappings")
    if runbook_links == 0:
        errors.append(f"no dashboard links the runbook ({kRunbookLink}cause-...)")
    for msg in errors:
        print(f"FAIL: {msg}", file=sys.stderr)
    if not errors:
        print(f"{len(paths)} dashboards: variables, datasources, grid, targets, "
              f"{runbook_links} runbook links")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
