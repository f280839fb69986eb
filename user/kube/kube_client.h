/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kube_client.h - list and watch the pods of one node on the Kubernetes API
 * (libcurl for HTTPS, jansson for JSON).
 */
#ifndef TCPRIO_KUBE_CLIENT_H
#define TCPRIO_KUBE_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* Default in-cluster service-account folder (token, ca.crt, namespace). */
#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Where the API server is and how to log in.  Strings are NUL-terminated
 * PEM text; free the pointers with kube_config_free(). */
struct kube_config {
	char server[512];      /* https://host:port, no trailing slash */
	char *ca_pem;          /* CA bundle (PEM), always verified */
	char *token;           /* bearer token, or NULL */
	char *client_cert_pem; /* client certificate (PEM), or NULL */
	char *client_key_pem;  /* client key (PEM), or NULL */
	char token_file[512];  /* re-read on 401 (projected tokens rotate), or "" */
};

/* In-cluster: KUBERNETES_SERVICE_HOST/PORT (an IPv6 host is put in
 * brackets) and the service-account files token and ca.crt under
 * KUBE_SA_DIR (or dir if non-NULL).  Returns 0, -ENOENT when the variables
 * are not set, or -errno with err set (c is then empty). */
int kube_config_in_cluster(struct kube_config *c, const char *dir, char *err, size_t errlen);
/* kubeconfig (YAML, libyaml): current-context's cluster and user: server
 * (must be https://), certificate-authority(-data), token / tokenFile,
 * client-certificate(-data), client-key(-data); *-data values are base64
 * (RFC 4648), relative paths are relative to the kubeconfig's folder.
 * exec/auth-provider plugins are not supported.  Returns 0 or -errno /
 * -EINVAL with err set naming the field (c is then empty). */
int kube_config_from_file(struct kube_config *c, const char *path, char *err, size_t errlen);
/* Free the strings of c (c itself is the caller's). */
void kube_config_free(struct kube_config *c);

/* Helpers shared by kubeconfig.c and kube_watch.c.  Read a whole file (at
 * most 4 MiB) into a NUL-terminated malloc'd *out; 0 or -errno. */
int kube_read_file(const char *path, char **out, size_t *len);
/* Read a bearer token file, trailing whitespace stripped; -EINVAL if empty. */
int kube_read_token(const char *path, char **out);

/* Callbacks; called from the thread running kube_pod_watch_run. */
struct kube_pod_handler {
	/* A full list: pods is a JSON array of Pod objects (all pages joined);
	 * it replaces the whole set. */
	void (*on_list)(void *ctx, json_t *pods, const char *resource_version);
	/* One watch event: type "ADDED", "MODIFIED" or "DELETED". */
	void (*on_event)(void *ctx, const char *type, json_t *pod);
	/* Connection state and counters for metrics (may be NULL): "reconnect"
	 * (a watch is opened again), "relist" (410 Gone/Expired: a full list
	 * follows), "bookmark" (a BOOKMARK moved the resourceVersion),
	 * "list-synced" (on_list was called). */
	void (*on_status)(void *ctx, const char *what);
	void *ctx;
	/* Optional, for large lists: when set, each page's items are handed
	 * over as they arrive (items is borrowed for the call) instead of
	 * being joined, and on_list is called with pods == NULL to commit
	 * them as the whole set.  on_list_abort (optional) says that the pages
	 * handed over since the last commit are void (a list failed midway or
	 * restarted after an expired continue token). */
	void (*on_list_page)(void *ctx, json_t *items);
	void (*on_list_abort)(void *ctx);
};

/* 0 in a numeric field means its default; negative values are -EINVAL. */
struct kube_watch_opts {
	const char *node_name;   /* fieldSelector=spec.nodeName=... (required) */
	int page_limit;          /* list page size (limit=), default 500 */
	int watch_timeout_s;     /* timeoutSeconds= asked of the server, default 300 */
	int idle_timeout_s;      /* restart a watch silent this long, default 90 */
	int backoff_min_ms;      /* default 200 */
	int backoff_max_ms;      /* default 30000 */
};

/* List (GET /api/v1/pods?fieldSelector=spec.nodeName=NODE, paged with
 * limit/continue; an expired continue token restarts the list), then watch
 * (watch=1&allowWatchBookmarks=true&resourceVersion=RV&timeoutSeconds=N),
 * forever: resumes from the last resourceVersion after a dropped or ended
 * watch, relists on 410 Gone/Expired, restarts a watch silent for
 * idle_timeout_s, re-reads token_file on 401, and retries an unreachable
 * server with capped exponential backoff and jitter (delay in
 * [d/2, d], d = min(backoff_max_ms, backoff_min_ms * 2^failures)).
 * TLS is always verified.  on_list is never given a partial list.
 * Returns 0 within about 100 ms of *stop becoming non-zero, -EINVAL for
 * bad options or a missing handler, -ENOMEM. */
int kube_pod_watch_run(const struct kube_config *c, const struct kube_watch_opts *o,
		       const struct kube_pod_handler *h, volatile sig_atomic_t *stop);

#endif
