/* SPDX-License-Identifier: BSD-2-Clause */
/* site_view.c - site, WAN share and LAN destinations of a node; rules in
 * site_view.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy/site_view.h"

int site_view_parse_weight(const char *s, unsigned *out)
{
	unsigned long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]) || strlen(s) > 4)
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (*end || v < 1 || v > SITE_VIEW_MAX_WEIGHT)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

bool site_view_site_of(const struct class_table *t, const struct node *n, char *buf,
		       size_t len)
{
	const char *v = node_label(n, t->site_label);

	snprintf(buf, len, "%s", v ? v : n->name);
	return v != NULL;
}

/* Whether node n is in the site of self (site name, labelled). */
static bool same_site(const struct class_table *t, const struct node *n,
		      const struct site_view *v, const char *self)
{
	const char *lv = node_label(n, t->site_label);

	if (!v->labelled)
		return strcmp(n->name, self) == 0; /* an unlabelled node is alone */
	return lv && strcmp(lv, v->site) == 0;
}

static unsigned weight_of(const struct node *n)
{
	unsigned w = 1;

	if (n->wan_weight)
		site_view_parse_weight(n->wan_weight, &w);
	return w;
}

/* When the site's nodes' floors add up to more than its budget (a wanRate
 * below nodes x SITE_VIEW_FLOOR_BPS), say so in v->note (after a note
 * already there): every node still keeps its floor, so the shares add up to
 * more than the wanRate. */
static void note_floor_above_budget(struct site_view *v)
{
	uint64_t floors = (uint64_t)v->nodes * SITE_VIEW_FLOOR_BPS;
	size_t used = strlen(v->note);

	if (floors <= v->budget_bps || used >= sizeof(v->note) - 1)
		return;
	snprintf(v->note + used, sizeof(v->note) - used, "%ssite %s: wanRate %llu bit/s is "
		 "below its %d nodes' floors (%d x %d = %llu bit/s): each node keeps %d "
		 "bit/s, so the shares add up to more than the wanRate; raise it to at least "
		 "%llu bit/s", used ? "; " : "", v->site, (unsigned long long)v->budget_bps,
		 v->nodes, v->nodes, SITE_VIEW_FLOOR_BPS, (unsigned long long)floors,
		 SITE_VIEW_FLOOR_BPS, (unsigned long long)floors);
}

/* site, labelled, self_known, self_ready, weight (and a note on a bad weight). */
static const struct node *find_self(const struct class_table *t, const char *self,
				    const struct node *nodes, size_t n, struct site_view *v)
{
	for (size_t i = 0; i < n; i++) {
		const struct node *me = &nodes[i];

		if (strcmp(me->name, self) != 0)
			continue;
		v->self_known = true;
		v->self_ready = me->ready;
		v->labelled = site_view_site_of(t, me, v->site, sizeof(v->site));
		v->weight = weight_of(me);
		if (me->wan_weight && site_view_parse_weight(me->wan_weight, &v->weight)) {
			snprintf(v->note, sizeof(v->note), "node %s: annotation %s=\"%.32s\": "
				 "expected an integer 1..%d; weight 1 used", self,
				 ANNOTATION_WAN_WEIGHT, me->wan_weight, SITE_VIEW_MAX_WEIGHT);
			v->weight = 1;
		}
		return me;
	}
	v->self_ready = true; /* see site_view.h: unknown self counts as Ready */
	v->weight = 1;
	snprintf(v->site, sizeof(v->site), "%s", self);
	return NULL;
}

