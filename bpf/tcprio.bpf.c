/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tcprio.bpf.c - the tcprio datapath: two TC (clsact, direct-action)
 * programs sharing the maps of tcprio_maps.h, and the DSCP writer the pod
 * edge tail-calls (never attached).
 *
 *   parse (parse.h) -> look up the class (classify.h) -> act (set
 *   skb->priority, rewrite DSCP: dscp.h) -> count (classify.h).
 *
 * Attached first at each hook (user/dp/datapath.c): a tcx link at the head
 * of the chain where the kernel has tcx, else a clsact filter at pref 1.  A
 * CNI's program that ran before them and returned TC_ACT_OK or a redirect
 * would end the hook before tcprio sees the packet; the agent reports that.
 *
 * Verdict: every program ALWAYS returns TC_ACT_UNSPEC (-1, = TCX_NEXT) and
 * never drops: "no verdict from this program", so the kernel goes on with the
 * next program of the hook (a CNI's own tcx programs and filters, which run
 * after ours) and accepts the packet if there is none.  TC_ACT_OK would end
 * the hook and silently skip those programs, so it is NOT used.  The one
 * way a packet can end here is the kernel's own, in the DSCP writer: a
 * cloned skb whose copy fails for want of memory (tcprio_dscp_writer says
 * why that is not TCP's case).
 *
 * Fail open: a packet we cannot parse (not IP, truncated, unknown header)
 * passes unchanged and is counted as event UNPARSED for the hook.  When the
 * config entry is absent or its `enabled` is 0, both programs pass every
 * packet untouched and uncounted.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "tcprio.h"
#include "tcprio_maps.h"
#include "parse.h"
#include "dscp.h"
#include "classify.h"
#include "host.h"
#include "trust.h"

/*
 * The start both programs share: nothing when tcprio is disabled (NULL);
 * headers pulled into the linear area and parsed into *pi; a packet that
 * cannot be parsed counted as UNPARSED for hook (NULL: pass it unchanged).
 */
static __always_inline struct tcprio_config *
start_packet(struct __sk_buff *skb, __u32 hook, struct pkt_info *pi)
{
	struct tcprio_config *cfg = config_if_enabled();

	if (!cfg)
		return NULL;
	ensure_headers_linear(skb);
	if (parse_packet(skb, pi)) {
		count_event(hook, TCPRIO_EV_UNPARSED);
		return NULL;
	}
	return cfg;
}

/*
 * tcprio_dscp_writer - never attached: tcprio_pod_edge tail-calls it
 * (tcprio_dscp_writers) to write the DSCP of an IPv4 packet that is not TCP
 * with a direct packet write instead of bpf_skb_store_bytes, which saves
 * the helper call (about 45 ns a packet on the development machine: README,
 * "Datapath cost").
 * In: skb->cb[0] = the IPv4 header's offset from skb->data (bits 0..15) |
 * the new TOS byte (bits 16..23), set by the pod edge; cleared here.
 * Changes: TOS and header checksum (dscp.h: skb->csum needs no change);
 * counts TCPRIO_EV_DSCP_REWRITE for the pod edge.  Returns TC_ACT_UNSPEC,
 * the pod edge's verdict.
 * Why not TCP: a program that writes packet data directly runs the
 * verifier's unclone prologue first (net/core/filter.c
 * bpf_unclone_prologue), which copies a cloned skb and DROPS it
 * (TC_ACT_SHOT) if that copy fails.  TCP's skbs are clones (the socket keeps
 * the original for retransmission), so TCP and IPv6 keep
 * bpf_skb_store_bytes, which passes a packet it cannot copy unchanged.
 * Other protocols' skbs are clones only while a packet socket (tcpdump)
 * holds a copy; only then can a failed allocation (GFP_ATOMIC, memory
 * exhausted) drop one here.
 */
SEC("tc")
int tcprio_dscp_writer(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 arg = skb->cb[0], off = arg & 0xffff;
	__u8 new_tos = (arg >> 16) & 0xff;
	struct iphdr *iph;
	__u16 csum;

	skb->cb[0] = 0;
	if (off > TCPRIO_MAX_L3_OFF)  /* bound for the verifier */
		return TC_ACT_UNSPEC;
	iph = data + off;
	if ((void *)(iph + 1) > data_end || iph->version != 4)
		return TC_ACT_UNSPEC;
	csum = ipv4_csum_new_tos(bpf_ntohs(iph->check), *(__u8 *)iph, iph->tos, new_tos);
	iph->tos = new_tos;
	iph->check = bpf_htons(csum);
	count_event(TCPRIO_HOOK_POD_EDGE, TCPRIO_EV_DSCP_REWRITE);
	return TC_ACT_UNSPEC;
}

/* Slot 0: tcprio_dscp_writer (filled by libbpf at load).  Pinned, because
 * the kernel empties a program array when its last user-space reference
 * goes (the agent's exit); an empty slot only means the slower store. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));   /* sizes, not BTF types: the kernel */
	__uint(value_size, sizeof(__u32)); /* takes none for a program array */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, int (struct __sk_buff *));
} tcprio_dscp_writers SEC(".maps") = {
	.values = { [0] = (void *)&tcprio_dscp_writer },
};

