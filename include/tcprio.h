/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tcprio.h - structs and constants shared by the eBPF datapath (bpf/) and
 * the user-space agent and CLI (user/).
 *
 * Every map is declared in bpf/tcprio_maps.h with these types as BTF key and
 * value types, so `bpftool map dump pinned /sys/fs/bpf/tcprio/<map>` prints
 * the field names below.  Only fixed-width __u* types are used here so that
 * the layout is identical in clang -target bpf and in gcc on the host.
 *
 * Byte order: addresses are in network byte order; ports, class ids,
 * priorities and counters are in host byte order.
 */
#ifndef TCPRIO_H
#define TCPRIO_H

#include <linux/types.h>

/* Capacities (entries).  Sized for a node with up to 100,000 endpoints. */
#define TCPRIO_MAX_CLASSES     16      /* class ids 0..15 */
#define TCPRIO_MAX_ENDPOINTS   131072  /* pod IPs (IPv4 + IPv6) */
#define TCPRIO_MAX_PORT_RULES  65536   /* (pod IP, protocol, port) rules */
#define TCPRIO_MAX_PODS        65536   /* pod identities (tcprio_pods) */
#define TCPRIO_MAX_FRAGS       4096    /* fragmented datagrams remembered
                                          (LRU; see tcprio_frags) */
#define TCPRIO_DSCP_VALUES     64      /* 6-bit DSCP, RFC 2474 section 3 */
#define TCPRIO_MAX_TRUST_IFACES 65536  /* ingress interfaces whose DSCP the uplink trusts */
#define TCPRIO_MAX_TRUST_CIDRS  256    /* trustDscpFrom CIDRs */

#define TCPRIO_CLASS_NAME_LEN  16      /* bytes incl. NUL */
#define TCPRIO_POD_NAME_LEN    128     /* "namespace/name" bytes incl. NUL */

/* tc filter identity (legacy clsact mode, kernels without tcx): every
 * filter tcprio attaches uses this handle and priority, so attach is
 * idempotent and detach touches only our filters.  Priority 1 puts it at
 * the head of the chain (a CNI's filters at pref 1 too are passed by moving
 * ours to the front, see user/dp/datapath.c).  The handle is arbitrary;
 * 0x7c1 reads "tc1".  Versions before tcx support used priority 0x7c1
 * (1985), behind most CNIs' filters; attach removes such a filter. */
#define TCPRIO_TC_HANDLE       0x7c1
#define TCPRIO_TC_PRIORITY     1
#define TCPRIO_TC_PRIORITY_OLD 0x7c1

#define TCPRIO_MAX_DESTINATIONS 65536  /* LAN/WAN prefixes (tcprio_destinations) */

/* skb->priority of LAN traffic on an uplink: the HTB tree's LAN leaf 1:fffe
 * (user/dp/uplink_qdisc.h), which runs at the link's own rate.  Class
 * table priorities must not use it. */
#define TCPRIO_LAN_PRIORITY    0x0001fffe

/* Hooks (index into the counter maps). */
enum tcprio_hook {
	TCPRIO_HOOK_POD_EDGE = 0, /* TC ingress of a pod's host-side veth */
	TCPRIO_HOOK_UPLINK   = 1, /* TC egress of a node uplink */
	TCPRIO_HOOK_COUNT    = 2,
};

/*
 * Endpoint map key: one IP address.  IPv4 is stored as an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2) so IPv4 and IPv6 share
 * one keyspace.  16 bytes, network byte order.
 */
struct tcprio_ip {
	__u8 addr[16];
};

/* Why an endpoint has its class (struct tcprio_endpoint.source). */
enum tcprio_source {
	TCPRIO_SRC_DEFAULT    = 0, /* no annotation, no label rule matched */
	TCPRIO_SRC_ANNOTATION = 1, /* tcprio.io/class annotation */
	TCPRIO_SRC_LABEL_RULE = 2, /* a matchLabels rule of the class table */
	TCPRIO_SRC_MANUAL     = 3, /* `tcprio endpoint add` */
	TCPRIO_SRC_BAD_ANNOTATION = 4, /* annotation rejected: default class */
};

/* struct tcprio_endpoint.flags */
#define TCPRIO_EP_HAS_PORT_RULES  (1U << 0) /* look up tcprio_port_rules */
/* Protocols the endpoint's port rules name.  When any of these is set, only
 * packets of a named protocol look up tcprio_port_rules (a TCP packet of a
 * pod with only a UDP rule pays no lookup); when none is set (an older
 * writer), every TCP/UDP/SCTP packet does. */
#define TCPRIO_EP_RULES_TCP       (1U << 1)
#define TCPRIO_EP_RULES_UDP       (1U << 2)
#define TCPRIO_EP_RULES_SCTP      (1U << 3)
#define TCPRIO_EP_RULES_PROTOS    (TCPRIO_EP_RULES_TCP | TCPRIO_EP_RULES_UDP | \
                                   TCPRIO_EP_RULES_SCTP)
#define TCPRIO_EP_CAPPED          (1U << 4) /* class (or a port rule's) lowered to
					       the namespace ceiling (issue 12) */
#define TCPRIO_EP_PORT_BITS       (1U << 5) /* rule_ports is valid: a packet
					       whose source and destination
					       ports both have a clear bit there
					       needs no tcprio_port_rules lookup */
#define TCPRIO_EP_RULES_INLINE    (1U << 6) /* every port rule of the endpoint
					       is in rules[] (at most
					       TCPRIO_EP_INLINE_RULES): no
					       tcprio_port_rules lookup */
