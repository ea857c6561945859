// Run-time checks of the rendered Kubernetes objects (a JSON array):
// - built-in kinds: kubernetes-models' validate() against the Kubernetes API's JSON schema
//   (required fields, types, formats);
// - prometheus-operator kinds: what monitoring-v1.ts cannot say as types (duration patterns,
//   each rule either `record` or `alert`, non-empty expressions, required lists).
//
//   node validate-k8s.mjs OBJECTS.json
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const objects = JSON.parse(readFileSync(process.argv[2], "utf8"));
// The operator's Duration pattern.
const kDuration = /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;
const kRfc1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
let errors = 0;
const fail = (where, msg) => {
  console.error(`${where}: ${msg}`);
  errors++;
};

function checkDuration(where, value) {
  if (value !== undefined && !(typeof value === "string" && kDuration.test(value) && value !== "")) {
    fail(where, `"${value}" is not a duration like 30s or 1m30s`);
  }
}

function checkSelector(where, spec) {
  if (!spec?.selector || typeof spec.selector !== "object") {
    fail(where, "spec.selector is required");
  } else if (!spec.selector.matchLabels && !spec.selector.matchExpressions) {
    fail(where, "spec.selector selects everything (no matchLabels/matchExpressions)");
  }
}

function checkEndpoints(where, endpoints) {
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    fail(where, "needs at least one endpoint");
    return;
  }
  endpoints.forEach((e, j) => {
    const w = `${where}[${j}]`;
    checkDuration(`${w}.interval`, e.interval);
    checkDuration(`${w}.scrapeTimeout`, e.scrapeTimeout);
    if (e.path !== undefined && !e.path.startsWith("/")) {
      fail(`${w}.path`, "must start with /");
    }
    for (const key of ["relabelings", "metricRelabelings"]) {
      (e[key] ?? []).forEach((r, k) => {
        if ((r.action ?? "replace").toLowerCase() === "replace" && !r.targetLabel) {
          fail(`${w}.${key}[${k}]`, "a replace needs targetLabel");
        }
      });
    }
  });
}

function checkPrometheusRule(where, spec) {
  const groups = spec?.groups;
  if (!Array.isArray(groups) || groups.length === 0) {
    fail(where, "spec.groups is empty");
    return;
  }
  const names = new Set();
  groups.forEach((g, i) => {
    const w = `${where}.spec.groups[${i}]`;
    if (!g.name) {
      fail(w, "name is required");
    } else if (names.has(g.name)) {
      fail(w, `duplicate group name ${g.name}`);
    }
    names.add(g.name);
    checkDuration(`${w}.interval`, g.interval);
    if (!Array.isArray(g.rules) || g.rules.length === 0) {
      fail(w, "rules is empty");
      return;
    }
    g.rules.forEach((r, j) => {
      const wr = `${w}.rules[${j}]`;
      if (!!r.record === !!r.alert) {
        fail(wr, "needs exactly one of record and alert");
      }
      if (typeof r.expr !== "string" || r.expr.trim() === "") {
        fail(wr, "expr is empty");
      }
      checkDuration(`${wr}.for`, r.for);
      if (r.record && (r.for || r.annotations)) {
        fail(wr, "a recording rule has no for/annotations");
      }
      for (const m of ["labels", "annotations"]) {
        for (const [k, v] of Object.entries(r[m] ?? {})) {
          if (typeof v !== "string") {
            fail(`${wr}.${m}.${k}`, "must be a string");
          }
        }
      }
    });
  });
}

for (const [i, o] of objects.entries()) {
  const where = `${o.kind}/${o.metadata?.name ?? "?"} (object ${i})`;
  if (!o.metadata?.name || !kRfc1123.test(o.metadata.name)) {
    fail(where, "metadata.name is missing or not a DNS subdomain");
  }
  if (o.apiVersion === "monitoring.coreos.com/v1") {
    if (o.kind === "ServiceMonitor") {
      checkSelector(where, o.spec);
      checkEndpoints(`${where}.spec.endpoints`, o.spec?.endpoints);
    } else if (o.kind === "PodMonitor") {
      checkSelector(where, o.spec);
      checkEndpoints(`${where}.spec.podMetricsEndpoints`, o.spec?.podMetricsEndpoints);
    } else if (o.kind === "PrometheusRule") {
      checkPrometheusRule(where, o.spec);
    } else {
      fail(where, "unknown monitoring.coreos.com/v1 kind");
    }
    continue;
  }
  let Model;
  try {
    Model = require(`kubernetes-models/${o.apiVersion}/${o.kind}`)[o.kind];
  } catch (e) {
    fail(where, `kubernetes-models has no ${o.apiVersion} ${o.kind}: ${e.message}`);
    continue;
  }
  try {
    const { apiVersion, kind, ...data } = o;
    new Model(data).validate();
  } catch (e) {
    fail(where, `invalid: ${e.message}`);
  }
}
if (errors === 0) {
  console.log(`${objects.length} objects valid (${objects.map((o) => o.kind).join(", ")})`);
}
process.exit(errors ? 1 : 0);
