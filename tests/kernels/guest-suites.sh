#!/bin/bash
# guest-suites.sh - run inside a kernel-matrix guest (scripts/kernels/
# boot-guest.sh; tests/kernels/test_kernels.sh): the verifier's figures,
# then, suite by suite through tests/run_tests.sh, the datapath packet
# suites, the node suites (the project's loader, attach in the kernel's
# attach mode, CNI coexistence, link watch, HTB tree, CLI, host traffic,
# queue statistics, ...) and the agent with real traffic judged by the DSCP
# on the wire and the HTB counters.  Prints what the suites print, then one
# line per group:
#   GUEST-RESULT group N passed, N failed[, N skipped]
# Suites in GUEST_SKIP are stress tests whose subject does not depend on the
# kernel version and that take minutes under emulation (test_pod_churn:
# thousands of interfaces).
set -u
cd "$(dirname "$0")/../.."
export TEST_TIMEOUT=${TEST_TIMEOUT:-300}
GUEST_SKIP=" test_pod_churn "
echo "GUEST-KERNEL $(uname -r)"
./build/tests/kernels/verifier_stats 2>&1 | sed 's/^/GUEST-VERIFIER /'

# suites GROUP: the suite paths of a group, as tests/run_tests.sh finds them.
suites() {
	{ find "build/$1" -type f -name 'test_*' -perm -u+x 2>/dev/null
	  find "$1" -type f \( -name 'test_*.sh' -o -name 'test_*.py' \) 2>/dev/null; } | sort
}
for group in tests/datapath tests/node tests/e2e/test_agent_traffic.py; do
	p=0 f=0 s=0
	if [ -f "$group" ]; then list=$group; else list=$(suites "$group"); fi
	for suite in $list; do
		name=$(basename "$suite"); name=${name%.*}
		case "$GUEST_SKIP" in *" $name "*) echo "GUEST-SKIPPED $suite"; continue ;; esac
		out=$(./tests/run_tests.sh "$suite" 2>&1)
		echo "$out"
		last=$(echo "$out" | tail -n1)
		read -r a _ b _ c _ <<<"$(echo "$last" | tr -d ',')"
		p=$((p + ${a:-0})) f=$((f + ${b:-1}))
		[[ "$last" == *skipped* ]] && s=$((s + ${c:-0}))
	done
	echo "GUEST-RESULT $group $p passed, $f failed, $s skipped"
done