#define TCPRIO_EP_RULES_BLOCK     (1U << 7) /* every port rule of the endpoint
					       is in tcprio_rule_blocks
					       [rule_block] if that block's
					       pod_id is the endpoint's: no
					       tcprio_port_rules lookup */
/* Bits 8..15 of flags with TCPRIO_EP_CAPPED: which rule set the ceiling:
 * 0 defaultCeiling, 255 namespace not known yet (the strictest ceiling),
 * else namespaceCeilings[value - 1]. */
#define TCPRIO_EP_CEILING_SHIFT   8
#define TCPRIO_EP_CEILING_UNKNOWN 255

/* The bit of struct tcprio_endpoint.rule_ports for a port (host order). */
#define TCPRIO_EP_PORT_BIT(port)  (1ULL << ((port) & 63))

/* Port rules kept in the endpoint entry itself (struct tcprio_endpoint
 * rules[]): a pod with at most this many pays no hash lookup for them. */
#define TCPRIO_EP_INLINE_RULES    4

/* One port rule in an endpoint entry or rule block.  4 bytes.  An unused
 * slot has protocol 0, which no packet with ports has. */
struct tcprio_ep_rule {
	__u16 port;      /* host byte order */
	__u8  protocol;  /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP; 0: unused */
	__u8  class_id;  /* index into tcprio_classes (< TCPRIO_MAX_CLASSES) */
};

/*
 * Rule blocks (tcprio_rule_blocks, ARRAY, key: __u32 block index): the port
 * rules of a pod with more than TCPRIO_EP_INLINE_RULES of them, so that its
 * packets pay an inlined array lookup instead of up to two hash lookups in
 * tcprio_port_rules (which still holds every rule).  A block is in use by
 * the pod whose pod_id it holds (0: free).  The writer (user/sync) fills a
 * block, then points the pod's endpoint entries at it
 * (TCPRIO_EP_RULES_BLOCK, rule_block), and frees it after they point
 * elsewhere; a block that changed hands meanwhile holds another pod_id,
 * and the datapath then looks the rules up in tcprio_port_rules.  A node
 * runs a few hundred pods at most, so the blocks run out only with more
 * than TCPRIO_RULE_BLOCKS pods of many rules; those pods use the hash.
 */
#define TCPRIO_RULE_BLOCKS      1024
#define TCPRIO_BLOCK_RULES      32   /* = POLICY_MAX_PORT_RULES (user/policy/policy.h) */

/* tcprio_rule_blocks value.  144 bytes.  rules[0..n_rules) are sorted by
 * the key (protocol << 16 | port), so that the datapath finds a port by
 * binary search (bpf/classify.h block_find); the rest hold protocol
 * TCPRIO_BLOCK_PROTO_NONE and port 0xffff, a key above every rule's. */
#define TCPRIO_BLOCK_PROTO_NONE 255
struct tcprio_rule_block {
	__u64 pod_id;    /* the pod using the block (struct tcprio_endpoint); 0: free */
	__u32 n_rules;   /* 0..TCPRIO_BLOCK_RULES */
	__u32 pad;       /* must be 0 */
	struct tcprio_ep_rule rules[TCPRIO_BLOCK_RULES];
};

/*
 * tcprio_endpoints value (key: struct tcprio_ip).  40 bytes.
 * pod_id tells two pods that held the same (reused) IP apart; the agent
 * deletes an IP entry only if its pod_id is the deleted pod's.
 * rule_ports (with TCPRIO_EP_PORT_BITS): TCPRIO_EP_PORT_BIT(port) set for
 * every port the endpoint's port rules name, so the datapath looks up only
 * the packet ports whose bit is set: a packet of a pod with port rules
 * that matches none of them usually pays no rule lookup (a port whose bit
 * is shared with a rule's, port % 64, pays one that misses).
 * rules (with TCPRIO_EP_RULES_INLINE): the endpoint's port rules when it
 * has at most TCPRIO_EP_INLINE_RULES, the same ones tcprio_port_rules
 * holds (which `tcprio status` and bpftool read), so that the datapath
 * compares instead of looking them up.
 */
struct tcprio_endpoint {
	__u64 pod_id;    /* 64-bit FNV-1a hash of the pod UID; never 0 */
	__u32 class_id;  /* index into tcprio_classes */
	__u16 flags;     /* TCPRIO_EP_* */
	__u8  source;    /* enum tcprio_source */
	__u8  asked_class; /* TCPRIO_EP_CAPPED: the class the pod asked for
			      (by source); else 0.  Was pad. */
	__u64 rule_ports;  /* TCPRIO_EP_PORT_BITS: see above; else 0 */
	union {
		/* TCPRIO_EP_RULES_INLINE: see above */
		struct tcprio_ep_rule rules[TCPRIO_EP_INLINE_RULES];
		/* TCPRIO_EP_RULES_BLOCK: index into tcprio_rule_blocks */
		__u32 rule_block;
	};
};

/*
 * tcprio_port_rules key.  20 bytes.  A rule matches a packet from the pod
 * (pod edge: source IP; uplink: source IP) whose source port (the pod serves
 * on it) or, failing that, destination port (the pod connects to it) equals
 * port.  The source port is tried first.
 */
struct tcprio_port_key {
	struct tcprio_ip ip; /* pod IP, as in tcprio_endpoints */
	__u16 port;          /* host byte order */
	__u8  protocol;      /* IPPROTO_TCP (6), IPPROTO_UDP (17), IPPROTO_SCTP (132) */
	__u8  pad;           /* must be 0 */
};

/* tcprio_port_rules value. */
struct tcprio_port_rule {
	__u32 class_id;
};

/* struct tcprio_class.flags */
#define TCPRIO_CLASS_VALID  (1U << 0) /* slot holds a configured class */

