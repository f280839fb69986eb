/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_packets.c - table-driven packet tests of the tcprio TC programs
 * (bpf/tcprio.bpf.c) through BPF_PROG_TEST_RUN.  TAP output; needs root
 * (prints SKIP lines otherwise).  Maps are pinned under the suite's own
 * folder /sys/fs/bpf/tcprio-test-pkt-<pid>, removed at the end.
 *
 * Each table case gives a crafted packet, the hook, the config variant and
 * the expected verdict (always TC_ACT_UNSPEC), skb->priority from ctx_out,
 * output bytes (DSCP, ECN, IPv4 checksum, IPv6 flow label) and counters.
 *
 * Truncation policy asserted by test_truncation (and documented in
 * bpf/parse.h): a frame cut inside Ethernet / VLAN / the IP header (IPv4:
 * the IHL*4 bytes) passes unchanged and counts UNPARSED; cut inside an IPv6
 * extension header or inside the first 4 L4 bytes it is classified by
 * source address without ports; with the first 4 L4 bytes it has ports.
 * Frames shorter than 14 bytes, and untagged IPv4 / IPv6 frames shorter
 * than 14 + 20 / 14 + 40 bytes, are refused by BPF_PROG_TEST_RUN (EINVAL)
 * on 6.1 and later (it checks the IP header behind an IP ethertype), while
 * older kernels (5.10) run the program on them.  Both are correct; the
 * test accepts either (when run, the frame must pass unchanged and count
 * UNPARSED) and prints which one the kernel did.  The truncated-IP-header
 * paths are also reached with VLAN-tagged frames, which no kernel refuses.
 */
#include <sched.h>
#include <signal.h>
#include <jansson.h>

#include "datapath/harness.h"
#include "tcprio_empty.skel.h"
#include "policy/policy.h"   /* policy_set_endpoint_rules: the agent's writer */

#define PRIO_IN  0x55u          /* ctx_in skb->priority: "unchanged" marker */

/* Class table of the tests: id -> priority (HTB classid), DSCP. */
#define C_BE     0              /* default */
#define C_HIGH   1
#define C_LOW    2
#define C_PORT   3
#define C_BAD    4              /* not valid */
#define P_BE     0x00010030u
#define P_HIGH   0x00010010u
#define P_LOW    0x00010020u
#define P_PORT   0x00010040u
#define D_BE     0
#define D_HIGH   46             /* EF, RFC 3246 */
#define D_LOW    10             /* AF11 */
#define D_PORT   34             /* AF41 */

/* Endpoints. */
#define V4_HIGH  "198.18.0.10"  /* class HIGH */
#define V4_RULES "198.18.0.11"  /* class LOW + port rules */
#define V4_BAD   "198.18.0.12"  /* class BAD (not valid) */
#define V4_MISS  "198.18.1.1"   /* not an endpoint */
#define V4_DST   "198.18.2.2"
#define V6_HIGH  "2001:db8::10"
#define V6_RULES "2001:db8::11"
#define V6_MISS  "2001:db8::99"
#define V6_DST   "2001:db8::2:2"

#define PORT_SRV   8080         /* TCP rule: pod serves on it (source port) */
#define PORT_DB    5432         /* TCP rule: pod connects to it (dest port) */
#define PORT_DNS   5353         /* UDP rule */
#define PORT_DIAM  3868         /* SCTP rule */

enum cfg_variant {
	CFG_STD = 0,            /* default BE, trust, rewrite, sanitize, enabled */
	CFG_NO_SANITIZE,        /* as STD, sanitize_unknown = 0 */
	CFG_NO_TRUST,
	CFG_NO_REWRITE,
	CFG_DISABLED,           /* enabled = 0 */
	CFG_ZERO,               /* all-zero entry, as in fresh maps */
	CFG_DEFAULT_BAD,        /* default class is not valid */
};

#define EV(e) (1u << (e))
#define NONE  (-1)

struct pkt_case {
	const char *name;
	int hook;                       /* enum tcprio_hook */
	enum cfg_variant cfg;
	struct pkt_spec spec;
	void (*mutate)(__u8 *pkt, const struct pkt_layout *lay);
	__u32 gso_segs;                 /* ctx_in gso_segs */
	/* expectations */
	__u32 exp_prio;                 /* 0: PRIO_IN (unchanged) */
	int exp_dscp;                   /* NONE: bytes identical */
	int exp_class;                  /* counted class or NONE */
	__u32 exp_events;               /* EV() mask for the hook */
	__u32 ingress;                  /* ctx_in ingress_ifindex (IF_*; 0: local socket) */
};

/* Ingress interfaces of the uplink cases (tcprio_trust_ifaces, setup_maps). */
#define IF_POD    101           /* TCPRIO_TRUST_POD_EDGE */
#define IF_TUNNEL 102           /* TCPRIO_TRUST_TUNNEL */
#define IF_CONFIG 103           /* TCPRIO_TRUST_CONFIG */
#define IF_LAN    104           /* not in the map: untrusted */
/* Interfaces whose tcprio_trust_slots slot (ifindex % TCPRIO_TRUST_SLOTS)
 * is IF_TUNNEL's, so that slot is shared and read from the hash. */
#define IF_TUNNEL2 (IF_TUNNEL + TCPRIO_TRUST_SLOTS)     /* TCPRIO_TRUST_TUNNEL */
#define IF_SHARED_LAN (IF_TUNNEL + 2 * TCPRIO_TRUST_SLOTS) /* not in the map */
#define V4_TRUSTNET "198.18.9.7"    /* in trusted CIDR 198.18.9.0/24 */
#define V6_TRUSTNET "2001:db8:9::7" /* in trusted CIDR 2001:db8:9::/48 */

static void mut_ihl4(__u8 *p, const struct pkt_layout *l)
{
	p[l->l3_off] = 0x44;    /* IHL 4 < 5: invalid */
}

/* Case tables below override fields the V4/V6 macros set by default
 * (payload_len, flow_label) with later designated initializers. */
#pragma GCC diagnostic ignored "-Woverride-init"
/* Cases leave ingress (the last field) out when it is 0. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* Turn the ethertype after 4 VLAN tags into a fifth 802.1Q TPID. */
static void mut_fifth_vlan(__u8 *p, const struct pkt_layout *l)
{
	p[l->l3_off - 2] = 0x81;
	p[l->l3_off - 1] = 0x00;
}

#define V4(s, d, proto, sp, dp) .family = 4, .src = (s), .dst = (d), \
	.l4 = (proto), .sport = (sp), .dport = (dp), .payload_len = 32
#define V6(s, d, proto, sp, dp) .family = 6, .src = (s), .dst = (d), \
	.l4 = (proto), .sport = (sp), .dport = (dp), .payload_len = 32, \
	.flow_label = 0xabcde

#define E TCPRIO_HOOK_POD_EDGE
#define U TCPRIO_HOOK_UPLINK
#define REW EV(TCPRIO_EV_DSCP_REWRITE)
#define UNP EV(TCPRIO_EV_UNPARSED)
#define MISS EV(TCPRIO_EV_ENDPOINT_MISS)
#define DHIT EV(TCPRIO_EV_DSCP_HIT)
#define DEF EV(TCPRIO_EV_DEFAULT)
#define FMISS EV(TCPRIO_EV_FRAG_MISS)

