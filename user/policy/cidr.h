/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cidr.h - IPv4 and IPv6 prefixes ("192.168.10.0/24", "2001:db8::/32") in
 * the one keyspace the datapath uses: IPv4 as an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, RFC 4291 2.5.5.2), so a.b.c.d/n is ::ffff:a.b.c.d/(96+n).
 * Used by the class table (localCIDRs, remoteCIDRs) and for the addresses
 * and pod CIDRs of Nodes.
 */
#ifndef TCPRIO_CIDR_H
#define TCPRIO_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CIDR_TEXT_LEN 64 /* "ffff:...:ffff/128" is 43 bytes; room to spare */

struct cidr {
	uint8_t addr[16];   /* network byte order; IPv4 mapped; host bits 0 */
	uint8_t prefix_len; /* 0..128 over the 16 bytes (IPv4: 96..128) */
	uint8_t family;     /* 4 or 6 */
};

/* Parse "ADDR/LEN" (IPv4 dotted quad, LEN 0..32; IPv6 as inet_pton takes
 * it, LEN 0..128).  With host_ok false, a prefix with host bits set
 * ("192.168.10.1/24") is -ERANGE; with host_ok true the host bits are
 * cleared.  Without "/LEN" the text is -EINVAL unless host_ok, when a bare
 * address is a host prefix (/32 or /128).  An IPv6 prefix shorter than /96
 * that holds ::ffff:0:0/96 ("::/0", "::/64") is -EDOM: IPv4 addresses are
 * stored mapped (RFC 4291 2.5.5.2), so it would match every IPv4 address
 * too.  Returns 0, -EINVAL, -ERANGE or -EDOM. */
int cidr_parse(const char *s, bool host_ok, struct cidr *out);
/* printf format (one %s: the text) of the class table's error for -EDOM. */
#define CIDR_V4_MAPPED_MSG "\"%s\" also holds ::ffff:0:0/96, where tcprio keeps every " \
	"IPv4 address, so it would match IPv4 too; expected an IPv6 prefix that leaves it " \
	"out (such as 2000::/3) and IPv4 ranges written as IPv4"

/* A host prefix for one address given as 16 bytes (IPv4 mapped). */
void cidr_from_ip(const uint8_t addr[16], struct cidr *out);
/* "a.b.c.d/n" or "x::/n" into buf (CIDR_TEXT_LEN bytes). */
void cidr_format(const struct cidr *c, char *buf, size_t len);
/* Same prefix (address and length). */
bool cidr_equal(const struct cidr *a, const struct cidr *b);
/* Whether addr (16 bytes, IPv4 mapped) lies inside c. */
bool cidr_contains(const struct cidr *c, const uint8_t addr[16]);

#endif
