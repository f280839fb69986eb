/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * site_view.h - what a node knows about its site, computed from the
 * cluster's Nodes and the class table: which site it is in, its share of
 * the site's WAN budget, and which destinations are LAN.  Pure functions
 * (no I/O), so every rule is unit-tested without a cluster.
 *
 * Site: the value of the table's siteLabel on the node.  A node without the
 * label is a site of its own (named after the node).  Budget: the sites:
 * entry of that name, else defaultSite, else none (no WAN shaping).
 *
 * Share (bits/s) of node self in a site with budget B:
 *   - every node of the site that is not Ready keeps SITE_VIEW_FLOOR_BPS
 *     (HTB needs a rate > 0), reserved from B first: R = B - floor x
 *     NotReady (at most B / 2 is reserved);
 *   - a Ready node gets R x its weight / the sum of the weights of the
 *     site's Ready nodes.  Weight: the node annotation tcprio.io/wan-weight,
 *     an integer 1..SITE_VIEW_MAX_WEIGHT; absent or invalid: 1 (invalid is
 *     reported in view->note).
 *   So the shares of a site add up to at most B whenever every node
 *   computes them from the same Nodes.  If self is not among the Nodes
 *   (not listed yet, or --node-name does not match), it counts itself as
 *   Ready with weight 1 and view->self_known is false (the caller warns).
 */
#ifndef TCPRIO_SITE_VIEW_H
#define TCPRIO_SITE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kube/node.h"
#include "policy/cidr.h"
#include "policy/class_table.h"

#define SITE_VIEW_FLOOR_BPS  8000   /* = UPLINK_QDISC_MIN_RATE (dp/uplink_qdisc.h) */
#define SITE_VIEW_MAX_WEIGHT 1000

struct site_view {
	char     site[256];       /* label value, or the node's name if unlabelled */
	bool     labelled;        /* false: the node has no siteLabel: own site */
	bool     self_known;      /* self is among the Nodes */
	bool     self_ready;
	bool     shaped;          /* the site has a WAN budget */
	uint64_t budget_bps;      /* the site's wanRate (0: not shaped) */
	uint64_t share_bps;       /* this node's share (0: not shaped) */
	unsigned weight;          /* self's weight */
	unsigned weight_sum;      /* of the site's Ready nodes (self included if Ready) */
	int      nodes;           /* nodes of the site, self included */
	int      ready_nodes;
	/* the site's per-class WAN rate/ceil scaled to this node's share
	 * (share / budget); zero where the site sets none */
	struct site_class_rate class_rates[TCPRIO_MAX_CLASSES];
	char     note[768];       /* "" or problems worth logging once ("; " between) */
};

/* One LAN/WAN prefix for tcprio_destinations. */
struct dest_entry {
	struct cidr prefix;
	uint8_t scope;            /* enum tcprio_scope */
	uint8_t source;           /* enum tcprio_dest_source */
};

/* Parse a tcprio.io/wan-weight value: "1".."1000".  0 or -EINVAL. */
int site_view_parse_weight(const char *s, unsigned *out);
/* The site of node n under table t into buf (label value, or n's name);
 * returns whether n carries the label. */
bool site_view_site_of(const struct class_table *t, const struct node *n, char *buf,
		       size_t len);
/* Compute self's view from nodes[0..n).  Always succeeds. */
void site_view_compute(const struct class_table *t, const char *self,
		       const struct node *nodes, size_t n, struct site_view *v);
/*
 * The destinations of self's site: the addresses (/32, /128) and pod CIDRs
 * of every node of the site (Ready or not) and localCIDRs as LAN,
 * remoteCIDRs as WAN; a prefix appears once (LAN of a node wins over
 * remoteCIDRs, node addresses over pod CIDRs over localCIDRs).  Pod CIDRs
 * that do not parse are skipped.  Writes at most cap entries to out and
 * returns how many there are in all (more than cap: the caller's array was
 * too small; the first cap are valid).
 */
size_t site_view_destinations(const struct class_table *t, const struct site_view *v,
			      const char *self, const struct node *nodes, size_t n,
			      struct dest_entry *out, size_t cap);

#endif
