/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * class_table.h - the traffic class table: built-in defaults or a YAML file
 * (--config, mounted from a ConfigMap).  Class id = position in the table;
 * the table order is the strict-priority order (first = highest).
 *
 * File format (YAML, one document, a mapping; every key is checked and an
 * unknown key is an error naming it; no string may hold a NUL):
 *
 *   classes:                 # required, 1..16 entries, order = priority
 *     - name: critical       # required, [a-z0-9-], 1..15 bytes, unique
 *       dscp: 46             # optional (default 0): 0..63 or a name:
 *                            #   CS0..CS7 (RFC 2474), AF11..AF43 (RFC 2597),
 *                            #   EF (RFC 3246), VA (RFC 5865), LE (RFC 8622),
 *                            #   DF/BE (= 0); with trustDscp each class
 *                            #   needs its own DSCP (the uplink maps a DSCP
 *                            #   to one class)
 *       priority: "1:10"     # required: tc classid MAJ:MIN (hex, as tc
 *                            #   prints it) or a decimal skb->priority
 *                            #   (unique; MAJ:0 and MAJ:1 are not leaf
 *                            #   classes: minor 2..ffff)
 *       rate: 20mbit         # optional HTB rate (tc units, see parse_rate_bps)
 *       ceil: 50mbit         # optional HTB ceiling, >= rate
 *   defaultClass: normal     # required: name of one of the classes
 *   trustDscp: true          # optional, default true
 *   rewriteDscp: true        # optional, default true
 *   enabled: true            # optional, default true; false: the programs
 *                            #   pass every packet untouched (kill switch)
 *   labelRules:              # optional, first match wins
 *     - matchLabels: {app: postgres}   # 1..8 labels, all must match
 *       class: critical
 *   siteLabel: topology.kubernetes.io/zone  # optional (this default): the
 *                            #   Node label whose value names a node's site
 *   sites:                   # optional, 0..256 entries: WAN budgets
 *     - name: store-17       # a value of siteLabel (a label value), unique
 *       wanRate: 20mbit      # required: the site's WAN budget, shared by
 *                            #   its Ready nodes
 *       classes:             # optional: per-class WAN rate/ceil within
 *         critical: {rate: 2mbit, ceil: 20mbit}   # wanRate (each <= it;
 *                            #   the rates together <= it)
 *   defaultSite: {wanRate: 50mbit}   # optional, same keys but name: sites
 *                            #   not listed; absent: no WAN shaping for them
 *   localCIDRs: [192.168.10.0/24]    # optional, 0..1024: always LAN
 *   remoteCIDRs: [10.200.0.0/16]     # optional, 0..1024: always WAN
 *                            #   (IPv4 or IPv6 prefixes, host bits 0, no
 *                            #   prefix in both lists)
 *   systemClass: critical    # optional: class of the built-in host rules
 *                            #   (host_rules.h); default the first class;
 *                            #   none: no built-in rules
 *   hostRules:               # optional, traffic of the node's own sockets
 *     - {cgroup: /system.slice/kubelet.service, class: critical}
 *     - {dst: 198.51.100.10/32, port: 6443, protocol: tcp, class: critical}
 *                            # cgroup: path from the cgroup v2 root; dst:
 *                            #   IPv4/IPv6 CIDR (no host bits), port 1..65535
 *                            #   (optional), protocol tcp|udp|sctp (optional;
 *                            #   with a port: tcp and udp, without: any)
 *   sanitizeUnknown: true    # optional, default true: the pod edge gives a
 *                            #   source without an endpoint entry the
 *                            #   default class and its DSCP (class_trust.c)
 *   trustDscpFrom: [eth1, 192.168.10.0/24]  # optional, at most 32: ingress
 *                            #   interfaces (names) and source CIDRs whose
 *                            #   forwarded packets the uplink classifies by
 *                            #   DSCP besides pod edges and tunnels
 *   namespaceCeilings:       # optional, at most 256 (ns_ceiling.c)
 *     - namespaceSelector:   # a Kubernetes label selector on Namespace labels:
 *         matchLabels: {tenant: shared}          # all must match, and
 *         matchExpressions:                      # all must hold
 *           - {key: tier, operator: In, values: [a, b]}  # In, NotIn, Exists,
 *                                                        # DoesNotExist
 *       maxClass: normal     # the highest class its pods may get
 *   defaultCeiling: high     # optional: namespaces no selector matches
 *
 * Ownership: a class_table owns its rules (keys/values are heap strings),
 * sites and CIDR lists; class_table_free releases them.  A struct copy
 * shares them, so free
 * only one of the copies.  Not thread-safe; read-only use after parsing is
 * safe from any thread.
 */
