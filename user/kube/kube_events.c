// SPDX-License-Identifier: BSD-2-Clause
/*
 * kube_events.c - Warning Events on pods, POSTed by one worker thread
 * (libcurl, jansson).  Contract and limits: kube_events.h.
 *
 * The Event is the core/v1 shape kubelet and client-go's record package
 * write (k8s.io/api/core/v1 Event): metadata.name "<pod>.<hex unix ns>"
 * (client-go's generateEventName; a fixed name also makes the retry of a
 * POST whose answer was lost answer 409 instead of creating a twin),
 * involvedObject, reason, message, type, source, first/lastTimestamp
 * (RFC 3339, seconds: metav1.Time), count 1, reportingComponent and
 * reportingInstance.  No eventTime: kube-apiserver then applies the legacy
 * validation (event namespace == involvedObject.namespace).
 */
#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>
#include "kube/kube_events.h"
#include "lib/hash.h"
#include "kube/kube_http.h"
#include "lib/log.h"
#include "lib/utf8.h"

#define NAME_MAX_LEN 253        /* DNS subdomain (RFC 1123), metadata.name */
#define REPLY_MAX 4096          /* response bytes kept for the debug log */

struct ev_item {
	char ns[64];
	char name[254];
	char uid[64];
	char reason[64];
	char message[1024];
	struct timespec when;   /* CLOCK_REALTIME at report */
};

struct kube_events {
	const struct kube_config *cfg;  /* borrowed */
	char node[254];
	struct kube_auth auth;          /* bearer token and request headers */
	CURL *easy;
	CURLM *multi;                   /* runs easy; woken up by stop */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;            /* CLOCK_MONOTONIC */
	atomic_bool stop;               /* set under lock; read without it during a POST */
	struct ev_item queue[KUBE_EVENTS_QUEUE];
	int head, count;
	uint64_t dedup[KUBE_EVENTS_DEDUP]; /* hashes of reported events, a ring */
	int dedup_next, dedup_n;
	struct kube_events_stats st;
	bool failure_logged;            /* first failure logged at info */
	struct timespec last_post;      /* CLOCK_MONOTONIC; 0: none yet */
};

struct reply {
	char buf[REPLY_MAX];
	size_t len;
};

/* ---- caller side ---------------------------------------------------- */

/* 64-bit FNV-1a over the NUL-terminated strings, NULs included. */
static uint64_t event_hash(const char *const *parts, int n)
{
	uint64_t h = HASH_FNV1A64_INIT;

	for (int i = 0; i < n; i++)
		h = hash_fnv1a64(h, parts[i], strlen(parts[i]) + 1);
	return h;
}

/* True if h was reported before; else remember it.  Under e->lock. */
static bool seen_before(struct kube_events *e, uint64_t h)
{
	for (int i = 0; i < e->dedup_n; i++)
		if (e->dedup[i] == h)
			return true;
	e->dedup[e->dedup_next] = h;
	e->dedup_next = (e->dedup_next + 1) % KUBE_EVENTS_DEDUP;
	if (e->dedup_n < KUBE_EVENTS_DEDUP)
		e->dedup_n++;
	return false;
}

static bool fits(const char *s, size_t size)
{
	return s && s[0] && strlen(s) < size;
}

/* kube_events_report (dedup: drop an event seen before) and
 * kube_events_report_change (no such check; the caller reports once per
 * change itself). */
