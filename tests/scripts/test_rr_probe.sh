#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_rr_probe.sh - rr_probe's reflector timestamps (RFC 5357 style):
# the server stamps its receive and send times into replies of >= 24
# bytes, and `client -r` writes round trips without that turnaround.
# A stand-in server (python) that holds each request 30 ms before its
# reply shows the turnaround taken out; the real server's stamps are
# sane; a short request (no room for stamps) counts in full.  Loopback
# of a private network namespace (root; no fixed-name resources other
# than the namespace tprrp-<pid>).
set -u
cd "$(dirname "$0")/../.."
RR=$PWD/build/scripts/rr_probe
PY=/usr/bin/python3
[ -x "$RR" ] || { echo "1..0 # SKIP $RR not built (make)"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (network namespace)"; exit 0; }
echo "1..4"
n=0 failed=0
ok()  { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do printf '# %s\n' "$l"; done; }
NS=tprrp-$$
TMP=$(mktemp -d /tmp/tcprio-rrp-test.XXXXXX)
SRV=""
cleanup() {
	[ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$NS" && ip -n "$NS" link set lo up || { echo "Bail out! cannot create netns $NS"; exit 1; }
in_ns() { ip netns exec "$NS" "$@"; }

# awk over "full net" pairs: prints "ok" when every line satisfies COND.
pairs() { paste "$TMP/full" "$TMP/net" | awk "$1"' { bad++ } END { print (NR > 0 && !bad) ? "ok" : "bad " NR " " bad+0 }'; }

# 1. A stand-in reflector that answers 30 ms late and stamps that delay.
cat >"$TMP/slow.py" <<'EOF'
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 47001))
s.settimeout(10)
for _ in range(5):
    buf, peer = s.recvfrom(2048)
    t2 = time.time_ns()
    time.sleep(0.03)
    t3 = time.time_ns()
    buf = buf[:8] + struct.pack(">QQ", t2, t3) + buf[24:]
    s.sendto(buf, peer)
EOF
in_ns "$PY" "$TMP/slow.py" &
SRV=$!
sleep 0.3
in_ns "$RR" client -a 127.0.0.1 -p 47001 -n 5 -i 50000 -o "$TMP/full" -r "$TMP/net" >/dev/null
wait "$SRV" 2>/dev/null
SRV=""
r=$(pairs '!($1 >= 30000 && $2 < 10000)')
if [ "$r" = ok ]; then
	ok "a 30 ms server turnaround is in -o, not in -r"
else
	nok "a 30 ms server turnaround is in -o, not in -r" "$r" "full/net: $(paste -d/ "$TMP/full" "$TMP/net" | tr '\n' ' ')"
fi

# 2. The real server: stamps present (net < full) and sane (net > 0).
in_ns "$RR" server -p 47002 -T 10 &
SRV=$!
sleep 0.3
in_ns "$RR" client -a 127.0.0.1 -p 47002 -n 50 -i 2000 -o "$TMP/full" -r "$TMP/net" >/dev/null
r=$(pairs '!($2 > 0 && $2 < $1)')
if [ "$r" = ok ]; then
	ok "rr_probe server stamps its turnaround: 0 < -r < -o for every reply"
else
	nok "rr_probe server stamps its turnaround: 0 < -r < -o for every reply" "$r"
fi

# 3. A 16-byte request has no room for the stamps: -r is the full round trip.
in_ns "$RR" client -a 127.0.0.1 -p 47002 -n 20 -i 2000 -s 16 -o "$TMP/full" -r "$TMP/net" >/dev/null
r=$(pairs '!($1 == $2)')
if [ "$r" = ok ]; then
	ok "a request shorter than 24 bytes counts in full in -r"
else
	nok "a request shorter than 24 bytes counts in full in -r" "$r"
fi

# 4. The summary line (whole round trips) is unchanged by -r.
line=$(in_ns "$RR" client -a 127.0.0.1 -p 47002 -n 20 -i 2000 -r "$TMP/net")
case "$line" in
"rr_probe sent=20 received=20 lost=0 p50_us="*) ok "summary line as before with -r" ;;
*) nok "summary line as before with -r" "got: $line" ;;
esac
[ "$failed" = 0 ]
