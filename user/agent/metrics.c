/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.c - /metrics, /healthz and /readyz over libmicrohttpd.
 *
 * Exposition format: Prometheus text format 0.0.4
 * (prometheus.io/docs/instrumenting/exposition_formats): "# HELP" and
 * "# TYPE" once per family, all samples of a family together, label values
 * escaped (\\, \", \n), histograms as cumulative _bucket{le=...} ending in
 * le="+Inf", then _sum and _count.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <microhttpd.h>

#include "lib/log.h"
#include "agent/metrics.h"
#include "dp/datapath.h"
#include "dp/map_read.h"
#include "dp/qdisc_stats.h"
#include "kube/kube_http.h"

const double metrics_conv_bucket_le[METRICS_CONV_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

static const char *const hook_names[TCPRIO_HOOK_COUNT] = {
	[TCPRIO_HOOK_POD_EDGE] = "pod_edge",
	[TCPRIO_HOOK_UPLINK]   = "uplink",
};

#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CT_TEXT    "text/plain; charset=utf-8"

/* ---- agent counters ---------------------------------------------------- */

void metrics_init(struct agent_metrics *m)
{
	atomic_init(&m->watch_reconnects, 0);
	atomic_init(&m->watch_relists, 0);
	atomic_init(&m->last_sync_ns, 0);
	for (int i = 0; i <= METRICS_CONV_BUCKETS; i++)
		atomic_init(&m->conv_bucket[i], 0);
	atomic_init(&m->conv_count, 0);
	atomic_init(&m->conv_sum_ns, 0);
	atomic_init(&m->counts_known, false);
	atomic_init(&m->endpoints, 0);
	atomic_init(&m->port_rules, 0);
	atomic_init(&m->attached, false);
	atomic_init(&m->ifaces_unattached, 0);
	atomic_init(&m->ifaces_absent, 0);
	atomic_init(&m->ifaces_no_htb, 0);
	atomic_init(&m->pinned, false);
	atomic_init(&m->synced, false);
	pthread_mutex_init(&m->hooks_lock, NULL);
	m->n_hooks = 0;
	atomic_init(&m->n_preempted, 0);
	atomic_init(&m->wan_share_bps, 0);
	atomic_init(&m->wan_budget_bps, 0);
	atomic_init(&m->site_ready_nodes, 0);
}

void metrics_set_hooks(struct agent_metrics *m, const struct metrics_hook *h, size_t n)
{
	int pre = 0;

	if (n > METRICS_MAX_HOOKS)
		n = METRICS_MAX_HOOKS;
	pthread_mutex_lock(&m->hooks_lock);
	memcpy(m->hooks, h, n * sizeof(*h));
	m->n_hooks = n;
	for (size_t i = 0; i < n; i++)
		pre += h[i].preempted;
	atomic_store(&m->n_preempted, pre);
	pthread_mutex_unlock(&m->hooks_lock);
}

/* "hook pre-empted: IFACE HOOK by prog ID (NAME)" for the first one. */
static size_t preempted_reason(struct agent_metrics *m, char *buf, size_t len)
{
	int n = 0;

	pthread_mutex_lock(&m->hooks_lock);
	for (size_t i = 0; i < m->n_hooks; i++) {
		const struct metrics_hook *h = &m->hooks[i];

		if (!h->preempted)
			continue;
		n = snprintf(buf, len, "hook pre-empted: %s %s by %s%u (%s)", h->iface, h->hook,
			     h->by_prog_id ? "prog id " : "filter ", h->by_prog_id, h->by_name);
		break;
	}
	pthread_mutex_unlock(&m->hooks_lock);
	return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len;
}

void metrics_set_node(struct agent_metrics *m, const char *pin_dir,
		      const char (*uplinks)[IF_NAMESIZE], int n)
{
	m->pin_dir = pin_dir;
	m->uplinks = uplinks;
	m->n_uplinks = n;
}

void metrics_note_reconnect(struct agent_metrics *m)
{
	atomic_fetch_add(&m->watch_reconnects, 1);
}

void metrics_note_relist(struct agent_metrics *m)
{
	atomic_fetch_add(&m->watch_relists, 1);
}

void metrics_set_map_counts(struct agent_metrics *m, long endpoints, long port_rules)
{
	atomic_store(&m->endpoints, endpoints);
	atomic_store(&m->port_rules, port_rules);
	atomic_store(&m->counts_known, true);
}

void metrics_note_sync(struct agent_metrics *m, int64_t realtime_ns)
{
	atomic_store(&m->last_sync_ns, realtime_ns);
}

void metrics_observe_convergence_ns(struct agent_metrics *m, uint64_t ns)
{
	double s = (double)ns / 1e9;
	int i = 0;

	while (i < METRICS_CONV_BUCKETS && s > metrics_conv_bucket_le[i])
		i++;
	atomic_fetch_add(&m->conv_bucket[i], 1);
	atomic_fetch_add(&m->conv_sum_ns, ns);
	atomic_fetch_add(&m->conv_count, 1);
}

int metrics_add_ready_iface(struct agent_metrics *m, const char *name)
{
	if (m->n_ifaces >= METRICS_MAX_IFACES)
		return -ENOSPC;
	snprintf(m->iface_names[m->n_ifaces], IF_NAMESIZE, "%s", name);
	return m->n_ifaces++;
}

void metrics_set_uplink_state(struct agent_metrics *m, uint32_t absent, uint32_t unattached,
			      uint32_t no_htb)
{
	atomic_store(&m->ifaces_absent, absent);
	atomic_store(&m->ifaces_unattached, unattached);
	atomic_store(&m->ifaces_no_htb, no_htb);
	atomic_store(&m->attached, (absent | unattached | no_htb) == 0);
}

/* Append ", " unless first, then fmt; keeps off <= len. */
static size_t append(char *buf, size_t len, size_t off, const char *fmt, const char *arg)
{
	int n;

	if (off >= len)
		return off;
	if (off) {
		n = snprintf(buf + off, len - off, ", ");
		off += n > 0 ? (size_t)n : 0;
		if (off >= len)
			return len;
	}
	n = snprintf(buf + off, len - off, fmt, arg);
	off += n > 0 ? (size_t)n : 0;
	return off < len ? off : len;
}

/* The uplinks' part of the reason, appended at reason + off. */
static size_t uplinks_reason(struct agent_metrics *m, char *reason, size_t len, size_t off)
{
	uint32_t unatt = (uint32_t)atomic_load(&m->ifaces_unattached);
	uint32_t absent = (uint32_t)atomic_load(&m->ifaces_absent);
	uint32_t no_htb = (uint32_t)atomic_load(&m->ifaces_no_htb);

	if (unatt || !(absent | no_htb)) /* attached false with no mask: metrics_set_ready */
		off = append(reason, len, off, "%s", "programs not attached");
	for (int i = 0, first = 1; unatt && i < m->n_ifaces && off < len; i++)
		if (unatt & (1u << i)) {
			int n = snprintf(reason + off, len - off, "%s%s", first ? " (" : ", ",
					 m->iface_names[i]);

			off += n > 0 ? (size_t)n : 0;
			first = 0;
		}
	if (unatt && off < len) {
		int n = snprintf(reason + off, len - off, ")");

		off += n > 0 ? (size_t)n : 0;
	}
	if (off > len)
		off = len;
	for (int i = 0; i < m->n_ifaces && off < len; i++) {
		if (absent & (1u << i))
			off = append(reason, len, off, "uplink %s does not exist (check --uplink)",
				     m->iface_names[i]);
		else if (no_htb & (1u << i))
			off = append(reason, len, off, "uplink %s: HTB tree missing",
				     m->iface_names[i]);
	}
	return off;
}

void metrics_set_ready(struct agent_metrics *m, bool attached, bool pinned,
		       bool synced)
{
	atomic_store(&m->attached, attached);
	atomic_store(&m->pinned, pinned);
	atomic_store(&m->synced, synced);
}

bool metrics_is_ready(const struct agent_metrics *m, char *reason, size_t len)
{
	/* atomic_load needs a non-const pointer in C11 before C17 (DR 459). */
	struct agent_metrics *mm = (struct agent_metrics *)m;
	bool attached = atomic_load(&mm->attached);
	bool pinned = atomic_load(&mm->pinned);
	bool synced = atomic_load(&mm->synced);
	bool preempted = atomic_load(&mm->n_preempted) > 0;
	size_t off = 0;

	if (attached && pinned && synced && !preempted)
		return true;
	if (!reason || !len)
		return false;
	reason[0] = '\0';
	if (!attached)
		off = uplinks_reason(mm, reason, len, off);
	if (!pinned && off < len)
		off += snprintf(reason + off, len - off, "%smaps not pinned",
				off ? ", " : "");
	if (!synced && off < len) {
		char why[400];

		/* what the API server answered last, so a probe's body says
		 * why (TLS, 401, 403 ...) without reading the agent's log */
		kube_last_error(why, sizeof(why));
		off += snprintf(reason + off, len - off, "%sinitial pod list not synced%s%s",
				off ? ", " : "", why[0] ? "; last error: " : "", why);
	}
	if (preempted && off + 2 < len) {
		if (off)
			off += snprintf(reason + off, len - off, ", ");
		preempted_reason(mm, reason + off, len - off);
	}
	return false;
}

/* ---- exposition helpers -------------------------------------------------- */

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \\, \" and \n escaped (exposition format 0.0.4). */
static void label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* ---- datapath counters ----------------------------------------------------- */

/* Class names from tcprio_classes; "class<N>" for empty/unreadable slots. */
static void read_class_names(int fd, char names[][TCPRIO_CLASS_NAME_LEN + 8])
{
	for (uint32_t id = 0; id < TCPRIO_MAX_CLASSES; id++) {
		struct tcprio_class c;

		snprintf(names[id], TCPRIO_CLASS_NAME_LEN + 8, "class%u", id);
		if (fd < 0 || bpf_map_lookup_elem(fd, &id, &c))
			continue;
		c.name[TCPRIO_CLASS_NAME_LEN - 1] = '\0';
		if ((c.flags & TCPRIO_CLASS_VALID) && c.name[0])
			snprintf(names[id], TCPRIO_CLASS_NAME_LEN + 8, "%s", c.name);
	}
}

/* tcprio_packets_total / tcprio_bytes_total{hook,class}: the hook and
 * class slots that counted something (all interfaces of the hook). */
static void write_stats(FILE *f, const struct datapath_maps *maps)
{
	char names[TCPRIO_MAX_CLASSES][TCPRIO_CLASS_NAME_LEN + 8];
	struct datapath_stat_row *rows = NULL;
	int n;

	n = datapath_read_stats(maps->stats, &rows);
	if (n < 0) {
		pr_warn("metrics: reading tcprio_stats: %s", strerror(-n));
		return;
	}
	read_class_names(maps->classes, names);
	for (int pass = 0; pass < 2; pass++) {
		const char *fam = pass ? "tcprio_bytes_total" : "tcprio_packets_total";

		if (pass == 0)
			family(f, fam, "counter",
			       "Packets classified, per hook and class (all interfaces of the hook).");
		else
			family(f, fam, "counter",
			       "Bytes (skb->len, L2) classified, per hook and class (all interfaces of the hook).");
		for (int i = 0; i < n; i++) {
			const struct datapath_stat_row *r = &rows[i];

			fprintf(f, "%s{hook=\"%s\",class=\"", fam, hook_names[r->hook]);
			label_value(f, names[r->class_id]);
			fprintf(f, "\"} %llu\n", (unsigned long long)(pass ? r->bytes : r->packets));
		}
	}
	free(rows);
}

/* tcprio_scope_{packets,bytes}_total{scope}: what left the uplinks for a
 * LAN destination (stays on the site) or a WAN one (crosses it). */
static void write_scope_stats(FILE *f, int fd)
{
	static const char *const names[TCPRIO_SCOPE_COUNT] = {
		[TCPRIO_SCOPE_WAN] = "wan", [TCPRIO_SCOPE_LAN] = "lan" };
	int ncpu = libbpf_num_possible_cpus();
	struct tcprio_counters *v;
	uint64_t sum[TCPRIO_SCOPE_COUNT][2] = { { 0 } };

	if (ncpu <= 0 || !(v = calloc(ncpu, sizeof(*v))))
		return;
	for (uint32_t s = 0; s < TCPRIO_SCOPE_COUNT; s++) {
		if (bpf_map_lookup_elem(fd, &s, v))
			continue;
		for (int c = 0; c < ncpu; c++) {
			sum[s][0] += v[c].packets;
			sum[s][1] += v[c].bytes;
		}
	}
	free(v);
	family(f, "tcprio_scope_packets_total", "counter",
	       "Packets leaving uplinks, per scope (lan: destination on the site's LAN; wan).");
	for (int s = 0; s < TCPRIO_SCOPE_COUNT; s++)
		fprintf(f, "tcprio_scope_packets_total{scope=\"%s\"} %llu\n", names[s],
			(unsigned long long)sum[s][0]);
	family(f, "tcprio_scope_bytes_total", "counter",
	       "Bytes (skb->len, L2) leaving uplinks, per scope (lan, wan).");
	for (int s = 0; s < TCPRIO_SCOPE_COUNT; s++)
		fprintf(f, "tcprio_scope_bytes_total{scope=\"%s\"} %llu\n", names[s],
			(unsigned long long)sum[s][1]);
}

static void write_events(FILE *f, int fd)
{
	static const struct {
		int ev;
		const char *name, *help;
	} fams[] = {
		{ TCPRIO_EV_UNPARSED, "tcprio_unparsed_packets_total",
		  "Packets passed unclassified: not IP, truncated or unknown header." },
		{ TCPRIO_EV_ENDPOINT_MISS, "tcprio_endpoint_misses_total",
		  "Packets whose source IP is not in tcprio_endpoints." },
		{ TCPRIO_EV_DSCP_HIT, "tcprio_dscp_classified_packets_total",
		  "Packets classified by their DSCP (uplink, trustDscp)." },
		{ TCPRIO_EV_DEFAULT, "tcprio_default_class_packets_total",
		  "Packets given the default class." },
		{ TCPRIO_EV_FRAG_MISS, "tcprio_fragment_misses_total",
		  "Non-first fragments of a port-rule pod seen before their first fragment (or after its tcprio_frags entry was evicted): the datagram got the pod's class." },
	};
	uint64_t ev[TCPRIO_HOOK_COUNT][TCPRIO_EV_COUNT], rewrites = 0;

	if (datapath_read_events(fd, ev) < 0)
		return;
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		family(f, fams[i].name, "counter", fams[i].help);
		for (int h = 0; h < TCPRIO_HOOK_COUNT; h++)
			fprintf(f, "%s{hook=\"%s\"} %llu\n", fams[i].name, hook_names[h],
				(unsigned long long)ev[h][fams[i].ev]);
	}
	for (int h = 0; h < TCPRIO_HOOK_COUNT; h++)
		rewrites += ev[h][TCPRIO_EV_DSCP_REWRITE];
	family(f, "tcprio_dscp_rewrites_total", "counter",
	       "Packets whose DSCP tcprio rewrote to their class's (pod edge, and uplink host rules).");
	fprintf(f, "tcprio_dscp_rewrites_total %llu\n", (unsigned long long)rewrites);
}

static int count_one(void *ctx, const void *key, const void *value)
{
	return 0;
}

/* Gauges NAME (entries in the hash map fd) and NAME_capacity (its
 * max_entries), so that a map filling up can be alerted on.  known: held
 * is the count the agent keeps in memory (metrics_set_map_counts); else
 * the map is walked. */
static void write_map_fill(FILE *f, int fd, const char *name, const char *what, bool known,
			   long held)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	char help[128], cap[64];
	long n;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		pr_warn("metrics: %s info: %s", name, strerror(errno));
		return;
	}
	n = known ? held : datapath_map_walk(fd, info.key_size, info.value_size,
					     (size_t)info.max_entries + 1, count_one, NULL);
	if (n >= 0) {
		snprintf(help, sizeof(help), "%s in %s.", what, name);
		family(f, name, "gauge", help);
		fprintf(f, "%s %ld\n", name, n);
	}
	snprintf(cap, sizeof(cap), "%s_capacity", name);
	snprintf(help, sizeof(help), "max_entries of %s.", name);
	family(f, cap, "gauge", help);
	fprintf(f, "%s %u\n", cap, info.max_entries);
}

