// SPDX-License-Identifier: BSD-2-Clause
/* readiness.c - uplink part of the agent's readiness (readiness.h). */
#include <errno.h>
#include "agent/readiness.h"
#include "dp/datapath.h"
#include "dp/uplink_qdisc.h"

int readiness_init(struct agent_metrics *m, const char (*uplinks)[IF_NAMESIZE], int n)
{
	for (int i = 0; i < n; i++)
		if (metrics_add_ready_iface(m, uplinks[i]) < 0)
			return -ENOSPC;
	return 0;
}

int readiness_check_uplinks(struct agent_metrics *m, const char (*uplinks)[IF_NAMESIZE], int n,
			    __u32 mine, bool need_htb)
{
	uint32_t absent = 0, unattached = 0, no_htb = 0;
	int bad = 0;

	for (int i = 0; i < n && i < METRICS_MAX_IFACES; i++) {
		int ifindex = (int)if_nametoindex(uplinks[i]);
		uint32_t bit = 1u << i;

		if (!ifindex) {
			absent |= bit; /* misspelt, or not there yet */
			bad++;
			continue;
		}
		if (!mine || datapath_is_attached(ifindex, TCPRIO_HOOK_UPLINK, mine) != 1)
			unattached |= bit;
		if (need_htb && uplink_qdisc_present(ifindex) == 0)
			no_htb |= bit;
		bad += (unattached | no_htb) & bit ? 1 : 0;
	}
	metrics_set_uplink_state(m, absent, unattached, no_htb);
	return bad;
}
