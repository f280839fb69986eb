# shellcheck shell=bash
# shaping.sh - the uplink's HTB tree without tcprio, for the baseline and
# for the by-hand experiments.
#
# shaping_plain NS DEV RATE     root htb, one class 1:1 at RATE, default 1:1:
#                               what a shaped node has without tcprio
# shaping_tree NS DEV RATE      root htb 1: default 1:30, 1:1 at RATE and
#                               leaves 1:10 (prio 0), 1:20 (1), 1:30 (2),
#                               1:40 (3), each ceil RATE: the tree tcprio uses
# shaping_by_src NS DEV IP FLOWID  u32 filter: source IP -> HTB class (by hand,
#                               no tcprio: the experiment's stand-in for it)
# shaping_clear NS DEV          delete the root qdisc
_rate_bits() { # "50mbit" -> 50000000
	local r=${1,,}
	case "$r" in
	*gbit) echo $(( ${r%gbit} * 1000000000 )) ;;
	*mbit) echo $(( ${r%mbit} * 1000000 )) ;;
	*kbit) echo $(( ${r%kbit} * 1000 )) ;;
	*bit) echo "${r%bit}" ;;
	*) echo "$r" ;;
	esac
}

shaping_plain() {
	local ns=$1 dev=$2 rate=$3
	ip netns exec "$ns" tc qdisc replace dev "$dev" root handle 1: htb default 1 || return 1
	ip netns exec "$ns" tc class add dev "$dev" parent 1: classid 1:1 htb rate "$rate" ceil "$rate"
}

shaping_tree() {
	local ns=$1 dev=$2 rate=$3 bits
	bits=$(_rate_bits "$rate")
	ip netns exec "$ns" tc qdisc replace dev "$dev" root handle 1: htb default 30 || return 1
	ip netns exec "$ns" tc class add dev "$dev" parent 1: classid 1:1 htb rate "$rate" ceil "$rate"
	ip netns exec "$ns" tc class add dev "$dev" parent 1:1 classid 1:10 htb \
		rate $((bits / 5))bit ceil "$rate" prio 0
	ip netns exec "$ns" tc class add dev "$dev" parent 1:1 classid 1:20 htb \
		rate $((bits / 5))bit ceil "$rate" prio 1
	ip netns exec "$ns" tc class add dev "$dev" parent 1:1 classid 1:30 htb \
		rate $((bits * 2 / 5))bit ceil "$rate" prio 2
	ip netns exec "$ns" tc class add dev "$dev" parent 1:1 classid 1:40 htb \
		rate $((bits / 5))bit ceil "$rate" prio 3
}

shaping_by_src() {
	local ns=$1 dev=$2 ip=$3 flowid=$4 proto=ip match=ip
	case "$ip" in *:*) proto=ipv6; match=ip6; ip=$ip/128 ;; *) ip=$ip/32 ;; esac
	ip netns exec "$ns" tc filter add dev "$dev" parent 1: protocol "$proto" prio 1 \
		u32 match "$match" src "$ip" flowid "$flowid"
}

shaping_clear() {
	ip netns exec "$1" tc qdisc del dev "$2" root 2>/dev/null
	return 0
}