/* ---- agent families --------------------------------------------------------- */

static void write_agent(FILE *f, const struct agent_metrics *cm)
{
	struct agent_metrics *m = (struct agent_metrics *)cm; /* see metrics_is_ready */
	uint64_t cum = 0;

	family(f, "tcprio_wan_share_bytes_per_second", "gauge",
	       "This node's WAN share: the rate of its HTB WAN branch (0: WAN not shaped).");
	fprintf(f, "tcprio_wan_share_bytes_per_second %llu\n",
		(unsigned long long)atomic_load(&m->wan_share_bps) / 8);
	family(f, "tcprio_wan_budget_bytes_per_second", "gauge",
	       "The WAN budget of this node's site (sites: wanRate; 0: none).");
	fprintf(f, "tcprio_wan_budget_bytes_per_second %llu\n",
		(unsigned long long)atomic_load(&m->wan_budget_bps) / 8);
	family(f, "tcprio_site_ready_nodes", "gauge",
	       "Ready nodes of this node's site, from the Node watch.");
	fprintf(f, "tcprio_site_ready_nodes %llu\n",
		(unsigned long long)atomic_load(&m->site_ready_nodes));
	family(f, "tcprio_watch_reconnects_total", "counter",
	       "Pod watch connections re-opened.");
	fprintf(f, "tcprio_watch_reconnects_total %llu\n",
		(unsigned long long)atomic_load(&m->watch_reconnects));
	family(f, "tcprio_watch_relists_total", "counter",
	       "Full pod lists, the first one included.");
	fprintf(f, "tcprio_watch_relists_total %llu\n",
		(unsigned long long)atomic_load(&m->watch_relists));
	family(f, "tcprio_last_sync_timestamp_seconds", "gauge",
	       "Unix time of the last successful map sync; 0 = never.");
	fprintf(f, "tcprio_last_sync_timestamp_seconds %.3f\n",
		(double)atomic_load(&m->last_sync_ns) / 1e9);
	family(f, "tcprio_convergence_seconds", "histogram",
	       "Time from a pod event reaching the agent to the maps holding it.");
	for (int i = 0; i < METRICS_CONV_BUCKETS; i++) {
		cum += atomic_load(&m->conv_bucket[i]);
		fprintf(f, "tcprio_convergence_seconds_bucket{le=\"%g\"} %llu\n",
			metrics_conv_bucket_le[i], (unsigned long long)cum);
	}
	/* _count is read first and +Inf is set equal to it, so the document
	 * stays consistent while samples arrive during the scrape. */
	{
		uint64_t count = atomic_load(&m->conv_count);
		uint64_t sum = atomic_load(&m->conv_sum_ns);

		if (cum > count)
			count = cum;
		fprintf(f, "tcprio_convergence_seconds_bucket{le=\"+Inf\"} %llu\n",
			(unsigned long long)count);
		fprintf(f, "tcprio_convergence_seconds_sum %.9f\n", (double)sum / 1e9);
		fprintf(f, "tcprio_convergence_seconds_count %llu\n",
			(unsigned long long)count);
	}
	family(f, "tcprio_hook_preempted", "gauge",
	       "1 while a foreign program runs before tcprio at this hook.");
	pthread_mutex_lock((pthread_mutex_t *)&m->hooks_lock);
	for (size_t i = 0; i < m->n_hooks; i++) {
		fputs("tcprio_hook_preempted{iface=\"", f);
		label_value(f, m->hooks[i].iface);
		fprintf(f, "\",hook=\"%s\"} %d\n", m->hooks[i].hook, m->hooks[i].preempted);
	}
	pthread_mutex_unlock((pthread_mutex_t *)&m->hooks_lock);
	family(f, "tcprio_ready", "gauge",
	       "1 when programs are attached, maps pinned and pods synced.");
	fprintf(f, "tcprio_ready %d\n", metrics_is_ready(m, NULL, 0) ? 1 : 0);
}

