#!/usr/bin/env bash
# The revision in --version (the same text as calico_bgp_exporter_build_info's) is the commit the
# binary was built from: exporter/base/write_version.cmake writes it on every build. It used to
# be the commit cmake last configured, so a build tree kept naming an old commit.
#
#   check_revision.sh EXPORTER SOURCE_DIR [REVISION]   (REVISION: the build's -DCBE_REVISION)
set -euo pipefail
exporter=$1 src=$2 want=${3:-}
if [[ -z "$want" ]]; then
  if ! want=$(git -C "$src" rev-parse --short=12 HEAD 2>/dev/null); then
    echo "SKIP: $src is not a git checkout and the build has no -DCBE_REVISION"
    exit 77
  fi
fi
got=$("$exporter" --version)
if [[ "$got" != *"(revision ${want},"* ]]; then
  echo "FAIL: --version says '$got'; the sources are at ${want} (build again before testing)"
  exit 1
fi
echo "ok: $got"
