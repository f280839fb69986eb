/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * agent.c - `tcprio agent`.
 *
 * Threads:
 *   main        start-up, then signals (SIGTERM/SIGINT stop, SIGHUP reload)
 *               and a 1 s poll of the class-table file for changes;
 *   kube        kube_pod_watch_run: list + watch -> endpoint_sync;
 *   events      kube_events: bad annotations as Events on their pods;
 *   link watch  attaches the programs to matching interfaces as they appear;
 *   metrics     libmicrohttpd's own thread.
 * agent.lock serialises every endpoint_sync call and class-table swap.
 * On SIGTERM the agent exits and leaves the programs attached and the maps
 * pinned, so the node keeps classifying while the agent is restarted.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include "agent.h"
#include "class_table.h"
#include "datapath.h"
#include "endpoint_sync.h"
#include "kube_client.h"
#include "kube_events.h"
#include "link_watch.h"
#include "log.h"
#include "metrics.h"
#include "pod.h"
#include "policy.h"
#include "uplink_auto.h"
#include "uplink_qdisc.h"

#define AGENT_MAX_UPLINKS 8
#define AGENT_MAX_GLOBS   32

struct agent_opts {
	const char *kubeconfig;      /* NULL: in-cluster */
	const char *node_name;       /* default $NODE_NAME */
	char uplinks[AGENT_MAX_UPLINKS][IF_NAMESIZE];
	int n_uplinks;
	uint64_t uplink_rate_bps;    /* 0: leave the uplink qdisc alone */
	const char *globs[AGENT_MAX_GLOBS];
	int n_globs;
	const char *config_path;     /* NULL: built-in class table */
	const char *pin_dir;
	const char *metrics_address; /* "off" disables */
	bool no_kube;                /* classes and attach only (manual entries) */
	bool no_events;              /* no Kubernetes Events for bad annotations */
	struct kube_watch_opts watch;
};

/* Pods of the list in progress, converted page by page so that a large
 * list never sits in memory as JSON.  Touched by the kube thread only. */
struct list_buffer {
	struct pod *pods;
	size_t n, cap;
};

struct agent {
	struct agent_opts o;
	pthread_mutex_t lock;
	struct datapath dp;
	struct class_table table;
	struct endpoint_sync *sync;
	struct agent_metrics metrics;
	struct metrics_server *metrics_server;
	struct link_watch *link_watch;
	struct kube_config kube;
	struct kube_events *events; /* NULL: not reporting */
	struct list_buffer list;  /* list in progress (kube thread) */
	pthread_t kube_thread;
	bool kube_started;
	atomic_int uplinks_attached;
	struct stat config_stat;
	int pin_lock_fd;          /* flock on the pin folder, or -1 */
	volatile sig_atomic_t stop;
};

static const char agent_usage[] =
"usage: tcprio agent [options]\n"
"  --kubeconfig FILE       kubeconfig (default: in-cluster service account)\n"
"  --node-name NAME        node whose pods to watch (default: $NODE_NAME)\n"
"  --uplink IFACE|auto     uplink interface(s), repeatable or comma-separated\n"
"                          (auto: the interfaces of the IPv4 and IPv6 default routes)\n"
"  --uplink-rate RATE      install an HTB tree on each uplink (e.g. 50mbit)\n"
"  --pod-ifaces GLOB,...   host-side pod interfaces (default: veth*,cali*,lxc*,eni*,azv*,gke*)\n"
"  --config FILE           class table (YAML); reloaded when it changes\n"
"  --pin-dir DIR           bpffs folder for pins (default " TCPRIO_DEFAULT_PIN_DIR ")\n"
"  --metrics-address A:P   /metrics, /healthz, /readyz (default " METRICS_DEFAULT_ADDRESS ", 'off')\n"
"  --no-kube               do not watch Kubernetes (entries via `tcprio endpoint`)\n"
"  --no-events             do not report bad annotations as Events on their pods\n"
"  --watch-timeout S       timeoutSeconds asked of each watch (default 300)\n"
"  --idle-timeout S        restart a watch silent for S seconds (default 90)\n"
"  --log-level LEVEL       warn, info (default) or debug\n";

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- options ---------------------------------------------------------- */

