// SPDX-License-Identifier: BSD-2-Clause
/*
 * kube_informer.c - one resource's list + watch (kube_watch_run) on a
 * thread of its own; JSON objects become C objects (type->parse) here, a
 * list is gathered page by page in a buffer owned by the informer, and the
 * caller sees only the two callbacks of struct kube_informer_cb.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "kube/kube_informer.h"
#include "lib/log.h"

/* Objects of the list in progress, converted page by page so that a large
 * list never sits in memory as JSON.  Touched by the informer thread only. */
struct list_buffer {
	char *objs;     /* n objects of type->size bytes */
	size_t n, cap;
};

struct kube_informer {
	struct kube_informer_config cfg;
	char *field_selector, *label_selector; /* copies */
	struct list_buffer list;
	atomic_bool stop;
	pthread_t thread;
};

const char *kube_event_type_name(enum kube_event_type t)
{
	switch (t) {
	case KUBE_ADDED: return "ADDED";
	case KUBE_MODIFIED: return "MODIFIED";
	case KUBE_DELETED: return "DELETED";
	}
	return "?";
}

static void *obj_at(const struct kube_informer *inf, size_t i)
{
	return inf->list.objs + i * inf->cfg.type->size;
}

static void list_clear(struct kube_informer *inf)
{
	for (size_t i = 0; i < inf->list.n; i++)
		inf->cfg.type->free(obj_at(inf, i));
	free(inf->list.objs);
	memset(&inf->list, 0, sizeof(inf->list));
}

/* Parse json into obj (zeroed here); log notes and failures.  0 or < 0. */
static int parse(struct kube_informer *inf, const json_t *json, void *obj, const char *what)
{
	const struct kube_object_type *t = inf->cfg.type;
	char err[256] = "", name[320];

	memset(obj, 0, t->size);
	if (t->parse(json, obj, err, sizeof(err)) < 0) {
		pr_warn("%s skipped: %s", what, err);
		return -1;
	}
	if (err[0])
		pr_info("%s %s: %s", t->noun, t->name(obj, name, sizeof(name)), err);
	return 0;
}

static void on_list_page(void *ctx, json_t *items)
{
	struct kube_informer *inf = ctx;
	struct list_buffer *b = &inf->list;
	size_t n = json_array_size(items), size = inf->cfg.type->size;
	char what[64];

	if (b->n + n > b->cap) {
		size_t cap = (b->n + n) * 2;
		char *grown = realloc(b->objs, cap * size);

		if (!grown) {
			pr_warn("%s list: out of memory for %zu objects", inf->cfg.type->noun, b->n + n);
			return; /* the commit sees fewer objects: they come back with the next relist */
		}
		b->objs = grown;
		b->cap = cap;
	}
	snprintf(what, sizeof(what), "%s list item", inf->cfg.type->noun);
	for (size_t i = 0; i < n; i++)
		if (parse(inf, json_array_get(items, i), obj_at(inf, b->n), what) == 0)
			b->n++;
}

static void on_list_abort(void *ctx)
{
	list_clear(ctx);
}

/* The list is complete: its objects replace the whole set. */
static void on_list(void *ctx, json_t *unused, const char *resource_version)
{
	struct kube_informer *inf = ctx;

	inf->cfg.cb.on_list(inf->cfg.cb.ctx, inf->list.objs, inf->list.n, resource_version);
	list_clear(inf);
	malloc_trim(0); /* give the list's memory back to the system */
}

static void on_event(void *ctx, const char *type, json_t *json)
{
	struct kube_informer *inf = ctx;
	enum kube_event_type t = KUBE_MODIFIED;
	char what[64];
	void *obj;

	if (strcmp(type, "ADDED") == 0)
		t = KUBE_ADDED;
	else if (strcmp(type, "DELETED") == 0)
		t = KUBE_DELETED;
	obj = malloc(inf->cfg.type->size);
	if (!obj) {
		pr_warn("watch %s event skipped: out of memory", type);
		return;
	}
	snprintf(what, sizeof(what), "watch %s event", type);
	if (parse(inf, json, obj, what) == 0) {
		inf->cfg.cb.on_event(inf->cfg.cb.ctx, t, obj);
		inf->cfg.type->free(obj);
	}
	free(obj);
}

static void on_status(void *ctx, const char *what)
{
	struct kube_informer *inf = ctx;

	if (inf->cfg.reconnects && strcmp(what, "reconnect") == 0)
		atomic_fetch_add(inf->cfg.reconnects, 1);
}

static void *informer_main(void *arg)
{
	struct kube_informer *inf = arg;
	struct kube_resource r = {
		.kind = inf->cfg.type->kind, .path = inf->cfg.type->path,
		.field_selector = inf->field_selector, .label_selector = inf->label_selector,
	};
	struct kube_watch_handler h = {
		.on_list = on_list, .on_list_page = on_list_page, .on_list_abort = on_list_abort,
		.on_event = on_event, .on_status = on_status, .ctx = inf,
	};
	int ret = kube_watch_run(inf->cfg.kube, &r, &inf->cfg.watch, &h, &inf->stop);

	if (ret < 0)
		pr_warn("kube: %s watch not started: %s", inf->cfg.type->noun, strerror(-ret));
	list_clear(inf);
	return NULL;
}

static void informer_free(struct kube_informer *inf)
{
	free(inf->field_selector);
	free(inf->label_selector);
	free(inf);
}

struct kube_informer *kube_informer_start(const struct kube_informer_config *cfg)
{
	const struct kube_object_type *t = cfg ? cfg->type : NULL;
	struct kube_informer *inf;
	int ret;

	if (!cfg || !cfg->kube || !t || !t->parse || !t->free || !t->name || !t->size ||
	    !t->path || !cfg->cb.on_list || !cfg->cb.on_event) {
		errno = EINVAL;
		return NULL;
	}
	inf = calloc(1, sizeof(*inf));
	if (!inf)
		return NULL;
	inf->cfg = *cfg;
	if ((cfg->field_selector && !(inf->field_selector = strdup(cfg->field_selector))) ||
	    (cfg->label_selector && !(inf->label_selector = strdup(cfg->label_selector)))) {
		informer_free(inf);
		errno = ENOMEM;
		return NULL;
	}
	atomic_init(&inf->stop, false);
	ret = pthread_create(&inf->thread, NULL, informer_main, inf);
	if (ret) {
		informer_free(inf);
		errno = ret;
		return NULL;
	}
	return inf;
}

void kube_informer_stop(struct kube_informer *inf)
{
	if (!inf)
		return;
	atomic_store(&inf->stop, true);
	pthread_join(inf->thread, NULL);
	informer_free(inf);
}
