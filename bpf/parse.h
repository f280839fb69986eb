/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * parse.h - packet parsing for the tcprio TC programs.
 *
 * parse_packet() walks Ethernet, up to TCPRIO_MAX_VLANS stacked VLAN tags
 * (802.1Q 0x8100, 802.1ad 0x88a8), IPv4 (IHL 5..15) or IPv6 (with up to
 * TCPRIO_MAX_IPV6_EXT extension headers), and reads the L4 ports of TCP,
 * UDP and SCTP (the first 4 bytes of each, RFC 9293 / RFC 768 / RFC 9260).
 * It uses direct packet access (skb->data .. skb->data_end) only.
 *
 * Outcomes:
 *   -1  unparsed: not IPv4/IPv6, more VLAN tags than we walk, or the frame
 *       ends inside the Ethernet, VLAN or IP base header (IPv4: inside the
 *       IHL*4 bytes; IHL < 5 also counts as unparsed).
 *    0  parsed: pi->saddr, pi->daddr, pi->tos, pi->family, pi->proto and
 *       pi->l3_off are valid; for a fragment also pi->frag and pi->frag_id
 *       (pi->frag is 0 otherwise).  pi->has_ports is 1 only
 *       if the L4 protocol is TCP/UDP/SCTP, the packet is not a non-first
 *       fragment and the first 4 bytes of the L4 header are present.  A
 *       frame that ends inside an IPv6 extension header or inside the
 *       first 4 L4 bytes is classified by address alone (no ports): the L3
 *       source is known, so the pod's class is the best answer we have.
 */
#ifndef TCPRIO_PARSE_H
#define TCPRIO_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "tcprio.h"

#define TCPRIO_MAX_VLANS     4   /* stacked VLAN tags walked */
#define TCPRIO_MAX_IPV6_EXT  6   /* IPv6 extension headers walked */
/* Largest L3 header offset parse_packet() returns (struct pkt_info.l3_off:
 * Ethernet and TCPRIO_MAX_VLANS tags, bytes).  Code that reads or writes
 * the IP header at that offset checks it against this bound first, so that
 * the verifier knows the offset's range. */
#define TCPRIO_MAX_L3_OFF    (ETH_HLEN + 4 * TCPRIO_MAX_VLANS)
/* Bytes of headers we want in the linear part of the skb: Ethernet 14 +
 * 4 VLAN tags 16 + IPv4 with options 60 + 4 L4 bytes = 94, rounded up to
 * leave room for IPv6 with a few small extension headers. */
#define TCPRIO_PULL_LEN      128

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif
/* IPv6 extension header numbers (IANA; RFC 8200 section 4, RFC 4302). */
#define TCPRIO_NEXTHDR_HOP      0
#define TCPRIO_NEXTHDR_ROUTING  43
#define TCPRIO_NEXTHDR_FRAGMENT 44
#define TCPRIO_NEXTHDR_AUTH     51
#define TCPRIO_NEXTHDR_DEST     60

#define TCPRIO_IP_OFFSET   0x1fff  /* IPv4 fragment offset bits (RFC 791) */
#define TCPRIO_IP_MF       0x2000  /* IPv4 more-fragments flag (RFC 791) */
#define TCPRIO_IP6_OFFSET  0xfff8  /* IPv6 fragment offset bits (RFC 8200 4.5) */
#define TCPRIO_IP6_MF      0x0001  /* IPv6 M flag (RFC 8200 4.5) */

/* struct pkt_info.frag */
#define TCPRIO_FRAG_ANY    1  /* a fragment (MF set or offset != 0); an IPv6
                                 atomic fragment (RFC 6946) is not one */
#define TCPRIO_FRAG_FIRST  2  /* ... with offset 0 (it has the L4 header) */

/* 802.1Q / 802.1ad tag after the MAC addresses (IEEE 802.1Q). */
struct tcprio_vlan_hdr {
	__be16 tci;
	__be16 proto;   /* next ethertype */
};

/* What the classifier needs from a packet. */
struct pkt_info {
	struct tcprio_ip saddr;  /* source address, IPv4 mapped (::ffff:a.b.c.d) */
	struct tcprio_ip daddr;  /* destination, same form (the uplink's LAN/WAN lookup) */
	__u32 frag_id;           /* IP identification, network order; fragments */
	__u32 l3_off;            /* bytes from skb->data to the IP header */
	__u16 sport, dport;      /* host byte order; valid if has_ports */
	__u8 family;             /* 4 or 6 */
	__u8 proto;              /* L4 protocol (after IPv6 ext headers) */
	__u8 has_ports;
	__u8 tos;                /* IPv4 TOS / IPv6 traffic class: DSCP<<2|ECN */
	__u8 frag;               /* TCPRIO_FRAG_* bits, 0 if not a fragment */
};

/* If the frame has more bytes than its linear part holds, pull up to
 * TCPRIO_PULL_LEN bytes of headers into it (a no-op for the usual skb whose
 * headers are already linear; bpf_skb_pull_data may unclone the skb). */
static __always_inline void ensure_headers_linear(struct __sk_buff *skb)
{
	__u32 want = skb->len < TCPRIO_PULL_LEN ? skb->len : TCPRIO_PULL_LEN;
	__u32 have = skb->data_end - skb->data;

	if (have < want)
		bpf_skb_pull_data(skb, want);
}

/* Read source and destination port (first 4 bytes of TCP/UDP/SCTP). */
static __always_inline void parse_ports(void *data, void *data_end, __u32 off,
					struct pkt_info *pi)
{
	__be16 *p;