/*
 * tcprio_classes value (ARRAY, key: __u32 class id 0..TCPRIO_MAX_CLASSES-1).
 * 24 bytes.
 */
struct tcprio_class {
	__u32 priority;  /* skb->priority: a classid TC_H_MAKE(major<<16, minor)
	                    in tc's hex notation, e.g. 1:10 = 0x00010010, or a
	                    prio-qdisc band (linux/pkt_sched.h) */
	__u8  dscp;      /* DSCP 0..63 written into IPv4 TOS / IPv6 TC */
	__u8  flags;     /* TCPRIO_CLASS_* */
	__u16 pad;
	char  name[TCPRIO_CLASS_NAME_LEN]; /* for operators; unused by BPF */
};

/* tcprio_dscp_classes value (ARRAY, key: __u32 DSCP 0..63). */
struct tcprio_dscp_class {
	__u32 class_id;
	__u32 valid;     /* 1 if this DSCP maps to class_id */
};

/* tcprio_config.trust_dscp of a gateway without trustDscpFrom: the DSCP of
 * every forwarded packet is trusted (the site's nodes wrote it); older
 * programs read it as 1. */
#define TCPRIO_TRUST_DSCP_FORWARDED 2

/* tcprio_config value (ARRAY with one entry, key 0). */
struct tcprio_config {
	__u32 default_class; /* class of packets that nothing else classifies */
	__u8  trust_dscp;    /* uplink: classify by DSCP where tcprio wrote it
				(bpf/trust.h); TCPRIO_TRUST_DSCP_FORWARDED: of
				every packet no local socket sent */
	__u8  rewrite_dscp;  /* pod edge: rewrite DSCP to the class's */
	__u8  enabled;       /* 0: programs pass everything untouched, uncounted */
	__u8  sanitize_unknown; /* pod edge: a source with no endpoint entry gets
				   the default class and its DSCP (was pad: 0
				   in pins of older agents = off) */
};

/*
 * DSCP trust at the uplink (bpf/trust.h).  The uplink classifies a packet
 * that no local socket sent by its DSCP, without looking up its source,
 * when tcprio wrote that DSCP: the packet came in through a pod edge
 * (with config.rewrite_dscp) or a tunnel or trustDscpFrom interface of
 * tcprio_trust_ifaces, or was encapsulated on this node (no ingress
 * interface, no socket).  From any other interface it looks up the source
 * endpoint, and if there is none classifies by DSCP only a source in
 * tcprio_trust_cidrs.
 */
/* tcprio_trust_ifaces value flags (key: __u32 ingress ifindex). */
#define TCPRIO_TRUST_POD_EDGE (1U << 0) /* runs the pod edge (or a bridge of
					   only such ports): DSCP written by
					   tcprio when config.rewrite_dscp */
#define TCPRIO_TRUST_TUNNEL   (1U << 1) /* tunnel device (vxlan, geneve, ipip,
					   gre, ...): decapsulated from a node
					   whose pod edge wrote the DSCP */
#define TCPRIO_TRUST_CONFIG   (1U << 2) /* named in trustDscpFrom */

/* tcprio_trust_cidrs key (LPM_TRIE): prefixlen counts bits of ip, IPv4
 * CIDRs as IPv4-mapped (a.b.c.d/n -> ::ffff:a.b.c.d/(96 + n)).  20 bytes. */
struct tcprio_trust_cidr_key {
	__u32 prefixlen;
	struct tcprio_ip ip;
};

/*
 * tcprio_stats (PERCPU_ARRAY) index: counters per hook and class, summed
 * over every interface of the hook.  A fixed key space that no interface
 * can exhaust, whatever the pod churn (no per-ifindex keys).
 */
#define TCPRIO_STATS_KEY(hook, class_id) ((hook) * TCPRIO_MAX_CLASSES + (class_id))
#define TCPRIO_STATS_ENTRIES   (TCPRIO_HOOK_COUNT * TCPRIO_MAX_CLASSES)

/* Where a packet leaving an uplink goes (struct tcprio_dest.scope, and the
 * index of tcprio_scope_stats).  WAN is 0: no entry in
 * tcprio_destinations means WAN. */
enum tcprio_scope {
	TCPRIO_SCOPE_WAN = 0, /* crosses the WAN: the class's WAN leaf */
	TCPRIO_SCOPE_LAN = 1, /* stays on the site's LAN: the LAN leaf */
	TCPRIO_SCOPE_COUNT = 2,
};

/* Why a prefix is in tcprio_destinations (struct tcprio_dest.source). */
enum tcprio_dest_source {
	TCPRIO_DEST_NODE_ADDR   = 1, /* status.addresses of a node of this site */
	TCPRIO_DEST_POD_CIDR    = 2, /* spec.podCIDRs of a node of this site */
	TCPRIO_DEST_LOCAL_CIDR  = 3, /* localCIDRs of the class table */
	TCPRIO_DEST_REMOTE_CIDR = 4, /* remoteCIDRs of the class table */
};

/*
 * tcprio_destinations key (LPM_TRIE).  20 bytes.  prefixlen counts bits of
 * addr (0..128); IPv4 is IPv4-mapped like tcprio_ip, so a.b.c.d/n has
 * prefixlen 96 + n.  The longest matching prefix wins.
 */
struct tcprio_dest_key {
	__u32 prefixlen;  /* host byte order, as the LPM trie requires */
	__u8  addr[16];   /* network byte order, host bits 0 */
};

/* tcprio_destinations value.  4 bytes. */
struct tcprio_dest {
	__u8  scope;      /* enum tcprio_scope */
	__u8  source;     /* enum tcprio_dest_source, for operators */
	__u16 pad;        /* must be 0 */
};

