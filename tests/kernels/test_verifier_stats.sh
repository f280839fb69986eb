#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_verifier_stats.sh - the kernel matrix's verifier_stats tool loads the
# tcprio object without pinning anything and without reusing a pin: its
# maps are LIBBPF_PIN_BY_NAME, and opened without a pin folder libbpf would
# pin each at /sys/fs/bpf/<name> on the machine that runs it, and fail the
# next load when an older layout is pinned there.  Runs in a mount
# namespace of its own on a fresh bpffs mounted at /sys/fs/bpf, so the
# machine's /sys/fs/bpf is never written (checked too).  Needs root.
set -u
cd "$(dirname "$0")/../.."
TOOL=${BUILD:-build}/tests/kernels/verifier_stats
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root (BPF load, mount namespace)"
	exit 0
fi
if ! command -v bpftool >/dev/null || ! command -v unshare >/dev/null; then
	echo "1..0 # SKIP needs bpftool and unshare"
	exit 0
fi
echo "1..4"
n=0
tmp=$(mktemp -d /tmp/tcprio-vstats-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# result NAME OK [DIAGNOSTIC]
result() {
	n=$((n + 1))
	if [ "$2" = 1 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "# $3"; fi
}
ls /sys/fs/bpf | grep '^tcprio_' | sort >"$tmp/host-before"
# In a private mount namespace on a fresh bpffs (which holds only the
# kernel's maps.debug/progs.debug): run the tool, list its tcprio_* entries; then pin a map with the name of one of the object's maps
# but another layout (a stale pin from an older build) and run it again.
unshare -m --propagation private bash -c '
	mount -t bpf tcprio-vstats /sys/fs/bpf || exit 3
	"$1" >"$2/run1.out" 2>&1; echo $? >"$2/run1.rc"
	ls /sys/fs/bpf | grep "^tcprio_" >"$2/after1"
	rm -f /sys/fs/bpf/tcprio_*  # what an old tool left, so the next pin is the stale one
	bpftool map create /sys/fs/bpf/tcprio_endpoints type hash key 1 value 1 \
		entries 1 name tcprio_endpoints || exit 4
	"$1" >"$2/run2.out" 2>&1; echo $? >"$2/run2.rc"
' _ "$TOOL" "$tmp"
rc=$?
[ "$rc" -eq 0 ] || echo "# namespace set-up failed (exit $rc)"
result "loads every program on an empty bpffs" \
	"$([ "$(cat "$tmp/run1.rc" 2>/dev/null)" = 0 ] && echo 1)" \
	"exit $(cat "$tmp/run1.rc" 2>/dev/null), output: $(cat "$tmp/run1.out" 2>/dev/null)"
result "pins no tcprio_* map in /sys/fs/bpf" \
	"$([ -f "$tmp/after1" ] && [ ! -s "$tmp/after1" ] && echo 1)" \
	"left: $(tr '\n' ' ' <"$tmp/after1" 2>/dev/null)"
result "a stale pin of another layout at /sys/fs/bpf/tcprio_endpoints does not fail the load" \
	"$([ "$(cat "$tmp/run2.rc" 2>/dev/null)" = 0 ] && echo 1)" \
	"exit $(cat "$tmp/run2.rc" 2>/dev/null), output: $(cat "$tmp/run2.out" 2>/dev/null)"
ls /sys/fs/bpf | grep '^tcprio_' | sort >"$tmp/host-after"
result "the machine's /sys/fs/bpf got no tcprio_* entry" \
	"$(cmp -s "$tmp/host-before" "$tmp/host-after" && echo 1)" \
	"new: $(comm -13 "$tmp/host-before" "$tmp/host-after" | tr '\n' ' ')"
