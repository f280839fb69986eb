/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * agent_internal.h - the state of a running `tcprio agent`, shared by
 * agent.c (life cycle, interfaces, class table) and agent_kube.c (pods).
 */
#ifndef TCPRIO_AGENT_INTERNAL_H
#define TCPRIO_AGENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include "agent/agent_options.h"
#include "policy/class_table.h"
#include "dp/datapath.h"
#include "sync/endpoint_sync.h"
#include "dp/host_sync.h"
#include "kube/kube_client.h"
#include "kube/kube_informer.h"
#include "kube/kube_events.h"
#include "dp/link_watch.h"
#include "agent/metrics.h"
#include "kube/pod.h"
#include "kube/node.h"
#include "kube/kube_informer.h"
#include "policy/site_view.h"
#include "dp/uplink_qdisc.h"

/* The site side (agent_sites.c); all under agent.lock. */
struct agent_sites {
	struct kube_informer *informer; /* Nodes; NULL: not watching */
	struct node *nodes;             /* the cluster's Nodes (copies) */
	size_t n, cap;
	bool listed;                    /* a full Node list arrived */
	bool have_view;                 /* view computed from a list */
	struct site_view view;
	struct dest_entry *dests;       /* scratch for the destinations */
	char last_note[768]; /* = site_view.note */
	bool said_unlabelled, said_unknown;
	/* per --uplink: the MTU its tree's tbf bursts were built for, 0 none */
	uint32_t tree_mtu[AGENT_MAX_UPLINKS];
};

/* One running agent.  lock guards sync and table (and the HTB trees built
 * from table); metrics are atomics; the rest is set up before the threads
 * start and only read afterwards. */
struct agent {
	struct agent_opts o;
	pthread_mutex_t lock;
	struct datapath dp;
	struct class_table table;
	struct sync_map_ops map_ops; /* on dp.maps (datapath_map_ops) */
	struct endpoint_sync *sync;
	struct host_sync *host;   /* host rules, host-network pods */
	struct agent_metrics metrics;
	struct metrics_server *metrics_server;
	struct explain_server *explain;  /* `tcprio explain` socket, or NULL */
	struct link_watch *link_watch;
	struct kube_config kube;
	struct kube_events *events; /* NULL: not reporting */
	struct kube_informer *pods; /* NULL: not watching */
	struct kube_informer *namespaces; /* namespace ceilings; NULL: not watching */
	atomic_bool ns_listed;    /* the first Namespace list was applied */
	struct agent_sites sites;
	struct stat config_stat;
	int netns_lock_fd;      /* abstract socket @tcprio-agent (lock_netns), -1 */
	int config_errno;       /* why the config file cannot be read now (warned once), 0 */
	int pin_lock_fd;          /* flock on the pin folder, or -1 */
	uint32_t htb_foreign_warned; /* bit u: uplink u's foreign root was warned about */
};

/* Hand the sync engine's entry counts to the metrics (not with --no-kube);
 * call under a->lock after every endpoint_sync call that writes. */
void agent_note_map_counts(struct agent *a);
/* clock_gettime(clock) in ns. */
uint64_t agent_now_ns(clockid_t clock);
/* Read the kubeconfig or the in-cluster service account (nothing with
 * --no-kube).  Returns 0 or -errno, logged. */
int agent_kube_load_config(struct agent *a);
/* The API server endpoints the agent uses (kubeconfig server, resolved),
 * for the built-in host rule; none with --no-kube.  Returns the count. */
int agent_kube_api_endpoints(struct agent *a, struct host_endpoint *out, int cap);
/* Hand a's table and API endpoints to the host sync (under a->lock). */
void agent_host_rules(struct agent *a);
/* Start the Events reporter and the pod informer.  0 or -errno. */
int agent_kube_start(struct agent *a);
/* Stop the pod informer (joins its thread); the Events reporter is
 * stopped by agent_stop after the sync engine that reports to it. */
void agent_kube_stop(struct agent *a);

/* Recompute the site view from the Nodes and the table, write the
 * destinations and tcprio_site, reinstall the HTB trees if the share
 * changed (lock held). */
void agent_sites_update(struct agent *a);
/* Whether the uplinks get an HTB tree: --uplink-rate, --gateway, or the
 * node's site has a WAN budget. */
bool agent_sites_shaping(const struct agent *a);
/* The tree for uplink ifname: link rate (--uplink-rate, else what the
 * link reports, else 10gbit), WAN share and per-class WAN rates. */
void agent_uplink_shape(const struct agent *a, const char *ifname, struct uplink_shape *sh);
/* The site record the agent writes to tcprio_site (include/tcprio.h): the
 * site, its WAN budget and this node's share as shaped on its uplinks (share
 * 0 when nothing is shaped, e.g. no --uplink); `tcprio explain` answers from
 * it too, so that explain and status say the same (lock held). */
struct tcprio_site;
void agent_site_record(const struct agent *a, struct tcprio_site *rec);
/* Install the tree on every present uplink if agent_sites_shaping (lock held). */
void agent_sites_install_trees(struct agent *a);
/* Install or update the tree (agent_uplink_shape) on uplink name/ifindex,
 * unless its root qdisc is someone else's and --replace-qdisc is not given
 * (a warning names it); failures are warnings (lock held). */
void agent_install_htb(struct agent *a, int ifindex, const char *name);
/* Rebuild the tree of every uplink whose MTU changed since its tree was
 * installed (a frame longer than a WAN leaf's tbf burst would be dropped);
 * logged.  Lock held; called at each re-check. */
void agent_check_uplink_mtus(struct agent *a);
/* Start / stop the Node informer (not with --no-kube). */
int agent_sites_start(struct agent *a);
void agent_sites_stop(struct agent *a);

/* agent_netns.c */
/* One agent per network namespace: hold the abstract unix socket
 * @tcprio-agent in a->netns_lock_fd (released by the kernel on exit).
 * Returns 0 (held, or the socket cannot be made: no refusal for that) or
 * -EBUSY after a warning naming the running agent's pid and pin folder. */
int agent_lock_netns(struct agent *a);
/* Warn when the pin folder's bpffs is private to this mount namespace
 * (started with `ip netns exec`: the pins vanish when the agent exits). */
void agent_warn_private_bpffs(const struct agent *a);

#endif
