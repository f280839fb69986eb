/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ns_ceiling.c - namespace ceilings of the class table (issue 12): parse
 * namespaceCeilings / defaultCeiling and evaluate Kubernetes label
 * selectors on Namespace labels.  Format: class_table.h.
 *
 * Selector rules follow Kubernetes (apimachinery labels.Selector, metav1
 * LabelSelector): matchLabels pairs and matchExpressions are ANDed; In and
 * NotIn need at least one value, Exists and DoesNotExist none; NotIn and
 * DoesNotExist hold for a missing key.  Keys are qualified names
 * ([prefix/]name: name 1..63 of [A-Za-z0-9._-] starting and ending
 * alphanumeric, prefix a DNS subdomain of at most 253), values 0..63 of the
 * same characters.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy/class_table.h"
#include "policy/class_table_yaml.h"

#define SEL_MAX_LABELS 32   /* matchLabels pairs / expressions per selector */
#define SEL_MAX_VALUES 64   /* values of one In / NotIn expression */

static const char *const op_names[] = {
	[SEL_IN] = "In", [SEL_NOT_IN] = "NotIn", [SEL_EXISTS] = "Exists",
	[SEL_DOES_NOT_EXIST] = "DoesNotExist",
};

/* ---- validation of names ------------------------------------------------ */

/* A label name or a non-empty value: 1..63 of [A-Za-z0-9._-], alphanumeric
 * at both ends. */
