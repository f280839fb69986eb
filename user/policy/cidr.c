/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cidr.c - prefix parsing and formatting; see cidr.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy/cidr.h"

/* ::ffff:0:0/96 (RFC 4291 2.5.5.2): the first 12 bytes of a mapped IPv4. */
static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Keep the first bits bits of addr, clear the rest.  Returns whether a
 * cleared bit was set. */
static bool clear_host_bits(uint8_t addr[16], unsigned int bits)
{
	bool had = false;

	for (unsigned int i = 0; i < 16; i++) {
		unsigned int keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;
		uint8_t mask = keep ? (uint8_t)(0xff << (8 - keep)) : 0;

		had = had || (addr[i] & ~mask);
		addr[i] &= mask;
	}
	return had;
}

/* Whether IPv6 prefix c (host bits 0) is shorter than /96 and holds
 * ::ffff:0:0/96, where every IPv4 address lives in tcprio's keys: "::/0"
 * would then match IPv4 destinations and sources too. */
static bool covers_v4_mapped(const struct cidr *c)
{
	uint8_t mapped[16] = { 0 };

	if (c->prefix_len >= 96)
		return false;
	memcpy(mapped, v4_mapped_prefix, sizeof(v4_mapped_prefix));
	clear_host_bits(mapped, c->prefix_len);
	return memcmp(mapped, c->addr, sizeof(mapped)) == 0;
}

int cidr_parse(const char *s, bool host_ok, struct cidr *out)
{
	char text[CIDR_TEXT_LEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long len;
	struct in_addr a4;
	struct cidr c;
	char *end;

	if (alen == 0 || alen >= sizeof(text))
		return -EINVAL;
	memcpy(text, s, alen);
	text[alen] = '\0';
	memset(&c, 0, sizeof(c));
	if (inet_pton(AF_INET, text, &a4) == 1) {
		c.family = 4;
		memcpy(c.addr, v4_mapped_prefix, 12);
		memcpy(c.addr + 12, &a4, 4);
	} else if (inet_pton(AF_INET6, text, c.addr) == 1) {
		c.family = 6;
	} else {
		return -EINVAL;
	}
	if (!slash) {
		if (!host_ok)
			return -EINVAL;
		len = c.family == 4 ? 32 : 128;
	} else {
		if (!isdigit((unsigned char)slash[1]) || strlen(slash + 1) > 3)
			return -EINVAL;
		len = strtoul(slash + 1, &end, 10);
		if (*end || len > (c.family == 4 ? 32u : 128u))
			return -EINVAL;
	}
	c.prefix_len = (uint8_t)(c.family == 4 ? 96 + len : len);
	if (clear_host_bits(c.addr, c.prefix_len) && !host_ok)
		return -ERANGE;
	if (c.family == 6 && covers_v4_mapped(&c))
		return -EDOM;
	*out = c;
	return 0;
}

void cidr_from_ip(const uint8_t addr[16], struct cidr *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->addr, addr, 16);
	out->family = memcmp(addr, v4_mapped_prefix, 12) == 0 ? 4 : 6;
	out->prefix_len = 128;
}

void cidr_format(const struct cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (c->family == 4)
		inet_ntop(AF_INET, c->addr + 12, a, sizeof(a));
	else
		inet_ntop(AF_INET6, c->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, c->family == 4 ? c->prefix_len - 96u : c->prefix_len);
}

bool cidr_equal(const struct cidr *a, const struct cidr *b)
{
	return a->prefix_len == b->prefix_len && memcmp(a->addr, b->addr, 16) == 0;
}

bool cidr_contains(const struct cidr *c, const uint8_t addr[16])
{
	uint8_t masked[16];

	memcpy(masked, addr, 16);
	clear_host_bits(masked, c->prefix_len);
	return memcmp(masked, c->addr, 16) == 0;
}
