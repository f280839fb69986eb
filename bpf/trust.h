/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * trust.h - whose DSCP the uplink believes (issue 12: no priority
 * escalation).  A DSCP is trusted only where tcprio wrote it:
 *
 *   - skb->ingress_ifindex == 0: the packet was made on this node.  With a
 *     socket (skb->sk) it is a local sender's (host process, host-network
 *     pod): never trusted (tcprio_uplink gives it a host rule's class or
 *     the default class).  Without one it was
 *     encapsulated here (tunnel drivers clear the ingress interface in
 *     skb_scrub_packet) and carries the inner packet's DSCP (VXLAN "tos
 *     inherit"): trusted.
 *   - else it was received and forwarded: trusted if the ingress interface
 *     is in tcprio_trust_ifaces (a pod edge, which wrote the DSCP when
 *     config.rewrite_dscp is on; a tunnel from another node; a
 *     trustDscpFrom interface) or the source is in tcprio_trust_cidrs.
 *
 * Maps: bpf/tcprio_maps.h; flags: include/tcprio.h.
 */
#ifndef TCPRIO_TRUST_H
#define TCPRIO_TRUST_H

#include "parse.h"
#include "tcprio_maps.h"

/* tcprio_trust_ifaces flags of ifindex (0 if absent), from the per-CPU
 * trust cache when it holds ifindex for this jiffy and tcprio_cache_gen
 * (include/tcprio.h): inlined array lookups instead of a hash lookup. */
static __always_inline __u32 trust_iface_flags(__u32 ifindex)
{
	__u32 zero = 0, slot = (ifindex * 0x9e3779b1U) >> (32 - TCPRIO_TRUST_CACHE_BITS);
	struct tcprio_trust_cache_entry *e = bpf_map_lookup_elem(&tcprio_trust_cache, &slot);
	__u64 *g = bpf_map_lookup_elem(&tcprio_cache_gen, &zero);
	__u64 gen = g ? *g : 0, now = bpf_jiffies64();
	__u32 *f;

	if (e && e->ifindex == ifindex && e->gen == gen && e->jiffies == now)
		return e->flags;
	f = bpf_map_lookup_elem(&tcprio_trust_ifaces, &ifindex);
	if (e) {
		e->ifindex = ifindex;
		e->flags = f ? *f : 0;
		e->gen = gen;
		e->jiffies = now;
	}
	return f ? *f : 0;
}

/* Whether the uplink may classify a packet that is not from a local socket
 * by its DSCP (cfg->trust_dscp is checked by the caller). */
static __always_inline int dscp_trusted(struct __sk_buff *skb,
					const struct tcprio_config *cfg,
					const struct pkt_info *pi)
{
	struct tcprio_trust_cidr_key key;
	__u32 ifindex = skb->ingress_ifindex;
	__u32 flags;

	if (!ifindex)
		return 1;       /* encapsulated here (no socket: see above) */
	flags = trust_iface_flags(ifindex);
	if (flags & (TCPRIO_TRUST_TUNNEL | TCPRIO_TRUST_CONFIG))
		return 1;
	/* A pod edge that does not rewrite passes the pod's own DSCP. */
	if ((flags & TCPRIO_TRUST_POD_EDGE) && cfg->rewrite_dscp)
		return 1;
	key.prefixlen = 128;
	key.ip = pi->saddr;
	return bpf_map_lookup_elem(&tcprio_trust_cidrs, &key) != NULL;
}

#endif /* TCPRIO_TRUST_H */
