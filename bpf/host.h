/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * host.h - class of packets sent by the node's own sockets (host processes,
 * host-network pods), for the uplink program.
 *
 * Local socket: the skb carries a socket (skb->sk) and did not enter the
 * node through an interface (skb->ingress_ifindex == 0).  Forwarded
 * packets (pod traffic, routed traffic) lose their socket in ip_rcv and
 * have an ingress interface, so they never pay for the lookups below.
 * (BPF_PROG_TEST_RUN gives every skb a dummy socket in the caller's cgroup:
 * the packet tests set ingress_ifindex to run forwarded packets.)
 *
 * Order: the sender's cgroup v2 (bpf_skb_cgroup_id: the agent's answer for
 * it, tcprio_host_answers, when it wrote one; else the cgroup, then the
 * ancestors from the deepest level any rule needs up to the root, so a
 * child cgroup inherits its nearest ancestor's rule; each looked up only
 * if the agent's filter, tcprio_host_filter, says it may have an entry), then
 * the destination (LPM trie on
 * protocol, destination port or any port, destination address).  A
 * host-network pod's cgroup entry may carry port rules (source port first,
 * then destination port), as pods' entries do.
 */
#ifndef TCPRIO_HOST_H
#define TCPRIO_HOST_H

#include "parse.h"
#include "tcprio_maps.h"

/* A packet sent by a local socket (see above)? */
static __always_inline int sent_by_local_socket(struct __sk_buff *skb)
{
	return skb->sk && skb->ingress_ifindex == 0;
}

/* The agent's filter of the cgroup ids that have entries, or NULL if it
 * wrote none (include/tcprio.h, struct tcprio_host_filter). */
static __always_inline const struct tcprio_host_filter *host_filter(void)
{
	__u32 zero = 0;
	const struct tcprio_host_filter *f;

	f = bpf_map_lookup_elem(&tcprio_host_filter, &zero);
	return f && f->valid ? f : NULL;
}

/* The entry of cgroup id in tcprio_host_cgroups, or NULL; no hash lookup
 * when filter f (may be NULL: none) says the id has no entry. */
static __always_inline struct tcprio_host_rule *
host_cgroup_entry(const struct tcprio_host_filter *f, __u64 id)
{
	if (f && !tcprio_host_filter_has(f, id))
		return NULL;
	return bpf_map_lookup_elem(&tcprio_host_cgroups, &id);
}

/* The cgroup entry of the socket's cgroup id or of its nearest ancestor
 * at level < hc->cgroup_levels, or NULL (*cgid: the id of the cgroup that
 * matched).  The socket's cgroup, then each level that has an entry
 * (hc->level_mask; 0: every level), each through host_cgroup_entry: a
 * hash lookup only where the filter lets it through. */
static __always_inline struct tcprio_host_rule *
host_cgroup_walk(struct __sk_buff *skb, __u64 id, const struct tcprio_host_config *hc,
		 __u64 *cgid)
{
	__u32 levels = hc->cgroup_levels, mask = hc->level_mask ? hc->level_mask : 0xffffffffu;
	const struct tcprio_host_filter *f = host_filter();
	struct tcprio_host_rule *r = host_cgroup_entry(f, id);
	int i;

	if (r) {
		*cgid = id;
		return r;
	}
	for (i = 0; i <= TCPRIO_HOST_MAX_LEVEL; i++) {
		int level = (int)levels - 1 - i;
		__u64 anc;

		if (level < 0)
			break;
		if (!(mask & (1u << level)))
			continue;       /* no entry at this level */
		anc = bpf_skb_ancestor_cgroup_id(skb, level);
		if (!anc || anc == id)  /* deeper than the socket's cgroup / itself */
			continue;
		r = host_cgroup_entry(f, anc);
		if (r) {
			*cgid = anc;
			return r;
		}
	}
	return NULL;
}

/*
 * The cgroup rule of the packet's socket (host_cgroup_walk), or NULL;
 * *cgid: the id of the cgroup that matched.  Answered from the agent's
 * tcprio_host_answers when its slot holds the socket's cgroup, else from
 * the per-CPU tcprio_cg_cache while it holds the socket's cgroup for this
 * jiffy and tcprio_cache_gen (include/tcprio.h): either way one inlined
 * array lookup instead of the walk (up to TCPRIO_HOST_MAX_LEVEL + 1
 * levels).  The pointer is valid for this program run only.
 */
