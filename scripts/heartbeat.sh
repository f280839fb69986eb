#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# heartbeat.sh - the node's own control-plane traffic under load: a
# "kubelet" (rr_probe client in a cgroup of its own, one request every
# 100 ms to a server in the remote namespace, as node heartbeats do) shares
# the shaped uplink with bulk TCP from a host-network "pod" (another
# cgroup on the node) and from a normal pod.  Measured without tcprio (the
# uplink shaped by one HTB class, no agent) and with the tcprio agent
# (host rules: kubelet cgroup -> critical, host-network pod cgroup -> bulk;
# the normal pod stays in the default class), unloaded and loaded, side by
# side in one run.
#
# usage: scripts/heartbeat.sh            (root; names tpthb-*, 198.18.0.0/15)
# Environment: HB_COUNT (requests per case, default 150 = 15 s),
# SCEN_RATE (50mbit), BENCH_LOG (keep the raw samples there).
# Prints a markdown table; exit 0 if, with tcprio, the kubelet's p99
# loaded / unloaded <= 2 (the requirement), 1 if not, 2 on a setup error.
set -u
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "heartbeat: run as root (namespaces, cgroups, tc, BPF)" >&2; exit 2; }
RR_PROBE=$PWD/build/scripts/rr_probe
TCPRIO=$PWD/build/tcprio
for b in "$RR_PROBE" "$TCPRIO"; do
	[ -x "$b" ] || { echo "heartbeat: $b missing: run make first" >&2; exit 2; }
done
# shellcheck source=lib/scenario.sh
. scripts/lib/scenario.sh
HB_COUNT=${HB_COUNT:-150}
HB_IVAL_US=100000
SCEN_LOG=${BENCH_LOG:-$(mktemp -d /tmp/tcprio-hb.XXXXXX)}
keep_log=${BENCH_LOG:+1}
CG_ROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG_ROOT" ] || { echo "heartbeat: no cgroup v2 hierarchy mounted" >&2; exit 2; }
CG_REL=/tcprio-heartbeat-$$
CG=$CG_ROOT$CG_REL
PIN_DIR=/sys/fs/bpf/tpthb-pins-$$
HOSTPOD_PORT=5202

