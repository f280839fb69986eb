// SPDX-License-Identifier: BSD-2-Clause
/* readiness.c - uplink part of the agent's readiness (readiness.h). */
#include <errno.h>
#include "agent/readiness.h"
#include "dp/datapath.h"

int readiness_init(struct agent_metrics *m, const char (*uplinks)[IF_NAMESIZE], int n)
{
	for (int i = 0; i < n; i++)
		if (metrics_add_ready_iface(m, uplinks[i]) < 0)
			return -ENOSPC;
	return 0;
}

int readiness_check_uplinks(struct agent_metrics *m, const char (*uplinks)[IF_NAMESIZE], int n,
			    __u32 mine)
{
	uint32_t mask = 0;
	int missing = 0;

	for (int i = 0; i < n && i < METRICS_MAX_IFACES; i++) {
		int ifindex = (int)if_nametoindex(uplinks[i]);

		if (!ifindex)
			continue; /* absent: attached by the link watch when it appears */
		if (mine && datapath_is_attached(ifindex, TCPRIO_HOOK_UPLINK, mine) == 1)
			continue;
		mask |= 1u << i;
		missing++;
	}
	metrics_set_ifaces_unattached(m, mask);
	return missing;
}
