// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_readiness.c - the agent's readiness as production computes it
 * (readiness_check_uplinks, called by the agent every second, and
 * metrics_is_ready, what /readyz answers) against real tc filters and
 * qdiscs: an uplink that loses its filter or its HTB tree, or does not
 * exist, makes the agent unready and is named.  Runs as
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
#include "dp/uplink_qdisc.h"
#include "policy/class_table.h"
#include "lib/log.h"
#include "tap.h"

static char pin_dir[128];

static void cleanup(void)
{
	if (pin_dir[0])
		sh("rm -rf '%s' 2>/dev/null", pin_dir);
}

static const char uplinks[2][IF_NAMESIZE] = { "tprup0", "tprup9" }; /* tprup9: made later */

/* One production check (need_htb: --uplink-rate), then what /readyz
 * would say. */
static bool ready_htb(struct agent_metrics *m, __u32 mine, bool need_htb, char *reason,
		      size_t len)
{
	readiness_check_uplinks(m, uplinks, 2, mine, need_htb);
	reason[0] = '\0';
	return metrics_is_ready(m, reason, len);
}

static bool ready(struct agent_metrics *m, __u32 mine, char *reason, size_t len)
{
	return ready_htb(m, mine, false, reason, len);
}

int main(void)
{
	static struct agent_metrics m;
	static struct class_table t;
	struct datapath dp;
	char why[256];
	__u32 mine = 0;
	int up, up9, err;

	if (geteuid() != 0)
		return tap_skip_all("needs root (BPF, netns)");
	if (unshare(CLONE_NEWNET))
		return tap_skip_all("cannot create a network namespace");
	tap_plan(17);
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
	/* A misspelt --uplink was "ready": absent uplinks were not required. */
	CHECK(datapath_attach(&dp, up, TCPRIO_HOOK_UPLINK) == 0 &&
	      !ready(&m, mine, why, sizeof(why)) &&
	      !strcmp(why, "uplink tprup9 does not exist (check --uplink)"),
	      "attached, the other uplink absent: not ready, the absent one named (%s)", why);
	if (!CHECK(sh("ip link add tprup9 type veth peer name tprup8 && ip link set tprup9 up") == 0,
		   "create the second uplink"))
		return tap_done();
	up9 = (int)if_nametoindex("tprup9");
	CHECK(!ready(&m, mine, why, sizeof(why)) && strstr(why, "programs not attached (tprup9)") &&
	      !strstr(why, "does not exist"), "it appears without its program: named (%s)", why);
	CHECK(datapath_attach(&dp, up9, TCPRIO_HOOK_UPLINK) == 0 && ready(&m, mine, why, sizeof(why)),
	      "both attached: ready (%s)", why);
	/* Removed by hand (tc, `tcprio detach`): the old attach counter stayed
	 * "attached" here. */
	sh("tc qdisc del dev tprup0 clsact");
	CHECK(!ready(&m, mine, why, sizeof(why)) && strstr(why, "tprup0"),
	      "filter removed: not ready again (%s)", why);
	CHECK(datapath_attach(&dp, up, TCPRIO_HOOK_UPLINK) == 0 && ready(&m, mine, why, sizeof(why)),
	      "re-attached: ready (%s)", why);
	CHECK(!ready(&m, mine + 1000, why, sizeof(why)),
	      "a filter running another program (another pin folder's) is not ours: not ready");

	/* --uplink-rate: the HTB tree is part of what must be attached. */
	CHECK(!ready_htb(&m, mine, true, why, sizeof(why)) &&
	      strstr(why, "uplink tprup0: HTB tree missing") &&
	      strstr(why, "uplink tprup9: HTB tree missing"),
	      "with --uplink-rate and no HTB tree: not ready, each uplink named (%s)", why);
	if (!CHECK(class_table_defaults(&t) == 0 &&
		   uplink_qdisc_install(up, 10000000, &t) == 0 &&
		   uplink_qdisc_install(up9, 10000000, &t) == 0, "HTB trees installed"))
		return tap_done();
	CHECK(ready_htb(&m, mine, true, why, sizeof(why)), "with the trees: ready (%s)", why);
	sh("tc qdisc del dev tprup9 root");
	CHECK(!ready_htb(&m, mine, true, why, sizeof(why)) &&
	      !strcmp(why, "uplink tprup9: HTB tree missing"),
	      "tree removed (tc qdisc del): not ready, named (%s)", why);
	sh("tc qdisc replace dev tprup9 root handle 1: pfifo");
	CHECK(!ready_htb(&m, mine, true, why, sizeof(why)) &&
	      !strcmp(why, "uplink tprup9: HTB tree missing"),
	      "a pfifo 1: root is not the tree: not ready (%s)", why);

	sh("ip link del tprup0");
	CHECK(!ready(&m, mine, why, sizeof(why)) &&
	      strstr(why, "uplink tprup0 does not exist (check --uplink)"),
	      "uplink gone: not ready, named (%s)", why);
	class_table_free(&t);
	datapath_close(&dp);
	return tap_done();
}
