/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * readiness.h - the interface part of the agent's readiness (/readyz): each
 * named uplink that exists must run this agent's uplink program.  The state
 * is read from the kernel at every check (the tc filter's program id), not
 * counted from attach events, so an uplink that loses its filter makes the
 * agent unready until it is attached again.  The other conditions (maps
 * pinned, initial pod list synced) are set where they happen.
 */
#ifndef TCPRIO_READINESS_H
#define TCPRIO_READINESS_H

#include <net/if.h>
#include <linux/types.h>
#include "agent/metrics.h"

/* Register uplinks[0..n) as m's readiness interfaces, in order (before the
 * threads start).  0 or -ENOSPC. */
int readiness_init(struct agent_metrics *m, const char (*uplinks)[IF_NAMESIZE], int n);

/* Check every uplink: absent (not required; attached when it appears) or
 * present and running program id mine (0: none loaded, so never attached)
 * on its uplink hook.  Stores the result in m
 * (metrics_set_ifaces_unattached).  Returns how many present uplinks lack
 * the program. */
int readiness_check_uplinks(struct agent_metrics *m, const char (*uplinks)[IF_NAMESIZE], int n,
			    __u32 mine);

#endif