static int add_uplink(struct agent_opts *o, const char *arg)
{
	char found[2][IF_NAMESIZE];
	int n;

	if (strcmp(arg, "auto") == 0) {
		n = uplink_auto_detect(found, 2);
		if (n < 0) {
			fprintf(stderr, "tcprio agent: --uplink auto: no default route to take the uplink from\n");
			return -ENOENT;
		}
		for (int i = 0; i < n; i++) {
			pr_info("uplink auto: %s (interface of a default route)", found[i]);
			if (add_uplink(o, found[i]) < 0)
				return -EINVAL;
		}
		return 0;
	}
	if (o->n_uplinks == AGENT_MAX_UPLINKS) {
		fprintf(stderr, "tcprio agent: --uplink: at most %d uplinks\n", AGENT_MAX_UPLINKS);
		return -EINVAL;
	}
	if (strlen(arg) == 0 || strlen(arg) >= IF_NAMESIZE) {
		fprintf(stderr, "tcprio agent: --uplink '%s': expected an interface name of 1..%d bytes or 'auto'\n",
			arg, IF_NAMESIZE - 1);
		return -EINVAL;
	}
	for (int i = 0; i < o->n_uplinks; i++)
		if (strcmp(o->uplinks[i], arg) == 0)
			return 0; /* named twice, e.g. by auto and by hand */
	snprintf(o->uplinks[o->n_uplinks++], IF_NAMESIZE, "%s", arg);
	return 0;
}

/* --uplink takes one name, "auto" or a comma-separated list of them. */
static int add_uplinks(struct agent_opts *o, char *arg)
{
	char *save = NULL;
	int err = 0;

	for (char *u = strtok_r(arg, ",", &save); u && !err; u = strtok_r(NULL, ",", &save))
		err = add_uplink(o, u);
	return err;
}

