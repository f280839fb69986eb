// SPDX-License-Identifier: BSD-2-Clause
/* map_mem.c - in-memory maps with BPF map semantics (map_mem.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
/* An allocation failure in HASH_ADD fails the update with -ENOMEM instead
 * of aborting (uthash's default). */
static __thread bool hash_oom;
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(elt) (hash_oom = true)
#include <uthash.h>
#include "sync/map_mem.h"

struct mem_entry {
	UT_hash_handle hh;
	unsigned char *value;  /* value_size bytes */
	unsigned char key[];   /* key_size bytes */
};

struct mem_map {
	const struct sync_map_info *info;
	unsigned int max;
	struct mem_entry *head;   /* uthash table */
	unsigned char *array;     /* array maps: max * value_size */
};

struct map_mem {
	struct mem_map maps[SYNC_MAP_COUNT];
};

static void entry_free(struct mem_entry *e)
{
	free(e->value);
	free(e);
}

void map_mem_free(struct map_mem *mm)
{
	if (!mm)
		return;
	for (int i = 0; i < SYNC_MAP_COUNT; i++) {
		struct mem_entry *e, *tmp;

		HASH_ITER(hh, mm->maps[i].head, e, tmp) {
			HASH_DEL(mm->maps[i].head, e);
			entry_free(e);
		}
		free(mm->maps[i].array);
	}
	free(mm);
}

struct map_mem *map_mem_new(const unsigned int max_entries[SYNC_MAP_COUNT])
{
	struct map_mem *mm = calloc(1, sizeof(*mm));

	if (!mm)
		goto nomem;
	for (int i = 0; i < SYNC_MAP_COUNT; i++) {
		struct mem_map *m = &mm->maps[i];

		m->info = &sync_map_info[i];
		m->max = max_entries && max_entries[i] ? max_entries[i] : m->info->max_entries;
		if (m->info->array && !(m->array = calloc(m->max, m->info->value_size)))
			goto nomem;
	}
	return mm;
nomem:
	map_mem_free(mm);
	errno = ENOMEM;
	return NULL;
}

static struct mem_entry *find(struct mem_map *m, const void *key)
{
	struct mem_entry *e;

	HASH_FIND(hh, m->head, key, m->info->key_size, e);
	return e;
}

/* Array index of key, or -EINVAL beyond max_entries. */
static long array_index(const struct mem_map *m, const void *key)
{
	__u32 k;

	memcpy(&k, key, sizeof(k));
	return k < m->max ? (long)k : -EINVAL;
}

static int mem_lookup(void *ctx, enum sync_map id, const void *key, void *value)
{
	struct mem_map *m = &((struct map_mem *)ctx)->maps[id];
	struct mem_entry *e;
	long i;

	if (m->info->array) {
		if ((i = array_index(m, key)) < 0)
			return -ENOENT;
		memcpy(value, m->array + i * m->info->value_size, m->info->value_size);
		return 0;
	}
	e = find(m, key);
	if (!e)
		return -ENOENT;
	memcpy(value, e->value, m->info->value_size);
	return 0;
}

static int mem_update(void *ctx, enum sync_map id, const void *key, const void *value)
{
	struct mem_map *m = &((struct map_mem *)ctx)->maps[id];
	size_t ks = m->info->key_size, vs = m->info->value_size;
	struct mem_entry *e;
	long i;

	if (m->info->array) {
		if ((i = array_index(m, key)) < 0)
			return -E2BIG; /* the kernel's answer for an index beyond the array */
		memcpy(m->array + i * vs, value, vs);
		return 0;
	}
	e = find(m, key);
	if (e) {
		memcpy(e->value, value, vs);
		return 0;
	}
	if (HASH_COUNT(m->head) >= m->max)
		return -E2BIG;
	e = malloc(sizeof(*e) + ks);
	if (!e)
		return -ENOMEM;
	e->value = malloc(vs);
	if (!e->value) {
		free(e);
		return -ENOMEM;
	}
	memcpy(e->key, key, ks);
	memcpy(e->value, value, vs);
	hash_oom = false;
	HASH_ADD(hh, m->head, key, ks, e);
	if (hash_oom) {
		entry_free(e);
		return -ENOMEM;
	}
	return 0;
}

static int mem_delete(void *ctx, enum sync_map id, const void *key)
{
	struct mem_map *m = &((struct map_mem *)ctx)->maps[id];
	struct mem_entry *e;

	if (m->info->array)
		return -EINVAL;
	e = find(m, key);
	if (!e)
		return -ENOENT;
	HASH_DEL(m->head, e);
	entry_free(e);
	return 0;
}

static int mem_keys(void *ctx, enum sync_map id, void **keys, size_t *n)
{
	struct mem_map *m = &((struct map_mem *)ctx)->maps[id];
	size_t ks = m->info->key_size, cnt = m->info->array ? m->max : HASH_COUNT(m->head);
	unsigned char *out = malloc((cnt ? cnt : 1) * ks);
	struct mem_entry *e, *tmp;
	size_t i = 0;

	if (!out)
		return -ENOMEM;
	if (m->info->array) {
		for (__u32 k = 0; k < m->max; k++)
			memcpy(out + k * ks, &k, sizeof(k));
	} else {
		HASH_ITER(hh, m->head, e, tmp)
			memcpy(out + i++ * ks, e->key, ks);
	}
	*keys = out;
	*n = cnt;
	return 0;
}

void map_mem_ops(struct map_mem *mm, struct sync_map_ops *ops)
{
	*ops = (struct sync_map_ops){ .lookup = mem_lookup, .update = mem_update,
				      .delete = mem_delete, .keys = mem_keys, .ctx = mm };
}

size_t map_mem_count(const struct map_mem *mm, enum sync_map m)
{
	return mm->maps[m].info->array ? mm->maps[m].max : HASH_COUNT(mm->maps[m].head);
}