static __always_inline const struct tcprio_host_rule *
host_cgroup_rule(struct __sk_buff *skb, const struct tcprio_host_config *hc, __u64 *cgid)
{
	__u64 id = bpf_skb_cgroup_id(skb);
	__u32 zero = 0, slot = ((__u32)id ^ (__u32)(id >> 32)) * 0x9e3779b1U >>
			       (32 - TCPRIO_CG_CACHE_BITS), aslot = TCPRIO_HOST_ANSWER_SLOT(id);
	struct tcprio_host_answer *a;
	struct tcprio_cg_cache_entry *e;
	struct tcprio_host_rule *r;
	__u64 gen, now, *g;

	if (!id)
		return NULL;
	a = bpf_map_lookup_elem(&tcprio_host_answers, &aslot);
	if (a && a->cgroup_id == id) {
		*cgid = a->match_id;
		return a->match_id ? &a->rule : NULL;
	}
	e = bpf_map_lookup_elem(&tcprio_cg_cache, &slot);
	g = bpf_map_lookup_elem(&tcprio_cache_gen, &zero);
	gen = g ? *g : 0;
	now = bpf_jiffies64();
	if (e && e->cgroup_id == id && e->gen == gen && e->jiffies == now) {
		*cgid = e->match_id;
		return e->match_id ? &e->rule : NULL;
	}
	*cgid = 0;
	r = host_cgroup_walk(skb, id, hc, cgid);
	if (e) {
		e->cgroup_id = id;
		e->match_id = r ? *cgid : 0;
		if (r)
			e->rule = *r;
		e->gen = gen;
		e->jiffies = now;
	}
	return r;
}

/* Class of a host-network pod's packet: a port rule on its cgroup (source
 * port, then destination port), else the pod's class. */
static __always_inline __u32 host_pod_class(const struct tcprio_host_rule *r,
					    __u64 cgid, const struct pkt_info *pi)
{
	struct tcprio_host_port_key key;
	struct tcprio_port_rule *pr;

	if (!(r->flags & TCPRIO_HOST_HAS_PORT_RULES) || !pi->has_ports)
		return r->class_id;
	__builtin_memset(&key, 0, sizeof(key));
	key.cgroup_id = cgid;
	key.protocol = pi->proto;
	key.port = pi->sport;
	pr = bpf_map_lookup_elem(&tcprio_host_ports, &key);
	if (!pr) {
		key.port = pi->dport;
		pr = bpf_map_lookup_elem(&tcprio_host_ports, &key);
	}
	return pr ? pr->class_id : r->class_id;
}

/* The destination address of the parsed packet into *ip (IPv4 mapped).
 * Returns 0, or -1 if the header is not in the linear area. */
static __always_inline int host_daddr(struct __sk_buff *skb,
				      const struct pkt_info *pi,
				      struct tcprio_ip *ip)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 off = pi->l3_off;

	if (off > TCPRIO_MAX_L3_OFF)  /* bound for the verifier */
		return -1;
	if (pi->family == 4) {
		struct iphdr *iph = data + off;
		__u32 *a = (__u32 *)ip->addr;

		if ((void *)(iph + 1) > data_end)
			return -1;
		a[0] = 0;
		a[1] = 0;
		a[2] = bpf_htonl(0x0000ffff);
		a[3] = iph->daddr;
		return 0;
	}
	{
		struct ipv6hdr *ip6 = data + off;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		__builtin_memcpy(ip->addr, &ip6->daddr, sizeof(ip->addr));
	}
	return 0;
}

/* The destination entry for the packet: (protocol, destination port), then
 * (protocol, any port).  NULL if none. */
static __always_inline struct tcprio_host_rule *
host_dst_rule(struct __sk_buff *skb, const struct pkt_info *pi)
{
	struct tcprio_host_dst_key key;
	struct tcprio_host_rule *r;

	__builtin_memset(&key, 0, sizeof(key));
	if (host_daddr(skb, pi, &key.ip))
		return NULL;
	key.prefixlen = 8 * (sizeof(key) - sizeof(key.prefixlen));
	key.protocol = pi->proto;
	if (pi->has_ports) {
		key.port = pi->dport;
		r = bpf_map_lookup_elem(&tcprio_host_dsts, &key);
		if (r)
			return r;
	}
	key.port = 0;
	return bpf_map_lookup_elem(&tcprio_host_dsts, &key);
}

/* tcprio_host_stats[slot] += this packet (gso_segs, skb->len). */
static __always_inline void count_host(struct __sk_buff *skb, __u32 slot)
{
	struct tcprio_counters *c = bpf_map_lookup_elem(&tcprio_host_stats, &slot);
	__u64 segs = skb->gso_segs;

	if (!c)
		return;
	c->packets += segs ? segs : 1;
	c->bytes += skb->len;
}

/*
 * Class of a packet sent by a local socket: the cgroup rule, else the
 * destination rule.  Returns 1 with *class_id set, or 0 when no rule
 * matches (counted in slot TCPRIO_HOST_SLOT_NONE; the caller decides).
 */
static __always_inline int host_class(struct __sk_buff *skb,
				      const struct pkt_info *pi, __u32 *class_id)
{
	struct tcprio_host_config *hc;
	const struct tcprio_host_rule *r = NULL;
	__u32 k = 0, slot;
	__u64 cgid = 0;

	hc = bpf_map_lookup_elem(&tcprio_host_config, &k);
	if (hc && hc->cgroup_levels)
		r = host_cgroup_rule(skb, hc, &cgid);
	if (r) {
		*class_id = r->pod_id ? host_pod_class(r, cgid, pi) : r->class_id;
		slot = r->slot;
	} else if (hc && hc->dst_rules && (r = host_dst_rule(skb, pi))) {
		*class_id = r->class_id;
		slot = r->slot;
	} else {
		count_host(skb, TCPRIO_HOST_SLOT_NONE);
		return 0;
	}
	count_host(skb, slot);
	return 1;
}

#endif /* TCPRIO_HOST_H */
