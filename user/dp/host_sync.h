/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * host_sync.h - (dp layer: it writes the BPF maps directly) keeps the host-traffic maps (tcprio_host_cgroups,
 * tcprio_host_dsts, tcprio_host_ports, tcprio_host_config,
 * tcprio_host_filter, tcprio_host_answers (dp/host_answers.h: every
 * cgroup of the node, listed every 10 s), tcprio_host_rules) equal to the effective host rules
 * (policy/host_rules.h) and the host-network pods' classes.
 *
 * Cgroup paths are resolved to ids (lib/cgroup2.h) by host_sync_rescan,
 * which the agent calls every second: a cgroup created later (a service
 * started or restarted, a pod's cgroup made after its event) is picked up
 * within a second, a deleted one is dropped, a recreated one (new id)
 * replaces the old id.  A path that does not exist is logged once at info
 * level ("skipped"), and again when it appears.
 *
 * Host-network pods: a pod with a class from its annotation or a label
 * rule, or with port rules, gets an entry for its pod cgroup, found from
 * its UID under the kubepods hierarchy for the systemd driver
 * (/kubepods.slice/kubepods[-QOS].slice/kubepods[-QOS]-pod<uid with _>.slice)
 * and the cgroupfs driver (/kubepods[/QOS]/pod<uid>); the entry goes when
 * the pod goes (deleted, finished, or no longer host network).
 *
 * Every write compares with the map's content, so entries of an earlier
 * agent run that are no longer wanted are removed on the first rescan.
 * Not thread-safe: callers serialise.
 */
#ifndef TCPRIO_HOST_SYNC_H
#define TCPRIO_HOST_SYNC_H

#include "kube/pod.h"
#include "policy/class_table.h"
#include "policy/host_rules.h"
#include "dp/datapath.h"

struct host_sync; /* opaque */

/* Create (maps borrowed).  cgroup_root: the cgroup v2 mount point, or NULL
 * to find it; without cgroup v2 the cgroup rules stay unresolved (one info
 * line) and destination rules still work.  NULL with errno ENOMEM. */
struct host_sync *host_sync_new(const struct datapath_maps *maps,
				const char *cgroup_root);
void host_sync_free(struct host_sync *s);
/* Take t's host rules (and the built-ins for the n_api API server
 * endpoints api), then rescan.  t is copied from.  Host-network pods are
 * re-decided under t.  Returns 0, -E2BIG (too many rules: none taken), or
 * the rescan's result. */
int host_sync_set_rules(struct host_sync *s, const struct class_table *t,
			const struct host_endpoint *api, int n_api);
/* A pod event (deleted: the DELETED event).  Non-host-network pods are
 * ignored (a pod that stopped being host network loses its entry).
 * Returns 0 or -ENOMEM; map writes happen on the next rescan. */
int host_sync_pod(struct host_sync *s, const struct pod *p, int deleted);
/* The full pod list: host-network pods not in it are dropped. */
int host_sync_replace_pods(struct host_sync *s, const struct pod *pods, int n);
/* Resolve every cgroup and write the maps where they differ.  Returns the
 * number of map entries written or deleted, or the first -errno. */
int host_sync_rescan(struct host_sync *s);
/* Number of rules / host-network pods with a resolved cgroup. */
int host_sync_resolved(const struct host_sync *s, int *n_rules, int *n_pods);

#endif
