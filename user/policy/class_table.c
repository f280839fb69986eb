/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * class_table.c - built-in traffic classes and the YAML class table parser
 * (libyaml document API).  Format: class_table.h.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include "policy/class_table.h"
#include "policy/class_table_yaml.h"
#include "lib/yaml_guard.h"

/* Deepest nesting of lists/mappings accepted (the format needs 4: root,
 * classes, class, matchLabels).  Checked with the event API before the
 * document is built (yaml_guard, which also rejects a NUL in any string):
 * libyaml's document loader takes quadratic time in the depth. */
#define CLASS_TABLE_MAX_DEPTH 32
/* Largest class table file read (a real one is a few KiB). */
#define CLASS_TABLE_MAX_FILE (256u << 10)

/* DSCP names: CSn = n << 3 (RFC 2474 4.2.2), AFxy = 8x + 2y (RFC 2597 6),
 * EF = 46 (RFC 3246), VA = 44 (RFC 5865), LE = 1 (RFC 8622), DF/BE = 0. */
static const struct { const char *name; uint8_t dscp; } dscp_names[] = {
	{ "DF", 0 }, { "BE", 0 }, { "LE", 1 }, { "EF", 46 }, { "VA", 44 },
	{ "CS0", 0 }, { "CS1", 8 }, { "CS2", 16 }, { "CS3", 24 },
	{ "CS4", 32 }, { "CS5", 40 }, { "CS6", 48 }, { "CS7", 56 },
	{ "AF11", 10 }, { "AF12", 12 }, { "AF13", 14 },
	{ "AF21", 18 }, { "AF22", 20 }, { "AF23", 22 },
	{ "AF31", 26 }, { "AF32", 28 }, { "AF33", 30 },
	{ "AF41", 34 }, { "AF42", 36 }, { "AF43", 38 },
};

int class_table_defaults(struct class_table *t)
{
	static const struct class_def defs[] = {
		{ "critical", 46, 0x00010010, 0, 0 }, /* EF, 1:10 */
		{ "high",     34, 0x00010020, 0, 0 }, /* AF41, 1:20 */
		{ "normal",    0, 0x00010030, 0, 0 }, /* DF, 1:30 */
		{ "bulk",      1, 0x00010040, 0, 0 }, /* LE (RFC 8622), 1:40 */
	};

	memset(t, 0, sizeof(*t));
	memcpy(t->classes, defs, sizeof(defs));
	t->n_classes = sizeof(defs) / sizeof(defs[0]);
	t->default_class = 2;
	strcpy(t->site_label, SITE_LABEL_DEFAULT);
	t->trust_dscp = true;
	t->rewrite_dscp = true;
	t->enabled = true;
	t->sanitize_unknown = true;
	t->default_ceiling = -1;
	return 0;
}

int class_table_find(const struct class_table *t, const char *name)
{
	for (int i = 0; i < t->n_classes; i++)
		if (strcmp(t->classes[i].name, name) == 0)
			return i;
	return -1;
}

void class_table_free(struct class_table *t)
{
	host_rules_free(t);
	for (int i = 0; i < t->n_rules; i++) {
		for (int j = 0; j < t->rules[i].n_labels; j++) {
			free(t->rules[i].keys[j]);
			free(t->rules[i].values[j]);
		}
	}
	free(t->rules);
	t->rules = NULL;
	t->n_rules = 0;
	free(t->sites);
	t->sites = NULL;
	t->n_sites = 0;
	free(t->local_cidrs);
	t->local_cidrs = NULL;
	t->n_local_cidrs = 0;
	free(t->remote_cidrs);
	t->remote_cidrs = NULL;
	t->n_remote_cidrs = 0;
	ns_ceilings_free(t);
}

const struct site_def *class_table_site(const struct class_table *t, const char *name)
{
	for (int i = 0; name && i < t->n_sites; i++)
		if (strcmp(t->sites[i].name, name) == 0)
			return &t->sites[i];
	return t->has_default_site ? &t->default_site : NULL;
}

