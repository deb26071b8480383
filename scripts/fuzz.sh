#!/usr/bin/env bash
# Runs every libFuzzer target BUILD_DIR/fuzz_* (or only TARGET) for SECONDS
# each, seeded from
# tests/fuzz/corpus/<name without "fuzz_">/.  The corpus is copied to a
# temporary directory first, so the inputs a run adds never land in the
# repository.  Crash reproducers go to BUILD_DIR/fuzz-artifacts/<target>/.
# Exits non-zero when any target crashes (or leaks, or times out).
set -euo pipefail

usage() {
  echo "usage: $0 BUILD_DIR SECONDS [TARGET]" >&2
  exit 2
}

[ $# -eq 2 ] || [ $# -eq 3 ] || usage
build=$1
seconds=$2
only=${3:-}
case "$seconds" in
  ''|*[!0-9]*) usage ;;
esac
[ "$seconds" -gt 0 ] || usage

src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/kv-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

targets=()
for bin in "$build"/fuzz_*; do
  [ -n "$only" ] && [ "$(basename "$bin")" != "$only" ] && continue
  [ -f "$bin" ] && [ -x "$bin" ] && targets+=("$bin")
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz_* targets in $build (build with -DKV_FUZZ=ON)" >&2
  exit 1
fi

failed=0
for bin in "${targets[@]}"; do
  name=$(basename "$bin")
  seeds="$src/tests/fuzz/corpus/${name#fuzz_}"
  corpus="$work/$name"
  artifacts="$build/fuzz-artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  if [ -d "$seeds" ]; then
    cp -R "$seeds/." "$corpus/"
  fi
  echo "fuzz: $name for ${seconds}s ($(find "$corpus" -type f | wc -l) seeds)"
  # -timeout: a single input taking a second is a bug in a parser too
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$artifacts/" "$corpus" >"$work/$name.log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec)|DONE' \
      "$work/$name.log" | sed "s/^/fuzz: $name: /" || true
  else
    failed=1
    echo "fuzz: $name FAILED; reproducers in $artifacts" >&2
    tail -n 60 "$work/$name.log" >&2
  fi
done
exit "$failed"
