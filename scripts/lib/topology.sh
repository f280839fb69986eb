# shellcheck shell=bash
# topology.sh - build and tear down a Kubernetes-like node in network
# namespaces, for the tcprio demo, benchmark and end-to-end test.
#
#   <P>critical, <P>normal, <P>bulk   pods: eth0 with a /32 (IPv4) and /128
#        (IPv6) address, default route via the node, as Calico does it.
#   <P>node     the node: one host-side veth per pod (veth<pod>), routes to
#        each pod IP, forwarding on, and the uplink "up0".
#   <P>remote   the far side of the uplink (eth0), running the servers.
#
# Addresses (RFC 2544 benchmarking range 198.18.0.0/15, RFC 3849 2001:db8::/32):
#   pods      198.18.1.10 / .20 / .30        2001:db8:1::10 / ::20 / ::30
#   host side 198.18.1.1 on every veth<pod>  fe80::1 on every veth<pod>
#   uplink    node 198.18.0.1/30, remote 198.18.0.2/30
#             node 2001:db8:ff::1/64, remote 2001:db8:ff::2/64
#   overlay   (vxlan) node 198.18.2.1/24 2001:db8:2::1/64,
#             remote 198.18.2.2/24 2001:db8:2::2/64, VNI 42, UDP 4789,
#             outer IPv4 over up0, "tos inherit" (inner DSCP -> outer)
#
# Modes (TOPO_MODE): plain  pods reach the remote's uplink address, routed;
#                    vxlan  pods reach the remote's overlay address through
#                           vxlan0 (the uplink sees the outer packets);
#                    snat   like plain, but the node masquerades pod traffic
#                           leaving up0 (nftables), so the uplink sees the
#                           node's address as source.
#
# topo_create PREFIX MODE   build it; sets TOPO_* variables (below)
# topo_destroy              delete every namespace topo_create made
# topo_ns POD|node|remote   print the namespace name
# topo_pod_ip POD FAMILY    print a pod address (FAMILY 4 or 6)
# topo_target_ip FAMILY     the address pods send to (remote or overlay)
TOPO_PODS="critical normal bulk"
TOPO_UPLINK=up0
TOPO_PREFIX=""
TOPO_MODE=plain
TOPO_CREATED=""

declare -gA TOPO_POD_HOST=([critical]=10 [normal]=20 [bulk]=30)

topo_ns() { echo "${TOPO_PREFIX}$1"; }

topo_pod_ip() {
	local h=${TOPO_POD_HOST[$1]}
	if [ "$2" = 6 ]; then echo "2001:db8:1::$h"; else echo "198.18.1.$h"; fi
}

# Host-side interface of a pod in the node namespace (<= 15 bytes).
topo_hostif() { echo "veth${1:0:4}"; }

topo_target_ip() {
	case "$TOPO_MODE:$1" in
	vxlan:6) echo 2001:db8:2::2 ;;
	vxlan:*) echo 198.18.2.2 ;;
	*:6) echo 2001:db8:ff::2 ;;
	*) echo 198.18.0.2 ;;
	esac
}

# Run a command in a namespace of the topology: topo_exec POD|node|remote CMD...
topo_exec() {
	local ns
	ns=$(topo_ns "$1")
	shift
	ip netns exec "$ns" "$@"
}

_topo_ns_add() {
	local ns=$1
	ip netns add "$ns" || return 1
	TOPO_CREATED="$TOPO_CREATED $ns"
	ip -n "$ns" link set lo up
}

_topo_pod() {
	local pod=$1 node remote ns hif ip4 ip6 mtu=$2
	node=$(topo_ns node)
	ns=$(topo_ns "$pod")
	hif=$(topo_hostif "$pod")
	ip4=$(topo_pod_ip "$pod" 4)
	ip6=$(topo_pod_ip "$pod" 6)
	_topo_ns_add "$ns" || return 1
	ip -n "$node" link add "$hif" type veth peer name eth0 netns "$ns" || return 1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.eth0.accept_dad=0
	ip -n "$ns" link set eth0 mtu "$mtu" up
	ip -n "$ns" addr add "$ip4/32" dev eth0
	ip -n "$ns" addr add "$ip6/128" dev eth0 nodad
	ip -n "$ns" route add 198.18.1.1 dev eth0 scope link
	ip -n "$ns" route add default via 198.18.1.1 dev eth0
	ip -n "$ns" -6 route add default via fe80::1 dev eth0
	ip -n "$node" link set "$hif" mtu "$mtu" up
	ip -n "$node" addr add 198.18.1.1/32 dev "$hif"
	ip -n "$node" addr add fe80::1/64 dev "$hif" nodad
	ip -n "$node" route add "$ip4/32" dev "$hif"
	ip -n "$node" -6 route add "$ip6/128" dev "$hif"
}

