/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * class_table_yaml.h - the YAML walking helpers of class_table.c, shared
 * with the parsers of other sections of the class table (host_rules.c,
 * class_trust.c, ns_ceiling.c).  Private to policy/.  Every helper that
 * fails writes "PATH: MESSAGE (line N)" into the context's error buffer and
 * returns -EINVAL (or NULL).
 */
#ifndef TCPRIO_CLASS_TABLE_YAML_H
#define TCPRIO_CLASS_TABLE_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>
#include "policy/class_table.h"

/* The document being parsed and where errors go. */
struct yctx {
	yaml_document_t *doc;
	char *err;
	size_t errlen;
};

/* Write "PATH: MESSAGE (line N)" (n may be NULL: no line); -EINVAL. */
__attribute__((format(printf, 4, 5)))
int yerr(struct yctx *c, const yaml_node_t *n, const char *path,
	 const char *fmt, ...);
/* "a scalar", "a list", "a mapping" or "nothing", for messages. */
const char *node_kind(const yaml_node_t *n);
/* Scalar text of n, or NULL (error set: "expected <expected>, got ..."). */
const char *scalar(struct yctx *c, const yaml_node_t *n, const char *path,
		   const char *expected);
/* Mapping n has only keys of allowed (NULL-terminated), none twice;
 * allowed_text lists them for the error.  0 or -EINVAL. */
int check_keys(struct yctx *c, yaml_node_t *n, const char *path,
	       const char *const *allowed, const char *allowed_text);
/* Value node of key in mapping n, or NULL. */
yaml_node_t *map_get(struct yctx *c, yaml_node_t *n, const char *key);
/* true/false (also True, yes, on, ...).  0 or -EINVAL. */
int parse_bool(struct yctx *c, yaml_node_t *n, const char *path, bool *out);

/* host_rules.c: parse systemClass and hostRules of the root mapping into t
 * (classes already parsed).  0, -EINVAL (error set) or -ENOMEM. */
int parse_host_section(struct yctx *c, yaml_node_t *root, struct class_table *t);
/* class_trust.c: sanitizeUnknown and trustDscpFrom of the root mapping
 * into t.  0 or -EINVAL. */
int class_trust_parse(struct yctx *c, yaml_node_t *root, struct class_table *t);
/* ns_ceiling.c: namespaceCeilings and defaultCeiling of the root mapping
 * into t (the classes are parsed already).  0, -EINVAL, -ENOMEM. */
int ns_ceilings_parse(struct yctx *c, yaml_node_t *root, struct class_table *t);
/* Free t's ceilings (heap strings and arrays); t->n_ceilings = 0. */
void ns_ceilings_free(struct class_table *t);

#endif