#ifndef TCPRIO_CLASS_TABLE_H
#define TCPRIO_CLASS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tcprio.h"
#include "policy/cidr.h"

#define CLASS_RULE_MAX_LABELS 8
#define CLASS_TABLE_MAX_RULES 1024
#define CLASS_TABLE_MAX_SITES 256
#define CLASS_TABLE_MAX_CIDRS 1024     /* per list */
#define SITE_NAME_LEN         64       /* a label value: <= 63 bytes + NUL */
#define SITE_LABEL_LEN        320      /* prefix <= 253 + '/' + name <= 63 + NUL */
#define SITE_LABEL_DEFAULT    "topology.kubernetes.io/zone"

/* One traffic class. */
struct class_def {
	char     name[TCPRIO_CLASS_NAME_LEN]; /* [a-z0-9-], 1..15 bytes */
	uint8_t  dscp;                        /* 0..63 */
	uint32_t priority;                    /* skb->priority ("1:10" -> 0x00010010: tc classids are hex) */
	uint64_t rate_bps;                    /* HTB rate, bits/s; 0 = share of uplink */
	uint64_t ceil_bps;                    /* HTB ceiling, bits/s; 0 = uplink rate */
};

/* matchLabels rule: a pod whose labels contain every key=value gets class_id. */
struct label_rule {
	int  n_labels;                         /* 1..CLASS_RULE_MAX_LABELS */
	char *keys[CLASS_RULE_MAX_LABELS];     /* heap strings, owned by the table */
	char *values[CLASS_RULE_MAX_LABELS];
	uint32_t class_id;
};

/* WAN rate and ceiling of one class within a site's budget, bits/s; 0 =
 * not set (the class's own rate/ceil, else a share of the WAN branch). */
struct site_class_rate {
	uint64_t rate_bps, ceil_bps;
};

/* The smallest wanRate a site may have, bit/s: the WAN share a node keeps
 * at least (SITE_VIEW_FLOOR_BPS, policy/site_view.h; HTB's smallest rate,
 * UPLINK_QDISC_MIN_RATE), so that a site can give one node its floor.  A
 * site of N nodes needs N x this; below that the agent warns (site_view). */
#define CLASS_TABLE_MIN_WAN_RATE_BPS 8000

/* One site's WAN budget (sites: entry, or defaultSite with name ""). */
struct site_def {
	char     name[SITE_NAME_LEN];
	uint64_t wan_rate_bps;                    /* >= CLASS_TABLE_MIN_WAN_RATE_BPS */
	struct site_class_rate classes[TCPRIO_MAX_CLASSES]; /* by class id */
};

/* hostRules entry (host_rules.h): a cgroup or a destination -> class. */
struct host_rule {
	char    *cgroup;      /* path from the cgroup v2 root (heap), or NULL
	                         for a destination rule */
	uint8_t  dst[16];     /* destination, IPv4 as ::ffff:a.b.c.d, network order */
	uint8_t  prefix_len;  /* bits of dst that must match, 0..128 (IPv4: 96 + n) */
	uint8_t  protocol;    /* IPPROTO_*; 0: tcp and udp (with a port) or any */
	uint16_t port;        /* destination port, host order; 0: any */
	uint32_t class_id;
};