/* Parse an unsigned decimal or (base 16) hex number with no sign, no space. */
static int parse_unsigned(const char *s, int base, unsigned long long max,
			  unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s[0] || !isxdigit((unsigned char)s[0]))
		return -EINVAL;
	if (base == 10 && !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_priority(const char *s, uint32_t *out)
{
	const char *colon = strchr(s, ':');
	unsigned long long maj, min;
	char buf[16];

	if (!colon) {
		if (parse_unsigned(s, 10, UINT32_MAX, &maj))
			return -EINVAL;
		*out = (uint32_t)maj;
		return 0;
	}
	if ((size_t)(colon - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, colon - s);
	buf[colon - s] = '\0';
	if (parse_unsigned(buf, 16, 0xffff, &maj) || maj == 0 ||
	    parse_unsigned(colon + 1, 16, 0xffff, &min))
		return -EINVAL;
	*out = (uint32_t)(maj << 16 | min);
	return 0;
}

int parse_dscp(const char *s, uint8_t *out)
{
	unsigned long long v;

	if (parse_unsigned(s, 10, 63, &v) == 0) {
		*out = (uint8_t)v;
		return 0;
	}
	for (size_t i = 0; i < sizeof(dscp_names) / sizeof(dscp_names[0]); i++) {
		if (strcasecmp(s, dscp_names[i].name) == 0) {
			*out = dscp_names[i].dscp;
			return 0;
		}
	}
	return -EINVAL;
}

int parse_rate_bps(const char *s, uint64_t *out)
{
	static const struct { const char *unit; double mult; } units[] = {
		{ "", 1 }, { "bit", 1 },
		{ "kbit", 1e3 }, { "mbit", 1e6 }, { "gbit", 1e9 }, { "tbit", 1e12 },
		{ "kibit", 1024.0 }, { "mibit", 1048576.0 },
		{ "gibit", 1073741824.0 }, { "tibit", 1099511627776.0 },
		{ "bps", 8 }, { "kbps", 8e3 }, { "mbps", 8e6 }, { "gbps", 8e9 },
		{ "tbps", 8e12 }, { "kibps", 8 * 1024.0 }, { "mibps", 8 * 1048576.0 },
		{ "gibps", 8 * 1073741824.0 }, { "tibps", 8 * 1099511627776.0 },
	};
	char *end;
	double v;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || !isfinite(v))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].unit) != 0)
			continue;
		v *= units[i].mult;
		/* 2^64 as a double: anything at or above does not fit. */
		if (v < 1 || v >= 18446744073709551616.0)
			return -EINVAL;
		*out = (uint64_t)v;
		return 0;
	}
	return -EINVAL;
}

/* ---- YAML walking (shared helpers: class_table_yaml.h) ---- */

int yerr(struct yctx *c, const yaml_node_t *n, const char *path,
		const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		snprintf(c->err, c->errlen, "%s: %s (line %lu)", path, msg,
			 (unsigned long)n->start_mark.line + 1);
	else
		snprintf(c->err, c->errlen, "%s: %s", path, msg);
	return -EINVAL;
}

const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

/* Scalar text of n, or NULL (with the error set) if n is not a scalar. */
const char *scalar(struct yctx *c, const yaml_node_t *n,
			  const char *path, const char *expected)
{
	if (n->type != YAML_SCALAR_NODE) {
		yerr(c, n, path, "expected %s, got %s", expected, node_kind(n));
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

/* Check that mapping n has no duplicate and no unknown keys.  allowed is a
 * NULL-terminated list; the error names the offending key. */
int check_keys(struct yctx *c, yaml_node_t *n, const char *path,
	       const char *const *allowed, const char *allowed_text)
{
	yaml_node_pair_t *p, *q;

	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		const char *name;
		bool ok = false;

		if (!k || k->type != YAML_SCALAR_NODE)
			return yerr(c, k, path, "expected text keys, got %s",
				    k ? node_kind(k) : "nothing");
		name = (const char *)k->data.scalar.value;
		for (int i = 0; allowed[i]; i++)
			ok = ok || strcmp(name, allowed[i]) == 0;
		if (!ok)
			return yerr(c, k, path, "unknown key \"%s\" (expected %s)",
				    name, allowed_text);
		for (q = n->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *k2 = yaml_document_get_node(c->doc, q->key);

			if (k2->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)k2->data.scalar.value, name) == 0)
				return yerr(c, k, path, "duplicate key \"%s\"", name);
		}
	}
	return 0;
}

/* Value node of key in mapping n, or NULL. */
yaml_node_t *map_get(struct yctx *c, yaml_node_t *n, const char *key)
{
	yaml_node_pair_t *p;

	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(c->doc, p->value);
	}
	return NULL;
}

static int valid_class_name(const char *s)
{
	size_t len = strlen(s);

	if (len < 1 || len >= TCPRIO_CLASS_NAME_LEN)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    s[i] != '-')
			return 0;
	return 1;
}

int parse_bool(struct yctx *c, yaml_node_t *n, const char *path, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "on", NULL };
	static const char *const no[] = { "false", "False", "FALSE", "no", "off", NULL };
	const char *s = scalar(c, n, path, "true or false");

	if (!s)
		return -EINVAL;
	for (int i = 0; yes[i]; i++)
		if (strcmp(s, yes[i]) == 0)
			return *out = true, 0;
	for (int i = 0; no[i]; i++)
		if (strcmp(s, no[i]) == 0)
			return *out = false, 0;
	return yerr(c, n, path, "expected true or false, got \"%s\"", s);
}

static int parse_rate_field(struct yctx *c, yaml_node_t *n, const char *path,
			    uint64_t *out)
{
	const char *s = scalar(c, n, path, "a rate such as 50mbit");

	if (!s)
		return -EINVAL;
	if (parse_rate_bps(s, out))
		return yerr(c, n, path,
			    "expected a positive rate such as 50mbit, 1gbit, 800kbit "
			    "or a number of bit/s, got \"%s\"", s);
	return 0;
}

