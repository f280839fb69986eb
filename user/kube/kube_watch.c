// SPDX-License-Identifier: BSD-2-Clause
/*
 * kube_watch.c - list and watch one resource collection (libcurl, jansson).
 *
 * Protocol (Kubernetes API concepts, "Efficient detection of changes" and
 * "Retrieving large results sets in chunks"), e.g. for the pods of a node:
 *   GET /api/v1/pods?fieldSelector=spec.nodeName%3DNODE&limit=N[&continue=T]
 *   GET /api/v1/pods?fieldSelector=...&watch=1&allowWatchBookmarks=true
 *       &resourceVersion=RV&timeoutSeconds=S
 * The watch body is a chunked stream of newline-delimited JSON events
 * {"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": {...}}.
 * Transfers run on a multi handle polled every 100 ms so *stop is seen
 * promptly even on a silent connection.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include "kube/kube_watch.h"
#include "kube/kube_http.h"
#include "lib/log.h"

#define POLL_MS 100                   /* stop-flag latency */
/*
 * Bounds on what the API server (or a proxy in front of it) can make the
 * agent hold, well under the DaemonSet's memory limit of 256 MiB
 * (deploy/tcprio.yaml; a page of 512 MiB once made the agent's peak RSS
 * 525 MiB).  Hitting one is an error with a warning naming it, followed by
 * the normal backoff.  A page of a node's pods is far smaller: 250 pods
 * (above the kubelet's default of 110) of 20 KiB each are 5 MiB; one object
 * is at most 1.5 MiB in etcd (its default request limit).  Parsed JSON
 * takes 4..10 times its text for real pods (measured on tests/fixtures) and
 * up to 110 times for hostile text ("{}," is 3 bytes, 224 bytes parsed),
 * so the parse is bounded by an estimate too (json_parse_cost).
 */
#define LIST_MAX_BYTES (16u << 20)    /* text of one list page */
#define LINE_MAX_BYTES (4u << 20)     /* text of one watch event */
#define LIST_PARSE_MAX (96u << 20)    /* estimated memory of one parsed page */
#define LINE_PARSE_MAX (16u << 20)    /* estimated memory of one parsed event */
#define ERROR_BODY_MAX (64u << 10)    /* body of a non-200 answer: kept for the log only */
#define LIST_RESTARTS 3               /* expired continue tokens in a row */
#define CONNECT_TIMEOUT_S 10
#define LIST_IDLE_S 30
#define WATCH_SHORT_MS 500            /* a watch closed sooner, without events, failed */

enum watch_end {
	WATCH_STOPPED,  /* *stop was set */
	WATCH_CLOSED,   /* the server ended the stream (timeoutSeconds) */
	WATCH_IDLE,     /* silent for idle_timeout_s */
	WATCH_RELIST,   /* 410 Gone/Expired */
	WATCH_AUTH,     /* 401 */
	WATCH_FAILED,   /* connection or server error */
};

struct watcher {
	const struct kube_config *cfg;
	struct kube_watch_opts o;
	const struct kube_resource *res;
	const struct kube_watch_handler *h;
	const atomic_bool *stop;
	CURLM *multi;
	CURL *easy;
	struct kube_auth auth; /* bearer token and request headers */
	char *sel;          /* "fieldSelector=..&labelSelector=..&", escaped, or "" */
	char rv[64];        /* last resourceVersion seen */
	unsigned int failures; /* backoff exponent */
	unsigned int relists;  /* relists in a row with no watch progress between them */
	unsigned long skipped; /* watch events skipped as unparsable since the last list */
	unsigned int seed;
	char last_why[320]; /* reason of the last failed request, for the retry line */
	bool why_serious;   /* last_why needs a person: logged at warn */
};