void site_view_compute(const struct class_table *t, const char *self,
		       const struct node *nodes, size_t n, struct site_view *v)
{
	const struct site_def *budget;
	uint64_t reserve, rest;
	int not_ready = 0;

	memset(v, 0, sizeof(*v));
	find_self(t, self, nodes, n, v);
	for (size_t i = 0; i < n; i++) {
		if (!same_site(t, &nodes[i], v, self))
			continue;
		v->nodes++;
		if (nodes[i].ready) {
			v->ready_nodes++;
			v->weight_sum += weight_of(&nodes[i]);
		} else {
			not_ready++;
		}
	}
	if (!v->self_known) {
		v->nodes++;
		v->ready_nodes++;
		v->weight_sum += v->weight;
	}
	budget = class_table_site(t, v->labelled ? v->site : NULL);
	if (!budget)
		return;
	v->shaped = true;
	v->budget_bps = budget->wan_rate_bps;
	reserve = (uint64_t)not_ready * SITE_VIEW_FLOOR_BPS;
	if (reserve > v->budget_bps / 2)
		reserve = v->budget_bps / 2;
	rest = v->budget_bps - reserve;
	if (!v->self_ready || !v->weight_sum)
		v->share_bps = SITE_VIEW_FLOOR_BPS;
	else /* rest * weight / sum without overflow: rest < 2^64, weight <= 1000 */
		v->share_bps = (uint64_t)((unsigned __int128)rest * v->weight / v->weight_sum);
	if (v->share_bps < SITE_VIEW_FLOOR_BPS)
		v->share_bps = SITE_VIEW_FLOOR_BPS;
	note_floor_above_budget(v);
	/* A class's rate and ceiling within the site (its own under sites[].classes,
	 * else the table's classes[]) are the site's; this node gets its share's
	 * part of each, so the guarantees of all nodes add up to the site's. */
	for (int c = 0; c < TCPRIO_MAX_CLASSES; c++) {
		const struct site_class_rate *r = &budget->classes[c];
		const struct class_def *d = c < t->n_classes ? &t->classes[c] : NULL;
		uint64_t rate = r->rate_bps ? r->rate_bps : d ? d->rate_bps : 0;
		uint64_t ceil = r->ceil_bps ? r->ceil_bps : d ? d->ceil_bps : 0;

		v->class_rates[c].rate_bps = (uint64_t)((unsigned __int128)rate *
							v->share_bps / v->budget_bps);
		v->class_rates[c].ceil_bps = (uint64_t)((unsigned __int128)ceil *
							v->share_bps / v->budget_bps);
	}
}

/* Append (prefix, scope, source) unless the prefix is there already. */
static void add_dest(struct dest_entry *out, size_t cap, size_t *count,
		     const struct cidr *c, uint8_t scope, uint8_t source)
{
	for (size_t i = 0; i < *count && i < cap; i++)
		if (cidr_equal(&out[i].prefix, c))
			return;
	if (*count < cap) {
		out[*count].prefix = *c;
		out[*count].scope = scope;
		out[*count].source = source;
	}
	(*count)++;
}

size_t site_view_destinations(const struct class_table *t, const struct site_view *v,
			      const char *self, const struct node *nodes, size_t n,
			      struct dest_entry *out, size_t cap)
{
	size_t count = 0;
	struct cidr c;

	for (size_t i = 0; i < n; i++) {
		if (!same_site(t, &nodes[i], v, self))
			continue;
		for (int a = 0; a < nodes[i].n_addrs; a++) {
			cidr_from_ip(nodes[i].addrs[a].addr, &c);
			add_dest(out, cap, &count, &c, TCPRIO_SCOPE_LAN, TCPRIO_DEST_NODE_ADDR);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!same_site(t, &nodes[i], v, self))
			continue;
		for (int p = 0; p < nodes[i].n_pod_cidrs; p++)
			if (cidr_parse(nodes[i].pod_cidrs[p], true, &c) == 0)
				add_dest(out, cap, &count, &c, TCPRIO_SCOPE_LAN,
					 TCPRIO_DEST_POD_CIDR);
	}
	for (int i = 0; i < t->n_local_cidrs; i++)
		add_dest(out, cap, &count, &t->local_cidrs[i], TCPRIO_SCOPE_LAN,
			 TCPRIO_DEST_LOCAL_CIDR);
	for (int i = 0; i < t->n_remote_cidrs; i++)
		add_dest(out, cap, &count, &t->remote_cidrs[i], TCPRIO_SCOPE_WAN,
			 TCPRIO_DEST_REMOTE_CIDR);
	return count;
}
