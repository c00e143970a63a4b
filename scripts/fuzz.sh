#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (address sanitizer on) and runs each
# for FUZZ_SECONDS (default 60) on a copy of its committed seed corpus.
# A crash stops the script with exit 1 and leaves the input in
# .build/fuzz/<target>/crash-*; make it a regression test (see README,
# Reliability). Usage: scripts/fuzz.sh [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
seconds="${FUZZ_SECONDS:-60}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzScenario FuzzOverride FuzzIDX FuzzNPY FuzzCSV)
flags=(--sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
mkdir -p ../.build/fuzz
for target in "${targets[@]}"; do
  echo "== building $target (log: .build/fuzz/build.log)"
  if ! swift build --product "$target" "${flags[@]}" >>../.build/fuzz/build.log 2>&1; then
    grep -E "error" ../.build/fuzz/build.log | head -20
    exit 1
  fi
done
bin="$(swift build --show-bin-path "${flags[@]}")"
status=0
for target in "${targets[@]}"; do
  work="../.build/fuzz/$target"
  rm -rf "$work"
  mkdir -p "$work/corpus"
  cp -R "Corpus/$target/." "$work/corpus/"
  echo "== $target: ${seconds} s"
  if ! ASAN_OPTIONS=detect_leaks=0 "$bin/$target" "$work/corpus" \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -max_len=65536 \
    -artifact_prefix="$work/" -print_final_stats=1 >"$work/log" 2>&1; then
    status=1
    echo "$target FAILED: input saved as $(ls "$work"/crash-* "$work"/timeout-* "$work"/oom-* 2>/dev/null | head -1)"
    grep -E "ERROR|SUMMARY|Fatal error|precondition|runtime failure" "$work/log" | head -8 || true
  else
    grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$work/log" | tail -2 || true
  fi
done
exit "$status"
