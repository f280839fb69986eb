/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * map_read.h - read whole BPF maps of the datapath: one walker (batched
 * with bpf_map_lookup_batch, key by key where the kernel refuses batches)
 * and the per-CPU counter readers that /metrics and `tcprio status` share.
 */
#ifndef TCPRIO_MAP_READ_H
#define TCPRIO_MAP_READ_H

#include <stddef.h>
#include <stdint.h>
#include "tcprio.h"

/*
 * Call fn(ctx, key, value) for every entry of the map fd, at most max
 * entries (a bound for maps changing under the walk).  key_size and
 * value_size are the sizes user space sees (per-CPU maps: ncpu values of
 * round_up(size, 8) bytes).  Uses BPF_MAP_LOOKUP_BATCH (kernel 5.6+) and
 * falls back to BPF_MAP_GET_NEXT_KEY + lookup when the kernel or map type
 * refuses it.  fn returning non-zero stops the walk.  Returns the number
 * of entries visited or -errno.
 */
long datapath_map_walk(int fd, size_t key_size, size_t value_size, size_t max,
		       int (*fn)(void *ctx, const void *key, const void *value), void *ctx);

/* One tcprio_stats slot (hook, class) with its per-CPU values summed. */
struct datapath_stat_row {
	uint32_t hook;       /* enum tcprio_hook */
	uint32_t class_id;   /* 0..TCPRIO_MAX_CLASSES-1 */
	uint64_t packets, bytes;
};

/* The tcprio_stats slots that counted something, in hook then class
 * order, into *rows (malloc'd, at most TCPRIO_STATS_ENTRIES; the caller
 * frees).  Returns the row count or -errno. */
int datapath_read_stats(int fd, struct datapath_stat_row **rows);

/* tcprio_events summed over CPUs: out[hook][event] (TCPRIO_EV_*); entries
 * that cannot be read are 0.  Returns 0 or -errno (out is zeroed). */
int datapath_read_events(int fd, uint64_t out[TCPRIO_HOOK_COUNT][TCPRIO_EV_COUNT]);

#endif
