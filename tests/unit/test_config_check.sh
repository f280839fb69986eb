#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_config_check.sh - `tcprio config check FILE [--uplink-rate RATE]`
# applies the agent's checks: two classes with one DSCP (trustDscp), a NUL
# in a string, and with --uplink-rate a class rate or ceiling above the
# uplink rate (the HTB tree clamped it without a word), rates adding up to
# more, priorities that do not name HTB leaves; a warning for trustDscpFrom
# with trustDscp false, a site wanRate below 8kbit refused.  No root needed.
set -u
cd "$(dirname "$0")/../.."
TCPRIO=${BUILD:-build}/tcprio
PLAN=14
echo "1..$PLAN"
n=0
tmp=$(mktemp -d /tmp/tcprio-cfgcheck-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# check NAME WANT_RC NEEDLE FILE [ARGS...]: exit status and a text in the output
check() {
	local name=$1 want=$2 needle=$3 out rc
	shift 3
	n=$((n + 1))
	out=$("$TCPRIO" config check "$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ] && [[ "$out" == *"$needle"* ]]; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		echo "# exit $rc (want $want), output: $out"
	fi
}
cat >"$tmp/ok.yaml" <<'Y'
classes:
  - {name: critical, dscp: EF, priority: "1:10", rate: 20mbit, ceil: 50mbit}
  - {name: normal, dscp: 0, priority: "1:30", rate: 10mbit}
  - {name: bulk, dscp: LE, priority: "1:40"}
defaultClass: normal
Y
printf 'classes:\n  - {name: a, dscp: EF, priority: "1:10"}\n  - {name: b, dscp: 46, priority: "1:20"}\ndefaultClass: a\n' >"$tmp/dup.yaml"
printf 'classes:\n  - {name: a, dscp: EF, priority: "1:10"}\n  - {name: b, dscp: 46, priority: "1:20"}\ndefaultClass: a\ntrustDscp: false\n' >"$tmp/dup-notrust.yaml"
printf 'classes:\n  - {name: "normal\\0-evil", priority: "1:10"}\ndefaultClass: normal\n' >"$tmp/nul.yaml"
printf 'classes:\n  - {name: a, dscp: EF, priority: "2:10"}\ndefaultClass: a\n' >"$tmp/prio.yaml"
printf 'classes:\n  - {name: a, dscp: EF, priority: "1:10", rate: 20mbit}\n  - {name: b, dscp: 0, priority: "1:20", rate: 10mbit}\ndefaultClass: a\n' >"$tmp/sum.yaml"

check "valid table" 0 "valid: 3 classes, default normal" "$tmp/ok.yaml"
check "valid for a 100mbit uplink" 0 "fits an uplink of 100000000 bit/s" "$tmp/ok.yaml" --uplink-rate 100mbit
check "--uplink-rate: a class rate above it is named" 1 \
	"classes[0] (critical): rate 20000000 bit/s is above the uplink rate 15000000 bit/s" \
	"$tmp/ok.yaml" --uplink-rate 15mbit
check "--uplink-rate: a ceiling above it is named" 1 \
	"classes[0] (critical): ceiling 50000000 bit/s is above the uplink rate 40000000 bit/s" \
	--uplink-rate 40mbit "$tmp/ok.yaml"
check "--uplink-rate: rates adding up to more" 1 "the class rates add up to 30000000 bit/s" \
	"$tmp/sum.yaml" --uplink-rate 25mbit
check "--uplink-rate: a priority that is no HTB leaf" 1 "do not fit the uplink's HTB tree" \
	"$tmp/prio.yaml" --uplink-rate 10mbit
check "--uplink-rate: a bad rate is a usage error" 2 "expected a rate such as 50mbit" \
	"$tmp/ok.yaml" --uplink-rate fast
check "two classes with one DSCP rejected" 1 "classes[1].dscp: DSCP 46 is already class a's" "$tmp/dup.yaml"
check "one DSCP twice without trustDscp is fine" 0 "valid: 2 classes" "$tmp/dup-notrust.yaml"
check "a NUL in a string rejected" 1 "contains a NUL character" "$tmp/nul.yaml"
# trustDscpFrom with trustDscp: false does nothing: valid, with a warning
# naming both keys (README: "trustDscp: false and trustDscpFrom").
printf 'classes:\n  - {name: a, dscp: EF, priority: "1:10"}\ndefaultClass: a\ntrustDscp: false\ntrustDscpFrom: [eth1, 198.18.7.0/24]\n' >"$tmp/trustfrom-off.yaml"
check "trustDscpFrom with trustDscp false: warned, naming both" 0 \
	"warning: trustDscpFrom (2 entries) is ignored: trustDscp is false" "$tmp/trustfrom-off.yaml"
printf 'classes:\n  - {name: a, dscp: EF, priority: "1:10"}\ndefaultClass: a\ntrustDscpFrom: [eth1]\n' >"$tmp/trustfrom-on.yaml"
n=$((n + 1))
if out=$("$TCPRIO" config check "$tmp/trustfrom-on.yaml" 2>&1) && [[ "$out" != *warning* ]]; then
	echo "ok $n - trustDscpFrom with trustDscp on (the default): no warning"
else
	echo "not ok $n - trustDscpFrom with trustDscp on (the default): no warning"
	echo "# output: $out"
fi
# a wanRate below the per-node floor (8 kbit/s) is refused, naming it
printf 'classes:\n  - {name: a, dscp: EF, priority: "1:10"}\ndefaultClass: a\nsites:\n  - {name: kiosk, wanRate: 1bit}\n' >"$tmp/wan-1bit.yaml"
check "a site wanRate below 8kbit refused, naming it and the minimum" 1 \
	"sites[0].wanRate: 1 bit/s is below the minimum 8000 bit/s (8kbit)" "$tmp/wan-1bit.yaml"
printf 'classes:\n  - {name: a, dscp: EF, priority: "1:10"}\ndefaultClass: a\nsites:\n  - {name: kiosk, wanRate: 8kbit}\n' >"$tmp/wan-8kbit.yaml"
check "a site wanRate of 8kbit (the minimum) is valid" 0 "valid: 1 class" "$tmp/wan-8kbit.yaml"
[ "$n" -eq "$PLAN" ] || { echo "# planned $PLAN results, printed $n"; exit 1; }
