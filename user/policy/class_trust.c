/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * class_trust.c - the class table's DSCP trust keys (issue 12):
 *   sanitizeUnknown: true            pod edge rewrites unknown sources
 *   trustDscpFrom: [eth1, 192.168.10.0/24, 2001:db8::/32]
 * An entry with a '/' or that parses as an address is a CIDR (a bare
 * address is a /32 or /128); anything else is an interface name.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy/class_table.h"
#include "policy/class_table_yaml.h"
#include "policy/cidr.h"

/* Interface name as the kernel accepts it (dev_valid_name): 1..15 bytes,
 * not "." or "..", no '/', ':' or white space. */
static bool valid_ifname(const char *s)
{
	size_t len = strlen(s);

	if (len < 1 || len >= 16 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] == '*' || s[i] == '?' ||
		    isspace((unsigned char)s[i]) ||
		    !isprint((unsigned char)s[i]))
			return false;
	return true;
}

/* "a.b.c.d/n", "x::y/n" (host bits 0) or a bare address (a host prefix)
 * into out (policy/cidr.h).  0, -EINVAL (not a CIDR) or -ERANGE (host bits
 * set), -EDOM (an IPv6 prefix holding every IPv4 address, policy/cidr.h);
 * 1: not an address at all (an interface name then). */
static int parse_cidr_entry(const char *s, struct trust_source *out)
{
	unsigned char buf[16];
	struct cidr c;
	int err;

	if (strchr(s, '/'))
		err = cidr_parse(s, false, &c);
	else if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
		err = cidr_parse(s, true, &c);
	else
		return 1;
	if (err)
		return err;
	memcpy(out->addr, c.addr, sizeof(out->addr));
	out->prefixlen = c.prefix_len;
	out->is_cidr = true;
	return 0;
}

static int parse_trust_entry(struct yctx *c, yaml_node_t *n, int idx,
			     struct class_table *t)
{
	struct trust_source *ts = &t->trust_from[idx];
	char path[48];
	const char *s;
	int err;

	snprintf(path, sizeof(path), "trustDscpFrom[%d]", idx);
	if (!(s = scalar(c, n, path, "an interface name or a CIDR")))
		return -EINVAL;
	memset(ts, 0, sizeof(*ts));
	err = parse_cidr_entry(s, ts);
	if (err == -ERANGE)
		return yerr(c, n, path, "\"%s\" has bits set after the prefix length; "
			    "expected the network address", s);
	if (err == -EDOM)
		return yerr(c, n, path, CIDR_V4_MAPPED_MSG, s);
	if (err == -EINVAL)
		return yerr(c, n, path, "expected a CIDR such as 192.168.10.0/24 or "
			    "2001:db8::/32 (prefix length 0..32 or 0..128), got \"%s\"", s);
	if (err == 0)
		return 0;
	if (!valid_ifname(s))
		return yerr(c, n, path, "expected an interface name (1..15 characters, "
			    "no '/', ':', blanks or glob characters '*' '?': names are matched "
			    "exactly) or a CIDR such as 192.168.10.0/24, got \"%s\"", s);
	strcpy(ts->ifname, s);
	return 0;
}

int class_trust_parse(struct yctx *c, yaml_node_t *root, struct class_table *t)
{
	yaml_node_t *v;
	int count, err;

	if ((v = map_get(c, root, "sanitizeUnknown")) &&
	    parse_bool(c, v, "sanitizeUnknown", &t->sanitize_unknown))
		return -EINVAL;
	if (!(v = map_get(c, root, "trustDscpFrom")))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return yerr(c, v, "trustDscpFrom", "expected a list of interface names "
			    "and CIDRs, got %s", node_kind(v));
	count = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (count > CLASS_TABLE_MAX_TRUST)
		return yerr(c, v, "trustDscpFrom", "expected at most %d entries, got %d",
			    CLASS_TABLE_MAX_TRUST, count);
	for (int i = 0; i < count; i++) {
		err = parse_trust_entry(c, yaml_document_get_node(c->doc,
					v->data.sequence.items.start[i]), i, t);
		if (err)
			return err;
		t->n_trust_from = i + 1;
	}
	return 0;
}

int class_table_warnings(const struct class_table *t, char *buf, size_t len)
{
	int n = 0;

	if (len)
		buf[0] = '\0';
	if (!t->trust_dscp && t->n_trust_from) {
		snprintf(buf, len, "trustDscpFrom (%d entr%s) is ignored: trustDscp is false, so "
			 "no packet's DSCP is trusted; set trustDscp: true to trust these sources, "
			 "or remove trustDscpFrom (with --gateway, trustDscp is forced on and "
			 "trustDscpFrom applies)", t->n_trust_from, t->n_trust_from == 1 ? "y" : "ies");
		n++;
	}
	return n;
}
