/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pkt_model.h - an independent reference reading of an Ethernet frame, used
 * by test_pcap.c and test_random_packets.c to decide what tcprio's TC
 * programs must do with it and to check what they did.  Header-only.
 *
 * It follows the datapath spec (include/tcprio.h, GitHub issue 2), not the
 * BPF code: Ethernet (IEEE 802.3) with up to PM_MAX_VLAN 802.1Q/802.1ad tags
 * (TPID 0x8100 / 0x88a8), then IPv4 (RFC 791; IHL >= 5, options allowed) or
 * IPv6 (RFC 8200; extension headers hop-by-hop 0, routing 43, fragment 44,
 * destination options 60, AH 51), then TCP/UDP/SCTP ports.  Non-first
 * fragments have no ports.
 *
 * Refinements the datapath documents (bpf/parse.h) and the model follows:
 * ports are the first 4 L4 bytes of TCP/UDP/SCTP; a frame cut inside those
 * bytes or inside an IPv6 extension header, one with an unknown L4
 * protocol, or with more than PM_MAX_EXT extension headers, is classified
 * by its address alone (no ports); non-first fragments have no ports.
 * Unparsed (pass unchanged, event UNPARSED): not IPv4/IPv6 after at most
 * PM_MAX_VLAN tags, or the frame ends inside Ethernet, a VLAN tag or the
 * IP header (IPv4: the IHL*4 bytes; IHL < 5 is unparsed too).
 *
 * "strict" marks a frame whose outcome the spec fixes; the one case left
 * open is an IP header whose version nibble does not match the ethertype
 * (the kernel's IP stack drops those): for it the tests check only the
 * invariants (never dropped, length kept, nothing changed outside the DSCP
 * bits, ECN kept, checksum kept valid, counted once).
 */
#ifndef TCPRIO_TESTS_PKT_MODEL_H
#define TCPRIO_TESTS_PKT_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PM_ETH_HLEN      14
#define PM_MAX_VLAN      4   /* tags the spec requires to be walked */
#define PM_MAX_EXT       6   /* IPv6 extension headers walked (bpf/parse.h) */

/* What the model read from a frame.  Offsets in bytes from the frame start;
 * addresses in network byte order, IPv4 as ::ffff:a.b.c.d; ports host order. */
struct pm_info {
	bool ip;            /* an IPv4/IPv6 header is complete and plausible */
	bool strict;        /* every header complete and known (see above) */
	int vlans;          /* VLAN tags walked */
	int l3;             /* IP header offset, -1 if no IP ethertype reached */
	int family;         /* 4 or 6, 0 if none */
	int ihl_bytes;      /* IPv4 header length (IHL * 4), 40 for IPv6 */
	uint8_t src[16];    /* source address, IPv4-mapped for IPv4 */
	uint8_t dscp, ecn;  /* DS field: DSCP (6 bits), ECN (2 bits) RFC 3168 */
	bool csum_ok;       /* IPv4 header checksum valid (false for IPv6) */
	uint8_t proto;      /* L4 protocol number (IANA), 0 if not reached */
	bool ports;         /* sport/dport were read */
	uint16_t sport, dport;
	bool frag;          /* any fragment (IPv4 MF/offset, IPv6 frag hdr) */
	bool nonfirst_frag; /* fragment offset != 0 */
	int ext_headers;    /* IPv6 extension headers walked */
	const char *why;    /* why not ip / not strict (static string) */
};

static inline uint16_t pm_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* One's complement sum of len bytes (RFC 1071), not folded to 16 bits. */
static inline uint32_t pm_csum_add(uint32_t sum, const uint8_t *p, int len)
{
	for (int i = 0; i + 1 < len; i += 2)
		sum += pm_be16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static inline uint16_t pm_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The IPv4 header checksum a full recompute would store (host order),
 * over hlen bytes at ip with the checksum field taken as 0. */
static inline uint16_t pm_ipv4_csum_full(const uint8_t *ip, int hlen)
{
	uint32_t sum = pm_csum_add(0, ip, hlen);

	sum -= pm_be16(ip + 10);    /* drop the stored checksum word */
	return (uint16_t)~pm_csum_fold(sum);
}

static inline bool pm_ipv4_csum_valid(const uint8_t *ip, int hlen)
{
	return pm_csum_fold(pm_csum_add(0, ip, hlen)) == 0xffff;
}

static inline bool pm_is_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51;
}

static inline bool pm_has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132;
}

/* Minimum L4 header the spec's protocols need (bytes): TCP 20 (RFC 9293),
 * UDP 8 (RFC 768), SCTP common header 12 (RFC 9260), ICMP/ICMPv6 8. */