static bool valid_name_part(const char *s, size_t len)
{
	if (len < 1 || len > 63 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

/* DNS subdomain (RFC 1123): 1..253 of [a-z0-9.-], alphanumeric ends. */
static bool valid_prefix(const char *s, size_t len)
{
	if (len < 1 || len > 253 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
		      s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

static bool valid_label_key(const char *k)
{
	const char *slash = strchr(k, '/');

	if (!slash)
		return valid_name_part(k, strlen(k));
	return valid_prefix(k, (size_t)(slash - k)) &&
	       valid_name_part(slash + 1, strlen(slash + 1));
}

static bool valid_label_value(const char *v)
{
	return !v[0] || valid_name_part(v, strlen(v));
}

/* ---- freeing --------------------------------------------------------------- */

static void selector_free(struct label_selector *s)
{
	for (int i = 0; i < s->n_labels; i++) {
		free(s->keys[i]);
		free(s->values[i]);
	}
	free(s->keys);
	free(s->values);
	for (int i = 0; i < s->n_exprs; i++) {
		for (int j = 0; j < s->exprs[i].n_values; j++)
			free(s->exprs[i].values[j]);
		free(s->exprs[i].values);
		free(s->exprs[i].key);
	}
	free(s->exprs);
	memset(s, 0, sizeof(*s));
}

void ns_ceilings_free(struct class_table *t)
{
	for (int i = 0; i < t->n_ceilings; i++)
		selector_free(&t->ceilings[i].sel);
	free(t->ceilings);
	t->ceilings = NULL;
	t->n_ceilings = 0;
}

/* ---- parsing ------------------------------------------------------------------- */

static int parse_match_labels(struct yctx *c, yaml_node_t *n, const char *path,
			      struct label_selector *s)
{
	int count;
	char kpath[192];

	if (n->type != YAML_MAPPING_NODE)
		return yerr(c, n, path, "expected a mapping of label: value, got %s",
			    node_kind(n));
	count = (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (count > SEL_MAX_LABELS)
		return yerr(c, n, path, "expected at most %d labels, got %d",
			    SEL_MAX_LABELS, count);
	s->keys = calloc(count ? count : 1, sizeof(char *));
	s->values = calloc(count ? count : 1, sizeof(char *));
	if (!s->keys || !s->values)
		return -ENOMEM;
	for (int i = 0; i < count; i++) {
		yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
		yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
		const char *k, *v;

		if (!(k = scalar(c, kn, path, "a label key")))
			return -EINVAL;
		snprintf(kpath, sizeof(kpath), "%s.%s", path, k);
		if (!valid_label_key(k))
			return yerr(c, kn, kpath, "\"%s\" is not a label key; expected "
				    "[prefix/]name, name 1..63 characters of A-Z a-z 0-9 . _ - "
				    "starting and ending alphanumeric", k);
		if (!(v = scalar(c, vn, kpath, "a label value")))
			return -EINVAL;
		if (!valid_label_value(v))
			return yerr(c, vn, kpath, "\"%s\" is not a label value; expected "
				    "0..63 characters of A-Z a-z 0-9 . _ - starting and "
				    "ending alphanumeric", v);
		for (int j = 0; j < s->n_labels; j++)
			if (strcmp(s->keys[j], k) == 0)
				return yerr(c, kn, path, "duplicate key \"%s\"", k);
		s->keys[i] = strdup(k);
		s->values[i] = strdup(v);
		s->n_labels = i + 1;
		if (!s->keys[i] || !s->values[i])
			return -ENOMEM;
	}
	return 0;
}

static int parse_values(struct yctx *c, yaml_node_t *n, const char *path,
			struct selector_expr *e)
{
	int count;

	if (n->type != YAML_SEQUENCE_NODE)
		return yerr(c, n, path, "expected a list of label values, got %s", node_kind(n));
	count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count > SEL_MAX_VALUES)
		return yerr(c, n, path, "expected at most %d values, got %d", SEL_MAX_VALUES, count);
	e->values = calloc(count ? count : 1, sizeof(char *));
	if (!e->values)
		return -ENOMEM;
	for (int i = 0; i < count; i++) {
		yaml_node_t *vn = yaml_document_get_node(c->doc, n->data.sequence.items.start[i]);
		char vpath[232];
		const char *v;

		snprintf(vpath, sizeof(vpath), "%s[%d]", path, i);
		if (!(v = scalar(c, vn, vpath, "a label value")))
			return -EINVAL;
		if (!valid_label_value(v))
			return yerr(c, vn, vpath, "\"%s\" is not a label value; expected "
				    "0..63 characters of A-Z a-z 0-9 . _ - starting and "
				    "ending alphanumeric", v);
		if (!(e->values[i] = strdup(v)))
			return -ENOMEM;
		e->n_values = i + 1;
	}
	return 0;
}

static int parse_expr(struct yctx *c, yaml_node_t *n, const char *path,
		      struct selector_expr *e)
{
	static const char *const keys[] = { "key", "operator", "values", NULL };
	char fpath[208];
	yaml_node_t *v;
	const char *s;
	int op = -1, err;

	if (n->type != YAML_MAPPING_NODE)
		return yerr(c, n, path, "expected a mapping with key, operator, values, "
			    "got %s", node_kind(n));
	if ((err = check_keys(c, n, path, keys, "key, operator, values")))
		return err;
	snprintf(fpath, sizeof(fpath), "%s.key", path);
	if (!(v = map_get(c, n, "key")))
		return yerr(c, n, fpath, "required (a label key)");
	if (!(s = scalar(c, v, fpath, "a label key")))
		return -EINVAL;
	if (!valid_label_key(s))
		return yerr(c, v, fpath, "\"%s\" is not a label key; expected [prefix/]name, "
			    "name 1..63 characters of A-Z a-z 0-9 . _ - starting and "
			    "ending alphanumeric", s);
	if (!(e->key = strdup(s)))
		return -ENOMEM;
	snprintf(fpath, sizeof(fpath), "%s.operator", path);
	if (!(v = map_get(c, n, "operator")))
		return yerr(c, n, fpath, "required (In, NotIn, Exists or DoesNotExist)");
	if (!(s = scalar(c, v, fpath, "In, NotIn, Exists or DoesNotExist")))
		return -EINVAL;
	for (int i = 0; i < 4; i++)
		if (strcmp(s, op_names[i]) == 0)
			op = i;
	if (op < 0)
		return yerr(c, v, fpath, "expected In, NotIn, Exists or DoesNotExist, "
			    "got \"%s\"", s);
	e->op = (enum selector_op)op;
	snprintf(fpath, sizeof(fpath), "%s.values", path);
	if ((v = map_get(c, n, "values")) && (err = parse_values(c, v, fpath, e)))
		return err;
	if ((e->op == SEL_IN || e->op == SEL_NOT_IN) && e->n_values == 0)
		return yerr(c, v ? v : n, fpath, "operator %s needs at least one value",
			    op_names[e->op]);
	if ((e->op == SEL_EXISTS || e->op == SEL_DOES_NOT_EXIST) && e->n_values)
		return yerr(c, v, fpath, "operator %s takes no values", op_names[e->op]);
	return 0;
}

static int parse_exprs(struct yctx *c, yaml_node_t *n, const char *path,
		       struct label_selector *s)
{
	int count, err;

	if (n->type != YAML_SEQUENCE_NODE)
		return yerr(c, n, path, "expected a list of {key, operator, values}, got %s",
			    node_kind(n));
	count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count > SEL_MAX_LABELS)
		return yerr(c, n, path, "expected at most %d expressions, got %d",
			    SEL_MAX_LABELS, count);
	s->exprs = calloc(count ? count : 1, sizeof(*s->exprs));
	if (!s->exprs)
		return -ENOMEM;
	for (int i = 0; i < count; i++) {
		char epath[192];

		snprintf(epath, sizeof(epath), "%s[%d]", path, i);
		s->n_exprs = i + 1;
		err = parse_expr(c, yaml_document_get_node(c->doc,
				 n->data.sequence.items.start[i]), epath, &s->exprs[i]);
		if (err)
			return err;
	}
	return 0;
}

static int parse_selector(struct yctx *c, yaml_node_t *n, const char *path,
			  struct label_selector *s)
{
	static const char *const keys[] = { "matchLabels", "matchExpressions", NULL };
	char fpath[160];
	yaml_node_t *v;
	int err;

	if (n->type != YAML_MAPPING_NODE)
		return yerr(c, n, path, "expected a label selector (a mapping with "
			    "matchLabels and/or matchExpressions), got %s", node_kind(n));
	if ((err = check_keys(c, n, path, keys, "matchLabels, matchExpressions")))
		return err;
	snprintf(fpath, sizeof(fpath), "%s.matchLabels", path);
	if ((v = map_get(c, n, "matchLabels")) && (err = parse_match_labels(c, v, fpath, s)))
		return err;
	snprintf(fpath, sizeof(fpath), "%s.matchExpressions", path);
	if ((v = map_get(c, n, "matchExpressions")) && (err = parse_exprs(c, v, fpath, s)))
		return err;
	return 0;
}

/* A class name of t at n into *id.  0 or -EINVAL. */
static int class_field(struct yctx *c, yaml_node_t *n, const char *path,
		       const struct class_table *t, int *id)
{
	const char *s = scalar(c, n, path, "a class name");

	if (!s)
		return -EINVAL;
	*id = class_table_find(t, s);
	if (*id < 0)
		return yerr(c, n, path, "unknown class \"%s\" (expected one of the names "
			    "under classes)", s);
	return 0;
}

static int parse_ceiling(struct yctx *c, yaml_node_t *n, int idx, struct class_table *t)
{
	static const char *const keys[] = { "namespaceSelector", "maxClass", NULL };
	struct ns_ceiling *ce = &t->ceilings[idx];
	char path[48], fpath[96];
	yaml_node_t *v;
	int id, err;

	snprintf(path, sizeof(path), "namespaceCeilings[%d]", idx);
	if (n->type != YAML_MAPPING_NODE)
		return yerr(c, n, path, "expected a mapping with namespaceSelector and "
			    "maxClass, got %s", node_kind(n));
	if ((err = check_keys(c, n, path, keys, "namespaceSelector, maxClass")))
		return err;
	snprintf(fpath, sizeof(fpath), "%s.namespaceSelector", path);
	if (!(v = map_get(c, n, "namespaceSelector")))
		return yerr(c, n, fpath, "required (a label selector; {} matches every "
			    "namespace)");
	if ((err = parse_selector(c, v, fpath, &ce->sel)))
		return err;
	snprintf(fpath, sizeof(fpath), "%s.maxClass", path);
	if (!(v = map_get(c, n, "maxClass")))
		return yerr(c, n, fpath, "required (the name of a class)");
	if ((err = class_field(c, v, fpath, t, &id)))
		return err;
	ce->max_class = (uint32_t)id;
	return 0;
}

int ns_ceilings_parse(struct yctx *c, yaml_node_t *root, struct class_table *t)
{
	yaml_node_t *v;
	int count, err, id;

	t->default_ceiling = -1;
	if ((v = map_get(c, root, "defaultCeiling"))) {
		if ((err = class_field(c, v, "defaultCeiling", t, &id)))
			return err;
		t->default_ceiling = id;
	}
	if (!(v = map_get(c, root, "namespaceCeilings")))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return yerr(c, v, "namespaceCeilings", "expected a list of {namespaceSelector, "
			    "maxClass}, got %s", node_kind(v));
	count = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (count > CLASS_TABLE_MAX_CEILINGS)
		return yerr(c, v, "namespaceCeilings", "expected at most %d entries, got %d",
			    CLASS_TABLE_MAX_CEILINGS, count);
	if (!count)
		return 0;
	t->ceilings = calloc(count, sizeof(*t->ceilings));
	if (!t->ceilings)
		return -ENOMEM;
	for (int i = 0; i < count; i++) {
		t->n_ceilings = i + 1;
		err = parse_ceiling(c, yaml_document_get_node(c->doc,
				    v->data.sequence.items.start[i]), i, t);
		if (err)
			return err;
	}
	return 0;
}

/* ---- evaluation ------------------------------------------------------------ */

static const char *label_of(const struct label_set *ls, const char *key)
{
	for (int i = 0; ls && i < ls->n; i++)
		if (strcmp(ls->keys[i], key) == 0)
			return ls->values[i];
	return NULL;
}

static bool expr_holds(const struct selector_expr *e, const struct label_set *ls)
{
	const char *v = label_of(ls, e->key);
	bool in = false;

	for (int i = 0; v && i < e->n_values; i++)
		in = in || strcmp(v, e->values[i]) == 0;
	switch (e->op) {
	case SEL_IN: return in;
	case SEL_NOT_IN: return !in;
	case SEL_EXISTS: return v != NULL;
	case SEL_DOES_NOT_EXIST: return v == NULL;
	}
	return false;
}

bool label_selector_matches(const struct label_selector *sel, const struct label_set *ls)
{
	for (int i = 0; i < sel->n_labels; i++) {
		const char *v = label_of(ls, sel->keys[i]);

		if (!v || strcmp(v, sel->values[i]) != 0)
			return false;
	}
	for (int i = 0; i < sel->n_exprs; i++)
		if (!expr_holds(&sel->exprs[i], ls))
			return false;
	return true;
}

/* Append fmt to buf at *off; once it does not fit, end buf in "...". */
__attribute__((format(printf, 4, 5)))
static void text_add(char *buf, size_t size, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, size - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *off) {
		*off = size;
		if (size > 3)
			memcpy(buf + size - 4, "...", 4);
		return;
	}
	*off += (size_t)n;
}

void label_selector_text(const struct label_selector *sel, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < sel->n_labels; i++)
		text_add(buf, size, &off, "%s%s=%s", off ? "," : "", sel->keys[i], sel->values[i]);
	for (int i = 0; i < sel->n_exprs; i++) {
		const struct selector_expr *e = &sel->exprs[i];

		if (e->op == SEL_EXISTS || e->op == SEL_DOES_NOT_EXIST) {
			text_add(buf, size, &off, "%s%s%s", off ? "," : "",
				 e->op == SEL_DOES_NOT_EXIST ? "!" : "", e->key);
			continue;
		}
		text_add(buf, size, &off, "%s%s %s (", off ? "," : "", e->key,
			 e->op == SEL_IN ? "in" : "notin");
		for (int j = 0; j < e->n_values; j++)
			text_add(buf, size, &off, "%s%s", j ? "," : "", e->values[j]);
		text_add(buf, size, &off, ")");
	}
	if (!buf[0])
		text_add(buf, size, &off, "(everything)");
}

int ns_ceiling_of(const struct class_table *t, const struct label_set *ns, int *rule)
{
	int best = -1, why = CEILING_RULE_DEFAULT;

	if (!ns) {
		/* Unknown namespace: the strictest ceiling there is. */
		best = t->default_ceiling;
		for (int i = 0; i < t->n_ceilings; i++)
			if ((int)t->ceilings[i].max_class > best)
				best = (int)t->ceilings[i].max_class;
		if (rule)
			*rule = CEILING_RULE_UNKNOWN;
		return best;
	}
	for (int i = 0; i < t->n_ceilings; i++) {
		if ((int)t->ceilings[i].max_class <= best ||
		    !label_selector_matches(&t->ceilings[i].sel, ns))
			continue;
		best = (int)t->ceilings[i].max_class;
		why = i;
	}
	if (best < 0)
		best = t->default_ceiling;
	if (rule)
		*rule = why;
	return best;
}
