// SPDX-License-Identifier: BSD-2-Clause
/* map_read.c - whole-map readers (map_read.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dp/map_read.h"

#define BATCH 256 /* entries per BPF_MAP_LOOKUP_BATCH call */

/* Key by key; the fallback of datapath_map_walk. */
static long walk_keys(int fd, size_t key_size, size_t value_size, size_t max,
		      int (*fn)(void *, const void *, const void *), void *ctx)
{
	unsigned char *key = malloc(key_size), *next = malloc(key_size), *val = malloc(value_size);
	void *prev = NULL;
	long n = 0;

	if (!key || !next || !val) {
		n = -ENOMEM;
		goto out;
	}
	while ((size_t)n < max && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, val))
			continue; /* deleted meanwhile */
		n++;
		if (fn(ctx, key, val))
			break;
	}
out:
	free(key);
	free(next);
	free(val);
	return n;
}

long datapath_map_walk(int fd, size_t key_size, size_t value_size, size_t max,
		       int (*fn)(void *ctx, const void *key, const void *value), void *ctx)
{
	unsigned char *keys = malloc(BATCH * key_size), *vals = malloc(BATCH * value_size);
	__u64 token[8]; /* the kernel's batch position: a u32 bucket or index */
	bool first = true, done = false;
	long n = 0;

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	while (!done && (size_t)n < max) {
		__u32 count = BATCH;
		int err = bpf_map_lookup_batch(fd, first ? NULL : token, token, keys, vals,
					       &count, NULL);

		if (err) {
			err = -errno;
			if (err != -ENOENT) {
				if (first) { /* batches refused: walk key by key */
					free(keys);
					free(vals);
					return walk_keys(fd, key_size, value_size, max, fn, ctx);
				}
				n = err;
				break;
			}
			done = true; /* last batch: count entries are still valid */
		}
		first = false;
		for (__u32 i = 0; i < count && (size_t)n < max; i++) {
			n++;
			if (fn(ctx, keys + i * key_size, vals + i * value_size)) {
				done = true;
				break;
			}
		}
	}
	free(keys);
	free(vals);
	return n;
}

int datapath_read_stats(int fd, struct datapath_stat_row **rows)
{
	int ncpu = libbpf_num_possible_cpus(), n = 0, err = 0;
	struct tcprio_counters *vals;
	struct datapath_stat_row *out;

	*rows = NULL;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	out = calloc(TCPRIO_STATS_ENTRIES, sizeof(*out));
	if (!vals || !out) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (uint32_t k = 0; k < TCPRIO_STATS_ENTRIES; k++) {
		struct datapath_stat_row *r = &out[n];

		if (bpf_map_lookup_elem(fd, &k, vals)) {
			err = -errno;
			goto cleanup;
		}
		r->hook = k / TCPRIO_MAX_CLASSES;
		r->class_id = k % TCPRIO_MAX_CLASSES;
		r->packets = r->bytes = 0;
		for (int c = 0; c < ncpu; c++) {
			r->packets += vals[c].packets;
			r->bytes += vals[c].bytes;
		}
		if (r->packets || r->bytes)
			n++;
	}
cleanup:
	free(vals);
	if (err) {
		free(out);
		return err;
	}
	*rows = out;
	return n;
}

int datapath_read_events(int fd, uint64_t out[TCPRIO_HOOK_COUNT][TCPRIO_EV_COUNT])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *percpu;

	memset(out, 0, sizeof(uint64_t) * TCPRIO_HOOK_COUNT * TCPRIO_EV_COUNT);
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (int h = 0; h < TCPRIO_HOOK_COUNT; h++)
		for (int e = 0; e < TCPRIO_EV_COUNT; e++) {
			__u32 key = h * TCPRIO_EV_COUNT + e;

			if (bpf_map_lookup_elem(fd, &key, percpu))
				continue;
			for (int c = 0; c < ncpu; c++)
				out[h][e] += percpu[c];
		}
	free(percpu);
	return 0;
}
