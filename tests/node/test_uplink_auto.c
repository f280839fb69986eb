// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_uplink_auto.c - uplink_auto_detect (what `--uplink auto` runs)
 * against real routing tables: the test moves itself into a network
 * namespace of its own (unshare), so its interfaces and routes touch
 * nothing else and vanish with the process.  Needs root.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include "dp/uplink_auto.h"
#include "lib/log.h"
#include "tap.h"

static int detect(char names[2][IF_NAMESIZE])
{
	memset(names, 0, 2 * IF_NAMESIZE);
	return uplink_auto_detect(names, 2);
}

int main(void)
{
	char names[2][IF_NAMESIZE];
	int n;

	if (geteuid() != 0)
		return tap_skip_all("needs root (network namespace)");
	if (unshare(CLONE_NEWNET))
		return tap_skip_all("unshare(CLONE_NEWNET) refused");
	log_set_level(LOG_LVL_WARN);
	tap_plan(6);
	sh("ip link set lo up");
	CHECK(detect(names) == -ENOENT, "no default route: -ENOENT");

	/* Two IPv4 default routes: the lower metric wins, as in the kernel. */
	sh("ip link add tpa-up1 type veth peer name tpa-up1p && ip link set tpa-up1p up && ip link set tpa-up1 up && "
	   "ip addr add 198.18.60.1/24 dev tpa-up1");
	sh("ip link add tpa-up2 type veth peer name tpa-up2p && ip link set tpa-up2p up && ip link set tpa-up2 up && "
	   "ip addr add 198.18.61.1/24 dev tpa-up2");
	sh("ip route add default via 198.18.60.254 dev tpa-up1 metric 200");
	sh("ip route add default via 198.18.61.254 dev tpa-up2 metric 100");
	n = detect(names);
	CHECK(n == 1 && !strcmp(names[0], "tpa-up2"),
	      "IPv4: the default route with the lowest metric (n %d, %s)", n, names[0]);

	/* A non-default route and another table do not count. */
	sh("ip route del default via 198.18.61.254 dev tpa-up2 metric 100");
	sh("ip route add 198.18.62.0/24 via 198.18.61.254 dev tpa-up2");
	sh("ip route add default via 198.18.61.254 dev tpa-up2 table 100");
	n = detect(names);
	CHECK(n == 1 && !strcmp(names[0], "tpa-up1"),
	      "IPv4: other tables and prefixes ignored (n %d, %s)", n, names[0]);

	/* IPv6 default on another interface: both, IPv4's first. */
	sh("ip link add tpa-up6 type veth peer name tpa-up6p && ip link set tpa-up6p up && ip link set tpa-up6 up && "
	   "ip -6 addr add 2001:db8:60::1/64 dev tpa-up6 nodad");
	sh("ip -6 route add default via 2001:db8:60::fe dev tpa-up6");
	n = detect(names);
	CHECK(n == 2 && !strcmp(names[0], "tpa-up1") && !strcmp(names[1], "tpa-up6"),
	      "IPv4 and IPv6 defaults on two interfaces: both (n %d, %s, %s)", n, names[0],
	      names[1]);

	/* IPv6 default on the IPv4 uplink: named once. */
	sh("ip -6 route del default via 2001:db8:60::fe dev tpa-up6");
	sh("ip -6 addr add 2001:db8:61::1/64 dev tpa-up1 nodad");
	sh("ip -6 route add default via 2001:db8:61::fe dev tpa-up1");
	n = detect(names);
	CHECK(n == 1 && !strcmp(names[0], "tpa-up1"), "same interface for both: named once (n %d)", n);

	/* Only IPv6. */
	sh("ip route del default via 198.18.60.254 dev tpa-up1 metric 200");
	n = detect(names);
	CHECK(n == 1 && !strcmp(names[0], "tpa-up1"), "IPv6 default only (n %d, %s)", n, names[0]);
	return tap_done();
}