static int report(struct kube_events *e, const char *ns, const char *pod_name,
		  const char *pod_uid, const char *reason, const char *message, bool dedup)
{
	const char *parts[] = { pod_uid, reason, message ? message : "" };
	struct ev_item *it;
	uint64_t h;
	int ret = 0;

	if (!e || !fits(ns, sizeof(it->ns)) || !fits(pod_name, sizeof(it->name)) ||
	    !fits(pod_uid, sizeof(it->uid)) || !fits(reason, sizeof(it->reason)))
		return -EINVAL;
	h = event_hash(parts, 3);
	pthread_mutex_lock(&e->lock);
	if (seen_before(e, h) && dedup) {
		e->st.duplicates++;
		ret = -EALREADY;
		goto cleanup;
	}
	if (e->count == KUBE_EVENTS_QUEUE) {
		e->st.dropped++;
		ret = -EAGAIN;
		goto cleanup;
	}
	it = &e->queue[(e->head + e->count) % KUBE_EVENTS_QUEUE];
	snprintf(it->ns, sizeof(it->ns), "%s", ns);
	snprintf(it->name, sizeof(it->name), "%s", pod_name);
	snprintf(it->uid, sizeof(it->uid), "%s", pod_uid);
	snprintf(it->reason, sizeof(it->reason), "%s", reason);
	snprintf(it->message, sizeof(it->message), "%s", message ? message : "");
	/* Whatever the text holds, the Event must be sendable: cut on a
	 * character boundary and replace bytes that are not UTF-8, which the
	 * JSON encoder would refuse (event_json). */
	utf8_trim_partial(it->message);
	utf8_sanitize(it->message);
	utf8_sanitize(it->ns);
	utf8_sanitize(it->name);
	utf8_sanitize(it->uid);
	utf8_sanitize(it->reason);
	clock_gettime(CLOCK_REALTIME, &it->when);
	e->count++;
	e->st.queued++;
	pthread_cond_signal(&e->cond);
cleanup:
	pthread_mutex_unlock(&e->lock);
	return ret;
}

int kube_events_report(struct kube_events *e, const char *ns, const char *pod_name,
		       const char *pod_uid, const char *reason, const char *message)
{
	return report(e, ns, pod_name, pod_uid, reason, message, true);
}

int kube_events_report_change(struct kube_events *e, const char *ns, const char *pod_name,
			      const char *pod_uid, const char *reason, const char *message)
{
	return report(e, ns, pod_name, pod_uid, reason, message, false);
}

void kube_events_get_stats(struct kube_events *e, struct kube_events_stats *st)
{
	pthread_mutex_lock(&e->lock);
	*st = e->st;
	pthread_mutex_unlock(&e->lock);
}

/* ---- the Event object ------------------------------------------------ */

static void rfc3339(const struct timespec *ts, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The core/v1 Event as compact JSON (malloc'd), or NULL. */
static char *event_json(const struct kube_events *e, const struct ev_item *it)
{
	unsigned long long t_ns = (unsigned long long)it->when.tv_sec * 1000000000ull +
				  (unsigned long long)it->when.tv_nsec;
	char name[NAME_MAX_LEN + 1], ts[32];
	json_t *ev;
	char *out;

	/* "<pod>.<16 hex>" cut to 253 bytes: the pod part keeps 253-17 */
	snprintf(name, sizeof(name), "%.*s.%llx", NAME_MAX_LEN - 17, it->name, t_ns);
	rfc3339(&it->when, ts, sizeof(ts));
	ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s},"
		       " s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:i, s:s, s:s}",
		       "apiVersion", "v1", "kind", "Event",
		       "metadata", "name", name, "namespace", it->ns,
		       "involvedObject", "kind", "Pod", "apiVersion", "v1", "namespace", it->ns,
		       "name", it->name, "uid", it->uid,
		       "reason", it->reason, "message", it->message, "type", "Warning",
		       "source", "component", KUBE_EVENTS_COMPONENT, "host", e->node,
		       "firstTimestamp", ts, "lastTimestamp", ts, "count", 1,
		       "reportingComponent", KUBE_EVENTS_REPORTER, "reportingInstance", e->node);
	if (!ev)
		return NULL; /* out of memory: texts are valid UTF-8 (kube_events_report) */
	out = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	return out;
}

/* ---- worker ---------------------------------------------------------- */

static bool stopping(struct kube_events *e)
{
	return atomic_load_explicit(&e->stop, memory_order_relaxed);
}

static size_t on_reply(char *p, size_t sz, size_t n, void *ud)
{
	struct reply *r = ud;
	size_t len = sz * n, room = sizeof(r->buf) - 1 - r->len;

	if (len < room)
		room = len;
	memcpy(r->buf + r->len, p, room);
	r->len += room;
	r->buf[r->len] = '\0';
	return len;
}

/* Run e->easy on e->multi until it is done or stop is set (kube_events_stop
 * wakes the poll up). */