static const struct pkt_case cases[] = {
	/* ---- pod edge, IPv4 L4 protocols */
	{ "v4 tcp -> high", E, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 40000, 80) },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v4 udp -> high", E, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_UDP, 40000, 53) },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v4 sctp -> high", E, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_SCTP, 40000, 9) },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v4 icmp -> high", E, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_ICMP, 0, 0) },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v4 options IHL 6", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_TCP, PORT_SRV, 999), .ip_opt_words = 1 },
	  NULL, 0, P_PORT, D_PORT, C_PORT, REW },
	{ "v4 options IHL 15", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_TCP, PORT_SRV, 999), .ip_opt_words = 10 },
	  NULL, 0, P_PORT, D_PORT, C_PORT, REW },
	{ "v4 IHL 4 is unparsed", E, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2) },
	  mut_ihl4, 0, 0, NONE, NONE, UNP },
	/* ---- every ECN value with a rewrite */
	{ "v4 ECN 0 kept", E, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2), .tos = 0 << 2 | 0 },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v4 ECN 1 kept", E, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2), .tos = 8 << 2 | 1 },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v4 ECN 2 kept", E, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2), .tos = 63 << 2 | 2 },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v4 ECN 3 kept", E, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2), .tos = 10 << 2 | 3 },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v4 DSCP already equal: no store", E, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 | 1 },
	  NULL, 0, P_HIGH, NONE, C_HIGH, 0 },
	/* ---- port rules */
	{ "v4 port rule by source port", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_TCP, PORT_SRV, 40000) },
	  NULL, 0, P_PORT, D_PORT, C_PORT, REW },
	{ "v4 port rule by destination port", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_TCP, 40000, PORT_DB) },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v4 port rule: source port wins", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_TCP, PORT_SRV, PORT_DB) },
	  NULL, 0, P_PORT, D_PORT, C_PORT, REW },
	{ "v4 no port rule -> pod class", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_TCP, 40000, 80) },
	  NULL, 0, P_LOW, D_LOW, C_LOW, REW },
	{ "v4 udp port rule", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_UDP, 40000, PORT_DNS) },
	  NULL, 0, P_PORT, D_PORT, C_PORT, REW },
	{ "v4 sctp port rule", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_SCTP, PORT_DIAM, 40000) },
	  NULL, 0, P_PORT, D_PORT, C_PORT, REW },
	{ "v4 rule protocol must match (udp 8080)", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_UDP, PORT_SRV, 40000) },
	  NULL, 0, P_LOW, D_LOW, C_LOW, REW },
	{ "v4 icmp from rules pod -> pod class", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_ICMP, 0, 0) },
	  NULL, 0, P_LOW, D_LOW, C_LOW, REW },
	{ "v4 first fragment has ports", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_TCP, PORT_SRV, 40000), .frag = 0x2000 },
	  NULL, 0, P_PORT, D_PORT, C_PORT, REW },
	{ "v4 non-first fragment, first not seen: pod class, miss counted", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_TCP, PORT_SRV, 40000), .frag = 185 },
	  NULL, 0, P_LOW, D_LOW, C_LOW, REW | FMISS },
	{ "v4 middle fragment (MF, offset 56), first not seen: pod class, miss", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_UDP, PORT_DNS, PORT_DNS), .frag = 0x2000 | 7 },
	  NULL, 0, P_LOW, D_LOW, C_LOW, REW | FMISS },
	{ "v4 non-first icmp fragment of a rules pod: pod class, no state", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_ICMP, 0, 0), .frag = 185 },
	  NULL, 0, P_LOW, D_LOW, C_LOW, REW },
	/* ---- misses, invalid classes */
	{ "v4 pod-edge miss, sanitize off: untouched", E, CFG_NO_SANITIZE, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 | 3 },
	  NULL, 0, 0, NONE, NONE, MISS },
	/* ---- sanitising: an unknown source gets the default class's DSCP */
	{ "v4 unknown source EF -> default DSCP", E, CFG_STD, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, P_BE, D_BE, C_BE, MISS | DEF | REW },
	{ "v4 unknown source EF, ECN 1 kept", E, CFG_STD, { V4(V4_MISS, V4_DST, IPPROTO_UDP, 1, 2), .tos = D_HIGH << 2 | 1 },
	  NULL, 0, P_BE, D_BE, C_BE, MISS | DEF | REW },
	{ "v4 unknown source CS7, ECN 2 kept", E, CFG_STD, { V4(V4_MISS, V4_DST, IPPROTO_UDP, 1, 2), .tos = 56 << 2 | 2 },
	  NULL, 0, P_BE, D_BE, C_BE, MISS | DEF | REW },
	{ "v4 unknown source AF41, ECN 3 (CE) kept, IHL 15", E, CFG_STD, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2),
	  .tos = D_PORT << 2 | 3, .ip_opt_words = 10 }, NULL, 0, P_BE, D_BE, C_BE, MISS | DEF | REW },
	{ "v4 unknown source DSCP 0: no store", E, CFG_STD, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = 3 },
	  NULL, 0, P_BE, NONE, C_BE, MISS | DEF },
	{ "v4 unknown source in QinQ", E, CFG_STD, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 | 2,
	  .n_vlans = 2, .vlan_tpid = { 0x88a8, 0x8100 } }, NULL, 0, P_BE, D_BE, C_BE, MISS | DEF | REW },
	{ "v4 unknown source, rewrite off: priority only", E, CFG_NO_REWRITE, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, P_BE, NONE, C_BE, MISS | DEF },
	{ "v4 unknown source, invalid default: counted, untouched", E, CFG_DEFAULT_BAD, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, 0, NONE, C_BAD, MISS | DEF },
	{ "v4 known source EF keeps its class", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_TCP, 40000, 80), .tos = D_HIGH << 2 | 1 },
	  NULL, 0, P_LOW, D_LOW, C_LOW, REW },
	{ "v6 unknown source EF, ECN 0", E, CFG_STD, { V6(V6_MISS, V6_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, P_BE, D_BE, C_BE, MISS | DEF | REW },
	{ "v6 unknown source EF, ECN 1 kept", E, CFG_STD, { V6(V6_MISS, V6_DST, IPPROTO_UDP, 1, 2), .tos = D_HIGH << 2 | 1 },
	  NULL, 0, P_BE, D_BE, C_BE, MISS | DEF | REW },
	{ "v6 unknown source CS6, ECN 2 kept", E, CFG_STD, { V6(V6_MISS, V6_DST, IPPROTO_ICMPV6, 0, 0), .tos = 48 << 2 | 2 },
	  NULL, 0, P_BE, D_BE, C_BE, MISS | DEF | REW },
	{ "v6 unknown source AF41, ECN 3 kept, flow label kept", E, CFG_STD, { V6(V6_MISS, V6_DST, IPPROTO_TCP, 1, 2),
	  .tos = D_PORT << 2 | 3, .flow_label = 0xfffff }, NULL, 0, P_BE, D_BE, C_BE, MISS | DEF | REW },
	{ "v6 unknown source through ext headers", E, CFG_STD, { V6(V6_MISS, V6_DST, IPPROTO_UDP, 1, 2), .tos = D_HIGH << 2,
	  .n_ext = 2, .ext = { 0, 60 } }, NULL, 0, P_BE, D_BE, C_BE, MISS | DEF | REW },
	{ "v6 known source EF keeps its class", E, CFG_STD, { V6(V6_RULES, V6_DST, IPPROTO_TCP, 40000, 80), .tos = D_HIGH << 2 },
	  NULL, 0, P_LOW, D_LOW, C_LOW, REW },
	{ "v4 invalid class: counted, untouched", E, CFG_STD, { V4(V4_BAD, V4_DST, IPPROTO_TCP, 1, 2) },
	  NULL, 0, 0, NONE, C_BAD, 0 },
	/* ---- VLANs */
	{ "v4 single 802.1Q tag", E, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2), .n_vlans = 1, .tos = 2 },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v4 double 802.1Q tag", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_UDP, 1, PORT_DNS), .n_vlans = 2 },
	  NULL, 0, P_PORT, D_PORT, C_PORT, REW },
	{ "v4 QinQ 88a8+8100", E, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_TCP, PORT_SRV, 2), .n_vlans = 2,
	  .vlan_tpid = { 0x88a8, 0x8100 } }, NULL, 0, P_PORT, D_PORT, C_PORT, REW },
	{ "v4 four VLAN tags", E, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2), .n_vlans = 4,
	  .vlan_tpid = { 0x88a8, 0x8100, 0x8100, 0x8100 } }, NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "five VLAN tags (> 4) are unparsed", E, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2), .n_vlans = 4 },
	  mut_fifth_vlan, 0, 0, NONE, NONE, UNP },
	{ "v6 QinQ 88a8+8100", E, CFG_STD, { V6(V6_HIGH, V6_DST, IPPROTO_UDP, 1, 2), .n_vlans = 2,
	  .vlan_tpid = { 0x88a8, 0x8100 } }, NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	/* ---- non-IP */
	{ "ARP is unparsed", E, CFG_STD, { .family = 0, .ethertype = 0x0806 },
	  NULL, 0, 0, NONE, NONE, UNP },
	{ "ARP in a VLAN is unparsed", E, CFG_STD, { .family = 0, .ethertype = 0x0806, .n_vlans = 1 },
	  NULL, 0, 0, NONE, NONE, UNP },
	/* ---- IPv6 */
	{ "v6 tcp -> high", E, CFG_STD, { V6(V6_HIGH, V6_DST, IPPROTO_TCP, 40000, 443) },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v6 udp -> high", E, CFG_STD, { V6(V6_HIGH, V6_DST, IPPROTO_UDP, 40000, 53) },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v6 icmpv6 -> high", E, CFG_STD, { V6(V6_HIGH, V6_DST, IPPROTO_ICMPV6, 0, 0) },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v6 ECN 0 kept", E, CFG_STD, { V6(V6_HIGH, V6_DST, IPPROTO_TCP, 1, 2), .tos = 0 },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v6 ECN 1 kept", E, CFG_STD, { V6(V6_HIGH, V6_DST, IPPROTO_TCP, 1, 2), .tos = 63 << 2 | 1 },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v6 ECN 2 kept", E, CFG_STD, { V6(V6_HIGH, V6_DST, IPPROTO_TCP, 1, 2), .tos = 21 << 2 | 2 },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v6 ECN 3 kept", E, CFG_STD, { V6(V6_HIGH, V6_DST, IPPROTO_TCP, 1, 2), .tos = 1 << 2 | 3, .flow_label = 0xfffff },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "v6 DSCP already equal: no store", E, CFG_STD, { V6(V6_HIGH, V6_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 | 2 },
	  NULL, 0, P_HIGH, NONE, C_HIGH, 0 },
	{ "v6 hbh+dstopts+routing, source port rule", E, CFG_STD, { V6(V6_RULES, V6_DST, IPPROTO_TCP, PORT_SRV, 40000),
	  .n_ext = 3, .ext = { 0, 60, 43 } }, NULL, 0, P_PORT, D_PORT, C_PORT, REW },
	{ "v6 hbh+AH+dstopts, udp port rule", E, CFG_STD, { V6(V6_RULES, V6_DST, IPPROTO_UDP, 40000, PORT_DNS),
	  .n_ext = 3, .ext = { 0, 51, 60 } }, NULL, 0, P_PORT, D_PORT, C_PORT, REW },
	{ "v6 first fragment has ports", E, CFG_STD, { V6(V6_RULES, V6_DST, IPPROTO_TCP, PORT_SRV, 40000),
	  .ipv6_frag_hdr = true, .frag = 1 }, NULL, 0, P_PORT, D_PORT, C_PORT, REW },
	{ "v6 dstopts+first fragment has ports", E, CFG_STD, { V6(V6_RULES, V6_DST, IPPROTO_TCP, PORT_SRV, 40000),
	  .n_ext = 1, .ext = { 60 }, .ipv6_frag_hdr = true, .frag = 1 }, NULL, 0, P_PORT, D_PORT, C_PORT, REW },
	{ "v6 non-first fragment, first not seen: pod class, miss counted", E, CFG_STD, { V6(V6_RULES, V6_DST, IPPROTO_TCP, PORT_SRV, 40000),
	  .ipv6_frag_hdr = true, .frag = 100 << 3 }, NULL, 0, P_LOW, D_LOW, C_LOW, REW | FMISS },
	{ "v6 atomic fragment (offset 0, M 0) is not a fragment: ports", E, CFG_STD, { V6(V6_RULES, V6_DST, IPPROTO_TCP, PORT_SRV, 40000),
	  .ipv6_frag_hdr = true, .frag = 0 }, NULL, 0, P_PORT, D_PORT, C_PORT, REW },
	{ "v6 seven ext headers (> 6): address only", E, CFG_STD, { V6(V6_RULES, V6_DST, IPPROTO_TCP, PORT_SRV, 40000),
	  .n_ext = 7, .ext = { 0, 60, 60, 60, 60, 60, 60 } }, NULL, 0, P_LOW, D_LOW, C_LOW, REW },
	{ "v6 six ext headers: ports", E, CFG_STD, { V6(V6_RULES, V6_DST, IPPROTO_TCP, PORT_SRV, 40000),
	  .n_ext = 6, .ext = { 0, 60, 43, 51, 60, 60 } }, NULL, 0, P_PORT, D_PORT, C_PORT, REW },
	{ "v6 no next header (59): address only", E, CFG_STD, { V6(V6_RULES, V6_DST, 59, 0, 0) },
	  NULL, 0, P_LOW, D_LOW, C_LOW, REW },
	{ "v6 pod-edge miss, sanitize off: untouched", E, CFG_NO_SANITIZE, { V6(V6_MISS, V6_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, 0, NONE, NONE, MISS },
	{ "v6 from ::ffff:198.18.0.10 hits the IPv4 endpoint (shared keyspace)", E, CFG_STD, { V6("::ffff:198.18.0.10", V6_DST, IPPROTO_TCP, 1, 2) },
	  NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	/* ---- config switches */
	{ "rewrite_dscp=0: priority set, bytes kept", E, CFG_NO_REWRITE, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2) },
	  NULL, 0, P_HIGH, NONE, C_HIGH, 0 },
	{ "enabled=0: pod edge untouched, uncounted", E, CFG_DISABLED, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2) },
	  NULL, 0, 0, NONE, NONE, 0 },
	{ "enabled=0: ARP uncounted", E, CFG_DISABLED, { .family = 0, .ethertype = 0x0806 },
	  NULL, 0, 0, NONE, NONE, 0 },
	{ "all-zero config: untouched, uncounted", E, CFG_ZERO, { V6(V6_HIGH, V6_DST, IPPROTO_TCP, 1, 2) },
	  NULL, 0, 0, NONE, NONE, 0 },
	{ "enabled=0: uplink untouched, uncounted", U, CFG_DISABLED, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_PORT << 2 },
	  NULL, 0, 0, NONE, NONE, 0 },
	/* ---- GSO */
	{ "GSO pod edge counts 5 segments", E, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2), .payload_len = 1400 },
	  NULL, 5, P_HIGH, D_HIGH, C_HIGH, REW },
	{ "GSO uplink counts 44 segments", U, CFG_STD, { V6(V6_MISS, V6_DST, IPPROTO_TCP, 1, 2), .payload_len = 1200 },
	  NULL, 44, P_BE, NONE, C_BE, DEF },
	/* ---- uplink */
	{ "uplink endpoint hit (no rewrite)", U, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2) },
	  NULL, 0, P_HIGH, NONE, C_HIGH, 0 },
	{ "uplink endpoint hit beats DSCP", U, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_PORT << 2 },
	  NULL, 0, P_HIGH, NONE, C_HIGH, 0 },
	{ "uplink port rule", U, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_TCP, PORT_SRV, 2) },
	  NULL, 0, P_PORT, NONE, C_PORT, 0 },
	{ "uplink v6 port rule through ext headers", U, CFG_STD, { V6(V6_RULES, V6_DST, IPPROTO_UDP, 7, PORT_DNS),
	  .n_ext = 2, .ext = { 0, 43 } }, NULL, 0, P_PORT, NONE, C_PORT, 0 },
	{ "uplink DSCP hit v4", U, CFG_STD, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_PORT << 2 | 1 },
	  NULL, 0, P_PORT, NONE, C_PORT, DHIT , IF_POD },
	{ "uplink DSCP hit v6", U, CFG_STD, { V6(V6_MISS, V6_DST, IPPROTO_UDP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, P_HIGH, NONE, C_HIGH, DHIT , IF_POD },
	{ "uplink DSCP hit in QinQ", U, CFG_STD, { V4(V4_MISS, V4_DST, IPPROTO_UDP, 1, 2), .tos = D_LOW << 2,
	  .n_vlans = 2, .vlan_tpid = { 0x88a8, 0x8100 } }, NULL, 0, P_LOW, NONE, C_LOW, DHIT , IF_POD },
	{ "uplink DSCP not mapped -> default", U, CFG_STD, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = 12 << 2 },
	  NULL, 0, P_BE, NONE, C_BE, DEF , IF_POD },
	{ "uplink DSCP untrusted -> default", U, CFG_NO_TRUST, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, P_BE, NONE, C_BE, DEF , IF_POD },
	{ "uplink default (DSCP 0 unmapped)", U, CFG_STD, { V6(V6_MISS, V6_DST, IPPROTO_ICMPV6, 0, 0) },
	  NULL, 0, P_BE, NONE, C_BE, DEF , IF_POD },
	{ "uplink invalid default class: counted, no priority", U, CFG_DEFAULT_BAD, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2) },
	  NULL, 0, 0, NONE, C_BAD, DEF , IF_POD },
	/* ---- uplink: DSCP trusted only where tcprio wrote it (bpf/trust.h) */
	{ "uplink local socket EF -> default", U, CFG_STD, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, P_BE, NONE, C_BE, DEF, 0 },
	{ "uplink local socket v6 EF -> default", U, CFG_STD, { V6(V6_MISS, V6_DST, IPPROTO_UDP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, P_BE, NONE, C_BE, DEF, 0 },
	{ "uplink local socket from a trusted CIDR -> default", U, CFG_STD, { V4(V4_TRUSTNET, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, P_BE, NONE, C_BE, DEF, 0 },
	{ "uplink local socket from an endpoint IP -> endpoint class", U, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2) },
	  NULL, 0, P_HIGH, NONE, C_HIGH, 0, 0 },
	{ "uplink forwarded from an untrusted interface -> default", U, CFG_STD, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, P_BE, NONE, C_BE, DEF, IF_LAN },
	{ "uplink forwarded from a tunnel -> DSCP", U, CFG_STD, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, P_HIGH, NONE, C_HIGH, DHIT, IF_TUNNEL },
	{ "uplink forwarded from trustDscpFrom interface -> DSCP", U, CFG_STD, { V6(V6_MISS, V6_DST, IPPROTO_TCP, 1, 2), .tos = D_LOW << 2 },
	  NULL, 0, P_LOW, NONE, C_LOW, DHIT, IF_CONFIG },
	{ "uplink pod edge without rewrite -> default", U, CFG_NO_REWRITE, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, P_BE, NONE, C_BE, DEF, IF_POD },
	{ "uplink tunnel without pod-edge rewrite -> DSCP", U, CFG_NO_REWRITE, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, P_HIGH, NONE, C_HIGH, DHIT, IF_TUNNEL },
	{ "uplink untrusted interface, source in trusted v4 CIDR -> DSCP", U, CFG_STD, { V4(V4_TRUSTNET, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, P_HIGH, NONE, C_HIGH, DHIT, IF_LAN },
	{ "uplink untrusted interface, source in trusted v6 CIDR -> DSCP", U, CFG_STD, { V6(V6_TRUSTNET, V6_DST, IPPROTO_UDP, 1, 2), .tos = D_PORT << 2 },
	  NULL, 0, P_PORT, NONE, C_PORT, DHIT, IF_LAN },
	/* ---- uplink: an endpoint's packet forwarded from where tcprio wrote its
	 * DSCP is classified by that DSCP, without a source lookup */
	{ "uplink endpoint via its pod edge -> the class its DSCP names", U, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_PORT << 2 },
	  NULL, 0, P_PORT, NONE, C_PORT, DHIT, IF_POD },
	{ "uplink v6 port-rule endpoint via its pod edge -> its DSCP's class", U, CFG_STD, { V6(V6_RULES, V6_DST, IPPROTO_TCP, PORT_SRV, 2), .tos = D_LOW << 2 },
	  NULL, 0, P_LOW, NONE, C_LOW, DHIT, IF_POD },
	{ "uplink endpoint via a tunnel -> its DSCP's class", U, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_LOW << 2 },
	  NULL, 0, P_LOW, NONE, C_LOW, DHIT, IF_TUNNEL },
	{ "uplink endpoint via a pod edge without rewrite -> endpoint class", U, CFG_NO_REWRITE, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_PORT << 2 },
	  NULL, 0, P_HIGH, NONE, C_HIGH, 0, IF_POD },
	{ "uplink endpoint via an untrusted interface -> endpoint class", U, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_PORT << 2 },
	  NULL, 0, P_HIGH, NONE, C_HIGH, 0, IF_LAN },
	{ "uplink port rule via an untrusted interface -> rule class", U, CFG_STD, { V4(V4_RULES, V4_DST, IPPROTO_TCP, PORT_SRV, 2), .tos = D_HIGH << 2 },
	  NULL, 0, P_PORT, NONE, C_PORT, 0, IF_LAN },
	{ "uplink endpoint, trustDscp off, via its pod edge -> endpoint class", U, CFG_NO_TRUST, { V6(V6_HIGH, V6_DST, IPPROTO_UDP, 1, 2), .tos = D_PORT << 2 },
	  NULL, 0, P_HIGH, NONE, C_HIGH, 0, IF_POD },
	/* ---- uplink: a trust slot two trusted interfaces share */
	{ "uplink tunnel in a shared trust slot -> DSCP", U, CFG_STD, { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, P_HIGH, NONE, C_HIGH, DHIT, IF_TUNNEL2 },
	{ "uplink untrusted interface in a shared trust slot -> default", U, CFG_STD, { V6(V6_MISS, V6_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 },
	  NULL, 0, P_BE, NONE, C_BE, DEF, IF_SHARED_LAN },
	{ "uplink trustDscp off: even a tunnel -> default", U, CFG_NO_TRUST,
	  { V4(V4_MISS, V4_DST, IPPROTO_TCP, 1, 2), .tos = D_HIGH << 2 }, NULL, 0, P_BE, NONE, C_BE, DEF, IF_TUNNEL },
	{ "uplink ARP is unparsed", U, CFG_STD, { .family = 0, .ethertype = 0x0806 },
	  NULL, 0, 0, NONE, NONE, UNP },
	{ "uplink IHL 4 is unparsed", U, CFG_STD, { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2) },
	  mut_ihl4, 0, 0, NONE, NONE, UNP },
};

