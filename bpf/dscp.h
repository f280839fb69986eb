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
 * Two ways to store, both keeping skb->csum of a CHECKSUM_COMPLETE skb (the
 * one's complement sum of the bytes after the link header) right:
 *   - bpf_skb_store_bytes (store_tos, rewrite_dscp below): makes the skb writable
 *     (uncloned) only for packets that really change, and passes the
 *     packet unchanged when it cannot.  The IPv4 store changes TOS and
 *     header checksum together, which leaves the sum of the header's 16-bit
 *     words unchanged (that is what the checksum is for), so no flag is
 *     needed; the IPv6 store changes the sum, so it asks for
 *     BPF_F_RECOMPUTE_CSUM.
 *   - a direct write (tcprio_dscp_writer in tcprio.bpf.c, IPv4 only, so
 *     again no skb->csum change): no helper call, about 45 ns less a packet
 *     on the development machine (README, "Datapath cost").
 * Every packet pointer is invalid after a bpf_skb_store_bytes rewrite.
 */
#ifndef TCPRIO_DSCP_H
#define TCPRIO_DSCP_H

#include "parse.h"

/* The IPv4 header checksum after the TOS byte changes from old_tos to
 * new_tos (all host order; b0: the version / IHL byte beside TOS): RFC 1624
 * eqn. 3, HC' = ~(~HC + ~m + m') with m the 16-bit word holding TOS, which
 * equals a full recompute. */
static __always_inline __u16 ipv4_csum_new_tos(__u16 csum, __u8 b0, __u8 old_tos,
					       __u8 new_tos)
{
	__u32 sum = (__u16)~csum;

	sum += (__u16)~((__u16)b0 << 8 | old_tos);
	sum += (__u16)b0 << 8 | new_tos;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* IPv4: write new_tos into the TOS byte and fix the header checksum.
 * One store of header bytes 0..11.  Returns 1 if stored, 0 if not. */
static __always_inline int rewrite_ipv4_tos(struct __sk_buff *skb, __u32 off,
					    __u8 new_tos)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u8 hdr[12];
	__u8 *p = data + off;
	__u16 csum;

	if ((void *)(p + sizeof(hdr)) > data_end)
		return 0;
	__builtin_memcpy(hdr, p, sizeof(hdr));
	csum = ipv4_csum_new_tos((__u16)hdr[10] << 8 | hdr[11], hdr[0], hdr[1], new_tos);
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

/* The TOS / traffic class byte the parsed packet gets for dscp (0..63):
 * DSCP in the upper six bits, the packet's ECN bits kept. */
static __always_inline __u8 tos_for_dscp(const struct pkt_info *pi, __u8 dscp)
{
	return (__u8)(dscp << 2) | (pi->tos & 0x3);
}

/* Store new_tos (tos_for_dscp) in the parsed packet with
 * bpf_skb_store_bytes; the caller has checked that it differs from pi->tos.
 * Returns 1 if stored, 0 if not. */
static __always_inline int store_tos(struct __sk_buff *skb, const struct pkt_info *pi,
				     __u8 new_tos)
{
	__u32 off = pi->l3_off;

	if (off > TCPRIO_MAX_L3_OFF)  /* bound for the verifier */
		return 0;
	if (pi->family == 4)
		return rewrite_ipv4_tos(skb, off, new_tos);
	return rewrite_ipv6_tc(skb, off, new_tos);
}

/*
 * Set the DSCP of the parsed packet to dscp (0..63), keeping ECN, with
 * bpf_skb_store_bytes.  No store when it already has that DSCP.  Returns 1
 * if the packet was rewritten.
 */
static __always_inline int rewrite_dscp(struct __sk_buff *skb,
					const struct pkt_info *pi, __u8 dscp)
{
	__u8 new_tos = tos_for_dscp(pi, dscp);

	return new_tos != pi->tos && store_tos(skb, pi, new_tos);
}

#endif /* TCPRIO_DSCP_H */
