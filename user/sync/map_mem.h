/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * map_mem.h - the maps of map_ops.h in process memory (uthash), with the
 * kernel's semantics: hash maps fail an update of a new key with -E2BIG at
 * max_entries, array maps hold every key 0..max_entries-1 (zeroed at
 * first) and refuse delete with -EINVAL.  For the sync engine's tests
 * without root.  Not thread-safe.
 */
#ifndef TCPRIO_MAP_MEM_H
#define TCPRIO_MAP_MEM_H

#include "sync/map_ops.h"

struct map_mem; /* opaque */

/* max_entries: per map, or NULL for sync_map_info's; a 0 entry also means
 * sync_map_info's.  NULL with errno ENOMEM. */
struct map_mem *map_mem_new(const unsigned int max_entries[SYNC_MAP_COUNT]);
/* Fill ops to work on mm (borrowed: mm must outlive their use). */
void map_mem_ops(struct map_mem *mm, struct sync_map_ops *ops);
/* Entries held in map m (arrays: max_entries). */
size_t map_mem_count(const struct map_mem *mm, enum sync_map m);
void map_mem_free(struct map_mem *mm);

#endif