/* ------------------------------------------------------------------ setup */

static int apply_config(struct th_ctx *t, enum cfg_variant v)
{
	struct tcprio_config c = {
		.default_class = C_BE, .trust_dscp = 1, .rewrite_dscp = 1,
		.enabled = 1, .sanitize_unknown = 1,
	};

	switch (v) {
	case CFG_NO_SANITIZE: c.sanitize_unknown = 0; break;
	case CFG_NO_TRUST: c.trust_dscp = 0; break;
	case CFG_NO_REWRITE: c.rewrite_dscp = 0; break;
	case CFG_DISABLED: c.enabled = 0; break;
	case CFG_ZERO: memset(&c, 0, sizeof(c)); break;
	case CFG_DEFAULT_BAD: c.default_class = C_BAD; break;
	case CFG_STD: default: break;
	}
	return th_write_config(t, &c);
}

/* Classes, DSCP map, endpoints and port rules used by every case. */
static int setup_maps(struct th_ctx *t)
{
	int err = 0;

	err |= th_set_class(t, C_BE, P_BE, D_BE, true);
	err |= th_set_class(t, C_HIGH, P_HIGH, D_HIGH, true);
	err |= th_set_class(t, C_LOW, P_LOW, D_LOW, true);
	err |= th_set_class(t, C_PORT, P_PORT, D_PORT, true);
	err |= th_set_class(t, C_BAD, 0x00010099, 20, false);
	err |= th_set_dscp_class(t, D_HIGH, C_HIGH, true);
	err |= th_set_dscp_class(t, D_LOW, C_LOW, true);
	err |= th_set_dscp_class(t, D_PORT, C_PORT, true);
	err |= th_set_dscp_class(t, 12, C_HIGH, false);  /* present, not valid */
	err |= th_add_endpoint(t, V4_HIGH, C_HIGH, 0);
	err |= th_add_endpoint(t, V4_RULES, C_LOW, TCPRIO_EP_HAS_PORT_RULES);
	err |= th_add_endpoint(t, V4_BAD, C_BAD, 0);
	err |= th_add_endpoint(t, V6_HIGH, C_HIGH, 0);
	err |= th_add_endpoint(t, V6_RULES, C_LOW, TCPRIO_EP_HAS_PORT_RULES);
	err |= th_add_port_rule(t, V4_RULES, IPPROTO_TCP, PORT_SRV, C_PORT);
	err |= th_add_port_rule(t, V4_RULES, IPPROTO_TCP, PORT_DB, C_HIGH);
	err |= th_add_port_rule(t, V4_RULES, IPPROTO_UDP, PORT_DNS, C_PORT);
	err |= th_add_port_rule(t, V4_RULES, IPPROTO_SCTP, PORT_DIAM, C_PORT);
	err |= th_add_port_rule(t, V6_RULES, IPPROTO_TCP, PORT_SRV, C_PORT);
	err |= th_add_port_rule(t, V6_RULES, IPPROTO_UDP, PORT_DNS, C_PORT);
	/* A rule for the HIGH pod, which has no HAS_PORT_RULES flag: must be
	 * ignored (the port map is only consulted with the flag). */
	err |= th_add_port_rule(t, V4_HIGH, IPPROTO_TCP, 2, C_LOW);
	err |= th_trust_iface(t, IF_POD, TCPRIO_TRUST_POD_EDGE);
	err |= th_trust_iface(t, IF_TUNNEL, TCPRIO_TRUST_TUNNEL);
	err |= th_trust_iface(t, IF_CONFIG, TCPRIO_TRUST_CONFIG);
	err |= th_trust_iface(t, IF_TUNNEL2, TCPRIO_TRUST_TUNNEL);
	err |= th_trust_cidr(t, "198.18.9.0", 24);
	err |= th_trust_cidr(t, "2001:db8:9::", 48);
	err |= apply_config(t, CFG_STD);
	return err;
}

/* IPv4 header checksum by full recompute (field taken as 0). */
static __u16 ipv4_csum_recompute(const __u8 *iph)
{
	__u8 h[60];
	size_t ihl = (size_t)(iph[0] & 0xf) * 4;

	memcpy(h, iph, ihl);
	h[10] = h[11] = 0;
	return th_csum_fold(th_csum_add(0, h, ihl));
}

/* Input DSCP/ECN of a built IP packet. */
static __u8 in_tc(const __u8 *p, const struct pkt_layout *l)
{
	if (l->family == 4)
		return p[l->l3_off + 1];
	return (__u8)((p[l->l3_off] & 0x0f) << 4 | p[l->l3_off + 1] >> 4);
}

/* Check every counter of both hooks against the expectation. */
static void check_counters(struct th_ctx *t, int hook, int exp_class,
			   __u64 exp_pkts, __u64 exp_bytes, __u32 exp_events)
{
	int h, e;
	char what[96];

	for (h = 0; h < TCPRIO_HOOK_COUNT; h++) {
		__u64 total = th_stat_packets_all(t, h);

		snprintf(what, sizeof(what), "total packets counted at hook %d", h);
		ASSERT_EQ(total, h == hook && exp_class != NONE ? exp_pkts : 0, what);
		for (e = 0; e < TCPRIO_EV_COUNT; e++) {
			__u64 exp = h == hook && (exp_events & EV(e)) ? 1 : 0;

			snprintf(what, sizeof(what), "event %d at hook %d", e, h);
			ASSERT_EQ(th_event(t, h, e), exp, what);
		}
	}
	if (exp_class != NONE) {
		ASSERT_EQ(th_stat_packets(t, hook, exp_class), exp_pkts,
			  "packets of the expected class");
		ASSERT_EQ(th_stat_bytes(t, hook, exp_class), exp_bytes,
			  "bytes of the expected class");
	}
}

