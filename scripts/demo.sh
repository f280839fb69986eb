#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# demo.sh - tcprio end to end on a Kubernetes-like node built in network
# namespaces (names tptdemo-*; addresses 198.18.0.0/15 and 2001:db8::/32).
#
# usage: scripts/demo.sh [SCENARIO...]     (root; after `make`)
#   SCENARIO: ipv4 ipv6 vxlan snat (default: all, or $DEMO_SCENARIOS)
#
# For each scenario: three pods (demo-critical, demo-normal, demo-bulk from
# deploy/examples/) joined to the node by veth pairs, an uplink shaped to
# 50 Mbit/s towards a remote, the test API server serving the pods and
# `tcprio agent` on the node.  The critical pod probes the remote (UDP
# request/response and ping) unloaded and while the bulk pod saturates the
# uplink, first without tcprio (the uplink is one HTB class at the same
# rate) and then with the agent.  Then, with the agent and under load, the
# critical pod's annotation is changed to bulk and back through the API
# server and its round trips and DSCP are printed second by second.  The
# end is a table of every scenario.  Everything is removed on exit, also on
# Ctrl-C.  Each scenario also leaves pictures in build/plots (PLOT_DIR):
# demo-NAME-rtt.{png,svg} and demo-NAME-throughput.{png,svg}
# (scripts/plot_run.py).  Environment: DEMO_ROUNDS (2), SCEN_RATE (50mbit),
# DEMO_LOG (keep logs and samples there), PLOT_DIR.
set -u
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: run as root (network namespaces, tc, BPF)" >&2; exit 2; }
RR_PROBE=$PWD/build/scripts/rr_probe
TCPRIO=$PWD/build/tcprio
for b in "$RR_PROBE" "$TCPRIO"; do
	[ -x "$b" ] || { echo "demo: $b missing: run make first" >&2; exit 2; }
done
# shellcheck source=lib/scenario.sh
. scripts/lib/scenario.sh
if [ $# -gt 0 ]; then SCENARIOS="$*"; else SCENARIOS=${DEMO_SCENARIOS:-ipv4 ipv6 vxlan snat}; fi
for s in $SCENARIOS; do
	scenario_mode "$s" >/dev/null || { echo "demo: unknown scenario '$s' (ipv4 ipv6 vxlan snat)" >&2; exit 2; }
done
MEAS_ROUNDS=${DEMO_ROUNDS:-2}
SCEN_LOG=${DEMO_LOG:-$(mktemp -d /tmp/tcprio-demo.XXXXXX)}
keep_log=${DEMO_LOG:+1}
LIVE_SLICES=6     # seconds of the live annotation change
TABLE=()

cleanup() {
	scenario_teardown
	[ -n "$keep_log" ] || rm -rf "$SCEN_LOG"
}
trap cleanup EXIT
trap 'echo "demo: interrupted, cleaning up" >&2; exit 130' INT TERM

banner() { printf '\n==== %s\n' "$*"; }

# DSCP counters at the remote for the scenario's family: "ef=N le=N be=N"
dscp_snapshot() {
	local ns
	ns=$(topo_ns remote)
	echo "$(dscp_watch_count "$ns" "$SCEN_FAM" 46) $(dscp_watch_count "$ns" "$SCEN_FAM" 1) $(dscp_watch_count "$ns" "$SCEN_FAM" 0)"
}

# Second by second under bulk load: the critical pod's round trips, the
# class the agent gives its address and the DSCP of the packets reaching the
# remote; the annotation becomes bulk after 2 s and critical again after 4 s.
live_change() {
	local s line before after ip cls
	ip=$(topo_pod_ip critical "$SCEN_FAM")
	traffic_bulk_start bulk "$SCEN_FAM" $((LIVE_SLICES + 3)) "$SCEN_LOG/$1/live-bulk.json"
	sleep 2
	echo "  (EF/LE: packets (GSO skbs) with DSCP 46 / 1 reaching the remote in that second)"
	printf '  %-4s %-24s %-9s %9s %9s %8s %8s\n' sec annotation class p50_us p99_us "EF(46)" "LE(1)"
	for s in $(seq "$LIVE_SLICES"); do
		case "$s" in
		3) cluster_set_class critical bulk ;;
		5) cluster_set_class critical critical ;;
		esac
		before=$(dscp_snapshot)
		line=$(traffic_rr critical "$SCEN_FAM" 200 5000)
		after=$(dscp_snapshot)
		cls=$(agent_status --json | "$STATUS_QUERY" class "$ip")
		set -- $before $after
		printf '  %-4s %-24s %-9s %9s %9s %8s %8s\n' "$s" \
			"$([ "$s" -ge 3 ] && [ "$s" -lt 5 ] && echo "tcprio.io/class=bulk" || echo "tcprio.io/class=critical")" \
			"$cls" "$(kv "$line" p50_us)" "$(kv "$line" p99_us)" $(($4 - $1)) $(($5 - $2))
	done
	traffic_bulk_wait
}

