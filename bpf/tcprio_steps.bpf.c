/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tcprio_steps.bpf.c - benchmark only: the pod-edge program cut after each
 * of its steps, built from the same helpers (parse.h, classify.h), so that
 * tests/bench/bench_datapath.c can say what each step costs: the
 * difference between consecutive variants, all measured in one run next
 * to the empty program and the real tcprio_pod_edge.
 *
 *   step_config  config lookup (tcprio_config, an inlined array lookup)
 *   step_parse   + pull check and parse (Ethernet, VLANs, IP, ports)
 *   step_src     + source class (classify.h pod_edge_source_class: the
 *                endpoint slot, else the source cache)
 *   step_class   + class lookup, skb->priority
 *   tcprio_pod_edge (tcprio.bpf.c) = step_class + counter (+ rewrite)
 *   step_ep      step_parse + one endpoint hash lookup (16-byte key), not
 *                in the chain: what a source cache miss adds
 *   step_ep4     step_parse + one hash lookup with a 4-byte IPv4 key in
 *                step_ep4_map (not pinned, filled by the benchmark): does
 *                a smaller key make the lookup cheaper (an IPv4 map of its
 *                own instead of the cache)?  IPv6 packets look up key 0
 *
 * Its maps are the agent's (tcprio_maps.h, pinned by name): loaded with the
 * same pin folder as tcprio.bpf.o it reads what the benchmark wrote.  Never
 * attached.  Every variant returns TC_ACT_UNSPEC, like the real programs.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "tcprio.h"
#include "tcprio_maps.h"
#include "parse.h"
#include "classify.h"

/* The steps every variant after step_config starts with: config lookup,
 * pull check, parse.  0: parsed into *pi; -1: disabled or unparsable. */
static __always_inline int config_and_parse(struct __sk_buff *skb, struct pkt_info *pi)
{
	if (!config_if_enabled())
		return -1;
	ensure_headers_linear(skb);
	return parse_packet(skb, pi) ? -1 : 0;
}

SEC("tc")
int step_config(struct __sk_buff *skb)
{
	if (!config_if_enabled())
		return TC_ACT_UNSPEC;
	return TC_ACT_UNSPEC;
}

SEC("tc")
int step_parse(struct __sk_buff *skb)
{
	struct pkt_info pi;

	if (config_and_parse(skb, &pi))
		return TC_ACT_UNSPEC;
	/* keep the parse from being optimised away */
	skb->cb[0] = pi.saddr.addr[15];
	return TC_ACT_UNSPEC;
}

SEC("tc")
int step_ep(struct __sk_buff *skb)
{
	struct tcprio_endpoint *ep;
	struct pkt_info pi;

	if (config_and_parse(skb, &pi))
		return TC_ACT_UNSPEC;
	ep = bpf_map_lookup_elem(&tcprio_endpoints, &pi.saddr);
	if (ep)
		skb->cb[0] = ep->class_id;
	return TC_ACT_UNSPEC;
}

/* Benchmark only: IPv4 endpoints by their 4-byte address (network order). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPRIO_MAX_ENDPOINTS);
	__type(key, __u32);
	__type(value, struct tcprio_endpoint);
} step_ep4_map SEC(".maps");

SEC("tc")
int step_ep4(struct __sk_buff *skb)
{
	struct tcprio_endpoint *ep;
	struct pkt_info pi;
	__u32 k;

	if (config_and_parse(skb, &pi))
		return TC_ACT_UNSPEC;
	k = pi.family == 4 ? ((__u32 *)pi.saddr.addr)[3] : 0;
	ep = bpf_map_lookup_elem(&step_ep4_map, &k);
	if (ep)
		skb->cb[0] = ep->class_id;
	return TC_ACT_UNSPEC;
}

SEC("tc")
int step_src(struct __sk_buff *skb)
{
	struct pkt_info pi;
	__u32 class_id;

	if (config_and_parse(skb, &pi))
		return TC_ACT_UNSPEC;
	if (pod_edge_source_class(&pi, &class_id))
		skb->cb[0] = class_id;
	return TC_ACT_UNSPEC;
}

SEC("tc")
int step_class(struct __sk_buff *skb)
{
	struct tcprio_class *cls;
	struct pkt_info pi;
	__u32 class_id;

	if (config_and_parse(skb, &pi))
		return TC_ACT_UNSPEC;
	if (!pod_edge_source_class(&pi, &class_id))
		return TC_ACT_UNSPEC;
	cls = valid_class(class_id);
	if (cls)
		skb->priority = cls->priority;
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