static void run_case(struct th_ctx *t, const struct pkt_case *c)
{
	static __u8 pkt[TH_PKT_MAX], out[TH_PKT_MAX + 256];
	struct th_run_in in = { .priority = PRIO_IN, .gso_segs = c->gso_segs,
				.ingress_ifindex = c->ingress };
	int prog = c->hook == E ? t->prog_pod_edge : t->prog_uplink;
	struct pkt_layout lay;
	struct th_run_out r;
	size_t len;
	__u8 dscp, ecn;

	th_case_begin("%s: %s", c->hook == E ? "pod-edge" : "uplink", c->name);
	len = pkt_build(&c->spec, pkt, sizeof(pkt), &lay);
	if (!ASSERT_TRUE(len >= ETH_HLEN, "packet built")) {
		th_case_end();
		return;
	}
	if (c->mutate)
		c->mutate(pkt, &lay);
	ASSERT_OK(apply_config(t, c->cfg), "write config");
	th_reset_counters(t);
	th_clear_frags(t);     /* each case is one frame, with no history */
	ASSERT_OK(th_run(prog, pkt, (__u32)len, out, sizeof(out), &in, &r), "test run");
	ASSERT_EQ(r.retval, TC_ACT_UNSPEC, "verdict");
	ASSERT_EQ(r.out_len, len, "output length");
	ASSERT_EQ(r.priority, c->exp_prio ? c->exp_prio : PRIO_IN, "skb->priority");

	if (c->exp_dscp == NONE ||
	    (lay.family && c->exp_dscp == in_tc(pkt, &lay) >> 2)) {
		ASSERT_MEMEQ(out, pkt, len, "bytes unchanged");
	} else if (ASSERT_TRUE(th_check_dscp_only(pkt, out, len, &lay, &dscp, &ecn),
			       "only DSCP bits changed")) {
		ASSERT_EQ(dscp, c->exp_dscp, "DSCP out");
		ASSERT_EQ(ecn, in_tc(pkt, &lay) & 3, "ECN kept");
		if (lay.family == 4) {
			__u16 got = (__u16)(out[lay.l3_off + 10] << 8 | out[lay.l3_off + 11]);

			ASSERT_EQ(got, ipv4_csum_recompute(out + lay.l3_off),
				  "IPv4 checksum equals full recompute");
		} else {
			ASSERT_EQ(out[lay.l3_off] >> 4, 6, "IPv6 version kept");
			ASSERT_EQ((out[lay.l3_off + 1] & 0xf) << 16 |
				  out[lay.l3_off + 2] << 8 | out[lay.l3_off + 3],
				  c->spec.flow_label & 0xfffff, "IPv6 flow label kept");
		}
	}
	check_counters(t, c->hook, c->exp_class, c->gso_segs ? c->gso_segs : 1,
		       len, c->exp_events);
	th_case_end();
}

/* -------------------------------------------------------- truncation */

struct trunc_case {
	const char *name;
	struct pkt_spec spec;
	int cls_addr;   /* class when classified by address (no ports) */
	int cls_ports;  /* class with ports */
};

static const struct trunc_case trunc_cases[] = {
	{ "v4 tcp port rule", { V4(V4_RULES, V4_DST, IPPROTO_TCP, PORT_SRV, 2) }, C_LOW, C_PORT },
	{ "v4 802.1Q tcp port rule", { V4(V4_RULES, V4_DST, IPPROTO_TCP, PORT_SRV, 2), .n_vlans = 1 }, C_LOW, C_PORT },
	{ "v4 IHL 7 udp port rule", { V4(V4_RULES, V4_DST, IPPROTO_UDP, PORT_DNS, 2), .ip_opt_words = 2 }, C_LOW, C_PORT },
	{ "v4 QinQ sctp port rule", { V4(V4_RULES, V4_DST, IPPROTO_SCTP, 9, PORT_DIAM), .n_vlans = 2,
	  .vlan_tpid = { 0x88a8, 0x8100 } }, C_LOW, C_PORT },
	{ "v4 icmp", { V4(V4_HIGH, V4_DST, IPPROTO_ICMP, 0, 0) }, C_HIGH, C_HIGH },
	{ "v6 hbh+dst+routing tcp port rule", { V6(V6_RULES, V6_DST, IPPROTO_TCP, PORT_SRV, 2),
	  .n_ext = 3, .ext = { 0, 60, 43 } }, C_LOW, C_PORT },
	{ "v6 frag udp port rule", { V6(V6_RULES, V6_DST, IPPROTO_UDP, 1, PORT_DNS),
	  .ipv6_frag_hdr = true, .frag = 1, .n_vlans = 1 }, C_LOW, C_PORT },
	{ "v6 tcp", { V6(V6_HIGH, V6_DST, IPPROTO_TCP, 1, 2), .payload_len = 0 }, C_HIGH, C_HIGH },
	{ "v6 802.1ad icmpv6", { V6(V6_HIGH, V6_DST, IPPROTO_ICMPV6, 0, 0), .n_vlans = 1,
	  .vlan_tpid = { 0x88a8 } }, C_HIGH, C_HIGH },
};

static const struct { int cls; __u32 prio; int dscp; } class_tab[] = {
	[C_BE] = { C_BE, P_BE, D_BE }, [C_HIGH] = { C_HIGH, P_HIGH, D_HIGH },
	[C_LOW] = { C_LOW, P_LOW, D_LOW }, [C_PORT] = { C_PORT, P_PORT, D_PORT },
};

/* Short frames (see the top of this file): how many the kernel refused and
 * on how many it ran the program, printed once by report_short_frames. */
static unsigned long short_refused, short_run;

/*
 * Cut the packet at every length 0..len and run it through hook: below 14
 * bytes, or below the IP base header of an untagged IP frame, the kernel
 * refuses it or runs the program (see the top of this file: either is
 * fine, a run must leave the frame unchanged); inside L2/L3 headers: unchanged,
 * UNPARSED; after the IP header but before 4 L4 bytes (or inside IPv6 ext
 * headers): class by address; else class with ports.  One TAP line per
 * packet and hook; the first few failing cuts are named.
 */
static void test_truncation(struct th_ctx *t, const struct trunc_case *tc, int hook)
{
	static __u8 pkt[TH_PKT_MAX], out[TH_PKT_MAX + 256];
	int prog = hook == E ? t->prog_pod_edge : t->prog_uplink;
	struct th_run_in in = { .priority = PRIO_IN };
	struct pkt_layout lay;
	struct th_run_out r;
	size_t len, cut, l3_end, ports_end;
	int bad = 0;

	len = pkt_build(&tc->spec, pkt, sizeof(pkt), &lay);
	l3_end = lay.l3_off + (lay.family == 4 ? (size_t)(pkt[lay.l3_off] & 0xf) * 4 : 40);
	ports_end = lay.l4_off + 4;
	apply_config(t, CFG_STD);
	for (cut = 0; cut <= len && bad < 4; cut++) {
		bool unparsed = cut < l3_end;
		int cls = cut >= ports_end ? tc->cls_ports : tc->cls_addr;
		bool ok = true;

		th_reset_counters(t);
		th_clear_frags(t);
		th_run(prog, pkt, (__u32)cut, out, sizeof(out), &in, &r);
		if (cut < ETH_HLEN ||
		    (!tc->spec.n_vlans && tc->spec.family == 4 && cut < ETH_HLEN + 20) ||
		    (!tc->spec.n_vlans && tc->spec.family == 6 && cut < ETH_HLEN + 40)) {
			if (r.err == -EINVAL) {
				short_refused++;
				continue;
			}
			short_run++;
		}
		ok &= r.err == 0 && r.retval == TC_ACT_UNSPEC && r.out_len == cut;
		if (unparsed) {
			ok &= memcmp(out, pkt, cut) == 0;
			ok &= r.priority == PRIO_IN;
			ok &= th_event(t, hook, TCPRIO_EV_UNPARSED) == 1;
			ok &= th_stat_packets_all(t, hook) == 0;
		} else {
			__u8 dscp = 0, ecn = 0;
			bool dscp_ok = th_check_dscp_only(pkt, out, cut, &lay, &dscp, &ecn);

			ok &= dscp_ok;
			ok &= dscp == (hook == E ? class_tab[cls].dscp : 0);
			ok &= r.priority == class_tab[cls].prio;
			ok &= th_event(t, hook, TCPRIO_EV_UNPARSED) == 0;
			ok &= th_stat_packets(t, hook, cls) == 1;
			ok &= th_stat_bytes(t, hook, cls) == cut;
		}
		if (!ok) {
			th_diag("cut %zu of %zu (l3 end %zu, ports end %zu): err %d verdict %d "
				"len %u prio 0x%x unparsed %llu class %d pkts %llu", cut, len,
				l3_end, ports_end, r.err, r.retval, r.out_len, r.priority,
				(unsigned long long)th_event(t, hook, TCPRIO_EV_UNPARSED), cls,
				(unsigned long long)th_stat_packets(t, hook, cls));
			bad++;
		}
	}
	{
		char name[160];

		snprintf(name, sizeof(name), "%s: truncated %s at every length 0..%zu",
			 hook == E ? "pod-edge" : "uplink", tc->name, len);
		th_tap(bad == 0, name);
	}
}

/* Say which behaviour this kernel showed for frames too short to run. */
static void report_short_frames(void)
{
	th_diag("short frames: the kernel refused %lu (EINVAL) and ran the program on %lu "
		"(each passed unchanged, counted UNPARSED)", short_refused, short_run);
}

/* ------------------------------------------------------- other checks */

/* Every DSCP x ECN on IPv4 with IHL 5 and 15: checksum == full recompute,
 * for both stores: l4 UDP (tcprio_dscp_writer), TCP (bpf_skb_store_bytes). */
static void test_checksum_all_dscp(struct th_ctx *t, __u8 l4)
{
	static __u8 pkt[TH_PKT_MAX], out[TH_PKT_MAX + 256];
	struct th_run_in in = { .priority = PRIO_IN };
	struct pkt_spec s = { V4(V4_HIGH, "198.19.255.254", l4, 1, 2) };
	char name[160];
	int words, from, to, bad = 0;

	apply_config(t, CFG_STD);
	for (words = 0; words <= 10; words += 10) {
		s.ip_opt_words = words;
		for (to = 0; to < 64 && bad < 4; to++) {
			th_set_class(t, C_HIGH, P_HIGH, (__u8)to, true);
			for (from = 0; from < 256 && bad < 4; from += 5) {
				struct pkt_layout lay;
				struct th_run_out r;
				size_t len;
				__u16 got;

				s.tos = (__u8)from;
				len = pkt_build(&s, pkt, sizeof(pkt), &lay);
				th_run(t->prog_pod_edge, pkt, (__u32)len, out, sizeof(out), &in, &r);
				got = (__u16)(out[lay.l3_off + 10] << 8 | out[lay.l3_off + 11]);
				if (r.err || out[lay.l3_off + 1] != ((to << 2) | (from & 3)) ||
				    got != ipv4_csum_recompute(out + lay.l3_off) ||
				    memcmp(out + lay.l3_off + 12, pkt + lay.l3_off + 12,
					   len - lay.l3_off - 12) ||
				    (from >> 2 == to && memcmp(out, pkt, len))) {
					th_diag("IHL %d tos 0x%02x -> dscp %d: out tos 0x%02x csum 0x%04x "
						"recompute 0x%04x", 5 + words, from, to,
						out[lay.l3_off + 1], got,
						ipv4_csum_recompute(out + lay.l3_off));
					bad++;
				}
			}
		}
	}
	th_set_class(t, C_HIGH, P_HIGH, D_HIGH, true);
	snprintf(name, sizeof(name), "pod-edge: IPv4 %s checksum equals full recompute for every "
		 "DSCP x 52 TOS values, IHL 5 and 15 (%s)", l4 == IPPROTO_TCP ? "TCP" : "UDP",
		 l4 == IPPROTO_TCP ? "bpf_skb_store_bytes" : "tcprio_dscp_writer");
	th_tap(bad == 0, name);
}


/* Run the pod edge on a packet of l4 / family from a class-HIGH pod with
 * DSCP 0; returns the TOS / traffic class byte out (-1 on error) and
 * whether the IPv4 checksum is right (*csum_ok) and DSCP_REWRITE counted
 * once (*counted). */
static int pod_edge_tos(struct th_ctx *t, int family, __u8 l4, bool *csum_ok, bool *counted)
{
	static __u8 pkt[TH_PKT_MAX], out[TH_PKT_MAX + 256];
	struct pkt_spec s4 = { V4(V4_HIGH, V4_DST, l4, 1, 2) };
	struct pkt_spec s6 = { V6(V6_HIGH, V6_DST, l4, 1, 2) };
	__u64 ev = th_event(t, E, TCPRIO_EV_DSCP_REWRITE);
	struct th_run_in in = { .priority = PRIO_IN };
	struct pkt_layout lay;
	struct th_run_out r;
	size_t len = pkt_build(family == 4 ? &s4 : &s6, pkt, sizeof(pkt), &lay);
	const __u8 *ip;

	if (th_run(t->prog_pod_edge, pkt, (__u32)len, out, sizeof(out), &in, &r) ||
	    r.out_len != len)
		return -1;
	ip = out + lay.l3_off;
	*counted = th_event(t, E, TCPRIO_EV_DSCP_REWRITE) == ev + 1;
	if (family == 6)
		return (ip[0] & 0x0f) << 4 | ip[1] >> 4;
	*csum_ok = (__u16)(ip[10] << 8 | ip[11]) == ipv4_csum_recompute(ip);
	return ip[1];
}

/*
 * Which store rewrites a pod's packet.  With the empty program in
 * tcprio_dscp_writers' slot, the packets that go to the writer are not
 * rewritten at all: IPv4 UDP and ICMP, but not IPv4 TCP nor IPv6 (those
 * use bpf_skb_store_bytes).  With the writer (as loaded) they are, checksum
 * right and counted; with the slot empty, bpf_skb_store_bytes does it.
 */
