# shellcheck shell=bash
# dscp_watch.sh - count the packets that arrive at a namespace per DSCP, to
# see which code point the uplink really sent (for VXLAN the outer header:
# prerouting sees the packet before the VXLAN socket decapsulates it).
# nftables named counters in a table of our own (this kernel has no tc
# gact action to count with u32).
#
# dscp_watch_install NS DEV DSCP...   counters for packets arriving on DEV
# dscp_watch_count NS FAM DSCP        print the packets counted so far
DSCP_WATCH_TABLE=tcprio_dscp_watch

dscp_watch_install() {
	local ns=$1 dev=$2 d rules=""
	shift 2
	for d in "$@"; do
		rules="$rules
	counter v4_$d {}
	counter v6_$d {}"
	done
	rules="$rules
	chain pre {
		type filter hook prerouting priority -300; policy accept;"
	for d in "$@"; do
		rules="$rules
		iifname \"$dev\" ip dscp $d counter name v4_$d
		iifname \"$dev\" ip6 dscp $d counter name v6_$d"
	done
	ip netns exec "$ns" nft -f - <<-NFT
	table inet $DSCP_WATCH_TABLE {$rules
		}
	}
	NFT
}

dscp_watch_count() {
	local ns=$1 fam=$2 d=$3
	ip netns exec "$ns" nft list counter inet "$DSCP_WATCH_TABLE" "v${fam}_$d" 2>/dev/null |
		awk '{ for (i = 1; i < NF; i++) if ($i == "packets") { print $(i + 1); exit } }' |
		{ read -r n; echo "${n:-0}"; }
}
