#!/usr/bin/env bash
# Alert and recording rules: promtool check rules, promtool test rules, the consistency checks
# of check_rules.py (severity, runbook sections, a firing and a silent test per alert, the
# PrometheusRule in sync), the rendered PrometheusRule up to date, and every metric a rule or
# dashboard uses existing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exporter="${1:?usage: $0 EXPORTER_BINARY}"
[[ -x "$exporter" ]] || die "$exporter: not an executable (build calico-bgp-exporter first)"
need promtool prometheus
need_python_yaml
cd "${kRepoRoot}/deploy/prometheus"

step "promtool check rules"
promtool check rules alerts.yaml || die "promtool check rules deploy/prometheus/alerts.yaml"
step "promtool test rules"
promtool test rules alerts_test.yaml || die "promtool test rules deploy/prometheus/alerts_test.yaml"
step "PrometheusRule up to date"
"${kRepoRoot}/deploy/prometheus/render-prometheusrule" --check || die "stale PrometheusRule"
step "render-prometheusrule --runbook-url: TLS exporters and an external runbook"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
render=("${kRepoRoot}/deploy/prometheus/render-prometheusrule" --rules --runbook-url)
"${render[@]}" 'https://{instance}/runbook' >"${tmp}/alerts.yaml" || die "render --runbook-url https://{instance}/runbook"
sed 's|http://\(n[0-9]*:10179\)/runbook#|https://\1/runbook#|' alerts_test.yaml >"${tmp}/alerts_test.yaml"
promtool test rules "${tmp}/alerts_test.yaml" >/dev/null ||
  die "with --runbook-url https://{instance}/runbook the alerts do not link https://<exporter>/runbook"
url=https://runbook.example.com/calico-bgp-exporter.html
"${render[@]}" "$url" >"${tmp}/alerts.yaml" || die "render --runbook-url $url"
promtool check rules "${tmp}/alerts.yaml" >/dev/null || die "promtool check rules (--runbook-url $url)"
links=$(grep -cE "^ +(cause_)?runbook_url: " alerts.yaml)
[ "$(grep -cE "^ +(cause_)?runbook_url: '${url}#[a-z_{}$. -]+'$" "${tmp}/alerts.yaml")" = "$links" ] ||
  die "with --runbook-url $url not every one of the $links runbook links is $url#<section>"
if "${render[@]}" "https://x.example/rb.html#top" >/dev/null 2>&1; then
  die "render-prometheusrule accepted a --runbook-url with a '#'"
fi
echo "$links runbook links follow --runbook-url"
step "rules consistency"
"$kPython" "${kDeployTests}/check_rules.py" "$kRepoRoot" "$exporter" || die "rules consistency (see above)"
step "metrics used exist"
"$kPython" "${kDeployTests}/metric_names.py" "$kRepoRoot" || die "unknown metrics (see above)"
echo "PASS: rules"