static void test_dscp_writer_dispatch(struct th_ctx *t)
{
	static const struct { int family; __u8 l4; bool to_writer; const char *what; } pk[] = {
		{ 4, IPPROTO_UDP, true, "IPv4 UDP" },
		{ 4, IPPROTO_ICMP, true, "IPv4 ICMP" },
		{ 4, IPPROTO_TCP, false, "IPv4 TCP" },
		{ 6, IPPROTO_UDP, false, "IPv6 UDP" },
	};
	int slots = bpf_map__fd(t->skel->maps.tcprio_dscp_writers);
	int writer = bpf_program__fd(t->skel->progs.tcprio_dscp_writer);
	struct tcprio_empty_bpf *empty = tcprio_empty_bpf__open_and_load();
	__u32 zero = 0;
	int fd, id_fd = -1;
	size_t i;

	apply_config(t, CFG_STD);
	th_set_class(t, C_HIGH, P_HIGH, D_HIGH, true);
	if (!ASSERT_TRUE(empty != NULL, "load the empty program (build/tcprio_empty.bpf.o)"))
		return;
	/* As loaded, the slot holds the writer (libbpf fills it). */
	ASSERT_OK(bpf_map_lookup_elem(slots, &zero, &id_fd), "tcprio_dscp_writers slot 0 filled at load");
	{
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		ASSERT_OK(bpf_obj_get_info_by_fd(writer, &info, &len), "writer info");
		ASSERT_EQ((__u32)id_fd, info.id, "slot 0 holds tcprio_dscp_writer (program id)");
	}
	for (int mode = 0; mode < 3; mode++) {
		const char *slot = mode == 0 ? "empty program" : mode == 1 ? "writer" : "no program";

		fd = mode == 0 ? bpf_program__fd(empty->progs.tcprio_empty) : writer;
		if (mode < 2)
			ASSERT_OK(bpf_map_update_elem(slots, &zero, &fd, BPF_ANY), "fill slot 0");
		else
			ASSERT_OK(bpf_map_delete_elem(slots, &zero), "empty slot 0");
		for (i = 0; i < sizeof(pk) / sizeof(pk[0]); i++) {
			bool csum_ok = true, counted = false;
			bool rewritten_expected = !(mode == 0 && pk[i].to_writer);
			int tos = pod_edge_tos(t, pk[i].family, pk[i].l4, &csum_ok, &counted);
			char name[200];

			snprintf(name, sizeof(name), "pod edge, %s in slot 0, %s from DSCP 0: %s", slot,
				 pk[i].what, rewritten_expected ? "rewritten to EF, checksum right, counted"
								: "went to the slot's program (not rewritten)");
			if (rewritten_expected)
				ASSERT_TRUE(tos == D_HIGH << 2 && csum_ok && counted, name);
			else
				ASSERT_TRUE(tos == 0 && !counted, name);
		}
	}
	fd = writer;
	bpf_map_update_elem(slots, &zero, &fd, BPF_ANY);
	tcprio_empty_bpf__destroy(empty);
}

/* tcprio_dscp_writer run alone with a bad skb->cb[0] (offset past the
 * bound, past the frame, or at bytes that are not IPv4): frame unchanged;
 * with a good one: TOS and checksum written. */
static void test_dscp_writer_input(struct th_ctx *t)
{
	static __u8 pkt[TH_PKT_MAX], out[TH_PKT_MAX + 256];
	struct pkt_spec s = { V4(V4_HIGH, V4_DST, IPPROTO_UDP, 1, 2), .tos = 1 };
	int writer = bpf_program__fd(t->skel->progs.tcprio_dscp_writer);
	struct pkt_layout lay;
	size_t len = pkt_build(&s, pkt, sizeof(pkt), &lay);
	const struct { __u32 cb; bool writes; const char *what; } in[] = {
		{ (__u32)lay.l3_off | 0xb9u << 16, true, "the IPv4 header, TOS 0xb9" },
		{ (__u32)(ETH_HLEN + 4 * 4 + 1) | 0xb9u << 16, false, "an offset past the VLAN bound" },
		{ (__u32)(len - 4) | 0xb9u << 16, false, "an offset that leaves no room for a header" },
		{ 0u | 0xb9u << 16, false, "the Ethernet header (version is not 4)" },
	};

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct th_run_in run_in = { .cb0 = in[i].cb };
		const __u8 *ip = out + lay.l3_off;
		struct th_run_out r;
		char name[160];
		bool ok;

		ok = !th_run(writer, pkt, (__u32)len, out, sizeof(out), &run_in, &r) &&
		     r.retval == TC_ACT_UNSPEC && r.out_len == len && r.cb0 == 0;
		if (in[i].writes)
			ok = ok && ip[1] == 0xb9 && (__u16)(ip[10] << 8 | ip[11]) == ipv4_csum_recompute(ip) &&
			     !memcmp(out, pkt, lay.l3_off + 1) &&
			     !memcmp(out + lay.l3_off + 2, pkt + lay.l3_off + 2, 8) &&
			     !memcmp(out + lay.l3_off + 12, pkt + lay.l3_off + 12, len - lay.l3_off - 12);
		else
			ok = ok && !memcmp(out, pkt, len);
		snprintf(name, sizeof(name), "tcprio_dscp_writer given %s: %s, TC_ACT_UNSPEC, cb[0] cleared",
			 in[i].what, in[i].writes ? "TOS and checksum written, nothing else" : "frame unchanged");
		ASSERT_TRUE(ok, name);
	}
}

/* A port rule on an endpoint WITHOUT TCPRIO_EP_HAS_PORT_RULES is ignored. */
static void test_port_flag(struct th_ctx *t)
{
	static const struct pkt_case c = {
		"port rule ignored without HAS_PORT_RULES flag", E, CFG_STD,
		{ V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2) }, NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW,
	};

	run_case(t, &c);
}

/* ------------------------------------------------- fragment sequences */

/* One fragment of a datagram: IP ID id, frag field as in pkt_spec.frag. */
struct frag_step {
	int hook;
	__u16 frag;
	__u32 id;
	int exp_class;
	bool exp_miss;          /* TCPRIO_EV_FRAG_MISS counted at hook */
};

/* Run steps in order on fragments of base (one datagram per id) and check
 * each one's class (skb->priority and counters) and FRAG_MISS event.  The
 * fragment state (tcprio_frags) is emptied only before the first step. */
static void run_frag_sequence(struct th_ctx *t, const char *name,
			      const struct pkt_spec *base,
			      const struct frag_step *st, int n)
{
	static __u8 pkt[TH_PKT_MAX], out[TH_PKT_MAX + 256];
	struct th_run_in in = { .priority = PRIO_IN };
	char what[160];

	apply_config(t, CFG_STD);
	th_clear_frags(t);
	th_case_begin("%s", name);
	for (int i = 0; i < n; i++) {
		struct pkt_spec s = *base;
		struct th_run_out r;
		size_t len;

		s.frag = st[i].frag;
		s.ip_id = st[i].id;
		len = pkt_build(&s, pkt, sizeof(pkt), NULL);
		th_reset_counters(t);
		th_run(st[i].hook == E ? t->prog_pod_edge : t->prog_uplink, pkt,
		       (__u32)len, out, sizeof(out), &in, &r);
		snprintf(what, sizeof(what), "step %d (%s, id 0x%x, frag 0x%04x): class %d",
			 i + 1, st[i].hook == E ? "pod edge" : "uplink", st[i].id,
			 st[i].frag, st[i].exp_class);
		ASSERT_EQ(r.priority, class_tab[st[i].exp_class].prio, what);
		ASSERT_EQ(th_stat_packets(t, st[i].hook, (__u32)st[i].exp_class), 1, what);
		snprintf(what, sizeof(what), "step %d: fragment miss %scounted", i + 1,
			 st[i].exp_miss ? "" : "not ");
		ASSERT_EQ(th_event(t, st[i].hook, TCPRIO_EV_FRAG_MISS), st[i].exp_miss, what);
	}
	th_case_end();
}

/*
 * Every fragment of a datagram of a port-rule pod gets one class: in
 * order (first fragment first) the port rule's class; out of order (a
 * later fragment first) the pod's class for all of them, with one miss;
 * the uplink finds the pod edge's choice; datagrams are told apart by ID.
 */
static void test_fragment_sequences(struct th_ctx *t)
{
	/* IPv4 TCP from the pod's PORT_SRV: 3 fragments, offsets 0, 185, 370. */
	static const struct pkt_spec v4 = { V4(V4_RULES, V4_DST, IPPROTO_TCP, PORT_SRV, 40000) };
	/* IPv6 UDP to PORT_DNS: offsets 0, 1448, 2896 bytes (<< 3 | M). */
	static const struct pkt_spec v6 = { V6(V6_RULES, V6_DST, IPPROTO_UDP, 40000, PORT_DNS),
					    .ipv6_frag_hdr = true };
	const struct frag_step v4_in[] = {
		{ E, 0x2000, 0x101, C_PORT, false }, { U, 0x2000, 0x101, C_PORT, false },
		{ E, 0x2000 | 185, 0x101, C_PORT, false }, { U, 0x2000 | 185, 0x101, C_PORT, false },
		{ E, 370, 0x101, C_PORT, false }, { U, 370, 0x101, C_PORT, false },
	};
	const struct frag_step v4_out[] = {
		{ E, 370, 0x102, C_LOW, true },
		{ E, 0x2000, 0x102, C_LOW, false },
		{ E, 0x2000 | 185, 0x102, C_LOW, false },
		{ U, 0x2000, 0x102, C_LOW, false },
		/* another datagram (ID) of the same flow, in order */
		{ E, 0x2000, 0x103, C_PORT, false },
		{ E, 370, 0x103, C_PORT, false },
	};
	const struct frag_step v6_in[] = {
		{ E, 1, 0x20001, C_PORT, false },
		{ E, 181 << 3 | 1, 0x20001, C_PORT, false },
		{ E, 362 << 3, 0x20001, C_PORT, false },
		{ U, 362 << 3, 0x20001, C_PORT, false },
	};
	const struct frag_step v6_out[] = {
		{ E, 181 << 3 | 1, 0x20002, C_LOW, true },
		{ E, 362 << 3, 0x20002, C_LOW, false },
		{ E, 1, 0x20002, C_LOW, false },
		{ U, 1, 0x20002, C_LOW, false },
		{ E, 1, 0x20003, C_PORT, false },
	};
	/* Uplink alone (pod edge not on the path): the uplink keeps state too. */
	const struct frag_step v4_uplink_only[] = {
		{ U, 0x2000, 0x104, C_PORT, false },
		{ U, 370, 0x104, C_PORT, false },
		{ U, 370, 0x105, C_LOW, true },
		{ U, 0x2000, 0x105, C_LOW, false },
	};

	run_frag_sequence(t, "fragments: IPv4 in order get the port rule's class at both hooks",
			  &v4, v4_in, (int)(sizeof(v4_in) / sizeof(v4_in[0])));
	run_frag_sequence(t, "fragments: IPv4 out of order all get the pod's class, one miss",
			  &v4, v4_out, (int)(sizeof(v4_out) / sizeof(v4_out[0])));
	run_frag_sequence(t, "fragments: IPv6 in order get the port rule's class",
			  &v6, v6_in, (int)(sizeof(v6_in) / sizeof(v6_in[0])));
	run_frag_sequence(t, "fragments: IPv6 out of order all get the pod's class, one miss",
			  &v6, v6_out, (int)(sizeof(v6_out) / sizeof(v6_out[0])));
	run_frag_sequence(t, "fragments: uplink alone, in and out of order",
			  &v4, v4_uplink_only,
			  (int)(sizeof(v4_uplink_only) / sizeof(v4_uplink_only[0])));
}

/*
 * tcprio_frags is bounded: after 3 x TCPRIO_MAX_FRAGS other datagrams'
 * first fragments, the first datagram is forgotten (LRU), and its last
 * fragment gets the pod's class and counts a miss; the map never holds
 * more than TCPRIO_MAX_FRAGS entries.
 */
