#!/bin/bash
# guest-suites.sh - run inside a kernel-matrix guest (scripts/kernels/
# boot-guest.sh; tests/kernels/test_kernels.sh): the datapath packet suites
# and the node suites (load, attach, link watch, HTB tree, CLI, real traffic
# judged by DSCP and HTB counters), each through tests/run_tests.sh.  Prints
# what the suites print, then one line per group:
#   GUEST-RESULT group N passed, N failed
# and the verifier's figures from build/tests/kernels/verifier_stats.
set -u
cd "$(dirname "$0")/../.."
export TEST_TIMEOUT=${TEST_TIMEOUT:-240}
echo "GUEST-KERNEL $(uname -r)"
./build/tests/kernels/verifier_stats 2>&1 | sed 's/^/GUEST-VERIFIER /'
for group in tests/datapath/ tests/node/ tests/e2e/test_agent_traffic; do
	out=$(./tests/run_tests.sh "$group" 2>&1)
	echo "$out"
	echo "GUEST-RESULT $group $(echo "$out" | tail -n1)"
done
