/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.h - the agent's HTTP endpoint for Prometheus and kubelet probes
 * (libmicrohttpd, one internal polling thread):
 *
 *   GET /metrics  Prometheus text exposition format 0.0.4
 *                 (Content-Type: text/plain; version=0.0.4; charset=utf-8):
 *                 datapath counters read from the pinned maps at scrape time
 *                 plus the agent's own counters held in struct agent_metrics.
 *   GET /healthz  200 "ok" while the process serves HTTP (liveness).
 *   GET /readyz   200 "ready" once programs are attached, maps pinned and the
 *                 initial pod list synced; else 503 with the missing parts,
 *                 e.g. "not ready: initial pod list not synced".
 *
 * Thread safety: every metrics_* setter may be called from any thread at any
 * time (C11 atomics); the HTTP thread only reads.  The map fds in
 * struct datapath_maps are read concurrently with the agent's writes, which
 * the kernel serialises per element.
 */
#ifndef TCPRIO_METRICS_H
#define TCPRIO_METRICS_H

#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <net/if.h>
#include "dp/datapath.h"

/* Default listen address of `tcprio agent --metrics-address` and the port
 * the DaemonSet's probes use (deploy/tcprio.yaml).  9465 is unassigned in
 * the Prometheus default port allocation list. */
#define METRICS_DEFAULT_ADDRESS "0.0.0.0:9465"
#define METRICS_DEFAULT_PORT    9465
/* The probe listener (metrics_server_probes): loopback only. */
#define PROBE_DEFAULT_ADDRESS   "127.0.0.1:9466"

/* Upper bounds (seconds) of the tcprio_convergence_seconds histogram:
 * time from the agent receiving a pod event (or list) to the maps holding
 * the result.  +Inf is implicit. */
#define METRICS_CONV_BUCKETS 13
extern const double metrics_conv_bucket_le[METRICS_CONV_BUCKETS];

/* Readiness interfaces per agent (>= AGENT_MAX_UPLINKS). */
#define METRICS_MAX_IFACES 16
/* One hook the agent attached to, as the last order check found it
 * (tcprio_hook_preempted{iface,hook}). */
struct metrics_hook {
	char iface[16];     /* IF_NAMESIZE */
	char hook[12];      /* "pod_edge" or "uplink" */
	bool preempted;     /* a foreign program runs before tcprio there */
	uint32_t by_prog_id; /* if preempted: that program's id (0: a filter
			      * that is not BPF) */
	char by_name[16];   /* its name (BPF_OBJ_NAME_LEN) or tc kind */
};
#define METRICS_MAX_HOOKS 1024 /* hooks beyond are not exported */

/* Agent-side counters.  Zero-initialise (static storage or memset) or use
 * metrics_init; no destructor needed. */
struct agent_metrics {
	atomic_uint_fast64_t watch_reconnects;   /* watch connections re-opened */
	atomic_uint_fast64_t watch_relists;      /* full lists (first one included) */
	atomic_int_fast64_t  last_sync_ns;       /* CLOCK_REALTIME ns of the last
	                                            successful map sync, 0 = never */
	atomic_uint_fast64_t conv_bucket[METRICS_CONV_BUCKETS + 1]; /* non-
	                                            cumulative; last = above all */
	atomic_uint_fast64_t conv_count;
	atomic_uint_fast64_t conv_sum_ns;
	atomic_bool counts_known;                /* endpoints/port_rules are set */
	atomic_long endpoints;                   /* tcprio_endpoints entries the agent wrote */
	atomic_long port_rules;                  /* tcprio_port_rules entries the agent wrote */
	atomic_bool attached;                    /* every readiness interface below
	                                            exists, runs this agent's program
	                                            and has its HTB tree if asked */
	/* Readiness interfaces (the uplinks), named before the threads start
	 * (metrics_add_ready_iface); bit i of each mask is iface_names[i]:
	 * ifaces_unattached: exists and does not run this agent's program;
	 * ifaces_absent: does not exist (a misspelt --uplink);
	 * ifaces_no_htb: exists and lacks tcprio's HTB tree (--uplink-rate). */
	char iface_names[METRICS_MAX_IFACES][IF_NAMESIZE];
	int n_ifaces;
	atomic_uint_fast32_t ifaces_unattached;
	atomic_uint_fast32_t ifaces_absent;
	atomic_uint_fast32_t ifaces_no_htb;
	atomic_bool pinned;                      /* maps pinned in bpffs */
	atomic_bool synced;                      /* initial pod list written */
	atomic_uint_fast64_t wan_share_bps;      /* this node's WAN share (0: none) */
	atomic_uint_fast64_t wan_budget_bps;     /* its site's WAN budget (0: none) */
	atomic_uint_fast64_t site_ready_nodes;   /* Ready nodes of its site */
	/* Set by metrics_set_node before the server starts, read-only
	 * afterwards, borrowed: the pin folder (for tcprio_hook_attached) and
	 * the uplinks (HTB classes, and hooks expected to be attached). */
	const char *pin_dir;
	const char (*uplinks)[IF_NAMESIZE];
	int n_uplinks;
	pthread_mutex_t hooks_lock;              /* guards hooks, n_hooks */
	struct metrics_hook hooks[METRICS_MAX_HOOKS];
	size_t n_hooks;
	atomic_int n_preempted;                  /* hooks[] with preempted set */
};