/* ---- hooks ------------------------------------------------------------------ */

static bool is_uplink(const struct agent_metrics *m, const char *name)
{
	for (int i = 0; i < m->n_uplinks; i++)
		if (strcmp(m->uplinks[i], name) == 0)
			return true;
	return false;
}

/* tcprio_hook_attached: every interface with a tcprio filter (handle
 * 0x7c1) on a hook, 1 when it runs the program pinned in m->pin_dir; and
 * each uplink's uplink hook, 0 when nothing is attached there. */
static void write_hooks(FILE *f, const struct agent_metrics *m)
{
	static const char *const names[TCPRIO_HOOK_COUNT] = { "pod_edge", "uplink" };
	__u32 mine[TCPRIO_HOOK_COUNT] = { 0 };
	struct if_nameindex *ifs;

	if (!m->pin_dir || datapath_pinned_prog_ids(m->pin_dir, mine) < 0)
		return;
	ifs = if_nameindex();
	family(f, "tcprio_hook_attached", "gauge",
	       "1 when tcprio's filter on this hook runs this agent's program; 0 when it "
	       "runs another program or an uplink has none.");
	for (struct if_nameindex *i = ifs; i && i->if_index; i++) {
		for (int h = 0; h < TCPRIO_HOOK_COUNT; h++) {
			__u32 id = 0;
			int r = datapath_attached_prog_id((int)i->if_index, (enum tcprio_hook)h, &id);

			if (r < 0 || (r == 0 && !(h == TCPRIO_HOOK_UPLINK && is_uplink(m, i->if_name))))
				continue;
			fputs("tcprio_hook_attached{interface=\"", f);
			label_value(f, i->if_name);
			fprintf(f, "\",hook=\"%s\"} %d\n", names[h],
				r == 1 && mine[h] && id == mine[h] ? 1 : 0);
		}
	}
	if (ifs)
		if_freenameindex(ifs);
}

