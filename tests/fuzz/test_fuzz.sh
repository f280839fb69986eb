#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_fuzz.sh - a short run of every libFuzzer harness (tests/fuzz/fuzz_*.c,
# built by `make fuzz-build` with clang -fsanitize=fuzzer,address,undefined),
# FUZZ_TEST_SECONDS each (default 3), from the seeds; then every seed replayed
# through the normally built harnesses (build/tests/fuzz/fuzz_*).  A crash,
# leak, sanitizer report or broken invariant fails the harness's check and
# leaves the input in build/fuzz/artifacts.  `make fuzz FUZZ_SECONDS=N` is
# the long run.  No root, no namespaces.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SECS=${FUZZ_TEST_SECONDS:-3}
names=(pod annotations class_table kubeconfig scalars watch_lines route_table)
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

echo "1..$((2 * ${#names[@]}))" # a replay and a fuzz run per harness

tmp=$(mktemp -d /tmp/tcprio-fuzz-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Replays need no libFuzzer: the normal build made them.
for name in "${names[@]}"; do
	bin=$BUILD/tests/fuzz/fuzz_$name
	seeds=(tests/fuzz/seeds/$name)
	[ "$name" = pod ] && seeds+=(tests/fixtures/k8s/pod tests/fixtures/k8s/podlist)
	if [ ! -x "$bin" ]; then
		notok "replay $name: $bin exists" "run make first"
		continue
	fi
	if out=$(timeout 60 "$bin" "${seeds[@]}" 2>&1) && [[ "$out" == *"unreadable"* ]]; then
		ok "replay $name seeds (${out##*replayed })"
	else
		notok "replay $name seeds" "$out"
	fi
done

if ! command -v clang >/dev/null || ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n){return 0;}' |
	clang -x c -fsanitize=fuzzer - -o "$tmp/probe" 2>/dev/null; then
	for name in "${names[@]}"; do skip "fuzz $name" "clang with libFuzzer not installed"; done
	exit 0
fi
if ! make -s --no-print-directory fuzz-build BUILD="$BUILD" >"$tmp/build.log" 2>&1; then
	for name in "${names[@]}"; do notok "fuzz $name: make fuzz-build" "$(tail -5 "$tmp/build.log")"; done
	exit 1
fi
mkdir -p "$BUILD/fuzz/artifacts"
for name in "${names[@]}"; do
	seeds=(tests/fuzz/seeds/$name)
	[ "$name" = pod ] && seeds+=(tests/fixtures/k8s/pod)
	mkdir -p "$tmp/$name"
	log=$tmp/$name.log
	# -max_total_time bounds the run; timeout(1) bounds a hang of libFuzzer itself
	if timeout $((SECS + 60)) "$BUILD/fuzz/fuzz_$name" -max_total_time="$SECS" -timeout=10 \
		-rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix="$BUILD/fuzz/artifacts/$name-" "$tmp/$name" "${seeds[@]}" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		ok "fuzz $name for $SECS s: ${runs:-?} runs, no crash, leak or undefined behaviour"
	else
		mapfile -t tail_lines < <(grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -8)
		notok "fuzz $name for $SECS s" "${tail_lines[@]}"
	fi
done
