/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tcprio.bpf.c - the tcprio datapath: two TC (clsact, direct-action)
 * programs sharing the maps of tcprio_maps.h.
 *
 *   parse (parse.h) -> look up the class (classify.h) -> act (set
 *   skb->priority, rewrite DSCP: dscp.h) -> count (classify.h).
 *
 * Attached first at each hook (user/dp/datapath.c): a tcx link at the head
 * of the chain where the kernel has tcx, else a clsact filter at pref 1.  A
 * CNI's program that ran before them and returned TC_ACT_OK or a redirect
 * would end the hook before tcprio sees the packet; the agent reports that.
 *
 * Verdict: both programs ALWAYS return TC_ACT_UNSPEC (-1, = TCX_NEXT) and
 * never drop: "no verdict from this program", so the kernel goes on with the
 * next program of the hook (a CNI's own tcx programs and filters, which run
 * after ours) and accepts the packet if there is none.  TC_ACT_OK would end
 * the hook and silently skip those programs, so it is NOT used.
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
 * tcprio_pod_edge - attached at TC ingress of a pod's host-side veth, so it
 * sees every packet the pod sends.
 * Class: the source endpoint's (with port rules; answered by the per-CPU
 * source cache when it holds the flow, classify.h source_class); a source
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
	if (!source_class(&pi, hook, &class_id)) {
		count_event(hook, TCPRIO_EV_ENDPOINT_MISS);
		if (!cfg->sanitize_unknown)
			return TC_ACT_UNSPEC;
		class_id = cfg->default_class;
		count_event(hook, TCPRIO_EV_DEFAULT);
	}
	cls = valid_class(class_id);
	if (cls) {
		skb->priority = cls->priority;
		if (cfg->rewrite_dscp && rewrite_dscp(skb, &pi, cls->dscp))
			count_event(hook, TCPRIO_EV_DSCP_REWRITE);
	}
	count_class(skb, hook, class_id);
	return TC_ACT_UNSPEC;
}

/*
 * tcprio_uplink - attached at TC egress of each node uplink.
 * Class: for a packet sent by a local socket (host process, host-network
 * pod; bpf/host.h) the class of its cgroup's host rule or its destination
 * rule; otherwise a local endpoint hit on the source IP (with port rules);
 * else, for a local socket's packet, the default class (never its own
 * DSCP); else, if config.trust_dscp and the DSCP was
 * written where tcprio trusts it (dscp_trusted, bpf/trust.h), the class
 * tcprio_dscp_classes maps it to (if valid); else config.default_class.
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

	cfg = start_packet(skb, hook, &pi);
	if (!cfg)
		return TC_ACT_UNSPEC;
	if (sent_by_local_socket(skb) && host_class(skb, &pi, &class_id)) {
		cls = valid_class(class_id);
		if (cls && cfg->rewrite_dscp && rewrite_dscp(skb, &pi, cls->dscp))
			count_event(hook, TCPRIO_EV_DSCP_REWRITE);
		set_uplink_priority(skb, &pi, cls);
		count_class(skb, hook, class_id);
		return TC_ACT_UNSPEC;
	}
	if (source_class(&pi, hook, &class_id)) {
		/* class_id: the source endpoint's */
	} else if (sent_by_local_socket(skb)) {
		class_id = cfg->default_class;   /* never its own DSCP */
		count_event(hook, TCPRIO_EV_DEFAULT);
	} else {
		__u32 ev = TCPRIO_EV_DEFAULT;

		class_id = cfg->default_class;
		if (cfg->trust_dscp && dscp_trusted(skb, cfg, &pi)) {
			__u32 dscp = pi.tos >> 2;
			struct tcprio_dscp_class *dc =
				bpf_map_lookup_elem(&tcprio_dscp_classes, &dscp);

			if (dc && dc->valid) {
				class_id = dc->class_id;
				ev = TCPRIO_EV_DSCP_HIT;
			}
		}
		count_event(hook, ev);
	}
	set_uplink_priority(skb, &pi, valid_class(class_id));
	count_class(skb, hook, class_id);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