static void test_fragment_bound(struct th_ctx *t)
{
	static __u8 pkt[TH_PKT_MAX], out[TH_PKT_MAX + 256];
	struct pkt_spec s = { V4(V4_RULES, V4_DST, IPPROTO_UDP, 40000, PORT_DNS) };
	struct tcprio_frag_key k, nk;
	struct th_run_in in = { .priority = PRIO_IN };
	struct th_run_out r;
	long entries = 0;
	size_t len;
	void *prev = NULL;

	apply_config(t, CFG_STD);
	th_clear_frags(t);
	th_reset_counters(t);
	/* Vary the destination too: 16-bit IDs alone would wrap. */
	for (__u32 i = 0; i < 3 * TCPRIO_MAX_FRAGS + 1; i++) {
		char dst[32];

		snprintf(dst, sizeof(dst), "198.19.%u.%u", (i >> 8) & 0xff, i & 0xff);
		s.dst = dst;
		s.ip_id = 0x1000 + i;
		s.frag = 0x2000;
		len = pkt_build(&s, pkt, sizeof(pkt), NULL);
		th_run(t->prog_pod_edge, pkt, (__u32)len, out, sizeof(out), &in, &r);
	}
	th_case_begin("fragments: tcprio_frags is bounded (LRU), a forgotten datagram counts a miss");
	while (entries <= TCPRIO_MAX_FRAGS && !bpf_map_get_next_key(t->map_frags, prev, &nk)) {
		k = nk;
		prev = &k;
		entries++;
	}
	ASSERT_TRUE(entries > 0 && entries <= TCPRIO_MAX_FRAGS, "at most TCPRIO_MAX_FRAGS entries");
	ASSERT_EQ(th_event(t, E, TCPRIO_EV_FRAG_MISS), 0, "no miss while filling");
	s.dst = "198.19.0.0";
	s.ip_id = 0x1000;
	s.frag = 370;
	len = pkt_build(&s, pkt, sizeof(pkt), NULL);
	th_run(t->prog_pod_edge, pkt, (__u32)len, out, sizeof(out), &in, &r);
	ASSERT_EQ(r.priority, P_LOW, "first datagram's last fragment: pod class");
	ASSERT_EQ(th_event(t, E, TCPRIO_EV_FRAG_MISS), 1, "its miss is counted");
	th_case_end();
}

/* Port rules for one protocol cost nothing for the others: an endpoint
 * whose flags name UDP only ignores a matching TCP rule (the map holds
 * one, so a lookup would find it) and still applies its UDP rule. */
static void test_port_protocols(struct th_ctx *t)
{
	static const char *ip = "198.18.0.13";
	static const struct pkt_case tcp = {
		"UDP-only rules pod: TCP packet to a port with a TCP rule -> pod class", E, CFG_STD,
		{ V4("198.18.0.13", V4_DST, IPPROTO_TCP, 40000, PORT_DB) }, NULL, 0, P_LOW, D_LOW, C_LOW, REW,
	};
	static const struct pkt_case udp = {
		"UDP-only rules pod: UDP packet to its rule's port -> rule class", E, CFG_STD,
		{ V4("198.18.0.13", V4_DST, IPPROTO_UDP, 40000, PORT_DNS) }, NULL, 0, P_PORT, D_PORT, C_PORT, REW,
	};

	th_add_endpoint(t, ip, C_LOW, TCPRIO_EP_HAS_PORT_RULES | TCPRIO_EP_RULES_UDP);
	th_add_port_rule(t, ip, IPPROTO_UDP, PORT_DNS, C_PORT);
	th_add_port_rule(t, ip, IPPROTO_TCP, PORT_DB, C_HIGH);
	run_case(t, &tcp);
	run_case(t, &udp);
}

/* The endpoint's rule-port bitmap (TCPRIO_EP_PORT_BITS): only ports whose
 * bit (port % 64) is set are looked up.  The map holds a TCP 5432 rule
 * whose bit is clear: a lookup would find it, the bitmap skips it.  A port
 * that shares a rule port's bit pays a lookup that misses, and the answer
 * is still right. */
static void test_port_bits(struct th_ctx *t)
{
	static const char *ip = "198.18.0.14";
	static const struct pkt_case cases[] = {
		{ "rule-port bitmap: source port with its bit set and a rule -> rule class", E, CFG_STD,
		  { V4("198.18.0.14", V4_DST, IPPROTO_TCP, PORT_SRV, 40000) }, NULL, 0, P_PORT, D_PORT, C_PORT, REW },
		{ "rule-port bitmap: destination port with its bit set and a rule -> rule class", E, CFG_STD,
		  { V4("198.18.0.14", V4_DST, IPPROTO_TCP, 40000, PORT_SRV) }, NULL, 0, P_PORT, D_PORT, C_PORT, REW },
		{ "rule-port bitmap: a rule whose port's bit is clear is not looked up -> pod class", E, CFG_STD,
		  { V4("198.18.0.14", V4_DST, IPPROTO_TCP, 40000, PORT_DB) }, NULL, 0, P_LOW, D_LOW, C_LOW, REW },
		{ "rule-port bitmap: port sharing a rule port's bit, no rule -> pod class", E, CFG_STD,
		  { V4("198.18.0.14", V4_DST, IPPROTO_TCP, 40000 + (PORT_SRV & 63), 443) }, NULL, 0, P_LOW, D_LOW, C_LOW, REW },
	};
	struct tcprio_endpoint ep = {
		.pod_id = 0x1234, .class_id = C_LOW, .source = TCPRIO_SRC_MANUAL,
		.flags = TCPRIO_EP_HAS_PORT_RULES | TCPRIO_EP_RULES_TCP | TCPRIO_EP_PORT_BITS,
		.rule_ports = TCPRIO_EP_PORT_BIT(PORT_SRV),
	};

	th_put_endpoint(t, ip, &ep);
	th_add_port_rule(t, ip, IPPROTO_TCP, PORT_SRV, C_PORT);
	th_add_port_rule(t, ip, IPPROTO_TCP, PORT_DB, C_HIGH);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(t, &cases[i]);
}

/* Inline port rules (TCPRIO_EP_RULES_INLINE): an endpoint with at most
 * TCPRIO_EP_INLINE_RULES rules, written by the agent's own
 * policy_set_endpoint_rules, is answered from its entry.  tcprio_port_rules
 * holds none of these rules here, so a rule class proves the inline copy
 * answered. */
