#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# bench.sh - tcprio latency/throughput benchmark on a node built in network
# namespaces (names tptbench-*; addresses 198.18.0.0/15, 2001:db8::/32).
#
# usage: scripts/bench.sh [SCENARIO]      (root; default ipv4; see scenario.sh)
#
# The critical pod probes the remote (UDP request/response, rr_probe, and
# ICMP echo) while the bulk pod saturates the 50 Mbit/s uplink with iperf3
# (4 TCP streams).  Measured twice: without tcprio (uplink = one HTB class at
# the same rate, no agent) and with the tcprio agent.  Unloaded and loaded
# probes alternate over BENCH_ROUNDS rounds (default 5) and are pooled.
# Prints the ratios the project targets and a markdown table:
#   critical p99 loaded / p99 unloaded   with tcprio: required <= 1.5
#   bulk throughput with / without tcprio:            required >= 0.95
# Exit status 0 if both requirements hold, 1 if not, 2 on a setup error.
# Environment: BENCH_ROUNDS, SCEN_RATE (50mbit), MEAS_COUNT, MEAS_IVAL_US,
# BENCH_LOG (keep the raw samples there), PLOT_DIR (where the pictures go,
# default build/plots: bench-SCENARIO-rtt and -throughput, PNG and SVG).
set -u
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: run as root (network namespaces, tc, BPF)" >&2; exit 2; }
RR_PROBE=$PWD/build/scripts/rr_probe
TCPRIO=$PWD/build/tcprio
for b in "$RR_PROBE" "$TCPRIO"; do
	[ -x "$b" ] || { echo "bench: $b missing: run make first" >&2; exit 2; }
done
# shellcheck source=lib/scenario.sh
. scripts/lib/scenario.sh
SCEN=${1:-ipv4}
MEAS_ROUNDS=${BENCH_ROUNDS:-5}
SCEN_LOG=${BENCH_LOG:-$(mktemp -d /tmp/tcprio-bench.XXXXXX)}
keep_log=${BENCH_LOG:+1}

cleanup() {
	scenario_teardown
	[ -n "$keep_log" ] || rm -rf "$SCEN_LOG"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench: load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench: scenario $SCEN, uplink $SCEN_RATE, $MEAS_ROUNDS rounds of" \
	"${MEAS_COUNT:-1000} UDP probes every ${MEAS_IVAL_US:-2000} us (+ ping every 10 ms)"
scenario_setup "$SCEN" tptbench- || exit 2
echo "bench: without tcprio (one HTB class at $SCEN_RATE) ..."
scenario_off "$SCEN" || exit 2
echo "bench: with the tcprio agent ..."
scenario_on "$SCEN" || exit 2

p99() { kv "$1" p99_us; }
p50() { kv "$1" p50_us; }
mx() { kv "$1" max_us; }
r_on=$(ratio "$(p99 "$ON_LD_RR")" "$(p99 "$ON_UNL_RR")")
r_off=$(ratio "$(p99 "$OFF_LD_RR")" "$(p99 "$OFF_UNL_RR")")
rp_on=$(ratio "$(p99 "$ON_LD_PING")" "$(p99 "$ON_UNL_PING")")
rp_off=$(ratio "$(p99 "$OFF_LD_PING")" "$(p99 "$OFF_UNL_PING")")
r_bulk=$(ratio "$ON_BULK" "$OFF_BULK")
verdict() { # value op limit
	awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
		if (v == "nan") { print "FAIL"; exit }
		ok = (op == "<=") ? (v <= l) : (v >= l); print ok ? "PASS" : "FAIL" }'
}
v_lat=$(verdict "$r_on" "<=" 1.5)
v_bulk=$(verdict "$r_bulk" ">=" 0.95)

row() { # label line
	printf '| %-34s | %9s | %9s | %9s | %6s |\n' "$1" "$(p50 "$2")" "$(p99 "$2")" "$(mx "$2")" "$(kv "$2" lost)"
}
echo
echo "### tcprio benchmark ($SCEN, uplink $SCEN_RATE, $(nproc) CPUs, $(uname -r))"
echo
echo "| critical pod round trip (us)       |       p50 |       p99 |       max |   lost |"
echo "|------------------------------------|-----------|-----------|-----------|--------|"
row "UDP rr, no tcprio, unloaded" "$OFF_UNL_RR"
row "UDP rr, no tcprio, bulk load" "$OFF_LD_RR"
row "UDP rr, tcprio, unloaded" "$ON_UNL_RR"
row "UDP rr, tcprio, bulk load" "$ON_LD_RR"
row "ICMP, no tcprio, unloaded" "$OFF_UNL_PING"
row "ICMP, no tcprio, bulk load" "$OFF_LD_PING"
row "ICMP, tcprio, unloaded" "$ON_UNL_PING"
row "ICMP, tcprio, bulk load" "$ON_LD_PING"
echo
echo "| measure                                         | no tcprio | tcprio | required | result |"
echo "|-------------------------------------------------|-----------|--------|----------|--------|"
printf '| %-47s | %9s | %6s | %8s | %6s |\n' "critical UDP p99 loaded / unloaded" "$r_off" "$r_on" "<= 1.5" "$v_lat"
printf '| %-47s | %9s | %6s | %8s | %6s |\n' "critical ICMP p99 loaded / unloaded" "$rp_off" "$rp_on" "" ""
printf '| %-47s | %9s | %6s | %8s | %6s |\n' "bulk goodput (Mbit/s)" "$OFF_BULK" "$ON_BULK" "" ""
printf '| %-47s | %9s | %6s | %8s | %6s |\n' "bulk goodput tcprio / no tcprio" "" "$r_bulk" ">= 0.95" "$v_bulk"
echo
echo "p50/p99/max pooled over $MEAS_ROUNDS rounds; unloaded and loaded probes alternate."
echo "The p99 of a few hundred microseconds is sensitive to other CPU load on the machine."
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
scenario_plot "$SCEN" bench "tcprio bench, scenario $SCEN: critical pod while the bulk pod saturates $SCEN_RATE"
[ -n "$keep_log" ] && echo "raw samples kept in $SCEN_LOG"
[ "$v_lat" = PASS ] && [ "$v_bulk" = PASS ]
