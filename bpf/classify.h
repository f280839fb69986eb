/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * classify.h - map lookups and counters shared by both TC programs.
 * Maps: bpf/tcprio_maps.h; layouts: include/tcprio.h.
 */
#ifndef TCPRIO_CLASSIFY_H
#define TCPRIO_CLASSIFY_H

#include "parse.h"
#include "tcprio_maps.h"

/* The config entry (key 0), or NULL if classification is off. */
static __always_inline struct tcprio_config *config_if_enabled(void)
{
	__u32 k = 0;
	struct tcprio_config *cfg = bpf_map_lookup_elem(&tcprio_config, &k);

	return cfg && cfg->enabled ? cfg : NULL;
}

/* The class entry for id if it is configured (TCPRIO_CLASS_VALID). */
static __always_inline struct tcprio_class *valid_class(__u32 id)
{
	struct tcprio_class *c = bpf_map_lookup_elem(&tcprio_classes, &id);

	return c && (c->flags & TCPRIO_CLASS_VALID) ? c : NULL;
}

/* tcprio_events[hook * TCPRIO_EV_COUNT + ev] += 1 (this CPU's slot). */
static __always_inline void count_event(__u32 hook, __u32 ev)
{
	__u32 k = hook * TCPRIO_EV_COUNT + ev;
	__u64 *v = bpf_map_lookup_elem(&tcprio_events, &k);

	if (v)
		*v += 1;
}

/* TCPRIO_EP_RULES_* bit of an L4 protocol; 0 if rules cannot name it. */
static __always_inline __u16 proto_rule_bit(__u8 proto)
{
	if (proto == IPPROTO_TCP)
		return TCPRIO_EP_RULES_TCP;
	if (proto == IPPROTO_UDP)
		return TCPRIO_EP_RULES_UDP;
	if (proto == IPPROTO_SCTP)
		return TCPRIO_EP_RULES_SCTP;
	return 0;
}

/* Port rule class from the endpoint's inline rules (TCPRIO_EP_RULES_INLINE:
 * all of its rules are there): the rule for the packet's protocol and
 * source port, else for its destination port, else the pod's class.  No
 * map lookup. */
static __always_inline __u32 inline_port_class(const struct tcprio_endpoint *ep,
					       const struct pkt_info *pi)
{
	__u32 cls = ep->class_id;
	int i, dst_hit = 0;

	for (i = 0; i < TCPRIO_EP_INLINE_RULES; i++) {
		const struct tcprio_ep_rule *r = &ep->rules[i];

		if (r->protocol != pi->proto)
			continue;
		if (r->port == pi->sport)
			return r->class_id;
		if (!dst_hit && r->port == pi->dport) {
			cls = r->class_id;
			dst_hit = 1;
		}
	}
	return cls;
}

/* The class of the rule for (protocol, port) key (protocol << 16 | port)
 * in rule block b, or -1: a binary search of its sorted rules in a fixed
 * five steps (TCPRIO_BLOCK_RULES = 32 = 2^5; unused slots hold
 * TCPRIO_BLOCK_PROTO_NONE, above every rule's protocol, so they sort
 * last).  Fixed steps
 * and no early exit keep the verifier's paths few: each step only moves
 * base. */
static __always_inline int block_find(const struct tcprio_rule_block *b, __u32 key)
{
	__u32 base = 0, step, k;

#pragma unroll
	for (step = TCPRIO_BLOCK_RULES / 2; step > 0; step /= 2) {
		const struct tcprio_ep_rule *r = &b->rules[(base + step - 1) & (TCPRIO_BLOCK_RULES - 1)];

		if (((__u32)r->protocol << 16 | r->port) < key)
			base += step;
	}
	base &= TCPRIO_BLOCK_RULES - 1;
	k = (__u32)b->rules[base].protocol << 16 | b->rules[base].port;
	return k == key ? b->rules[base].class_id : -1;
}

/* Port rule class from the endpoint's rule block b: the rule for the
 * packet's protocol and source port, else for its destination port, else
 * cls (the pod's class).  No map lookup. */
static __always_inline __u32 block_port_class(const struct tcprio_rule_block *b, __u32 cls,
					      const struct pkt_info *pi)
{
	__u32 proto = (__u32)pi->proto << 16;
	int c = block_find(b, proto | pi->sport);

	if (c < 0)
		c = block_find(b, proto | pi->dport);
	return c < 0 ? cls : (__u32)c;
}