static inline int pm_l4_min(uint8_t proto)
{
	switch (proto) {
	case 6: return 20;
	case 17: return 8;
	case 132: return 12;
	case 1: case 58: return 8;
	default: return -1;
	}
}

/* Read the L4 ports at off (proto known): the first 4 bytes of a
 * TCP/UDP/SCTP header; none for non-first fragments or if cut short. */
static inline void pm_l4(struct pm_info *pi, const uint8_t *p, int len, int off)
{
	if (pi->nonfirst_frag || !pm_has_ports(pi->proto))
		return;
	if (off + 4 > len) {
		pi->why = "L4 ports cut short: address only";
		return;
	}
	pi->ports = true;
	pi->sport = pm_be16(p + off);
	pi->dport = pm_be16(p + off + 2);
}

static inline void pm_ipv4(struct pm_info *pi, const uint8_t *p, int len)
{
	const uint8_t *ip = p + pi->l3;
	int hl;
	uint16_t fo;

	if (pi->l3 + 20 > len) {
		pi->why = "IPv4 header cut short";
		return;
	}
	hl = (ip[0] & 0x0f) * 4;
	if (hl < 20) {
		pi->why = "IPv4 IHL < 5";
		return;
	}
	if (pi->l3 + hl > len) {
		pi->why = "IPv4 options cut short";
		return;
	}
	pi->ip = true;
	pi->strict = (ip[0] >> 4) == 4;
	if (!pi->strict)
		pi->why = "IPv4 ethertype, version field not 4";
	pi->family = 4;
	pi->ihl_bytes = hl;
	memset(pi->src, 0, 10);
	pi->src[10] = pi->src[11] = 0xff;
	memcpy(pi->src + 12, ip + 12, 4);
	pi->dscp = ip[1] >> 2;
	pi->ecn = ip[1] & 3;
	pi->csum_ok = pm_ipv4_csum_valid(ip, hl);
	pi->proto = ip[9];
	fo = pm_be16(ip + 6);
	pi->frag = (fo & 0x3fff) != 0;
	pi->nonfirst_frag = (fo & 0x1fff) != 0;
	pm_l4(pi, p, len, pi->l3 + hl);
}

static inline void pm_ipv6(struct pm_info *pi, const uint8_t *p, int len)
{
	const uint8_t *ip = p + pi->l3;
	int off = pi->l3 + 40;
	uint8_t nh;

	if (pi->l3 + 40 > len) {
		pi->why = "IPv6 header cut short";
		return;
	}
	pi->ip = true;
	pi->strict = (ip[0] >> 4) == 6;
	if (!pi->strict)
		pi->why = "IPv6 ethertype, version field not 6";
	pi->family = 6;
	pi->ihl_bytes = 40;
	memcpy(pi->src, ip + 8, 16);
	pi->dscp = (uint8_t)(((ip[0] & 0x0f) << 2) | (ip[1] >> 6));
	pi->ecn = (ip[1] >> 4) & 3;
	nh = ip[6];
	while (pm_is_ext(nh)) {
		if (pi->ext_headers == PM_MAX_EXT) {
			pi->why = "more IPv6 extension headers than walked: address only";
			pi->proto = nh;
			return;
		}
		pi->ext_headers++;
		if (off + 8 > len) {
			pi->why = "IPv6 extension header cut short: address only";
			pi->proto = nh;
			return;
		}
		if (nh == 44) {
			uint16_t fo = pm_be16(p + off + 2);

			pi->frag = true;
			pi->nonfirst_frag = (fo & 0xfff8) != 0;
			nh = p[off];
			off += 8;
			if (pi->nonfirst_frag)
				break;
		} else if (nh == 51) {
			/* RFC 4302: length in 4-octet units minus 2 */
			nh = p[off];
			off += (p[off + 1] + 2) * 4;
		} else {
			nh = p[off];
			off += (p[off + 1] + 1) * 8; /* RFC 8200: 8-octet units */
		}
	}
	pi->proto = nh;
	pm_l4(pi, p, len, off);
}

