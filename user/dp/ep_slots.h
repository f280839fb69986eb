/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ep_slots.h - the endpoint slots, tcprio_ep_slots (include/tcprio.h,
 * "Endpoint slots"): copies of tcprio_endpoints entries that the programs
 * read before the hash.  Every writer of an endpoint calls ep_slot_sync
 * after its map write (the BPF map operations do: dp/map_ops_bpf.c); the
 * agent settles every slot when it loads the programs (ep_slots_settle_all).
 */
#ifndef TCPRIO_EP_SLOTS_H
#define TCPRIO_EP_SLOTS_H

#include "tcprio.h"

/*
 * Make ip's slot in the tcprio_ep_slots map slots_fd agree with the
 * tcprio_endpoints map endpoints_fd: settle the slot (below), then copy
 * the entry the hash holds for ip (if any, and with a pod_id) into it
 * unless another address rightly holds it (the first writer keeps a
 * shared slot: a pod keeps its slot when a newer pod's address hashes to
 * it), then settle it again.  Call it after every write or delete of ip's
 * entry, before the cache generation changes.  With slots_fd < 0 (a map
 * set without slots) it does nothing.  0, or the first -errno of a map
 * read or write: the slot may then still hold ip's entry from before this
 * write (the agent's next ep_slots_settle_all, at its recheck, empties
 * it).
 */
int ep_slot_sync(int slots_fd, int endpoints_fd, const struct tcprio_ip *ip);

/*
 * Settle slot k (< TCPRIO_EP_SLOTS): while it is not empty and holds an
 * entry other than what the hash holds now for its address, empty it
 * (up to 4 rounds; another writer racing on the slot settles it after its
 * own write).  So that two processes writing one slot at once (the agent
 * and `tcprio endpoint add`) leave it right or empty.  0 or -errno.
 */
int ep_slot_settle(int slots_fd, int endpoints_fd, __u32 k);

/* Settle every slot whose entry disagrees with the hash (an earlier agent,
 * an older `tcprio` binary, or a writer that failed or was killed between
 * its hash and slot writes may have left it): the array read with
 * datapath_map_walk (dp/map_read.h: batched where the kernel can), a hash
 * lookup per slot in use.  The caller bumps the cache generation when
 * *emptied (may be NULL: not reported) > 0.  Returns the number of slots
 * found agreeing, or -ENOMEM or the first -errno (it goes on with the
 * others). */
long ep_slots_settle_all(int slots_fd, int endpoints_fd, long *emptied);

#endif