/*
 * Set the DSCP of the pod's packet to dscp (keeping ECN), counted as
 * TCPRIO_EV_DSCP_REWRITE: IPv4 packets other than TCP by tail call to
 * tcprio_dscp_writer (this call does not return then), others (and all if
 * the writer is missing) with bpf_skb_store_bytes.  Nothing when the packet
 * has that DSCP already.  Must be the pod edge's last step.
 */
static __always_inline void pod_edge_set_dscp(struct __sk_buff *skb,
					      const struct pkt_info *pi, __u8 dscp)
{
	__u8 new_tos = tos_for_dscp(pi, dscp);

	if (new_tos == pi->tos)
		return;
	if (pi->family == 4 && pi->proto != IPPROTO_TCP) {
		skb->cb[0] = pi->l3_off | (__u32)new_tos << 16;
		bpf_tail_call(skb, &tcprio_dscp_writers, 0);
		skb->cb[0] = 0;
	}
	if (store_tos(skb, pi, new_tos))
		count_event(TCPRIO_HOOK_POD_EDGE, TCPRIO_EV_DSCP_REWRITE);
}

/*
 * tcprio_pod_edge - attached at TC ingress of a pod's host-side veth, so it
 * sees every packet the pod sends.
 * Class: the source endpoint's (with port rules; answered by its endpoint
 * slot, else by the per-CPU source cache when it holds the flow: classify.h
 * pod_edge_source_class); a source
 * without an endpoint entry (a pod the agent does not know yet, or one that routes for
 * others) gets config.default_class when config.sanitize_unknown is set,
 * so that no pod reaches a higher class by setting its own DSCP; else it
 * passes untouched.
 * May change: the packet's DSCP bits (IPv4 TOS + header checksum, IPv6
 * traffic class; ECN kept) when config.rewrite_dscp is set and the class is
 * valid; skb->priority (set to the class's priority; the uplink sets it
 * again where it matters).
 */
SEC("tc")
int tcprio_pod_edge(struct __sk_buff *skb)
{
	const __u32 hook = TCPRIO_HOOK_POD_EDGE;
	struct tcprio_config *cfg;
	struct tcprio_class *cls;
	struct pkt_info pi;
	__u32 class_id;

	cfg = start_packet(skb, hook, &pi);
	if (!cfg)
		return TC_ACT_UNSPEC;
	if (!pod_edge_source_class(&pi, &class_id)) {
		count_event(hook, TCPRIO_EV_ENDPOINT_MISS);
		if (!cfg->sanitize_unknown)
			return TC_ACT_UNSPEC;
		class_id = cfg->default_class;
		count_event(hook, TCPRIO_EV_DEFAULT);
	}
	cls = valid_class(class_id);
	count_class(skb, hook, class_id);
	if (cls) {
		skb->priority = cls->priority;
		if (cfg->rewrite_dscp)
			pod_edge_set_dscp(skb, &pi, cls->dscp);   /* last */
	}
	return TC_ACT_UNSPEC;
}