/* Read frame p of len bytes into pi. */
static inline void pm_parse(const uint8_t *p, int len, struct pm_info *pi)
{
	int off = 12;
	uint16_t type;

	memset(pi, 0, sizeof(*pi));
	pi->l3 = -1;
	pi->why = "ok";
	if (len < PM_ETH_HLEN) {
		pi->why = "shorter than Ethernet";
		return;
	}
	type = pm_be16(p + off);
	while (type == 0x8100 || type == 0x88a8) {
		if (pi->vlans == PM_MAX_VLAN) {
			pi->why = "more VLAN tags than the spec walks";
			return;
		}
		if (off + 6 > len) {
			pi->why = "VLAN tag cut short";
			return;
		}
		pi->vlans++;
		off += 4;
		type = pm_be16(p + off);
	}
	off += 2;
	if (type != 0x0800 && type != 0x86dd) {
		pi->why = "not IP";
		return;
	}
	pi->l3 = off;
	if (type == 0x0800)
		pm_ipv4(pi, p, len);
	else
		pm_ipv6(pi, p, len);
}

/* The frame's DSCP after the program ran, read at the model's l3 offset. */
static inline uint8_t pm_dscp_at(const uint8_t *p, const struct pm_info *pi)
{
	const uint8_t *ip = p + pi->l3;

	if (pi->family == 4)
		return ip[1] >> 2;
	return (uint8_t)(((ip[0] & 0x0f) << 2) | (ip[1] >> 6));
}

/*
 * Compare the frame before (in) and after (out) a program run; both len
 * bytes.  Allowed to differ: the DSCP bits (IPv4 TOS bits 7..2, IPv6 traffic
 * class bits 7..2) and, for IPv4, the header checksum.  If the DSCP changed,
 * the ECN bits must be kept, the new DSCP must equal want_dscp (pass -1 to
 * forbid any change), and for IPv4 the checksum must equal a full recompute
 * if it was valid before.  Writes a reason to why (size n) and returns
 * false on the first violation.
 */
static inline bool pm_check_change(const uint8_t *in, const uint8_t *out,
				   int len, const struct pm_info *pi,
				   int want_dscp, char *why, size_t n)
{
	int l3 = pi->ip ? pi->l3 : -1;
	uint8_t d;

	for (int i = 0; i < len; i++) {
		uint8_t mask = 0xff;   /* bits that must not change */

		if (in[i] == out[i])
			continue;
		if (l3 >= 0 && pi->family == 4) {
			if (i == l3 + 1)
				mask = 0x03;
			else if (i == l3 + 10 || i == l3 + 11)
				mask = 0x00;
		} else if (l3 >= 0 && pi->family == 6) {
			if (i == l3)
				mask = 0xf0;    /* version */
			else if (i == l3 + 1)
				mask = 0x3f;    /* ECN + flow label bits */
		}
		if ((in[i] ^ out[i]) & mask) {
			snprintf(why, n, "byte %d changed 0x%02x -> 0x%02x outside the DSCP bits (%s)",
				 i, in[i], out[i],
				 l3 < 0 ? "frame not IP per spec" :
				 i == l3 + 1 ? "ECN/flow label bits" : "not a DSCP/checksum byte");
			return false;
		}
	}
	if (l3 < 0)
		return true;
	d = pm_dscp_at(out, pi);
	if (d != pi->dscp && want_dscp < 0) {
		snprintf(why, n, "DSCP changed %u -> %u where no rewrite was allowed",
			 pi->dscp, d);
		return false;
	}
	if (d != pi->dscp && d != want_dscp) {
		snprintf(why, n, "DSCP rewritten %u -> %u, expected %d",
			 pi->dscp, d, want_dscp);
		return false;
	}
	if (pi->family == 4 && pi->csum_ok) {
		uint16_t got = pm_be16(out + l3 + 10);
		uint16_t want = pm_ipv4_csum_full(out + l3, pi->ihl_bytes);

		if (got != want) {
			snprintf(why, n, "IPv4 checksum 0x%04x after rewrite, full recompute 0x%04x",
				 got, want);
			return false;
		}
	}
	if (pi->family == 4 && d == pi->dscp &&
	    memcmp(in + l3 + 10, out + l3 + 10, 2)) {
		snprintf(why, n, "IPv4 checksum changed without a DSCP change");
		return false;
	}
	return true;
}

/* Format a 16-byte tcprio_ip (IPv4-mapped shown as dotted quad). */
static inline const char *pm_ip_str(const uint8_t a[16], char *buf, size_t n)
{
	static const uint8_t pre[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };

	if (!memcmp(a, pre, 12)) {
		snprintf(buf, n, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
		return buf;
	}
	snprintf(buf, n, "%x:%x:%x:%x:%x:%x:%x:%x",
		 pm_be16(a), pm_be16(a + 2), pm_be16(a + 4), pm_be16(a + 6),
		 pm_be16(a + 8), pm_be16(a + 10), pm_be16(a + 12), pm_be16(a + 14));
	return buf;
}

#endif /* TCPRIO_TESTS_PKT_MODEL_H */