struct xfer {
	struct watcher *w;
	bool is_watch;
	long status;        /* HTTP status, read at the first body byte */
	char *buf;
	size_t len, cap, scanned, max;
	enum watch_end verdict;
	bool stop_xfer;     /* write callback asked to end the transfer */
	bool too_big;       /* ended because the body passed max */
	char errbuf[CURL_ERROR_SIZE]; /* curl's detail of a failure */
	unsigned long events;   /* ADDED/MODIFIED/DELETED/BOOKMARK delivered */
};

static void status(struct watcher *w, const char *what)
{
	if (w->h->on_status)
		w->h->on_status(w->h->ctx, what);
}

static bool stopped(struct watcher *w) { return atomic_load(w->stop); }

/* Sleep ms milliseconds in POLL_MS slices; false if *stop was set. */
static bool sleep_ms(struct watcher *w, long ms)
{
	while (ms > 0 && !stopped(w)) {
		long slice = ms < POLL_MS ? ms : POLL_MS;
		struct timespec ts = { slice / 1000, (slice % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		ms -= slice;
	}
	return !stopped(w);
}

/* Capped exponential backoff with jitter: a delay in [d/2, d] where
 * d = min(max, min * 2^failures). */
static long backoff_delay(struct watcher *w)
{
	long d = w->o.backoff_min_ms;
	unsigned int i;

	for (i = 0; i < w->failures && d < w->o.backoff_max_ms; i++)
		d *= 2;
	if (d > w->o.backoff_max_ms)
		d = w->o.backoff_max_ms;
	if (w->failures < 30)
		w->failures++;
	return d / 2 + (long)(rand_r(&w->seed) % (unsigned int)(d / 2 + 1));
}

/* Log why (with last_why) and sleep the backoff delay.  What needs a
 * person (TLS, 401, 403, 5xx, a bound hit: w->why_serious) is a warning,
 * a refused or dropped connection information; either way the reason is
 * what /readyz shows (kube_set_last_error) until a list succeeds. */
static bool backoff(struct watcher *w, const char *why)
{
	long d = backoff_delay(w);
	enum log_level lvl = w->why_serious ? LOG_LVL_WARN : LOG_LVL_INFO;
	char what[96];

	snprintf(what, sizeof(what), "%s %s", w->res->kind, why);
	if (w->last_why[0]) {
		log_msg(lvl, "kube: %s (%s); retrying in %ld ms", why, w->last_why, d);
		kube_set_last_error(what, w->last_why);
	} else {
		log_msg(lvl, "kube: %s; retrying in %ld ms", why, d);
	}
	w->last_why[0] = '\0';
	w->why_serious = false;
	return sleep_ms(w, d);
}

static int buf_append(struct xfer *x, const char *p, size_t n)
{
	if (x->len + n + 1 > x->max)
		return -E2BIG;
	if (x->len + n + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 16384;
		char *nb;

		while (cap < x->len + n + 1)
			cap *= 2;
		nb = realloc(x->buf, cap);
		if (!nb)
			return -ENOMEM;
		x->buf = nb;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, p, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return 0;
}

/*
 * Estimated bytes jansson 2.14 allocates to parse the JSON text buf (len
 * bytes), an upper bound calibrated on glibc malloc: an object 224 bytes
 * (empty; more with members), an array 128, a string 64 plus its text, a
 * member or element ("," and ":") 40 more, plus the text itself.  One pass,
 * no allocation.
 */
static size_t json_parse_cost(const char *buf, size_t len)
{
	size_t cost = len;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		switch (c) {
		case '"': in_str = true; cost += 64; break;
		case '{': cost += 224; break;
		case '[': cost += 128; break;
		case ',': case ':': cost += 40; break;
		default: break;
		}
	}
	return cost;
}

static void set_rv(struct watcher *w, json_t *obj)
{
	const char *rv = json_string_value(json_object_get(json_object_get(obj, "metadata"),
							   "resourceVersion"));

	if (rv && rv[0] && strlen(rv) < sizeof(w->rv))
		snprintf(w->rv, sizeof(w->rv), "%s", rv);
}

/* One watch event.  Returns false to end the transfer (x->verdict set). */
static bool dispatch_event(struct xfer *x, json_t *ev)
{
	struct watcher *w = x->w;
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");

	if (!type || !json_is_object(obj)) {
		pr_debug("kube: watch event without type/object ignored");
		return true;
	}
	if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") || !strcmp(type, "DELETED")) {
		set_rv(w, obj);
		x->events++;
		w->h->on_event(w->h->ctx, type, obj);
		return true;
	}
	if (!strcmp(type, "BOOKMARK")) {
		set_rv(w, obj);
		x->events++;
		pr_debug("kube: bookmark at resourceVersion %s", w->rv);
		status(w, "bookmark");
		return true;
	}
	if (!strcmp(type, "ERROR")) {
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		const char *msg = json_string_value(json_object_get(obj, "message"));

		pr_debug("kube: watch ERROR %lld: %s", (long long)code, msg ?: "");
		x->verdict = code == 410 ? WATCH_RELIST : WATCH_FAILED;
		if (code != 410)
			pr_info("kube: watch ERROR %lld: %s", (long long)code, msg ?: "");
		return false;
	}
	pr_debug("kube: unknown watch event type %s ignored", type);
	return true;
}

/* The first "resourceVersion": "..." in an unparsable event line, copied to
 * out (only [0-9A-Za-z_-], at most outlen - 1 bytes), or "" if none. */
static void find_rv_text(const char *line, size_t len, char *out, size_t outlen)
{
	static const char key[] = "\"resourceVersion\"";
	const char *p = memmem(line, len, key, sizeof(key) - 1), *end = line + len;
	size_t n = 0;

	out[0] = '\0';
	if (!p)
		return;
	p += sizeof(key) - 1;
	while (p < end && (*p == ' ' || *p == ':'))
		p++;
	if (p >= end || *p++ != '"')
		return;
	while (p < end && n + 1 < outlen && (isalnum((unsigned char)*p) || *p == '-' || *p == '_'))
		out[n++] = *p++;
	out[n] = '\0';
}

/* An event line that is not JSON (jansson's limits: a NUL in an object key,
 * nesting deeper than 2048, ...): skip it and go on with the stream, but the
 * maps may now miss that change, so run_loop relists when this watch ends. */
static void skip_bad_line(struct xfer *x, const char *line, size_t len, const json_error_t *jerr)
{
	char rv[64];

	find_rv_text(line, len, rv, sizeof(rv));
	x->w->skipped++;
	pr_warn("kube: watch event of %zu bytes%s%s is not JSON (%s at column %d); skipped, "
		"relisting when this watch ends", len, rv[0] ? " at resourceVersion " : "", rv,
		jerr->text, jerr->column);
}

/* Parse every complete line in the buffer; keep the rest. */
static int process_lines(struct xfer *x)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(x->buf + x->scanned, '\n', x->len - x->scanned))) {
		size_t end = (size_t)(nl - x->buf);
		json_error_t jerr;
		json_t *ev;
		bool go_on = true;

		x->scanned = end + 1;
		if (end > start && json_parse_cost(x->buf + start, end - start) > LINE_PARSE_MAX) {
			snprintf(jerr.text, sizeof(jerr.text), "would take more than %u MiB "
				 "to parse, the bound for one event", LINE_PARSE_MAX >> 20);
			jerr.column = 0;
			skip_bad_line(x, x->buf + start, end - start, &jerr);
		} else if (end > start) {
			/* JSON_ALLOW_NUL: a "\u0000" in a pod's annotation must
			 * not stop the stream; pod_from_json judges such values. */
			ev = json_loadb(x->buf + start, end - start, JSON_ALLOW_NUL, &jerr);
			if (ev) {
				go_on = dispatch_event(x, ev);
				json_decref(ev);
			} else {
				skip_bad_line(x, x->buf + start, end - start, &jerr);
			}
		}
		start = end + 1;
		if (!go_on || stopped(x->w))
			return -ECANCELED;
	}
	if (start) {
		memmove(x->buf, x->buf + start, x->len - start);
		x->len -= start;
		x->scanned -= start;
		x->buf[x->len] = '\0';
		/* give back a buffer a huge event left behind */
		if (x->cap > (1u << 20) && x->len < 16384) {
			char *nb = realloc(x->buf, 16384);

			if (nb) {
				x->buf = nb;
				x->cap = 16384;
			}
		}
	}
	return 0;
}

