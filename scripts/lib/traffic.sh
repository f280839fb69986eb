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
# traffic_rr POD FAM COUNT INTERVAL_US   run the UDP probe, print its line
# traffic_ping POD FAM COUNT INTERVAL_S  ping, print a line in rr_probe's format
# kv LINE KEY                       value of KEY=... in LINE
RR_PORT=${RR_PORT:-7777}
IPERF_PORT=${IPERF_PORT:-5201}
BULK_STREAMS=${BULK_STREAMS:-4}
PY=/usr/bin/python3

traffic_servers_start() {
	local dir=$1
	proc_start rr_server "$dir/rr_server.log" \
		ip netns exec "$(topo_ns remote)" "$RR_PROBE" server -6 -p "$RR_PORT" -T 900
	proc_start iperf_server "$dir/iperf_server.log" \
		ip netns exec "$(topo_ns remote)" iperf3 -s -p "$IPERF_PORT"
	sleep 0.3
}

traffic_bulk_start() {
	local pod=$1 fam=$2 sec=$3 out=$4
	proc_start bulk "$out" ip netns exec "$(topo_ns "$pod")" \
		iperf3 -"$fam" -c "$(topo_target_ip "$fam")" -p "$IPERF_PORT" \
		-P "$BULK_STREAMS" -t "$sec" -J $BULK_EXTRA
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
	local pod=$1 fam=$2 count=$3 ival=$4
	topo_exec "$pod" "$RR_PROBE" client -a "$(topo_target_ip "$fam")" -p "$RR_PORT" \
		-n "$count" -i "$ival" -w 1000 -W 5 $RR_EXTRA
}

traffic_ping() {
	local pod=$1 fam=$2 count=$3 ival=$4
	topo_exec "$pod" ping -"$fam" -n -c "$count" -i "$ival" -W 1 "$(topo_target_ip "$fam")" 2>&1 |
	$PY -c '
import math, re, sys
rtt = []; sent = 0
for line in sys.stdin:
    m = re.search(r"time=([0-9.]+) ms", line)
    if m: rtt.append(float(m.group(1)) * 1000)
    m = re.search(r"(\d+) packets transmitted", line)
    if m: sent = int(m.group(1))
rtt.sort(); n = len(rtt)
pc = lambda p: rtt[min(n, max(1, math.ceil(p / 100 * n))) - 1] if n else float("nan")
print("ping sent=%d received=%d lost=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f"
      % (sent, n, sent - n, pc(50), pc(90), pc(99), rtt[-1] if n else float("nan"),
         sum(rtt) / n if n else float("nan")))'
}

kv() {
	local line=$1 key=$2 w
	for w in $line; do
		case "$w" in "$key"=*) echo "${w#*=}"; return 0 ;; esac
	done
	echo nan
}