run_scenario() {
	local name=$1 d0 d1 row
	banner "scenario $name: building the node"
	scenario_setup "$name" tptdemo- || return 1
	echo "  pods: critical $(topo_pod_ip critical "$SCEN_FAM"), normal $(topo_pod_ip normal "$SCEN_FAM")," \
		"bulk $(topo_pod_ip bulk "$SCEN_FAM") -> remote $(topo_target_ip "$SCEN_FAM") via $TOPO_UPLINK ($TOPO_MODE)"
	banner "scenario $name: without tcprio (uplink: one HTB class at $SCEN_RATE)"
	scenario_off "$name"
	printf '  %-9s %s\n' unloaded "$OFF_UNL_RR" loaded "$OFF_LD_RR" "" "bulk ${OFF_BULK} Mbit/s"
	banner "scenario $name: with tcprio agent --uplink $TOPO_UPLINK --uplink-rate $SCEN_RATE"
	d0=$(dscp_snapshot)
	scenario_on "$name" || return 1
	d1=$(dscp_snapshot)
	printf '  %-9s %s\n' unloaded "$ON_UNL_RR" loaded "$ON_LD_RR" "" "bulk ${ON_BULK} Mbit/s"
	set -- $d0 $d1
	echo "  packets (GSO skbs) reaching the remote: DSCP 46 (EF, critical) $(($4 - $1)), DSCP 1 (LE, bulk) $(($5 - $2)), DSCP 0 $(($6 - $3))"
	banner "scenario $name: changing demo-critical's annotation while bulk traffic runs"
	live_change "$name"
	banner "scenario $name: tcprio status"
	agent_status | sed 's/^/  /'
	for row in "off|$OFF_UNL_RR|$OFF_LD_RR|$OFF_LD_PING|$OFF_BULK|-" \
		   "on|$ON_UNL_RR|$ON_LD_RR|$ON_LD_PING|$ON_BULK|EF $(($4 - $1)) / LE $(($5 - $2))"; do
		TABLE+=("$name|$row")
	done
	banner "scenario $name: plots"
	scenario_plot "$name" demo "tcprio demo, scenario $name: critical pod while the bulk pod saturates $SCEN_RATE"
	scenario_teardown
}

print_table() {
	local r name mode unl ld ldp bulk dscp
	banner "summary (critical pod round trips in us; uplink $SCEN_RATE; $MEAS_ROUNDS rounds pooled)"
	echo
	echo "| scenario | tcprio | UDP p50 / p99 / max unloaded | UDP p50 / p99 / max loaded | ICMP p99 loaded | p99 loaded/unloaded | bulk Mbit/s | DSCP at remote |"
	echo "|----------|--------|------------------------------|----------------------------|-----------------|---------------------|-------------|----------------|"
	for r in "${TABLE[@]}"; do
		IFS='|' read -r name mode unl ld ldp bulk dscp <<<"$r"
		printf '| %-8s | %-6s | %28s | %26s | %15s | %19s | %11s | %-14s |\n' "$name" "$mode" \
			"$(kv "$unl" p50_us) / $(kv "$unl" p99_us) / $(kv "$unl" max_us)" \
			"$(kv "$ld" p50_us) / $(kv "$ld" p99_us) / $(kv "$ld" max_us)" \
			"$(kv "$ldp" p99_us)" "$(ratio "$(kv "$ld" p99_us)" "$(kv "$unl" p99_us)")" "$bulk" "$dscp"
	done
}

SECONDS=0
failed=""
for s in $SCENARIOS; do
	run_scenario "$s" || { echo "demo: scenario $s failed" >&2; failed="$failed $s"; scenario_teardown; }
done
print_table
echo
echo "demo: ${SECONDS}s${failed:+, failed:$failed}"
[ -n "$keep_log" ] && echo "logs in $SCEN_LOG"
[ -z "$failed" ]
