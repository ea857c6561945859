#!/usr/bin/env bash
# The systemd unit and the Dockerfile: `systemd-analyze verify` (with the binary path pointed
# at a stand-in, as verify insists that it exists), the sandbox's exposure score
# (`systemd-analyze security --offline`), the options issue 6 asks for, and the exporter
# accepting the unit's and the image's flags (--config.check on deploy/config.example.yml).
#
#   check-systemd.sh [EXPORTER_BINARY]   (default: build/calico-bgp-exporter)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exporter="${1:-${kRepoRoot}/build/calico-bgp-exporter}"
unit="${kRepoRoot}/deploy/systemd/calico-bgp-exporter.service"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

step "required options"
for want in "ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" "NoNewPrivileges=yes" \
  "CapabilityBoundingSet=CAP_NET_RAW" "AmbientCapabilities=CAP_NET_RAW" \
  "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK"; do
  grep -qx "$want" "$unit" || die "${unit#"${kRepoRoot}/"} lacks the line $want"
done
grep -q '^ExecStart=/usr/local/bin/calico-bgp-exporter ' "$unit" ||
  die "ExecStart must run /usr/local/bin/calico-bgp-exporter"
grep -q -- '--config.file=/etc/calico-bgp-exporter/config.yml' "$unit" ||
  die "the unit must read /etc/calico-bgp-exporter/config.yml"
echo "ok"

if command -v systemd-analyze >/dev/null 2>&1; then
  step "systemd-analyze verify"
  printf '#!/bin/sh\nexit 0\n' >"${work}/calico-bgp-exporter"
  chmod +x "${work}/calico-bgp-exporter"
  sed "s|/usr/local/bin/calico-bgp-exporter|${work}/calico-bgp-exporter|g" "$unit" \
    >"${work}/calico-bgp-exporter.service"
  out="$(systemd-analyze verify "${work}/calico-bgp-exporter.service" 2>&1)" ||
    die "systemd-analyze verify: $out"
  [[ -z "$out" ]] || die "systemd-analyze verify warns: $out"
  echo "ok"
  step "systemd-analyze security (offline, threshold 2.5)"
  systemd-analyze security --offline=yes --threshold=25 --no-pager \
    "${work}/calico-bgp-exporter.service" >"${work}/security.txt" 2>&1 ||
    die "sandbox exposure above 2.5: $(tail -3 "${work}/security.txt")"
  tail -1 "${work}/security.txt"
else
  echo "--- systemd-analyze not installed: verify skipped (Debian package systemd)"
fi

step "exporter accepts the unit's flags"
for ((i = 0; i < 120; i++)); do [[ -x "$exporter" ]] && break; sleep 1; done
[[ -x "$exporter" ]] || die "exporter binary $exporter not found (make build)"
# ExecStart's arguments (backslash continuations joined), the config path replaced.
mapfile -t args < <(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$unit" | grep '^ExecStart=' |
  sed 's/^ExecStart=[^ ]*//' | tr -s ' ' '\n' | grep -v '^$' |
  sed "s|^--config.file=.*|--config.file=${kRepoRoot}/deploy/config.example.yml|")
((${#args[@]} > 0)) || die "no ExecStart arguments found"
echo "calico-bgp-exporter ${args[*]} --config.check"
"$exporter" "${args[@]}" --config.check || die "the exporter rejects the unit's flags"

step "exporter accepts the image's default flags (Dockerfile CMD)"
mapfile -t args < <(sed -n 's/^CMD \[\(.*\)\]$/\1/p' "${kRepoRoot}/Dockerfile" | tr ',' '\n' |
  sed -e 's/^ *"//' -e 's/" *$//' |
  sed "s|^--config.file=.*|--config.file=${kRepoRoot}/deploy/config.example.yml|")
((${#args[@]} > 0)) || die "no CMD in the Dockerfile"
"$exporter" "${args[@]}" --config.check || die "the exporter rejects the Dockerfile's CMD"
echo "PASS: systemd unit and Dockerfile flags"
