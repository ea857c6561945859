#!/usr/bin/env bash
# Renders every node of configs/calico/lab.json for both Calico flavours (calico_birdcfg.py) and
# has the real daemons parse each file (`bird -p -c`): the fork's bird and bird6, BIRD 3's bird.
# Debian's BIRD 1.6.8 must reject the fork's file (krt_tunnel exists only in the fork), or the
# configs would not be the fork's.
#
# Usage: check_calico_configs.sh CALICO_BIRD_DIR BIRD3_DIR
set -euo pipefail

kScriptDir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly kScriptDir
readonly kNodes=(a b c d e f g h i)

die() {
  echo "check_calico_configs.sh: $*" >&2
  exit 1
}

[[ $# -eq 2 ]] || die "usage: check_calico_configs.sh CALICO_BIRD_DIR BIRD3_DIR"
fork_dir="$1"
bird3_dir="$2"
for b in "${fork_dir}/bird" "${fork_dir}/bird6" "${bird3_dir}/bird"; do
  [[ -x "$b" ]] || die "$b not found (build it: .ci/build-third-party-birds build/third_party)"
done
out="$(mktemp -d /tmp/cbe-calico-configs.XXXXXX)"
trap 'rm -rf "$out"' EXIT

render() {  # flavour folder
  /usr/bin/python3 "${kScriptDir}/calico_birdcfg.py" --flavour "$1" \
    --lab "${kScriptDir}/configs/calico/lab.json" --out "$2" "${kNodes[@]}"
}

render fork "${out}/fork"
render bird3 "${out}/bird3"
checked=0
for node in "${kNodes[@]}"; do
  "${fork_dir}/bird" -p -c "${out}/fork/${node}/bird.cfg" || die "fork: ${node}/bird.cfg"
  checked=$((checked + 1))
  if [[ -f "${out}/fork/${node}/bird6.cfg" ]]; then
    "${fork_dir}/bird6" -p -c "${out}/fork/${node}/bird6.cfg" || die "fork: ${node}/bird6.cfg"
    checked=$((checked + 1))
  fi
  "${bird3_dir}/bird" -p -c "${out}/bird3/${node}/bird.cfg" || die "BIRD 3: ${node}/bird.cfg"
  checked=$((checked + 1))
done
if /usr/sbin/bird -p -c "${out}/fork/a/bird.cfg" 2>/dev/null; then
  die "Debian's BIRD 1.6.8 parsed the fork's a/bird.cfg: no fork-only statement in it"
fi
echo "check_calico_configs.sh: ${checked} configs parsed by the real daemons"
