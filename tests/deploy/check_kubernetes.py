#!/usr/bin/python3
"""Checks the rendered manifests (a JSON array from `kubectl kustomize`) for what issue 6
asks of them, beyond the API schema:

  DaemonSet: the image `make image` builds (localhost/calico-bgp-exporter:<version>), host
  network + ClusterFirstWithHostNet, tolerates every taint, /var/run/calico
  mounted read-only from the host, NODE_NAME from the downward API, CPU and memory requests
  and a memory limit, read-only root filesystem, no privilege escalation, all capabilities
  dropped but NET_RAW, liveness and readiness on /healthz of the metrics port, the config
  from the generated ConfigMap; the namespace allows privileged pods; the Service,
  ServiceMonitor and PodMonitor select the pods and name a port that exists and relabel the
  node name to `node`, with job "calico-bgp-exporter"; the PrometheusRule holds
  alerts.yaml; the dashboards ConfigMap holds dashboards/*.json. The DaemonSet's pods hold no
  Kubernetes API credentials (no service-account token, mounted or projected).

  With `intent serve` (deploy/kubernetes/intent, issue 16): one Deployment with 1 replica,
  Recreate, host network, its own ServiceAccount (the only token of the whole deployment), no
  capabilities, non-root, read-only root, /healthz probes on its port; a ClusterRole with
  exactly get/list/watch on nodes, bgppeers and bgpconfigurations of "", crd.projectcalico.org
  and projectcalico.org (nodes only where they exist) and nothing else, bound to that
  ServiceAccount; a ClusterIP Service and a ServiceMonitor that select its pods.

Writes the exporter's config (from the ConfigMap) to OUT_DIR/config.yml and the container's
args, with --config.file pointing there, one per line, to OUT_DIR/args; with the intent
Deployment, its container's args to OUT_DIR/intent-args.

    check_kubernetes.py REPO_ROOT OBJECTS.json OUT_DIR
"""
import glob
import json
import os
import re
import sys

import yaml

kPort = 10179
kIntentPort = 10180
kJob = "calico-bgp-exporter"
kClusterScoped = ("Namespace", "ClusterRole", "ClusterRoleBinding")
# What the intent service may read: (API group, resource), each with get, list and watch only.
kIntentRules = {("", "nodes"), ("crd.projectcalico.org", "bgppeers"),
                ("crd.projectcalico.org", "bgpconfigurations"), ("projectcalico.org", "nodes"),
                ("projectcalico.org", "bgppeers"), ("projectcalico.org", "bgpconfigurations")}


class Checker:
    def __init__(self):
        self.errors = []

    def expect(self, ok, msg):
        if not ok:
            self.errors.append(msg)
        return ok


def project_version(root):
    """VERSION of CMakeLists.txt's project(), the image's tag."""
    with open(os.path.join(root, "CMakeLists.txt"), encoding="utf-8") as f:
        m = re.search(r"^project\(calico-bgp-exporter VERSION ([0-9.]+)", f.read(), re.M)
    return m.group(1) if m else None


def by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def component(o):
    return o["metadata"].get("labels", {}).get("app.kubernetes.io/component")


def node_side(objects, kind):
    """Objects of `kind` that belong to the node exporters (not to the intent service)."""
    return [o for o in by_kind(objects, kind) if component(o) != "intent"]


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).get("matchLabels", {}).items())


def check_monitor(c, name, spec, endpoints, port_names, target_labels):
    c.expect(selects(spec.get("selector"), target_labels),
             f"{name}: selector {spec.get('selector')} does not select {target_labels}")
    job_label = spec.get("jobLabel")
    c.expect(job_label and target_labels.get(job_label) == kJob,
             f"{name}: jobLabel must name a label whose value is {kJob} (the rules select "
             f"job=\"{kJob}\")")
    for e in endpoints:
        c.expect(e.get("port") in port_names, f"{name}: endpoint port {e.get('port')} not in {port_names}")
        c.expect(e.get("path", "/metrics") == "/metrics", f"{name}: path must be /metrics")
        c.expect(any(r.get("sourceLabels") == ["__meta_kubernetes_pod_node_name"] and
                     r.get("targetLabel") == "node" for r in e.get("relabelings", [])),
                 f"{name}: needs a relabeling of __meta_kubernetes_pod_node_name to node")


