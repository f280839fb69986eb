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

/*
 * Class of a packet sent by local endpoint ep: a port rule for (source IP,
 * protocol, source port), else for the destination port, else the pod's
 * class.  The port map is only looked up if the endpoint has rules.
 */
static __always_inline __u32 endpoint_class(const struct tcprio_endpoint *ep,
					    const struct pkt_info *pi)
{
	struct tcprio_port_key key;
	struct tcprio_port_rule *r;

	if (!(ep->flags & TCPRIO_EP_HAS_PORT_RULES) || !pi->has_ports)
		return ep->class_id;
	__builtin_memset(&key, 0, sizeof(key));
	key.ip = pi->saddr;
	key.protocol = pi->proto;
	key.port = pi->sport;
	r = bpf_map_lookup_elem(&tcprio_port_rules, &key);
	if (!r) {
		key.port = pi->dport;
		r = bpf_map_lookup_elem(&tcprio_port_rules, &key);
	}
	return r ? r->class_id : ep->class_id;
}

/* tcprio_events[hook * TCPRIO_EV_COUNT + ev] += 1 (this CPU's slot). */
static __always_inline void count_event(__u32 hook, __u32 ev)
{
	__u32 k = hook * TCPRIO_EV_COUNT + ev;
	__u64 *v = bpf_map_lookup_elem(&tcprio_events, &k);

	if (v)
		*v += 1;
}

/*
 * Count skb in tcprio_stats{ifindex, hook, class}: packets += gso_segs (at
 * least 1, so a GSO super-packet counts as the segments it will be sent
 * as), bytes += skb->len.  Per-CPU values: no atomics needed.
 */
static __always_inline void count_class(struct __sk_buff *skb, __u32 hook,
					__u32 class_id)
{
	struct tcprio_stats_key key = {
		.ifindex = skb->ifindex, .hook = (__u8)hook,
		.class_id = (__u8)class_id,
	};
	struct tcprio_counters *c, init;
	__u64 segs = skb->gso_segs;

	if (!segs)
		segs = 1;
	c = bpf_map_lookup_elem(&tcprio_stats, &key);
	if (!c) {
		init.packets = segs;
		init.bytes = skb->len;
		/* Creates this CPU's slot (others start at 0); EEXIST means
		 * a racing CPU created the key first: add to it below. */
		if (bpf_map_update_elem(&tcprio_stats, &key, &init,
					BPF_NOEXIST) == 0)
			return;
		c = bpf_map_lookup_elem(&tcprio_stats, &key);
		if (!c)
			return;         /* map full: not counted */
	}
	c->packets += segs;
	c->bytes += skb->len;
}

#endif /* TCPRIO_CLASSIFY_H */
