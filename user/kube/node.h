/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * node.h - the fields of a Kubernetes Node that tcprio's site logic reads
 * (policy/site_view.h): labels (the site label), readiness, addresses, pod
 * CIDRs and the tcprio.io/wan-weight annotation.
 *
 * Ownership: the label_keys and label_values arrays (every label: a node
 * labelled by Node Feature Discovery carries well over 64, and the site
 * label sorts after most of them), their strings and wan_weight are heap
 * memory owned by the struct node; release them with node_free, copy with
 * node_copy (never by struct assignment; moving one, as from an array slot
 * to another, is fine).
 */
#ifndef TCPRIO_NODE_H
#define TCPRIO_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "tcprio.h"

#define ANNOTATION_WAN_WEIGHT "tcprio.io/wan-weight"

#define NODE_MAX_ADDRS     8   /* status.addresses of type InternalIP/ExternalIP */
#define NODE_MAX_POD_CIDRS 4   /* spec.podCIDRs (dual stack: 2) */
#define NODE_CIDR_LEN      64

struct node {
	char name[256];                 /* metadata.name (required) */
	char resource_version[32];
	bool ready;                     /* condition Ready has status "True" */
	int  n_addrs;
	struct tcprio_ip addrs[NODE_MAX_ADDRS]; /* IPv4 mapped, network order */
	int  n_pod_cidrs;
	char pod_cidrs[NODE_MAX_POD_CIDRS][NODE_CIDR_LEN]; /* text, checked by the
							       policy layer */
	char *wan_weight;               /* tcprio.io/wan-weight, or NULL */
	int  n_labels;
	char **label_keys;              /* n_labels heap strings */
	char **label_values;
};

/* Fill n from a Node JSON object.  Returns 0 (err "" or notes naming each
 * skipped field: an address that is not an IP, ...), -EINVAL (no metadata.name, or a field too long;
 * err names it; n holds nothing to free) or -ENOMEM. */
int node_from_json(const json_t *obj, struct node *n, char *err, size_t errlen);
/* Deep copy (dst overwritten, not freed).  0 or -ENOMEM (dst empty). */
int node_copy(struct node *dst, const struct node *src);
/* Value of label key, or NULL. */
const char *node_label(const struct node *n, const char *key);
/* Free the strings; n may be reused.  Safe on a zeroed node, twice too. */
void node_free(struct node *n);

#endif
