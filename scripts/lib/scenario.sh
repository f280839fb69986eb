# shellcheck shell=bash
# scenario.sh - one demo/benchmark scenario on the netns node: the same
# measurement without tcprio (the uplink shaped by a single HTB class, what
# a node has without tcprio) and with the tcprio agent (its HTB tree and
# classification).  Sources the other libraries; the caller sets RR_PROBE,
# TCPRIO and SCEN_LOG, and calls scenario_teardown from its trap.
#
# Scenarios: ipv4 (routed, IPv4), ipv6 (routed, IPv6), vxlan (IPv4 pods in
# a VXLAN overlay over the uplink), snat (IPv4, masqueraded on the uplink).
#
# scenario_setup NAME PREFIX   build the node, servers, API server, DSCP
#                              counters at the remote; sets SCEN_FAM
# scenario_off NAME            measure without tcprio -> OFF_* variables
# scenario_on NAME             start the agent (unless running), measure
#                              -> ON_* variables
# scenario_teardown            stop everything, delete the namespaces
SCEN_LIB=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=/dev/null
for _f in procs topology shaping traffic measure cluster dscp_watch; do
	. "$SCEN_LIB/$_f.sh"
done
unset _f
SCEN_RATE=${SCEN_RATE:-50mbit}
SCEN_PIN_DIR=""
SCEN_DSCPS="0 1 46"   # normal (default, 0), bulk (LE, 1), critical (EF, 46)

scenario_mode() {
	case "$1" in
	ipv4) echo "4 plain" ;;
	ipv6) echo "6 plain" ;;
	vxlan) echo "4 vxlan" ;;
	snat) echo "4 snat" ;;
	*) return 1 ;;
	esac
}

scenario_setup() {
	local name=$1 prefix=$2 fm
	fm=$(scenario_mode "$name") || { echo "scenario: unknown '$name' (ipv4, ipv6, vxlan, snat)" >&2; return 1; }
	SCEN_FAM=${fm% *}
	SCEN_PIN_DIR=/sys/fs/bpf/${prefix}pins-$$
	mkdir -p "$SCEN_LOG/$name"
	topo_create "$prefix" "${fm#* }" || return 1
	topo_wait_ready || return 1
	dscp_watch_install "$(topo_ns remote)" eth0 $SCEN_DSCPS || return 1
	traffic_servers_start "$SCEN_LOG/$name" || return 1
	cluster_apiserver_start "$SCEN_LOG/$name/api" || return 1
}

scenario_off() {
	local node
	node=$(topo_ns node)
	shaping_clear "$node" "$TOPO_UPLINK"
	shaping_plain "$node" "$TOPO_UPLINK" "$SCEN_RATE" || return 1
	measure_case off "$SCEN_FAM" "$SCEN_LOG/$1"
	OFF_UNL_RR=$MEAS_UNL_RR OFF_LD_RR=$MEAS_LD_RR
	OFF_UNL_PING=$MEAS_UNL_PING OFF_LD_PING=$MEAS_LD_PING OFF_BULK=$MEAS_BULK_MBPS
	shaping_clear "$node" "$TOPO_UPLINK"
}

scenario_on() {
	if [ -z "$(proc_pid agent)" ]; then
		agent_start "$SCEN_LOG/$1" "$SCEN_PIN_DIR" "$SCEN_RATE" || return 1
	fi
	measure_case on "$SCEN_FAM" "$SCEN_LOG/$1"
	# class names and priorities for the plots (scripts/plot_run.py)
	agent_status --json >"$SCEN_LOG/$1/status.json" 2>/dev/null
	ON_UNL_RR=$MEAS_UNL_RR ON_LD_RR=$MEAS_LD_RR
	ON_UNL_PING=$MEAS_UNL_PING ON_LD_PING=$MEAS_LD_PING ON_BULK=$MEAS_BULK_MBPS
}

scenario_teardown() {
	proc_stop_all
	[ -n "$CLUSTER_PIN_DIR" ] && agent_stop
	[ -n "$SCEN_PIN_DIR" ] && rm -rf "$SCEN_PIN_DIR"
	topo_destroy
	return 0
}

# scenario_plot NAME PREFIX TITLE: the run's pictures (scripts/plot_run.py)
# as PLOT_DIR/PREFIX-NAME-{rtt,throughput}.{png,svg}; PLOT_DIR defaults to
# build/plots.  A plotting failure is reported, not fatal.
scenario_plot() {
	local dir=${PLOT_DIR:-build/plots}
	mkdir -p "$dir"
	MEAS_IVAL_US=$MEAS_IVAL_US "$PY" scripts/plot_run.py "$SCEN_LOG/$1" "$dir/$2-$1" "$3" ||
		echo "  (no plots: scripts/plot_run.py failed; python3-matplotlib installed?)"
}

# ratio A B: A / B with two decimals, "nan" if either is not a number
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "nan" || b == "nan" || b + 0 == 0) print "nan"; else printf "%.2f", a / b }'
}
