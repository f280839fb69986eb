/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * agent_kube.c - the agent's Kubernetes side: a pod informer
 * (kube/kube_informer.h) hands over the full pod list and each pod event;
 * both go through endpoint_sync into the maps, under agent.lock.  Bad
 * annotations become Events on their pods.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "agent/agent_internal.h"
#include "lib/log.h"
#include "policy/policy.h"
#include "kube/namespace.h"

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

/*
 * A pod IP that is an address of this node (not a host-network pod: those
 * get no entry at all) would take over the classification of the node's
 * own and SNATed traffic.  Such IPs are dropped from the pod before the
 * sync sees it, with a warning (once per pod and IP) and an Event.  The
 * node's addresses come from getifaddrs(3), read again when older than
 * NODE_IPS_TTL_NS.
 */
#define NODE_IPS_MAX 256
#define NODE_IPS_TTL_NS (2ull * 1000000000ull)

static struct tcprio_ip node_ips[NODE_IPS_MAX];
static int n_node_ips;
static uint64_t node_ips_ns;
static char warned_node_ip[64][112]; /* "uid ip" already warned about (a ring) */
static unsigned int warned_next;

/* Refresh node_ips if stale (called under a->lock). */
static void load_node_ips(void)
{
	struct ifaddrs *ifs, *i;
	uint64_t now = agent_now_ns(CLOCK_MONOTONIC);

	if (node_ips_ns && now - node_ips_ns < NODE_IPS_TTL_NS)
		return;
	node_ips_ns = now;
	if (getifaddrs(&ifs) < 0)
		return;
	n_node_ips = 0;
	for (i = ifs; i && n_node_ips < NODE_IPS_MAX; i = i->ifa_next) {
		char text[INET6_ADDRSTRLEN];
		const void *addr;

		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET &&
				     i->ifa_addr->sa_family != AF_INET6))
			continue;
		addr = i->ifa_addr->sa_family == AF_INET ?
		       (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr :
		       (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		if (inet_ntop(i->ifa_addr->sa_family, addr, text, sizeof(text)) &&
		    ip_from_string(text, &node_ips[n_node_ips]) == 0)
			n_node_ips++;
	}
	freeifaddrs(ifs);
}

static bool is_node_ip(const struct tcprio_ip *ip)
{
	for (int i = 0; i < n_node_ips; i++)
		if (!memcmp(&node_ips[i], ip, sizeof(*ip)))
			return true;
	return false;
}

/* Drop p's IPs that are node addresses (warn once, report an Event).
 * Called under a->lock. */
static void drop_node_ips(struct agent *a, struct pod *p)
{
	char ip[INET6_ADDRSTRLEN], key[112], msg[512];
	bool seen;

	if (p->host_network)
		return;
	load_node_ips();
	for (int i = 0; i < p->n_ips; i++) {
		if (!is_node_ip(&p->ips[i]))
			continue;
		ip_to_string(&p->ips[i], ip, sizeof(ip));
		snprintf(key, sizeof(key), "%.63s %s", p->uid, ip);
		seen = false;
		for (unsigned int k = 0; k < 64 && !seen; k++)
			seen = !strcmp(warned_node_ip[k], key);
		if (!seen) {
			snprintf(warned_node_ip[warned_next++ % 64], sizeof(key), "%s", key);
			snprintf(msg, sizeof(msg), "pod %s/%s: IP %s is an address of this node, "
				 "not the pod's own (the pod is not hostNetwork); skipped: it would "
				 "classify the node's own and SNATed traffic", p->namespace_, p->name, ip);
			pr_warn("%s", msg);
			kube_events_report(a->events, p->namespace_, p->name, p->uid,
					   "PodIPIsNodeAddress", msg);
		}
		memmove(&p->ips[i], &p->ips[i + 1], (size_t)(p->n_ips - i - 1) * sizeof(p->ips[0]));
		p->n_ips--;
		i--;
	}
}

/* The full pod list (kube_informer_cb.on_list): it replaces the whole set. */
static void on_pod_list(void *ctx, void *objs, size_t n, const char *resource_version)
{
	struct agent *a = ctx;
	uint64_t start = agent_now_ns(CLOCK_MONOTONIC);
	int ret;

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < n; i++)
		drop_node_ips(a, (struct pod *)objs + i);
	ret = endpoint_sync_replace_all(a->sync, objs, (int)n);
	agent_note_map_counts(a);
	host_sync_replace_pods(a->host, objs, (int)n);
	host_sync_rescan(a->host);
	pthread_mutex_unlock(&a->lock);
	metrics_note_relist(&a->metrics);
	metrics_observe_convergence_ns(&a->metrics, agent_now_ns(CLOCK_MONOTONIC) - start);
	if (ret < 0)
		pr_warn("pod list (resourceVersion %s): maps not fully updated: %s", resource_version,
			strerror(-ret));
	metrics_note_sync(&a->metrics, (int64_t)agent_now_ns(CLOCK_REALTIME));
	atomic_store(&a->metrics.synced, true);
	pr_info("pod list synced: %zu pods, %d endpoints (resourceVersion %s)", n,
		endpoint_sync_endpoint_count(a->sync), resource_version);
}

