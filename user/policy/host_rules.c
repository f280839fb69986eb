/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * host_rules.c - parse systemClass and hostRules (class_table.h) and build
 * the effective host rules with the built-in ones (host_rules.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lib/cgroup2.h"
#include "policy/class_table_yaml.h"
#include "policy/host_rules.h"

/* hostRules in a file; the rest of TCPRIO_MAX_HOST_RULES is for built-ins. */
#define HOST_RULES_MAX_FILE (TCPRIO_MAX_HOST_RULES - 32)

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

void host_rules_free(struct class_table *t)
{
	for (int i = 0; i < t->n_host_rules; i++)
		free(t->host_rules[i].cgroup);
	free(t->host_rules);
	t->host_rules = NULL;
	t->n_host_rules = 0;
}

/* "a.b.c.d[/n]" or "x::y[/n]" into r->dst / r->prefix_len (mapped IPv4:
 * 96 + n).  Host bits must be 0. */
static int parse_cidr(struct yctx *c, yaml_node_t *v, const char *path,
		      struct host_rule *r)
{
	const char *s = scalar(c, v, path, "a CIDR such as 198.51.100.10/32");
	char addr[64], *slash, *end;
	unsigned long n;
	int v4, max;

	if (!s)
		return -EINVAL;
	if (strlen(s) >= sizeof(addr))
		return yerr(c, v, path, "expected an IPv4 or IPv6 CIDR, got \"%.64s...\"", s);
	strcpy(addr, s);
	slash = strchr(addr, '/');
	if (slash)
		*slash++ = '\0';
	memset(r->dst, 0, sizeof(r->dst));
	v4 = inet_pton(AF_INET, addr, &r->dst[12]) == 1;
	if (v4) {
		r->dst[10] = r->dst[11] = 0xff;
	} else if (inet_pton(AF_INET6, addr, r->dst) != 1) {
		return yerr(c, v, path, "expected an IPv4 or IPv6 CIDR such as "
			    "198.51.100.10/32 or 2001:db8::/32, got \"%s\"", s);
	}
	max = v4 ? 32 : 128;
	n = (unsigned long)max;
	if (slash) {
		errno = 0;
		n = strtoul(slash, &end, 10);
		if (!*slash || *end || errno || n > (unsigned long)max ||
		    *slash == '-' || *slash == '+')
			return yerr(c, v, path, "expected a prefix length 0..%d after "
				    "/, got \"%s\"", max, s);
	}
	r->prefix_len = (uint8_t)(n + (v4 ? 96 : 0));
	for (int bit = r->prefix_len; bit < 128; bit++)
		if (r->dst[bit / 8] & (0x80 >> (bit % 8)))
			return yerr(c, v, path, "host bits set after the /%lu prefix "
				    "in \"%s\"; expected the network address", n, s);
	return 0;
}

static int parse_host_rule(struct yctx *c, yaml_node_t *n, int idx,
			   struct class_table *t)
{
	static const char *const keys[] = { "cgroup", "dst", "port", "protocol",
					    "class", NULL };
	struct host_rule *r = &t->host_rules[idx];
	char path[48], fpath[72], why[256];
	yaml_node_t *cg, *dst, *v;
	const char *s;
	int id, err;

	snprintf(path, sizeof(path), "hostRules[%d]", idx);
	if (n->type != YAML_MAPPING_NODE)
		return yerr(c, n, path, "expected a mapping with cgroup or dst, and "
			    "class, got %s", node_kind(n));
	if ((err = check_keys(c, n, path, keys, "cgroup, dst, port, protocol, class")))
		return err;
	cg = map_get(c, n, "cgroup");
	dst = map_get(c, n, "dst");
	if (!cg == !dst)
		return yerr(c, n, path, "expected exactly one of cgroup and dst, got %s",
			    cg ? "both" : "neither");
	if (cg) {
		snprintf(fpath, sizeof(fpath), "%s.cgroup", path);
		if (!(s = scalar(c, cg, fpath, "a cgroup path")))
			return -EINVAL;
		if (cgroup2_path_check(s, why, sizeof(why)))
			return yerr(c, cg, fpath, "%s", why);
		if (map_get(c, n, "port") || map_get(c, n, "protocol"))
			return yerr(c, n, path, "port and protocol go with dst, not "
				    "with cgroup");
		if (!(r->cgroup = strdup(s)))
			return -ENOMEM;
	} else {
		snprintf(fpath, sizeof(fpath), "%s.dst", path);
		if ((err = parse_cidr(c, dst, fpath, r)))
			return err;
		snprintf(fpath, sizeof(fpath), "%s.port", path);
		if ((v = map_get(c, n, "port"))) {
			char *end;
			unsigned long p;

			if (!(s = scalar(c, v, fpath, "a port 1..65535")))
				return -EINVAL;
			errno = 0;
			p = strtoul(s, &end, 10);
			if (!*s || *end || errno || p < 1 || p > 65535 ||
			    *s < '0' || *s > '9')
				return yerr(c, v, fpath, "expected a port 1..65535, "
					    "got \"%s\"", s);
			r->port = (uint16_t)p;
		}
		snprintf(fpath, sizeof(fpath), "%s.protocol", path);
		if ((v = map_get(c, n, "protocol"))) {
			if (!(s = scalar(c, v, fpath, "tcp, udp or sctp")))
				return -EINVAL;
			if (!strcasecmp(s, "tcp"))
				r->protocol = IPPROTO_TCP;
			else if (!strcasecmp(s, "udp"))
				r->protocol = IPPROTO_UDP;
			else if (!strcasecmp(s, "sctp"))
				r->protocol = IPPROTO_SCTP;
			else
				return yerr(c, v, fpath, "expected tcp, udp or sctp, "
					    "got \"%s\"", s);
		}
	}
	snprintf(fpath, sizeof(fpath), "%s.class", path);
	if (!(v = map_get(c, n, "class")))
		return yerr(c, n, fpath, "required (the name of a class)");
	if (!(s = scalar(c, v, fpath, "a class name")))
		return -EINVAL;
	if ((id = class_table_find(t, s)) < 0)
		return yerr(c, v, fpath, "unknown class \"%s\" (expected one of the "
			    "names under classes)", s);
	r->class_id = (uint32_t)id;
	return 0;
}

int parse_host_section(struct yctx *c, yaml_node_t *root, struct class_table *t)
{
	yaml_node_t *v = map_get(c, root, "systemClass");
	const char *s;
	int count, err;

	t->system_class = 0;
	if (v) {
		if (!(s = scalar(c, v, "systemClass", "a class name or none")))
			return -EINVAL;
		if (strcmp(s, "none") == 0)
			t->system_class = -1;
		else if ((t->system_class = class_table_find(t, s)) < 0)
			return yerr(c, v, "systemClass", "unknown class \"%s\" (expected "
				    "one of the names under classes, or none)", s);
	}
	if (!(v = map_get(c, root, "hostRules")))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return yerr(c, v, "hostRules", "expected a list of rules, got %s",
			    node_kind(v));
	count = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (count > HOST_RULES_MAX_FILE)
		return yerr(c, v, "hostRules", "expected at most %d rules, got %d",
			    HOST_RULES_MAX_FILE, count);
	if (count == 0)
		return 0;
	if (!(t->host_rules = calloc(count, sizeof(*t->host_rules))))
		return -ENOMEM;
	for (int i = 0; i < count; i++) {
		t->n_host_rules = i + 1;
		err = parse_host_rule(c, yaml_document_get_node(c->doc,
				      v->data.sequence.items.start[i]), i, t);
		if (err)
			return err;
	}
	return 0;
}

int host_rules_effective(const struct class_table *t,
			 const struct host_endpoint *api, int n_api,
			 struct host_rule_eff *out, int cap)
{
	static const char *const builtin[] = { HOST_RULES_BUILTIN_CGROUPS };
	const int n_builtin = (int)(sizeof(builtin) / sizeof(builtin[0]));
	int n = 0, want;

	want = t->n_host_rules + (t->system_class >= 0 ? n_builtin + n_api : 0);
	if (cap > TCPRIO_MAX_HOST_RULES)
		cap = TCPRIO_MAX_HOST_RULES;
	if (want > cap)
		return -E2BIG;
	for (int i = 0; i < t->n_host_rules; i++, n++) {
		out[n].r = t->host_rules[i];
		out[n].builtin = 0;
	}
	if (t->system_class < 0)
		return n;
	for (int i = 0; i < n_builtin; i++, n++) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].r.cgroup = (char *)builtin[i];
		out[n].r.class_id = (uint32_t)t->system_class;
		out[n].builtin = 1;
	}
	for (int i = 0; i < n_api; i++, n++) {
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(out[n].r.dst, api[i].ip, 16);
		out[n].r.prefix_len = 128;
		out[n].r.port = api[i].port;
		out[n].r.protocol = IPPROTO_TCP;
		out[n].r.class_id = (uint32_t)t->system_class;
		out[n].builtin = 1;
	}
	return n;
}

void host_rule_text(const struct host_rule *r, char *buf, size_t len)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char addr[INET6_ADDRSTRLEN], proto[16] = "";
	int v4 = memcmp(r->dst, v4mapped, 12) == 0 && r->prefix_len >= 96;

	if (r->cgroup) {
		snprintf(buf, len, "cgroup %s", r->cgroup);
		return;
	}
	if (v4)
		inet_ntop(AF_INET, &r->dst[12], addr, sizeof(addr));
	else
		inet_ntop(AF_INET6, r->dst, addr, sizeof(addr));
	if (r->port)
		snprintf(proto, sizeof(proto), " %s/%u",
			 r->protocol == IPPROTO_TCP ? "tcp" :
			 r->protocol == IPPROTO_UDP ? "udp" :
			 r->protocol == IPPROTO_SCTP ? "sctp" : "tcp+udp", r->port);
	else if (r->protocol)
		snprintf(proto, sizeof(proto), " %s",
			 r->protocol == IPPROTO_TCP ? "tcp" :
			 r->protocol == IPPROTO_UDP ? "udp" : "sctp");
	snprintf(buf, len, "dst %s/%d%s", addr, v4 ? r->prefix_len - 96 : r->prefix_len,
		 proto);
}