/* ---- uplink HTB classes ------------------------------------------------------ */

struct htb_family {
	const char *name, *type, *help;
	size_t off;          /* offsetof the uint64_t value in struct htb_class_stats */
};

static const struct htb_family htb_families[] = {
	{ "tcprio_htb_class_sent_bytes_total", "counter",
	  "Bytes an uplink HTB class sent (tc -s class show: Sent bytes).",
	  offsetof(struct htb_class_stats, bytes) },
	{ "tcprio_htb_class_sent_packets_total", "counter",
	  "Packets an uplink HTB class sent.", offsetof(struct htb_class_stats, packets) },
	{ "tcprio_htb_class_drops_total", "counter",
	  "Packets an uplink HTB class dropped (its queue was full).",
	  offsetof(struct htb_class_stats, drops) },
	{ "tcprio_htb_class_overlimits_total", "counter",
	  "Times an uplink HTB class held a packet back because it was over its rate or ceiling.",
	  offsetof(struct htb_class_stats, overlimits) },
	{ "tcprio_htb_class_backlog_bytes", "gauge",
	  "Bytes queued in an uplink HTB class now.",
	  offsetof(struct htb_class_stats, backlog_bytes) },
	{ "tcprio_htb_class_backlog_packets", "gauge",
	  "Packets queued in an uplink HTB class now.",
	  offsetof(struct htb_class_stats, backlog_packets) },
	{ "tcprio_htb_class_rate_bytes_per_second", "gauge",
	  "Guaranteed rate of an uplink HTB class.", offsetof(struct htb_class_stats, rate_Bps) },
	{ "tcprio_htb_class_ceil_bytes_per_second", "gauge",
	  "Ceiling (most it may send) of an uplink HTB class.",
	  offsetof(struct htb_class_stats, ceil_Bps) },
};

