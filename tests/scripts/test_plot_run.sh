#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_plot_run.sh - scripts/plot_run.py turns the files scripts/lib/
# measure.sh leaves (events, rr_probe samples, tc_sampler lines,
# status.json) into PNG and SVG pictures; a folder without a measurement
# is an error.  Synthetic input with known shape; no root.  Skips only
# when python3-matplotlib is not installed.
set -u
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
$PY -c 'import matplotlib' 2>/dev/null || { echo "1..0 # SKIP python3-matplotlib not installed (scripts/install-deps.sh)"; exit 0; }
echo "1..5"
n=0 failed=0
ok()  { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do printf '# %s\n' "$l"; done; }
TMP=$(mktemp -d /tmp/tcprio-plot-test.XXXXXX)
trap '[ -n "${KEEP_PLOT_TEST:-}" ] || rm -rf "$TMP"' EXIT
d=$TMP/ipv4
mkdir -p "$d"
# Two rounds per label: 100 probes every 2 ms unloaded (0.2 ms), then load,
# then 100 probes (off: 30 ms, on: 0.3 ms); the tc sampler sees class 1:10
# at 1 Mbit/s and 1:40 at 40 Mbit/s.
for label in off on; do
	t=1000
	for r in 1 2; do
		{ echo "$t probe_unl $r"; echo "$((t + 1)) bulk_start $r"; echo "$((t + 3)) probe_ld $r"
		  echo "$((t + 4)) bulk_end $r"; } >>"$d/$label.events"
		for i in $(seq 100); do echo 200.0; done >"$d/$label.unl.$r.rr"
		for i in $(seq 100); do [ "$label" = off ] && echo 30000.0 || echo 300.0; done >"$d/$label.ld.$r.rr"
		echo lost >>"$d/$label.ld.$r.rr"
		t=$((t + 5))
	done
	for i in $(seq 0 50); do
		ts=$(awk -v i="$i" 'BEGIN { printf "%.3f", 1000 + i * 0.2 }')
		echo "$ts 1:10 $((i * 25000)) $((i * 20)) 0 0 0"
		echo "$ts 1:40 $((i * 1000000)) $((i * 700)) $i $i 3"
	done >"$d/$label.tc"
done
echo '{"classes": [{"name": "critical", "priority": "1:10"}, {"name": "bulk", "priority": "1:40"}]}' >"$d/status.json"

out=$($PY scripts/plot_run.py "$d" "$TMP/out/demo-ipv4" "test" 2>&1)
if [ $? -eq 0 ]; then ok "plot_run.py exits 0 on a measurement folder"; else nok "plot_run.py exits 0 on a measurement folder" "$out"; fi
good=1
for w in rtt throughput; do
	[ "$(head -c 8 "$TMP/out/demo-ipv4-$w.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || good=0
done
[ "$good" = 1 ] && ok "rtt and throughput PNGs written (PNG signature)" || nok "rtt and throughput PNGs written (PNG signature)" "$(ls -l "$TMP/out" 2>&1)"
good=1
for w in rtt throughput; do grep -q '<svg' "$TMP/out/demo-ipv4-$w.svg" 2>/dev/null || good=0; done
[ "$good" = 1 ] && ok "rtt and throughput SVGs written" || nok "rtt and throughput SVGs written"
if grep -q '1:10 critical' "$TMP/out/demo-ipv4-throughput.svg" && grep -q 'under load' "$TMP/out/demo-ipv4-rtt.svg"; then
	ok "the legends name the class from status.json and the loaded CDF"
else nok "the legends name the class from status.json and the loaded CDF"; fi
mkdir -p "$TMP/empty"
out=$($PY scripts/plot_run.py "$TMP/empty" "$TMP/out/x" 2>&1)
if [ $? -eq 1 ] && grep -q 'holds no measurement' <<<"$out"; then ok "a folder without a measurement: exit 1, says so"
else nok "a folder without a measurement: exit 1, says so" "$out"; fi
[ "$failed" -eq 0 ]