/* Format a skb->priority as the text a class table uses: "MAJ:MIN" in hex
 * when the major is set, else decimal. */
static void priority_text(uint32_t prio, char *buf, size_t size)
{
	if (prio >> 16)
		snprintf(buf, size, "%x:%x", prio >> 16, prio & 0xffff);
	else
		snprintf(buf, size, "%u", prio);
}

/* Class idx's priority (already parsed from s) must name an HTB leaf class
 * and differ from the classes before it.  Minor 0 is not a class and MAJ:1
 * is the HTB parent class of every leaf (uplink_qdisc.c); equal priorities
 * would send two classes to one HTB class. */
static int check_priority(struct yctx *c, yaml_node_t *v, const char *fpath,
			  const struct class_table *t, int idx, const char *s)
{
	uint32_t prio = t->classes[idx].priority;
	char text[32];

	priority_text(prio, text, sizeof(text));
	if ((prio >> 16) && (prio & 0xffff) <= 1)
		return yerr(c, v, fpath, "expected a minor of 2..ffff: %s is %s, "
			    "not a leaf class (got \"%s\")", text,
			    (prio & 0xffff) ? "the HTB parent class" : "the qdisc handle", s);
	for (int i = 0; i < idx; i++)
		if (t->classes[i].priority == prio)
			return yerr(c, v, fpath, "%s is already used by class %s; "
				    "expected a priority of its own", text,
				    t->classes[i].name);
	return 0;
}

static int parse_class(struct yctx *c, yaml_node_t *n, int idx,
		       struct class_table *t)
{
	static const char *const keys[] = { "name", "dscp", "priority", "rate",
					    "ceil", NULL };
	struct class_def *d = &t->classes[idx];
	char path[64], fpath[80];
	yaml_node_t *v;
	const char *s;
	int err;

	snprintf(path, sizeof(path), "classes[%d]", idx);
	if (n->type != YAML_MAPPING_NODE)
		return yerr(c, n, path, "expected a mapping with name, dscp, priority, "
			    "got %s", node_kind(n));
	err = check_keys(c, n, path, keys, "name, dscp, priority, rate, ceil");
	if (err)
		return err;

	snprintf(fpath, sizeof(fpath), "%s.name", path);
	if (!(v = map_get(c, n, "name")))
		return yerr(c, n, fpath, "required (a class name)");
	if (!(s = scalar(c, v, fpath, "a class name")))
		return -EINVAL;
	if (!valid_class_name(s))
		return yerr(c, v, fpath, "expected 1..%d characters of a-z, 0-9 and -, "
			    "got \"%s\"", TCPRIO_CLASS_NAME_LEN - 1, s);
	if (class_table_find(t, s) >= 0)
		return yerr(c, v, fpath, "duplicate class name \"%s\"", s);
	strcpy(d->name, s);

	snprintf(fpath, sizeof(fpath), "%s.dscp", path);
	if ((v = map_get(c, n, "dscp"))) {
		if (!(s = scalar(c, v, fpath, "an integer 0..63 or a DSCP name")))
			return -EINVAL;
		if (parse_dscp(s, &d->dscp))
			return yerr(c, v, fpath, "expected an integer 0..63 or a DSCP "
				    "name (EF, AF11..AF43, CS0..CS7, LE, VA, DF), "
				    "got \"%s\"", s);
	}

	snprintf(fpath, sizeof(fpath), "%s.priority", path);
	if (!(v = map_get(c, n, "priority")))
		return yerr(c, n, fpath, "required (a tc classid such as \"1:10\" "
			    "or a decimal skb->priority)");
	if (!(s = scalar(c, v, fpath, "a tc classid")))
		return -EINVAL;
	if (parse_priority(s, &d->priority))
		return yerr(c, v, fpath, "expected a tc classid MAJ:MIN in hex "
			    "(such as \"1:10\") or a decimal 0..4294967295, got \"%s\"", s);
	err = check_priority(c, v, fpath, t, idx, s);
	if (err)
		return err;

	snprintf(fpath, sizeof(fpath), "%s.rate", path);
	if ((v = map_get(c, n, "rate")) && parse_rate_field(c, v, fpath, &d->rate_bps))
		return -EINVAL;
	snprintf(fpath, sizeof(fpath), "%s.ceil", path);
	if ((v = map_get(c, n, "ceil")) && parse_rate_field(c, v, fpath, &d->ceil_bps))
		return -EINVAL;
	if (d->rate_bps && d->ceil_bps && d->ceil_bps < d->rate_bps)
		return yerr(c, v, fpath, "ceiling %llu bit/s is below rate %llu bit/s",
			    (unsigned long long)d->ceil_bps,
			    (unsigned long long)d->rate_bps);
	return 0;
}

