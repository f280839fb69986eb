/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_link_watch - link_watch against real rtnetlink events in a network
 * namespace of the test's own (unshare at start).  Links are created with
 * libnl (rtnl_link_veth_add) so the measured latency is the watcher's, not
 * a forked `ip`'s.  Asserts each new matching link is reported once, within
 * 100 ms, and that non-matching links are not reported.
 */
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include "dp/link_watch.h"
#include "lib/log.h"
#include "tap.h"

#define MAX_EV 256
#define LATENCY_LIMIT_NS (100 * 1000000LL)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct { int ifindex; char name[IF_NAMESIZE]; long long t_ns; } ev[MAX_EV];
static int n_ev;
static struct nl_sock *sk;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_link(void *ctx, int ifindex, const char *name)
{
	pthread_mutex_lock(&mu);
	if (n_ev < MAX_EV) {
		ev[n_ev].ifindex = ifindex;
		snprintf(ev[n_ev].name, IF_NAMESIZE, "%s", name);
		ev[n_ev].t_ns = now_ns();
		n_ev++;
	}
	pthread_mutex_unlock(&mu);
	(*(int *)ctx)++;
}

/* How many times name was reported; *t_ns = time of the first report. */
static int reports(const char *name, long long *t_ns)
{
	int n = 0;

	pthread_mutex_lock(&mu);
	for (int i = 0; i < n_ev; i++)
		if (!strcmp(ev[i].name, name)) {
			if (!n && t_ns)
				*t_ns = ev[i].t_ns;
			n++;
		}
	pthread_mutex_unlock(&mu);
	return n;
}

/* Wait up to 1 s for a report of name. */
static int wait_report(const char *name, long long *t_ns)
{
	for (int i = 0; i < 1000; i++) {
		int n = reports(name, t_ns);

		if (n)
			return n;
		usleep(1000);
	}
	return 0;
}

static int add_veth(const char *name, const char *peer)
{
	return rtnl_link_veth_add(sk, name, peer, getpid());
}

static int rename_link(const char *from, const char *to)
{
	struct rtnl_link *l = NULL, *chg = rtnl_link_alloc();
	int err = rtnl_link_get_kernel(sk, 0, from, &l);

	if (!err) {
		rtnl_link_set_name(chg, to);
		err = rtnl_link_change(sk, l, chg, 0);
	}
	rtnl_link_put(chg);
	if (l)
		rtnl_link_put(l);
	return err;
}

static int del_link(const char *name)
{
	struct rtnl_link *l = rtnl_link_alloc();
	int err;

	rtnl_link_set_name(l, name);
	err = rtnl_link_delete(sk, l);
	rtnl_link_put(l);
	return err;
}

int main(void)
{
	const char *globs[] = LINK_WATCH_DEFAULT_GLOBS;
	struct link_watch *w;
	long long t0, t1 = 0, worst = 0;
	int calls = 0, ok_all = 1;
	char name[IF_NAMESIZE], peer[IF_NAMESIZE];

	if (geteuid() != 0) {
		return tap_skip_all("needs root (netns, veth)");
	}
	if (unshare(CLONE_NEWNET)) {
		return tap_skip_all("cannot create a network namespace");
	}
	tap_plan(18);
	log_set_level(LOG_LVL_WARN);
	sk = nl_socket_alloc();
	if (!CHECK(sk && nl_connect(sk, NETLINK_ROUTE) == 0, "netlink socket"))
		return 1;

	CHECK(link_watch_match(globs, LINK_WATCH_N_DEFAULT_GLOBS, "cali1234abcd") &&
	      link_watch_match(globs, LINK_WATCH_N_DEFAULT_GLOBS, "lxc9f1e") &&
	      !link_watch_match(globs, LINK_WATCH_N_DEFAULT_GLOBS, "eth0") &&
	      !link_watch_match(globs, LINK_WATCH_N_DEFAULT_GLOBS, "cni0") &&
	      !link_watch_match(globs, LINK_WATCH_N_DEFAULT_GLOBS, "flannel.1"),
	      "default globs: pod veths yes, uplinks/bridges/overlays no");

	CHECK(add_veth("vethpre0", "tptpre1") == 0, "create a link before the watch starts");
	w = link_watch_start(globs, LINK_WATCH_N_DEFAULT_GLOBS, on_link, &calls);
	if (!CHECK(w != NULL, "link_watch_start (errno %d)", w ? 0 : errno))
		return 1;
	CHECK(wait_report("vethpre0", NULL) == 1, "existing matching link reported once");
	CHECK(reports("tptpre1", NULL) == 0 && reports("lo", NULL) == 0,
	      "existing non-matching links not reported");

	t0 = now_ns();
	CHECK(add_veth("vethnew0", "tptnew1") == 0, "create vethnew0");
	CHECK(wait_report("vethnew0", &t1) == 1, "new link reported");
	CHECK(t1 - t0 < LATENCY_LIMIT_NS, "reported within 100 ms (%.2f ms)", (t1 - t0) / 1e6);
	CHECK(wait_report("vethnew0", NULL) == 1 && (usleep(50000), reports("vethnew0", NULL)) == 1,
	      "a link's later events (up/peer) do not report it again");

	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "cali%04d", i);
		snprintf(peer, sizeof(peer), "tptburst%d", i);
		t0 = now_ns();
		if (add_veth(name, peer) || wait_report(name, &t1) != 1) {
			ok_all = 0;
			printf("# %s not reported\n", name);
			continue;
		}
		if (t1 - t0 > worst)
			worst = t1 - t0;
	}
	CHECK(ok_all, "20 cali* links each reported once");
	CHECK(worst < LATENCY_LIMIT_NS, "worst latency of 20 links < 100 ms (%.2f ms)", worst / 1e6);

	CHECK(add_veth("tptren0", "tptren1") == 0 && (usleep(50000), reports("tptren0", NULL)) == 0,
	      "a non-matching new link is not reported");
	t0 = now_ns();
	CHECK(rename_link("tptren0", "lxcren0") == 0 && wait_report("lxcren0", &t1) == 1,
	      "renamed into a match: reported");
	CHECK(t1 - t0 < LATENCY_LIMIT_NS, "rename reported within 100 ms (%.2f ms)", (t1 - t0) / 1e6);

	CHECK(del_link("vethnew0") == 0 && add_veth("vethnew0", "tptnew1") == 0 &&
	      (usleep(100000), reports("vethnew0", NULL)) == 2, "deleted and re-created: reported again");

	link_watch_stop(w);
	calls = 0;
	CHECK(add_veth("vethpost0", "tptpost1") == 0 && (usleep(50000), reports("vethpost0", NULL)) == 0,
	      "no report after link_watch_stop");
	CHECK(link_watch_start(NULL, 1, on_link, NULL) == NULL && errno == EINVAL,
	      "bad arguments: NULL, EINVAL");

	nl_socket_free(sk);
	return tap_done();
}