struct uplink_classes {
	char ifname[IF_NAMESIZE];
	struct htb_class_stats cls[QDISC_STATS_MAX_CLASSES];
	char names[QDISC_STATS_MAX_CLASSES][TCPRIO_CLASS_NAME_LEN];
	int n;
};

static void write_htb(FILE *f, const struct agent_metrics *m, int classes_fd)
{
	struct uplink_classes *u;
	int nu = 0;

	if (!m->uplinks || m->n_uplinks <= 0)
		return;
	u = calloc((size_t)m->n_uplinks, sizeof(*u));
	if (!u)
		return;
	for (int i = 0; i < m->n_uplinks; i++) {
		int ifindex = (int)if_nametoindex(m->uplinks[i]);
		int n = ifindex ? qdisc_stats_read(ifindex, u[nu].cls, QDISC_STATS_MAX_CLASSES) : 0;

		if (n <= 0)
			continue;
		u[nu].n = n < QDISC_STATS_MAX_CLASSES ? n : QDISC_STATS_MAX_CLASSES;
		snprintf(u[nu].ifname, IF_NAMESIZE, "%s", m->uplinks[i]);
		for (int c = 0; c < u[nu].n; c++)
			qdisc_stats_class_name(classes_fd, u[nu].cls[c].classid, u[nu].names[c],
					       TCPRIO_CLASS_NAME_LEN);
		nu++;
	}
	for (size_t fi = 0; nu && fi < sizeof(htb_families) / sizeof(htb_families[0]); fi++) {
		const struct htb_family *hf = &htb_families[fi];

		family(f, hf->name, hf->type, hf->help);
		for (int i = 0; i < nu; i++) {
			for (int c = 0; c < u[i].n; c++) {
				char id[16];
				uint64_t v;

				memcpy(&v, (const char *)&u[i].cls[c] + hf->off, sizeof(v));
				qdisc_stats_handle_str(u[i].cls[c].classid, id, sizeof(id));
				fprintf(f, "%s{interface=\"", hf->name);
				label_value(f, u[i].ifname);
				fprintf(f, "\",classid=\"%s\",class=\"", id);
				label_value(f, u[i].names[c]);
				fprintf(f, "\"} %llu\n", (unsigned long long)v);
			}
		}
	}
	free(u);
}