/*
 * Port rule class for a packet with ports from an endpoint with rules for
 * its protocol: the rule for (source IP, protocol, source port), else for
 * the destination port, else the pod's class.  With TCPRIO_EP_PORT_BITS
 * only the ports whose bit is set in ep->rule_ports are looked up (a hash
 * lookup is most of the cost of a packet: see README, "Datapath cost"),
 * an endpoint with TCPRIO_EP_RULES_INLINE is answered from its entry, and
 * one with TCPRIO_EP_RULES_BLOCK from its rule block while the block is
 * still its own (include/tcprio.h).
 */
static __always_inline __u32 port_class(const struct tcprio_endpoint *ep,
					const struct pkt_info *pi)
{
	__u64 bits = ep->flags & TCPRIO_EP_PORT_BITS ? ep->rule_ports : ~0ULL;
	struct tcprio_port_key key;
	struct tcprio_port_rule *r = NULL;

	if (!(bits & (TCPRIO_EP_PORT_BIT(pi->sport) | TCPRIO_EP_PORT_BIT(pi->dport))))
		return ep->class_id;
	if (ep->flags & TCPRIO_EP_RULES_INLINE)
		return inline_port_class(ep, pi);
	if (ep->flags & TCPRIO_EP_RULES_BLOCK) {
		__u32 idx = ep->rule_block;
		struct tcprio_rule_block *b = bpf_map_lookup_elem(&tcprio_rule_blocks, &idx);

		if (b && b->pod_id == ep->pod_id)
			return block_port_class(b, ep->class_id, pi);
	}
	__builtin_memset(&key, 0, sizeof(key));
	key.ip = pi->saddr;
	key.protocol = pi->proto;
	if (bits & TCPRIO_EP_PORT_BIT(pi->sport)) {
		key.port = pi->sport;
		r = bpf_map_lookup_elem(&tcprio_port_rules, &key);
	}
	if (!r && (bits & TCPRIO_EP_PORT_BIT(pi->dport))) {
		key.port = pi->dport;
		r = bpf_map_lookup_elem(&tcprio_port_rules, &key);
	}
	return r ? r->class_id : ep->class_id;
}

/*
 * Class of one fragment of a datagram of an endpoint with port rules: the
 * class the datagram's first-seen fragment got (tcprio_frags), so that
 * every fragment lands in one class.  The first fragment (it has the
 * ports) takes the port rule's class; a later fragment seen before it, or
 * after its entry was evicted from the LRU, takes the pod's class, counts
 * TCPRIO_EV_FRAG_MISS for hook, and fixes that class for the fragments
 * that follow (the first fragment included).  Both hooks share the map,
 * so the uplink finds what the pod edge chose.
 */
static __always_inline __u32 frag_class(const struct tcprio_endpoint *ep,
					const struct pkt_info *pi, __u32 hook)
{
	struct tcprio_frag_key key;
	struct tcprio_frag *f, nf;

	__builtin_memset(&key, 0, sizeof(key));
	key.saddr = pi->saddr;
	key.daddr = pi->daddr;
	key.id = pi->frag_id;
	key.proto = pi->proto;
	f = bpf_map_lookup_elem(&tcprio_frags, &key);
	if (f)
		return f->class_id;
	if (pi->has_ports) {
		nf.class_id = port_class(ep, pi);
	} else {
		nf.class_id = ep->class_id;
		if (!(pi->frag & TCPRIO_FRAG_FIRST))
			count_event(hook, TCPRIO_EV_FRAG_MISS);
	}
	bpf_map_update_elem(&tcprio_frags, &key, &nf, BPF_ANY);
	return nf.class_id;
}

/*
 * Class of a packet sent by local endpoint ep: the pod's class, unless the
 * endpoint has port rules for the packet's protocol (TCP, UDP or SCTP and,
 * if any TCPRIO_EP_RULES_* bit is set, one named there) and the packet has
 * ports (port_class) or is a fragment (frag_class).  Costs no map lookup for the common endpoint
 * without rules, nor for a protocol the endpoint has no rules for.
 */
static __always_inline __u32 endpoint_class(const struct tcprio_endpoint *ep,
					    const struct pkt_info *pi, __u32 hook)
{
	__u16 protos = ep->flags & TCPRIO_EP_RULES_PROTOS;
	__u16 bit;

	if (!(ep->flags & TCPRIO_EP_HAS_PORT_RULES))
		return ep->class_id;
	bit = proto_rule_bit(pi->proto);
	if (!bit || (protos && !(protos & bit)))
		return ep->class_id;
	if (pi->frag)
		return frag_class(ep, pi, hook);
	if (!pi->has_ports)
		return ep->class_id;
	return port_class(ep, pi);
}

