/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * host_answers.h - write tcprio_host_answers (include/tcprio.h, "Host
 * cgroup answers"): for every cgroup of the node, what the uplink's walk up
 * the cgroup tree would find, so that a local socket's first packet needs
 * no walk.  Called by host_sync_rescan (dp/host_sync.h) after it wrote
 * tcprio_host_cgroups.
 */
#ifndef TCPRIO_HOST_ANSWERS_H
#define TCPRIO_HOST_ANSWERS_H

#include <stddef.h>
#include "tcprio.h"

/* Most cgroups one sync visits; the rest have no answer (they walk). */
#define HOST_ANSWERS_MAX_CGROUPS (4 * TCPRIO_HOST_ANSWER_SLOTS)
/* Deepest level one sync visits (root = 0); deeper cgroups walk. */
#define HOST_ANSWERS_MAX_DEPTH   32
/* Seconds a listing of the tree is used: listing reads every cgroup's
 * folder (about 11 us a cgroup on the development machine: 23 ms for
 * 2,000), so a sync recomputes the answers from the last listing and
 * lists the tree again this often (a cgroup made meanwhile walks). */
#define HOST_ANSWERS_RELIST_S    10

struct host_answers; /* opaque: the map fd and a copy of what it holds */

/* Take over the tcprio_host_answers map map_fd (borrowed): reads what it
 * holds (an earlier agent's answers), so that the first sync rewrites
 * exactly the slots that differ.  NULL with errno (ENOMEM, or the map's
 * read error). */
struct host_answers *host_answers_new(int map_fd);
void host_answers_free(struct host_answers *a);
/* Empty every slot of the tcprio_host_answers map map_fd (so that an
 * earlier run's answers cannot stay in force when host_answers_new
 * failed): every cgroup then walks.  0 or the first -errno. */
int host_answers_clear(int map_fd);

/*
 * Make the map answer for the cgroup v2 tree mounted at root (a directory,
 * e.g. "/sys/fs/cgroup") under the entries ids[i] -> rules[i], i < n (the
 * contents of tcprio_host_cgroups): each cgroup's slot gets the cgroup,
 * the id of the nearest cgroup at or above it that has an entry (an
 * ancestor deeper than TCPRIO_HOST_MAX_LEVEL counts only for itself, as
 * in the uplink's walk) and that entry; the first cgroup listed keeps a
 * shared slot.  With n == 0 (no cgroup entries: the uplink does not ask)
 * or root NULL or "", every slot is emptied.  The tree is the last
 * listing of root, listed again when HOST_ANSWERS_RELIST_S old or of
 * another root: at most HOST_ANSWERS_MAX_CGROUPS cgroups,
 * HOST_ANSWERS_MAX_DEPTH levels deep; a cgroup that cannot be read is
 * skipped (its packets walk; all of them when the listing's memory
 * cannot be had).  Writes only the slots that changed.  Returns how many
 * it wrote, or the first -errno of a write (it goes on with the others).  *visited (may be NULL): the cgroups in the
 * listing used.
 */
int host_answers_sync(struct host_answers *a, const char *root, const __u64 *ids,
		      const struct tcprio_host_rule *rules, size_t n, size_t *visited);

#endif