static int parse_classes(struct yctx *c, yaml_node_t *n, struct class_table *t)
{
	yaml_node_item_t *it;
	int err, i = 0;

	if (n->type != YAML_SEQUENCE_NODE)
		return yerr(c, n, "classes", "expected a list of classes, got %s",
			    node_kind(n));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		if (i >= TCPRIO_MAX_CLASSES)
			return yerr(c, n, "classes", "expected at most %d classes, got %d",
				    TCPRIO_MAX_CLASSES,
				    (int)(n->data.sequence.items.top -
					  n->data.sequence.items.start));
		t->n_classes = i + 1;
		err = parse_class(c, yaml_document_get_node(c->doc, *it), i, t);
		if (err)
			return err;
		i++;
	}
	if (i == 0)
		return yerr(c, n, "classes", "expected at least one class");
	return 0;
}

static int parse_match_labels(struct yctx *c, yaml_node_t *n, const char *path,
			      struct label_rule *r)
{
	yaml_node_pair_t *p;
	char kpath[160];
	const char *k, *v;

	if (n->type != YAML_MAPPING_NODE)
		return yerr(c, n, path, "expected a mapping of label: value, got %s",
			    node_kind(n));
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);

		if (!(k = scalar(c, kn, path, "a label name")))
			return -EINVAL;
		snprintf(kpath, sizeof(kpath), "%s.%s", path, k);
		if (!(v = scalar(c, vn, kpath, "a label value")))
			return -EINVAL;
		if (r->n_labels >= CLASS_RULE_MAX_LABELS)
			return yerr(c, n, path, "expected at most %d labels",
				    CLASS_RULE_MAX_LABELS);
		for (int i = 0; i < r->n_labels; i++)
			if (strcmp(r->keys[i], k) == 0)
				return yerr(c, kn, path, "duplicate key \"%s\"", k);
		r->keys[r->n_labels] = strdup(k);
		r->values[r->n_labels] = strdup(v);
		r->n_labels++;
		if (!r->keys[r->n_labels - 1] || !r->values[r->n_labels - 1])
			return -ENOMEM;
	}
	if (r->n_labels == 0)
		return yerr(c, n, path, "expected at least one label");
	return 0;
}

static int parse_rule(struct yctx *c, yaml_node_t *n, int idx,
		      struct class_table *t)
{
	static const char *const keys[] = { "matchLabels", "class", NULL };
	struct label_rule *r = &t->rules[idx];
	char path[64], fpath[96];
	yaml_node_t *v;
	const char *s;
	int id, err;

	snprintf(path, sizeof(path), "labelRules[%d]", idx);
	if (n->type != YAML_MAPPING_NODE)
		return yerr(c, n, path, "expected a mapping with matchLabels and class, "
			    "got %s", node_kind(n));
	err = check_keys(c, n, path, keys, "matchLabels, class");
	if (err)
		return err;
	snprintf(fpath, sizeof(fpath), "%s.matchLabels", path);
	if (!(v = map_get(c, n, "matchLabels")))
		return yerr(c, n, fpath, "required (a mapping of label: value)");
	err = parse_match_labels(c, v, fpath, r);
	if (err)
		return err;
	snprintf(fpath, sizeof(fpath), "%s.class", path);
	if (!(v = map_get(c, n, "class")))
		return yerr(c, n, fpath, "required (the name of a class)");
	if (!(s = scalar(c, v, fpath, "a class name")))
		return -EINVAL;
	id = class_table_find(t, s);
	if (id < 0)
		return yerr(c, v, fpath, "unknown class \"%s\" (expected one of the "
			    "names under classes)", s);
	r->class_id = (uint32_t)id;
	return 0;
}

static int parse_rules(struct yctx *c, yaml_node_t *n, struct class_table *t)
{
	int count, err;

	if (n->type != YAML_SEQUENCE_NODE)
		return yerr(c, n, "labelRules", "expected a list of rules, got %s",
			    node_kind(n));
	count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count > CLASS_TABLE_MAX_RULES)
		return yerr(c, n, "labelRules", "expected at most %d rules, got %d",
			    CLASS_TABLE_MAX_RULES, count);
	if (count == 0)
		return 0;
	t->rules = calloc(count, sizeof(*t->rules));
	if (!t->rules)
		return -ENOMEM;
	for (int i = 0; i < count; i++) {
		t->n_rules = i + 1;
		err = parse_rule(c, yaml_document_get_node(c->doc,
				 n->data.sequence.items.start[i]), i, t);
		if (err)
			return err;
	}
	return 0;
}

/* ---- sites and destinations (siteLabel, sites, defaultSite, *CIDRs) ---- */

/* A Kubernetes label value (apimachinery IsValidLabelValue): 1..63 bytes
 * (empty is a valid label value, but not a site name), alphanumeric at both
 * ends, '-', '_' and '.' inside. */