/* Whether addresses x and y are the same: four 32-bit words compared, the
 * last first (an IPv4 address's only word that differs between IPv4
 * addresses, as tcprio_ip holds them: ::ffff:a.b.c.d). */
static __always_inline int ip_same(const struct tcprio_ip *x, const struct tcprio_ip *y)
{
	const __u32 *a = (const __u32 *)x->addr, *b = (const __u32 *)y->addr;

	return a[3] == b[3] && a[2] == b[2] && a[1] == b[1] && a[0] == b[0];
}

/* Whether the address whose filter bit (tcprio_ep_filter_bit) is bit may
 * be in tcprio_endpoints: that bit in the active buffer of the agent's
 * filter (include/tcprio.h), or 1 when the filter is not valid. */
static __always_inline int endpoint_may_exist(__u32 bit)
{
	__u32 hdr_key = 0, k;
	__u64 *hdr = bpf_map_lookup_elem(&tcprio_ep_filter, &hdr_key), *w;

	if (!hdr || !(*hdr & TCPRIO_EP_FILTER_VALID))
		return 1;
	k = TCPRIO_EP_FILTER_WORD(TCPRIO_EP_FILTER_ACTIVE_BUF(*hdr), bit);
	w = bpf_map_lookup_elem(&tcprio_ep_filter, &k);
	return !w || (*w & TCPRIO_EP_FILTER_MASK(bit)) != 0;
}

/*
 * The tcprio_endpoints entry of source address ip, or NULL.  At the
 * uplink, first the endpoint filter: most sources it looks up are not
 * endpoints (a local socket's node address, a trustDscpFrom host), and the
 * filter answers them without the slot or the hash.  Then ip's copy in
 * tcprio_ep_slots when its slot holds ip (one inlined array read:
 * include/tcprio.h, "Endpoint slots"), else a hash lookup.  The pod edge
 * does not ask the filter: its source is a pod all but always, and the
 * filter would only add two cache lines to its first packet (README,
 * "Datapath cost").
 */
static __always_inline struct tcprio_endpoint *endpoint_entry(const struct tcprio_ip *ip,
							      __u32 hook)
{
	__u32 bit = tcprio_ep_filter_bit(ip), k = TCPRIO_EP_SLOT_OF_BIT(bit);
	struct tcprio_ep_slot *s;

	if (hook == TCPRIO_HOOK_UPLINK && !endpoint_may_exist(bit))
		return NULL;
	s = bpf_map_lookup_elem(&tcprio_ep_slots, &k);
	if (s && s->ep.pod_id && ip_same(&s->ip, ip))
		return &s->ep;
	return bpf_map_lookup_elem(&tcprio_endpoints, ip);
}

/* Slot of tcprio_src_cache for the packet: a multiplicative hash of the
 * source address, ports and protocol (top TCPRIO_SRC_CACHE_BITS bits). */
static __always_inline __u32 src_cache_slot(const struct pkt_info *pi)
{
	const __u32 *a = (const __u32 *)pi->saddr.addr;
	__u32 h = a[0] ^ a[1] ^ a[2] ^ a[3] ^ ((__u32)pi->sport << 16 | pi->dport) ^
		  ((__u32)pi->proto << 8 | pi->has_ports);

	return (h * 0x9e3779b1U) >> (32 - TCPRIO_SRC_CACHE_BITS);
}

/* Whether cache entry e answers for the packet: same source, protocol and
 * ports, filled in this jiffy under generation gen. */
static __always_inline int src_cache_match(const struct tcprio_src_cache_entry *e,
					   const struct pkt_info *pi, __u64 gen, __u64 now)
{
	return e->gen == gen && e->jiffies == now && ip_same(&e->saddr, &pi->saddr) &&
	       e->sport == pi->sport && e->dport == pi->dport && e->proto == pi->proto &&
	       e->has_ports == pi->has_ports;
}

/*
 * The source endpoint's class for the packet (endpoint_class: port rules
 * included).  Returns 1 with *class_id set if the source is an endpoint,
 * 0 if not.  Answered from tcprio_src_cache when it can (two inlined
 * array lookups, no hash lookup: include/tcprio.h says when an entry is
 * used); else found by endpoint_entry (its slot, or the hash) and the
 * cache slot refilled (cidr: unknown).  Fragments bypass the cache (their
 * class is per datagram, tcprio_frags, with events per hook).  With
 * cached != NULL, *cached = the packet's cache entry, or NULL (a fragment).
 */
