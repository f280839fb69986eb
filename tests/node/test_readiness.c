// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_readiness.c - the agent's readiness as production computes it
 * (readiness_check_uplinks, called by the agent every second, and
 * metrics_is_ready, what /readyz answers) against real tc filters: an
 * uplink that loses its filter makes the agent unready again.  Runs as
 * root in a network namespace of its own (unshare) with its own pin
 * folder, removed at exit.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent/readiness.h"
#include "dp/datapath.h"
#include "lib/log.h"
#include "tap.h"

static char pin_dir[128];

static void cleanup(void)
{
	if (pin_dir[0])
		sh("rm -rf '%s' 2>/dev/null", pin_dir);
}

static const char uplinks[2][IF_NAMESIZE] = { "tprup0", "tprup9" }; /* tprup9 never exists */

/* One production check, then what /readyz would say. */
static bool ready(struct agent_metrics *m, __u32 mine, char *reason, size_t len)
{
	readiness_check_uplinks(m, uplinks, 2, mine);
	reason[0] = '\0';
	return metrics_is_ready(m, reason, len);
}

int main(void)
{
	static struct agent_metrics m;
	struct datapath dp;
	char why[256];
	__u32 mine = 0;
	int up, err;

	if (geteuid() != 0)
		return tap_skip_all("needs root (BPF, netns)");
	if (unshare(CLONE_NEWNET))
		return tap_skip_all("cannot create a network namespace");
	tap_plan(9);
	log_set_level(LOG_LVL_WARN);
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/tcprio-test-ready-%d", getpid());
	atexit(cleanup);
	signal(SIGTERM, exit);
	signal(SIGINT, exit);

	metrics_init(&m);
	CHECK(readiness_init(&m, uplinks, 2) == 0, "two uplinks named as readiness interfaces");
	atomic_store(&m.pinned, true);
	atomic_store(&m.synced, true);
	if (!CHECK(sh("ip link add tprup0 type veth peer name tprup1 && ip link set tprup1 up && "
		      "ip link set tprup0 up") == 0, "create the uplink veth"))
		return tap_done();
	up = (int)if_nametoindex("tprup0");
	err = datapath_load(&dp, pin_dir);
	if (!err) /* tc: removing the clsact qdisc below removes the filter */
		err = datapath_set_attach_mode(&dp, DATAPATH_ATTACH_TC);
	if (!err)
		err = datapath_prog_id(&dp, TCPRIO_HOOK_UPLINK, &mine);
	if (!CHECK(err == 0 && mine,
		   "datapath loaded into %s (err %d, uplink prog id %u)", pin_dir, err, mine))
		return tap_done();

	CHECK(!ready(&m, mine, why, sizeof(why)) && strstr(why, "programs not attached (tprup0)"),
	      "present uplink without its program: not ready, named (%s)", why);
	CHECK(datapath_attach(&dp, up, TCPRIO_HOOK_UPLINK) == 0 && ready(&m, mine, why, sizeof(why)),
	      "attached: ready; the absent uplink is not required (%s)", why);
	/* Removed by hand (tc, `tcprio detach`): the old attach counter stayed
	 * "attached" here. */
	sh("tc qdisc del dev tprup0 clsact");
	CHECK(!ready(&m, mine, why, sizeof(why)) && strstr(why, "tprup0"),
	      "filter removed: not ready again (%s)", why);
	CHECK(datapath_attach(&dp, up, TCPRIO_HOOK_UPLINK) == 0 && ready(&m, mine, why, sizeof(why)),
	      "re-attached: ready (%s)", why);
	CHECK(!ready(&m, mine + 1000, why, sizeof(why)),
	      "a filter running another program (another pin folder's) is not ours: not ready");
	sh("ip link del tprup0");
	CHECK(ready(&m, mine, why, sizeof(why)), "uplink gone: not required (%s)", why);
	datapath_close(&dp);
	return tap_done();
}
