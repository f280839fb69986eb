/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * readiness.h - the interface part of the agent's readiness (/readyz): each
 * named uplink must exist, run this agent's uplink program and, with
 * --uplink-rate, carry tcprio's HTB tree; with the hooks' pre-emption state
 * (metrics_set_hooks, from the re-check) this is all of "what is
 * attached".  The state is read from the kernel at every check (the
 * program id of the tcx link or tc filter, the root qdisc), not
 * counted from attach events, so an uplink that loses its filter makes the
 * agent unready until it is attached again.  The other conditions (maps
 * pinned, initial pod list synced) are set where they happen.
 */
#ifndef TCPRIO_READINESS_H
#define TCPRIO_READINESS_H

#include <net/if.h>
#include <linux/types.h>
#include <stdbool.h>
#include "agent/metrics.h"

/* Register uplinks[0..n) as m's readiness interfaces, in order (before the
 * threads start).  0 or -ENOSPC. */
int readiness_init(struct agent_metrics *m, const char (*uplinks)[IF_NAMESIZE], int n);

/* Check every uplink: it must exist (an absent one is a misspelt
 * --uplink, or one not created yet), run program id mine (0: none loaded,
 * so never attached) on its uplink hook and, if need_htb (--uplink-rate),
 * have tcprio's HTB tree at its root (uplink_qdisc_present).  Stores the
 * result in m (metrics_set_uplink_state), which /readyz reports.  Returns
 * how many uplinks fail a condition. */
int readiness_check_uplinks(struct agent_metrics *m, const char (*uplinks)[IF_NAMESIZE], int n,
			    __u32 mine, bool need_htb);

#endif
