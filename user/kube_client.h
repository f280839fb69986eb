/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kube_client.h - list and watch the pods of one node on the Kubernetes API
 * (libcurl for HTTPS, jansson for JSON).
 */
#ifndef TCPRIO_KUBE_CLIENT_H
#define TCPRIO_KUBE_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <jansson.h>

struct kube_config {
	char server[512];      /* https://host:port, no trailing slash */
	char *ca_pem;          /* CA bundle (PEM), always verified */
	char *token;           /* bearer token, or NULL */
	char *client_cert_pem; /* client certificate (PEM), or NULL */
	char *client_key_pem;  /* client key (PEM), or NULL */
	char token_file[512];  /* re-read on 401 (projected tokens rotate) */
};

/* In-cluster: KUBERNETES_SERVICE_HOST/PORT and the service-account files
 * under /var/run/secrets/kubernetes.io/serviceaccount (or dir if non-NULL).
 * Returns 0 or -errno with err set. */
int kube_config_in_cluster(struct kube_config *c, const char *dir, char *err, size_t errlen);
/* kubeconfig: current-context's cluster and user: server,
 * certificate-authority(-data), token / tokenFile, client-certificate(-data),
 * client-key(-data).  Returns 0 or -errno/-EINVAL with err set. */
int kube_config_from_file(struct kube_config *c, const char *path, char *err, size_t errlen);
void kube_config_free(struct kube_config *c);

/* Callbacks; called from the thread running kube_pod_watch_run. */
struct kube_pod_handler {
	/* A full list: pods is a JSON array of Pod objects (all pages joined);
	 * it replaces the whole set. */
	void (*on_list)(void *ctx, json_t *pods, const char *resource_version);
	/* One watch event: type "ADDED", "MODIFIED" or "DELETED". */
	void (*on_event)(void *ctx, const char *type, json_t *pod);
	/* Connection state and counters for metrics (may be NULL). */
	void (*on_status)(void *ctx, const char *what); /* "reconnect", "relist", "bookmark" */
	void *ctx;
};

struct kube_watch_opts {
	const char *node_name;   /* fieldSelector=spec.nodeName=... */
	int page_limit;          /* list page size (limit=), default 500 */
	int watch_timeout_s;     /* timeoutSeconds= asked of the server, default 300 */
	int idle_timeout_s;      /* restart a watch silent this long, default 90 */
	int backoff_min_ms;      /* default 200 */
	int backoff_max_ms;      /* default 30000 */
};

/* List, then watch, forever: resumes from the last resourceVersion, relists
 * on 410 Gone, reconnects with capped exponential backoff and jitter.
 * Returns 0 when *stop becomes non-zero, -EINVAL for bad options. */
int kube_pod_watch_run(const struct kube_config *c, const struct kube_watch_opts *o,
		       const struct kube_pod_handler *h, volatile sig_atomic_t *stop);

#endif
