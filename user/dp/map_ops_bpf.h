/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * map_ops_bpf.h - the sync engine's map operations (sync/map_ops.h) on
 * the BPF maps of a loaded or pinned datapath (libbpf's bpf_map_* calls).
 */
#ifndef TCPRIO_MAP_OPS_BPF_H
#define TCPRIO_MAP_OPS_BPF_H

#include "dp/datapath.h"
#include "sync/map_ops.h"

/* Fill ops to work on the fds in maps (borrowed: maps must outlive the use
 * of ops; the fds are read at each call). */
void datapath_map_ops(const struct datapath_maps *maps, struct sync_map_ops *ops);
/* Every key of the map fd (key_size bytes each) into a malloc'd array;
 * 0 or -errno. */
int datapath_map_keys(int fd, size_t key_size, void **keys, size_t *n);

#endif