#define CLASS_TABLE_MAX_TRUST 32

/* One trustDscpFrom entry: an interface name or a source CIDR. */
struct trust_source {
	bool    is_cidr;
	char    ifname[16];   /* interface name (IFNAMSIZ) when !is_cidr */
	uint8_t addr[16];     /* CIDR network, IPv4-mapped for IPv4, network order */
	uint8_t prefixlen;    /* bits of addr: IPv4 /n is 96 + n */
};

/* One matchExpressions entry of a label selector. */
enum selector_op { SEL_IN, SEL_NOT_IN, SEL_EXISTS, SEL_DOES_NOT_EXIST };
struct selector_expr {
	char *key;               /* heap, owned by the table */
	enum selector_op op;
	int n_values;            /* In/NotIn: >= 1; Exists/DoesNotExist: 0 */
	char **values;           /* heap array of heap strings */
};

/* A Kubernetes label selector (metav1.LabelSelector): every matchLabels
 * pair and every expression must hold; an empty selector matches all. */
struct label_selector {
	int n_labels;
	char **keys, **values;   /* matchLabels, heap */
	int n_exprs;
	struct selector_expr *exprs;
};

#define CLASS_TABLE_MAX_CEILINGS 256

/* namespaceCeilings entry: pods of namespaces matching sel get at most
 * max_class (a class id; a higher id is a lower priority). */
struct ns_ceiling {
	struct label_selector sel;
	uint32_t max_class;
};

struct class_table {
	struct class_def classes[TCPRIO_MAX_CLASSES];
	int      n_classes;
	uint32_t default_class;
	bool     trust_dscp;   /* uplink classifies by DSCP (default true) */
	bool     trust_forwarded; /* with trust_dscp: every forwarded packet's DSCP
				     (set by the agent for --gateway without
				     trustDscpFrom, not read from the file) */
	bool     rewrite_dscp; /* pod edge rewrites DSCP (default true) */
	bool     enabled;      /* false: datapath passes everything untouched */
	struct label_rule *rules; /* first matching rule wins; heap array */
	int      n_rules;
	char     site_label[SITE_LABEL_LEN]; /* default SITE_LABEL_DEFAULT */
	struct site_def *sites;   /* heap array, n_sites entries */
	int      n_sites;
	bool     has_default_site;
	struct site_def default_site; /* valid if has_default_site */
	struct cidr *local_cidrs; /* heap arrays: localCIDRs, remoteCIDRs */
	int      n_local_cidrs;
	struct cidr *remote_cidrs;
	int      n_remote_cidrs;
	int      system_class; /* class of the built-in host rules; -1: none */
	struct host_rule *host_rules; /* hostRules in file order; heap array */
	int      n_host_rules;
	bool     sanitize_unknown; /* pod edge: unknown sources -> default (default true) */
	struct trust_source trust_from[CLASS_TABLE_MAX_TRUST]; /* trustDscpFrom */
	int      n_trust_from;
	struct ns_ceiling *ceilings; /* namespaceCeilings, heap array */
	int      n_ceilings;
	int      default_ceiling;  /* class id, -1: none (no defaultCeiling) */
};

/* Labels of one object (borrowed arrays of n keys and values). */
struct label_set {
	int n;
	char *const *keys;
	char *const *values;
};

/* How ns_ceiling_of found a ceiling (ceiling_rule). */
#define CEILING_RULE_DEFAULT  (-1) /* defaultCeiling */
#define CEILING_RULE_UNKNOWN  (-2) /* namespace not known yet: the strictest */
/* The ceiling (class id) for a namespace with labels ns (NULL: namespace
 * not known, e.g. before the first Namespace list: the strictest ceiling
 * of the table).  Of all matching selectors the strictest wins (the
 * highest class id); none matching: defaultCeiling.  *rule (may be NULL)
 * gets the deciding namespaceCeilings index or CEILING_RULE_*.  Returns the
 * class id, or -1: no ceiling. */
