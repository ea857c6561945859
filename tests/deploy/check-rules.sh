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
step "rules consistency"
"$kPython" "${kDeployTests}/check_rules.py" "$kRepoRoot" "$exporter" || die "rules consistency (see above)"
step "metrics used exist"
"$kPython" "${kDeployTests}/metric_names.py" "$kRepoRoot" || die "unknown metrics (see above)"
echo "PASS: rules"
