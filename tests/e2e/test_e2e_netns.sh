#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_e2e_netns.sh - tcprio end to end on a node built in network
# namespaces (tpte2e-*): the test API server serves the demo pods, the agent
# runs on the node, and we check what leaves the uplink (DSCP counted by
# nftables at the remote), the agent's counters, a live annotation change,
# and that the critical pod's p99 round trip under bulk load is lower with
# tcprio than with the same uplink rate and no tcprio.  TAP; < 60 s.
set -u
cd "$(dirname "$0")/../.."
N=10
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }
# Skip only for what the machine lacks (root, a tool), with the reason.
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces, tc, BPF)"
RR_PROBE=$PWD/build/scripts/rr_probe
TCPRIO=$PWD/build/tcprio
for c in iperf3 nft ping nsenter; do command -v "$c" >/dev/null || skip_all "$c not installed (scripts/install-deps.sh)"; done
# The binaries are this repository's own build output: missing is a failure.
for b in "$RR_PROBE" "$TCPRIO"; do
	if [ ! -x "$b" ]; then
		echo "1..$N"; nok "$b built" "make did not build it: run make first"; exit 1
	fi
done

# shellcheck source=../../scripts/lib/scenario.sh
. scripts/lib/scenario.sh
SCEN_LOG=$(mktemp -d /tmp/tcprio-e2e.XXXXXX)
MEAS_ROUNDS=1 MEAS_COUNT=1000 MEAS_IVAL_US=2000
PREFIX=tpte2e-
cleanup() { scenario_teardown; rm -rf "$SCEN_LOG"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
echo "1..$N"

if ! scenario_setup ipv4 "$PREFIX" >"$SCEN_LOG/setup.log" 2>&1; then
	nok "node, pods, remote and API server set up" "$(cat "$SCEN_LOG/setup.log")"
	for i in $(seq 2 "$N"); do echo "ok $i - e2e netns # SKIP set-up failed"; done
	exit 1
fi
ok "node, pods, remote and API server set up"
REMOTE=$(topo_ns remote)

# Without tcprio first (no agent yet): one HTB class at the same rate.
scenario_off ipv4

agent_start "$SCEN_LOG" "$SCEN_PIN_DIR" "$SCEN_RATE" 2>"$SCEN_LOG/agent_start.err"
check "agent ready: 6 endpoints, uplink and 3 pod edges attached" \
	eval 'agent_status --json | "$STATUS_QUERY" ready 6'

# pings FAM POD: 50 echo requests; prints the DSCP 46 / 1 / 0 counter deltas.
pings() {
	local fam=$1 pod=$2 a b
	a=$(echo $(dscp_watch_count "$REMOTE" "$fam" 46) $(dscp_watch_count "$REMOTE" "$fam" 1) $(dscp_watch_count "$REMOTE" "$fam" 0))
	topo_exec "$pod" ping -"$fam" -q -c 50 -i 0.01 -W 1 "$(topo_target_ip "$fam")" >/dev/null 2>&1
	b=$(echo $(dscp_watch_count "$REMOTE" "$fam" 46) $(dscp_watch_count "$REMOTE" "$fam" 1) $(dscp_watch_count "$REMOTE" "$fam" 0))
	set -- $a $b
	echo "$(($4 - $1)) $(($5 - $2)) $(($6 - $3))"
}
up_before_crit=$(agent_status --json | "$STATUS_QUERY" packets uplink critical)
up_before_bulk=$(agent_status --json | "$STATUS_QUERY" packets uplink bulk)
read -r ef le be <<<"$(pings 4 critical)"
check "IPv4 critical pod: 50 requests leave the uplink with DSCP 46 (EF=$ef LE=$le BE=$be)" \
	test "$ef" -ge 50 -a "$le" -eq 0 -a "$be" -lt 5
read -r ef le be <<<"$(pings 4 bulk)"
check "IPv4 bulk pod: 50 requests leave the uplink with DSCP 1 (EF=$ef LE=$le BE=$be)" \
	test "$le" -ge 50 -a "$ef" -eq 0 -a "$be" -lt 5
read -r ef1 le1 be1 <<<"$(pings 6 critical)"
read -r ef2 le2 be2 <<<"$(pings 6 bulk)"
check "IPv6: critical DSCP 46 ($ef1/50), bulk DSCP 1 ($le2/50)" \
	test "$ef1" -ge 50 -a "$le1" -eq 0 -a "$le2" -ge 50 -a "$ef2" -eq 0
up_crit=$(( $(agent_status --json | "$STATUS_QUERY" packets uplink critical) - up_before_crit ))
up_bulk=$(( $(agent_status --json | "$STATUS_QUERY" packets uplink bulk) - up_before_bulk ))
check "uplink counters moved: critical +$up_crit, bulk +$up_bulk packets (>= 100 each)" \
	test "$up_crit" -ge 100 -a "$up_bulk" -ge 100

# Live annotation change: critical -> bulk through the API server.
cluster_set_class critical bulk
cls=-
for i in $(seq 40); do
	cls=$(agent_status --json | "$STATUS_QUERY" class "$(topo_pod_ip critical 4)")
	[ "$cls" = bulk ] && break
	sleep 0.05
done
read -r ef le be <<<"$(pings 4 critical)"
check "annotation changed to bulk: agent class '$cls', pings leave with DSCP 1 (LE=$le EF=$ef)" \
	test "$cls" = bulk -a "$le" -ge 50 -a "$ef" -eq 0
cluster_set_class critical critical
sleep 0.3

scenario_on ipv4
off_p99=$(kv "$OFF_LD_RR" p99_us) on_p99=$(kv "$ON_LD_RR" p99_us)
on_unl=$(kv "$ON_UNL_RR" p99_us)
lower=$(awk -v a="$on_p99" -v b="$off_p99" 'BEGIN { print (a != "nan" && b != "nan" && a < b) ? 1 : 0 }')
check "critical p99 under load: tcprio ${on_p99} us < no tcprio ${off_p99} us (tcprio unloaded ${on_unl} us)" \
	test "$lower" = 1
r=$(ratio "$ON_BULK" "$OFF_BULK")
good=$(awk -v r="$r" 'BEGIN { print (r != "nan" && r >= 0.9) ? 1 : 0 }')
check "bulk goodput with tcprio ${ON_BULK} Mbit/s >= 0.9 x without ${OFF_BULK} Mbit/s (ratio $r)" \
	test "$good" = 1

pin=$SCEN_PIN_DIR
pids="${PROC_PIDS[*]}"
scenario_teardown
left=$(ip netns list | grep -c "^$PREFIX" || true)
alive=0
for p in $pids; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
check "clean-up: no $PREFIX namespaces ($left), no pin folder, none of our $(wc -w <<<"$pids") processes ($alive alive)" \
	test "$left" -eq 0 -a ! -e "$pin" -a "$alive" -eq 0
[ "$n" -eq "$N" ] || { echo "# planned $N results, printed $n"; exit 1; }
