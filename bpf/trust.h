/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * trust.h - whose DSCP the uplink believes (issue 12: no priority
 * escalation).  A DSCP is trusted only where tcprio wrote it:
 *
 *   - skb->ingress_ifindex == 0: the packet was made on this node.  With a
 *     socket (skb->sk) it is a local sender's (host process, host-network
 *     pod): never trusted (tcprio_uplink gives it a host rule's class or
 *     the default class).  Without one it was encapsulated here (tunnel
 *     drivers clear the ingress interface in skb_scrub_packet) and carries
 *     the inner packet's DSCP (VXLAN "tos inherit"): trusted.
 *   - else it was received and forwarded: trusted if the ingress interface
 *     is in tcprio_trust_ifaces (a pod interface on which the agent's pod
 *     edge runs first, which wrote the DSCP when config.rewrite_dscp is
 *     on; a tunnel from another node; a trustDscpFrom interface), or with
 *     config.trust_dscp TCPRIO_TRUST_DSCP_FORWARDED (a gateway).  Such a packet's DSCP names its class
 *     (with trustDscp each class has its own DSCP), so the uplink does
 *     not look up its source: the pod edge already did.
 *   - from another interface (a bridge with ports that are not pods', a
 *     LAN port of a gateway): the source endpoint's class if the source is
 *     one, else the DSCP's class if the source is in tcprio_trust_cidrs.
 *
 * Maps: bpf/tcprio_maps.h; flags: include/tcprio.h.
 */
#ifndef TCPRIO_TRUST_H
#define TCPRIO_TRUST_H

#include "parse.h"
#include "tcprio_maps.h"
#include "classify.h"

/* TCPRIO_TRUST_* flags of ingress interface ifindex (0: not trusted):
 * from its slot of tcprio_trust_slots (an inlined array lookup), or from
 * tcprio_trust_ifaces when the slot is shared (include/tcprio.h). */
static __always_inline __u32 trust_iface_flags(__u32 ifindex)
{
	__u32 slot = ifindex % TCPRIO_TRUST_SLOTS;
	struct tcprio_trust_slot *s = bpf_map_lookup_elem(&tcprio_trust_slots, &slot);
	__u32 *f;

	if (!s)
		return 0;
	if (s->ifindex == ifindex)
		return s->flags;
	if (!(s->flags & TCPRIO_TRUST_SHARED))
		return 0;
	f = bpf_map_lookup_elem(&tcprio_trust_ifaces, &ifindex);
	return f ? *f : 0;
}

/* Whether tcprio wrote the DSCP of a packet that no local socket sent,
 * judged by where it came in (see the top; the caller checks
 * cfg->trust_dscp): then its DSCP names its class and the uplink need not
 * look up its source. */
static __always_inline int dscp_written_by_tcprio(struct __sk_buff *skb,
						  const struct tcprio_config *cfg)
{
	__u32 ifindex = skb->ingress_ifindex;
	__u32 flags;

	if (!ifindex || cfg->trust_dscp == TCPRIO_TRUST_DSCP_FORWARDED)
		return 1;       /* encapsulated here (no socket: see above); a gateway */
	flags = trust_iface_flags(ifindex);
	if (flags & (TCPRIO_TRUST_TUNNEL | TCPRIO_TRUST_CONFIG))
		return 1;
	/* A pod edge that does not rewrite passes the pod's own DSCP. */
	return (flags & TCPRIO_TRUST_POD_EDGE) && cfg->rewrite_dscp;
}

/* Whether the source of a forwarded packet that is not an endpoint is in
 * tcprio_trust_cidrs (trustDscpFrom CIDRs): from the packet's source cache
 * entry e (source_class) when it holds the answer, else from the CIDRs'
 * prefix list (classify.h prefix_list_value) or, when that is not valid,
 * one LPM trie lookup; e then keeps the answer (e may be NULL: a
 * fragment). */
static __always_inline int source_trusted(const struct pkt_info *pi,
					  struct tcprio_src_cache_entry *e)
{
	struct tcprio_trust_cidr_key key;
	int trusted;

	if (e && e->cidr != TCPRIO_CIDR_UNKNOWN)
		return e->cidr == TCPRIO_CIDR_TRUSTED;
	trusted = prefix_list_value(TCPRIO_PLIST_TRUST_CIDRS, &pi->saddr);
	if (trusted < 0) {
		key.prefixlen = 128;
		key.ip = pi->saddr;
		trusted = bpf_map_lookup_elem(&tcprio_trust_cidrs, &key) != NULL;
	} else {
		trusted = trusted != 0;
	}
	if (e)
		e->cidr = trusted ? TCPRIO_CIDR_TRUSTED : TCPRIO_CIDR_UNTRUSTED;
	return trusted;
}

#endif /* TCPRIO_TRUST_H */
