#!/bin/bash
# test_cli.sh - `tcprio status|endpoint|detach` against a datapath loaded
# and attached by build/tests/node/node_load in a network namespace of this
# test's own (tptnode-cli-$$), pins in /sys/fs/bpf/tcprio-test-node-cli-$$;
# a second datapath (another agent) pinned in ...-$$-b shares the netns.
# Attach mode tc (clsact filters, the path of kernels without tcx): one
# filter handle per hook is what "replaces" below relies on; the tcx path
# is covered by tests/node/test_datapath.c and tests/e2e.
# Commands run with `nsenter --net` (not `ip netns exec`, which remounts /sys
# and would hide the bpffs pins).  TAP output; SKIP when not root; a
# missing build/tcprio or node_load is a failure.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TCPRIO=$PWD/$BUILD/tcprio
LOADER=$PWD/$BUILD/tests/node/node_load
NS=tptnode-cli-$$
PIN=/sys/fs/bpf/tcprio-test-node-cli-$$
PIN2=/sys/fs/bpf/tcprio-test-node-cli-$$-b   # a second agent's pin dir
PY=/usr/bin/python3
n=0 failed=0

ok()   { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# check NAME CMD...: ok if CMD succeeds
check() { local name=$1; shift; if "$@"; then ok "$name"; else fail "$name" "command: $*"; fi; }
inns() { nsenter --net=/run/netns/$NS "$@"; }
# run CMD...: sets $out (stdout+stderr) and $rc
run() { out=$("$@" 2>&1); rc=$?; }
# json EXPR: evaluate a python expression over the last `status --json` (j)
json() { printf '%s' "$js" | $PY -c "import json,sys; j=json.load(sys.stdin); sys.exit(0 if ($1) else 1)"; }

cleanup() {
	ip netns del "$NS" 2>/dev/null
	rm -rf "$PIN" "$PIN2" 2>/dev/null
}
trap cleanup EXIT INT TERM

if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root (BPF, netns)"; exit 0; fi
PLAN=58  # results below, declared up front: a run that stops early fails
echo "1..$PLAN"
# The binaries are this repository's own build output: missing is a failure.
for b in "$TCPRIO" "$LOADER"; do
	if [ ! -x "$b" ]; then fail "$b built" "make did not build it: run make first"; exit 1; fi
done

ip netns add "$NS" || { fail "create netns $NS"; exit 1; }
inns ip link add tptcp0 type veth peer name tptcp1 &&
inns ip link add tptcu0 type veth peer name tptcu1 &&
inns ip link set tptcp0 up && inns ip link set tptcu0 up &&
inns tc qdisc add dev tptcp0 clsact &&
inns tc filter add dev tptcp0 ingress prio 5 handle 5 bpf bytecode '1,6 0 0 4294967295,' classid 1:1 &&
inns tc qdisc add dev tptcu0 root handle 1: htb default 30
check "veths, a foreign filter and an HTB root in $NS" test $? -eq 0
run inns "$LOADER" "$PIN" -m tc -p tptcp0 -u tptcu0
check "node_load loads, pins and attaches" test $rc -eq 0

# --- status -----------------------------------------------------------------
run inns "$TCPRIO" status --pin-dir "$PIN"
check "status exits 0" test $rc -eq 0
if grep -qE 'tptcp0 .* pod_edge' <<<"$out" && grep -qE 'tptcu0 .* uplink' <<<"$out" &&
   grep -qE '^ *0 +critical +46 +1:10 ' <<<"$out"; then ok "status lists attached interfaces and classes"
else fail "status lists attached interfaces and classes" "$(head -20 <<<"$out")"; fi

js=$(inns "$TCPRIO" status --json --pin-dir "$PIN")
check "status --json: 4 classes, critical = DSCP 46 priority 1:10" \
	json '[c["name"] for c in j["classes"]] == ["critical","high","normal","bulk"] and j["classes"][0]["dscp"] == 46 and j["classes"][0]["priority"] == "1:10"'
check "status --json: tptcp0 pod_edge, tptcu0 uplink, nothing else" \
	json 'sorted((i["name"], tuple(i["hooks"])) for i in j["interfaces"]) == [("tptcp0",("pod_edge",)),("tptcu0",("uplink",))]'
check "status --json: config default normal, enabled" \
	json 'j["config"]["default_class"] == "normal" and j["config"]["enabled"] is True'
js=$(TCPRIO_PIN_DIR=$PIN inns "$TCPRIO" status --json)
check "TCPRIO_PIN_DIR selects the pin dir" json 'j["pin_dir"] == "'"$PIN"'"'

# --- endpoint add/del ----------------------------------------------------------
run inns "$TCPRIO" endpoint add 198.18.0.10 --class critical --ports "5432/tcp=bulk,53=high" --pin-dir "$PIN"
check "endpoint add IPv4 with ports" test $rc -eq 0
run inns "$TCPRIO" endpoint add 2001:db8::10 --class high --pin-dir "$PIN"
check "endpoint add IPv6" test $rc -eq 0
js=$(inns "$TCPRIO" status --json --pin-dir "$PIN")
check "status shows the IPv4 endpoint: class, source manual, pod name, 3 port rules" \
	json '[(e["class"], e["source"], e["pod"], sorted((p["port"], p["protocol"], p["class"]) for p in e["ports"])) for e in j["endpoints"] if e["ip"] == "198.18.0.10"] == [("critical","manual","manual/198.18.0.10",[(53,"tcp","high"),(53,"udp","high"),(5432,"tcp","bulk")])]'
check "status shows the IPv6 endpoint" \
	json '[(e["class"], e["source"], e["ports"]) for e in j["endpoints"] if e["ip"] == "2001:db8::10"] == [("high","manual",[])]'
run inns "$TCPRIO" status --pin-dir "$PIN"
check "human status lists the endpoint and its ports" grep -qE '198\.18\.0\.10 +manual/198\.18\.0\.10 +critical +manual +.*5432/tcp=bulk' <<<"$out"

run inns "$TCPRIO" endpoint add 198.18.0.10 --class normal --pin-dir "$PIN"
js=$(inns "$TCPRIO" status --json --pin-dir "$PIN")
check "endpoint add again replaces class and drops old port rules" \
	json '[(e["class"], e["ports"]) for e in j["endpoints"] if e["ip"] == "198.18.0.10"] == [("normal",[])]'

run inns "$TCPRIO" endpoint add 999.1.1.1 --class critical --pin-dir "$PIN"
if [ $rc -eq 2 ] && grep -q "bad IP address '999.1.1.1'" <<<"$out"; then ok "bad IP: exit 2, names the input"
else fail "bad IP: exit 2, names the input" "rc=$rc" "$out"; fi
run inns "$TCPRIO" endpoint add 198.18.0.11 --class gold --pin-dir "$PIN"
if [ $rc -eq 2 ] && grep -q "unknown class 'gold': expected one of: critical, high, normal, bulk" <<<"$out"; then
	ok "unknown class: exit 2, lists the classes"
else fail "unknown class: exit 2, lists the classes" "rc=$rc" "$out"; fi
run inns "$TCPRIO" endpoint add 198.18.0.11 --class high --ports "70000/tcp=bulk" --pin-dir "$PIN"
if [ $rc -eq 2 ] && grep -q "bad --ports '70000/tcp=bulk'" <<<"$out"; then ok "bad --ports: exit 2"
else fail "bad --ports: exit 2" "rc=$rc" "$out"; fi
run inns "$TCPRIO" endpoint add 198.18.0.11 --pin-dir "$PIN"
check "add without --class: exit 2" test $rc -eq 2

run inns "$TCPRIO" endpoint add 198.18.0.12 --class bulk --ports "9100=critical" --pin-dir "$PIN"
run inns "$TCPRIO" endpoint del 198.18.0.12 --pin-dir "$PIN"
check "endpoint del" test $rc -eq 0
js=$(inns "$TCPRIO" status --json --pin-dir "$PIN")
check "deleted endpoint gone from status" json 'not [e for e in j["endpoints"] if e["ip"] == "198.18.0.12"]'
run bpftool -j map dump pinned "$PIN/tcprio_port_rules"
check "its port rules are gone too" test "$out" = "[]"
run inns "$TCPRIO" endpoint del 198.18.0.99 --pin-dir "$PIN"
if [ $rc -eq 1 ] && grep -q "no endpoint 198.18.0.99" <<<"$out"; then ok "del of an unknown IP: exit 1"
else fail "del of an unknown IP: exit 1" "rc=$rc" "$out"; fi

# --- counters: per-CPU values written with bpftool are summed -------------------
# events key 7: hook 1 (uplink) * TCPRIO_EV_COUNT (6) + 1 (endpoint miss)
ncpu=$($PY -c "
s=open('/sys/devices/system/cpu/possible').read().strip(); t=0
for r in s.split(','):
    a,_,b=r.partition('-'); t+=int(b or a)-int(a)+1
print(t)")
# key: hook 1 (uplink) * 16 classes + class 1 (high) = 17 (TCPRIO_STATS_KEY).
# bpftool writes the same value on every CPU: 7 packets, 700 bytes
bpftool map update pinned "$PIN/tcprio_stats" key 17 0 0 0 value hex 07 00 00 00 00 00 00 00 bc 02 00 00 00 00 00 00 &&
bpftool map update pinned "$PIN/tcprio_events" key 7 0 0 0 value 3 0 0 0 0 0 0 0
check "write counters with bpftool" test $? -eq 0
js=$(inns "$TCPRIO" status --json --pin-dir "$PIN")
check "counters summed over $ncpu CPUs, per hook and class, no per-interface list" \
	json 'j["class_totals"] == [{"hook":"uplink","class":"high","packets":7*'"$ncpu"',"bytes":700*'"$ncpu"'}] and "counters" not in j'
check "events: uplink endpoint_miss summed" \
	json 'j["events"]["uplink"]["endpoint_miss"] == 3*'"$ncpu"' and j["events"]["pod_edge"]["unparsed"] == 0'

# --- usage errors ---------------------------------------------------------------
run "$TCPRIO" status --bogus
check "unknown option: exit 2" test $rc -eq 2
run "$TCPRIO" frob
if [ $rc -eq 2 ] && grep -q "unknown command 'frob'" <<<"$out"; then ok "unknown command: exit 2"
else fail "unknown command: exit 2" "rc=$rc" "$out"; fi
run "$TCPRIO" endpoint
check "endpoint without operation: exit 2" test $rc -eq 2

# --- a second pin dir (another agent) in the same netns --------------------------
inns ip link add tptcp2 type veth peer name tptcp3 &&
inns ip link add tptcu2 type veth peer name tptcu3 &&
inns ip link set tptcp2 up && inns ip link set tptcu2 up &&
inns tc qdisc add dev tptcu2 root handle 1: htb default 30
check "veths and an HTB root for the second datapath" test $? -eq 0
run inns "$LOADER" "$PIN2" -m tc -p tptcp2 -u tptcu2
check "node_load loads a second datapath at $PIN2" test $rc -eq 0
js=$(inns "$TCPRIO" status --json --pin-dir "$PIN")
check "status of the first: only its own interfaces attached" \
	json 'sorted((i["name"], tuple(i["hooks"])) for i in j["interfaces"]) == [("tptcp0",("pod_edge",)),("tptcu0",("uplink",))]'
check "status of the first: the second's filters listed as foreign with their prog id" \
	json 'sorted((f["name"], f["hook"], f["foreign"], f["prog_id"] > 0) for f in j["foreign_filters"]) == [("tptcp2","pod_edge",True,True),("tptcu2","uplink",True,True)]'
js2=$(inns "$TCPRIO" status --json --pin-dir "$PIN2")
js_b=$js2
js=$js2
check "status of the second: only its own interfaces attached, the first's foreign" \
	json 'sorted((i["name"], tuple(i["hooks"])) for i in j["interfaces"]) == [("tptcp2",("pod_edge",)),("tptcu2",("uplink",))] and sorted((f["name"], f["hook"]) for f in j["foreign_filters"]) == [("tptcp0","pod_edge"),("tptcu0","uplink")]'
b_edge_id=$(printf '%s' "$js_b" | $PY -c 'import json,sys; j=json.load(sys.stdin); print([f["prog_id"] for f in j["foreign_filters"] if f["name"] == "tptcp0"][0])' 2>/dev/null)
a_edge_id=$(bpftool -j prog show pinned "$PIN/prog_pod_edge" | $PY -c 'import json,sys; print(json.load(sys.stdin)["id"])')
check "the foreign prog id is the first's pinned program id ($b_edge_id = $a_edge_id)" \
	test -n "$a_edge_id" -a "$b_edge_id" = "$a_edge_id"
run inns "$TCPRIO" status --pin-dir "$PIN"
if grep -qE '^ +tptcp2 +ifindex [0-9]+ +pod_edge: tcprio tc program of another pin dir \(prog id [0-9]+\)' <<<"$out" &&
   ! grep -qE '^ +tptcp2 +[0-9]+ +pod_edge ' <<<"$out"; then
	ok "human status: the second's filter shown as another pin dir's, not attached"
else fail "human status: the second's filter shown as another pin dir's, not attached" "$(head -12 <<<"$out")"; fi

# --- detach ---------------------------------------------------------------------
out=$(inns "$TCPRIO" detach --pin-dir "$PIN" 2>/dev/null); rc=$?
check "detach exits 0" test $rc -eq 0
if [ "$(wc -l <<<"$out")" -eq 1 ] &&
   grep -q "^tcprio detached: removed 2 filter(s), the HTB tree on 1 uplink(s) and the pins at $PIN; 2 tcprio filter(s) of another pin dir left in place" <<<"$out"; then
	ok "detach says on one stdout line what it removed and what it left"
else fail "detach says on one stdout line what it removed and what it left" "$out"; fi
run inns tc filter show dev tptcp2 ingress
check "the second datapath's pod-edge filter survives" grep -q 'handle 0x7c1' <<<"$out"
run inns tc filter show dev tptcu2 egress
check "the second datapath's uplink filter survives" grep -q 'handle 0x7c1' <<<"$out"
run inns tc qdisc show dev tptcu2
check "the second datapath's HTB root survives" grep -q 'htb 1:' <<<"$out"
run inns tc filter show dev tptcp0 ingress
if ! grep -q 'handle 0x7c1' <<<"$out" && grep -q 'pref 5 bpf.*handle 0x5' <<<"$out"; then
	ok "our filter gone, the foreign filter kept"
else fail "our filter gone, the foreign filter kept" "$out"; fi
run inns tc filter show dev tptcu0 egress
check "uplink filter gone" test -z "$out"
run inns tc qdisc show dev tptcu0
check "HTB root on the uplink removed" bash -c "! grep -q 'htb 1:' <<<'$out'"
check "pin dir removed" test ! -e "$PIN"
run inns "$TCPRIO" status --pin-dir "$PIN"
if [ $rc -eq 1 ] && grep -q "no tcprio datapath pinned at $PIN: is the agent running?" <<<"$out"; then
	ok "status with nothing pinned: exit 1 and says so"
else fail "status with nothing pinned: exit 1 and says so" "rc=$rc" "$out"; fi
run inns "$TCPRIO" detach --pin-dir "$PIN"
if [ $rc -eq 0 ] && [ "$out" = "nothing pinned at $PIN, so nothing of it is attached; 2 tcprio filter(s) of another pin dir left in place (\`tcprio detach --all\` removes them)" ]; then
	ok "detach again: exit 0, one line, suggests --all"
else fail "detach again: exit 0, one line, suggests --all" "rc=$rc" "$out"; fi
js=$(inns "$TCPRIO" status --json --pin-dir "$PIN2")
check "the second still sees both its filters attached" \
	json 'sorted((i["name"], tuple(i["hooks"])) for i in j["interfaces"]) == [("tptcp2",("pod_edge",)),("tptcu2",("uplink",))] and j["foreign_filters"] == []'

# --- the first replaces the second's uplink filter on one interface ----------------
run inns "$LOADER" "$PIN" -m tc -u tptcu2
check "node_load: the first datapath again, replacing the uplink filter on tptcu2" test $rc -eq 0
js=$(inns "$TCPRIO" status --json --pin-dir "$PIN2")
check "status of the second: tptcu2 uplink now foreign, tptcp2 still its own" \
	json '[(i["name"], i["hooks"]) for i in j["interfaces"]] == [("tptcp2",["pod_edge"])] and [(f["name"], f["hook"]) for f in j["foreign_filters"]] == [("tptcu2","uplink")]'
run inns "$TCPRIO" detach --pin-dir "$PIN2"
if [ $rc -eq 0 ] && grep -q "^tcprio detached: removed 1 filter(s) and the pins at $PIN2; 1 tcprio filter(s) of another pin dir left" <<<"$out"; then
	ok "detach of the second removes only its pod-edge filter"
else fail "detach of the second removes only its pod-edge filter" "rc=$rc" "$out"; fi
run inns tc filter show dev tptcu2 egress
check "the first's uplink filter on tptcu2 survives" grep -q 'handle 0x7c1' <<<"$out"
run inns tc qdisc show dev tptcu2
check "the HTB root on tptcu2 stays (no uplink filter of the second was removed)" grep -q 'htb 1:' <<<"$out"

# --- pins lost: --all ----------------------------------------------------------------
rm -rf "$PIN"
run inns "$TCPRIO" status --pin-dir "$PIN"
if [ $rc -eq 1 ] && grep -q "programs without pins still run on: .*tptcu2 uplink (program id [0-9]*)" <<<"$out" &&
   grep -q 'tcprio detach --all' <<<"$out"; then
	ok "pins gone: status names the filters still running and suggests --all"
else fail "pins gone: status names the filters still running and suggests --all" "rc=$rc" "$out"; fi
run inns "$TCPRIO" detach --pin-dir "$PIN"
if [ $rc -eq 0 ] && grep -q 'tcprio detach --all' <<<"$out" && inns tc filter show dev tptcu2 egress | grep -q 'handle 0x7c1'; then
	ok "pins gone: detach leaves the filter and suggests --all"
else fail "pins gone: detach leaves the filter and suggests --all" "rc=$rc" "$out"; fi
run inns "$TCPRIO" detach --all --pin-dir "$PIN"
if [ $rc -eq 0 ] && grep -q '^tcprio detached: removed 1 filter(s), the HTB tree on 1 uplink(s)$' <<<"$out"; then
	ok "detach --all removes the orphaned filter and its HTB tree"
else fail "detach --all removes the orphaned filter and its HTB tree" "rc=$rc" "$out"; fi
left=$(for d in tptcp0 tptcu0 tptcp2 tptcu2; do inns tc filter show dev $d ingress; inns tc filter show dev $d egress; done | grep -c 'handle 0x7c1')
run inns tc qdisc show
if [ "$left" -eq 0 ] && ! grep -q 'htb 1:' <<<"$out"; then ok "no tcprio filter and no HTB root left in the netns"
else fail "no tcprio filter and no HTB root left in the netns" "filters left: $left" "$out"; fi
run inns tc filter show dev tptcp0 ingress
check "the foreign classic-BPF filter survives --all" grep -q 'pref 5 bpf.*handle 0x5' <<<"$out"
run "$TCPRIO" detach --help
check "detach --help mentions --all and the clsact qdisc left in place" \
	bash -c "grep -q -- '--all' <<<\"\$1\" && grep -q 'clsact qdisc stays' <<<\"\$1\"" _ "$out"

[ "$n" -eq "$PLAN" ] || { echo "# planned $PLAN results, printed $n"; exit 1; }
[ "$failed" -eq 0 ]
