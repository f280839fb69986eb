# shellcheck shell=bash
# shaping.sh - the uplink's shaping without tcprio (the baseline).
#
# shaping_plain NS DEV RATE     root htb, one class 1:1 at RATE, default 1:1,
#                               the kernel's default leaf qdisc (pfifo,
#                               txqueuelen packets): a shaped node without tcprio
# shaping_clear NS DEV          delete the root qdisc
shaping_plain() {
	local ns=$1 dev=$2 rate=$3
	ip netns exec "$ns" tc qdisc replace dev "$dev" root handle 1: htb default 1 || return 1
	# quantum set explicitly (any value >= MTU: one class, no sharing) so
	# that HTB does not warn about the r2q-derived one.
	ip netns exec "$ns" tc class add dev "$dev" parent 1: classid 1:1 htb \
		rate "$rate" ceil "$rate" quantum 60000
}

shaping_clear() {
	ip netns exec "$1" tc qdisc del dev "$2" root 2>/dev/null
	return 0
}
