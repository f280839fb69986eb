/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * endpoint_sync.h - keeps the BPF maps equal to what the policy says for the
 * pods the agent knows.  Holds the desired state per pod UID in memory and
 * writes only differences.  Not thread-safe: callers serialise.
 */
#ifndef TCPRIO_ENDPOINT_SYNC_H
#define TCPRIO_ENDPOINT_SYNC_H

#include "class_table.h"
#include "pod.h"
#include "policy.h"

/* File descriptors of the pinned maps (see include/tcprio.h). */
struct datapath_maps {
	int endpoints, port_rules, classes, dscp_classes, config, stats, events, pods;
};

struct endpoint_sync; /* opaque */

/* Create; t is borrowed (caller keeps it alive, see endpoint_sync_set_table). */
struct endpoint_sync *endpoint_sync_new(const struct datapath_maps *maps,
					const struct class_table *t);
void endpoint_sync_free(struct endpoint_sync *s);
/* Write classes, DSCP->class and config maps from t and re-derive all pods. */
int endpoint_sync_set_table(struct endpoint_sync *s, const struct class_table *t);
/* ADDED/MODIFIED: apply p's policy (insert/update/remove entries). */
int endpoint_sync_upsert(struct endpoint_sync *s, const struct pod *p);
/* DELETED: remove p's entries, only those that still carry p's pod_id. */
int endpoint_sync_delete(struct endpoint_sync *s, const struct pod *p);
/* List result: the pods are the whole set; everything else (also entries
 * found in the maps from an earlier agent run) is removed. */
int endpoint_sync_replace_all(struct endpoint_sync *s, struct pod *pods, int n);
/* Number of pods / IP entries held. */
int endpoint_sync_pod_count(const struct endpoint_sync *s);
int endpoint_sync_endpoint_count(const struct endpoint_sync *s);

#endif