/*
 * Prefix lists (tcprio_prefix_lists, ARRAY, key enum tcprio_prefix_list_id):
 * the contents of a small LPM trie as a list the programs scan with
 * inlined array reads (bpf/classify.h prefix_list_value), because a trie
 * lookup is a kernel call, about 35-45 ns on the development machine
 * (README, "Datapath cost"), as much as the empty program.  Written by the
 * agent from the trie after each write of it (user/dp/prefix_list.c):
 * longest prefix first, and without the prefixes that change no answer (a
 * prefix whose nearest covering prefix gives the same value, or that no
 * prefix covers and whose value is 0, the no-match answer), so the first
 * entry that holds an address gives its longest match's value.  When more
 * than TCPRIO_PREFIX_LIST_MAX entries are left, valid is 0 and the programs
 * look up the trie, as they do before any list is written.  Written after
 * the trie and before the cache generation bump (the uplink keeps list
 * answers in tcprio_dst_cache and tcprio_src_cache, like the trie's).  An
 * array entry is rewritten in place, so a packet that reads a list while
 * the agent rewrites it can see part of the old and part of the new one:
 * its destination may count as WAN, or its source as untrusted, for that
 * one packet (a zeroed entry answers 0); the bump that follows the write
 * drops any answer cached from it.
 */
#define TCPRIO_PREFIX_LIST_MAX 16
enum tcprio_prefix_list_id {
	TCPRIO_PLIST_DESTINATIONS = 0, /* tcprio_destinations; value: enum tcprio_scope */
	TCPRIO_PLIST_TRUST_CIDRS  = 1, /* tcprio_trust_cidrs; value: 1 (trusted) */
	TCPRIO_PLIST_COUNT        = 2,
};

/* One prefix of a list: an address a is in it when a & mask == addr, word
 * by word.  Words as in struct tcprio_ip (network byte order, IPv4
 * mapped: a.b.c.d/n has the 96 + n top bits of mask set).  36 bytes. */
struct tcprio_prefix {
	__u32 addr[4];    /* host bits 0 */
	__u32 mask[4];
	__u32 value;      /* the trie entry's answer (see enum tcprio_prefix_list_id) */
};

/* tcprio_prefix_lists value.  584 bytes. */
struct tcprio_prefix_list {
	__u32 valid;      /* 1: entries[0..count) answer as the trie does */
	__u32 count;      /* <= TCPRIO_PREFIX_LIST_MAX */
	struct tcprio_prefix entries[TCPRIO_PREFIX_LIST_MAX]; /* longest prefix first */
};

/*
 * tcprio_site value (ARRAY with one entry, key 0).  Written by the agent
 * only, so that `tcprio status` and bpftool can show the node's site and
 * WAN share; the programs do not read it.  104 bytes.
 */
struct tcprio_site {
	char  name[64];      /* siteLabel value, or the node's name if unlabelled */
	__u64 share_bps;     /* this node's WAN share, bits/s (0: WAN not shaped) */
	__u64 budget_bps;    /* the site's WAN budget, bits/s (0: none) */
	__u64 link_bps;      /* the LAN branch rate (the link's speed), 0: no tree */
	__u32 nodes;         /* nodes of the site */
	__u32 ready_nodes;
	__u8  labelled;      /* 0: the node has no siteLabel (a site of its own) */
	__u8  gateway;       /* 1: agent --gateway */
	__u16 pad;
	__u32 pad2;
};

/* tcprio_stats and tcprio_scope_stats value: one per CPU; user space sums them. */
struct tcprio_counters {
	__u64 packets;   /* GSO packets count gso_segs */
	__u64 bytes;     /* skb->len: L2 frame bytes as the hook sees them */
};

/* tcprio_events index (PERCPU_ARRAY, key: hook * TCPRIO_EV_COUNT + event). */
enum tcprio_event {
	TCPRIO_EV_UNPARSED      = 0, /* not IP, truncated or unknown header */
	TCPRIO_EV_ENDPOINT_MISS = 1, /* source IP not in tcprio_endpoints */
	TCPRIO_EV_DSCP_REWRITE  = 2, /* DSCP rewritten */
	TCPRIO_EV_DSCP_HIT      = 3, /* uplink: class taken from DSCP */
	TCPRIO_EV_DEFAULT       = 4, /* default class used */
	TCPRIO_EV_FRAG_MISS     = 5, /* non-first fragment of a port-rule
	                                endpoint before its first fragment
	                                (or after its entry was evicted):
	                                the datagram gets the pod's class */
	TCPRIO_EV_COUNT         = 6,
};

/*
 * tcprio_frags key (LRU_HASH): one fragmented datagram (RFC 791 / RFC 8200
 * section 4.5: fragments of one datagram share source, destination,
 * protocol and identification).  40 bytes, addresses as struct tcprio_ip.
 */
struct tcprio_frag_key {
	struct tcprio_ip saddr;
	struct tcprio_ip daddr;
	__u32 id;        /* IPv4 ID (16 bits) / IPv6 fragment ID, network order */
	__u8  proto;     /* L4 protocol (IPv6: after the fragment header) */
	__u8  pad[3];    /* must be 0 */
};

/* tcprio_frags value: the class the datagram's first-seen fragment got. */
struct tcprio_frag {
	__u32 class_id;
};

