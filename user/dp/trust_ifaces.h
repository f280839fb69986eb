/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * trust_ifaces.h - keep tcprio_trust_ifaces (ingress ifindex ->
 * TCPRIO_TRUST_* flags, include/tcprio.h) equal to the interfaces of the
 * current network namespace whose forwarded packets carry a DSCP tcprio
 * trusts (bpf/trust.h):
 *   POD_EDGE  a pod interface (name matches the pod globs and is not an
 *             uplink) on which the pod-edge program opts.pod_edge_prog_id
 *             runs first (attached, not pre-empted: only then did it write
 *             the DSCP, and the uplink takes a pod's class from it), or a
 *             bridge whose ports are all such pod interfaces (bridge CNIs
 *             route the pods' packets from the bridge, e.g. cni0);
 *   TUNNEL    a tunnel device from other nodes: link kinds vxlan, geneve,
 *             ipip, sit, ip6tnl, gre, gretap, ip6gre, ip6gretap (not
 *             wireguard: a VPN peer may be anything; name it in
 *             trustDscpFrom if it is a node);
 *   CONFIG    named in trustDscpFrom.
 */
#ifndef TCPRIO_TRUST_IFACES_H
#define TCPRIO_TRUST_IFACES_H

#include <stdbool.h>
#include <linux/types.h>

/* What decides the flags; every array is borrowed for the call. */
struct trust_ifaces_opts {
	const char **pod_globs;  /* fnmatch(3) patterns of pod interfaces (none: no pod interfaces) */
	int n_pod_globs;
	__u32 pod_edge_prog_id;  /* kernel id of the pod-edge program (datapath_prog_id):
				    a pod interface is POD_EDGE only while it runs first there */
	const char **uplinks;    /* uplink names: never POD_EDGE */
	int n_uplinks;
	const char **names;      /* trustDscpFrom interface names */
	int n_names;
};

/* One netlink dump of the links, then add/update/delete entries of
 * tcprio_trust_ifaces (map_fd) so that it holds exactly the trusted
 * interfaces, then rewrite every slot of tcprio_trust_slots (slots_fd,
 * include/tcprio.h) from them.  The programs read both directly (no
 * cache), so the next packet sees the change.  Returns how many interfaces
 * are trusted, or -errno (netlink or map error; the maps are left as far
 * as they got). */
int trust_ifaces_sync(int map_fd, int slots_fd, const struct trust_ifaces_opts *o);

struct trust_source;
/* tcprio_trust_cidrs := the CIDR entries of from[0..n) (trustDscpFrom;
 * interface names are skipped): add the missing ones, then delete every
 * other key, so a CIDR in both the old and the new table is never missing;
 * then, with lists_fd >= 0 (tcprio_prefix_lists), the CIDRs' prefix list
 * (dp/prefix_list.h); after a change of either, a new tcprio_cache_gen
 * (cache_gen_fd > 0: the uplink keeps each flow's answer in
 * tcprio_src_cache).  0 or the first -errno of the trie's writes (it goes
 * on with the rest; a list that cannot be written is logged). */
int trust_cidrs_sync(int map_fd, int lists_fd, int cache_gen_fd, const struct trust_source *from,
		     int n);

#endif
