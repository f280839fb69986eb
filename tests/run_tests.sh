#!/bin/bash
# Run every test suite and print one closing line "N passed, N failed[, N skipped]".
#
# A suite is an executable build/tests/**/test_* (C, built by make) or a
# script tests/**/test_*.sh / tests/**/test_*.py.  Each prints TAP lines:
#   ok N - name            a passed check
#   not ok N - name        a failed check (diagnostics follow as "# ...")
#   ok N - name # SKIP why a skipped check, with its reason
# A suite that exits non-zero without reporting a failure counts as one
# failure, so a crash is never silent.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TIMEOUT=${TEST_TIMEOUT:-900}
passed=0 failed=0 skipped=0
skips=()

suites=()
while IFS= read -r f; do suites+=("$f"); done < <(
	{ find "$BUILD/tests" -type f -name 'test_*' -perm -u+x 2>/dev/null
	  find tests -type f \( -name 'test_*.sh' -o -name 'test_*.py' \) 2>/dev/null; } | sort)
filter=${1:-}

for suite in "${suites[@]}"; do
	[[ -n "$filter" && "$suite" != *"$filter"* ]] && continue
	echo "=== $suite"
	log=$(mktemp)
	case "$suite" in
	*.py) cmd=(/usr/bin/python3 "$suite") ;;
	*.sh) cmd=(bash "$suite") ;;
	*) cmd=("$suite") ;;
	esac
	started=$SECONDS
	CMOCKA_MESSAGE_OUTPUT=TAP timeout --kill-after=10 "$TIMEOUT" "${cmd[@]}" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	# cmocka 1.1 prints a skipped test as "not ok N # SKIP": a skip, not a failure.
	p=$(grep -cE '^ok [0-9]+' "$log" | tr -d ' ')
	s=$(grep -cE '^(not )?ok [0-9]+.*# (SKIP|skip)' "$log" | tr -d ' ')
	sp=$(grep -cE '^ok [0-9]+.*# (SKIP|skip)' "$log" | tr -d ' ')
	f=$(grep -E '^not ok [0-9]+' "$log" | grep -cvE '# (SKIP|skip)' | tr -d ' ')
	while IFS= read -r line; do skips+=("$suite: $line"); done < <(grep -E '^(not )?ok [0-9]+.*# (SKIP|skip)' "$log")
	p=$((p - sp))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $suite exited with status $rc"
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