/*
 * Source cache (bpf/classify.h, source_class): a small per-CPU array in
 * front of tcprio_endpoints and tcprio_port_rules, because a hash lookup
 * is a chain of kernel function calls (~30 ns on the project's test
 * machine, as much as the empty program: README "Datapath cost") while an
 * array lookup is inlined by the verifier.  One slot per (source address,
 * protocol, ports) hash; an entry is used only while it is from the
 * current jiffy and its gen equals tcprio_cache_gen[0], which every writer of
 * tcprio_endpoints / tcprio_port_rules / tcprio_trust_cidrs changes after
 * writing
 * (datapath_note_change), so a change is seen by the next packet and a
 * writer that forgets costs at most one jiffy (1-10 ms) of a stale class.
 */
#define TCPRIO_SRC_CACHE_BITS  8
#define TCPRIO_SRC_CACHE_SLOTS (1U << TCPRIO_SRC_CACHE_BITS)

/*
 * Endpoint filter (tcprio_ep_filter, ARRAY of __u64 words, BPF_F_MMAPABLE):
 * a Bloom filter with one hash function over the addresses in
 * tcprio_endpoints, so that a source cache miss looks the source up in the
 * hash only when it may be an endpoint (bpf/classify.h source_class): a
 * hash lookup is a chain of kernel calls, about 35-45 ns on the development
 * machine (README, "Datapath cost"), as much as the empty program; this is
 * a multiplication and two inlined array reads.  Most first packets whose
 * source is not an endpoint (SNAT'd traffic, a trustDscpFrom CIDR's hosts,
 * a local socket's node address) then pay no hash lookup.
 *
 * Word 0 is the header: bit 0 valid (the filter covers every entry; 0:
 * not built yet, the programs do not filter), bit 1 the active buffer.
 * Words 1 .. TCPRIO_EP_FILTER_WORDS are buffer 0, the next
 * TCPRIO_EP_FILTER_WORDS buffer 1; the programs read the active one.
 * Writers (user/dp/ep_filter.c) write the endpoint first and then set its
 * bit in both buffers with an atomic OR through the mapping, so no bit is
 * lost between two processes (the agent and `tcprio endpoint add`).  A
 * deleted endpoint's bit stays (a false positive costs the lookup) until
 * the agent rebuilds: it clears the inactive buffer, sets the bit of every
 * entry of the map in it and makes it the active one; a writer's bit set
 * during the rebuild is either kept or set again by the scan, which comes
 * after the writer's map write.  A writer that cannot map the filter
 * switches it off (header 0) after each endpoint it writes, and a rebuild
 * makes the filter valid only with a compare-and-swap from the header it
 * started with, so such a writer's endpoint is never hidden.  False
 * positives with n endpoints: about n / TCPRIO_EP_FILTER_BITS (1 % for
 * 10,000).
 */
#define TCPRIO_EP_FILTER_LOG2   20
#define TCPRIO_EP_FILTER_BITS   (1U << TCPRIO_EP_FILTER_LOG2)
#define TCPRIO_EP_FILTER_WORDS  (TCPRIO_EP_FILTER_BITS / 64)
#define TCPRIO_EP_FILTER_ENTRIES (1 + 2 * TCPRIO_EP_FILTER_WORDS)
#define TCPRIO_EP_FILTER_VALID  1ULL        /* header bit 0 */
#define TCPRIO_EP_FILTER_ACTIVE 2ULL        /* header bit 1: buffer 1 active */

/* The filter bit of address ip (16 bytes, as struct tcprio_ip): each word
 * multiplied by its own odd constant (so that words do not cancel as in a
 * plain XOR), folded, then Fibonacci hashing to TCPRIO_EP_FILTER_LOG2 bits. */
static inline __attribute__((always_inline)) __u32
tcprio_ep_filter_bit(const struct tcprio_ip *ip)
{
	const __u32 *a = (const __u32 *)ip->addr;
	__u32 h = a[0] * 0x85ebca6bU ^ a[1] * 0xc2b2ae35U ^ a[2] * 0x27d4eb2fU ^
		  a[3] * 0x165667b1U;

	return (h * 0x9e3779b1U) >> (32 - TCPRIO_EP_FILTER_LOG2);
}

/* Index in tcprio_ep_filter of the word holding bit in buffer buf (0, 1),
 * bit's mask in that word, and the active buffer of header hdr. */
#define TCPRIO_EP_FILTER_WORD(buf, bit) (1 + (buf) * TCPRIO_EP_FILTER_WORDS + (bit) / 64)
#define TCPRIO_EP_FILTER_MASK(bit)      (1ULL << ((bit) % 64))
#define TCPRIO_EP_FILTER_ACTIVE_BUF(hdr) ((hdr) & TCPRIO_EP_FILTER_ACTIVE ? 1 : 0)

/*
 * Endpoint slots (tcprio_ep_slots, ARRAY, key: TCPRIO_EP_SLOT(ip)): copies
 * of tcprio_endpoints entries in an array, so that a source cache miss
 * finds an endpoint with one inlined array read instead of the hash
 * lookup, a chain of kernel calls (about 35-45 ns on the development
 * machine: README, "Datapath cost"; bpf/classify.h endpoint_entry).  The
 * pod edge reads the slot even before the source cache, for a pod whose
 * rules need no further lookup (bpf/classify.h slot_class).  A
 * slot answers only for the address it holds (ip) and only when
 * ep.pod_id != 0 (every written entry has one; an empty slot is all
 * zero); any other source is looked up in the hash as before.
 *
 * Every writer of tcprio_endpoints through the BPF map operations (the
 * agent's sync engine, `tcprio endpoint add|del`; user/dp/ep_slots.h)
 * copies the entry the hash now holds for the address into its slot
 * after the write, unless another address holds the slot (that one keeps
 * it; the newcomer's packets use the hash), and settles the slot before
 * and after: it reads it back and empties it while it disagrees with the
 * hash, so two writers racing on one slot leave it right or empty.  The
 * agent settles every slot when it loads the programs and at every
 * recheck (10 s), and then bumps the generation: an earlier version, an
 * older `tcprio` binary (it writes the hash alone) or a writer that
 * failed or was killed between its two writes may have left one stale,
 * which holds until then (until an agent starts, when none runs).  Like
 * the host answers, a slot is rewritten in place: a packet that reads it
 * during a write may see a mix of the old and the new entry, which may be
 * another address's (one packet; the cache generation bump that follows
 * every endpoint write drops what was cached from it).  Only local pods
 * matter here (the pod edge's sources); with n endpoints, about
 * n / TCPRIO_EP_SLOTS of them share a slot.  56 bytes.
 */
