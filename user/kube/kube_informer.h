/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kube_informer.h - keep a set of Kubernetes objects of one resource in step
 * with the API server, on a thread of its own, and hand them to the caller
 * as C objects through two callbacks: the full set (after each complete
 * list) and one change (each watch event).  Paging, bookmarks, resume at
 * resourceVersion, 410 relists, backoff and idle restarts: kube_watch.h.
 *
 * Adding a resource: write its parser (JSON object -> C struct, like
 * pod_from_json in pod.c), describe it with a struct kube_object_type (see
 * kube_pod_type in kube_objects.c), and start an informer with it.
 */
#ifndef TCPRIO_KUBE_INFORMER_H
#define TCPRIO_KUBE_INFORMER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "kube/kube_client.h"
#include "kube/kube_watch.h"

/* One kind of object: where it lives on the API and how JSON becomes C. */
struct kube_object_type {
	const char *noun;    /* for log lines: "pod", "node", "namespace" */
	const char *kind;    /* API kind: "Pod", "Node", "Namespace" */
	const char *path;    /* collection path: "/api/v1/pods" */
	size_t size;         /* bytes of one C object */
	/* Fill obj (size bytes, zeroed by the caller) from json.  0: obj is
	 * valid and must be freed; err is "" or holds notes worth logging.
	 * < 0: the object is skipped, obj holds nothing to free and err says
	 * why. */
	int (*parse)(const json_t *json, void *obj, char *err, size_t errlen);
	/* Free what parse allocated (not obj itself). */
	void (*free)(void *obj);
	/* "namespace/name" (or "name") of obj, for log lines; returns buf. */
	const char *(*name)(const void *obj, char *buf, size_t len);
};

/* Pods (struct pod, kube/pod.h; parser pod_from_json). */
extern const struct kube_object_type kube_pod_type;
/* Namespaces (struct kube_namespace, kube/namespace.h). */
extern const struct kube_object_type kube_namespace_type;
/* Nodes (struct node, kube/node.h; parser node_from_json). */
extern const struct kube_object_type kube_node_type;

enum kube_event_type { KUBE_ADDED, KUBE_MODIFIED, KUBE_DELETED };

/* "ADDED", "MODIFIED" or "DELETED". */
const char *kube_event_type_name(enum kube_event_type t);

/* What the informer hands over; both run on the informer's thread, one at
 * a time, so they need no lock against each other. */
struct kube_informer_cb {
	/* The full set, replacing everything handed over before: objs is an
	 * array of n objects of type->size bytes (n may be 0), owned by the
	 * informer and valid for the call only (copy what you keep). */
	void (*on_list)(void *ctx, void *objs, size_t n, const char *resource_version);
	/* One change; obj is borrowed for the call. */
	void (*on_event)(void *ctx, enum kube_event_type type, const void *obj);
	void *ctx;
};

struct kube_informer_config {
	const struct kube_config *kube;       /* borrowed; must outlive the informer */
	const struct kube_object_type *type;  /* e.g. &kube_pod_type */
	const char *field_selector;           /* e.g. "spec.nodeName=n1", or NULL */
	const char *label_selector;           /* or NULL */
	struct kube_watch_opts watch;         /* paging, timeouts, backoff (0: defaults) */
	struct kube_informer_cb cb;
	/* Optional (may be NULL): incremented for every re-opened watch, e.g.
	 * the agent's tcprio_watch_reconnects_total. */
	atomic_uint_fast64_t *reconnects;
};

struct kube_informer; /* opaque: thread, stop flag, list buffer */

/* Copy cfg (selectors included) and start the thread.  Returns NULL with
 * errno EINVAL (no kube, type, parse/free or callback), ENOMEM, or the
 * error of pthread_create. */
struct kube_informer *kube_informer_start(const struct kube_informer_config *cfg);
/* Stop the thread (returns within about 100 ms plus a running callback),
 * free everything.  NULL is fine. */
void kube_informer_stop(struct kube_informer *inf);

#endif
