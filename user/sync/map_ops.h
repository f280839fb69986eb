/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * map_ops.h - the maps as the sync engine sees them: seven maps (keys and
 * values of include/tcprio.h) behind four operations.  dp/ implements them
 * on the pinned BPF maps (datapath_map_ops, dp/map_ops_bpf.c); map_mem.h
 * implements them in memory, for tests without root and dry runs.
 */
#ifndef TCPRIO_MAP_OPS_H
#define TCPRIO_MAP_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include "tcprio.h"

enum sync_map {
	SYNC_MAP_ENDPOINTS,    /* hash: struct tcprio_ip -> struct tcprio_endpoint */
	SYNC_MAP_PORT_RULES,   /* hash: struct tcprio_port_key -> struct tcprio_port_rule */
	SYNC_MAP_PODS,         /* hash: __u64 pod_id -> struct tcprio_pod */
	SYNC_MAP_CLASSES,      /* array: __u32 class id -> struct tcprio_class */
	SYNC_MAP_DSCP_CLASSES, /* array: __u32 DSCP -> struct tcprio_dscp_class */
	SYNC_MAP_CONFIG,       /* array: __u32 0 -> struct tcprio_config */
	SYNC_MAP_RULE_BLOCKS,  /* array: __u32 block -> struct tcprio_rule_block */
	SYNC_MAP_COUNT
};

/* Shape of each map, as the BPF programs declare it (bpf/tcprio_maps.h). */
struct sync_map_info {
	const char *name;          /* pinned name, e.g. "tcprio_endpoints" */
	size_t key_size, value_size; /* bytes */
	unsigned int max_entries;  /* include/tcprio.h */
	bool array;                /* BPF_MAP_TYPE_ARRAY: every key exists, no delete */
};
extern const struct sync_map_info sync_map_info[SYNC_MAP_COUNT];

/* Every operation returns 0 or -errno, with the kernel's meaning:
 * -ENOENT no such key (lookup, delete), -E2BIG the map is full (update of
 * a new key), -EINVAL bad key or delete on an array.  Keys and values are
 * sync_map_info[m].key_size / value_size bytes, in the byte order of
 * include/tcprio.h. */
struct sync_map_ops {
	int (*lookup)(void *ctx, enum sync_map m, const void *key, void *value);
	int (*update)(void *ctx, enum sync_map m, const void *key, const void *value);
	int (*delete)(void *ctx, enum sync_map m, const void *key);
	/* Every key of m into a malloc'd array of *n keys (the caller frees
	 * it); a map changed meanwhile may miss or repeat keys. */
	int (*keys)(void *ctx, enum sync_map m, void **keys, size_t *n);
	void *ctx;
};

#endif
