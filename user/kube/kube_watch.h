/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kube_watch.h - list + watch of any Kubernetes resource collection (Pods,
 * Nodes, Namespaces, ...) as JSON objects (libcurl for HTTPS, jansson for
 * JSON).  Most callers want kube_informer.h instead: typed objects, their
 * own thread and two callbacks.
 */
#ifndef TCPRIO_KUBE_WATCH_H
#define TCPRIO_KUBE_WATCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "kube/kube_client.h"

/* Which collection to list and watch.  Strings are borrowed for the run. */
struct kube_resource {
	const char *kind;           /* object kind for log lines: "Pod", "Node", ... */
	const char *path;           /* collection path, e.g. "/api/v1/pods",
	                               "/api/v1/nodes", "/api/v1/namespaces" */
	const char *field_selector; /* unescaped, e.g. "spec.nodeName=n1"; NULL: all */
	const char *label_selector; /* unescaped, e.g. "app=x"; NULL: all */
};

/* Callbacks; called from the thread running kube_watch_run. */
struct kube_watch_handler {
	/* A full list: objs is a JSON array of objects (all pages joined);
	 * it replaces the whole set. */
	void (*on_list)(void *ctx, json_t *objs, const char *resource_version);
	/* One watch event: type "ADDED", "MODIFIED" or "DELETED". */
	void (*on_event)(void *ctx, const char *type, json_t *obj);
	/* Connection state and counters (may be NULL): "reconnect" (a watch
	 * is opened again), "relist" (410 Gone/Expired: a full list follows),
	 * "bookmark" (a BOOKMARK moved the resourceVersion), "list-synced"
	 * (on_list was called). */
	void (*on_status)(void *ctx, const char *what);
	void *ctx;
	/* Optional, for large lists: when set, each page's items are handed
	 * over as they arrive (items is borrowed for the call) instead of
	 * being joined, and on_list is called with objs == NULL to commit
	 * them as the whole set.  on_list_abort (optional) says that the pages
	 * handed over since the last commit are void (a list failed midway or
	 * restarted after an expired continue token). */
	void (*on_list_page)(void *ctx, json_t *items);
	void (*on_list_abort)(void *ctx);
};

/* 0 in a field means its default; negative values are -EINVAL. */
struct kube_watch_opts {
	int page_limit;          /* list page size (limit=), default 500 */
	int list_timeout_s;      /* one list page, whole transfer, default 120 */
	int watch_timeout_s;     /* timeoutSeconds= asked of the server, default 300 */
	int idle_timeout_s;      /* restart a watch silent this long, default 90 */
	int backoff_min_ms;      /* default 200 */
	int backoff_max_ms;      /* default 30000 */
};

/* List (GET <path>?fieldSelector=..&labelSelector=.., paged with
 * limit/continue; an expired continue token restarts the list), then watch
 * (watch=1&allowWatchBookmarks=true&resourceVersion=RV&timeoutSeconds=N),
 * until *stop: resumes from the last resourceVersion after a dropped or
 * ended watch, relists on 410 Gone/Expired, restarts a watch silent for
 * idle_timeout_s, re-reads token_file on 401, and retries an unreachable
 * server with capped exponential backoff and jitter (delay in [d/2, d],
 * d = min(backoff_max_ms, backoff_min_ms * 2^failures)).  TLS is always
 * verified.  on_list is never given a partial list.  Bounded: a list page
 * of more than 16 MiB or 96 MiB estimated parsed, a watch event of more
 * than 4 MiB or 16 MiB parsed, or a page taking list_timeout_s, is dropped
 * with a warning (then backoff; a skipped event relists).
 * Returns 0 within about 100 ms of *stop becoming true, -EINVAL for bad
 * options, a resource without path or a missing handler, -ENOMEM. */
int kube_watch_run(const struct kube_config *c, const struct kube_resource *r,
		   const struct kube_watch_opts *o, const struct kube_watch_handler *h,
		   const atomic_bool *stop);

/* kube_watch_run on the Pods of node_name (fieldSelector
 * spec.nodeName=NODE); -EINVAL if node_name is NULL or empty. */
int kube_pod_watch_run(const struct kube_config *c, const char *node_name,
		       const struct kube_watch_opts *o, const struct kube_watch_handler *h,
		       const atomic_bool *stop);

#endif
