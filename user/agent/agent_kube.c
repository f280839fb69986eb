/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * agent_kube.c - the agent's Kubernetes side: the pod list (page by page)
 * and watch events go through endpoint_sync into the maps, under
 * agent.lock; bad annotations become Events on their pods.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/agent_internal.h"
#include "lib/log.h"
#include "policy/policy.h"

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
	uint64_t start = agent_now_ns(CLOCK_MONOTONIC);
	size_t n = a->list.n;
	int ret;

	pthread_mutex_lock(&a->lock);
	ret = endpoint_sync_replace_all(a->sync, a->list.pods, (int)n);
	pthread_mutex_unlock(&a->lock);
	list_buffer_clear(&a->list);
	malloc_trim(0); /* give the list's memory back to the system */
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

static void on_event(void *ctx, const char *type, json_t *obj)
{
	struct agent *a = ctx;
	uint64_t start = agent_now_ns(CLOCK_MONOTONIC);
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
	metrics_observe_convergence_ns(&a->metrics, agent_now_ns(CLOCK_MONOTONIC) - start);
	if (log_get_level() >= LOG_LVL_INFO) {
		policy_decide(&a->table, &p, &pol);
		log_pod_event(type, &p, &pol, &a->table, writes, ret);
	}
	pthread_mutex_unlock(&a->lock);
	metrics_note_sync(&a->metrics, (int64_t)agent_now_ns(CLOCK_REALTIME));
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


void agent_kube_stop(struct agent *a)
{
	if (a->kube_started)
		pthread_join(a->kube_thread, NULL);
	a->kube_started = false;
}
