#!/bin/bash
# Builds the libFuzzer targets with clang and runs each for SECONDS (default 10).
#
#   tests/fuzz/run-fuzzers.sh [SECONDS] [FUZZER...]     (`make fuzz FUZZ_SECONDS=60`)
#   tests/fuzz/run-fuzzers.sh --build-only [FUZZER...]  (builds them, runs none)
#
# Build directory: $CBE_FUZZ_BUILD (default build-fuzz/ at the repository root). Each fuzzer
# starts from its seed corpus (tests/fuzz/corpus/<name>) plus what earlier runs found
# (build-fuzz/corpus/<name>, never written back to the repository). A crash, leak, timeout or
# sanitizer report fails the run; its input is in build-fuzz/artifacts/ and the fuzzer's output
# in build-fuzz/logs/<name>.log. Builds hold the lock file $CBE_BUILD_LOCK (default
# /tmp/cbe-build.lock; empty: no lock) so they never overlap with other builds on the machine.
set -euo pipefail

build_only=false
seconds=10
if [[ ${1:-} == --build-only ]]; then
  build_only=true
else
  seconds=${1:-10}
fi
shift || true
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${CBE_FUZZ_BUILD:-$root/build-fuzz}
lock=${CBE_BUILD_LOCK-/tmp/cbe-build.lock}
cxx=${CBE_FUZZ_CXX:-$(command -v clang++-14 || command -v clang++ || true)}
if [[ -z $cxx ]]; then
  echo "run-fuzzers: clang++ not found (apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 2
fi
fuzzers=("$@")
if [[ ${#fuzzers[@]} -eq 0 ]]; then
  fuzzers=($(cd "$root/tests/fuzz" && ls -- *_fuzzer.cc | sed 's/_fuzzer\.cc$//'))
fi

locked() {
  if [[ -n $lock ]] && command -v flock > /dev/null; then
    flock "$lock" "$@"
  else
    "$@"
  fi
}

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root/tests/fuzz" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCBE_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
fi
targets=()
for f in "${fuzzers[@]}"; do
  targets+=(--target "fuzz_$f")
done
locked cmake --build "$build" -j "${JOBS:-2}" "${targets[@]}"
if $build_only; then
  exit 0
fi

mkdir -p "$build/artifacts" "$build/logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
summary=()
for f in "${fuzzers[@]}"; do
  corpus=$build/corpus/$f
  mkdir -p "$corpus"
  dict=()
  case $f in
    bird_*) dict=(-dict="$root/tests/fuzz/bird.dict") ;;
    config) dict=(-dict="$root/tests/fuzz/config.dict") ;;
    selector) dict=(-dict="$root/tests/fuzz/selector.dict") ;;
  esac
  log=$build/logs/$f.log
  echo "== fuzz_$f for ${seconds}s"
  set +e
  "$build/fuzz_$f" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$f-" "${dict[@]}" \
    "$corpus" "$root/tests/fuzz/corpus/$f" > "$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
  units=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<< "$last")
  if [[ $rc -ne 0 ]]; then
    failed+=("$f")
    summary+=("$(printf '%-16s FAILED (exit %s), see %s' "$f" "$rc" "$log")")
    grep -E 'ERROR|FUZZ_CHECK|runtime error|Test unit written|SUMMARY' "$log" | head -8 >&2 || true
  else
    summary+=("$(printf '%-16s ok  execs %-10s cov %-5s ft %-6s corpus %s' "$f" "${execs:-?}" \
      "${cov:-?}" "${ft:-?}" "${units:-?}")")
  fi
done
echo
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "run-fuzzers: ${#failed[@]} fuzzer(s) failed: ${failed[*]}" >&2
  exit 1
fi