/* Host rules' counters (tcprio_host_stats by slot, named by
 * tcprio_host_rules): packets and bytes of local sockets per rule and its
 * class, including the "local sockets, no rule" slot. */
static void write_host_stats(FILE *f, const struct datapath_maps *maps)
{
	char names[TCPRIO_MAX_CLASSES][TCPRIO_CLASS_NAME_LEN + 8];
	int ncpu = libbpf_num_possible_cpus();
	struct tcprio_counters *v;

	if (ncpu <= 0 || !(v = calloc((size_t)ncpu, sizeof(*v))))
		return;
	read_class_names(maps->classes, names);
	for (int pass = 0; pass < 2; pass++) {
		const char *fam = pass ? "tcprio_host_bytes_total" : "tcprio_host_packets_total";

		family(f, fam, "counter", pass ?
		       "Bytes (skb->len) sent by local sockets at the uplinks, per host rule and class." :
		       "Packets sent by local sockets at the uplinks, per host rule and class.");
		for (__u32 slot = 0; slot < TCPRIO_HOST_SLOTS; slot++) {
			struct tcprio_host_name nm;
			uint64_t sum = 0;
			char text[TCPRIO_HOST_TEXT_LEN + 1];

			if (bpf_map_lookup_elem(maps->host_rules, &slot, &nm) ||
			    nm.state == TCPRIO_HOST_UNUSED ||
			    bpf_map_lookup_elem(maps->host_stats, &slot, v))
				continue;
			for (int c = 0; c < ncpu; c++)
				sum += pass ? v[c].bytes : v[c].packets;
			memcpy(text, nm.text, TCPRIO_HOST_TEXT_LEN);
			text[TCPRIO_HOST_TEXT_LEN] = '\0';
			fprintf(f, "%s{rule=\"", fam);
			label_value(f, text);
			fputs("\",class=\"", f);
			if (nm.class_id < TCPRIO_MAX_CLASSES)
				label_value(f, names[nm.class_id]);
			else
				fprintf(f, "class%u", nm.class_id);
			fprintf(f, "\"} %llu\n", (unsigned long long)sum);
		}
	}
	free(v);
}