/* Split a comma-separated glob list in place (arg is argv memory). */
static int set_globs(struct agent_opts *o, char *arg)
{
	char *save = NULL;

	o->n_globs = 0;
	for (char *g = strtok_r(arg, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
		if (o->n_globs == AGENT_MAX_GLOBS) {
			fprintf(stderr, "tcprio agent: --pod-ifaces: at most %d globs\n", AGENT_MAX_GLOBS);
			return -EINVAL;
		}
		o->globs[o->n_globs++] = g;
	}
	if (o->n_globs == 0) {
		fprintf(stderr, "tcprio agent: --pod-ifaces: expected GLOB[,GLOB...], got an empty list\n");
		return -EINVAL;
	}
	return 0;
}

static int parse_seconds(const char *opt, const char *arg, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || v <= 0 || v > 86400) {
		fprintf(stderr, "tcprio agent: %s '%s': expected seconds 1..86400\n", opt, arg);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

static int set_log_level(const char *arg)
{
	if (strcmp(arg, "warn") == 0)
		log_set_level(LOG_LVL_WARN);
	else if (strcmp(arg, "info") == 0)
		log_set_level(LOG_LVL_INFO);
	else if (strcmp(arg, "debug") == 0)
		log_set_level(LOG_LVL_DEBUG);
	else {
		fprintf(stderr, "tcprio agent: --log-level '%s': expected warn, info or debug\n", arg);
		return -EINVAL;
	}
	return 0;
}

static void default_globs(struct agent_opts *o)
{
	static const char *defaults[] = LINK_WATCH_DEFAULT_GLOBS;

	for (int i = 0; i < LINK_WATCH_N_DEFAULT_GLOBS; i++)
		o->globs[i] = defaults[i];
	o->n_globs = LINK_WATCH_N_DEFAULT_GLOBS;
}

/* Returns 0, or 2 (usage) after printing what was wrong. */
static int parse_options(int argc, char **argv, struct agent_opts *o)
{
	enum { OPT_KUBECONFIG = 256, OPT_NODE, OPT_UPLINK, OPT_RATE, OPT_GLOBS, OPT_CONFIG,
	       OPT_PIN, OPT_METRICS, OPT_NOKUBE, OPT_NOEVENTS, OPT_WATCH_TO, OPT_IDLE_TO, OPT_LOG, OPT_HELP };
	static const struct option longopts[] = {
		{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
		{ "node-name", required_argument, NULL, OPT_NODE },
		{ "uplink", required_argument, NULL, OPT_UPLINK },
		{ "uplink-rate", required_argument, NULL, OPT_RATE },
		{ "pod-ifaces", required_argument, NULL, OPT_GLOBS },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "pin-dir", required_argument, NULL, OPT_PIN },
		{ "metrics-address", required_argument, NULL, OPT_METRICS },
		{ "no-kube", no_argument, NULL, OPT_NOKUBE },
		{ "no-events", no_argument, NULL, OPT_NOEVENTS },
		{ "watch-timeout", required_argument, NULL, OPT_WATCH_TO },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE_TO },
		{ "log-level", required_argument, NULL, OPT_LOG },
		{ "help", no_argument, NULL, OPT_HELP },
		{ 0 }
	};
	int c, err = 0;

	memset(o, 0, sizeof(*o));
	o->node_name = getenv("NODE_NAME");
	o->pin_dir = getenv("TCPRIO_PIN_DIR") ? getenv("TCPRIO_PIN_DIR") : TCPRIO_DEFAULT_PIN_DIR;
	o->metrics_address = METRICS_DEFAULT_ADDRESS;
	default_globs(o);
	optind = 1;
	while (!err && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_KUBECONFIG: o->kubeconfig = optarg; break;
		case OPT_NODE: o->node_name = optarg; break;
		case OPT_UPLINK: err = add_uplinks(o, optarg); break;
		case OPT_RATE:
			if (parse_rate_bps(optarg, &o->uplink_rate_bps) < 0 || o->uplink_rate_bps == 0) {
				fprintf(stderr, "tcprio agent: --uplink-rate '%s': expected a rate such as 50mbit, 1gbit or 800kbit\n",
					optarg);
				err = -EINVAL;
			}
			break;
		case OPT_GLOBS: err = set_globs(o, optarg); break;
		case OPT_CONFIG: o->config_path = optarg; break;
		case OPT_PIN: o->pin_dir = optarg; break;
		case OPT_METRICS: o->metrics_address = optarg; break;
		case OPT_NOKUBE: o->no_kube = true; break;
		case OPT_NOEVENTS: o->no_events = true; break;
		case OPT_WATCH_TO: err = parse_seconds("--watch-timeout", optarg, &o->watch.watch_timeout_s); break;
		case OPT_IDLE_TO: err = parse_seconds("--idle-timeout", optarg, &o->watch.idle_timeout_s); break;
		case OPT_LOG: err = set_log_level(optarg); break;
		case OPT_HELP: fputs(agent_usage, stdout); exit(0);
		default: err = -EINVAL; break;
		}
	}
	if (!err && optind < argc) {
		fprintf(stderr, "tcprio agent: unexpected argument '%s'\n", argv[optind]);
		err = -EINVAL;
	}
	if (!err && !o->no_kube && (!o->node_name || !*o->node_name)) {
		fprintf(stderr, "tcprio agent: no node name: set --node-name or the NODE_NAME environment variable\n");
		err = -EINVAL;
	}
	if (!err && o->uplink_rate_bps && o->n_uplinks == 0) {
		fprintf(stderr, "tcprio agent: --uplink-rate needs at least one --uplink\n");
		err = -EINVAL;
	}
	if (err) {
		fputs(agent_usage, stderr);
		return 2;
	}
	o->watch.node_name = o->node_name;
	return 0;
}

/* ---- class table ------------------------------------------------------ */

static int load_table(const char *path, struct class_table *t)
{
	char err[512] = "";
	int ret;

	if (!path)
		return class_table_defaults(t);
	ret = class_table_load_file(path, t, err, sizeof(err));
	if (ret < 0)
		pr_warn("config %s rejected: %s", path, err[0] ? err : strerror(-ret));
	return ret;
}