/* Reset every counter and readiness flag to zero/false. */
void metrics_init(struct agent_metrics *m);
/* One watch reconnect (the pod informer also counts into
 * watch_reconnects directly: kube_informer_config.reconnects). */
void metrics_note_reconnect(struct agent_metrics *m);
/* One full list (the pod informer's on_list). */
void metrics_note_relist(struct agent_metrics *m);
/* The agent's own count of the entries it wrote (endpoint_sync_*_count):
 * from now on the tcprio_endpoints and tcprio_port_rules gauges are these,
 * not a walk of the maps at each scrape.  Manual entries (`tcprio endpoint
 * add`) are not in them. */
void metrics_set_map_counts(struct agent_metrics *m, long endpoints, long port_rules);
/* Maps synced at realtime_ns (CLOCK_REALTIME, ns since the Unix epoch);
 * exported as tcprio_last_sync_timestamp_seconds. */
void metrics_note_sync(struct agent_metrics *m, int64_t realtime_ns);
/* One convergence sample, in ns (CLOCK_MONOTONIC difference). */
void metrics_observe_convergence_ns(struct agent_metrics *m, uint64_t ns);
/* Name a readiness interface (before any thread reads m).  Returns its
 * index for metrics_set_ifaces_unattached, or -ENOSPC past
 * METRICS_MAX_IFACES. */
int metrics_add_ready_iface(struct agent_metrics *m, const char *name);
/* The state of the readiness interfaces (bit i: index i, see
 * metrics_add_ready_iface): absent (does not exist), unattached (exists,
 * does not run this agent's program), no_htb (exists, lacks tcprio's HTB
 * tree).  attached becomes (all three == 0); /readyz names each one. */
void metrics_set_uplink_state(struct agent_metrics *m, uint32_t absent, uint32_t unattached,
			      uint32_t no_htb);
/* Replace the hook table with h[0..n) (n capped at METRICS_MAX_HOOKS).
 * While any hook is pre-empted /readyz answers 503 naming the first one. */
void metrics_set_hooks(struct agent_metrics *m, const struct metrics_hook *h, size_t n);
/* Readiness inputs; /readyz answers 200 only when all three are true
 * and no hook is pre-empted (metrics_set_hooks). */
void metrics_set_ready(struct agent_metrics *m, bool attached, bool pinned,
		       bool synced);
/* The agent's pin folder (whose pinned programs are "ours" in
 * tcprio_hook_attached; NULL: no such family) and its uplinks (interface
 * names, n of them: their HTB class statistics, and their uplink hook is
 * reported even when nothing is attached).  Borrowed: must outlive the
 * server.  Call before metrics_server_start. */
void metrics_set_node(struct agent_metrics *m, const char *pin_dir,
		      const char (*uplinks)[IF_NAMESIZE], int n);
/* Whether /readyz would answer 200; if not and reason != NULL, writes the
 * missing parts, e.g. "programs not attached (eth1), uplink eth9 does not
 * exist (check --uplink), uplink eth2: HTB tree missing, maps not pinned". */
bool metrics_is_ready(const struct agent_metrics *m, char *reason, size_t len);