def main():
    root, objects_file, out_dir = sys.argv[1:4]
    with open(objects_file, encoding="utf-8") as f:
        objects = json.load(f)
    c = Checker()

    ds_list = by_kind(objects, "DaemonSet")
    if not c.expect(len(ds_list) == 1, f"expected one DaemonSet, found {len(ds_list)}"):
        return report(c)
    ds = ds_list[0]
    namespace = ds["metadata"].get("namespace")
    c.expect(namespace, "DaemonSet has no namespace")
    for o in objects:
        if o["kind"] not in kClusterScoped:
            c.expect(o["metadata"].get("namespace") == namespace,
                     f"{o['kind']}/{o['metadata']['name']} is not in namespace {namespace}")
    ns = [o for o in by_kind(objects, "Namespace") if o["metadata"]["name"] == namespace]
    if c.expect(len(ns) == 1, f"Namespace {namespace} is not part of the manifests"):
        c.expect(ns[0]["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce") == "privileged",
                 f"Namespace {namespace}: pod-security.kubernetes.io/enforce must be privileged "
                 "(host network, hostPath and NET_RAW are outside baseline)")

    pod = ds["spec"]["template"]
    spec = pod["spec"]
    pod_labels = pod["metadata"].get("labels", {})
    c.expect(selects(ds["spec"]["selector"], pod_labels), "DaemonSet selector does not match its pods")
    c.expect(spec.get("hostNetwork") is True, "hostNetwork must be true")
    c.expect(spec.get("dnsPolicy") == "ClusterFirstWithHostNet", "dnsPolicy must be ClusterFirstWithHostNet")
    c.expect(any(t.get("operator") == "Exists" and not t.get("key") and not t.get("effect")
                 for t in spec.get("tolerations", [])),
             "tolerations must include {operator: Exists} (every taint, like calico-node)")
    containers = spec.get("containers", [])
    if not c.expect(len(containers) == 1, "expected one container"):
        return report(c)
    ctr = containers[0]
    image = f"localhost/calico-bgp-exporter:{project_version(root)}"
    c.expect(ctr.get("image") == image,
             f"image must be {image} (what `make image` builds; an overlay's images: names "
             f"your registry), is {ctr.get('image')!r}")
    sc = ctr.get("securityContext", {})
    c.expect(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem must be true")
    c.expect(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation must be false")
    c.expect(sc.get("privileged") in (None, False), "must not be privileged")
    caps = sc.get("capabilities", {})
    c.expect(caps.get("drop") == ["ALL"], "capabilities.drop must be [ALL]")
    c.expect(caps.get("add") == ["NET_RAW"], "capabilities.add must be [NET_RAW] only")
    res = ctr.get("resources", {})
    for r in ("cpu", "memory"):
        c.expect(r in res.get("requests", {}), f"resources.requests.{r} missing")
    c.expect("memory" in res.get("limits", {}), "resources.limits.memory missing")
    c.expect(any(e.get("name") == "NODE_NAME" and
                 e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName"
                 for e in ctr.get("env", [])), "env NODE_NAME from fieldRef spec.nodeName missing")
    ports = {p.get("name"): p.get("containerPort") for p in ctr.get("ports", [])}
    c.expect(ports.get("metrics") == kPort, f"container port 'metrics' must be {kPort}")
    for probe in ("livenessProbe", "readinessProbe"):
        http = ctr.get(probe, {}).get("httpGet", {})
        c.expect(http.get("path") == "/healthz" and http.get("port") in (kPort, "metrics"),
                 f"{probe} must be httpGet /healthz on port {kPort}")

    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = {m["mountPath"]: m for m in ctr.get("volumeMounts", [])}
    m = mounts.get("/var/run/calico")
    if c.expect(m is not None, "/var/run/calico is not mounted"):
        c.expect(m.get("readOnly") is True, "/var/run/calico must be mounted readOnly")
        c.expect(volumes.get(m["name"], {}).get("hostPath", {}).get("path") == "/var/run/calico",
                 "/var/run/calico must come from hostPath /var/run/calico")
    for path, mount in mounts.items():
        c.expect(mount.get("readOnly") is True, f"volume mount {path} must be readOnly")

    # The config: --config.file must name a key of the mounted ConfigMap.
    args = ctr.get("args", [])
    config_args = [a for a in args if a.startswith("--config.file=")]
    config_text = None
    if c.expect(len(config_args) == 1, "args need exactly one --config.file=PATH"):
        path = config_args[0].split("=", 1)[1]
        d, key = os.path.dirname(path), os.path.basename(path)
        mount = mounts.get(d)
        if c.expect(mount is not None, f"--config.file {path}: nothing is mounted at {d}"):
            cm_name = volumes.get(mount["name"], {}).get("configMap", {}).get("name")
            cms = [o for o in by_kind(objects, "ConfigMap") if o["metadata"]["name"] == cm_name]
            if c.expect(len(cms) == 1, f"ConfigMap {cm_name} of the config volume is not in the manifests"):
                config_text = cms[0].get("data", {}).get(key)
                c.expect(config_text is not None, f"ConfigMap {cm_name} has no key {key}")
    listen = [a for a in args if a.startswith("--web.listen-address=")]
    c.expect(listen == [f"--web.listen-address=:{kPort}"],
             f"args need --web.listen-address=:{kPort} (the probes' and monitors' port)")

    # Service + ServiceMonitor, or PodMonitor.
    check_no_api_credentials(c, spec, ctr)
    services = node_side(objects, "Service")
    sms = node_side(objects, "ServiceMonitor")
    pms = node_side(objects, "PodMonitor")
    c.expect((len(sms) == 1) != (len(pms) == 1),
             f"exactly one of ServiceMonitor and PodMonitor (found {len(sms)}, {len(pms)}): "
             "both would scrape every series twice")
    for svc in services:
        c.expect(svc["spec"].get("clusterIP") == "None", f"Service {svc['metadata']['name']} must be headless")
        c.expect(selects({"matchLabels": svc["spec"].get("selector", {})}, pod_labels),
                 f"Service {svc['metadata']['name']} does not select the pods")
        for p in svc["spec"].get("ports", []):
            c.expect(p.get("targetPort") in ports or p.get("targetPort") in ports.values(),
                     f"Service port {p.get('name')}: targetPort {p.get('targetPort')} is not a container port")
    for sm in sms:
        c.expect(len(services) == 1, "the ServiceMonitor needs the Service")
        if services:
            svc = services[0]
            check_monitor(c, "ServiceMonitor", sm["spec"], sm["spec"].get("endpoints", []),
                          [p.get("name") for p in svc["spec"].get("ports", [])],
                          svc["metadata"].get("labels", {}))
    for pm in pms:
        check_monitor(c, "PodMonitor", pm["spec"], pm["spec"].get("podMetricsEndpoints", []),
                      list(ports), pod_labels)

    # PrometheusRule and dashboards: the sources, unchanged.
    with open(os.path.join(root, "deploy/prometheus/alerts.yaml"), encoding="utf-8") as f:
        groups = yaml.safe_load(f)["groups"]
    prs = by_kind(objects, "PrometheusRule")
    if c.expect(len(prs) == 1, "expected one PrometheusRule"):
        c.expect(prs[0]["spec"].get("groups") == groups,
                 "PrometheusRule does not hold the groups of deploy/prometheus/alerts.yaml "
                 "(run deploy/prometheus/render-prometheusrule)")
    dash_cms = [o for o in by_kind(objects, "ConfigMap")
                if o["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    if c.expect(len(dash_cms) == 1, "expected one ConfigMap labelled grafana_dashboard: \"1\""):
        data = dash_cms[0].get("data", {})
        files = {os.path.basename(p): p for p in glob.glob(os.path.join(root, "dashboards/*.json"))}
        c.expect(sorted(data) == sorted(files),
                 f"dashboards ConfigMap keys {sorted(data)} != dashboards/*.json {sorted(files)}")
        for key, path in files.items():
            with open(path, encoding="utf-8") as f:
                c.expect(data.get(key) == f.read(),
                         f"dashboards ConfigMap {key} differs from dashboards/{key} "
                         "(run dashboards/render-configmap)")

    intent_args = check_intent(c, objects, namespace)
    if intent_args is not None and config_text is not None:
        # The intent overlay's config is the base's plus the intent client, nothing else.
        with open(os.path.join(root, "deploy/kubernetes/base/config.yml"), encoding="utf-8") as f:
            base = f.read()
        c.expect(config_text.startswith(base) and "\nintent:\n" in config_text[len(base):],
                 "deploy/kubernetes/intent/config.yml must be deploy/kubernetes/base/config.yml "
                 "followed by the intent client's settings")

    if config_text is not None and not c.errors:
        os.makedirs(out_dir, exist_ok=True)
        config_path = os.path.join(out_dir, "config.yml")
        with open(config_path, "w", encoding="utf-8") as f:
            f.write(config_text)
        with open(os.path.join(out_dir, "args"), "w", encoding="utf-8") as f:
            for a in args:
                f.write((f"--config.file={config_path}" if a.startswith("--config.file=") else a) + "\n")
        if intent_args is not None:
            with open(os.path.join(out_dir, "intent-args"), "w", encoding="utf-8") as f:
                f.writelines(a + "\n" for a in intent_args)
    return report(c)


def check_no_api_credentials(c, spec, ctr):
    """The node exporters must not be able to read the API: no token, mounted or projected."""
    c.expect(spec.get("automountServiceAccountToken") is False,
             "DaemonSet: automountServiceAccountToken must be false (the node exporters hold no "
             "API credentials; only the intent Deployment does)")
    projected = {v["name"] for v in spec.get("volumes", [])
                 if any("serviceAccountToken" in src for src in v.get("projected", {}).get("sources", []))}
    for m in ctr.get("volumeMounts", []):
        c.expect(m["name"] not in projected,
                 f"DaemonSet: the exporter mounts a service-account token ({m['name']})")


def check_intent_rbac(c, objects, namespace, service_account):
    roles = [o for o in by_kind(objects, "ClusterRole") if component(o) == "intent"]
    if not c.expect(len(roles) == 1, f"expected one ClusterRole of the intent service, found {len(roles)}"):
        return
    granted = set()
    for r in roles[0].get("rules", []):
        c.expect(sorted(r.get("verbs", [])) == ["get", "list", "watch"],
                 f"ClusterRole rule {r}: verbs must be exactly get, list, watch")
        c.expect(not r.get("resourceNames") and not r.get("nonResourceURLs"),
                 f"ClusterRole rule {r}: no resourceNames or nonResourceURLs")
        granted |= {(g, res) for g in r.get("apiGroups", []) for res in r.get("resources", [])}
    c.expect(granted == kIntentRules,
             f"ClusterRole grants {sorted(granted)}, must be exactly {sorted(kIntentRules)}")
    bindings = [b for b in by_kind(objects, "ClusterRoleBinding")
                if b["roleRef"].get("name") == roles[0]["metadata"]["name"]]
    if c.expect(len(bindings) == 1, "the intent ClusterRole needs one ClusterRoleBinding"):
        c.expect(bindings[0]["roleRef"].get("kind") == "ClusterRole", "roleRef.kind must be ClusterRole")
        c.expect(bindings[0].get("subjects") == [{"kind": "ServiceAccount", "name": service_account,
                                                  "namespace": namespace}],
                 f"the ClusterRoleBinding must bind ServiceAccount {namespace}/{service_account} only")
    for o in by_kind(objects, "RoleBinding") + by_kind(objects, "ClusterRoleBinding"):
        for subject in o.get("subjects", []):
            c.expect(subject.get("name") == service_account or component(o) != "intent",
                     f"{o['kind']}/{o['metadata']['name']} binds {subject}")


def check_intent(c, objects, namespace):
    """The intent Deployment and its RBAC, Service and ServiceMonitor; its args (or None)."""
    deployments = by_kind(objects, "Deployment")
    if not deployments:
        c.expect(not [o for o in objects if component(o) == "intent"],
                 "intent objects without the intent Deployment")
        return None
    if not c.expect(len(deployments) == 1, f"expected one Deployment, found {len(deployments)}"):
        return None
    d = deployments[0]
    c.expect(d["spec"].get("replicas") == 1, "intent Deployment: replicas must be 1 (one reader per cluster)")
    c.expect(d["spec"].get("strategy", {}).get("type") == "Recreate",
             "intent Deployment: strategy Recreate (two pods on one node would want the same host port)")
    pod = d["spec"]["template"]
    spec = pod["spec"]
    labels = pod["metadata"].get("labels", {})
    c.expect(selects(d["spec"]["selector"], labels), "intent Deployment selector does not match its pods")
    c.expect(spec.get("hostNetwork") is True, "intent Deployment: hostNetwork must be true")
    c.expect(spec.get("dnsPolicy") == "ClusterFirstWithHostNet", "intent Deployment: dnsPolicy ClusterFirstWithHostNet")
    sa = spec.get("serviceAccountName")
    sas = [o for o in by_kind(objects, "ServiceAccount") if o["metadata"]["name"] == sa]
    c.expect(sa and len(sas) == 1, f"intent Deployment: serviceAccountName {sa} must be a ServiceAccount of the manifests")
    c.expect(spec.get("automountServiceAccountToken") is True, "intent Deployment: automountServiceAccountToken true")
    psc = spec.get("securityContext", {})
    c.expect(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0,
             "intent Deployment: runAsNonRoot with a non-zero runAsUser")
    ctrs = spec.get("containers", [])
    if not c.expect(len(ctrs) == 1, "intent Deployment: expected one container"):
        return None
    ctr = ctrs[0]
    sc = ctr.get("securityContext", {})
    c.expect(sc.get("readOnlyRootFilesystem") is True, "intent: readOnlyRootFilesystem must be true")
    c.expect(sc.get("allowPrivilegeEscalation") is False, "intent: allowPrivilegeEscalation must be false")
    c.expect(sc.get("capabilities") == {"drop": ["ALL"]}, "intent: capabilities must be {drop: [ALL]} (none added)")
    res = ctr.get("resources", {})
    c.expect("memory" in res.get("limits", {}) and "cpu" in res.get("requests", {}),
             "intent: a memory limit and a CPU request")
    args = ctr.get("args", [])
    c.expect(args[:2] == ["intent", "serve"], "intent container args must start with intent serve")
    c.expect(f"--web.listen-address=:{kIntentPort}" in args, f"intent: --web.listen-address=:{kIntentPort}")
    c.expect(not [a for a in args if a.startswith("--kubeconfig")], "intent: in-cluster credentials, no --kubeconfig")
    ports = {p.get("name"): p.get("containerPort") for p in ctr.get("ports", [])}
    c.expect(ports.get("http") == kIntentPort, f"intent: container port 'http' must be {kIntentPort}")
    for probe in ("livenessProbe", "readinessProbe"):
        http = ctr.get(probe, {}).get("httpGet", {})
        c.expect(http.get("path") == "/healthz" and http.get("port") in (kIntentPort, "http"),
                 f"intent {probe} must be httpGet /healthz on port {kIntentPort}")
    services = [s for s in by_kind(objects, "Service") if component(s) == "intent"]
    if c.expect(len(services) == 1, "expected one intent Service"):
        svc = services[0]
        c.expect(svc["spec"].get("clusterIP") != "None", "the intent Service needs a ClusterIP (one stable address)")
        c.expect(selects({"matchLabels": svc["spec"].get("selector", {})}, labels),
                 "the intent Service does not select the intent pods")
        c.expect(all(p.get("targetPort") in ports or p.get("targetPort") in ports.values()
                     for p in svc["spec"].get("ports", [])), "intent Service: targetPort is not a container port")
        sms = [m for m in by_kind(objects, "ServiceMonitor") if component(m) == "intent"]
        if c.expect(len(sms) == 1, "expected one intent ServiceMonitor"):
            c.expect(selects(sms[0]["spec"].get("selector"), svc["metadata"].get("labels", {})),
                     "the intent ServiceMonitor does not select the intent Service")
            c.expect([e.get("port") for e in sms[0]["spec"].get("endpoints", [])] ==
                     [p.get("name") for p in svc["spec"].get("ports", [])],
                     "the intent ServiceMonitor must scrape the Service's port")
        node_sms = node_side(objects, "ServiceMonitor") + node_side(objects, "PodMonitor")
        for m in node_sms:
            c.expect(not selects(m["spec"].get("selector"), svc["metadata"].get("labels", {})),
                     f"{m['kind']}/{m['metadata']['name']} of the node exporters selects the intent Service")
    check_intent_rbac(c, objects, namespace, sa)
    return args


def report(c):
    for e in c.errors:
        print(f"FAIL: {e}", file=sys.stderr)
    if not c.errors:
        print("DaemonSet, Service, monitors, rules and dashboards ConfigMap as issue 6 asks"
              " (and the intent service as issue 16 asks, where it is part of the manifests)")
    return 1 if c.errors else 0


if __name__ == "__main__":
    sys.exit(main())