static bool valid_label_value(const char *s)
{
	size_t len = strlen(s);

	if (len < 1 || len > 63 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

/* A DNS subdomain (RFC 1123, as label key prefixes must be): <= 253
 * bytes, dot-separated labels of [a-z0-9-], alphanumeric at both ends. */
static bool valid_dns_subdomain(const char *s, size_t len)
{
	size_t start = 0;

	if (len < 1 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
			    s[i] != '-')
				return false;
			continue;
		}
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

/* A label key: [prefix/]name, name as a label value (1..63 bytes). */
static bool valid_label_key(const char *s)
{
	const char *slash = strchr(s, '/');

	if (!slash)
		return valid_label_value(s);
	return valid_dns_subdomain(s, (size_t)(slash - s)) && valid_label_value(slash + 1);
}

/* classes: {NAME: {rate: R, ceil: C}} of a site whose budget is s->wan_rate_bps. */
static int parse_site_classes(struct yctx *c, yaml_node_t *n, const char *path,
			      const struct class_table *t, struct site_def *s)
{
	static const char *const keys[] = { "rate", "ceil", NULL };
	uint64_t rate_sum = 0;
	yaml_node_pair_t *p;
	char cpath[160], fpath[176];

	if (n->type != YAML_MAPPING_NODE)
		return yerr(c, n, path, "expected a mapping of class name: {rate, ceil}, got %s",
			    node_kind(n));
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
		struct site_class_rate *r;
		const char *name;
		yaml_node_t *v;
		int id, err;

		if (!(name = scalar(c, kn, path, "a class name")))
			return -EINVAL;
		id = class_table_find(t, name);
		if (id < 0)
			return yerr(c, kn, path, "unknown class \"%s\" (expected one of the names "
				    "under classes)", name);
		snprintf(cpath, sizeof(cpath), "%s.%s", path, name);
		r = &s->classes[id];
		if (r->rate_bps || r->ceil_bps)
			return yerr(c, kn, path, "duplicate class \"%s\"", name);
		if (vn->type != YAML_MAPPING_NODE)
			return yerr(c, vn, cpath, "expected a mapping with rate and/or ceil, got %s",
				    node_kind(vn));
		if ((err = check_keys(c, vn, cpath, keys, "rate, ceil")))
			return err;
		snprintf(fpath, sizeof(fpath), "%s.rate", cpath);
		if ((v = map_get(c, vn, "rate")) && parse_rate_field(c, v, fpath, &r->rate_bps))
			return -EINVAL;
		if (r->rate_bps > s->wan_rate_bps)
			return yerr(c, v, fpath, "rate %llu bit/s is above the site's wanRate "
				    "%llu bit/s", (unsigned long long)r->rate_bps,
				    (unsigned long long)s->wan_rate_bps);
		snprintf(fpath, sizeof(fpath), "%s.ceil", cpath);
		if ((v = map_get(c, vn, "ceil")) && parse_rate_field(c, v, fpath, &r->ceil_bps))
			return -EINVAL;
		if (r->ceil_bps > s->wan_rate_bps)
			return yerr(c, v, fpath, "ceiling %llu bit/s is above the site's wanRate "
				    "%llu bit/s", (unsigned long long)r->ceil_bps,
				    (unsigned long long)s->wan_rate_bps);
		if (r->ceil_bps && r->ceil_bps < r->rate_bps)
			return yerr(c, v, fpath, "ceiling %llu bit/s is below rate %llu bit/s",
				    (unsigned long long)r->ceil_bps,
				    (unsigned long long)r->rate_bps);
		if (!r->rate_bps && !r->ceil_bps)
			return yerr(c, vn, cpath, "expected rate and/or ceil");
		rate_sum += r->rate_bps;
	}
	if (rate_sum > s->wan_rate_bps)
		return yerr(c, n, path, "the class rates add up to %llu bit/s, above the site's "
			    "wanRate %llu bit/s", (unsigned long long)rate_sum,
			    (unsigned long long)s->wan_rate_bps);
	return 0;
}

/* The guaranteed rates a site's WAN branch gives its classes: the site's own
 * (classes:) where set, else the table's classes[].rate.  HTB serves every
 * leaf's rate before any priority, so a guarantee above the WAN budget would
 * let one class take the whole branch and starve the classes above it (a
 * bulk rate of 40mbit under a 20mbit site: critical lost 95 % of its
 * packets).  Each must fit the site's wanRate, and so must their sum. */
static int check_site_guarantees(struct yctx *c, yaml_node_t *n, const char *path,
				 const struct class_table *t, const struct site_def *s)
{
	uint64_t sum = 0;

	for (int i = 0; i < t->n_classes; i++) {
		uint64_t rate = s->classes[i].rate_bps;

		if (rate)
			continue; /* the site's own, checked by parse_site_classes */
		rate = t->classes[i].rate_bps;
		if (rate > s->wan_rate_bps)
			return yerr(c, n, path, "class %s's rate %llu bit/s (classes[%d].rate) is "
				    "above the site's wanRate %llu bit/s: a guarantee above the WAN "
				    "budget starves the classes above it; give the site its own "
				    "classes: {%s: {rate: ...}}", t->classes[i].name,
				    (unsigned long long)rate, i,
				    (unsigned long long)s->wan_rate_bps, t->classes[i].name);
		sum += rate;
	}
	for (int i = 0; i < t->n_classes; i++)
		sum += s->classes[i].rate_bps;
	if (sum > s->wan_rate_bps)
		return yerr(c, n, path, "the class rates (the site's classes, else classes[].rate) "
			    "add up to %llu bit/s, above the site's wanRate %llu bit/s",
			    (unsigned long long)sum, (unsigned long long)s->wan_rate_bps);
	return 0;
}

/* One sites[] entry (named) or defaultSite (name NULL). */
static int parse_site(struct yctx *c, yaml_node_t *n, const char *path, bool named,
		      const struct class_table *t, struct site_def *s)
{
	static const char *const keys[] = { "name", "wanRate", "classes", NULL };
	char fpath[96];
	yaml_node_t *v;
	const char *name;
	int err;

	memset(s, 0, sizeof(*s));
	if (n->type != YAML_MAPPING_NODE)
		return yerr(c, n, path, "expected a mapping with %swanRate, got %s",
			    named ? "name, " : "", node_kind(n));
	err = check_keys(c, n, path, named ? keys : keys + 1,
			 named ? "name, wanRate, classes" : "wanRate, classes");
	if (err)
		return err;
	if (named) {
		snprintf(fpath, sizeof(fpath), "%s.name", path);
		if (!(v = map_get(c, n, "name")))
			return yerr(c, n, fpath, "required (a value of siteLabel)");
		if (!(name = scalar(c, v, fpath, "a label value")))
			return -EINVAL;
		if (!valid_label_value(name))
			return yerr(c, v, fpath, "expected a label value: 1..63 characters of "
				    "a-z, A-Z, 0-9, '-', '_', '.', alphanumeric at both ends, "
				    "got \"%s\"", name);
		strcpy(s->name, name);
	}
	snprintf(fpath, sizeof(fpath), "%s.wanRate", path);
	if (!(v = map_get(c, n, "wanRate")))
		return yerr(c, n, fpath, "required (the site's WAN rate, such as 20mbit)");
	if (parse_rate_field(c, v, fpath, &s->wan_rate_bps))
		return -EINVAL;
	if (s->wan_rate_bps < CLASS_TABLE_MIN_WAN_RATE_BPS)
		return yerr(c, v, fpath, "%llu bit/s is below the minimum %d bit/s (8kbit): each "
			    "node of a site keeps at least 8 kbit/s of WAN, so the site could "
			    "not give even one node its share", (unsigned long long)s->wan_rate_bps,
			    CLASS_TABLE_MIN_WAN_RATE_BPS);
	snprintf(fpath, sizeof(fpath), "%s.classes", path);
	if ((v = map_get(c, n, "classes")) && (err = parse_site_classes(c, v, fpath, t, s)))
		return err;
	return check_site_guarantees(c, n, path, t, s);
}

static int parse_sites(struct yctx *c, yaml_node_t *n, struct class_table *t)
{
	char path[32];
	int count, err;

	if (n->type != YAML_SEQUENCE_NODE)
		return yerr(c, n, "sites", "expected a list of sites, got %s", node_kind(n));
	count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count > CLASS_TABLE_MAX_SITES)
		return yerr(c, n, "sites", "expected at most %d sites, got %d",
			    CLASS_TABLE_MAX_SITES, count);
	if (count == 0)
		return 0;
	t->sites = calloc(count, sizeof(*t->sites));
	if (!t->sites)
		return -ENOMEM;
	for (int i = 0; i < count; i++) {
		yaml_node_t *e = yaml_document_get_node(c->doc, n->data.sequence.items.start[i]);

		snprintf(path, sizeof(path), "sites[%d]", i);
		if ((err = parse_site(c, e, path, true, t, &t->sites[i])))
			return err;
		for (int j = 0; j < i; j++)
			if (strcmp(t->sites[j].name, t->sites[i].name) == 0)
				return yerr(c, e, path, "duplicate site name \"%s\" (also sites[%d])",
					    t->sites[i].name, j);
		t->n_sites = i + 1;
	}
	return 0;
}

