#!/bin/bash
# bench_datapath.sh - `make bench-datapath`: the real-traffic benchmark
# (scripts/bench_traffic.py), the in-kernel benchmark
# (build/tests/bench/bench_datapath) and the uplink's local-socket branch
# (build/tests/bench/bench_host), one after the other; prints every
# VERDICT line first (bench_host's from its worst "vs empty"), then the
# real-traffic report, then the in-kernel ones.
# Progress goes to stderr.  Needs root; run it under the test lock on a
# shared machine:  flock /tmp/tcprio-tests.lock make bench-datapath
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "bench-datapath: real traffic (about 5 minutes; cycles: TRAFFIC_CYCLES, else bench_traffic.py's 20), then in-kernel (about 2.5 minutes)" >&2
BUILD=$BUILD python3 scripts/bench_traffic.py ${TRAFFIC_CYCLES:+"$TRAFFIC_CYCLES"} >"$out/traffic"
rc_t=$?
"$BUILD/tests/bench/bench_datapath" >"$out/kernel"
rc_k=$?
"$BUILD/tests/bench/bench_host" >"$out/host"
rc_h=$?
# bench_host's markdown rows: | case | ns/run | 1.23x | +n |; the worst of
# a socket's later packets and of its first packet (the agent's answer for
# its cgroup); the fallback rows (a cgroup the agent has no answer for yet:
# the walk) each as a FALLBACK line.
awk -F'|' 'function verdict(what, w, c) {
		printf "VERDICT in-kernel, uplink, local sockets (host rules), %s: worst %.2fx the empty program (%s): %s (required <= 2.0x), %s the 1.5x aim\n",
			what, w, c, w <= 2.0 ? "MEETS" : "FAILS", w <= 1.5 ? "meets" : "misses" }
	$4 ~ /x *$/ && $2 ~ /^ *fallback/ { n = $2; a = $5; gsub(/^ *fallback, +| +$/, "", n); gsub(/ /, "", a)
		printf "FALLBACK in-kernel, uplink, %s: %.2fx the empty program (%s ns)\n", n, $4 + 0, a; next }
	$4 ~ /x *$/ && $2 !~ /empty/ { v = $4 + 0; f = $2 ~ /first packet/
		if (v > w[f]) { w[f] = v; c[f] = $2 } }
	END { if (w[0]) verdict("later packets of a socket", w[0], c[0])
	      if (w[1]) verdict("a socket'"'"'s first packet", w[1], c[1]) }' \
	"$out/host" >"$out/host_verdict"
echo "== Verdicts"
grep -h -e '^VERDICT' -e '^SPREAD' -e '^FLOOR' -e '^RUNTIME' -e '^FALLBACK' "$out/traffic" "$out/kernel" "$out/host_verdict"
echo
grep -v -e '^VERDICT' -e '^SPREAD' -e '^FLOOR' -e '^RUNTIME' "$out/traffic"
echo
grep -v -e '^VERDICT' -e '^FLOOR' -e '^FALLBACK' "$out/kernel"
echo
cat "$out/host"
[ "$rc_t" -eq 0 ] && [ "$rc_k" -eq 0 ] && [ "$rc_h" -eq 0 ]
