# shellcheck shell=bash
# measure.sh - the latency/throughput measurement shared by the demo, the
# benchmark and the end-to-end test.  Needs procs.sh, topology.sh and
# traffic.sh sourced first.
#
# measure_case LABEL FAM OUTDIR
#   MEAS_ROUNDS rounds (default 3), each: the critical pod's probes without
#   load (rr_probe: MEAS_COUNT requests every MEAS_IVAL_US us, and ping at
#   10 ms in parallel), then bulk load from the bulk pod (iperf3,
#   BULK_STREAMS streams) and, after MEAS_RAMP_S seconds, the same probes
#   under load.  Unloaded and loaded rounds alternate so that background
#   noise (other processes on the machine) hits both alike; the samples of
#   all rounds are pooled.  Sets:
#     MEAS_UNL_RR MEAS_LD_RR MEAS_UNL_PING MEAS_LD_PING  rtt_stats.py lines
#     MEAS_BULK_MBPS   mean bulk goodput over the rounds (Mbit/s, receiver)
#   and, for scripts/plot_run.py, OUTDIR/LABEL.events (EPOCH_S EVENT ROUND:
#   probe_unl, bulk_start, probe_ld, bulk_end) and OUTDIR/LABEL.tc (the
#   uplink's HTB class counters every 0.2 s, scripts/tc_sampler.py).
MEAS_ROUNDS=${MEAS_ROUNDS:-3}
MEAS_COUNT=${MEAS_COUNT:-1000}
MEAS_IVAL_US=${MEAS_IVAL_US:-2000}
MEAS_RAMP_S=${MEAS_RAMP_S:-2}

# Run the rr probe and ping together: _measure_probes FAM OUTPREFIX
_measure_probes() {
	local fam=$1 out=$2 ping_n
	ping_n=$((MEAS_COUNT * MEAS_IVAL_US / 10000))
	[ "$ping_n" -ge 10 ] || ping_n=10
	traffic_rr critical "$fam" "$MEAS_COUNT" "$MEAS_IVAL_US" "$out.rr" >/dev/null &
	local rr=$!
	traffic_ping critical "$fam" "$ping_n" 0.01 "$out.ping" >/dev/null
	wait "$rr"
}

# _measure_event PREFIX EVENT ROUND: "EPOCH_S EVENT ROUND" into PREFIX.events
_measure_event() { echo "$(date +%s.%N) $2 $3" >>"$1.events"; }

measure_case() {
	local label=$1 fam=$2 dir=$3 r bulk_s mbps sum=0 n=0
	local probe_s=$(( (MEAS_COUNT * MEAS_IVAL_US + 999999) / 1000000 ))
	bulk_s=$((MEAS_RAMP_S + probe_s + 1))
	: >"$dir/$label.events"
	proc_start tcsample "$dir/$label.tc" ip netns exec "$(topo_ns node)" \
		"$PY" scripts/tc_sampler.py "$TOPO_UPLINK" 0.2
	for r in $(seq "$MEAS_ROUNDS"); do
		_measure_event "$dir/$label" probe_unl "$r"
		_measure_probes "$fam" "$dir/$label.unl.$r"
		_measure_event "$dir/$label" bulk_start "$r"
		traffic_bulk_start bulk "$fam" "$bulk_s" "$dir/$label.bulk.$r.json"
		sleep "$MEAS_RAMP_S"
		_measure_event "$dir/$label" probe_ld "$r"
		_measure_probes "$fam" "$dir/$label.ld.$r"
		traffic_bulk_wait
		_measure_event "$dir/$label" bulk_end "$r"
		mbps=$(traffic_bulk_mbps "$dir/$label.bulk.$r.json")
		if [ "$mbps" != nan ]; then
			sum=$(awk -v a="$sum" -v b="$mbps" 'BEGIN { print a + b }')
			n=$((n + 1))
		fi
	done
	proc_stop tcsample
	MEAS_UNL_RR=$("$RTT_STATS" rr "$dir/$label".unl.*.rr)
	MEAS_LD_RR=$("$RTT_STATS" rr "$dir/$label".ld.*.rr)
	MEAS_UNL_PING=$("$RTT_STATS" ping "$dir/$label".unl.*.ping)
	MEAS_LD_PING=$("$RTT_STATS" ping "$dir/$label".ld.*.ping)
	if [ "$n" -gt 0 ]; then
		MEAS_BULK_MBPS=$(awk -v a="$sum" -v n="$n" 'BEGIN { printf "%.2f", a / n }')
	else
		MEAS_BULK_MBPS=nan
	fi
}
