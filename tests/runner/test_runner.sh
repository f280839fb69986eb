#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_runner.sh - the test runner (tests/run_tests.sh, what `make test`
# runs) must fail a suite that does not keep its TAP plan: one that stops
# half-way, crashes, prints no plan, prints its plan after its results, or
# prints more or fewer results than planned.  Each broken suite is written
# to a folder of its own and the runner is pointed at it (SUITES_DIR, an
# empty BUILD); we check the runner's exit status and closing line.  Also
# TEST_EXCLUDE (suites not run, by name or path glob).  No root.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
CASES=11
echo "1..$((CASES * 2 + 1 + 3))"
n=0
ok()  { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
TMP=$(mktemp -d /tmp/tcprio-runner-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# suite NAME WANT_RC WANT_LINE BODY: write BODY as test_x.sh in its own
# folder, run the runner on it, check its exit status (0 or 1) and that its
# closing line is WANT_LINE.
suite() {
	local name=$1 want_rc=$2 want_line=$3 body=$4 dir out rc last
	dir=$TMP/$n
	mkdir -p "$dir/suites" "$dir/build"
	printf '%s\n' "$body" >"$dir/suites/test_x.sh"
	out=$(SUITES_DIR="$dir/suites" BUILD="$dir/build" TEST_TIMEOUT=3 "$ROOT/tests/run_tests.sh" 2>&1)
	rc=$?
	last=$(tail -n1 <<<"$out")
	if [ "$rc" -eq "$want_rc" ]; then ok "$name: runner exits $want_rc"
	else nok "$name: runner exits $want_rc" "got $rc" "$(sed 's/^/  /' <<<"$out")"; fi
	if [ "$last" = "$want_line" ]; then ok "$name: closing line '$want_line'"
	else nok "$name: closing line '$want_line'" "got '$last'"; fi
}

suite "a suite that keeps its plan" 0 "2 passed, 0 failed" \
	'echo 1..2; echo "ok 1 - a"; echo "ok 2 - b"'
suite "stops half-way (exit 0)" 1 "1 passed, 1 failed" \
	'echo 1..3; echo "ok 1 - a"; exit 0; echo "ok 2 - b"'
suite "prints no plan" 1 "2 passed, 1 failed" \
	'echo "ok 1 - a"; echo "ok 2 - b"'
suite "prints its plan after its results (counted at the end)" 1 "2 passed, 1 failed" \
	'echo "ok 1 - a"; echo "ok 2 - b"; echo 1..2'
suite "prints more results than planned" 1 "3 passed, 1 failed" \
	'echo 1..2; echo "ok 1 - a"; echo "ok 2 - b"; echo "ok 3 - c"'
suite "prints two plans" 1 "2 passed, 1 failed" \
	'echo 1..1; echo "ok 1 - a"; echo 1..1; echo "ok 1 - b"'
suite "crashes half-way (SIGSEGV)" 1 "1 passed, 1 failed" \
	'echo 1..2; echo "ok 1 - a"; kill -SEGV $$'
suite "all ok but exits 1" 1 "2 passed, 1 failed" \
	'echo 1..2; echo "ok 1 - a"; echo "ok 2 - b"; exit 1'
suite "hangs past the timeout" 1 "1 passed, 1 failed" \
	'echo 1..2; echo "ok 1 - a"; sleep 60'
suite "skips everything with a reason (plan 1..0 with a SKIP directive)" 0 "0 passed, 0 failed, 1 skipped" \
	'echo "1..0 # SKIP no widget on this machine"'
suite "plans nothing without a reason" 1 "0 passed, 1 failed" \
	'echo "1..0"'

# TEST_EXCLUDE: glob patterns on a suite's path or its name without
# extension; an excluded suite is not run (its failure does not count) and
# is listed as excluded.
excl_dir=$TMP/exclude
mkdir -p "$excl_dir/suites" "$excl_dir/build"
printf '%s\n' 'echo 1..1; echo "ok 1 - a"' >"$excl_dir/suites/test_a.sh"
printf '%s\n' 'echo 1..1; echo "not ok 1 - b"' >"$excl_dir/suites/test_b.sh"
# exclude PATTERNS WANT_RC WANT_LINE WANT_EXCLUDED(0|1) NAME
exclude() {
	local out rc last listed
	out=$(TEST_EXCLUDE=$1 SUITES_DIR="$excl_dir/suites" BUILD="$excl_dir/build" TEST_TIMEOUT=3 \
		"$ROOT/tests/run_tests.sh" 2>&1)
	rc=$?
	last=$(tail -n1 <<<"$out")
	listed=0
	grep -q "^=== .*/test_b.sh: excluded (TEST_EXCLUDE)$" <<<"$out" && listed=1
	if [ "$rc" -eq "$2" ] && [ "$last" = "$3" ] && [ "$listed" -eq "$4" ] &&
	   { [ "$4" -eq 1 ] || grep -q "not ok 1 - b" <<<"$out"; } &&
	   { [ "$4" -eq 0 ] || ! grep -q "not ok 1 - b" <<<"$out"; }; then
		ok "$5"
	else
		nok "$5" "want rc $2, '$3', excluded listed $4; got rc $rc" "$(sed 's/^/  /' <<<"$out")"
	fi
}
exclude "test_b" 0 "1 passed, 0 failed" 1 "TEST_EXCLUDE by name: that suite is not run, listed as excluded"
exclude "nothing-here */suites/test_b.*" 0 "1 passed, 0 failed" 1 \
	"TEST_EXCLUDE by path glob (second of two patterns)"
exclude "test_c test_z*" 1 "1 passed, 1 failed" 0 "TEST_EXCLUDE matching nothing: every suite runs"

# The runner checked above is the one `make test` runs.
# (with environment assignments in front, e.g. TCPRIO_KERNEL_MATRIX=1)
if make -n -C "$ROOT" test 2>/dev/null | grep -qE '^([A-Za-z_][A-Za-z0-9_]*=[^ ]* )*\./tests/run_tests\.sh$'; then
	ok "make test runs tests/run_tests.sh"
else
	nok "make test runs tests/run_tests.sh" "$(make -n -C "$ROOT" test 2>&1 | tail -3)"
fi