cleanup() {
	proc_stop_all
	if [ -d "$PIN_DIR" ]; then
		nsenter --net="/run/netns/$(topo_ns node)" "$TCPRIO" detach --pin-dir "$PIN_DIR" >/dev/null 2>&1
		rm -rf "$PIN_DIR"
	fi
	topo_destroy
	# The cgroups are empty once their processes are gone.
	rmdir "$CG/kubelet" "$CG/hostpod" "$CG" 2>/dev/null
	[ -n "$keep_log" ] || rm -rf "$SCEN_LOG"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# in_cgroup NAME CMD...: exec CMD in the node netns from inside cgroup NAME
# (the process moves itself first, so its sockets belong to that cgroup).
in_cgroup() {
	local name=$1
	shift
	sh -c 'cg=$0 ns=$1; shift; echo $$ > "$cg/cgroup.procs" && exec nsenter --net="$ns" "$@"' \
		"$CG/$name" "/run/netns/$(topo_ns node)" "$@"
}

# One case: the kubelet's probe, with or without bulk load. case LABEL LOAD
hb_case() {
	local label=$1 load=$2 secs=$(( (HB_COUNT * HB_IVAL_US) / 1000000 + 4 ))
	if [ "$load" = 1 ]; then
		traffic_bulk_start bulk 4 "$secs" "$SCEN_LOG/$label.pod.json"
		proc_start hostpod "$SCEN_LOG/$label.hostpod.json" sh -c \
			'echo $$ > "$0/cgroup.procs" && exec nsenter --net="$1" iperf3 -c 198.18.0.2 -p "$2" -P 4 -t "$3" -J' \
			"$CG/hostpod" "/run/netns/$(topo_ns node)" "$HOSTPOD_PORT" "$secs"
		sleep 2
	fi
	in_cgroup kubelet "$RR_PROBE" client -a 198.18.0.2 -p "$RR_PORT" -n "$HB_COUNT" \
		-i "$HB_IVAL_US" -w 1000 -W 3 -o "$SCEN_LOG/$label.rr" >/dev/null
	if [ "$load" = 1 ]; then
		traffic_bulk_wait
		wait "$(proc_pid hostpod)" 2>/dev/null
		unset "PROC_PIDS[hostpod]"
	fi
	"$RTT_STATS" rr "$SCEN_LOG/$label.rr"
}

echo "heartbeat: load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$CG/kubelet" "$CG/hostpod" || exit 2
TOPO_PODS="bulk"
topo_create tpthb- plain || exit 2
topo_wait_ready || exit 2
traffic_servers_start "$SCEN_LOG" || exit 2
proc_start iperf_hostpod "$SCEN_LOG/iperf_hostpod.log" \
	ip netns exec "$(topo_ns remote)" iperf3 -s -p "$HOSTPOD_PORT"
sleep 0.3
node=$(topo_ns node)

echo "heartbeat: without tcprio (one HTB class at ${SCEN_RATE}) ..."
shaping_plain "$node" "$TOPO_UPLINK" "$SCEN_RATE" || exit 2
OFF_UNL=$(hb_case off.unl 0)
OFF_LD=$(hb_case off.ld 1)
shaping_clear "$node" "$TOPO_UPLINK"

echo "heartbeat: with the tcprio agent ..."
cat >"$SCEN_LOG/classes.yaml" <<EOF
classes:
  - {name: critical, dscp: EF, priority: "1:10"}
  - {name: high, dscp: AF41, priority: "1:20"}
  - {name: normal, priority: "1:30"}
  - {name: bulk, dscp: LE, priority: "1:40"}
defaultClass: normal
hostRules:
  - {cgroup: $CG_REL/kubelet, class: critical}
  - {cgroup: $CG_REL/hostpod, class: bulk}
EOF
proc_start agent "$SCEN_LOG/agent.log" nsenter --net="/run/netns/$node" "$TCPRIO" agent --no-kube \
	--config "$SCEN_LOG/classes.yaml" --uplink "$TOPO_UPLINK" --uplink-rate "$SCEN_RATE" \
	--pin-dir "$PIN_DIR" --metrics-address 127.0.0.1:0
for _ in $(seq 100); do
	grep -q "host rule cgroup $CG_REL/kubelet: cgroup id" "$SCEN_LOG/agent.log" && break
	sleep 0.1
done
grep -q "host rule cgroup $CG_REL/kubelet: cgroup id" "$SCEN_LOG/agent.log" ||
	{ echo "heartbeat: the agent did not resolve the kubelet cgroup; log:" >&2; cat "$SCEN_LOG/agent.log" >&2; exit 2; }
ON_UNL=$(hb_case on.unl 0)
ON_LD=$(hb_case on.ld 1)
status=$(nsenter --net="/run/netns/$node" "$TCPRIO" status --pin-dir "$PIN_DIR" |
	sed -n '/^Host rules/,/^$/p')

p99() { kv "$1" p99_us; }
r_off=$(ratio "$(p99 "$OFF_LD")" "$(p99 "$OFF_UNL")")
r_on=$(ratio "$(p99 "$ON_LD")" "$(p99 "$ON_UNL")")
v=$(awk -v v="$r_on" 'BEGIN { print (v != "nan" && v <= 2) ? "PASS" : "FAIL" }')
row() { printf '| %-28s | %9s | %9s | %9s | %5s |\n' "$1" "$(kv "$2" p50_us)" "$(p99 "$2")" "$(kv "$2" max_us)" "$(kv "$2" lost)"; }
echo
echo "### kubelet heartbeat under load (uplink $SCEN_RATE, $HB_COUNT requests every 100 ms per case, $(nproc) CPUs, $(uname -r))"
echo
echo "| kubelet round trip (us)      |       p50 |       p99 |       max |  lost |"
echo "|------------------------------|-----------|-----------|-----------|-------|"
row "no tcprio, unloaded" "$OFF_UNL"
row "no tcprio, bulk load" "$OFF_LD"
row "tcprio, unloaded" "$ON_UNL"
row "tcprio, bulk load" "$ON_LD"
echo
echo "| kubelet p99 loaded / unloaded | no tcprio | tcprio | required | result |"
echo "|-------------------------------|-----------|--------|----------|--------|"
printf '| %-29s | %9s | %6s | %8s | %6s |\n' "" "$r_off" "$r_on" "<= 2" "$v"
echo
echo "Bulk load: 4 TCP streams from the host-network pod's cgroup and 4 from a normal pod."
echo "$status"
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
[ -n "$keep_log" ] && echo "raw samples kept in $SCEN_LOG"
[ "$v" = PASS ]
