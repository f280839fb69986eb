// SPDX-License-Identifier: BSD-2-Clause
/* map_ops_bpf.c - sync/map_ops.h on BPF maps (map_ops_bpf.h). */
#include <errno.h>
#include <stdlib.h>
#include <bpf/bpf.h>
#include "dp/map_ops_bpf.h"

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
	default: return -1;
	}
}

static int bpf_lookup(void *ctx, enum sync_map m, const void *key, void *value)
{
	return bpf_map_lookup_elem(fd_of(ctx, m), key, value) ? -errno : 0;
}

static int bpf_update(void *ctx, enum sync_map m, const void *key, const void *value)
{
	return bpf_map_update_elem(fd_of(ctx, m), key, value, BPF_ANY) ? -errno : 0;
}

static int bpf_delete(void *ctx, enum sync_map m, const void *key)
{
	return bpf_map_delete_elem(fd_of(ctx, m), key) ? -errno : 0;
}

int datapath_map_keys(int fd, size_t key_size, void **out, size_t *n)
{
	size_t cap = 1024, cnt = 0;
	char *keys = malloc(cap * key_size), *prev = NULL;

	if (!keys)
		return -ENOMEM;
	for (;;) {
		if (cnt == cap) {
			char *k = realloc(keys, cap * 2 * key_size);

			if (!k) {
				free(keys);
				return -ENOMEM;
			}
			keys = k;
			cap *= 2;
		}
		prev = cnt ? keys + (cnt - 1) * key_size : NULL;
		if (bpf_map_get_next_key(fd, prev, keys + cnt * key_size)) {
			if (errno == ENOENT)
				break;
			free(keys);
			return -errno;
		}
		cnt++;
	}
	*out = keys;
	*n = cnt;
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
