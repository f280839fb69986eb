#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_prometheus_rules.sh - the shipped Prometheus rules
# (deploy/prometheus/tcprio-rules.yml): `promtool check rules`, `promtool
# test rules` with the unit tests in tests/deploy/prometheus/ (each alert
# firing on its series and silent on the others, recording rules' values),
# and proof that those unit tests can fail: each mutation of a rule below
# (an alert that would fire too widely or too early) must make them fail.
# TAP; no root.  Skips only when promtool is not installed
# (scripts/install-deps.sh installs Debian's prometheus).
set -u
cd "$(dirname "$0")/../.."
RULES=deploy/prometheus/tcprio-rules.yml
UNIT=tests/deploy/prometheus/tcprio-rules.test.yml
command -v promtool >/dev/null || { echo "1..0 # SKIP promtool not installed (scripts/install-deps.sh: prometheus)"; exit 0; }
# name | sed expression applied to the rules
MUTATIONS=(
	'critical drops alert on every class|s/class=~"critical"/class=~".*"/'
	'hook alert without its 2 minutes|/alert: TcprioHookNotRunningOurProgram/,/for:/s/for: 2m/for: 0m/'
	'endpoint misses alert on the uplink hook too|s/tcprio_endpoint_misses_total{hook="pod_edge"}/tcprio_endpoint_misses_total/'
	'endpoints map alert at 70 %|s|tcprio_endpoints / tcprio_endpoints_capacity > 0.9|tcprio_endpoints / tcprio_endpoints_capacity > 0.7|'
	'not-ready alert after 1 minute|/alert: TcprioAgentNotReady/,/for:/s/for: 5m/for: 1m/'
	'per-class byte rate doubled|s/rate(tcprio_htb_class_sent_bytes_total\[1m\])/rate(tcprio_htb_class_sent_bytes_total[1m]) * 2/'
)
echo "1..$((2 + ${#MUTATIONS[@]}))"
n=0 failed=0
ok()  { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done; }
TMP=$(mktemp -d /tmp/tcprio-promrules.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

out=$(promtool check rules "$RULES" 2>&1)
if [ $? -eq 0 ] && grep -q 'SUCCESS: 13 rules found' <<<"$out"; then ok "promtool check rules: $RULES (13 rules)"
else nok "promtool check rules: $RULES (13 rules)" "$out"; fi

out=$(cd "$(dirname "$UNIT")" && promtool test rules "$(basename "$UNIT")" 2>&1)
if [ $? -eq 0 ]; then ok "promtool test rules: every alert fires and stays silent as specified, recording rules' values"
else nok "promtool test rules: every alert fires and stays silent as specified, recording rules' values" "$out"; fi

# The unit tests reference ../../../deploy/prometheus/tcprio-rules.yml:
# rebuild that layout under $TMP with a mutated copy.
for m in "${MUTATIONS[@]}"; do
	name=${m%%|*} expr=${m#*|}
	mkdir -p "$TMP/deploy/prometheus" "$TMP/tests/deploy/prometheus"
	sed "$expr" "$RULES" >"$TMP/$RULES"
	cp "$UNIT" "$TMP/$UNIT"
	if cmp -s "$RULES" "$TMP/$RULES"; then
		nok "mutation '$name' fails the unit tests" "the sed expression changed nothing: $expr"
		continue
	fi
	out=$(cd "$TMP/$(dirname "$UNIT")" && promtool test rules "$(basename "$UNIT")" 2>&1)
	if [ $? -ne 0 ] && grep -q FAILED <<<"$out"; then ok "mutation '$name' fails the unit tests"
	else nok "mutation '$name' fails the unit tests" "promtool test rules passed on: $expr"; fi
done
[ "$failed" -eq 0 ]
