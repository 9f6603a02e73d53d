#!/usr/bin/env bash
# Fuzzes SwitchyardCore's parsers with libFuzzer (Fuzz/): builds the fuzz package with
# -sanitize=fuzzer,address in Fuzz/.build (never the main package's .build), then runs each
# target in turn for FUZZ_SECONDS, one process at a time, at nice 10. Needs Linux and a Swift
# toolchain with libFuzzer (swift.org's Linux toolchains have it). Touches no network.
#
#   Benchmarks/fuzz/run.sh                        # 600 s per target
#   FUZZ_SECONDS=60 FUZZ_TARGETS="FuzzSSEObserver" Benchmarks/fuzz/run.sh
#
# Environment:
#   FUZZ_SECONDS  seconds per target (default 600)
#   FUZZ_TARGETS  targets to run, space-separated (default: all three)
#   FUZZ_WORK     scratch directory for grown corpora, crash artifacts and logs
#                 (default /tmp/switchyard-fuzz; outside git). The seeds in Fuzz/corpus/<target>
#                 are read, never written.
#   FUZZ_ARGS     extra libFuzzer flags for every target (e.g. "-seed=1")
#
# Prints, per target, runs, exec/s, corpus size, coverage (libFuzzer's cov:/ft:) and crashes,
# and writes the same table to $FUZZ_WORK/summary.md. Exits 1 when any target crashed (trap,
# sanitizer report, timeout or out-of-memory); the reproducer is in $FUZZ_WORK/artifacts/.
# Reproduce one with: Fuzz/.build/debug/<target> <artifact>
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
fuzz_dir="$root/Fuzz"
seconds="${FUZZ_SECONDS:-600}"
targets="${FUZZ_TARGETS:-FuzzRequestProfile FuzzSSEObserver FuzzImageHeader}"
work="${FUZZ_WORK:-/tmp/switchyard-fuzz}"
extra_args="${FUZZ_ARGS:-}"
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"

if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "FUZZ_SECONDS must be a positive whole number of seconds, got '$seconds'" >&2
  exit 2
fi

max_len_for() {
  case "$1" in
    FuzzRequestProfile) echo 65536 ;;
    FuzzSSEObserver) echo 16384 ;;
    FuzzImageHeader) echo 4096 ;;
    *)
      echo "unknown fuzz target '$1'" >&2
      return 1
      ;;
  esac
}
for target in $targets; do max_len_for "$target" >/dev/null; done

mkdir -p "$work/artifacts" "$work/logs"

echo "== building the fuzz package ($fuzz_dir/.build)"
build_log="$work/logs/build.log"
# The sanitizer runtimes make ld.gold warn about every ASan helper symbol; the log keeps them.
if ! (cd "$fuzz_dir" && nice -n 10 swift build -c debug \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library) >"$build_log" 2>&1; then
  grep -v "Cannot export local symbol" "$build_log" | tail -40 >&2
  echo "build failed (full log: $build_log)" >&2
  exit 2
fi
bin_dir="$(cd "$fuzz_dir" && swift build -c debug --show-bin-path \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)"

# The Swift runtime's own crash backtracer reads the crashing stack in a way ASan reports as a
# stack-buffer-underflow; libFuzzer's handler reports the crash instead.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:symbolize=1}"

summary="$work/summary.md"
{
  echo "# Switchyard fuzzing, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo
  echo "FUZZ_SECONDS=$seconds, host $(uname -srm), $(nproc) cores"
  echo
  echo "| target | seconds | runs | exec/s | corpus (files/bytes) | cov | ft | crashes |"
  echo "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |"
} >"$summary"

failed=0
for target in $targets; do
  max_len="$(max_len_for "$target")"
  corpus="$work/corpus/$target"
  seeds="$fuzz_dir/corpus/$target"
  log="$work/logs/$target.log"
  mkdir -p "$corpus"
  rm -f "$work/artifacts/$target-"*
  echo "== $target: ${seconds}s, max_len $max_len (log: $log)"
  start=$(date +%s)
  status=0
  # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
  nice -n 10 "$bin_dir/$target" "$corpus" "$seeds" \
    -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 -timeout=60 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/$target-" \
    $extra_args >"$log" 2>&1 || status=$?
  elapsed=$(($(date +%s) - start))

  # libFuzzer's last status line: "#N DONE cov: C ft: F corp: K/Sb ..." (or the last pulse).
  last="$(grep -E '^#[0-9]+' "$log" | tail -1 || true)"
  cov="$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")"
  ft="$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")"
  corp="$(sed -nE 's/.* corp: ([0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p' <<<"$last")"
  runs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)"
  rate="$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -1)"
  crashes="$(find "$work/artifacts" -maxdepth 1 -name "$target-*" -type f | wc -l | tr -d ' ')"
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi  # died without an artifact

  printf '   runs %s, exec/s %s, corpus %s, cov %s, ft %s, crashes %s, exit %s, %ss\n' \
    "${runs:-?}" "${rate:-?}" "${corp:-?}" "${cov:-?}" "${ft:-?}" "$crashes" "$status" "$elapsed"
  echo "| $target | $elapsed | ${runs:-?} | ${rate:-?} | ${corp:-?} | ${cov:-?} | ${ft:-?} | $crashes |" >>"$summary"
  if [ "$crashes" -ne 0 ]; then
    failed=1
    grep -E 'Fatal error|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|SUMMARY:' "$log" | head -5 >&2 || true
    find "$work/artifacts" -maxdepth 1 -name "$target-*" -type f -exec echo "   reproducer: {}" \; >&2
  fi
done

echo
cat "$summary"
echo "(summary: $summary; grown corpora: $work/corpus)"
exit "$failed"