static size_t on_write(char *p, size_t sz, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = sz * n;

	if (!x->status)
		curl_easy_getinfo(x->w->easy, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->status != 200 && x->len + len >= ERROR_BODY_MAX) {
		/* an error body is only logged: keep its start, end the transfer */
		buf_append(x, p, ERROR_BODY_MAX - 1 - x->len);
		x->stop_xfer = true;
		return 0;
	}
	if (buf_append(x, p, len)) {
		if (x->is_watch)
			pr_warn("kube: watch event from %s larger than %zu MiB, the bound for one "
				"event; connection dropped", x->w->cfg->server, x->max >> 20);
		else
			pr_warn("kube: %sList page from %s larger than %zu MiB, the bound for one "
				"page; dropped", x->w->res->kind, x->w->cfg->server, x->max >> 20);
		snprintf(x->w->last_why, sizeof(x->w->last_why), "%s larger than %zu MiB",
			 x->is_watch ? "watch event" : "list page", x->max >> 20);
		x->too_big = true;
		x->w->why_serious = true;
		x->stop_xfer = true;
		return 0;
	}
	if (x->is_watch && x->status == 200 && process_lines(x)) {
		x->stop_xfer = true;
		return 0;
	}
	return len;
}

/* Run the easy handle on the multi handle, polling *stop every POLL_MS. */
static CURLcode perform(struct watcher *w)
{
	CURLcode res = CURLE_OK;
	CURLMsg *m;
	int running = 1, q;

	if (curl_multi_add_handle(w->multi, w->easy))
		return CURLE_FAILED_INIT;
	while (running) {
		if (stopped(w)) {
			res = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		if (curl_multi_perform(w->multi, &running)) {
			res = CURLE_FAILED_INIT;
			break;
		}
		if (running && curl_multi_poll(w->multi, NULL, 0, POLL_MS, NULL)) {
			res = CURLE_FAILED_INIT;
			break;
		}
	}
	while ((m = curl_multi_info_read(w->multi, &q)))
		if (m->msg == CURLMSG_DONE && res == CURLE_OK)
			res = m->data.result;
	curl_multi_remove_handle(w->multi, w->easy);
	if (stopped(w))
		res = CURLE_ABORTED_BY_CALLBACK;
	return res;
}

static void setup_easy(struct watcher *w, const char *url, struct xfer *x, long idle_s)
{
	CURL *e = w->easy;

	kube_http_setup(e, w->cfg, url, kube_auth_headers(&w->auth), CONNECT_TIMEOUT_S);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	/* less than 1 byte/s for idle_s seconds ends the transfer */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, idle_s);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	x->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
}

