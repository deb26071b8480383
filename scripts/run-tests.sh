#!/usr/bin/env bash
# Runs every test: the cmocka unit tests and the SIPp protocol tests (ctest,
# against the ASan/UBSan build), then a bounded fuzzing smoke run of every
# libFuzzer target.  Ends with one line "N passed, N failed" for CI.
set -uo pipefail

asan_build=${1:-build-asan}
fuzz_build=${2:-build-fuzz}
fuzz_seconds=${FUZZ_SMOKE_SECONDS:-30}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0

echo "== unit tests (ctest, label unit)"
ctest --test-dir "$asan_build" -L unit -j "$(nproc)" --output-on-failure 2>&1 | tee "$log"
echo "== protocol tests (ctest, label sip)"
ctest --test-dir "$asan_build" -L sip -j 2 --output-on-failure 2>&1 | tee -a "$log"

# ctest prints "  N/M Test  #k: name ....   Passed" per test; a test
# that exits 77 (cannot run here, reason printed) is "***Skipped".
passed=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed' "$log")
skipped=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*Skipped' "$log")
failed=$(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(\*\*\*|Failed|Timeout|Not Run|Exception)' "$log" |
	grep -vc 'Skipped')

echo "== fuzz smoke (${fuzz_seconds}s per target)"
for f in "$fuzz_build"/fuzz_*; do
	[ -x "$f" ] || continue
	if scripts/fuzz.sh "$fuzz_build" "$fuzz_seconds" "$(basename "$f")"; then
		echo "fuzz $(basename "$f"): passed"
		passed=$((passed + 1))
	else
		echo "fuzz $(basename "$f"): FAILED"
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