topo_create() {
	local node remote pod mtu=1500
	TOPO_PREFIX=$1
	TOPO_MODE=${2:-plain}
	node=$(topo_ns node)
	remote=$(topo_ns remote)
	_topo_ns_add "$node" || return 1
	_topo_ns_add "$remote" || return 1
	ip netns exec "$node" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip netns exec "$remote" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip -n "$node" link add "$TOPO_UPLINK" type veth peer name eth0 netns "$remote" || return 1
	ip -n "$node" link set "$TOPO_UPLINK" up
	ip -n "$remote" link set eth0 up
	ip -n "$node" addr add 198.18.0.1/30 dev "$TOPO_UPLINK"
	ip -n "$remote" addr add 198.18.0.2/30 dev eth0
	ip -n "$node" addr add 2001:db8:ff::1/64 dev "$TOPO_UPLINK" nodad
	ip -n "$remote" addr add 2001:db8:ff::2/64 dev eth0 nodad
	case "$TOPO_MODE" in
	plain)
		ip -n "$remote" route add 198.18.1.0/24 via 198.18.0.1
		ip -n "$remote" -6 route add 2001:db8:1::/64 via 2001:db8:ff::1 ;;
	vxlan)
		mtu=1450
		ip -n "$node" link add vxlan0 type vxlan id 42 local 198.18.0.1 remote 198.18.0.2 \
			dstport 4789 dev "$TOPO_UPLINK" tos inherit || return 1
		ip -n "$remote" link add vxlan0 type vxlan id 42 local 198.18.0.2 remote 198.18.0.1 \
			dstport 4789 dev eth0 tos inherit || return 1
		ip -n "$node" addr add 198.18.2.1/24 dev vxlan0
		ip -n "$node" addr add 2001:db8:2::1/64 dev vxlan0 nodad
		ip -n "$remote" addr add 198.18.2.2/24 dev vxlan0
		ip -n "$remote" addr add 2001:db8:2::2/64 dev vxlan0 nodad
		ip -n "$node" link set vxlan0 up
		ip -n "$remote" link set vxlan0 up
		ip -n "$remote" route add 198.18.1.0/24 via 198.18.2.1 dev vxlan0
		ip -n "$remote" -6 route add 2001:db8:1::/64 via 2001:db8:2::1 dev vxlan0 ;;
	snat)
		command -v nft >/dev/null || { echo "topology: snat mode needs nft (nftables)" >&2; return 1; }
		ip netns exec "$node" nft -f - <<-NFT || return 1
		table inet tcprio_demo_nat {
			chain postrouting {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "$TOPO_UPLINK" ip saddr 198.18.1.0/24 masquerade
				oifname "$TOPO_UPLINK" ip6 saddr 2001:db8:1::/64 masquerade
			}
		}
		NFT
		;;
	*) echo "topology: unknown mode '$TOPO_MODE' (plain, vxlan or snat)" >&2; return 1 ;;
	esac
	for pod in $TOPO_PODS; do
		_topo_pod "$pod" "$mtu" || return 1
	done
}

topo_destroy() {
	local ns
	for ns in $TOPO_CREATED; do
		ip netns del "$ns" 2>/dev/null
	done
	TOPO_CREATED=""
}

# Wait until every pod answers a ping to the target (both families).
topo_wait_ready() {
	local pod fam t i ok
	for pod in $TOPO_PODS; do
		for fam in 4 6; do
			t=$(topo_target_ip "$fam")
			ok=0
			for i in $(seq 20); do
				if topo_exec "$pod" ping -"$fam" -c1 -W1 -q "$t" >/dev/null 2>&1; then
					ok=1; break
				fi
				sleep 0.2
			done
			[ "$ok" = 1 ] || { echo "topology: $pod cannot reach $t" >&2; return 1; }
		done
	done
}