/* Describe a failed transfer for the log. */
/* Describe a failed transfer for the log; a failure that needs a person
 * (TLS, 401, 403, 5xx) sets x->w->why_serious.  A 403 names the RBAC verb
 * and resource the ServiceAccount lacks. */
static void describe(char *out, size_t len, CURLcode res, const struct xfer *x)
{
	struct watcher *w = x->w;
	const char *res_name = strrchr(w->res->path, '/') ? strrchr(w->res->path, '/') + 1 : "";

	if (res != CURLE_OK && !x->stop_xfer) {
		if (kube_http_describe(w->easy, res, x->errbuf, out, len))
			w->why_serious = true;
	} else if (x->status == 403) {
		snprintf(out, len, "HTTP 403 Forbidden: RBAC does not let this agent's "
			 "ServiceAccount %s %s (cluster-wide); check the ClusterRole and its "
			 "binding (deploy/tcprio.yaml): %.160s", x->is_watch ? "watch" : "list",
			 res_name, x->buf ? x->buf : "");
		w->why_serious = true;
	} else if (x->status && x->status != 200) {
		snprintf(out, len, "HTTP %ld: %.200s", x->status, x->buf ? x->buf : "");
		w->why_serious = x->status == 401 || x->status >= 500;
	} else {
		snprintf(out, len, "transfer ended");
	}
	for (char *p = out; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

enum list_result { LIST_OK, LIST_STOPPED, LIST_AUTH, LIST_FAILED };

/* GET one page into a parsed JSON object.  *status is the HTTP status. */
static enum list_result get_page(struct watcher *w, const char *cont, json_t **page, long *status)
{
	struct xfer x = { .w = w, .max = LIST_MAX_BYTES };
	enum list_result r = LIST_FAILED;
	char *url = NULL, *cesc = NULL, why[300];
	json_error_t jerr;
	CURLcode res;

	*page = NULL;
	if (cont) {
		cesc = curl_easy_escape(w->easy, cont, 0);
		if (!cesc)
			goto cleanup;
	}
	if (asprintf(&url, "%s%s?%slimit=%d%s%s", w->cfg->server, w->res->path, w->sel,
		     w->o.page_limit, cesc ? "&continue=" : "", cesc ?: "") < 0) {
		url = NULL;
		goto cleanup;
	}
	pr_debug("kube: GET %s", url);
	setup_easy(w, url, &x, LIST_IDLE_S);
	/* a server trickling bytes passes the low-speed check: bound the page */
	curl_easy_setopt(w->easy, CURLOPT_TIMEOUT, (long)w->o.list_timeout_s);
	res = perform(w);
	*status = x.status;
	if (res == CURLE_ABORTED_BY_CALLBACK && stopped(w)) {
		r = LIST_STOPPED;
		goto cleanup;
	}
	if (res == CURLE_OK && x.status == 200) {
		size_t cost = json_parse_cost(x.buf ?: "", x.len);

		if (cost > LIST_PARSE_MAX) {
			pr_warn("kube: %sList page from %s (%zu bytes) would take about %zu MiB to "
				"parse, more than the bound of %u MiB for one page; dropped",
				w->res->kind, w->cfg->server, x.len, cost >> 20, LIST_PARSE_MAX >> 20);
			snprintf(w->last_why, sizeof(w->last_why), "list page would take %zu MiB "
				 "to parse", cost >> 20);
			w->why_serious = true;
			goto cleanup;
		}
		*page = json_loadb(x.buf ?: "", x.len, JSON_ALLOW_NUL, &jerr);
		if (*page && json_is_array(json_object_get(*page, "items"))) {
			r = LIST_OK;
			goto cleanup;
		}
		pr_warn("kube: bad %sList from %s: %s", w->res->kind, w->cfg->server,
			*page ? "no items" : jerr.text);
		json_decref(*page);
		*page = NULL;
		goto cleanup;
	}
	if (x.too_big)
		goto cleanup; /* on_write said why */
	describe(why, sizeof(why), res, &x);
	pr_debug("kube: list failed: %s", why);
	snprintf(w->last_why, sizeof(w->last_why), "%s", why);
	if (x.status == 401)
		r = LIST_AUTH;
cleanup:
	curl_free(cesc);
	free(url);
	free(x.buf);
	return r;
}

/* Hand one page's items over: to on_list_page if the handler streams pages,
 * else joined into all.  Returns 0 or -1. */
static int take_page(struct watcher *w, json_t *all, json_t *items)
{
	if (w->h->on_list_page) {
		w->h->on_list_page(w->h->ctx, items);
		return 0;
	}
	return json_array_extend(all, items) ? -1 : 0;
}

/* Drop what a failed or restarted list handed over so far. */
static void abort_pages(struct watcher *w, json_t *all)
{
	json_array_clear(all);
	if (w->h->on_list_abort)
		w->h->on_list_abort(w->h->ctx);
}

/* Full paged list; on success calls on_list with every page joined (or,
 * with on_list_page, with NULL after streaming the pages). */
static enum list_result list_objects(struct watcher *w)
{
	enum list_result r = LIST_FAILED;
	json_t *all = json_array(), *page = NULL;
	char *cont = NULL, rv[64] = "";
	int restarts = 0, pages = 0;
	size_t n_items = 0;
	long st = 0;

	if (!all)
		return LIST_FAILED;
	for (;;) {
		const char *c, *prv;
		json_t *md, *items;

		r = get_page(w, cont, &page, &st);
		if (r != LIST_OK) {
			if (r == LIST_FAILED && st == 410 && cont && ++restarts <= LIST_RESTARTS) {
				pr_info("kube: list continue token expired (410); restarting the list");
				abort_pages(w, all);
				free(cont);
				cont = NULL;
				pages = 0;
				n_items = 0;
				continue;
			}
			goto cleanup;
		}
		pages++;
		items = json_object_get(page, "items");
		n_items += json_array_size(items);
		if (take_page(w, all, items)) {
			r = LIST_FAILED;
			goto cleanup;
		}
		md = json_object_get(page, "metadata");
		prv = json_string_value(json_object_get(md, "resourceVersion"));
		if (prv && strlen(prv) < sizeof(rv))
			snprintf(rv, sizeof(rv), "%s", prv);
		c = json_string_value(json_object_get(md, "continue"));
		free(cont);
		cont = NULL;
		if (c && c[0]) {
			cont = strdup(c);
			if (!cont) {
				r = LIST_FAILED;
				goto cleanup;
			}
		}
		json_decref(page); /* joined items live on in `all` */
		page = NULL;
		if (!cont)
			break;
	}
	if (!rv[0]) {
		pr_warn("kube: %sList without metadata.resourceVersion", w->res->kind);
		r = LIST_FAILED;
		goto cleanup;
	}
	snprintf(w->rv, sizeof(w->rv), "%s", rv);
	w->skipped = 0;
	pr_info("kube: listed %zu %s objects%s%s in %d page(s) at resourceVersion %s",
		n_items, w->res->kind, w->res->field_selector ? " of " : "",
		w->res->field_selector ?: "", pages, rv);
	w->h->on_list(w->h->ctx, w->h->on_list_page ? NULL : all, rv);
	kube_set_last_error(NULL, NULL);
	status(w, "list-synced");
	r = LIST_OK;
cleanup:
	if (r != LIST_OK && pages > 0)
		abort_pages(w, all);
	json_decref(page);
	json_decref(all);
	free(cont);
	return r;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* One watch request.  *connected: the server answered 200; *progress: at
 * least one event or bookmark was delivered, or the watch stayed open for
 * WATCH_SHORT_MS or longer. */
static enum watch_end watch_objects(struct watcher *w, bool *connected, bool *progress)
{
	long long t0 = mono_ms();
	struct xfer x = { .w = w, .is_watch = true, .max = LINE_MAX_BYTES,
			  .verdict = WATCH_FAILED };
	enum watch_end end;
	char *url = NULL, why[300];
	CURLcode res;

	*connected = *progress = false;
	if (asprintf(&url, "%s%s?%swatch=1&allowWatchBookmarks=true"
		     "&resourceVersion=%s&timeoutSeconds=%d", w->cfg->server, w->res->path, w->sel,
		     w->rv, w->o.watch_timeout_s) < 0)
		return WATCH_FAILED;
	pr_debug("kube: GET %s", url);
	setup_easy(w, url, &x, w->o.idle_timeout_s);
	res = perform(w);
	*connected = x.status == 200;
	*progress = x.events > 0 || mono_ms() - t0 >= WATCH_SHORT_MS;
	if (stopped(w)) {
		end = WATCH_STOPPED;
	} else if (x.stop_xfer && x.status == 200) {
		end = x.verdict;
	} else if (x.status == 200 && res == CURLE_OK) {
		end = WATCH_CLOSED;
	} else if (x.status == 200 && res == CURLE_OPERATION_TIMEDOUT) {
		end = WATCH_IDLE;
	} else if (x.status == 410) {
		end = WATCH_RELIST;
	} else if (x.status == 401) {
		end = WATCH_AUTH;
	} else {
		end = WATCH_FAILED;
	}
	if (end == WATCH_FAILED || end == WATCH_AUTH) {
		describe(why, sizeof(why), res, &x);
		pr_debug("kube: watch failed after %lu events: %s", x.events, why);
		snprintf(w->last_why, sizeof(w->last_why), "%s", why);
	}
	free(url);
	free(x.buf);
	return end;
}

static int check_opts(const struct kube_config *c, const struct kube_resource *r,
		      struct kube_watch_opts *o, const struct kube_watch_handler *h)
{
	if (!c || !c->server[0] || !r || !r->path || r->path[0] != '/' || !r->kind || !h ||
	    !h->on_list || !h->on_event) {
		pr_warn("kube: watch needs a server, a resource path and on_list/on_event handlers");
		return -EINVAL;
	}
	if (o->page_limit < 0 || o->watch_timeout_s < 0 || o->idle_timeout_s < 0 ||
	    o->list_timeout_s < 0 ||
	    o->backoff_min_ms < 0 || o->backoff_max_ms < 0) {
		pr_warn("kube: negative watch option");
		return -EINVAL;
	}
	o->page_limit = o->page_limit ?: 500;
	o->list_timeout_s = o->list_timeout_s ?: 120;
	o->watch_timeout_s = o->watch_timeout_s ?: 300;
	o->idle_timeout_s = o->idle_timeout_s ?: 90;
	o->backoff_min_ms = o->backoff_min_ms ?: 200;
	o->backoff_max_ms = o->backoff_max_ms ?: 30000;
	if (o->backoff_max_ms < o->backoff_min_ms)
		o->backoff_max_ms = o->backoff_min_ms;
	return 0;
}

/* After a 401: retry at once if the token file held a new token. */
static bool auth_retry(struct watcher *w, const char *what)
{
	if (kube_auth_reread(&w->auth))
		return true;
	return backoff(w, what);
}

static void run_loop(struct watcher *w)
{
	bool need_list = true, connected, progress;
	enum list_result lr;
	enum watch_end end;

	while (!stopped(w)) {
		if (need_list) {
			lr = list_objects(w);
			if (lr == LIST_STOPPED)
				break;
			if (lr == LIST_AUTH) {
				auth_retry(w, "list: 401 Unauthorized");
				continue;
			}
			if (lr != LIST_OK) {
				backoff(w, "list failed");
				continue;
			}
			need_list = false;
		}
		end = watch_objects(w, &connected, &progress);
		/* A watch that delivered events (or a clean server close / idle
		 * restart) proves the path works: start backoff over.  A watch
		 * that fails again before delivering anything keeps growing it. */
		if (connected && progress && end != WATCH_RELIST && end != WATCH_FAILED &&
		    !w->skipped)
			w->failures = w->relists = 0;
		if (end != WATCH_STOPPED && end != WATCH_RELIST && w->skipped) {
			pr_info("kube: %lu watch event(s) skipped as unparsable; relisting "
				"so the maps miss nothing", w->skipped);
			need_list = true;
			status(w, "relist");
			/* relist at once the first time, back off if it repeats */
			if (w->relists++ && !backoff(w, "relist after skipped events"))
				return;
			continue;
		}
		switch (end) {
		case WATCH_STOPPED:
			return;
		case WATCH_CLOSED:
			if (!progress) {
				/* closed at once, nothing delivered: do not spin */
				if (!backoff(w, "watch closed by the server at once"))
					return;
				break;
			}
			pr_info("kube: watch ended by the server; reconnecting from resourceVersion %s", w->rv);
			break;
		case WATCH_IDLE:
			pr_info("kube: watch silent for %d s; reconnecting from resourceVersion %s",
				w->o.idle_timeout_s, w->rv);
			break;
		case WATCH_RELIST:
			pr_info("kube: resourceVersion %s is gone (410); relisting", w->rv);
			need_list = true;
			status(w, "relist");
			/* relist at once the first time, back off if it repeats;
			 * a backoff left over from earlier connection errors
			 * (failures) must not delay the first one */
			if (w->relists++ && !backoff(w, "repeated 410"))
				return;
			continue;
		case WATCH_AUTH:
			if (!auth_retry(w, "watch: 401 Unauthorized"))
				return;
			break;
		case WATCH_FAILED:
			if (connected && progress)
				w->failures = w->relists = 0;
			if (!backoff(w, "watch connection lost"))
				return;
			break;
		}
		status(w, "reconnect");
	}
}

/* "fieldSelector=F&labelSelector=L&" with F and L URL-escaped, each part
 * only when set; "" for neither.  NULL on allocation failure. */
static char *selector_query(CURL *e, const struct kube_resource *r)
{
	char *f = NULL, *l = NULL, *q = NULL;

	if (r->field_selector && r->field_selector[0] &&
	    !(f = curl_easy_escape(e, r->field_selector, 0)))
		goto out;
	if (r->label_selector && r->label_selector[0] &&
	    !(l = curl_easy_escape(e, r->label_selector, 0)))
		goto out;
	if (asprintf(&q, "%s%s%s%s%s%s", f ? "fieldSelector=" : "", f ?: "", f ? "&" : "",
		     l ? "labelSelector=" : "", l ?: "", l ? "&" : "") < 0)
		q = NULL;
out:
	curl_free(f);
	curl_free(l);
	return q;
}

int kube_watch_run(const struct kube_config *c, const struct kube_resource *r,
		   const struct kube_watch_opts *o, const struct kube_watch_handler *h,
		   const atomic_bool *stop)
{
	struct watcher w = { .cfg = c, .res = r, .h = h, .stop = stop };
	int ret = 0;

	if (!o || !stop)
		return -EINVAL;
	w.o = *o;
	ret = check_opts(c, r, &w.o, h);
	if (ret)
		return ret;
	kube_http_global_init();
	w.seed = (unsigned int)time(NULL) ^ (unsigned int)(uintptr_t)&w;
	w.multi = curl_multi_init();
	w.easy = curl_easy_init();
	if (!w.multi || !w.easy) {
		ret = -ENOMEM;
		goto cleanup;
	}
	if (kube_auth_init(&w.auth, c, false)) {
		ret = -ENOMEM;
		goto cleanup;
	}
	w.sel = selector_query(w.easy, r);
	if (!w.sel) {
		ret = -ENOMEM;
		goto cleanup;
	}
	pr_info("kube: watching %s (field selector %s, label selector %s) on %s", r->path,
		r->field_selector ?: "none", r->label_selector ?: "none", c->server);
	run_loop(&w);
cleanup:
	free(w.sel);
	kube_auth_free(&w.auth);
	if (w.easy)
		curl_easy_cleanup(w.easy);
	if (w.multi)
		curl_multi_cleanup(w.multi);
	return ret;
}

int kube_pod_watch_run(const struct kube_config *c, const char *node_name,
		       const struct kube_watch_opts *o, const struct kube_watch_handler *h,
		       const atomic_bool *stop)
{
	struct kube_resource r = { .kind = "Pod", .path = "/api/v1/pods" };
	char *sel = NULL;
	int ret;

	if (!node_name || !node_name[0]) {
		pr_warn("kube: the pod watch needs a node name");
		return -EINVAL;
	}
	if (asprintf(&sel, "spec.nodeName=%s", node_name) < 0)
		return -ENOMEM;
	r.field_selector = sel;
	ret = kube_watch_run(c, &r, o, h, stop);
	free(sel);
	return ret;
}