/*
 * Write the whole /metrics document to f.  maps may be NULL (agent counters
 * only); a map fd < 0 skips the families read from that map.  Families:
 *   tcprio_packets_total{hook,class}             counter  (tcprio_stats)
 *   tcprio_bytes_total{hook,class}               counter  (tcprio_stats)
 *   tcprio_unparsed_packets_total{hook}          counter  (tcprio_events)
 *   tcprio_endpoint_misses_total{hook}           counter  (tcprio_events)
 *   tcprio_dscp_classified_packets_total{hook}   counter  (tcprio_events)
 *   tcprio_default_class_packets_total{hook}     counter  (tcprio_events)
 *   tcprio_fragment_misses_total{hook}           counter  (tcprio_events)
 *   tcprio_dscp_rewrites_total                   counter  (tcprio_events)
 *   tcprio_endpoints                             gauge    (entries the agent wrote, see
 *                                                          metrics_set_map_counts; else the map's keys)
 *   tcprio_endpoints_capacity                    gauge    (its max_entries)
 *   tcprio_port_rules, tcprio_port_rules_capacity gauge   (tcprio_port_rules)
 *   tcprio_watch_reconnects_total, tcprio_watch_relists_total   counter
 *   tcprio_last_sync_timestamp_seconds           gauge
 *   tcprio_convergence_seconds                   histogram
 *   tcprio_ready                                 gauge 0/1
 *   tcprio_hook_attached{interface,hook}         gauge 1: tcprio's filter runs
 *       this agent's pinned program; 0: it runs another program (another
 *       pin folder's), or nothing is attached to an uplink's uplink hook
 * and per uplink HTB class (dp/qdisc_stats.h; labels interface, classid as
 * tc prints it, e.g. "1:10", and class: the tcprio class with that
 * priority, "" for inner classes):
 *   tcprio_htb_class_sent_bytes_total, _sent_packets_total   counter
 *   tcprio_htb_class_drops_total, _overlimits_total          counter
 *   tcprio_htb_class_backlog_bytes, _backlog_packets         gauge
 *   tcprio_htb_class_rate_bytes_per_second, _ceil_bytes_per_second gauge
 *   tcprio_hook_preempted{iface,hook}            gauge 0/1 (metrics_set_hooks)
 * hook is "pod_edge" or "uplink"; class the name in tcprio_classes or
 * "class<N>".  The tcprio_packets/bytes_total counters are summed over
 * every interface of the hook (no interface label), so no series outlives
 * a pod's interface; a class and hook with no packet yet has no series.
 * Returns 0, or -errno if f failed.
 */
int metrics_write(FILE *f, const struct agent_metrics *m,
		  const struct datapath_maps *maps);

/*
 * Split "HOST:PORT", "[IPV6]:PORT" or ":PORT" (= 0.0.0.0) into host and
 * port (0..65535).  Returns 0 or -EINVAL with err naming the input.
 */
int metrics_parse_address(const char *s, char *host, size_t hostlen,
			  uint16_t *port, char *err, size_t errlen);

struct metrics_server; /* opaque */

/*
 * Serve on addr (numeric IPv4 or IPv6 literal, e.g. "0.0.0.0", "::",
 * "127.0.0.1") and port (0 = pick a free port, see metrics_server_port).
 * m and maps are borrowed and must outlive the server; maps may be NULL.
 * Returns NULL with err set (bad address, port in use, ...).
 */
struct metrics_server *metrics_server_start(const char *addr, uint16_t port,
					    const struct agent_metrics *m,
					    const struct datapath_maps *maps,
					    char *err, size_t errlen);
/* The port actually bound (host byte order). */
uint16_t metrics_server_port(const struct metrics_server *s);
/*
 * A second listener for the kubelet's probes on addr:port (numeric address,
 * normally 127.0.0.1: nothing off the node can reach it), serving only
 * /healthz and /readyz, so clients of the metrics port, idle or slow, can
 * never make a probe fail.  0, -EINVAL (bad address), -EALREADY or
 * -EADDRINUSE, with err set.  Stopped with the server.
 */
int metrics_server_probes(struct metrics_server *s, const char *addr, uint16_t port,
			  char *err, size_t errlen);
/* The probe listener's port (host byte order), 0 without one. */
uint16_t metrics_server_probe_port(const struct metrics_server *s);
/* Stop the thread, close the socket, free s.  NULL is fine. */
void metrics_server_stop(struct metrics_server *s);

#endif