/* The class tcprio_dscp_classes maps the packet's DSCP to (if valid), else
 * config.default_class; counted as event DSCP_HIT or DEFAULT. */
static __always_inline __u32 dscp_class(const struct pkt_info *pi,
					const struct tcprio_config *cfg)
{
	__u32 dscp = pi->tos >> 2;
	struct tcprio_dscp_class *dc = bpf_map_lookup_elem(&tcprio_dscp_classes, &dscp);

	if (dc && dc->valid) {
		count_event(TCPRIO_HOOK_UPLINK, TCPRIO_EV_DSCP_HIT);
		return dc->class_id;
	}
	count_event(TCPRIO_HOOK_UPLINK, TCPRIO_EV_DEFAULT);
	return cfg->default_class;
}

/*
 * Class of a packet the host rules did not classify.  A packet no local
 * socket sent (forwarded, or encapsulated here; local 0): with
 * config.trust_dscp, the class its DSCP names when tcprio wrote that DSCP
 * (dscp_written_by_tcprio, bpf/trust.h: a pod edge, a tunnel, a
 * trustDscpFrom interface, a gateway), with no source lookup; else the
 * source endpoint's (with port rules); else, from a source in
 * tcprio_trust_cidrs, its DSCP's; else config.default_class.  A local
 * socket's packet (local 1): the source endpoint's class, else the default
 * class, never its own DSCP.  One source_class call site, so that the
 * uplink inlines it once.
 */
static __always_inline __u32 uplink_class(struct __sk_buff *skb, struct pkt_info *pi,
					  const struct tcprio_config *cfg, int local)
{
	struct tcprio_src_cache_entry *e = NULL;
	__u32 class_id;

	if (!local && cfg->trust_dscp && dscp_written_by_tcprio(skb, cfg))
		return dscp_class(pi, cfg);
	if (source_class(pi, TCPRIO_HOOK_UPLINK, &class_id, &e))
		return class_id;
	if (!local && cfg->trust_dscp && source_trusted(pi, e))
		return dscp_class(pi, cfg);
	count_event(TCPRIO_HOOK_UPLINK, TCPRIO_EV_DEFAULT);
	return cfg->default_class;
}

/*
 * tcprio_uplink - attached at TC egress of each node uplink.
 * Class: for a packet sent by a local socket (host process, host-network
 * pod; bpf/host.h) the class of its cgroup's host rule or its destination
 * rule, else uplink_class (above: for a forwarded packet its DSCP where
 * tcprio wrote it, else its source endpoint's).
 * Scope: the destination's longest prefix in tcprio_destinations (no
 * match: WAN), for every classified packet (host rules included).
 * May change: skb->priority (TCPRIO_LAN_PRIORITY, the HTB tree's LAN leaf,
 * for LAN destinations; else the class's priority when the class is valid:
 * its leaf under the WAN branch); and the DSCP bits of
 * packets classified by a host rule, when config.rewrite_dscp is set (ECN
 * and checksum as at the pod edge: dscp.h).  Forwarded packets' bytes are
 * never changed: the pod edge already wrote their DSCP.
 */
SEC("tc")
int tcprio_uplink(struct __sk_buff *skb)
{
	const __u32 hook = TCPRIO_HOOK_UPLINK;
	struct tcprio_config *cfg;
	struct tcprio_class *cls;
	struct pkt_info pi;
	__u32 class_id;
	int local;

	cfg = start_packet(skb, hook, &pi);
	if (!cfg)
		return TC_ACT_UNSPEC;
	local = sent_by_local_socket(skb);
	if (local && host_class(skb, &pi, &class_id)) {
		cls = valid_class(class_id);
		if (cls && cfg->rewrite_dscp && rewrite_dscp(skb, &pi, cls->dscp))
			count_event(hook, TCPRIO_EV_DSCP_REWRITE);
	} else {
		class_id = uplink_class(skb, &pi, cfg, local);
		cls = valid_class(class_id);
	}
	/* one call site, so that the destination lookup is inlined once */
	set_uplink_priority(skb, &pi, cls);
	count_class(skb, hook, class_id);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