int metrics_write(FILE *f, const struct agent_metrics *m,
		  const struct datapath_maps *maps)
{
	if (maps && maps->stats >= 0)
		write_stats(f, maps);
	if (maps && maps->events >= 0)
		write_events(f, maps->events);
	bool known = m && atomic_load(&m->counts_known);

	if (maps && maps->host_stats >= 0 && maps->host_rules >= 0)
		write_host_stats(f, maps);
	if (maps && maps->endpoints >= 0)
		write_map_fill(f, maps->endpoints, "tcprio_endpoints", "Pod IP entries", known,
			       known ? (long)atomic_load(&m->endpoints) : 0);
	if (maps && maps->port_rules >= 0)
		write_map_fill(f, maps->port_rules, "tcprio_port_rules", "Per-port class rules",
			       known, known ? (long)atomic_load(&m->port_rules) : 0);
	if (maps && maps->destinations >= 0)
		write_map_fill(f, maps->destinations, "tcprio_destinations",
			       "LAN/WAN destination prefixes", false, 0);
	if (maps && maps->scope_stats >= 0)
		write_scope_stats(f, maps->scope_stats);
	if (m)
		write_hooks(f, m);
	if (m)
		write_htb(f, m, maps ? maps->classes : -1);
	if (m)
		write_agent(f, m);
	if (fflush(f) || ferror(f))
		return -(errno ? errno : EIO);
	return 0;
}

/* ---- address parsing ------------------------------------------------------- */

int metrics_parse_address(const char *s, char *host, size_t hostlen,
			  uint16_t *port, char *err, size_t errlen)
{
	const char *colon, *h = s, *hend;
	char *end;
	unsigned long p;

	if (!s)
		goto bad;
	if (s[0] == '[') {
		h = s + 1;
		hend = strchr(h, ']');
		if (!hend || hend[1] != ':')
			goto bad;
		colon = hend + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', colon - s))
			goto bad; /* no port, or a bare IPv6 literal */
		hend = colon;
	}
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || p > 65535 || colon[1] == '-' || colon[1] == '+')
		goto bad;
	if (hend == h) {
		h = "0.0.0.0";
		hend = h + strlen(h);
	}
	if ((size_t)(hend - h) >= hostlen)
		goto bad;
	memcpy(host, h, hend - h);
	host[hend - h] = '\0';
	*port = (uint16_t)p;
	return 0;
bad:
	snprintf(err, errlen, "metrics address \"%s\": expected HOST:PORT, "
		 "[IPV6]:PORT or :PORT with PORT 0..65535", s ? s : "(null)");
	return -EINVAL;
}

/* ---- HTTP server ------------------------------------------------------------- */

/*
 * Limits of the two listeners.  The metrics listener is open to the
 * network (hostNetwork 0.0.0.0:9465): with 16 connections held up to 10 s,
 * 16 idle connections from anyone starved it.  Now one client address holds
 * at most METRICS_PER_IP_CONNS of METRICS_CONNS, idle ones are closed after
 * METRICS_IDLE_S, and the kubelet's probes go to a listener of their own on
 * the loopback address (PROBE_*), which nothing off the node can reach.
 * libmicrohttpd's connection timeout counts from the last byte received:
 * a client trickling bytes keeps its connection, which the per-address
 * limit bounds.
 */
#define METRICS_CONNS        256 /* all clients (a Prometheus scrape needs 1) */
#define METRICS_PER_IP_CONNS 4   /* one client address */
#define METRICS_IDLE_S       5
#define PROBE_CONNS          64  /* the kubelet opens 1 per probe */
#define PROBE_IDLE_S         2   /* kubelet probes time out after 1..2 s */

struct metrics_server {
	struct MHD_Daemon *daemon;
	struct MHD_Daemon *probe_daemon; /* /healthz and /readyz only, or NULL */
	const struct agent_metrics *m;
	const struct datapath_maps *maps;
	uint16_t port, probe_port;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status,
			     const char *ctype, char *body, size_t len, bool owned)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (owned)
		r = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	else
		r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result serve_metrics(struct metrics_server *s,
				     struct MHD_Connection *conn)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f)
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, CT_TEXT,
			     "out of memory\n", 14, false);
	err = metrics_write(f, s->m, s->maps);
	fclose(f);
	if (err) {
		free(buf);
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, CT_TEXT,
			     "cannot write metrics\n", 21, false);
	}
	return reply(conn, MHD_HTTP_OK, CT_METRICS, buf, len, true);
}

static enum MHD_Result serve_readyz(struct metrics_server *s,
				    struct MHD_Connection *conn)
{
	char reason[640], *body;
	int n;

	if (metrics_is_ready(s->m, reason, sizeof(reason)))
		return reply(conn, MHD_HTTP_OK, CT_TEXT, "ready\n", 6, false);
	n = asprintf(&body, "not ready: %s\n", reason);
	if (n < 0)
		return MHD_NO;
	return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, CT_TEXT, body, n, true);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct metrics_server *s = cls;
	bool head = !strcmp(method, MHD_HTTP_METHOD_HEAD);

	if (strcmp(method, MHD_HTTP_METHOD_GET) && !head)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, CT_TEXT,
			     "only GET and HEAD\n", 18, false);
	if (!strcmp(url, "/metrics"))
		return serve_metrics(s, conn);
	if (!strcmp(url, "/healthz"))
		return reply(conn, MHD_HTTP_OK, CT_TEXT, "ok\n", 3, false);
	if (!strcmp(url, "/readyz"))
		return serve_readyz(s, conn);
	return reply(conn, MHD_HTTP_NOT_FOUND, CT_TEXT,
		     "not found: try /metrics, /healthz or /readyz\n", 45, false);
}