/* The HTB tree selects leaves by skb->priority = 1:minor (uplink_qdisc.h):
 * with --uplink-rate every class must use major 1. */
static int check_table_for_htb(const struct agent *a, const struct class_table *t)
{
	if (!a->o.uplink_rate_bps)
		return 0;
	for (int i = 0; i < t->n_classes; i++) {
		uint32_t prio = t->classes[i].priority;

		if (prio >> 16 != UPLINK_QDISC_MAJOR) {
			pr_warn("class %s: priority %x:%x cannot select a leaf of the uplink HTB tree "
				"(--uplink-rate): expected 1:MINOR", t->classes[i].name, prio >> 16,
				prio & 0xffff);
			return -EINVAL;
		}
	}
	return 0;
}

static void install_uplink_qdiscs(struct agent *a)
{
	if (!a->o.uplink_rate_bps)
		return;
	for (int i = 0; i < a->o.n_uplinks; i++) {
		int ifindex = (int)if_nametoindex(a->o.uplinks[i]);

		if (!ifindex)
			continue; /* attached when it appears */
		if (uplink_qdisc_install(ifindex, a->o.uplink_rate_bps, &a->table) < 0)
			pr_warn("uplink %s: HTB tree not installed", a->o.uplinks[i]);
	}
}

static bool config_changed(struct agent *a)
{
	struct stat st;

	if (!a->o.config_path || stat(a->o.config_path, &st) < 0)
		return false; /* a missing file keeps the running table */
	if (st.st_ino == a->config_stat.st_ino && st.st_dev == a->config_stat.st_dev &&
	    st.st_size == a->config_stat.st_size &&
	    st.st_mtim.tv_sec == a->config_stat.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == a->config_stat.st_mtim.tv_nsec)
		return false;
	a->config_stat = st;
	return true;
}

/* Load the file again; on success swap the table in and re-derive all pods. */
static void reload_config(struct agent *a)
{
	struct class_table fresh, old;

	memset(&fresh, 0, sizeof(fresh));
	if (load_table(a->o.config_path, &fresh) < 0 || check_table_for_htb(a, &fresh) < 0) {
		pr_warn("config %s: keeping the running class table", a->o.config_path);
		class_table_free(&fresh);
		return;
	}
	pthread_mutex_lock(&a->lock);
	old = a->table;
	a->table = fresh;
	if (endpoint_sync_set_table(a->sync, &a->table) < 0)
		pr_warn("config %s: maps not fully updated", a->o.config_path);
	install_uplink_qdiscs(a);
	pthread_mutex_unlock(&a->lock);
	class_table_free(&old);
	pr_info("config %s reloaded: %d classes, default %s, classification %s", a->o.config_path,
		a->table.n_classes, a->table.classes[a->table.default_class].name,
		a->table.enabled ? "on" : "off");
}

/* ---- interfaces ------------------------------------------------------- */

static bool is_uplink(const struct agent *a, const char *name)
{
	for (int i = 0; i < a->o.n_uplinks; i++)
		if (strcmp(a->o.uplinks[i], name) == 0)
			return true;
	return false;
}

static void on_link(void *ctx, int ifindex, const char *name)
{
	struct agent *a = ctx;
	bool uplink = is_uplink(a, name);
	enum tcprio_hook hook = uplink ? TCPRIO_HOOK_UPLINK : TCPRIO_HOOK_POD_EDGE;
	int ret = datapath_attach(&a->dp, ifindex, hook);

	if (ret < 0) {
		pr_warn("%s: attach %s program failed: %s", name, uplink ? "uplink" : "pod-edge",
			strerror(-ret));
		return;
	}
	pr_info("%s: %s program attached (ifindex %d)", name, uplink ? "uplink" : "pod-edge", ifindex);
	if (uplink) {
		atomic_fetch_add(&a->uplinks_attached, 1);
		if (a->o.uplink_rate_bps) {
			pthread_mutex_lock(&a->lock);
			if (uplink_qdisc_install(ifindex, a->o.uplink_rate_bps, &a->table) < 0)
				pr_warn("uplink %s: HTB tree not installed", name);
			pthread_mutex_unlock(&a->lock);
		}
	}
}

