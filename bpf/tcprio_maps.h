/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tcprio_maps.h - the maps shared by both TC programs.  All are pinned by
 * name (LIBBPF_PIN_BY_NAME) under the agent's pin folder, default
 * /sys/fs/bpf/tcprio/, so a restarted agent reuses them and classification
 * goes on while it is down.  Layouts: include/tcprio.h.
 */
#ifndef TCPRIO_MAPS_H
#define TCPRIO_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tcprio.h"

/* Pod IP -> class and pod identity. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPRIO_MAX_ENDPOINTS);
	__type(key, struct tcprio_ip);
	__type(value, struct tcprio_endpoint);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_endpoints SEC(".maps");

/* (pod IP, protocol, port) -> class. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPRIO_MAX_PORT_RULES);
	__type(key, struct tcprio_port_key);
	__type(value, struct tcprio_port_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_port_rules SEC(".maps");

/* Class id -> skb->priority, DSCP, flags, name. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCPRIO_MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct tcprio_class);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_classes SEC(".maps");

/* DSCP -> class id, for the uplink. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCPRIO_DSCP_VALUES);
	__type(key, __u32);
	__type(value, struct tcprio_dscp_class);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_dscp_classes SEC(".maps");

/* One entry (key 0): default class and switches. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcprio_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_config SEC(".maps");

/* Per-CPU packets and bytes per (hook, class): index TCPRIO_STATS_KEY().
 * An array, not a hash keyed by interface: the lookup is inlined by the
 * verifier (no hash, no insert path) and pod churn cannot fill it. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCPRIO_STATS_ENTRIES);
	__type(key, __u32);
	__type(value, struct tcprio_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_stats SEC(".maps");

/* Fragmented datagram -> class its first-seen fragment got, so that every
 * fragment of a datagram of a port-rule endpoint gets one class.  LRU:
 * bounded, old datagrams fall out by themselves (classify.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TCPRIO_MAX_FRAGS);
	__type(key, struct tcprio_frag_key);
	__type(value, struct tcprio_frag);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_frags SEC(".maps");

/* Endpoint filter (include/tcprio.h, bpf/classify.h source_class): which
 * addresses may be in tcprio_endpoints.  Mapped into the writers' memory
 * (BPF_F_MMAPABLE) so that they set bits with atomic operations. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCPRIO_EP_FILTER_ENTRIES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_ep_filter SEC(".maps");

/* Endpoint slots (include/tcprio.h, bpf/classify.h endpoint_entry):
 * copies of tcprio_endpoints entries, read before the hash. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCPRIO_EP_SLOTS);
	__type(key, __u32);
	__type(value, struct tcprio_ep_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_ep_slots SEC(".maps");

/* Source cache (include/tcprio.h, bpf/classify.h source_class). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCPRIO_SRC_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct tcprio_src_cache_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_src_cache SEC(".maps");

/* Destination cache (include/tcprio.h, bpf/classify.h destination_scope). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCPRIO_DST_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct tcprio_dst_cache_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_dst_cache SEC(".maps");

/* Rule blocks (include/tcprio.h, bpf/classify.h port_class): the port
 * rules of pods with more than TCPRIO_EP_INLINE_RULES.  Written by the
 * agent. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCPRIO_RULE_BLOCKS);
	__type(key, __u32);
	__type(value, struct tcprio_rule_block);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_rule_blocks SEC(".maps");

/* Trust slots (include/tcprio.h, bpf/trust.h trust_iface_flags): the
 * trusted interfaces of tcprio_trust_ifaces, as an array.  Written by the
 * agent. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCPRIO_TRUST_SLOTS);
	__type(key, __u32);
	__type(value, struct tcprio_trust_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_trust_slots SEC(".maps");

/* Host cgroup cache (include/tcprio.h, bpf/host.h host_cgroup_rule). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCPRIO_CG_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct tcprio_cg_cache_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_cg_cache SEC(".maps");

/* One entry (key 0): changed by every writer of tcprio_endpoints,
 * tcprio_port_rules, tcprio_destinations,
 * tcprio_host_cgroups or tcprio_host_config after its write, so cache
 * entries (tcprio_src_cache, tcprio_dst_cache,
 * tcprio_cg_cache) filled before it are not used (user/dp/datapath.h
 * datapath_note_change). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_cache_gen SEC(".maps");

/* Per-CPU event counters: key hook * TCPRIO_EV_COUNT + enum tcprio_event. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCPRIO_HOOK_COUNT * TCPRIO_EV_COUNT);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_events SEC(".maps");

/* Ingress ifindex -> TCPRIO_TRUST_* flags: where the uplink trusts the
 * DSCP of forwarded packets (bpf/trust.h).  Written by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPRIO_MAX_TRUST_IFACES);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_trust_ifaces SEC(".maps");

/* trustDscpFrom CIDRs (source address, longest prefix) -> 1. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TCPRIO_MAX_TRUST_CIDRS);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for LPM_TRIE */
	__type(key, struct tcprio_trust_cidr_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_trust_cidrs SEC(".maps");

/* Pod id -> "namespace/name"; written by the agent, read by operators. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPRIO_MAX_PODS);
	__type(key, __u64);
	__type(value, struct tcprio_pod);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_pods SEC(".maps");

/* Host traffic (bpf/host.h): cgroup v2 id -> class, for packets sent by
 * local sockets in that cgroup or below it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPRIO_MAX_HOST_CGROUPS);
	__type(key, __u64);
	__type(value, struct tcprio_host_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_host_cgroups SEC(".maps");

/* Host cgroup answers (include/tcprio.h, bpf/host.h host_cgroup_rule):
 * the walk's answer for each cgroup of the node.  Written by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCPRIO_HOST_ANSWER_SLOTS);
	__type(key, __u32);
	__type(value, struct tcprio_host_answer);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_host_answers SEC(".maps");

/* One entry (key 0): which cgroup ids may have an entry in
 * tcprio_host_cgroups (include/tcprio.h).  Written by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcprio_host_filter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_host_filter SEC(".maps");

/* (protocol, port, destination CIDR) -> class, for local sockets. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TCPRIO_MAX_HOST_DSTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);   /* required for LPM tries */
	__type(key, struct tcprio_host_dst_key);
	__type(value, struct tcprio_host_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_host_dsts SEC(".maps");

/* (host-network pod cgroup id, protocol, port) -> class. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPRIO_MAX_HOST_PORTS);
	__type(key, struct tcprio_host_port_key);
	__type(value, struct tcprio_port_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_host_ports SEC(".maps");

/* One entry (key 0): what the host rules need looked up. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcprio_host_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_host_config SEC(".maps");

/* Per-CPU packets and bytes of local sockets' packets per rule slot
 * (TCPRIO_HOST_SLOT_*), at every uplink. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCPRIO_HOST_SLOTS);
	__type(key, __u32);
	__type(value, struct tcprio_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_host_stats SEC(".maps");

/* Counter slot -> rule text, resolved cgroup id, class; written by the
 * agent, read by operators (not by the programs). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCPRIO_HOST_SLOTS);
	__type(key, __u32);
	__type(value, struct tcprio_host_name);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_host_rules SEC(".maps");

/* Destination prefix -> LAN or WAN, for the uplink (longest prefix wins,
 * no match = WAN).  Written by the agent from the site's Nodes and the
 * class table's localCIDRs/remoteCIDRs.  LPM tries need BPF_F_NO_PREALLOC. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TCPRIO_MAX_DESTINATIONS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tcprio_dest_key);
	__type(value, struct tcprio_dest);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_destinations SEC(".maps");

/* tcprio_destinations and tcprio_trust_cidrs as lists (include/tcprio.h,
 * bpf/classify.h prefix_list_value).  Written by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCPRIO_PLIST_COUNT);
	__type(key, __u32);
	__type(value, struct tcprio_prefix_list);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_prefix_lists SEC(".maps");

/* Per-CPU packets and bytes leaving uplinks per scope (enum tcprio_scope). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCPRIO_SCOPE_COUNT);
	__type(key, __u32);
	__type(value, struct tcprio_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_scope_stats SEC(".maps");

/* One entry (key 0): the node's site and WAN share, for operators (the
 * programs do not read it). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcprio_site);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcprio_site SEC(".maps");

#endif /* TCPRIO_MAPS_H */