static void test_inline_rules(struct th_ctx *t)
{
	static const char *ip = "198.18.0.16";
	static const struct port_class rules[] = {
		{ PORT_SRV, IPPROTO_TCP, C_PORT }, { 53, IPPROTO_UDP, C_HIGH },
		{ PORT_DB, IPPROTO_TCP, C_HIGH },
	};
	static const struct pkt_case cases[] = {
		{ "inline rules: TCP source port rule -> rule class, no map lookup", E, CFG_STD,
		  { V4("198.18.0.16", V4_DST, IPPROTO_TCP, PORT_SRV, 40000) }, NULL, 0, P_PORT, D_PORT, C_PORT, REW },
		{ "inline rules: TCP destination port rule -> rule class", E, CFG_STD,
		  { V4("198.18.0.16", V4_DST, IPPROTO_TCP, 40000, PORT_DB) }, NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
		{ "inline rules: source port rule beats destination port rule", E, CFG_STD,
		  { V4("198.18.0.16", V4_DST, IPPROTO_TCP, PORT_SRV, PORT_DB) }, NULL, 0, P_PORT, D_PORT, C_PORT, REW },
		{ "inline rules: UDP packet to a TCP rule's port -> pod class", E, CFG_STD,
		  { V4("198.18.0.16", V4_DST, IPPROTO_UDP, 40000, PORT_SRV) }, NULL, 0, P_LOW, D_LOW, C_LOW, REW },
		{ "inline rules: UDP destination port 53 rule -> rule class", E, CFG_STD,
		  { V4("198.18.0.16", V4_DST, IPPROTO_UDP, 40000, 53) }, NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
	};
	struct tcprio_endpoint ep = {
		.pod_id = 0x1234, .class_id = C_LOW, .source = TCPRIO_SRC_MANUAL,
	};

	policy_set_endpoint_rules(&ep, rules, 3);
	th_case_begin("inline rules: 3 rules are written inline");
	ASSERT_EQ(!!(ep.flags & TCPRIO_EP_RULES_INLINE), 1, "TCPRIO_EP_RULES_INLINE");
	th_case_end();
	th_put_endpoint(t, ip, &ep);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(t, &cases[i]);
}

/* Rule blocks (TCPRIO_EP_RULES_BLOCK, include/tcprio.h): an endpoint with
 * more rules than fit in its entry is answered from its rule block while
 * the block holds its pod_id, else from tcprio_port_rules.  The hash holds
 * none of these rules at first, so a rule class proves the block answered. */
static void test_block_rules(struct th_ctx *t)
{
	static __u8 pkt[TH_PKT_MAX], out[TH_PKT_MAX + 256];
	static const char *ip = "198.18.0.17";
	static const struct port_class rules[] = {
		{ 9000, IPPROTO_TCP, C_HIGH }, { 9001, IPPROTO_TCP, C_HIGH },
		{ 9002, IPPROTO_TCP, C_HIGH }, { 53, IPPROTO_UDP, C_HIGH },
		{ PORT_DB, IPPROTO_TCP, C_HIGH }, { PORT_SRV, IPPROTO_TCP, C_PORT },
	};
	static const struct pkt_case cases[] = {
		{ "rule block: TCP source port rule (the block's last) -> rule class", E, CFG_STD,
		  { V4("198.18.0.17", V4_DST, IPPROTO_TCP, PORT_SRV, 40000) }, NULL, 0, P_PORT, D_PORT, C_PORT, REW },
		{ "rule block: TCP destination port rule -> rule class", E, CFG_STD,
		  { V4("198.18.0.17", V4_DST, IPPROTO_TCP, 40000, PORT_DB) }, NULL, 0, P_HIGH, D_HIGH, C_HIGH, REW },
		{ "rule block: source port rule beats destination port rule", E, CFG_STD,
		  { V4("198.18.0.17", V4_DST, IPPROTO_TCP, PORT_SRV, PORT_DB) }, NULL, 0, P_PORT, D_PORT, C_PORT, REW },
		{ "rule block: UDP packet to a TCP rule's port -> pod class", E, CFG_STD,
		  { V4("198.18.0.17", V4_DST, IPPROTO_UDP, 40000, PORT_SRV) }, NULL, 0, P_LOW, D_LOW, C_LOW, REW },
		{ "rule block: port with no rule -> pod class", E, CFG_STD,
		  { V4("198.18.0.17", V4_DST, IPPROTO_TCP, 40000, 9100) }, NULL, 0, P_LOW, D_LOW, C_LOW, REW },
		{ "rule block: at the uplink too (untrusted interface)", U, CFG_STD,
		  { V4("198.18.0.17", V4_DST, IPPROTO_TCP, PORT_SRV, 2) }, NULL, 0, P_PORT, NONE, C_PORT, 0, IF_LAN },
	};
	const __u32 idx = 77;
	struct tcprio_endpoint ep = {
		.pod_id = 0x4321, .class_id = C_LOW, .source = TCPRIO_SRC_ANNOTATION,
	};
	struct pkt_spec sp = { V4("198.18.0.17", V4_DST, IPPROTO_TCP, 40000, PORT_DB) };
	struct th_run_in in = { 0 };
	struct th_run_out r;
	size_t len = pkt_build(&sp, pkt, sizeof(pkt), NULL);

	struct tcprio_rule_block b;

	policy_set_endpoint_rules(&ep, rules, 6);
	ep.flags |= TCPRIO_EP_RULES_BLOCK;
	ep.rule_block = idx;
	policy_fill_rule_block(&b, ep.pod_id, rules, 6);
	th_put_rule_block(t, idx, &b);
	th_put_endpoint(t, ip, &ep);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(t, &cases[i]);

	th_case_begin("rule block of 32 rules (the most): every rule found by source and by destination port, others not");
	{
		struct port_class full[TCPRIO_BLOCK_RULES];
		struct tcprio_endpoint ep32 = {
			.pod_id = 0x4322, .class_id = C_LOW, .source = TCPRIO_SRC_ANNOTATION,
		};
		/* UDP and TCP rules on odd ports 1001..1063, in no order */
		for (int i = 0; i < TCPRIO_BLOCK_RULES; i++)
			full[i] = (struct port_class){ (__u16)(1063 - 2 * ((i * 7) % 32)),
						       i % 3 ? IPPROTO_TCP : IPPROTO_UDP,
						       i % 2 ? C_PORT : C_HIGH };
		policy_set_endpoint_rules(&ep32, full, TCPRIO_BLOCK_RULES);
		ep32.flags |= TCPRIO_EP_RULES_BLOCK;
		ep32.rule_block = idx + 1;
		policy_fill_rule_block(&b, ep32.pod_id, full, TCPRIO_BLOCK_RULES);
		th_put_rule_block(t, idx + 1, &b);
		th_put_endpoint(t, "198.18.0.18", &ep32);
		for (int i = 0; i < TCPRIO_BLOCK_RULES; i++) {
			__u32 want = full[i].class_id == C_PORT ? P_PORT : P_HIGH;
			struct pkt_spec s1 = { V4("198.18.0.18", V4_DST, full[i].protocol, full[i].port, 40000) };
			struct pkt_spec s2 = { V4("198.18.0.18", V4_DST, full[i].protocol, 40000, full[i].port) };
			struct pkt_spec s3 = { V4("198.18.0.18", V4_DST, full[i].protocol, full[i].port + 1,
						  full[i].port - 1) };
			size_t l1 = pkt_build(&s1, pkt, sizeof(pkt), NULL);

			th_run(t->prog_pod_edge, pkt, (__u32)l1, out, sizeof(out), &in, &r);
			ASSERT_EQ(r.priority, want, "rule by source port");
			l1 = pkt_build(&s2, pkt, sizeof(pkt), NULL);
			th_run(t->prog_pod_edge, pkt, (__u32)l1, out, sizeof(out), &in, &r);
			ASSERT_EQ(r.priority, want, "rule by destination port");
			l1 = pkt_build(&s3, pkt, sizeof(pkt), NULL);
			th_run(t->prog_pod_edge, pkt, (__u32)l1, out, sizeof(out), &in, &r);
			ASSERT_EQ(r.priority, P_LOW, "even ports around it: no rule, pod class");
		}
	}
	th_case_end();
	len = pkt_build(&sp, pkt, sizeof(pkt), NULL);

	th_case_begin("rule block: a block that is another pod's is not read (tcprio_port_rules is)");
	apply_config(t, CFG_STD);
	policy_fill_rule_block(&b, 0x9999, rules, 6);
	th_put_rule_block(t, idx, &b);
	th_run(t->prog_pod_edge, pkt, (__u32)len, out, sizeof(out), &in, &r);
	ASSERT_EQ(r.priority, P_LOW, "no rule in the hash: pod class");
	th_add_port_rule(t, ip, IPPROTO_TCP, PORT_DB, C_HIGH);
	th_run(t->prog_pod_edge, pkt, (__u32)len, out, sizeof(out), &in, &r);
	ASSERT_EQ(r.priority, P_HIGH, "rule in the hash: rule class");
	th_case_end();
}

/* The source cache (include/tcprio.h): a changed endpoint is seen by the
 * next packet of a flow the cache holds when the writer notes the change
 * (th_note_change, as the agent's writes do); a write that is not noted
 * is seen within a jiffy; a source that was not an endpoint is one as
 * soon as it is added; the uplink answers from the entry the pod edge
 * filled with the same class. */
static void test_src_cache(struct th_ctx *t)
{
	static __u8 pkt[TH_PKT_MAX], out[TH_PKT_MAX + 256];
	static const char *ip = "198.18.0.15";
	struct pkt_spec sp = { V4("198.18.0.15", V4_DST, IPPROTO_TCP, 40000, 443) };
	struct th_run_in in = { .ingress_ifindex = 0 };
	struct tcprio_endpoint ep = { .pod_id = 0x1234, .source = TCPRIO_SRC_MANUAL };
	struct tcprio_ip key;
	struct th_run_out r;
	size_t len = pkt_build(&sp, pkt, sizeof(pkt), NULL);

	apply_config(t, CFG_STD);
	th_ip_key(ip, &key);
	th_case_begin("source cache: a noted endpoint change is seen by the next packet");
	th_add_endpoint(t, ip, C_HIGH, 0);
	th_run(t->prog_pod_edge, pkt, (__u32)len, out, sizeof(out), &in, &r);
	th_run(t->prog_pod_edge, pkt, (__u32)len, out, sizeof(out), &in, &r);
	ASSERT_EQ(r.priority, P_HIGH, "second packet (cached): high");
	th_add_endpoint(t, ip, C_LOW, 0);
	th_run(t->prog_pod_edge, pkt, (__u32)len, out, sizeof(out), &in, &r);
	ASSERT_EQ(r.priority, P_LOW, "after the change: low");
	th_case_end();

	th_case_begin("source cache: the uplink answers from the pod edge's entry, same class");
	in.ingress_ifindex = TH_IFINDEX;  /* forwarded, as after the pod edge */
	th_run(t->prog_uplink, pkt, (__u32)len, out, sizeof(out), &in, &r);
	ASSERT_EQ(r.priority, P_LOW, "uplink: low");
	in.ingress_ifindex = 0;
	th_case_end();

	th_case_begin("source cache: an endpoint write that is not noted is seen within a jiffy");
	ep.class_id = C_HIGH;
	bpf_map_update_elem(t->map_endpoints, &key, &ep, BPF_ANY);
	ep_slot_sync(t->map_ep_slots, t->map_endpoints, &key);  /* its slot, not the generation */
	usleep(20000);  /* > 1 jiffy at HZ >= 100 */
	th_run(t->prog_pod_edge, pkt, (__u32)len, out, sizeof(out), &in, &r);
	ASSERT_EQ(r.priority, P_HIGH, "20 ms later: high");
	th_case_end();

	th_case_begin("source cache: a cached non-endpoint becomes an endpoint at once");
	th_del_endpoint(t, &key);
	th_run(t->prog_pod_edge, pkt, (__u32)len, out, sizeof(out), &in, &r);
	th_run(t->prog_pod_edge, pkt, (__u32)len, out, sizeof(out), &in, &r);
	ASSERT_EQ(r.priority, P_BE, "not an endpoint: sanitised to the default class");
	th_add_endpoint(t, ip, C_LOW, 0);
	th_run(t->prog_pod_edge, pkt, (__u32)len, out, sizeof(out), &in, &r);
	ASSERT_EQ(r.priority, P_LOW, "added: low");
	th_case_end();
}

/* Counters accumulate across runs and are keyed by class. */
static void test_counter_accumulation(struct th_ctx *t)
{
	static __u8 pkt[TH_PKT_MAX], out[TH_PKT_MAX + 256];
	struct pkt_spec a = { V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2) };
	struct pkt_spec b = { V6(V6_RULES, V6_DST, IPPROTO_TCP, PORT_SRV, 2) };
	struct th_run_in in = { .gso_segs = 0 };
	struct th_run_out r;
	size_t la, lb;
	int i;

	apply_config(t, CFG_STD);
	th_reset_counters(t);
	la = pkt_build(&a, pkt, sizeof(pkt), NULL);
	for (i = 0; i < 3; i++)
		th_run(t->prog_pod_edge, pkt, (__u32)la, out, sizeof(out), &in, &r);
	lb = pkt_build(&b, pkt, sizeof(pkt), NULL);
	in.repeat = 7;  /* the kernel runs the program 7 times on copies */
	th_run(t->prog_pod_edge, pkt, (__u32)lb, out, sizeof(out), &in, &r);
	th_case_begin("pod-edge: counters accumulate per class (3 + 7 runs)");
	ASSERT_EQ(th_stat_packets(t, E, C_HIGH), 3, "class HIGH packets");
	ASSERT_EQ(th_stat_bytes(t, E, C_HIGH), 3 * la, "class HIGH bytes");
	ASSERT_EQ(th_stat_packets(t, E, C_PORT), 7, "class PORT packets");
	ASSERT_EQ(th_stat_bytes(t, E, C_PORT), 7 * lb, "class PORT bytes");
	ASSERT_EQ(th_stat_packets_all(t, U), 0, "nothing at the uplink");
	th_case_end();
}

/*
 * The trustDscpFrom CIDRs' prefix list (include/tcprio.h): written from
 * the trie by the agent's writer (prefix_list_sync), then the trie
 * emptied: every case of the table passes again, the CIDR cases only
 * because the uplink reads the list; and with the endpoint filter built
 * as the agent builds it, so the uplink's cases also run through it; and
 * with the endpoint slots emptied, so every source is looked up in the
 * hash (the first pass reads the slots the writers wrote).  Then the trie
 * back, the list invalid, the filter off, the slots written again.
 */
static void test_trust_cidr_list(struct th_ctx *t)
{
	struct tcprio_prefix_list l = { 0 };
	struct tcprio_trust_cidr_key key;
	__u32 k = TCPRIO_PLIST_TRUST_CIDRS;
	size_t i;

	ASSERT_OK(th_sync_prefix_lists(t), "write the prefix lists (prefix_list_sync)");
	bpf_map_lookup_elem(t->map_prefix_lists, &k, &l);
	ASSERT_EQ(l.valid == 1 && l.count == 2 && th_build_ep_filter(t) >= 5 &&
		  th_ep_slots(t, false) == 0, 1,
		  "trust CIDRs' list: valid, the 2 CIDRs; the endpoint filter built; slots empty");
	while (bpf_map_get_next_key(t->map_trust_cidrs, NULL, &key) == 0 &&
	       bpf_map_delete_elem(t->map_trust_cidrs, &key) == 0)
		;
	th_note_change(t);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(t, &cases[i]);
	th_trust_cidr(t, "198.18.9.0", 24);
	th_trust_cidr(t, "2001:db8:9::", 48);
	th_invalidate_prefix_lists(t);
	ep_filter_off(bpf_map__fd(t->skel->maps.tcprio_ep_filter));
	th_ep_slots(t, true);
}

/* The pod edge's skb->priority for the packet pkt (len bytes) as a flow's
 * first packet: a new cache generation, then one run. */
static __u32 edge_first_priority(struct th_ctx *t, const __u8 *pkt, size_t len)
{
	static __u8 out[TH_PKT_MAX + 256];
	struct th_run_in in = { .ingress_ifindex = 0 };
	struct th_run_out r;

	th_note_change(t);
	th_run(t->prog_pod_edge, pkt, (__u32)len, out, sizeof(out), &in, &r);
	return r.priority;
}

/*
 * One try of the slot-before-cache case: with a new cache generation, the
 * uplink (a local packet, looked up) fills the source cache with the
 * slot's class (right, low); then the slot is planted high (no new
 * generation), the pod edge runs, and the uplink runs again.  *up_low: the
 * uplink's second run still answered low from its cache, so the cache held
 * low when the pod edge ran (one jiffy: the cache answers for the jiffy it
 * was filled in; the thread pinned to one CPU: the cache is per CPU).
 * *edge_high: the pod edge answered high, from the slot.  Returns 0 if the
 * thread cannot be pinned.
 */
static int slot_and_cache_disagree(struct th_ctx *t, const __u8 *pkt, size_t len, __u32 k,
				   const struct tcprio_ep_slot *right, int *up_low, int *edge_high)
{
	static __u8 out[TH_PKT_MAX + 256];
	struct th_run_in in = { .ingress_ifindex = 0 };
	struct tcprio_ep_slot planted = *right;
	struct th_run_out r, u1, u2;
	cpu_set_t old, one;

	if (sched_getaffinity(0, sizeof(old), &old))
		return 0;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		return 0;
	bpf_map_update_elem(t->map_ep_slots, &k, right, BPF_ANY);
	th_note_change(t);
	th_run(t->prog_uplink, pkt, (__u32)len, out, sizeof(out), &in, &u1);
	planted.ep.class_id = C_HIGH;
	bpf_map_update_elem(t->map_ep_slots, &k, &planted, BPF_ANY);
	th_run(t->prog_pod_edge, pkt, (__u32)len, out, sizeof(out), &in, &r);
	th_run(t->prog_uplink, pkt, (__u32)len, out, sizeof(out), &in, &u2);
	sched_setaffinity(0, sizeof(old), &old);
	*up_low = u1.priority == P_LOW && u2.priority == P_LOW;
	*edge_high = r.priority == P_HIGH;
	return 1;
}

/*
 * Endpoint slots (include/tcprio.h): both programs take a source's entry
 * from its slot when the slot holds that address (the pod edge even before
 * its source cache, for a pod whose rules need no lookup) - shown with a slot
 * planted to disagree with the hash, which no writer leaves - and from the
 * hash when the slot is empty or another address's; ep_slot_sync (the
 * writers' call) and ep_slot_settle put the slot right again.
 */
static void test_ep_slots(struct th_ctx *t)
{
	static __u8 pkt[TH_PKT_MAX], out[TH_PKT_MAX + 256];
	static const char *ip = "198.18.0.16", *other = "198.18.0.17";
	struct pkt_spec sp = { V4("198.18.0.16", V4_DST, IPPROTO_TCP, 40000, 443) };
	struct th_run_in in = { .ingress_ifindex = 0 };
	struct tcprio_ep_slot slot = { 0 }, got;
	struct tcprio_ip key;
	struct th_run_out r, u;
	size_t len = pkt_build(&sp, pkt, sizeof(pkt), NULL);
	__u32 k;

	apply_config(t, CFG_STD);
	th_ip_key(ip, &key);
	k = TCPRIO_EP_SLOT(&key);
	th_case_begin("endpoint slots: the writers' slot holds the entry the hash holds");
	th_add_endpoint(t, ip, C_LOW, 0);
	bpf_map_lookup_elem(t->map_ep_slots, &k, &got);
	ASSERT_EQ(!memcmp(&got.ip, &key, sizeof(key)) && got.ep.class_id == C_LOW &&
		  got.ep.pod_id == 0x1234, 1, "slot: the address, class LOW, its pod_id");
	th_run(t->prog_pod_edge, pkt, (__u32)len, out, sizeof(out), &in, &r);
	ASSERT_EQ(r.priority, P_LOW, "pod edge: low");
	th_case_end();

	th_case_begin("endpoint slots: the pod edge answers from the slot before its source cache, the uplink from its cache");
	{
		bool shown = false;
		int attempt;

		for (attempt = 0; attempt < 20 && !shown; attempt++) {
			int up_low, edge_high;

			if (!slot_and_cache_disagree(t, pkt, len, k, &got, &up_low, &edge_high))
				break;
			shown = up_low;
			if (shown)
				ASSERT_TRUE(edge_high,
					    "pod edge: the slot's class, high (classify.h slot_class), "
					    "while the uplink's cache still answered low (source_class)");
		}
		ASSERT_TRUE(shown, "the uplink's cache held low around the pod edge's run in one of 20 tries "
				   "(one jiffy, one CPU)");
		bpf_map_update_elem(t->map_ep_slots, &k, &got, BPF_ANY);
	}
	th_case_end();

	th_case_begin("endpoint slots: a slot holding the address answers before the hash");
	slot = got;
	slot.ep.class_id = C_HIGH;  /* planted: disagrees with the hash */
	bpf_map_update_elem(t->map_ep_slots, &k, &slot, BPF_ANY);
	ASSERT_EQ(edge_first_priority(t, pkt, len), P_HIGH, "pod edge: the slot's class, high");
	th_note_change(t);
	th_run(t->prog_uplink, pkt, (__u32)len, out, sizeof(out), &in, &u);
	ASSERT_EQ(u.priority, P_HIGH, "uplink (a local packet, looked up): the slot's class");
	ASSERT_EQ(ep_slot_settle(t->map_ep_slots, t->map_endpoints, k), 0, "settle");
	bpf_map_lookup_elem(t->map_ep_slots, &k, &got);
	ASSERT_EQ(got.ep.pod_id, 0, "settled: the disagreeing slot emptied");
	ASSERT_EQ(edge_first_priority(t, pkt, len), P_LOW, "empty slot: the hash's class, low");
	th_case_end();

	th_case_begin("endpoint slots: a slot holding another address is not used");
	th_ip_key(other, &slot.ip);
	bpf_map_update_elem(t->map_ep_slots, &k, &slot, BPF_ANY);
	ASSERT_EQ(edge_first_priority(t, pkt, len), P_LOW,
		  "another address's slot: the hash's class, low");
	ASSERT_EQ(ep_slot_sync(t->map_ep_slots, t->map_endpoints, &key), 0, "ep_slot_sync");
	bpf_map_lookup_elem(t->map_ep_slots, &k, &got);
	ASSERT_EQ(!memcmp(&got.ip, &key, sizeof(key)) && got.ep.class_id == C_LOW, 1,
		  "the other address is no endpoint: its slot settled, then taken by this one");
	th_case_end();

	th_case_begin("endpoint slots: two pods whose addresses share a slot: the first keeps it, the other is found in the hash");
	{
		struct pkt_spec sy = sp;
		struct tcprio_ip y = key;
		char ytext[INET_ADDRSTRLEN];
		unsigned int n;

		for (n = 1; n < 65536; n++) {  /* another 198.18.x.y in the same slot */
			y.addr[14] = (__u8)(n >> 8);
			y.addr[15] = (__u8)n;
			if (memcmp(&y, &key, sizeof(y)) && TCPRIO_EP_SLOT(&y) == k)
				break;
		}
		inet_ntop(AF_INET, y.addr + 12, ytext, sizeof(ytext));
		th_add_endpoint(t, ytext, C_HIGH, 0);
		bpf_map_lookup_elem(t->map_ep_slots, &k, &got);
		ASSERT_EQ(n < 65536 && !memcmp(&got.ip, &key, sizeof(key)), 1,
			  "the slot stays the first pod's");
		sy.src = ytext;
		ASSERT_EQ(edge_first_priority(t, pkt, pkt_build(&sy, pkt, sizeof(pkt), NULL)), P_HIGH,
			  "the other pod: its own class from the hash, high");
		len = pkt_build(&sp, pkt, sizeof(pkt), NULL);
		ASSERT_EQ(edge_first_priority(t, pkt, len), P_LOW, "the first pod: low, from its slot");
		th_del_endpoint(t, &y);
	}
	th_case_end();

	th_case_begin("endpoint slots: IPv6, a slot holding an address that differs in its first word is not used");
	{
		struct pkt_spec s6 = { V6("2001:db8::16", "2001:db8:2::2", IPPROTO_TCP, 40000, 443) };
		size_t l6 = pkt_build(&s6, pkt, sizeof(pkt), NULL);
		struct tcprio_ip k6;
		__u32 slot6;

		th_add_endpoint(t, "2001:db8::16", C_LOW, 0);
		th_ip_key("2001:db8::16", &k6);
		slot6 = TCPRIO_EP_SLOT(&k6);
		bpf_map_lookup_elem(t->map_ep_slots, &slot6, &slot);
		slot.ep.class_id = C_HIGH;
		bpf_map_update_elem(t->map_ep_slots, &slot6, &slot, BPF_ANY);
		ASSERT_EQ(edge_first_priority(t, pkt, l6), P_HIGH,
			  "the slot's own address: its class (planted high)");
		slot.ip.addr[0] ^= 0x40;  /* 6001:db8::16: same other words */
		bpf_map_update_elem(t->map_ep_slots, &slot6, &slot, BPF_ANY);
		ASSERT_EQ(edge_first_priority(t, pkt, l6), P_LOW,
			  "first word differs: the hash's class, low");
		th_del_endpoint(t, &k6);
	}
	th_case_end();

	th_case_begin("endpoint slots: a delete empties the slot (ep_slot_sync)");
	bpf_map_delete_elem(t->map_endpoints, &key);
	ASSERT_EQ(ep_slot_sync(t->map_ep_slots, t->map_endpoints, &key), 0, "ep_slot_sync");
	bpf_map_lookup_elem(t->map_ep_slots, &k, &got);
	ASSERT_EQ(got.ep.pod_id, 0, "slot empty");
	ASSERT_EQ(edge_first_priority(t, pkt, len), P_BE,
		  "not an endpoint: sanitised to the default class");
	th_case_end();
}

/* bpftool prints BTF field names for the pinned endpoints map. */
static void test_bpftool_btf(struct th_ctx *t)
{
	char cmd[256], *buf = NULL;
	size_t cap = 0, n = 0;
	json_error_t jerr;
	json_t *root = NULL;
	FILE *f;
	bool found = false;

	snprintf(cmd, sizeof(cmd), "bpftool -j map dump pinned %s/tcprio_endpoints 2>&1",
		 t->pin_dir);
	f = popen(cmd, "r");
	if (!f) {
		th_tap(false, "bpftool map dump of pinned tcprio_endpoints shows BTF field names");
		return;
	}
	for (;;) {
		if (n + 4096 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			if (!buf)
				break;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		if (!got)
			break;
		n += got;
	}
	pclose(f);
	if (buf) {
		buf[n] = '\0';
		/* rule_ports is a u64 bitmap: above 2^63 jansson refuses it as an integer */
		root = json_loads(buf, JSON_DECODE_INT_AS_REAL, &jerr);
	}
	th_case_begin("bpftool -j map dump pinned %s/tcprio_endpoints has BTF field names", t->pin_dir);
	if (ASSERT_TRUE(root && json_is_array(root), "bpftool printed a JSON array")) {
		size_t i;
		json_t *e;

		json_array_foreach(root, i, e) {
			json_t *val = json_object_get(json_object_get(e, "formatted"), "value");
			json_t *cls = json_object_get(val, "class_id");

			if (cls && json_object_get(val, "pod_id") && json_object_get(val, "flags")) {
				found = true;
				break;
			}
		}
		ASSERT_TRUE(found, "an entry has formatted.value.{class_id,pod_id,flags}");
	} else if (buf) {
		th_diag("bpftool output: %.300s", buf);
		th_diag("json: %s at line %d col %d; tail: %s", jerr.text, jerr.line, jerr.column,
			n > 300 ? buf + n - 300 : buf);
	}
	th_case_end();
	json_decref(root);
	free(buf);
}

static struct th_ctx ctx;

static void on_signal(int sig)
{
	th_close(&ctx);
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(void)
{
	struct stat st;
	size_t i;
	int err, h;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0)
		return th_skip_all("needs root (BPF_PROG_TEST_RUN, bpffs)");
	/* Every check below prints one result: two per case of the table (the
	 * second pass: test_trust_cidr_list) and 90 others; update the 90 with
	 * the checks. */
	th_plan(2 * (int)(sizeof(cases) / sizeof(cases[0])) + 91);
	libbpf_set_print(NULL);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	err = th_open(&ctx, "pkt");
	if (!ASSERT_OK(err, "load tcprio.bpf.o (both programs pass the verifier)"))
		return th_done();
	ASSERT_EQ(stat(ctx.pin_dir, &st) == 0 && S_ISDIR(st.st_mode), 1,
		  "own pin folder exists");
	{
		char p[200];

		snprintf(p, sizeof(p), "%s/tcprio_endpoints", ctx.pin_dir);
		ASSERT_EQ(access(p, F_OK), 0, "maps pinned in the own pin folder");
	}

	/* Fresh maps: the config is all zero, so enabled = 0. */
	{
		static const struct pkt_case fresh = {
			"fresh maps (no config written): untouched, uncounted", E, CFG_ZERO,
			{ V4(V4_HIGH, V4_DST, IPPROTO_TCP, 1, 2) }, NULL, 0, 0, NONE, NONE, 0,
		};
		th_add_endpoint(&ctx, V4_HIGH, C_HIGH, 0);
		th_set_class(&ctx, C_HIGH, P_HIGH, D_HIGH, true);
		run_case(&ctx, &fresh);
	}

	if (!ASSERT_OK(setup_maps(&ctx), "write classes, DSCP map, endpoints, port rules, config"))
		goto out;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&ctx, &cases[i]);
	test_port_flag(&ctx);
	test_port_protocols(&ctx);
	test_port_bits(&ctx);
	test_inline_rules(&ctx);
	test_block_rules(&ctx);
	test_src_cache(&ctx);
	test_ep_slots(&ctx);
	test_fragment_sequences(&ctx);
	test_fragment_bound(&ctx);
	test_counter_accumulation(&ctx);
	test_checksum_all_dscp(&ctx, IPPROTO_UDP);
	test_checksum_all_dscp(&ctx, IPPROTO_TCP);
	test_dscp_writer_dispatch(&ctx);
	test_dscp_writer_input(&ctx);
	for (h = 0; h < TCPRIO_HOOK_COUNT; h++)
		for (i = 0; i < sizeof(trunc_cases) / sizeof(trunc_cases[0]); i++)
			test_truncation(&ctx, &trunc_cases[i], h);
	report_short_frames();
	test_trust_cidr_list(&ctx);
	test_bpftool_btf(&ctx);
out:
	{
		char dir[sizeof(ctx.pin_dir)];

		memcpy(dir, ctx.pin_dir, sizeof(dir));
		th_close(&ctx);
		ASSERT_TRUE(stat(dir, &st) != 0, "pin folder removed");
	}
	return th_done();
}