static __always_inline int source_class(const struct pkt_info *pi, __u32 hook,
					__u32 *class_id,
					struct tcprio_src_cache_entry **cached)
{
	struct tcprio_src_cache_entry *e = NULL;
	struct tcprio_endpoint *ep;
	__u32 zero = 0, slot;
	__u64 gen = 0, now = 0, *g;

	if (!pi->frag) {
		g = bpf_map_lookup_elem(&tcprio_cache_gen, &zero);
		slot = src_cache_slot(pi);
		e = bpf_map_lookup_elem(&tcprio_src_cache, &slot);
		if (g)
			gen = *g;
		now = bpf_jiffies64();
		if (e && src_cache_match(e, pi, gen, now)) {
			*class_id = e->class_id;
			if (cached)
				*cached = e;
			return e->found;
		}
	}
	ep = endpoint_entry(&pi->saddr, hook);
	*class_id = ep ? endpoint_class(ep, pi, hook) : 0;
	if (e) {
		e->saddr = pi->saddr;
		e->sport = pi->sport;
		e->dport = pi->dport;
		e->proto = pi->proto;
		e->has_ports = pi->has_ports;
		e->found = ep != NULL;
		e->cidr = TCPRIO_CIDR_UNKNOWN;
		e->class_id = *class_id;
		e->gen = gen;
		e->jiffies = now;
	}
	if (cached)
		*cached = e;
	return ep != NULL;
}

/*
 * The class of the packet from its source's endpoint slot alone
 * (tcprio_ep_slots, one inlined array read; include/tcprio.h, "Endpoint
 * slots"), when the slot holds the source and its class needs no further
 * lookup: the endpoint has no port rules, or all of them inline.  Returns
 * 1 with *class_id set if answered, 0 if not (a fragment, rule blocks or
 * hashed port rules, a slot another address holds or none, a source that
 * is no endpoint).
 */
static __always_inline int slot_class(const struct pkt_info *pi, __u32 hook, __u32 *class_id)
{
	__u32 k = TCPRIO_EP_SLOT(&pi->saddr);
	struct tcprio_ep_slot *s;

	if (pi->frag)
		return 0;
	s = bpf_map_lookup_elem(&tcprio_ep_slots, &k);
	if (!s || !s->ep.pod_id || !ip_same(&s->ip, &pi->saddr))
		return 0;
	if ((s->ep.flags & TCPRIO_EP_HAS_PORT_RULES) && !(s->ep.flags & TCPRIO_EP_RULES_INLINE))
		return 0;
	*class_id = endpoint_class(&s->ep, pi, hook);
	return 1;
}

/*
 * The pod edge's source class: slot_class, else source_class (the source
 * cache, then the slot or the hash).  Returns 1 with *class_id set if the
 * source is an endpoint, 0 if not.
 * Why the slot first: a pod's source is all but always an endpoint that
 * its slot holds, and the slot is one array entry, where a source cache
 * hit reads three lines (the generation, the per-CPU pointer, the entry).
 * On the real path of a machine whose lines are cold at every packet, the
 * slot first cost the pod edge 30 ns a packet less (README, "Datapath
 * cost").  The uplink keeps source_class: its sources are mostly not
 * endpoints, which the endpoint filter and the cache answer.
 */
static __always_inline int pod_edge_source_class(const struct pkt_info *pi, __u32 *class_id)
{
	return slot_class(pi, TCPRIO_HOOK_POD_EDGE, class_id) ||
	       source_class(pi, TCPRIO_HOOK_POD_EDGE, class_id, NULL);
}

/*
 * Count skb in tcprio_stats[TCPRIO_STATS_KEY(hook, class)]: packets +=
 * gso_segs (at least 1, so a GSO super-packet counts as the segments it
 * will be sent as), bytes += skb->len.  Per-CPU values: no atomics needed.
 * A class id outside the table is not counted (the agent never writes one).
 */
static __always_inline void count_class(struct __sk_buff *skb, __u32 hook,
					__u32 class_id)
{
	__u32 k = TCPRIO_STATS_KEY(hook, class_id);
	struct tcprio_counters *c;
	__u64 segs = skb->gso_segs;

	if (class_id >= TCPRIO_MAX_CLASSES)
		return;
	c = bpf_map_lookup_elem(&tcprio_stats, &k);
	if (!c)
		return;
	if (!segs)
		segs = 1;
	c->packets += segs;
	c->bytes += skb->len;
}

