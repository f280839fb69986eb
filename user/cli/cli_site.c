/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_site.c - the one sentence `tcprio status` and `tcprio explain` print
 * about this node's site and WAN shaping, made from the agent's site record
 * (tcprio_site, include/tcprio.h) so that the two commands cannot disagree.
 */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "tcprio.h"

/* How the WAN is shaped: the part after "site NAME: ". */
static void shaping(const struct tcprio_site *s, char *buf, size_t len)
{
	unsigned long long share = s->share_bps, budget = s->budget_bps, link = s->link_bps;

	if (budget && share)
		snprintf(buf, len, "WAN share %llu bit/s of the site's %llu (%u of %u nodes Ready), "
			 "link %llu bit/s", share, budget, s->ready_nodes, s->nodes, link);
	else if (budget)
		snprintf(buf, len, "WAN not shaped on this node: no --uplink (the site's WAN budget "
			 "is %llu bit/s, %u of %u nodes Ready)", budget, s->ready_nodes, s->nodes);
	else if (share)
		snprintf(buf, len, "no site WAN budget%s: the WAN branch is the whole link, "
			 "%llu bit/s", s->name[0] ? " (not in sites:, no defaultSite)" : "", share);
	else
		snprintf(buf, len, "WAN not shaped (no site WAN budget%s, and no --uplink-rate or "
			 "no --uplink)", s->name[0] ? ": not in sites:, no defaultSite" : "");
}

void cli_site_summary(const struct tcprio_site *s, char *buf, size_t len)
{
	char name[sizeof(s->name)], how[256];

	if (s->gateway) {
		if (s->share_bps)
			snprintf(buf, len, "gateway mode: all traffic of the uplink is the site's WAN, "
				 "shaped at %llu bit/s (--uplink-rate)",
				 (unsigned long long)s->share_bps);
		else
			snprintf(buf, len, "gateway mode: WAN not shaped: no --uplink");
		return;
	}
	memcpy(name, s->name, sizeof(name));
	name[sizeof(name) - 1] = '\0'; /* the record comes from a map: not trusted */
	shaping(s, how, sizeof(how));
	snprintf(buf, len, "site %s%s: %s", name[0] ? name : "(none: no Node watch, or the Nodes "
		 "are not listed yet)", !name[0] || s->labelled ? "" :
		 " (no site label: a site of its own)", how);
}