/* One pod event (kube_informer_cb.on_event). */
static void on_pod_event(void *ctx, enum kube_event_type t, const void *obj)
{
	struct agent *a = ctx;
	struct pod copy, *p = &copy;
	const char *type = kube_event_type_name(t);
	uint64_t start = agent_now_ns(CLOCK_MONOTONIC);
	struct pod_policy pol;
	int ret, writes;

	/* a shallow copy: only n_ips/ips change, the strings stay the informer's */
	copy = *(const struct pod *)obj;
	pthread_mutex_lock(&a->lock);
	drop_node_ips(a, p);
	if (t == KUBE_DELETED)
		ret = endpoint_sync_delete(a->sync, p);
	else
		ret = endpoint_sync_upsert(a->sync, p);
	writes = endpoint_sync_last_writes(a->sync);
	agent_note_map_counts(a);
	if (p->host_network) {
		host_sync_pod(a->host, p, t == KUBE_DELETED);
		host_sync_rescan(a->host);
	}
	metrics_observe_convergence_ns(&a->metrics, agent_now_ns(CLOCK_MONOTONIC) - start);
	if (log_get_level() >= LOG_LVL_INFO) {
		/* as the sync engine decided it: with the namespace's ceiling */
		policy_decide_ns(&a->table, p, endpoint_sync_ns_labels(a->sync, p), &pol);
		log_pod_event(type, p, &pol, &a->table, writes, ret);
	}
	pthread_mutex_unlock(&a->lock);
	metrics_note_sync(&a->metrics, (int64_t)agent_now_ns(CLOCK_REALTIME));
}

/* endpoint_sync logged a new warning for p (called under a->lock).  The
 * engine calls this once per change of the pod's annotation values (a
 * value fixed and then broken the same way again is a new change), so the
 * reporter's duplicate check, which would drop that second Event, is
 * skipped. */
static void on_policy_warning(void *ctx, const struct pod *p, const char *warning)
{
	struct agent *a = ctx;

	kube_events_report_change(a->events, p->namespace_, p->name, p->uid, "BadAnnotation",
				  warning);
}

/* endpoint_sync capped p's class to its namespace ceiling (under a->lock).
 * endpoint_sync calls this once per change of the cap (a pod uncapped and
 * capped again is a new change), so the reporter's duplicate check, which
 * would drop the second cap with the same message, is skipped. */
static void on_class_capped(void *ctx, const struct pod *p, const struct pod_policy *pol)
{
	struct agent *a = ctx;

	kube_events_report_change(a->events, p->namespace_, p->name, p->uid, "ClassCapped",
				  pol->capped_msg);
}

/* The full Namespace list: labels for the namespace ceilings. */
static void on_ns_list(void *ctx, void *objs, size_t n, const char *resource_version)
{
	struct agent *a = ctx;
	int ret;

	pthread_mutex_lock(&a->lock);
	ret = endpoint_sync_ns_replace_all(a->sync, objs, n);
	pthread_mutex_unlock(&a->lock);
	if (ret < 0)
		pr_warn("namespace list (resourceVersion %s): maps not fully updated: %s",
			resource_version, strerror(-ret));
	pr_info("namespace list synced: %zu namespaces (resourceVersion %s)", n,
		resource_version);
	atomic_store(&a->ns_listed, true);
}

/* Give the first Namespace list up to NS_LIST_WAIT_MS before the pods are
 * listed, so that pods start with their namespace's ceiling instead of the
 * strictest one (and no ClassCapped Event for that passing state).  A
 * Namespace watch that cannot list (no RBAC rule, API down) only delays
 * the pods by this much. */
#define NS_LIST_WAIT_MS 5000

static void wait_ns_list(struct agent *a)
{
	struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };

	for (int i = 0; i < NS_LIST_WAIT_MS / 10 && !atomic_load(&a->ns_listed); i++)
		nanosleep(&tick, NULL);
	if (!atomic_load(&a->ns_listed))
		pr_warn("namespace list not synced after %d ms: pods of namespaces not known "
			"get the strictest namespace ceiling until it is", NS_LIST_WAIT_MS);
}

/* One Namespace event: its pods are re-derived (relabel, deletion). */
static void on_ns_event(void *ctx, enum kube_event_type t, const void *obj)
{
	const struct kube_namespace *ns = obj;
	struct agent *a = ctx;
	int ret;

	pthread_mutex_lock(&a->lock);
	ret = t == KUBE_DELETED ? endpoint_sync_ns_delete(a->sync, ns->name) :
				  endpoint_sync_ns_set(a->sync, ns);
	pthread_mutex_unlock(&a->lock);
	if (ret < 0)
		pr_warn("namespace %s %s: maps not fully updated: %s", ns->name,
			kube_event_type_name(t), strerror(-ret));
	else
		pr_debug("namespace %s %s: %d labels (resourceVersion %s)", ns->name,
			 kube_event_type_name(t), ns->n_labels, ns->resource_version);
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
	endpoint_sync_on_capped(a->sync, on_class_capped, a);
	pthread_mutex_unlock(&a->lock);
}

