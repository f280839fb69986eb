#!/bin/bash
# Run every test suite and print one closing line "N passed, N failed[, N skipped]".
#
# A suite is an executable $BUILD/tests/**/test_* (C, built by make) or a
# script tests/**/test_*.sh / tests/**/test_*.py.  Each prints TAP:
#   1..N                   its plan, BEFORE its first result (N results follow)
#   1..0 # SKIP why        nothing to run on this machine, with the reason
#   ok N - name            a passed check
#   not ok N - name        a failed check (diagnostics follow as "# ...")
#   ok N - name # SKIP why a skipped check, with its reason
# The plan is enforced: a suite passes only if it printed exactly one plan,
# up front, then exactly that many results, and exited 0.  A suite that
# stops half-way, crashes, times out, prints no plan or the wrong number of
# results counts as (at least) one failure, so a suite cannot pass by not
# running.  tests/runner/test_runner.sh proves it on broken suites.
#
# Environment: BUILD (build folder, default build), SUITES_DIR (where the
# script suites live, default tests), TEST_TIMEOUT (s per suite, default 900;
# a script suite may ask for longer with a line "# tcprio-test-timeout: S"
# near its top, as the kernel matrix does), TEST_EXCLUDE (glob patterns,
# separated by blanks: a suite whose path, or file name without extension,
# matches one is not run and is listed as excluded; e.g. "test_pod_churn
# */tests/fuzz/*").
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SUITES_DIR=${SUITES_DIR:-tests}
TIMEOUT=${TEST_TIMEOUT:-900}
passed=0 failed=0 skipped=0
skips=()

suites=()
while IFS= read -r f; do suites+=("$f"); done < <(
	{ find "$BUILD/tests" -type f -name 'test_*' ! -name '*.d' -perm -u+x 2>/dev/null
	  find "$SUITES_DIR" -type f \( -name 'test_*.sh' -o -name 'test_*.py' \) 2>/dev/null; } | sort)
filter=${1:-}
read -r -a exclude <<<"${TEST_EXCLUDE:-}"

# excluded SUITE: whether a TEST_EXCLUDE pattern matches SUITE's path or
# its file name without extension.
excluded() {
	local name=${1##*/} pat
	name=${name%.*}
	for pat in "${exclude[@]}"; do
		# shellcheck disable=SC2053 # the pattern is a glob on purpose
		[[ "$1" == $pat || "$name" == $pat ]] && return 0
	done
	return 1
}

# plan_problem LOG: print why the suite's TAP breaks its plan (nothing
# when it keeps it).
plan_problem() {
	local log=$1 plans planned first_plan first_result results
	plans=$(grep -cE '^1\.\.[0-9]+' "$log")
	planned=$(grep -m1 -oE '^1\.\.[0-9]+' "$log" | cut -d. -f3)
	results=$(grep -cE '^(not )?ok\b' "$log")
	first_plan=$(grep -m1 -nE '^1\.\.[0-9]+' "$log" | cut -d: -f1)
	first_result=$(grep -m1 -nE '^(not )?ok\b' "$log" | cut -d: -f1)
	if [ "$plans" -eq 0 ]; then
		echo "printed no plan (1..N): it stopped before declaring its tests or never declares them"
	elif [ "$plans" -gt 1 ]; then
		echo "printed $plans plans; a suite prints exactly one"
	elif [ -n "$first_result" ] && [ "$first_result" -lt "$first_plan" ]; then
		echo "printed its plan after its results; declare it up front"
	elif [ "$planned" -eq 0 ] && ! grep -qE '^1\.\.0 *# *(SKIP|skip) +[^ ]' "$log"; then
		echo "planned no tests without a '# SKIP reason'"
	elif [ "$results" -ne "$planned" ]; then
		echo "planned $planned results but printed $results (stopped early or miscounted)"
	fi
}

for suite in "${suites[@]}"; do
	[[ -n "$filter" && "$suite" != *"$filter"* ]] && continue
	if excluded "$suite"; then
		echo "=== $suite: excluded (TEST_EXCLUDE)"
		continue
	fi
	echo "=== $suite"
	log=$(mktemp)
	case "$suite" in
	*.py) cmd=(/usr/bin/python3 "$suite") ;;
	*.sh) cmd=(bash "$suite") ;;
	*) cmd=("$suite") ;;
	esac
	started=$SECONDS
	limit=$TIMEOUT
	own=$(head -n 40 "$suite" 2>/dev/null | grep -a -m1 -oE '^# tcprio-test-timeout: [0-9]+' | awk '{print $3}')
	[ -n "$own" ] && [ "$own" -gt "$limit" ] && limit=$own
	CMOCKA_MESSAGE_OUTPUT=TAP timeout --kill-after=10 "$limit" "${cmd[@]}" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	# cmocka 1.1 prints a skipped test as "not ok N # SKIP": a skip, not a failure.
	p=$(grep -cE '^ok [0-9]+' "$log")
	s=$(grep -cE '^(not )?ok [0-9]+.*# (SKIP|skip)' "$log")
	sp=$(grep -cE '^ok [0-9]+.*# (SKIP|skip)' "$log")
	f=$(grep -E '^not ok [0-9]+' "$log" | grep -cvE '# (SKIP|skip)')
	while IFS= read -r line; do skips+=("$suite: $line"); done < <(grep -E '^(not )?ok [0-9]+.*# (SKIP|skip)' "$log")
	p=$((p - sp))
	why=$(plan_problem "$log")
	if [ -z "$why" ] && grep -qE '^1\.\.0\b' "$log"; then
		line=$(grep -m1 -E '^1\.\.0' "$log")
		skips+=("$suite: ${line#*# }")
		s=$((s + 1))
	fi
	if [ -n "$why" ]; then
		echo "not ok - $suite $why"
		f=$((f + 1))
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		[ "$rc" -eq 124 ] && why="timed out after $limit s" || why="exited with status $rc"
		echo "not ok - $suite $why"
		f=1
	fi
	echo "=== $suite: $p passed, $f failed, $s skipped in $((SECONDS - started)) s"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	rm -f "$log"
done

if [ -n "$filter" ] && [ "$((passed + failed + skipped))" -eq 0 ]; then
	echo "not ok - no suite matches '$filter'"
	failed=1
fi
if [ "${#skips[@]}" -gt 0 ]; then
	echo "Skipped:"
	printf '  %s\n' "${skips[@]}"
fi
line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
[ "$failed" -eq 0 ]
