/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kube_events.h - report problems with a pod as Kubernetes Events on that
 * pod (core/v1 Event, POST /api/v1/namespaces/NS/events), so that
 * `kubectl describe pod` and `kubectl get events` show them.
 *
 * kube_events_report only copies the event into a small bounded queue and
 * returns: it never blocks nor does I/O, so it may be called with the
 * agent's lock held.  One worker thread per reporter POSTs the queued events
 * with libcurl (TLS verified, the same credentials as the pod watch, see
 * kube_http.h), each request limited to KUBE_EVENTS_TIMEOUT_S seconds and
 * tried at most twice (a transport error, 401 after re-reading the token
 * file, 429 or 5xx is retried once).  Failures are logged at debug level and
 * counted.  Rate limits: an event equal to one of the last
 * KUBE_EVENTS_DEDUP reported (same pod UID, reason and message) is dropped
 * as a duplicate (not by kube_events_report_change), a full queue drops the new event, and the worker starts at
 * most one POST every KUBE_EVENTS_MIN_GAP_MS milliseconds (about 10/s).
 */
#ifndef TCPRIO_KUBE_EVENTS_H
#define TCPRIO_KUBE_EVENTS_H

#include <stdint.h>
#include "kube/kube_client.h"

#define KUBE_EVENTS_QUEUE      64   /* queued events, beyond that dropped */
#define KUBE_EVENTS_DEDUP      4096 /* remembered (uid, reason, message) */
#define KUBE_EVENTS_MIN_GAP_MS 100  /* between two POSTs: <= ~10 events/s */
#define KUBE_EVENTS_TIMEOUT_S  5    /* per request, connect included */
#define KUBE_EVENTS_COMPONENT  "tcprio-agent"    /* source.component */
#define KUBE_EVENTS_REPORTER   "tcprio.io/agent" /* reportingComponent */

struct kube_events; /* opaque */

/* Counters since start (each event ends in exactly one of them, or is
 * still queued / in flight). */
struct kube_events_stats {
	uint64_t queued;     /* accepted by kube_events_report */
	uint64_t sent;       /* created (201/200, or 409: the retry's first try had) */
	uint64_t failed;     /* given up after the retry, or rejected (4xx) */
	uint64_t dropped;    /* queue full */
	uint64_t duplicates; /* same uid/reason/message as an earlier report */
};

/* Start a reporter for node node_name (source.host and reportingInstance).
 * c is borrowed: it must stay valid until kube_events_stop returns (the
 * token is copied; on 401 c->token_file is re-read).  Returns NULL with
 * errno EINVAL (no server or node name), ENOMEM, or the pthread_create
 * error. */
struct kube_events *kube_events_start(const struct kube_config *c, const char *node_name);

/* Queue one Warning event on Pod ns/pod_name (uid pod_uid) with reason (a
 * CamelCase word, e.g. "BadAnnotation") and message (one line; longer than
 * 1023 bytes is cut on a UTF-8 character boundary; bytes that are not UTF-8
 * become '?', so no text can keep the Event from being sent).  Never blocks.  Returns 0 (queued), -EAGAIN (queue
 * full: dropped and counted), -EALREADY (duplicate, dropped and counted) or
 * -EINVAL (e NULL or an empty/too long ns, name, uid or reason). */
int kube_events_report(struct kube_events *e, const char *ns, const char *pod_name,
		       const char *pod_uid, const char *reason, const char *message);

/* kube_events_report without the duplicate check, for a caller that
 * reports once per change of state itself (the ClassCapped Event: capped,
 * uncapped, capped again with the same message is two changes, two
 * Events).  The event is still remembered, so a later kube_events_report
 * of the same is a duplicate.  Returns 0, -EAGAIN or -EINVAL as
 * kube_events_report. */
int kube_events_report_change(struct kube_events *e, const char *ns, const char *pod_name,
			      const char *pod_uid, const char *reason, const char *message);

/* Copy the counters into *st. */
void kube_events_get_stats(struct kube_events *e, struct kube_events_stats *st);

/* Stop the worker (a POST in flight is aborted at once; queued
 * events are dropped, not counted), log one line with the counters at info
 * level if anything was reported, and free e.  NULL is a no-op. */
void kube_events_stop(struct kube_events *e);

#endif