#define TCPRIO_EP_SLOT_LOG2  14
#define TCPRIO_EP_SLOTS      (1U << TCPRIO_EP_SLOT_LOG2)
/* Slot of the address whose filter bit (tcprio_ep_filter_bit) is bit: that
 * hash cut to TCPRIO_EP_SLOT_LOG2 bits; and of address ip (16 bytes,
 * struct tcprio_ip). */
#define TCPRIO_EP_SLOT_OF_BIT(bit) ((bit) >> (TCPRIO_EP_FILTER_LOG2 - TCPRIO_EP_SLOT_LOG2))
#define TCPRIO_EP_SLOT(ip) TCPRIO_EP_SLOT_OF_BIT(tcprio_ep_filter_bit(ip))
struct tcprio_ep_slot {
	struct tcprio_ip ip;         /* the address answered for */
	struct tcprio_endpoint ep;   /* its tcprio_endpoints entry; pod_id 0: empty */
};

/* struct tcprio_src_cache_entry.cidr: whether the source is in
 * tcprio_trust_cidrs (bpf/trust.h source_trusted). */
enum tcprio_cidr_answer {
	TCPRIO_CIDR_UNKNOWN   = 0, /* not looked up yet (the pod edge filled the entry) */
	TCPRIO_CIDR_UNTRUSTED = 1,
	TCPRIO_CIDR_TRUSTED   = 2,
};

/* tcprio_src_cache value (PERCPU_ARRAY, key: __u32 slot).  48 bytes. */
struct tcprio_src_cache_entry {
	struct tcprio_ip saddr;  /* packet source, as struct pkt_info */
	__u16 sport, dport;      /* host order; 0 without ports */
	__u8  proto;             /* L4 protocol */
	__u8  has_ports;
	__u8  found;             /* 1: saddr is an endpoint, class_id valid */
	__u8  cidr;              /* found == 0: enum tcprio_cidr_answer, what the
				    uplink found in tcprio_trust_cidrs (0 until it asks) */
	__u32 class_id;          /* endpoint_class() of the packet */
	__u64 gen;               /* tcprio_cache_gen[0] when filled */
	__u64 jiffies;           /* bpf_jiffies64() when filled */
};

/* Trust slots (bpf/trust.h, trust_iface_flags): tcprio_trust_ifaces as
 * an array the uplink reads with an inlined lookup instead of a hash lookup
 * (about 45 ns on the development machine: README, "Datapath cost").  Slot
 * ifindex % TCPRIO_TRUST_SLOTS holds the one trusted interface with that
 * slot and its flags; a slot two or more trusted interfaces share holds
 * ifindex 0 and TCPRIO_TRUST_SHARED, and the uplink then looks the
 * interface up in tcprio_trust_ifaces.  The kernel gives a namespace's
 * interfaces increasing indexes, so the trusted ones of a node (pod
 * interfaces, tunnels, cni0) rarely share one.  Written by the agent
 * with the hash, as one batch (user/dp/trust_ifaces.c), so unlike the
 * caches it needs no generation or expiry. */
#define TCPRIO_TRUST_SLOTS   4096
#define TCPRIO_TRUST_SHARED  (1U << 31) /* slot shared: see tcprio_trust_ifaces */

/* tcprio_trust_slots value (ARRAY, key: __u32 ifindex % TCPRIO_TRUST_SLOTS).
 * 8 bytes. */
struct tcprio_trust_slot {
	__u32 ifindex;           /* the trusted interface; 0: none or shared */
	__u32 flags;             /* its TCPRIO_TRUST_* flags, or TCPRIO_TRUST_SHARED */
};

/* Destination cache (bpf/classify.h, destination_scope): the uplink's
 * LAN/WAN answer for a destination address, in front of the destinations'
 * prefix list (a scan of up to TCPRIO_PREFIX_LIST_MAX entries) or, when
 * that is not valid, the tcprio_destinations LPM trie (a kernel call,
 * ~35 ns here); valid like the source cache.  Every writer of
 * tcprio_destinations writes its list and then changes tcprio_cache_gen. */
#define TCPRIO_DST_CACHE_BITS  8
#define TCPRIO_DST_CACHE_SLOTS (1U << TCPRIO_DST_CACHE_BITS)

/* tcprio_dst_cache value (PERCPU_ARRAY, key: __u32 slot).  40 bytes. */
struct tcprio_dst_cache_entry {
	struct tcprio_ip daddr;  /* packet destination, as struct pkt_info */
	__u32 scope;             /* enum tcprio_scope */
	__u32 pad;
	__u64 gen;               /* tcprio_cache_gen[0] when filled */
	__u64 jiffies;           /* bpf_jiffies64() when filled */
};

/* tcprio_pods value (HASH, key: __u64 pod_id).  Written by the agent only,
 * so that `tcprio status` and bpftool can name the pod behind an entry. */
struct tcprio_pod {
	char name[TCPRIO_POD_NAME_LEN]; /* "namespace/name" */
};