	if (pi->proto != IPPROTO_TCP && pi->proto != IPPROTO_UDP &&
	    pi->proto != IPPROTO_SCTP)
		return;
	p = data + off;
	if ((void *)(p + 2) > data_end)
		return;                 /* truncated L4: address only */
	pi->sport = bpf_ntohs(p[0]);
	pi->dport = bpf_ntohs(p[1]);
	pi->has_ports = 1;
}

static __always_inline int parse_ipv4(void *data, void *data_end, __u32 off,
				      struct pkt_info *pi)
{
	struct iphdr *iph = data + off;
	__u32 hlen;
	__u32 *a = (__u32 *)pi->saddr.addr;

	if ((void *)(iph + 1) > data_end)
		return -1;
	hlen = (__u32)iph->ihl * 4;
	if (hlen < sizeof(*iph) || data + off + hlen > data_end)
		return -1;
	pi->family = 4;
	pi->tos = iph->tos;
	pi->proto = iph->protocol;
	a[0] = 0;
	a[1] = 0;
	a[2] = bpf_htonl(0x0000ffff);
	a[3] = iph->saddr;
	{
		__u32 *d = (__u32 *)pi->daddr.addr;

		d[2] = bpf_htonl(0x0000ffff);
		d[3] = iph->daddr;
	}
	if (iph->frag_off & bpf_htons(TCPRIO_IP_MF | TCPRIO_IP_OFFSET)) {
		pi->frag_id = iph->id;
		pi->frag = TCPRIO_FRAG_ANY;
		if (iph->frag_off & bpf_htons(TCPRIO_IP_OFFSET))
			return 0;       /* non-first fragment: no L4 header */
		pi->frag |= TCPRIO_FRAG_FIRST;
	}
	parse_ports(data, data_end, off + hlen, pi);
	return 0;
}

/* Extension headers we walk (they carry a next header field). */
static __always_inline int ipv6_is_ext(__u8 nexthdr)
{
	return nexthdr == TCPRIO_NEXTHDR_HOP ||
	       nexthdr == TCPRIO_NEXTHDR_ROUTING ||
	       nexthdr == TCPRIO_NEXTHDR_DEST ||
	       nexthdr == TCPRIO_NEXTHDR_AUTH ||
	       nexthdr == TCPRIO_NEXTHDR_FRAGMENT;
}

static __always_inline int parse_ipv6(void *data, void *data_end, __u32 off,
				      struct pkt_info *pi)
{
	struct ipv6hdr *ip6 = data + off;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6 + 1) > data_end)
		return -1;
	pi->family = 6;
	pi->tos = ip6->priority << 4 | ip6->flow_lbl[0] >> 4;
	__builtin_memcpy(pi->saddr.addr, &ip6->saddr, sizeof(pi->saddr.addr));
	__builtin_memcpy(pi->daddr.addr, &ip6->daddr, sizeof(pi->daddr.addr));
	nexthdr = ip6->nexthdr;
	off += sizeof(*ip6);

#pragma unroll
	for (i = 0; i < TCPRIO_MAX_IPV6_EXT; i++) {
		__u8 *h = data + off;

		if (!ipv6_is_ext(nexthdr))
			goto l4;
		if ((void *)(h + 8) > data_end)
			return 0;       /* truncated ext header: address only */
		if (nexthdr == TCPRIO_NEXTHDR_FRAGMENT) {
			__be16 frag = *(__be16 *)(h + 2);

			nexthdr = h[0];
			if (frag & bpf_htons(TCPRIO_IP6_OFFSET | TCPRIO_IP6_MF)) {
				pi->frag_id = *(__u32 *)(h + 4);
				pi->frag = TCPRIO_FRAG_ANY;
			}
			if (frag & bpf_htons(TCPRIO_IP6_OFFSET)) {
				pi->proto = nexthdr;
				return 0;       /* non-first fragment */
			}
			pi->frag |= pi->frag ? TCPRIO_FRAG_FIRST : 0;
			off += 8;
		} else if (nexthdr == TCPRIO_NEXTHDR_AUTH) {
			nexthdr = h[0];
			off += ((__u32)h[1] + 2) * 4;   /* RFC 4302 2.2 */
		} else {
			nexthdr = h[0];
			off += ((__u32)h[1] + 1) * 8;   /* RFC 8200 4.3-4.6 */
		}
	}
	if (ipv6_is_ext(nexthdr)) {
		/* Still an extension header after TCPRIO_MAX_IPV6_EXT of them:
		 * classify by address, no ports. */
		pi->proto = nexthdr;
		return 0;
	}
l4:
	pi->proto = nexthdr;
	parse_ports(data, data_end, off, pi);
	return 0;
}

/* Parse skb into pi (zeroed here).  Returns 0 or -1 (unparsed), see top. */
static __always_inline int parse_packet(struct __sk_buff *skb,
					struct pkt_info *pi)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__be16 proto;
	int i;

	__builtin_memset(pi, 0, sizeof(*pi));
	if ((void *)(eth + 1) > data_end)
		return -1;
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < TCPRIO_MAX_VLANS; i++) {
		struct tcprio_vlan_hdr *vh = data + off;

		if (proto != bpf_htons(ETH_P_8021Q) &&
		    proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > data_end)
			return -1;
		proto = vh->proto;
		off += sizeof(*vh);
	}
	pi->l3_off = off;
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(data, data_end, off, pi);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data, data_end, off, pi);
	return -1;      /* ARP, LLDP, MPLS, a fifth VLAN tag, ... */
}

#endif /* TCPRIO_PARSE_H */