/*
 * The value of the longest prefix of prefix list id (enum
 * tcprio_prefix_list_id) that holds ip, 0 if none does; -1 if the list is
 * not valid (not written yet, or too long: the caller looks up the trie).
 * Up to TCPRIO_PREFIX_LIST_MAX entries compared in order, longest first
 * (include/tcprio.h), the last word first: an IPv4 address's only word
 * that differs between IPv4 prefixes.  Inlined array reads, no kernel call.
 */
static __always_inline int prefix_list_value(__u32 id, const struct tcprio_ip *ip)
{
	const struct tcprio_prefix_list *l = bpf_map_lookup_elem(&tcprio_prefix_lists, &id);
	const __u32 *a = (const __u32 *)ip->addr;
	__u32 i, n;

	if (!l || !l->valid)
		return -1;
	n = l->count;
	for (i = 0; i < TCPRIO_PREFIX_LIST_MAX; i++) {
		const struct tcprio_prefix *p = &l->entries[i];

		if (i >= n)
			break;
		if ((a[3] & p->mask[3]) == p->addr[3] && (a[2] & p->mask[2]) == p->addr[2] &&
		    (a[1] & p->mask[1]) == p->addr[1] && (a[0] & p->mask[0]) == p->addr[0])
			return (int)p->value;
	}
	return 0;
}

/* The destination's scope without the cache: its prefix list when valid,
 * else one lookup in the tcprio_destinations trie; no match is WAN. */
static __always_inline __u32 destination_lookup(const struct pkt_info *pi)
{
	struct tcprio_dest_key key = { .prefixlen = 128 };
	struct tcprio_dest *d;
	int v = prefix_list_value(TCPRIO_PLIST_DESTINATIONS, &pi->daddr);

	if (v >= 0)
		return v == TCPRIO_SCOPE_LAN ? TCPRIO_SCOPE_LAN : TCPRIO_SCOPE_WAN;
	__builtin_memcpy(key.addr, pi->daddr.addr, sizeof(key.addr));
	d = bpf_map_lookup_elem(&tcprio_destinations, &key);
	return d && d->scope == TCPRIO_SCOPE_LAN ? TCPRIO_SCOPE_LAN : TCPRIO_SCOPE_WAN;
}

/*
 * Where the packet goes: the longest prefix of its destination in
 * tcprio_destinations; no match (or an empty map) is WAN.  Answered from
 * the per-CPU tcprio_dst_cache when it holds the destination for this
 * jiffy and tcprio_cache_gen (include/tcprio.h), else by
 * destination_lookup (the prefix list, or the trie).
 */
static __always_inline __u32 destination_scope(const struct pkt_info *pi)
{
	const __u32 *a = (const __u32 *)pi->daddr.addr;
	__u32 zero = 0, slot = ((a[0] ^ a[1] ^ a[2] ^ a[3]) * 0x9e3779b1U) >>
			       (32 - TCPRIO_DST_CACHE_BITS);
	struct tcprio_dst_cache_entry *e = bpf_map_lookup_elem(&tcprio_dst_cache, &slot);
	__u64 *g = bpf_map_lookup_elem(&tcprio_cache_gen, &zero);
	__u64 gen = g ? *g : 0, now = bpf_jiffies64();
	__u32 scope;

	if (e && e->gen == gen && e->jiffies == now && ip_same(&e->daddr, &pi->daddr))
		return e->scope;
	scope = destination_lookup(pi);
	if (e) {
		e->daddr = pi->daddr;
		e->scope = scope;
		e->gen = gen;
		e->jiffies = now;
	}
	return scope;
}

/* tcprio_scope_stats[scope] += skb (GSO segments, bytes), this CPU's slot. */
static __always_inline void count_scope(struct __sk_buff *skb, __u32 scope)
{
	struct tcprio_counters *c = bpf_map_lookup_elem(&tcprio_scope_stats, &scope);
	__u64 segs = skb->gso_segs;

	if (!c)
		return;
	c->packets += segs ? segs : 1;
	c->bytes += skb->len;
}

/* The uplink's last step: LAN destinations go to the LAN leaf
 * (TCPRIO_LAN_PRIORITY), others to their class's leaf (cls, if valid);
 * counted per scope. */
static __always_inline void set_uplink_priority(struct __sk_buff *skb,
						const struct pkt_info *pi,
						const struct tcprio_class *cls)
{
	__u32 scope = destination_scope(pi);

	if (scope == TCPRIO_SCOPE_LAN)
		skb->priority = TCPRIO_LAN_PRIORITY;
	else if (cls)
		skb->priority = cls->priority;
	count_scope(skb, scope);
}

#endif /* TCPRIO_CLASSIFY_H */