/* ------------------------------------------------------------------
 * Host traffic: packets the node's own sockets send (host processes,
 * host-network pods), classified at the uplink by the sender's cgroup v2
 * or by their destination (bpf/host.h).
 */
#define TCPRIO_MAX_HOST_RULES    256   /* hostRules + built-in rules */
#define TCPRIO_MAX_HOST_CGROUPS  4096  /* cgroup ids: rules and host-network pods */
#define TCPRIO_MAX_HOST_DSTS     2048  /* destination entries (a rule may need 2) */
#define TCPRIO_MAX_HOST_PORTS    4096  /* host-network pods' port rules */
/* Deepest cgroup level the ancestor walk visits (root = 0,
 * /kubepods.slice/kubepods-burstable.slice/<pod>.slice = 3). */
#define TCPRIO_HOST_MAX_LEVEL    15

/* Counter slots of tcprio_host_stats: 0..TCPRIO_MAX_HOST_RULES-1 are the
 * rules in table order (built-in rules after hostRules), then these. */
#define TCPRIO_HOST_SLOT_POD     TCPRIO_MAX_HOST_RULES       /* host-network pods */
#define TCPRIO_HOST_SLOT_NONE    (TCPRIO_MAX_HOST_RULES + 1) /* local socket, no rule */
#define TCPRIO_HOST_SLOTS        (TCPRIO_MAX_HOST_RULES + 2)

/* struct tcprio_host_rule.flags */
#define TCPRIO_HOST_HAS_PORT_RULES (1U << 0) /* look up tcprio_host_ports */

/*
 * Value of tcprio_host_cgroups (HASH, key: __u64 cgroup v2 id, the inode
 * number of the cgroup's directory) and of tcprio_host_dsts.  16 bytes.
 */
struct tcprio_host_rule {
	__u64 pod_id;    /* host-network pod (FNV-1a of its UID), 0 for a table rule */
	__u32 class_id;  /* index into tcprio_classes */
	__u16 slot;      /* counter slot in tcprio_host_stats (see above) */
	__u8  flags;     /* TCPRIO_HOST_* */
	__u8  pad;
};

/*
 * Host cgroup answers (tcprio_host_answers, ARRAY, key: the cgroup id's
 * slot TCPRIO_HOST_ANSWER_SLOT(id)): what the uplink's walk from a local
 * socket's cgroup up to the root (bpf/host.h host_cgroup_walk) would find,
 * written by the agent for every cgroup of the node, so that a socket's
 * first packet makes no walk: the walk pays the ancestor helper for each
 * level with entries and a hash lookup for each filter hit, a kernel call
 * each (README, "Datapath cost"); an answer is one inlined array read.
 * The agent (user/dp/host_answers.c) lists the cgroup v2 tree every 10 s
 * and at every rescan writes, for each cgroup, the nearest cgroup at or above it
 * with an entry in tcprio_host_cgroups and a copy of that entry, after the
 * entries and before the cache generation bump.  A slot two cgroups share
 * answers for one of them; the other's packets walk, as do those of a
 * cgroup made since the agent last listed the tree (every 10 s), of a
 * cgroup the agent does not list (deeper than 32 levels, beyond the first
 * 65,536, or unreadable: user/dp/host_answers.h) and of every cgroup when
 * the agent wrote no answers.  A slot is rewritten in place: a packet that
 * reads it during the write may see part of the old answer (one packet;
 * the generation bump that follows drops what was cached from it).
 * 32 bytes.
 */
#define TCPRIO_HOST_ANSWER_LOG2  14
#define TCPRIO_HOST_ANSWER_SLOTS (1U << TCPRIO_HOST_ANSWER_LOG2)
/* Slot of cgroup id: Fibonacci hashing, as TCPRIO_HOST_FILTER_BIT. */
#define TCPRIO_HOST_ANSWER_SLOT(id) \
	((__u32)(((__u64)(id) * 0x9e3779b97f4a7c15ULL) >> (64 - TCPRIO_HOST_ANSWER_LOG2)))
struct tcprio_host_answer {
	__u64 cgroup_id;               /* the cgroup answered for; 0: none */
	__u64 match_id;                /* the cgroup whose entry applies; 0: none
					  (no cgroup rule for this cgroup) */
	struct tcprio_host_rule rule;  /* that entry, when match_id != 0 */
};

/* Host cgroup cache (bpf/host.h, host_cgroup_rule): the uplink's answer
 * for a local socket's cgroup - the rule of the cgroup or of its nearest
 * ancestor, or none - in front of the walk over tcprio_host_cgroups (one
 * hash lookup per cgroup level, up to TCPRIO_HOST_MAX_LEVEL + 1 of them);
 * valid like the source cache.  Every writer of tcprio_host_cgroups and
 * tcprio_host_config (user/dp/host_sync.c) changes tcprio_cache_gen after
 * writing. */
#define TCPRIO_CG_CACHE_BITS  6
#define TCPRIO_CG_CACHE_SLOTS (1U << TCPRIO_CG_CACHE_BITS)

/* tcprio_cg_cache value (PERCPU_ARRAY, key: __u32 slot).  48 bytes. */
struct tcprio_cg_cache_entry {
	__u64 cgroup_id;              /* the socket's cgroup v2 id */
	__u64 match_id;               /* cgroup whose rule matched; 0: none */
	struct tcprio_host_rule rule; /* that rule's entry when match_id != 0 */
	__u64 gen;                    /* tcprio_cache_gen[0] when filled */
	__u64 jiffies;                /* bpf_jiffies64() when filled */
};

