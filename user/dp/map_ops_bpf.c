// SPDX-License-Identifier: BSD-2-Clause
/* map_ops_bpf.c - sync/map_ops.h on BPF maps (map_ops_bpf.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "dp/datapath.h"
#include "dp/ep_filter.h"
#include "dp/ep_slots.h"
#include "dp/map_ops_bpf.h"
#include "dp/map_read.h"

static int fd_of(void *ctx, enum sync_map m)
{
	const struct datapath_maps *maps = ctx;

	switch (m) {
	case SYNC_MAP_ENDPOINTS: return maps->endpoints;
	case SYNC_MAP_PORT_RULES: return maps->port_rules;
	case SYNC_MAP_PODS: return maps->pods;
	case SYNC_MAP_CLASSES: return maps->classes;
	case SYNC_MAP_DSCP_CLASSES: return maps->dscp_classes;
	case SYNC_MAP_CONFIG: return maps->config;
	case SYNC_MAP_RULE_BLOCKS: return maps->rule_blocks;
	default: return -1;
	}
}

static int bpf_lookup(void *ctx, enum sync_map m, const void *key, void *value)
{
	return bpf_map_lookup_elem(fd_of(ctx, m), key, value) ? -errno : 0;
}

/* After a write to a map the source cache depends on, tell the programs
 * (datapath_note_change).  err: the write's result, returned. */
static int noted(void *ctx, enum sync_map m, int err)
{
	const struct datapath_maps *maps = ctx;

	if (m == SYNC_MAP_ENDPOINTS || m == SYNC_MAP_PORT_RULES || m == SYNC_MAP_RULE_BLOCKS) {
		int e = datapath_note_change(maps->cache_gen);

		if (!err)
			err = e;
	}
	return err;
}

static int bpf_update(void *ctx, enum sync_map m, const void *key, const void *value)
{
	const struct datapath_maps *maps = ctx;
	int err = bpf_map_update_elem(fd_of(ctx, m), key, value, BPF_ANY) ? -errno : 0;

	/* the endpoint first, then its slot and filter bit, then the generation */
	if (!err && m == SYNC_MAP_ENDPOINTS) {
		err = ep_slot_sync(maps->ep_slots, maps->endpoints, key);
		ep_filter_add(maps->ep_filter_mem, maps->ep_filter, key);
	}
	return noted(ctx, m, err);
}

static int bpf_delete(void *ctx, enum sync_map m, const void *key)
{
	const struct datapath_maps *maps = ctx;
	int err = bpf_map_delete_elem(fd_of(ctx, m), key) ? -errno : 0;

	/* the endpoint first, then its slot, then the generation */
	if (m == SYNC_MAP_ENDPOINTS) {
		int e = ep_slot_sync(maps->ep_slots, maps->endpoints, key);

		if (!err)
			err = e;
	}
	return noted(ctx, m, err);
}

struct keys_walk {
	char *keys;
	size_t n, cap, key_size;
};

static int add_key(void *ctx, const void *key, const void *value)
{
	struct keys_walk *w = ctx;

	if (w->n == w->cap) {
		char *k = realloc(w->keys, w->cap * 2 * w->key_size);

		if (!k)
			return -1;
		w->keys = k;
		w->cap *= 2;
	}
	memcpy(w->keys + w->n++ * w->key_size, key, w->key_size);
	return 0;
}

int datapath_map_keys(int fd, size_t key_size, void **out, size_t *n)
{
	struct keys_walk w = { .cap = 1024, .key_size = key_size };
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	long r;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	w.keys = malloc(w.cap * key_size);
	if (!w.keys)
		return -ENOMEM;
	r = datapath_map_walk(fd, key_size, info.value_size, info.max_entries * 2ul, add_key, &w);
	if (r < 0 || w.n < (size_t)r) { /* walk failed, or add_key ran out of memory */
		free(w.keys);
		return r < 0 ? (int)r : -ENOMEM;
	}
	*out = w.keys;
	*n = w.n;
	return 0;
}

static int bpf_keys(void *ctx, enum sync_map m, void **keys, size_t *n)
{
	return datapath_map_keys(fd_of(ctx, m), sync_map_info[m].key_size, keys, n);
}

void datapath_map_ops(const struct datapath_maps *maps, struct sync_map_ops *ops)
{
	*ops = (struct sync_map_ops){ .lookup = bpf_lookup, .update = bpf_update,
				      .delete = bpf_delete, .keys = bpf_keys,
				      .ctx = (void *)maps };
}