/* Read the kubeconfig or the in-cluster service account; first of all, so
 * that a bad configuration stops the agent before it touches the datapath. */
int agent_kube_load_config(struct agent *a)
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

int agent_kube_start(struct agent *a)
{
	char sel[300];
	struct kube_informer_config c = {
		.kube = &a->kube, .type = &kube_pod_type, .field_selector = sel,
		.watch = a->o.watch, .reconnects = &a->metrics.watch_reconnects,
		.cb = { .on_list = on_pod_list, .on_event = on_pod_event, .ctx = a },
	};

	start_events(a); /* before the watch, so the first list's warnings are reported */
	if ((size_t)snprintf(sel, sizeof(sel), "spec.nodeName=%s", a->o.node_name) >= sizeof(sel)) {
		pr_warn("--node-name %s: longer than %zu bytes", a->o.node_name, sizeof(sel) - 20);
		return -EINVAL;
	}
	/* Namespaces first, so that their labels are usually known before
	 * the pods are (a pod of an unknown namespace gets the strictest
	 * ceiling until its namespace arrives). */
	a->namespaces = kube_informer_start(&(struct kube_informer_config){
		.kube = &a->kube, .type = &kube_namespace_type, .watch = a->o.watch,
		/* not counted in tcprio_watch_reconnects_total: that is the pod watch's */
		.cb = { .on_list = on_ns_list, .on_event = on_ns_event, .ctx = a },
	});
	if (!a->namespaces) {
		pr_warn("kubernetes namespace watch: %s", strerror(errno));
		return -errno;
	}
	if (a->table.n_ceilings || a->table.default_ceiling >= 0)
		wait_ns_list(a);
	a->pods = kube_informer_start(&c);
	if (!a->pods) {
		pr_warn("kubernetes pod watch: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

void agent_kube_stop(struct agent *a)
{
	kube_informer_stop(a->pods);
	a->pods = NULL;
	kube_informer_stop(a->namespaces);
	a->namespaces = NULL;
}

/* Split "https://HOST[:PORT]/..." (HOST may be [v6]) into host and port
 * (default 443).  0 or -EINVAL. */
static int split_server(const char *server, char *host, size_t hlen, char *port, size_t plen)
{
	const char *h = strstr(server, "://"), *end, *colon;

	h = h ? h + 3 : server;
	if (*h == '[') {
		end = strchr(++h, ']');
		if (!end)
			return -EINVAL;
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		end = h + strcspn(h, ":/");
		colon = *end == ':' ? end : NULL;
	}
	if (end == h || (size_t)(end - h) >= hlen)
		return -EINVAL;
	memcpy(host, h, (size_t)(end - h));
	host[end - h] = '\0';
	if (colon) {
		size_t n = strcspn(colon + 1, "/");

		if (n == 0 || n >= plen)
			return -EINVAL;
		memcpy(port, colon + 1, n);
		port[n] = '\0';
	} else {
		snprintf(port, plen, "443");
	}
	return 0;
}

int agent_kube_api_endpoints(struct agent *a, struct host_endpoint *out, int cap)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	char host[256], port[16];
	int n = 0, err;

	if (a->o.no_kube || !a->kube.server[0] ||
	    split_server(a->kube.server, host, sizeof(host), port, sizeof(port)))
		return 0;
	err = getaddrinfo(host, port, &hints, &res);
	if (err) {
		pr_warn("host rules: API server %s not resolved (%s); no built-in rule for it",
			a->kube.server, gai_strerror(err));
		return 0;
	}
	for (ai = res; ai && n < cap; ai = ai->ai_next) {
		struct host_endpoint *e = &out[n];

		memset(e, 0, sizeof(*e));
		if (ai->ai_family == AF_INET) {
			const struct sockaddr_in *sin = (const void *)ai->ai_addr;

			e->ip[10] = e->ip[11] = 0xff;
			memcpy(&e->ip[12], &sin->sin_addr, 4);
			e->port = ntohs(sin->sin_port);
		} else if (ai->ai_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const void *)ai->ai_addr;

			memcpy(e->ip, &sin6->sin6_addr, 16);
			e->port = ntohs(sin6->sin6_port);
		} else {
			continue;
		}
		n++;
	}
	freeaddrinfo(res);
	return n;
}

void agent_host_rules(struct agent *a)
{
	struct host_endpoint api[8];
	int n = agent_kube_api_endpoints(a, api, 8);
	int ret = host_sync_set_rules(a->host, &a->table, api, n);

	if (ret < 0)
		pr_warn("host rules: maps not fully updated: %s", strerror(-ret));
}
