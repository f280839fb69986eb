/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * class_table.h - the traffic class table: built-in defaults or a YAML file
 * (--config, mounted from a ConfigMap).  Class id = position in the table;
 * the table order is the strict-priority order (first = highest).
 */
#ifndef TCPRIO_CLASS_TABLE_H
#define TCPRIO_CLASS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tcprio.h"

#define CLASS_RULE_MAX_LABELS 8

/* One traffic class. */
struct class_def {
	char     name[TCPRIO_CLASS_NAME_LEN]; /* [a-z0-9-], 1..15 bytes */
	uint8_t  dscp;                        /* 0..63 */
	uint32_t priority;                    /* skb->priority ("1:10" -> 0x0001000a) */
	uint64_t rate_bps;                    /* HTB rate, bits/s; 0 = share of uplink */
	uint64_t ceil_bps;                    /* HTB ceiling, bits/s; 0 = uplink rate */
};

/* matchLabels rule: a pod whose labels contain every key=value gets class_id. */
struct label_rule {
	int  n_labels;
	char *keys[CLASS_RULE_MAX_LABELS];
	char *values[CLASS_RULE_MAX_LABELS];
	uint32_t class_id;
};

struct class_table {
	struct class_def classes[TCPRIO_MAX_CLASSES];
	int      n_classes;
	uint32_t default_class;
	bool     trust_dscp;   /* uplink classifies by DSCP (default true) */
	bool     rewrite_dscp; /* pod edge rewrites DSCP (default true) */
	struct label_rule *rules; /* first matching rule wins */
	int      n_rules;
};

/* Fill t with the built-in table: critical (EF 46, 1:10), high (AF41 34, 1:20),
 * normal (0, 1:30, default), bulk (LE 1 RFC 8622, 1:40).  Returns 0. */
int class_table_defaults(struct class_table *t);
/* Parse YAML text.  On error returns -EINVAL, leaves t empty and writes a
 * message naming the field and what was expected into err. */
int class_table_parse(const char *yaml, size_t len, struct class_table *t,
		      char *err, size_t errlen);
/* Read and parse a file; -errno if unreadable, else as class_table_parse. */
int class_table_load_file(const char *path, struct class_table *t,
			  char *err, size_t errlen);
/* Class id by name, or -1. */
int class_table_find(const struct class_table *t, const char *name);
/* Parse "MAJ:MIN" (hex, as tc) or a plain decimal into a skb->priority. */
int parse_priority(const char *s, uint32_t *out);
/* Parse a rate such as "50mbit", "1gbit", "800kbit", "12500000" (bit/s). */
int parse_rate_bps(const char *s, uint64_t *out);
/* Free rules; t may be reused after class_table_defaults/parse. */
void class_table_free(struct class_table *t);

#endif
