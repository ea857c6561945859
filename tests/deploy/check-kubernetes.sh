#!/usr/bin/env bash
# Kubernetes manifests: the variants (deploy/kubernetes with a ServiceMonitor,
# deploy/kubernetes/podmonitor, deploy/kubernetes/intent with `intent serve`) render with
# `kubectl kustomize`; every object type-checks
# against kubernetes-models' types (unknown fields included) or, for prometheus-operator's
# kinds, monitoring-v1.ts, under `tsc --strict`; built-in kinds pass kubernetes-models'
# validate(); check_kubernetes.py's invariants hold; the exporter binary accepts the
# DaemonSet's args with the ConfigMap's config (--config.check), and the intent Deployment's args
# (`intent serve ... --config.check`, with a kubeconfig standing in for the pod's service account).
#
#   check-kubernetes.sh [EXPORTER_BINARY]   (default: build/calico-bgp-exporter)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exporter="${1:-${kRepoRoot}/build/calico-bgp-exporter}"
need kubectl "kubectl (1.32 on the machine image; Debian's kubernetes-client is too old)"
need_python_yaml
ensure_node_modules

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "${kDeployTests}/generated"

wait_for_binary() {  # the binary may be rebuilt under us: wait up to 2 minutes
  local i
  for ((i = 0; i < 120; i++)); do
    [[ -x "$exporter" ]] && return 0
    sleep 1
  done
  die "exporter binary $exporter not found (build it first: make build)"
}

for variant in base podmonitor intent; do
  dir="${kRepoRoot}/deploy/kubernetes"
  [[ "$variant" != base ]] && dir="${dir}/${variant}"
  step "kubectl kustomize ${dir#"${kRepoRoot}/"}"
  kubectl kustomize "$dir" >"${work}/${variant}.yaml" || die "kubectl kustomize $dir failed"
  "$kPython" -c 'import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)' \
    <"${work}/${variant}.yaml" >"${work}/${variant}.json" || die "rendered YAML of $variant does not parse"

  step "types: kubernetes-models + monitoring-v1.ts (tsc --strict), $variant"
  ts="${kDeployTests}/generated/k8s-${variant}.ts"
  node "${kDeployTests}/k8s-to-ts.mjs" "${work}/${variant}.json" "$ts" || die "k8s-to-ts ($variant)"
  tsc_check "$ts" || die "manifests ($variant) do not type-check (unknown field or wrong type above; generated file: ${ts#"${kRepoRoot}/"})"

  step "schema: kubernetes-models validate() + CRD checks, $variant"
  node "${kDeployTests}/validate-k8s.mjs" "${work}/${variant}.json" || die "schema validation ($variant)"

  step "invariants, $variant"
  "$kPython" "${kDeployTests}/check_kubernetes.py" "$kRepoRoot" "${work}/${variant}.json" \
    "${work}/${variant}-run" || die "manifest invariants ($variant)"

  step "exporter accepts the DaemonSet's args and config, $variant"
  wait_for_binary
  mapfile -t args <"${work}/${variant}-run/args"
  echo "calico-bgp-exporter ${args[*]} --config.check"
  # NODE_NAME as the DaemonSet sets it (the intent client needs the node's name).
  out="$(NODE_NAME=node-1 "$exporter" "${args[@]}" --config.check 2>&1)" ||
    die "the exporter rejects the DaemonSet's args/config: $out"
  echo "$out"
  if [[ -f "${work}/${variant}-run/intent-args" ]]; then
    step "exporter accepts the intent Deployment's args, $variant"
    mapfile -t intent_args <"${work}/${variant}-run/intent-args"
    printf 'apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: "https://127.0.0.1:6443"}}]\nusers: [{name: u, user: {token: t}}]\n' \
      >"${work}/kubeconfig"
    echo "calico-bgp-exporter ${intent_args[*]} --kubeconfig=... --config.check"
    out="$("$exporter" "${intent_args[@]}" "--kubeconfig=${work}/kubeconfig" --config.check 2>&1)" ||
      die "the exporter rejects the intent Deployment's args: $out"
    echo "$out"
  fi
done
[[ -d "${kRepoRoot}/deploy/kubernetes/intent" ]] || die "deploy/kubernetes/intent is missing"

step "the README's overlay: images: names your registry, a patch the --runbook-url rules"
overlay="${work}/overlay"
mkdir -p "$overlay"
"${kRepoRoot}/deploy/prometheus/render-prometheusrule" --runbook-url 'https://{instance}/runbook' \
  --stdout >"${overlay}/prometheusrule.yaml" || die "render-prometheusrule --stdout"
cat >"${overlay}/kustomization.yaml" <<YAML
resources:
  - $(realpath --relative-to="$overlay" "${kRepoRoot}/deploy/kubernetes")
images:
  - name: localhost/calico-bgp-exporter
    newName: registry.example.com/team/calico-bgp-exporter
patches:
  - path: prometheusrule.yaml
YAML
kubectl kustomize "$overlay" >"${work}/overlay.yaml" || die "kubectl kustomize of the overlay failed"
version=$(sed -n 's/^project(calico-bgp-exporter VERSION \([0-9.]*\).*/\1/p' "${kRepoRoot}/CMakeLists.txt")
"$kPython" - "${work}/overlay.yaml" "registry.example.com/team/calico-bgp-exporter:${version}" <<'PY' ||
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
images = {c["image"] for d in docs if d["kind"] == "DaemonSet"
          for c in d["spec"]["template"]["spec"]["containers"]}
assert images == {sys.argv[2]}, f"images {images}, want {sys.argv[2]}"
rules = [d for d in docs if d["kind"] == "PrometheusRule"]
assert len(rules) == 1, f"{len(rules)} PrometheusRules"
urls = [r["annotations"]["runbook_url"] for g in rules[0]["spec"]["groups"] for r in g["rules"]
        if "alert" in r]
bad = [u for u in urls if "}}https://{{ .Labels.instance }}/runbook{{" not in u
       or "http://{{ .Labels.instance }}" in u]
assert urls and not bad, f"runbook links not from the patch: {bad[:2]}"
print(f"image {sys.argv[2]}; {len(urls)} alerts link https://<exporter>/runbook")
PY
  die "the overlay of the README does not give your image and the patched rules"

step "dashboards ConfigMap up to date"
"${kRepoRoot}/dashboards/render-configmap" --check || die "stale dashboards ConfigMap"
step "PrometheusRule up to date"
"${kRepoRoot}/deploy/prometheus/render-prometheusrule" --check || die "stale PrometheusRule"
echo "PASS: kubernetes manifests"