/* localCIDRs / remoteCIDRs: a list of prefixes, none twice. */
static int parse_cidr_list(struct yctx *c, yaml_node_t *n, const char *key,
			   struct cidr **out, int *n_out)
{
	char path[48];
	int count;

	if (n->type != YAML_SEQUENCE_NODE)
		return yerr(c, n, key, "expected a list of CIDRs such as 192.168.10.0/24, got %s",
			    node_kind(n));
	count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count > CLASS_TABLE_MAX_CIDRS)
		return yerr(c, n, key, "expected at most %d CIDRs, got %d",
			    CLASS_TABLE_MAX_CIDRS, count);
	if (count == 0)
		return 0;
	*out = calloc(count, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (int i = 0; i < count; i++) {
		yaml_node_t *e = yaml_document_get_node(c->doc, n->data.sequence.items.start[i]);
		const char *s;
		int err;

		snprintf(path, sizeof(path), "%s[%d]", key, i);
		if (!(s = scalar(c, e, path, "a CIDR such as 192.168.10.0/24")))
			return -EINVAL;
		err = cidr_parse(s, false, &(*out)[i]);
		if (err == -ERANGE)
			return yerr(c, e, path, "\"%s\" has host bits set; expected the network "
				    "address of the prefix", s);
		if (err == -EDOM)
			return yerr(c, e, path, CIDR_V4_MAPPED_MSG, s);
		if (err)
			return yerr(c, e, path, "expected an IPv4 or IPv6 CIDR such as "
				    "192.168.10.0/24 or 2001:db8::/32, got \"%s\"", s);
		for (int j = 0; j < i; j++)
			if (cidr_equal(&(*out)[j], &(*out)[i]))
				return yerr(c, e, path, "duplicate CIDR \"%s\" (also %s[%d])",
					    s, key, j);
		*n_out = i + 1;
	}
	return 0;
}

