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
# Suites excluded (tests/run_tests.sh's TEST_EXCLUDE): a stress test whose
# subject does not depend on the kernel version and that takes minutes under
# emulation (test_pod_churn: thousands of interfaces), and the two-site
# latency benchmark (test_sites_demo: bounds of a millisecond, which a TCG
# guest cannot keep - its unloaded p99 alone was 3.7 ms; the HTB, tbf and
# GSO-splitting tree it relies on is checked in guests by test_site_traffic).
set -u
cd "$(dirname "$0")/../.."
export TEST_TIMEOUT=${TEST_TIMEOUT:-300}
export TEST_EXCLUDE="test_pod_churn test_sites_demo"
echo "GUEST-KERNEL $(uname -r)"
./build/tests/kernels/verifier_stats 2>&1 | sed 's/^/GUEST-VERIFIER /'

# Each group is one tests/run_tests.sh run filtered by its path (the
# runner finds the suites: build/GROUP/test_* and GROUP/test_*.sh|.py).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for group in tests/datapath tests/node tests/e2e/test_agent_traffic.py; do
	./tests/run_tests.sh "$group" 2>&1 | tee "$log"
	last=$(tail -n1 "$log")
	p=0 f=1 s=0
	if [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)?$ ]]; then
		p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} s=${BASH_REMATCH[4]:-0}
	fi
	echo "GUEST-RESULT $group $p passed, $f failed, $s skipped"
done