static int start_link_watch(struct agent *a)
{
	const char *globs[AGENT_MAX_GLOBS + AGENT_MAX_UPLINKS];
	int n = 0;

	for (int i = 0; i < a->o.n_globs; i++)
		globs[n++] = a->o.globs[i];
	for (int i = 0; i < a->o.n_uplinks; i++)
		globs[n++] = a->o.uplinks[i];
	a->link_watch = link_watch_start(globs, n, on_link, a);
	if (!a->link_watch) {
		pr_warn("link watch: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* ---- Kubernetes ------------------------------------------------------- */

/* One info line per event that changed the maps; debug otherwise. */
static void log_pod_event(const char *type, const struct pod *p, const struct pod_policy *pol,
			  const struct class_table *t, int writes, int ret)
{
	static const char *sources[] = { "default", "annotation", "label rule", "manual",
					 "bad annotation" };
	const char *source = pol->source < 5 ? sources[pol->source] : "?";

	if (ret < 0)
		pr_warn("pod %s/%s %s: maps not fully updated: %s", p->namespace_, p->name, type,
			strerror(-ret));
	else if (writes == 0)
		pr_debug("pod %s/%s %s: no change (resourceVersion %s)", p->namespace_, p->name,
			 type, p->resource_version);
	else if (strcmp(type, "DELETED") == 0 || !pol->wants_entry)
		pr_info("pod %s/%s %s: entries removed (%d map writes)", p->namespace_, p->name,
			type, writes);
	else
		pr_info("pod %s/%s %s: class %s (%s), %d IPs, %d port rules (%d map writes)",
			p->namespace_, p->name, type, t->classes[pol->class_id].name, source,
			p->n_ips, pol->n_ports, writes);
}

static void list_buffer_clear(struct list_buffer *b)
{
	for (size_t i = 0; i < b->n; i++)
		pod_free(&b->pods[i]);
	free(b->pods);
	memset(b, 0, sizeof(*b));
}

static void on_list_page(void *ctx, json_t *items)
{
	struct agent *a = ctx;
	struct list_buffer *b = &a->list;
	size_t n = json_array_size(items);
	char err[256];

	if (b->n + n > b->cap) {
		size_t cap = (b->n + n) * 2;
		struct pod *grown = realloc(b->pods, cap * sizeof(*grown));

		if (!grown) {
			pr_warn("pod list: out of memory for %zu pods", b->n + n);
			return; /* the commit sees fewer pods: they come back with the next relist */
		}
		b->pods = grown;
		b->cap = cap;
	}
	for (size_t i = 0; i < n; i++) {
		struct pod *p = &b->pods[b->n];

		memset(p, 0, sizeof(*p));
		err[0] = '\0';
		if (pod_from_json(json_array_get(items, i), p, err, sizeof(err)) < 0) {
			pr_warn("pod list item skipped: %s", err);
			continue;
		}
		if (err[0])
			pr_info("pod %s/%s: %s", p->namespace_, p->name, err);
		b->n++;
	}
}

static void on_list_abort(void *ctx)
{
	list_buffer_clear(&((struct agent *)ctx)->list);
}

/* The list is complete: its pods replace the whole set. */
static void on_list(void *ctx, json_t *unused, const char *resource_version)
{
	struct agent *a = ctx;
	uint64_t start = now_ns(CLOCK_MONOTONIC);
	size_t n = a->list.n;
	int ret;

	pthread_mutex_lock(&a->lock);
	ret = endpoint_sync_replace_all(a->sync, a->list.pods, (int)n);
	pthread_mutex_unlock(&a->lock);
	list_buffer_clear(&a->list);
	malloc_trim(0); /* give the list's memory back to the system */
	metrics_note_relist(&a->metrics);
	metrics_observe_convergence_ns(&a->metrics, now_ns(CLOCK_MONOTONIC) - start);
	if (ret < 0)
		pr_warn("pod list (resourceVersion %s): maps not fully updated: %s", resource_version,
			strerror(-ret));
	metrics_note_sync(&a->metrics, (int64_t)now_ns(CLOCK_REALTIME));
	atomic_store(&a->metrics.synced, true);
	pr_info("pod list synced: %zu pods, %d endpoints (resourceVersion %s)", n,
		endpoint_sync_endpoint_count(a->sync), resource_version);
}

static void on_event(void *ctx, const char *type, json_t *obj)
{
	struct agent *a = ctx;
	uint64_t start = now_ns(CLOCK_MONOTONIC);
	struct pod_policy pol;
	struct pod p;
	char err[256] = "";
	int ret, writes;

	memset(&p, 0, sizeof(p));
	if (pod_from_json(obj, &p, err, sizeof(err)) < 0) {
		pr_warn("watch %s event skipped: %s", type, err);
		return;
	}
	if (err[0])
		pr_info("pod %s/%s: %s", p.namespace_, p.name, err);
	pthread_mutex_lock(&a->lock);
	if (strcmp(type, "DELETED") == 0)
		ret = endpoint_sync_delete(a->sync, &p);
	else
		ret = endpoint_sync_upsert(a->sync, &p);
	writes = endpoint_sync_last_writes(a->sync);
	metrics_observe_convergence_ns(&a->metrics, now_ns(CLOCK_MONOTONIC) - start);
	if (log_get_level() >= LOG_LVL_INFO) {
		policy_decide(&a->table, &p, &pol);
		log_pod_event(type, &p, &pol, &a->table, writes, ret);
	}
	pthread_mutex_unlock(&a->lock);
	metrics_note_sync(&a->metrics, (int64_t)now_ns(CLOCK_REALTIME));
	pod_free(&p);
}

static void on_status(void *ctx, const char *what)
{
	struct agent *a = ctx;

	if (strcmp(what, "reconnect") == 0)
		metrics_note_reconnect(&a->metrics);
}

static void *kube_thread_main(void *arg)
{
	struct agent *a = arg;
	struct kube_pod_handler h = {
		.on_list = on_list, .on_list_page = on_list_page, .on_list_abort = on_list_abort,
		.on_event = on_event, .on_status = on_status, .ctx = a,
	};

	kube_pod_watch_run(&a->kube, &a->o.watch, &h, &a->stop);
	return NULL;
}

/* endpoint_sync logged a new warning for p (called under a->lock). */
static void on_policy_warning(void *ctx, const struct pod *p, const char *warning)
{
	struct agent *a = ctx;

	kube_events_report(a->events, p->namespace_, p->name, p->uid, "BadAnnotation", warning);
}

/* Report bad annotations as Events; a reporter that cannot start only
 * costs the Events (the warning log lines stay). */
static void start_events(struct agent *a)
{
	if (a->o.no_events)
		return;
	a->events = kube_events_start(&a->kube, a->o.node_name);
	if (!a->events) {
		pr_warn("events: reporter not started (%s); bad annotations are only logged",
			strerror(errno));
		return;
	}
	pthread_mutex_lock(&a->lock);
	endpoint_sync_on_warning(a->sync, on_policy_warning, a);
	pthread_mutex_unlock(&a->lock);
}

/* Read the kubeconfig or the in-cluster service account; first of all, so
 * that a bad configuration stops the agent before it touches the datapath. */
static int load_kube_config(struct agent *a)
{
	char err[512] = "";
	int ret;

	if (a->o.no_kube)
		return 0;
	if (a->o.kubeconfig)
		ret = kube_config_from_file(&a->kube, a->o.kubeconfig, err, sizeof(err));
	else
		ret = kube_config_in_cluster(&a->kube, NULL, err, sizeof(err));
	if (ret < 0)
		pr_warn("kubernetes config (%s): %s; the datapath was not touched",
			a->o.kubeconfig ? a->o.kubeconfig : "in-cluster", err);
	return ret;
}

static int start_kube(struct agent *a)
{
	int ret;

	start_events(a); /* before the watch, so the first list's warnings are reported */
	ret = pthread_create(&a->kube_thread, NULL, kube_thread_main, a);
	if (ret) {
		pr_warn("kubernetes watch thread: %s", strerror(ret));
		return -ret;
	}
	a->kube_started = true;
	return 0;
}

/* ---- metrics ---------------------------------------------------------- */

static int start_metrics(struct agent *a)
{
	char host[128], err[256] = "";
	uint16_t port;

	if (strcmp(a->o.metrics_address, "off") == 0)
		return 0;
	if (metrics_parse_address(a->o.metrics_address, host, sizeof(host), &port, err, sizeof(err)) < 0) {
		pr_warn("--metrics-address: %s", err);
		return -EINVAL;
	}
	a->metrics_server = metrics_server_start(host, port, &a->metrics, &a->dp.maps, err, sizeof(err));
	if (!a->metrics_server) {
		pr_warn("metrics server on %s: %s", a->o.metrics_address, err);
		return -EADDRINUSE;
	}
	pr_info("metrics on http://%s:%u/metrics", host, metrics_server_port(a->metrics_server));
	return 0;
}

/* ---- life cycle ------------------------------------------------------- */

/*
 * One agent per pin folder: an exclusive flock(2) on the folder, held for
 * the life of the process (the kernel drops it on exit, kill -9 included).
 * Two agents on one folder would overwrite each other's maps.
 */
static int lock_pin_dir(struct agent *a)
{
	a->pin_lock_fd = open(a->o.pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->pin_lock_fd < 0)
		return errno == ENOENT ? 0 : -errno; /* first start: locked after load */
	if (flock(a->pin_lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int err = -errno;

		if (err == -EWOULDBLOCK)
			pr_warn("another tcprio agent is running with pin folder %s; "
				"stop it first (one agent per folder)", a->o.pin_dir);
		close(a->pin_lock_fd);
		a->pin_lock_fd = -1;
		return err;
	}
	return 1;
}

static void warn_missing_uplinks(const struct agent *a)
{
	for (int i = 0; i < a->o.n_uplinks; i++)
		if (!if_nametoindex(a->o.uplinks[i]))
			pr_warn("uplink %s does not exist (yet): it is attached when it appears",
				a->o.uplinks[i]);
}

/* Check every input, lock the pin folder, then load and attach. */
static int agent_start(struct agent *a)
{
	int locked, ret;

	a->pin_lock_fd = -1;
	if (load_table(a->o.config_path, &a->table) < 0 || check_table_for_htb(a, &a->table) < 0)
		return -EINVAL;
	if (a->o.config_path)
		stat(a->o.config_path, &a->config_stat);
	ret = load_kube_config(a);
	if (ret < 0)
		return ret;
	locked = lock_pin_dir(a);
	if (locked < 0)
		return locked;
	ret = datapath_load(&a->dp, a->o.pin_dir);
	if (ret < 0) {
		pr_warn("datapath not loaded at %s: %s", a->o.pin_dir, strerror(-ret));
		return ret;
	}
	if (!locked && (ret = lock_pin_dir(a)) < 0)
		return ret;
	atomic_store(&a->metrics.pinned, true);
	a->sync = endpoint_sync_new(&a->dp.maps, &a->table);
	if (!a->sync)
		return -ENOMEM;
	ret = endpoint_sync_set_table(a->sync, &a->table);
	if (ret < 0)
		pr_warn("class table not fully written: %s", strerror(-ret));
	pr_info("datapath pinned at %s: %d classes, default %s", a->o.pin_dir, a->table.n_classes,
		a->table.classes[a->table.default_class].name);
	ret = start_metrics(a);
	if (ret < 0)
		return ret;
	warn_missing_uplinks(a);
	ret = start_link_watch(a);
	if (ret < 0)
		return ret;
	if (a->o.no_kube)
		atomic_store(&a->metrics.synced, true);
	else if ((ret = start_kube(a)) < 0)
		return ret;
	return 0;
}

static void agent_stop(struct agent *a)
{
	a->stop = 1;
	if (a->kube_started)
		pthread_join(a->kube_thread, NULL);
	link_watch_stop(a->link_watch);
	metrics_server_stop(a->metrics_server);
	endpoint_sync_free(a->sync);
	datapath_close(&a->dp);
	kube_events_stop(a->events); /* borrows a->kube */
	kube_config_free(&a->kube);
	class_table_free(&a->table);
	if (a->pin_lock_fd >= 0)
		close(a->pin_lock_fd);
}

/*
 * Every RECHECK_S seconds: each matching interface must run THIS agent's
 * program; re-attach where a filter is missing or runs another program
 * (removed by hand, by `tcprio detach`, or replaced by another pin folder's
 * agent).  Returns how many were re-attached.
 */
#define RECHECK_S 10

static int reattach_missing(struct agent *a)
{
	const char *globs[AGENT_MAX_GLOBS];
	struct if_nameindex *ifs = if_nameindex(), *i;
	__u32 mine[TCPRIO_HOOK_COUNT] = { 0 };
	int fixed = 0;

	if (!ifs)
		return 0;
	for (int g = 0; g < a->o.n_globs; g++)
		globs[g] = a->o.globs[g];
	datapath_prog_id(&a->dp, TCPRIO_HOOK_POD_EDGE, &mine[TCPRIO_HOOK_POD_EDGE]);
	datapath_prog_id(&a->dp, TCPRIO_HOOK_UPLINK, &mine[TCPRIO_HOOK_UPLINK]);
	for (i = ifs; i->if_index; i++) {
		bool uplink = is_uplink(a, i->if_name);
		enum tcprio_hook hook = uplink ? TCPRIO_HOOK_UPLINK : TCPRIO_HOOK_POD_EDGE;
		__u32 cur = 0;

		if (!uplink && !link_watch_match(globs, a->o.n_globs, i->if_name))
			continue;
		if (datapath_attached_prog_id((int)i->if_index, hook, &cur) == 1 && cur == mine[hook])
			continue;
		pr_warn("%s: tcprio filter %s; re-attaching", i->if_name,
			cur ? "runs another pin folder's program" : "missing");
		if (datapath_attach(&a->dp, (int)i->if_index, hook) == 0)
			fixed++;
	}
	if_freenameindex(ifs);
	return fixed;
}

/* Ready once every named uplink that exists is attached. */
static void update_ready(struct agent *a)
{
	int present = 0;

	for (int i = 0; i < a->o.n_uplinks; i++)
		if (if_nametoindex(a->o.uplinks[i]))
			present++;
	atomic_store(&a->metrics.attached, atomic_load(&a->uplinks_attached) >= present);
}

/* Wait for signals; poll the config file once a second. */
static void agent_wait(struct agent *a, const sigset_t *sigs)
{
	struct timespec tick = { .tv_sec = 1 };
	unsigned int ticks = 0;
	siginfo_t info;

	for (;;) {
		int sig = sigtimedwait(sigs, &info, &tick);

		if (++ticks % RECHECK_S == 0) {
			reattach_missing(a);
			pthread_mutex_lock(&a->lock);
			endpoint_sync_retry_failed(a->sync);
			pthread_mutex_unlock(&a->lock);
		}
		update_ready(a);
		if (sig == SIGTERM || sig == SIGINT) {
			pr_info("signal %d: stopping; the datapath stays attached", sig);
			return;
		}
		if (sig == SIGHUP || config_changed(a))
			reload_config(a);
	}
}

int cmd_agent(int argc, char **argv)
{
	static struct agent a; /* static: zeroed, and large */
	sigset_t sigs;
	int ret;

	ret = parse_options(argc, argv, &a.o);
	if (ret)
		return ret;
	log_route_libbpf();
	/* Every thread inherits this mask; only the main thread takes signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&a.lock, NULL);
	metrics_init(&a.metrics);
	ret = agent_start(&a);
	if (ret == 0)
		agent_wait(&a, &sigs);
	agent_stop(&a);
	return ret == 0 ? 0 : 1;
}
