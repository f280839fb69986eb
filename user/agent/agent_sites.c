/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * agent_sites.c - the agent's site side: a Node informer keeps the
 * cluster's Nodes; after every change (and every class-table reload) the
 * node's site view (policy/site_view.h) is recomputed, the LAN/WAN
 * destinations are written to tcprio_destinations, and when the WAN share
 * changed the HTB trees of the uplinks are updated.  Each change of the
 * share is logged, a node without the site label is logged once.
 * Everything here runs under agent.lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include "agent/agent_internal.h"
#include "dp/dest_map.h"
#include "dp/prefix_list.h"
#include "dp/uplink_qdisc.h"
#include "lib/log.h"

/* Destinations written per update at most (site nodes x (addresses + pod
 * CIDRs) + localCIDRs + remoteCIDRs). */
#define SITES_MAX_DESTS TCPRIO_MAX_DESTINATIONS

bool agent_sites_shaping(const struct agent *a)
{
	return a->o.uplink_rate_bps || a->o.gateway ||
	       (a->sites.have_view && a->sites.view.shaped);
}

void agent_uplink_shape(const struct agent *a, const char *ifname, struct uplink_shape *sh)
{
	const struct site_view *v = &a->sites.view;

	memset(sh, 0, sizeof(*sh));
	sh->link_rate_bps = a->o.uplink_rate_bps;
	if (!sh->link_rate_bps)
		sh->link_rate_bps = uplink_link_speed_bps(ifname);
	if (!sh->link_rate_bps)
		sh->link_rate_bps = UPLINK_QDISC_DEFAULT_LINK_RATE;
	if (!a->o.gateway && a->sites.have_view && v->shaped) {
		sh->wan_rate_bps = v->share_bps;
		sh->class_rates = v->class_rates;
	} /* else the WAN branch is the whole link (gateway: --uplink-rate is the WAN rate) */
}

void agent_sites_install_trees(struct agent *a)
{
	if (!agent_sites_shaping(a))
		return;
	for (int i = 0; i < a->o.n_uplinks; i++) {
		int ifindex = (int)if_nametoindex(a->o.uplinks[i]);

		if (ifindex) /* else installed when it appears (on_link) */
			agent_install_htb(a, ifindex, a->o.uplinks[i]);
	}
}

void agent_site_record(const struct agent *a, struct tcprio_site *rec)
{
	const struct site_view *v = &a->sites.view;
	struct uplink_shape sh;

	memset(rec, 0, sizeof(*rec));
	snprintf(rec->name, sizeof(rec->name), "%.63s", a->sites.have_view ? v->site :
		 a->o.gateway ? "(gateway)" : "");
	rec->labelled = a->sites.have_view && v->labelled;
	rec->gateway = a->o.gateway;
	rec->nodes = (__u32)v->nodes;
	rec->ready_nodes = (__u32)v->ready_nodes;
	rec->budget_bps = v->shaped ? v->budget_bps : 0;
	if (agent_sites_shaping(a) && a->o.n_uplinks) {
		agent_uplink_shape(a, a->o.uplinks[0], &sh);
		rec->link_bps = sh.link_rate_bps;
		rec->share_bps = sh.wan_rate_bps ? sh.wan_rate_bps : sh.link_rate_bps;
	}
}

static void write_site_record(struct agent *a)
{
	struct tcprio_site rec;

	agent_site_record(a, &rec);
	atomic_store(&a->metrics.wan_share_bps, rec.share_bps);
	atomic_store(&a->metrics.wan_budget_bps, rec.budget_bps);
	atomic_store(&a->metrics.site_ready_nodes, rec.ready_nodes);
	if (a->dp.maps.site >= 0 && dest_map_write_site(a->dp.maps.site, &rec) < 0)
		pr_warn("tcprio_site not written");
}

/* The destinations' prefix list after a write of the trie (the uplink
 * reads the list when it is valid: dp/prefix_list.h).  Whether it wrote
 * one. */
static bool write_destination_list(struct agent *a)
{
	int w;

	if (a->dp.maps.prefix_lists < 0)
		return false;
	w = prefix_list_sync(a->dp.maps.destinations, a->dp.maps.prefix_lists,
			     TCPRIO_PLIST_DESTINATIONS);
	if (w < 0)
		pr_warn("destinations: tcprio_prefix_lists: %s", strerror(-w));
	return w != 0;
}

static void write_destinations(struct agent *a)
{
	struct agent_sites *s = &a->sites;
	struct dest_map_result r;
	size_t n;

	if (!s->dests && !(s->dests = calloc(SITES_MAX_DESTS, sizeof(*s->dests))))
		return;
	n = site_view_destinations(&a->table, &s->view, a->o.node_name ? a->o.node_name : "",
				   s->nodes, s->have_view ? s->n : 0, s->dests, SITES_MAX_DESTS);
	if (n > SITES_MAX_DESTS) {
		pr_warn("sites: %zu destinations, the map holds %d: the rest are WAN", n,
			SITES_MAX_DESTS);
		n = SITES_MAX_DESTS;
	}
	if (a->dp.maps.destinations < 0)
		return;
	if (dest_map_apply(a->dp.maps.destinations, s->dests, n, &r) < 0) {
		/* it may have written part before failing: the uplink caches
		 * the map's answers (tcprio_dst_cache), so they must go */
		write_destination_list(a);
		datapath_note_change(a->dp.maps.cache_gen);
		return;
	}
	if (write_destination_list(a) || r.added || r.changed || r.removed || r.failed)
		datapath_note_change(a->dp.maps.cache_gen);
	if (r.added || r.changed || r.removed || r.failed)
		pr_info("destinations: %zu LAN/WAN prefixes (%d added, %d changed, %d removed%s)",
			n, r.added, r.changed, r.removed, r.failed ? ", some not written" : "");
}

