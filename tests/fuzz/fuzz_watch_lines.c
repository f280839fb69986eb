// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_watch_lines.c - libFuzzer harness: a watch stream's body as the API
 * server (or a proxy) sends it, through the agent's own write callback
 * (on_write: the 4 MiB event bound, the line splitter process_lines, the
 * parse-cost bound, jansson, dispatch_event with its ERROR/410 handling and
 * resourceVersion tracking, skip_bad_line and find_rv_text).
 *
 * Input: byte 0 picks the chunk sizes curl hands over (1..256 bytes, or
 * all at once for 0); the rest is the body.  The same body is fed twice,
 * whole and in chunks.  Invariants (abort on a broken one): both runs
 * deliver the same events (type and resourceVersion, in order), skip the
 * same lines, end with the same verdict and resourceVersion, and keep no
 * more than the unfinished last line buffered.
 *
 * The functions are static in kube_watch.c, so this file includes it (the
 * fuzz build leaves kube_watch.c out of its sources for this harness,
 * tests/fuzz.mk).  Seeds: tests/fuzz/seeds/watch_lines.
 */
#include "../../user/kube/kube_watch.c"

#include <stdint.h>
#include <stdlib.h>

#define MAX_SEEN 64

/* What one run delivered. */
struct seen {
	unsigned long n;      /* events delivered (ADDED/MODIFIED/DELETED) */
	uint64_t hash;        /* FNV-1a over "type rv;" of each, in order */
	unsigned long skipped;
	enum watch_end verdict;
	char rv[64];
	bool stopped;         /* the callback ended the transfer */
};

static void hash_str(uint64_t *h, const char *s)
{
	for (; s && *s; s++)
		*h = (*h ^ (unsigned char)*s) * 1099511628211ull;
	*h = (*h ^ ';') * 1099511628211ull;
}

static void on_event(void *ctx, const char *type, json_t *obj)
{
	struct seen *s = ctx;
	const char *rv = json_string_value(json_object_get(json_object_get(obj, "metadata"),
							   "resourceVersion"));

	s->n++;
	hash_str(&s->hash, type);
	hash_str(&s->hash, rv ? rv : "-");
}

static void on_list(void *ctx, json_t *objs, const char *rv)
{
	(void)ctx, (void)objs, (void)rv;
	abort(); /* a watch stream never lists */
}

/* Feed body[0..len) to on_write in chunks of chunk bytes (0: at once). */
static void run(const uint8_t *body, size_t len, size_t chunk, struct seen *s)
{
	static atomic_bool stop;
	struct kube_config cfg;
	struct kube_resource res = { .kind = "Pod" };
	struct kube_watch_handler h = { .on_list = on_list, .on_event = on_event, .ctx = s };
	struct watcher w;
	struct xfer x;
	size_t off = 0;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.server, sizeof(cfg.server), "https://fuzz.invalid");
	memset(&w, 0, sizeof(w));
	w.cfg = &cfg;
	w.res = &res;
	w.h = &h;
	w.stop = &stop;
	memset(&x, 0, sizeof(x));
	x.w = &w;
	x.is_watch = true;
	x.status = 200; /* so on_write asks curl nothing */
	x.max = LINE_MAX_BYTES;
	x.verdict = WATCH_CLOSED;
	memset(s, 0, sizeof(*s));
	s->hash = 1469598103934665603ull;
	while (off < len && !x.stop_xfer) {
		size_t n = chunk && len - off > chunk ? chunk : len - off;

		/* curl's contract: the callback takes all of it or fails */
		if (on_write((char *)body + off, 1, n, &x) != n && !x.stop_xfer)
			abort();
		off += n;
		/* only the unfinished last line stays buffered */
		if (!x.stop_xfer && memchr(x.buf ? x.buf : "", '\n', x.len))
			abort();
	}
	s->skipped = w.skipped;
	s->verdict = x.verdict;
	s->stopped = x.stop_xfer;
	snprintf(s->rv, sizeof(s->rv), "%s", w.rv);
	free(x.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen whole, chunked;
	size_t chunk;

	if (size < 1)
		return 0;
	log_set_level(LOG_LVL_OFF); /* each skipped line warns */
	chunk = data[0];
	run(data + 1, size - 1, 0, &whole);
	run(data + 1, size - 1, chunk, &chunked);
	if (whole.n != chunked.n || whole.hash != chunked.hash || whole.skipped != chunked.skipped ||
	    whole.verdict != chunked.verdict || strcmp(whole.rv, chunked.rv) ||
	    whole.stopped != chunked.stopped)
		abort(); /* where curl cuts the body changed what the agent saw */
	return 0;
}

#include "fuzz_main.h"