int ns_ceiling_of(const struct class_table *t, const struct label_set *ns, int *rule);
/* Whether labels ls satisfy selector sel (Kubernetes semantics). */
bool label_selector_matches(const struct label_selector *sel, const struct label_set *ls);
/* sel as one line in Kubernetes' selector syntax, for people:
 * "tenant=shared,tier notin (system),!legacy" (matchLabels first, then the
 * expressions in file order: key in (a,b), key notin (a), key, !key);
 * an empty selector is "(everything)".  Cut to fit size (> 0), ending in
 * "..." when cut. */
void label_selector_text(const struct label_selector *sel, char *buf, size_t size);

/* Fill t with the built-in table: critical (EF 46, 1:10), high (AF41 34, 1:20),
 * normal (0, 1:30, default), bulk (LE 1 RFC 8622, 1:40).  No label rules.
 * trust_dscp, rewrite_dscp and sanitize_unknown true.  Returns 0. */
int class_table_defaults(struct class_table *t);
/* Parse YAML text (len bytes, need not be NUL-terminated; lists/mappings
 * nested at most 32 deep).  Returns 0, or
 * -EINVAL leaving t empty (n_classes 0, no rules) with a message in err
 * naming the field and what was expected, e.g.
 * "classes[2].dscp: expected an integer 0..63 or a DSCP name, got \"99\" (line 9)".
 * -ENOMEM on allocation failure. */
int class_table_parse(const char *yaml, size_t len, struct class_table *t,
		      char *err, size_t errlen);
/* Read and parse a file of at most 256 KiB.  -errno if unreadable, -EFBIG
 * if larger, else as class_table_parse.  err does not repeat the path (the
 * caller prints it): "cannot open: No such file or directory",
 * "file is larger than 256 KiB; ...", "classes[0].dscp: ...". */
int class_table_load_file(const char *path, struct class_table *t,
			  char *err, size_t errlen);
/* Class id by exact name, or -1. */
int class_table_find(const struct class_table *t, const char *name);
/* Parse "MAJ:MIN" (hex, each 0..ffff, major != 0, as tc prints classids) or a
 * plain decimal 0..4294967295 into a skb->priority (TC_H_MAKE(maj << 16, min)).
 * Returns 0 or -EINVAL. */
int parse_priority(const char *s, uint32_t *out);
/* Parse a DSCP: decimal 0..63 or a name (case-insensitive; see above).
 * Returns 0 or -EINVAL. */
int parse_dscp(const char *s, uint8_t *out);
/* Parse a rate as tc(8) does: a number (decimals allowed) with an optional
 * unit: bit (or none), kbit, mbit, gbit, tbit (x1000), kibit, mibit, gibit,
 * tibit (x1024), bps, kbps, mbps, gbps, tbps (bytes/s, x8), kibps.. (x1024 x8).
 * Case-insensitive.  Result in bits/s, must be > 0 and fit in 64 bits.
 * Returns 0 or -EINVAL. */
int parse_rate_bps(const char *s, uint64_t *out);
/* Settings of a valid table that do nothing as written (class_trust.c):
 * trustDscpFrom with trustDscp: false (no DSCP is trusted at all, so the
 * list is ignored; --gateway forces trustDscp on and uses it).  Writes them,
 * "; "-separated and naming the keys, into buf (len bytes, terminated) and
 * returns how many there are (0: buf is ""). */
int class_table_warnings(const struct class_table *t, char *buf, size_t len);
/* The WAN budget of site name (a sites: entry, else defaultSite), or NULL
 * when the site has none (no WAN shaping). */
const struct site_def *class_table_site(const struct class_table *t, const char *name);
/* Free rules, sites and CIDR lists; t may be reused after class_table_defaults/parse. */
void class_table_free(struct class_table *t);
/* Free t's host rules only (host_rules.c). */
void host_rules_free(struct class_table *t);

#endif