/* siteLabel, sites, defaultSite, localCIDRs, remoteCIDRs (classes parsed). */
static int parse_site_keys(struct yctx *c, yaml_node_t *root, struct class_table *t)
{
	char a[CIDR_TEXT_LEN];
	yaml_node_t *v;
	const char *s;
	int err;

	if ((v = map_get(c, root, "siteLabel"))) {
		if (!(s = scalar(c, v, "siteLabel", "a label key")))
			return -EINVAL;
		if (!valid_label_key(s))
			return yerr(c, v, "siteLabel", "expected a label key such as "
				    "topology.kubernetes.io/zone ([DNS prefix/]name, name 1..63 "
				    "characters), got \"%s\"", s);
		strcpy(t->site_label, s); /* fits: prefix <= 253 + '/' + name <= 63 */
	}
	if ((v = map_get(c, root, "sites")) && (err = parse_sites(c, v, t)))
		return err;
	if ((v = map_get(c, root, "defaultSite"))) {
		if ((err = parse_site(c, v, "defaultSite", false, t, &t->default_site)))
			return err;
		t->has_default_site = true;
	}
	if ((v = map_get(c, root, "localCIDRs")) &&
	    (err = parse_cidr_list(c, v, "localCIDRs", &t->local_cidrs, &t->n_local_cidrs)))
		return err;
	if ((v = map_get(c, root, "remoteCIDRs")) &&
	    (err = parse_cidr_list(c, v, "remoteCIDRs", &t->remote_cidrs, &t->n_remote_cidrs)))
		return err;
	for (int i = 0; i < t->n_remote_cidrs; i++) {
		for (int j = 0; j < t->n_local_cidrs; j++) {
			if (!cidr_equal(&t->remote_cidrs[i], &t->local_cidrs[j]))
				continue;
			cidr_format(&t->remote_cidrs[i], a, sizeof(a));
			return yerr(c, v, "remoteCIDRs", "%s is also localCIDRs[%d]; expected a "
				    "prefix to be either LAN or WAN (remoteCIDRs[%d])", a, j, i);
		}
	}
	return 0;
}

/* With trustDscp the uplink maps each DSCP to one class (the first with
 * it): a second class with the same DSCP would silently get the first one's
 * packets after SNAT.  Reject it, naming both.  classes is the "classes"
 * node (for the line number). */
static int check_dscp_unique(struct yctx *c, yaml_node_t *classes,
			     const struct class_table *t)
{
	char path[64];

	for (int i = 1; i < t->n_classes; i++)
		for (int j = 0; j < i; j++)
			if (t->classes[i].dscp == t->classes[j].dscp) {
				snprintf(path, sizeof(path), "classes[%d].dscp", i);
				return yerr(c, classes, path, "DSCP %u is already class %s's "
					    "(a missing dscp is 0); expected a DSCP of its own: "
					    "with trustDscp the uplink maps a DSCP to one class",
					    t->classes[i].dscp, t->classes[j].name);
			}
	return 0;
}

