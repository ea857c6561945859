#!/usr/bin/env bash
# Grafana dashboards: every dashboard type-checks against @grafana/schema (the Dashboard type
# and each panel plugin's Options/FieldConfig) under `tsc --noEmit --strict`; structural
# checks (check_dashboards.py); every metric a query uses exists; the sidecar ConfigMap is
# up to date.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exporter="${1:?usage: $0 EXPORTER_BINARY}"
[[ -x "$exporter" ]] || die "$exporter: not an executable (build calico-bgp-exporter first)"
need_python_yaml
ensure_node_modules
mkdir -p "${kDeployTests}/generated"
ts="${kDeployTests}/generated/dashboards.ts"

step "@grafana/schema types (tsc --noEmit --strict)"
node "${kDeployTests}/dashboards-to-ts.mjs" "$ts" "${kRepoRoot}"/dashboards/*.json ||
  die "dashboards-to-ts failed (see above)"
tsc_check "$ts" || die "dashboards do not type-check against @grafana/schema (errors above; generated file: ${ts#"${kRepoRoot}/"})"
echo "$(ls "${kRepoRoot}"/dashboards/*.json | wc -l) dashboards type-check"
step "structure"
"$kPython" "${kDeployTests}/check_dashboards.py" "$kRepoRoot" "$exporter" || die "dashboard structure (see above)"
step "metrics used exist"
"$kPython" "${kDeployTests}/metric_names.py" "$kRepoRoot" || die "unknown metrics (see above)"
step "render-configmap --runbook-url"
render="${kRepoRoot}/dashboards/render-configmap"
out=$("$render" --runbook-url 'https://{instance}/runbook' --stdout)
grep -qF '"url": "https://${__data.fields.instance}/runbook#cause-${__value.raw}"' <<<"$out" ||
  die "render-configmap --runbook-url https://{instance}/runbook: no such link"
out=$("$render" --runbook-url https://runbook.example.com/rb.html --stdout)
grep -qF '"url": "https://runbook.example.com/rb.html#cause-${__value.raw}"' <<<"$out" &&
  ! grep -qF '${__data.fields.instance}/runbook' <<<"$out" ||
  die "render-configmap --runbook-url https://runbook.example.com/rb.html: links not replaced"
echo "runbook links follow --runbook-url"
step "sidecar ConfigMap up to date"
"${kRepoRoot}/dashboards/render-configmap" --check || die "stale dashboards ConfigMap"
echo "PASS: dashboards"
