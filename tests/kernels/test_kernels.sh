#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tcprio-test-timeout: 2400
# test_kernels.sh - the kernel matrix: boot each kernel of TCPRIO_KERNELS
# (Debian suites; default: bullseye bookworm trixie = Linux 5.10, 6.1,
# 6.12) under qemu and run, inside each guest, the datapath packet suites,
# the node suites (the project's loader, attach, link watch, HTB tree, CLI)
# and the agent with real traffic judged by the DSCP on the wire and the
# HTB class counters (tests/kernels/guest-suites.sh).  One TAP line per
# kernel, with the guest's counts, the attach mode its kernel supports and
# the verifier's instruction counts; a kernel that cannot boot or whose
# guest does not finish is a failure with the console's last lines.
#
# Kernels are downloaded once from Debian's archive with a private apt
# configuration (scripts/kernels/fetch-kernel.sh) into TCPRIO_KERNEL_CACHE
# (default /var/cache/tcprio-kernels).  Each guest is bounded by
# TCPRIO_GUEST_TIMEOUT seconds (default 720) and powers itself off.
# Needs root, qemu-system-x86_64 and busybox-static (install-deps.sh).
# It runs when TCPRIO_KERNEL_MATRIX=1, which `make test` and `make
# test-kernels` set (so CI runs it); a bare ./tests/run_tests.sh, a
# developer's quick full run, skips it and says so.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
KERNELS=${TCPRIO_KERNELS:-bullseye bookworm trixie}
CACHE=${TCPRIO_KERNEL_CACHE:-/var/cache/tcprio-kernels}
LIMIT=${TCPRIO_GUEST_TIMEOUT:-720}
if [ "${TCPRIO_KERNEL_MATRIX:-}" != 1 ] || [ -n "${TCPRIO_SKIP_KERNELS:-}" ]; then
	echo "1..0 # SKIP kernel matrix: runs under make test / make test-kernels (TCPRIO_KERNEL_MATRIX=1)"
	exit 0
fi
read -r -a suites <<<"$KERNELS"
n=0
echo "1..${#suites[@]}"
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done; }

if [ "$(id -u)" != 0 ]; then
	for s in "${suites[@]}"; do ok "$s # SKIP needs root (qemu's 9p export of / and BPF in the guest)"; done
	exit 0
fi
for b in build/tcprio build/tests/kernels/verifier_stats build/tests/datapath/test_packets build/tests/node/node_load; do
	[ -x "$b" ] || { for s in "${suites[@]}"; do nok "$s" "$b not built: run make first"; done; exit 1; }
done
for c in qemu-system-x86_64 busybox apt-get dpkg-deb depmod; do
	command -v "$c" >/dev/null || { for s in "${suites[@]}"; do nok "$s" "$c not installed: run scripts/install-deps.sh"; done; exit 1; }
done

log_dir=$(mktemp -d /tmp/tcprio-kernels.XXXXXX)
trap 'rm -rf "$log_dir"' EXIT
for suite in "${suites[@]}"; do
	started=$SECONDS
	if ! kroot=$(./scripts/kernels/fetch-kernel.sh "$suite" "$CACHE" 2>"$log_dir/fetch.err"); then
		nok "$suite: kernel package fetched" "$(cat "$log_dir/fetch.err")"
		continue
	fi
	kver=$(ls "$kroot/lib/modules/")
	con=$log_dir/$suite.console
	./scripts/kernels/boot-guest.sh "$kroot" "$ROOT" "$LIMIT" "$con" -- \
		./tests/kernels/guest-suites.sh >/dev/null 2>"$log_dir/boot.err"
	rc=$?
	secs=$((SECONDS - started))
	# The guest's per-group totals ("GUEST-RESULT group N passed, N failed").
	passed=0 failed=0 groups=0
	while read -r _ _ p _ f _; do
		passed=$((passed + p)) failed=$((failed + f)) groups=$((groups + 1))
	done < <(grep -a '^GUEST-RESULT ' "$con" 2>/dev/null)
	verifier=$(grep -a '^GUEST-VERIFIER ' "$con" 2>/dev/null |
		sed -nE 's/^GUEST-VERIFIER (tcprio_[a-z_]+): loaded; processed ([0-9]+) insns.*/\1 \2/p' |
		awk '{printf "%s%s %s", sep, $1, $2; sep=", "}')
	mode=$(grep -aoE '^GUEST-VERIFIER tcx: [a-z]+' "$con" 2>/dev/null | awk '{print $3}' | tail -n1)
	case "$mode" in yes) mode=tcx ;; no) mode="legacy tc" ;; esac
	summary="Linux $kver ($suite): $passed passed, $failed failed in $groups groups; attach ${mode:-?}; verifier insns: ${verifier:-none}; $secs s"
	if [ "$rc" = 0 ] && [ "$groups" = 3 ] && [ "$failed" = 0 ] && [ "$passed" -gt 0 ]; then
		ok "$summary"
	else
		why="boot-guest exit $rc: $(cat "$log_dir/boot.err")"
		nok "$summary" "$why" "failures:" "$(grep -a '^not ok' "$con" | head -n 20)" \
			"console, last lines:" "$(tail -n 25 "$con" | tr -d '\r')"
	fi
done
