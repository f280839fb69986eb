# shellcheck shell=bash
# traffic.sh - bulk TCP load (iperf3) and latency probes (rr_probe, ping)
# between the pods and the remote of topology.sh.  Needs procs.sh and
# topology.sh sourced first, and RR_PROBE set to the rr_probe binary.
#
# traffic_servers_start LOGDIR      rr_probe server (UDP 7777, IPv4+IPv6) and
#                                   iperf3 server (TCP 5201) in the remote
# traffic_bulk_start POD FAM SEC OUT  iperf3 client, 4 streams, SEC seconds,
#                                   JSON to OUT, in the background
# traffic_bulk_wait                 wait for it; prints nothing
# traffic_bulk_mbps OUT             received Mbit/s from iperf3's JSON
# traffic_rr POD FAM COUNT INTERVAL_US [OUT]   run the UDP probe, print its
#                                   line; per-request samples to OUT
# traffic_ping POD FAM COUNT INTERVAL_S [OUT]   ping; samples to OUT and a
#                                   line in rr_probe's format
# PROBE_PREFIX (e.g. "chrt -f 50") runs the probes under that command,
# LOAD_PREFIX (e.g. "taskset -c 1") the iperf3 server and clients.
# kv LINE KEY                       value of KEY=... in LINE
RR_PORT=${RR_PORT:-7777}
IPERF_PORT=${IPERF_PORT:-5201}
BULK_STREAMS=${BULK_STREAMS:-4}
PROBE_PREFIX=${PROBE_PREFIX:-}
LOAD_PREFIX=${LOAD_PREFIX:-}
RR_EXTRA=${RR_EXTRA:-}
BULK_EXTRA=${BULK_EXTRA:-}
PY=/usr/bin/python3
RTT_STATS=${RTT_STATS:-$(dirname "${BASH_SOURCE[0]}")/rtt_stats.py}

traffic_servers_start() {
	local dir=$1
	proc_start rr_server "$dir/rr_server.log" \
		ip netns exec "$(topo_ns remote)" $PROBE_PREFIX "$RR_PROBE" server -6 -p "$RR_PORT" -T 900
	proc_start iperf_server "$dir/iperf_server.log" \
		ip netns exec "$(topo_ns remote)" $LOAD_PREFIX iperf3 -s -p "$IPERF_PORT"
	sleep 0.3
}

traffic_bulk_start() {
	local pod=$1 fam=$2 sec=$3 out=$4
	proc_start bulk "$out" ip netns exec "$(topo_ns "$pod")" \
		$LOAD_PREFIX iperf3 -"$fam" -c "$(topo_target_ip "$fam")" -p "$IPERF_PORT" \
		-P "$BULK_STREAMS" -t "$sec" -O 1 -J $BULK_EXTRA
}

traffic_bulk_wait() {
	local pid
	pid=$(proc_pid bulk)
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	unset "PROC_PIDS[bulk]"
	return 0
}

traffic_bulk_mbps() {
	$PY - "$1" <<'PYEOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    print("%.2f" % (d["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception as e:
    print("nan")
PYEOF
}

traffic_rr() {
	local pod=$1 fam=$2 count=$3 ival=$4 out=${5:-}
	topo_exec "$pod" $PROBE_PREFIX "$RR_PROBE" client -a "$(topo_target_ip "$fam")" \
		-p "$RR_PORT" -n "$count" -i "$ival" -w 1000 -W 5 ${out:+-o "$out"} $RR_EXTRA
}

# ping, one sample per reply (us) or "lost" per missing sequence number
# into OUT (if given); prints a summary line like rr_probe's.
traffic_ping() {
	local pod=$1 fam=$2 count=$3 ival=$4 out=${5:-/dev/null}
	topo_exec "$pod" $PROBE_PREFIX ping -"$fam" -n -c "$count" -i "$ival" -W 1 \
		"$(topo_target_ip "$fam")" 2>&1 |
	awk -v n="$count" '
		/icmp_seq=.*time=/ {
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^icmp_seq=/) { split($i, a, "="); s = a[2] }
				if ($i ~ /^time=/) { split($i, b, "="); t[s] = b[2] * 1000 }
			}
		}
		END { for (i = 1; i <= n; i++) print ((i in t) ? t[i] : "lost") }' >"$out"
	[ "$out" = /dev/null ] || "$RTT_STATS" ping "$out"
}

kv() {
	local line=$1 key=$2 w
	for w in $line; do
		case "$w" in "$key"=*) echo "${w#*=}"; return 0 ;; esac
	done
	echo nan
}
