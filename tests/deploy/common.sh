# Shared by the tests/deploy and tests/e2e scripts (source it; bash only).
# shellcheck shell=bash
kRepoRoot="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
kDeployTests="${kRepoRoot}/tests/deploy"
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"
# Debian's python3 (python3-yaml), not whatever a pyenv shim puts first on PATH.
kPython=/usr/bin/python3

die() {
  echo "FAIL: $*" >&2
  exit 1
}

step() {
  echo "--- $*"
}

need() {  # command package
  command -v "$1" >/dev/null 2>&1 || die "$1 not found (install the Debian package $2)"
}

need_python_yaml() {
  [[ -x "$kPython" ]] || die "$kPython not found (install the Debian package python3)"
  "$kPython" -c 'import yaml' 2>/dev/null || die "PyYAML missing (install the Debian package python3-yaml)"
}

# node_modules of tests/deploy from package-lock.json (npm ci) unless the last npm ci here
# installed this very lock file. Serialised with flock: ctest may run two of these scripts at once.
ensure_node_modules() {
  need node nodejs
  need npm npm
  (
    flock 9
    cd "$kDeployTests"
    local want
    want="$(sha256sum package-lock.json | cut -d' ' -f1)"
    if [[ "$(cat node_modules/.cbe-lock-sha256 2>/dev/null)" != "$want" ]]; then
      step "npm ci (tests/deploy)"
      npm ci --no-audit --no-fund --loglevel=error >&2 || die "npm ci failed in tests/deploy"
      echo "$want" >node_modules/.cbe-lock-sha256
    fi
  ) 9>"${kDeployTests}/.npm.lock"
}

tsc_check() {  # file.ts: strict type check, no output files
  "${kDeployTests}/node_modules/.bin/tsc" --noEmit --strict --target es2022 --module commonjs \
    --moduleResolution node10 --skipLibCheck --pretty false "$1"
}