static int parse_root(struct yctx *c, yaml_node_t *root, struct class_table *t)
{
	static const char *const keys[] = { "classes", "defaultClass", "trustDscp",
					    "rewriteDscp", "enabled", "labelRules",
					    "siteLabel", "sites", "defaultSite",
					    "localCIDRs", "remoteCIDRs", "systemClass", "hostRules",
					    "sanitizeUnknown", "trustDscpFrom",
					    "namespaceCeilings", "defaultCeiling", NULL };
	yaml_node_t *v;
	const char *s;
	int id, err;

	if (root->type != YAML_MAPPING_NODE)
		return yerr(c, root, "(document)", "expected a mapping with classes, "
			    "defaultClass, ..., got %s", node_kind(root));
	err = check_keys(c, root, "(document)", keys,
			 "classes, defaultClass, trustDscp, rewriteDscp, enabled, labelRules, "
			 "siteLabel, sites, defaultSite, localCIDRs, remoteCIDRs, "
			 "systemClass, hostRules, sanitizeUnknown, trustDscpFrom, "
			 "namespaceCeilings, defaultCeiling");
	if (err)
		return err;
	if (!(v = map_get(c, root, "classes")))
		return yerr(c, root, "classes", "required (a list of classes)");
	if ((err = parse_classes(c, v, t)))
		return err;
	if (!(v = map_get(c, root, "defaultClass")))
		return yerr(c, root, "defaultClass", "required (the name of a class)");
	if (!(s = scalar(c, v, "defaultClass", "a class name")))
		return -EINVAL;
	id = class_table_find(t, s);
	if (id < 0)
		return yerr(c, v, "defaultClass", "unknown class \"%s\" (expected one "
			    "of the names under classes)", s);
	t->default_class = (uint32_t)id;
	if ((v = map_get(c, root, "trustDscp")) &&
	    parse_bool(c, v, "trustDscp", &t->trust_dscp))
		return -EINVAL;
	if (t->trust_dscp && (err = check_dscp_unique(c, map_get(c, root, "classes"), t)))
		return err;
	if ((v = map_get(c, root, "rewriteDscp")) &&
	    parse_bool(c, v, "rewriteDscp", &t->rewrite_dscp))
		return -EINVAL;
	if ((v = map_get(c, root, "enabled")) &&
	    parse_bool(c, v, "enabled", &t->enabled))
		return -EINVAL;
	if ((v = map_get(c, root, "labelRules")) && (err = parse_rules(c, v, t)))
		return err;
	if ((err = parse_host_section(c, root, t)))
		return err;
	if ((err = parse_site_keys(c, root, t)))
		return err;
	if ((err = class_trust_parse(c, root, t)))
		return err;
	if ((err = ns_ceilings_parse(c, root, t)))
		return err;
	return 0;
}

/* YAML syntax error text from a failed parser. */
static void syntax_error(const yaml_parser_t *parser, char *err, size_t errlen)
{
	snprintf(err, errlen, "YAML syntax error: %s at line %lu column %lu",
		 parser->problem ? parser->problem : "unknown",
		 (unsigned long)parser->problem_mark.line + 1,
		 (unsigned long)parser->problem_mark.column + 1);
}

int class_table_parse(const char *yaml, size_t len, struct class_table *t,
		      char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	struct yctx c = { .doc = &doc, .err = err, .errlen = errlen };
	bool have_doc = false, have_extra = false;
	yaml_node_t *root;
	int ret = -EINVAL;

	memset(t, 0, sizeof(*t));
	t->trust_dscp = true;
	t->rewrite_dscp = true;
	t->enabled = true;
	strcpy(t->site_label, SITE_LABEL_DEFAULT);
	t->sanitize_unknown = true;
	t->default_ceiling = -1;
	if (errlen)
		err[0] = '\0';
	ret = yaml_guard(yaml, len, CLASS_TABLE_MAX_DEPTH, "a class table (4 levels)",
			 err, errlen);
	if (ret)
		return ret;
	ret = -EINVAL;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(&parser, err, errlen);
		goto cleanup;
	}
	have_doc = true;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		snprintf(err, errlen, "(document): empty; expected a mapping with "
			 "classes and defaultClass");
		goto cleanup;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		syntax_error(&parser, err, errlen);
		goto cleanup;
	}
	have_extra = true;
	if (yaml_document_get_root_node(&extra)) {
		snprintf(err, errlen, "(document): expected one YAML document, got more");
		goto cleanup;
	}
	ret = parse_root(&c, root, t);
cleanup:
	if (ret) {
		class_table_free(t);
		t->n_classes = 0;
	}
	if (have_extra)
		yaml_document_delete(&extra);
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return ret;
}

int class_table_load_file(const char *path, struct class_table *t,
			  char *err, size_t errlen)
{
	size_t cap = CLASS_TABLE_MAX_FILE + 1, len = 0, n;
	char *buf = NULL;
	FILE *f;
	int ret = 0;

	memset(t, 0, sizeof(*t));
	if (errlen)
		err[0] = '\0';
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "cannot open: %s", strerror(-ret));
		return ret;
	}
	/* Read at most one byte past the limit: /dev/zero or a huge file
	 * ends here instead of filling memory. */
	buf = malloc(cap);
	if (!buf) {
		ret = -ENOMEM;
		goto cleanup;
	}
	while (len < cap && (n = fread(buf + len, 1, cap - len, f)) > 0)
		len += n;
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "read error: %s", strerror(errno ?: EIO));
		goto cleanup;
	}
	if (len > CLASS_TABLE_MAX_FILE) {
		ret = -EFBIG;
		snprintf(err, errlen, "file is larger than %u KiB; a class table is a few KiB",
			 CLASS_TABLE_MAX_FILE >> 10);
		goto cleanup;
	}
	ret = class_table_parse(buf, len, t, err, errlen);
cleanup:
	fclose(f);
	free(buf);
	return ret;
}