static CURLcode perform(struct kube_events *e)
{
	CURLcode res = CURLE_OK;
	int running = 1, q;
	CURLMsg *m;

	if (curl_multi_add_handle(e->multi, e->easy))
		return CURLE_FAILED_INIT;
	while (running && !stopping(e)) {
		if (curl_multi_perform(e->multi, &running) ||
		    (running && curl_multi_poll(e->multi, NULL, 0, 1000, NULL))) {
			res = CURLE_FAILED_INIT;
			break;
		}
	}
	while ((m = curl_multi_info_read(e->multi, &q)))
		if (m->msg == CURLMSG_DONE && res == CURLE_OK)
			res = m->data.result;
	curl_multi_remove_handle(e->multi, e->easy);
	return res;
}

enum post_result { POST_OK, POST_RETRY, POST_FAILED, POST_STOPPED };

/* One POST.  why describes a failure (for the log). */
static enum post_result post_once(struct kube_events *e, const char *url, const char *body,
				  char *why, size_t whylen)
{
	struct reply r = { .len = 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode res;

	r.buf[0] = '\0';
	kube_http_setup(e->easy, e->cfg, url, kube_auth_headers(&e->auth), KUBE_EVENTS_TIMEOUT_S);
	curl_easy_setopt(e->easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e->easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(e->easy, CURLOPT_TIMEOUT, (long)KUBE_EVENTS_TIMEOUT_S);
	curl_easy_setopt(e->easy, CURLOPT_WRITEFUNCTION, on_reply);
	curl_easy_setopt(e->easy, CURLOPT_WRITEDATA, &r);
	res = perform(e);
	if (stopping(e))
		return POST_STOPPED;
	curl_easy_setopt(e->easy, CURLOPT_ERRORBUFFER, NULL); /* errbuf ends here */
	if (res != CURLE_OK) {
		kube_http_describe(e->easy, res, errbuf, why, whylen);
		return POST_RETRY;
	}
	curl_easy_getinfo(e->easy, CURLINFO_RESPONSE_CODE, &status);
	/* 409: the name exists, i.e. an earlier try whose answer was lost */
	if (status == 200 || status == 201 || status == 409)
		return POST_OK;
	for (char *p = r.buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
	if (status == 403)
		snprintf(why, whylen, "HTTP 403 Forbidden: RBAC does not let this agent's "
			 "ServiceAccount create events (check the ClusterRole and its binding, "
			 "deploy/tcprio.yaml): %.100s", r.buf);
	else
		snprintf(why, whylen, "HTTP %ld: %.200s", status, r.buf);
	if (status == 401)
		return kube_auth_reread(&e->auth) ? POST_RETRY : POST_FAILED;
	return status == 429 || status >= 500 ? POST_RETRY : POST_FAILED;
}

static void post_event(struct kube_events *e, const struct ev_item *it)
{
	enum post_result res = POST_FAILED;
	char *url = NULL, *nsesc = NULL, *body = NULL, why[512] = "out of memory";

	body = event_json(e, it);
	nsesc = curl_easy_escape(e->easy, it->ns, 0);
	if (!body || !nsesc ||
	    asprintf(&url, "%s/api/v1/namespaces/%s/events", e->cfg->server, nsesc) < 0) {
		url = NULL;
		goto cleanup;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		res = post_once(e, url, body, why, sizeof(why));
		if (res != POST_RETRY)
			break;
		pr_debug("events: POST %s for pod %s/%s: %s%s", url, it->ns, it->name, why,
			 attempt ? "" : "; retrying once");
	}
cleanup:
	pthread_mutex_lock(&e->lock);
	if (res == POST_OK)
		e->st.sent++;
	else if (res != POST_STOPPED)
		e->st.failed++;
	pthread_mutex_unlock(&e->lock);
	if (res == POST_OK) {
		pr_debug("events: %s on pod %s/%s created", it->reason, it->ns, it->name);
	} else if (res != POST_STOPPED) {
		if (!e->failure_logged)
			pr_warn("events: cannot create the %s event of pod %s/%s: %s "
				"(further failures at debug level)", it->reason, it->ns, it->name, why);
		else
			pr_debug("events: %s event of pod %s/%s not created: %s", it->reason,
				 it->ns, it->name, why);
		e->failure_logged = true;
	}
	curl_free(nsesc);
	free(url);
	free(body);
}

static void ts_add_ms(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* Take the next item into *out, waiting for one and for the rate limit's
 * gap since the last POST.  Under e->lock.  False on stop. */
static bool next_item(struct kube_events *e, struct ev_item *out)
{
	struct timespec not_before = e->last_post, now;

	ts_add_ms(&not_before, KUBE_EVENTS_MIN_GAP_MS);
	while (!stopping(e) && !e->count)
		pthread_cond_wait(&e->cond, &e->lock);
	for (;;) {
		if (stopping(e))
			return false;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > not_before.tv_sec ||
		    (now.tv_sec == not_before.tv_sec && now.tv_nsec >= not_before.tv_nsec))
			break;
		pthread_cond_timedwait(&e->cond, &e->lock, &not_before);
	}
	*out = e->queue[e->head];
	e->head = (e->head + 1) % KUBE_EVENTS_QUEUE;
	e->count--;
	e->last_post = now;
	return true;
}

static void *worker_main(void *arg)
{
	struct kube_events *e = arg;
	struct ev_item *it = malloc(sizeof(*it));

	if (!it) {
		pr_warn("events: out of memory; no events will be reported");
		return NULL;
	}
	pthread_mutex_lock(&e->lock);
	while (next_item(e, it)) {
		pthread_mutex_unlock(&e->lock);
		post_event(e, it);
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	free(it);
	return NULL;
}

/* ---- life cycle ------------------------------------------------------ */

static void free_reporter(struct kube_events *e)
{
	kube_auth_free(&e->auth);
	if (e->easy)
		curl_easy_cleanup(e->easy);
	if (e->multi)
		curl_multi_cleanup(e->multi);
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

static int init_sync(struct kube_events *e)
{
	pthread_condattr_t ca;
	int ret;

	ret = pthread_condattr_init(&ca);
	if (ret)
		return ret;
	ret = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!ret)
		ret = pthread_cond_init(&e->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (ret)
		return ret;
	ret = pthread_mutex_init(&e->lock, NULL);
	if (ret)
		pthread_cond_destroy(&e->cond);
	return ret;
}

struct kube_events *kube_events_start(const struct kube_config *c, const char *node_name)
{
	struct kube_events *e = NULL;
	int err = EINVAL;

	if (!c || !c->server[0] || !node_name || !node_name[0] ||
	    strlen(node_name) > NAME_MAX_LEN)
		goto fail;
	err = ENOMEM;
	e = calloc(1, sizeof(*e));
	if (!e)
		goto fail;
	err = init_sync(e);
	if (err) {
		free(e);
		e = NULL;
		goto fail;
	}
	e->cfg = c;
	snprintf(e->node, sizeof(e->node), "%s", node_name);
	kube_http_global_init();
	err = ENOMEM;
	e->easy = curl_easy_init();
	e->multi = curl_multi_init();
	if (!e->easy || !e->multi || kube_auth_init(&e->auth, c, true))
		goto fail;
	err = pthread_create(&e->thread, NULL, worker_main, e);
	if (err)
		goto fail;
	pr_debug("events: reporting pod events to %s as %s on node %s", c->server,
		 KUBE_EVENTS_REPORTER, e->node);
	return e;
fail:
	if (e)
		free_reporter(e);
	errno = err;
	return NULL;
}

void kube_events_stop(struct kube_events *e)
{
	struct kube_events_stats st;

	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	atomic_store_explicit(&e->stop, true, memory_order_relaxed);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	curl_multi_wakeup(e->multi); /* a POST in flight ends now */
	pthread_join(e->thread, NULL);
	st = e->st;
	if (st.queued || st.dropped || st.duplicates)
		pr_info("events: %llu created, %llu failed, %llu dropped (queue full), "
			"%llu duplicates", (unsigned long long)st.sent,
			(unsigned long long)st.failed, (unsigned long long)st.dropped,
			(unsigned long long)st.duplicates);
	free_reporter(e);
}