/* Log what changed in the view (lock held). */
static void log_changes(struct agent *a, const struct site_view *old, bool had)
{
	const struct site_view *v = &a->sites.view;

	if (v->note[0] && strcmp(v->note, a->sites.last_note))
		pr_warn("%s", v->note);
	snprintf(a->sites.last_note, sizeof(a->sites.last_note), "%s", v->note);
	if (v->self_known && !v->labelled && !a->sites.said_unlabelled) {
		pr_info("node %s has no label %s: it is a site of its own%s", a->o.node_name,
			a->table.site_label, v->shaped ? " (defaultSite budget)" : " (WAN not shaped)");
		a->sites.said_unlabelled = true;
	}
	if (!v->self_known && a->sites.listed && !a->sites.said_unknown) {
		pr_warn("node %s is not among the cluster's Nodes: it counts itself as a Ready "
			"node of weight 1", a->o.node_name);
		a->sites.said_unknown = true;
	}
	if (had && old->shaped == v->shaped && old->share_bps == v->share_bps &&
	    !strcmp(old->site, v->site))
		return;
	if (v->shaped)
		pr_info("site %s: WAN share %" PRIu64 " bit/s of %" PRIu64 " (%d of %d nodes "
			"Ready, weight %u of %u)%s", v->site, v->share_bps, v->budget_bps,
			v->ready_nodes, v->nodes, v->weight, v->weight_sum,
			v->self_ready ? "" : "; this node is not Ready: it keeps the floor");
	else
		pr_info("site %s: no WAN budget (not in sites:, no defaultSite): WAN not shaped",
			v->site);
}

void agent_sites_update(struct agent *a)
{
	struct agent_sites *s = &a->sites;
	struct site_view old = s->view;
	bool had = s->have_view;

	if (!a->o.no_kube && a->o.node_name) {
		site_view_compute(&a->table, a->o.node_name, s->nodes, s->n, &s->view);
		s->have_view = s->listed;
		if (s->have_view)
			log_changes(a, &old, had);
	}
	write_destinations(a);
	write_site_record(a);
	if (!had && !s->have_view)
		return;
	if (!had || old.shaped != s->view.shaped || old.share_bps != s->view.share_bps ||
	    memcmp(old.class_rates, s->view.class_rates, sizeof(old.class_rates)))
		agent_sites_install_trees(a);
}

/* ---- the Node informer ----------------------------------------------- */

/* Replace the node set by objs[0..n) (copies). */
static void set_nodes(struct agent_sites *s, const struct node *objs, size_t n)
{
	for (size_t i = 0; i < s->n; i++)
		node_free(&s->nodes[i]);
	s->n = 0;
	if (n > s->cap) {
		struct node *grown = realloc(s->nodes, n * sizeof(*grown));

		if (!grown) {
			pr_warn("sites: no memory for %zu nodes", n);
			return;
		}
		s->nodes = grown;
		s->cap = n;
	}
	for (size_t i = 0; i < n; i++)
		if (node_copy(&s->nodes[s->n], &objs[i]) == 0)
			s->n++;
}

static void on_node_list(void *ctx, void *objs, size_t n, const char *resource_version)
{
	struct agent *a = ctx;

	pthread_mutex_lock(&a->lock);
	set_nodes(&a->sites, objs, n);
	a->sites.listed = true;
	pr_info("nodes: %zu listed (resourceVersion %s)", n, resource_version);
	agent_sites_update(a);
	pthread_mutex_unlock(&a->lock);
}

static void on_node_event(void *ctx, enum kube_event_type t, const void *obj)
{
	struct agent *a = ctx;
	struct agent_sites *s = &a->sites;
	const struct node *nd = obj;
	size_t i;

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < s->n && strcmp(s->nodes[i].name, nd->name); i++)
		;
	if (i < s->n) {
		node_free(&s->nodes[i]);
		if (t == KUBE_DELETED)
			s->nodes[i] = s->nodes[--s->n];
		else if (node_copy(&s->nodes[i], nd) < 0)
			s->nodes[i] = s->nodes[--s->n];
	} else if (t != KUBE_DELETED) {
		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 16;
			struct node *grown = realloc(s->nodes, cap * sizeof(*grown));

			if (grown) {
				s->nodes = grown;
				s->cap = cap;
			}
		}
		if (s->n < s->cap && node_copy(&s->nodes[s->n], nd) == 0)
			s->n++;
	}
	pr_debug("node %s %s", nd->name, kube_event_type_name(t));
	agent_sites_update(a);
	pthread_mutex_unlock(&a->lock);
}

int agent_sites_start(struct agent *a)
{
	struct kube_informer_config c = {
		.kube = &a->kube, .type = &kube_node_type, .watch = a->o.watch,
		.cb = { .on_list = on_node_list, .on_event = on_node_event, .ctx = a },
	};

	a->sites.informer = kube_informer_start(&c);
	if (!a->sites.informer) {
		pr_warn("kubernetes node watch: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

void agent_sites_stop(struct agent *a)
{
	kube_informer_stop(a->sites.informer);
	a->sites.informer = NULL;
	for (size_t i = 0; i < a->sites.n; i++)
		node_free(&a->sites.nodes[i]);
	free(a->sites.nodes);
	free(a->sites.dests);
	memset(&a->sites, 0, sizeof(a->sites));
}