/*
 * tcprio_host_dsts key (LPM_TRIE).  24 bytes.  The trie matches the first
 * prefixlen bits of (protocol, pad, port, ip): a rule for port P and
 * protocol T on CIDR a/n has prefixlen 32 + n (IPv6) or 32 + 96 + n (IPv4,
 * stored as ::ffff:a.b.c.d); a rule without a port has port 0, which the
 * uplink looks up after the packet's destination port.
 */
struct tcprio_host_dst_key {
	__u32 prefixlen;     /* bits, 32..160 */
	__u8  protocol;      /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
	__u8  pad;           /* must be 0 */
	__u16 port;          /* destination port, host byte order; 0 = any */
	struct tcprio_ip ip; /* destination, network byte order */
};

/* tcprio_host_ports key (HASH): a host-network pod's port rule, keyed by
 * the pod's cgroup id; value struct tcprio_port_rule.  Source port first,
 * then destination port, as for pods.  16 bytes. */
struct tcprio_host_port_key {
	__u64 cgroup_id;
	__u16 port;          /* host byte order */
	__u8  protocol;
	__u8  pad[5];        /* must be 0 */
};

/* tcprio_host_rules value (ARRAY[TCPRIO_HOST_SLOTS], key: counter slot).
 * Written by the agent only, so that `tcprio status` and bpftool can name
 * the rule behind a slot.  112 bytes. */
#define TCPRIO_HOST_TEXT_LEN 96
enum tcprio_host_state {
	TCPRIO_HOST_UNUSED  = 0, /* no rule in this slot */
	TCPRIO_HOST_ACTIVE  = 1, /* in the maps */
	TCPRIO_HOST_MISSING = 2, /* its cgroup does not exist (now) */
};
struct tcprio_host_name {
	char  text[TCPRIO_HOST_TEXT_LEN]; /* "cgroup /system.slice/kubelet.service",
	                                     "dst 198.51.100.10/32 tcp/6443" */
	__u64 cgroup_id;  /* resolved cgroup id; 0 for a dst rule or missing */
	__u32 class_id;
	__u8  state;      /* enum tcprio_host_state */
	__u8  builtin;    /* 1: a built-in (systemClass) rule */
	__u16 pad;
};

/* tcprio_host_config value (ARRAY with one entry, key 0), written by the
 * agent so that the uplink skips what no rule needs. */
struct tcprio_host_config {
	__u32 cgroup_levels; /* 0: no cgroup entries; else 1 + the deepest
	                        level of any entry (<= TCPRIO_HOST_MAX_LEVEL + 1) */
	__u16 dst_rules;     /* 1: tcprio_host_dsts has entries */
	__u16 level_mask;    /* bit L: an entry's cgroup is at level L (the
	                        root is level 0), so the ancestor walk skips
	                        the other levels; 0: try every level */
};

/*
 * tcprio_host_filter value (ARRAY with one entry, key 0): a Bloom filter
 * with one hash function over the cgroup ids in tcprio_host_cgroups, so
 * that the uplink's walk from a local socket's cgroup to the root (bpf/host.h
 * host_cgroup_walk) looks up tcprio_host_cgroups only for a cgroup that may
 * have an entry.  A hash lookup is a chain of kernel calls (about 35 ns on
 * the development machine: README, "Datapath cost"); this is one inlined
 * array read and a bit test.  A cgroup without an entry passes the filter
 * with probability about n / TCPRIO_HOST_FILTER_BITS for n entries (1.2 %
 * for 50), and then costs the lookup as before.  Written by the agent
 * (user/dp/host_sync.c) after the entries it covers, so it never hides an
 * entry the program could find; with valid 0 (never written: a test that
 * writes entries itself) the program does not filter.  520 bytes.
 */
#define TCPRIO_HOST_FILTER_LOG2  12
#define TCPRIO_HOST_FILTER_BITS  (1U << TCPRIO_HOST_FILTER_LOG2)
#define TCPRIO_HOST_FILTER_WORDS (TCPRIO_HOST_FILTER_BITS / 64)
/* The filter bit of cgroup id: the top TCPRIO_HOST_FILTER_LOG2 bits after a multiplication by
 * 2^64 / golden ratio (Fibonacci hashing: cgroup ids are inode numbers,
 * close together, and this spreads neighbours apart). */
#define TCPRIO_HOST_FILTER_BIT(id) \
	((__u32)(((__u64)(id) * 0x9e3779b97f4a7c15ULL) >> (64 - TCPRIO_HOST_FILTER_LOG2)))
struct tcprio_host_filter {
	__u32 valid;   /* 1: bits covers every entry of tcprio_host_cgroups */
	__u32 n_ids;   /* cgroup ids set in bits (for operators) */
	__u64 bits[TCPRIO_HOST_FILTER_WORDS]; /* bit b: word b / 64, bit b % 64 */
};

/* Set cgroup id's bit in filter f (the agent, and tests that write the
 * filter as the agent does). */
static inline __attribute__((always_inline)) void
tcprio_host_filter_add(struct tcprio_host_filter *f, __u64 id)
{
	__u32 bit = TCPRIO_HOST_FILTER_BIT(id);

	f->bits[bit / 64] |= 1ULL << (bit % 64);
}

/* Whether cgroup id's bit is set in filter f (the uplink's walk; the
 * mask keeps the word index visibly in bounds for the verifier). */
static inline __attribute__((always_inline)) int
tcprio_host_filter_has(const struct tcprio_host_filter *f, __u64 id)
{
	__u32 bit = TCPRIO_HOST_FILTER_BIT(id);

	return (f->bits[(bit / 64) & (TCPRIO_HOST_FILTER_WORDS - 1)] >> (bit % 64)) & 1;
}

#endif /* TCPRIO_H */
