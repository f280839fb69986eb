/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * dscp.h - rewrite the DSCP of an IPv4 / IPv6 packet, keeping ECN.
 *
 * DSCP is the upper six bits of the IPv4 TOS byte / IPv6 traffic class
 * (RFC 2474 section 3); the lower two bits are ECN (RFC 3168) and are kept.
 * IPv4: the header checksum is updated incrementally (RFC 1624 eqn. 3),
 * which equals a full recompute.  IPv6: only the six DSCP bits of the first
 * two header bytes change; version and flow label are kept.
 *
 * The stores use bpf_skb_store_bytes (not direct packet writes), so the skb
 * is made writable (uncloned) only for packets that really change.
 * skb->csum of a CHECKSUM_COMPLETE skb (the ones's complement sum of the
 * bytes after the link header): the IPv4 store changes TOS and header
 * checksum together, which leaves the sum of the header's 16-bit words
 * unchanged (that is what the checksum is for), so no flag is needed;
 * the IPv6 store changes the sum, so it asks for BPF_F_RECOMPUTE_CSUM.
 * Every packet pointer is invalid after a rewrite.
 */
#ifndef TCPRIO_DSCP_H
#define TCPRIO_DSCP_H

#include "parse.h"

/* IPv4: write new_tos into the TOS byte and fix the header checksum.
 * One store of header bytes 0..11.  Returns 1 if stored, 0 if not. */
static __always_inline int rewrite_ipv4_tos(struct __sk_buff *skb, __u32 off,
					    __u8 new_tos)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u8 hdr[12];
	__u8 *p = data + off;
	__u32 sum;
	__u16 csum;

	if ((void *)(p + sizeof(hdr)) > data_end)
		return 0;
	__builtin_memcpy(hdr, p, sizeof(hdr));
	/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), m = the 16-bit word holding
	 * TOS (version/IHL byte unchanged, so only its low byte differs). */
	csum = (__u16)hdr[10] << 8 | hdr[11];
	sum = (__u16)~csum;
	sum += (__u16)~((__u16)hdr[0] << 8 | hdr[1]);
	sum += (__u16)hdr[0] << 8 | new_tos;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	csum = ~sum;
	hdr[1] = new_tos;
	hdr[10] = csum >> 8;
	hdr[11] = csum & 0xff;
	return bpf_skb_store_bytes(skb, off, hdr, sizeof(hdr), 0) == 0;
}

/* IPv6: write new traffic class tc into header bytes 0..1 (4 bits each
 * side of the version / flow label).  Returns 1 if stored, 0 if not. */
static __always_inline int rewrite_ipv6_tc(struct __sk_buff *skb, __u32 off,
					   __u8 tc)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u8 *p = data + off;
	__u8 b[2];

	if ((void *)(p + 2) > data_end)
		return 0;
	b[0] = (p[0] & 0xf0) | tc >> 4;
	b[1] = (__u8)(tc << 4) | (p[1] & 0x0f);
	return bpf_skb_store_bytes(skb, off, b, sizeof(b),
				   BPF_F_RECOMPUTE_CSUM) == 0;
}

/*
 * Set the DSCP of the parsed packet to dscp (0..63), keeping ECN.  No store
 * when it already has that DSCP.  Returns 1 if the packet was rewritten.
 */
static __always_inline int rewrite_dscp(struct __sk_buff *skb,
					const struct pkt_info *pi, __u8 dscp)
{
	__u8 new_tos = (__u8)(dscp << 2) | (pi->tos & 0x3);
	__u32 off = pi->l3_off;

	if (new_tos == pi->tos)
		return 0;
	if (off > ETH_HLEN + 4 * TCPRIO_MAX_VLANS)  /* bound for the verifier */
		return 0;
	if (pi->family == 4)
		return rewrite_ipv4_tos(skb, off, new_tos);
	return rewrite_ipv6_tc(skb, off, new_tos);
}

#endif /* TCPRIO_DSCP_H */