/* libmicrohttpd's messages ("Connection was closed by remote side with
 * incomplete request.", ...) at debug level: every client of the open
 * metrics port can cause them, and at warn level a flood of connections
 * would flood the log too.  Start-up failures are reported by the callers. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	(void)cls;
	if (log_get_level() < LOG_LVL_DEBUG)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	pr_debug("http: %s", msg);
}

/* The probe listener: /healthz and /readyz, nothing else. */
static enum MHD_Result handle_probe(void *cls, struct MHD_Connection *conn,
				    const char *url, const char *method,
				    const char *version, const char *upload_data,
				    size_t *upload_data_size, void **req_cls)
{
	if (!strcmp(url, "/healthz") || !strcmp(url, "/readyz"))
		return handle(cls, conn, url, method, version, upload_data,
			      upload_data_size, req_cls);
	return reply(conn, MHD_HTTP_NOT_FOUND, CT_TEXT,
		     "not found: try /healthz or /readyz\n", 35, false);
}

/* Fill ss from a numeric IPv4 or IPv6 address and port; *flags gains
 * MHD_USE_IPv6 for IPv6.  0 or -EINVAL (err set, naming what). */
static int sock_addr(const char *what, const char *addr, uint16_t port,
		     struct sockaddr_storage *ss, unsigned int *flags,
		     char *err, size_t errlen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (addr && inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else if (addr && inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, errlen, "%s address \"%s\": expected a numeric "
			 "IPv4 or IPv6 address", what, addr ? addr : "(null)");
		return -EINVAL;
	}
	return 0;
}

/* The port a daemon bound (host byte order), or fallback. */
static uint16_t bound_port(struct MHD_Daemon *d, uint16_t fallback)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);

	return info ? info->port : fallback;
}

int metrics_server_probes(struct metrics_server *s, const char *addr, uint16_t port,
			  char *err, size_t errlen)
{
	/* MHD_USE_AUTO: epoll where available, so descriptors above
	 * FD_SETSIZE (1024) are no limit */
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_AUTO;
	struct sockaddr_storage ss;

	if (s->probe_daemon) {
		snprintf(err, errlen, "probe server already running");
		return -EALREADY;
	}
	if (sock_addr("probe", addr, port, &ss, &flags, err, errlen))
		return -EINVAL;
	s->probe_daemon = MHD_start_daemon(flags, port, NULL, NULL, handle_probe, s,
					   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
					   MHD_OPTION_CONNECTION_LIMIT, (unsigned int)PROBE_CONNS,
					   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)PROBE_IDLE_S,
					   MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
					   MHD_OPTION_END);
	if (!s->probe_daemon) {
		snprintf(err, errlen, "probe server: cannot listen on %s port %u "
			 "(address in use or not local?)", addr, port);
		return -EADDRINUSE;
	}
	s->probe_port = bound_port(s->probe_daemon, port);
	return 0;
}

uint16_t metrics_server_probe_port(const struct metrics_server *s)
{
	return s->probe_daemon ? s->probe_port : 0;
}

struct metrics_server *metrics_server_start(const char *addr, uint16_t port,
					    const struct agent_metrics *m,
					    const struct datapath_maps *maps,
					    char *err, size_t errlen)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_AUTO;
	struct metrics_server *s = NULL;
	struct sockaddr_storage ss;

	if (sock_addr("metrics", addr, port, &ss, &flags, err, errlen))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "metrics server: out of memory");
		return NULL;
	}
	s->m = m;
	s->maps = maps;
	/* MHD's own messages go to mhd_log (MHD_USE_ERROR_LOG). */
	s->daemon = MHD_start_daemon(flags, port, NULL, NULL, handle, s,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_CONNS,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)METRICS_PER_IP_CONNS,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_IDLE_S,
				     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				     MHD_OPTION_END);
	if (!s->daemon) {
		snprintf(err, errlen, "metrics server: cannot listen on %s port %u "
			 "(address in use or not local?)", addr, port);
		free(s);
		return NULL;
	}
	s->port = bound_port(s->daemon, port);
	/* The agent logs the address ("metrics on http://..."). */
	return s;
}

uint16_t metrics_server_port(const struct metrics_server *s)
{
	return s->port;
}

void metrics_server_stop(struct metrics_server *s)
{
	if (!s)
		return;
	if (s->probe_daemon)
		MHD_stop_daemon(s->probe_daemon);
	MHD_stop_daemon(s->daemon);
	free(s);
}
