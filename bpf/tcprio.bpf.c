/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* STUB: replaced by the datapath implementation. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "tcprio_maps.h"

/* Pre-map so the pods map is kept in the object. */
SEC("tc")
int tcprio_pod_edge(struct __sk_buff *skb)
{
	__u64 id = 0;
	bpf_map_lookup_elem(&tcprio_pods, &id);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int tcprio_uplink(struct __sk_buff *skb)
{
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
