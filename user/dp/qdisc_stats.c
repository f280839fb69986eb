/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * qdisc_stats.c - HTB class counters through libnl-route; see qdisc_stats.h.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/pkt_sched.h>
#include <bpf/bpf.h>
#include <netlink/netlink.h>
#include <netlink/route/class.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/tc.h>
#include "tcprio.h"
#include "lib/log.h"
#include "dp/qdisc_stats.h"

struct collect {
	struct htb_class_stats *out;
	int max, n;
};

static void one_class(struct nl_object *obj, void *arg)
{
	struct rtnl_class *cls = (struct rtnl_class *)obj;
	struct rtnl_tc *tc = TC_CAST(cls);
	struct collect *c = arg;
	struct htb_class_stats *s;
	const char *kind = rtnl_tc_get_kind(tc);
	uint64_t v;

	if (!kind || strcmp(kind, "htb") != 0)
		return;
	if (c->n++ >= c->max)
		return;
	s = &c->out[c->n - 1];
	memset(s, 0, sizeof(*s));
	s->classid = rtnl_tc_get_handle(tc);
	s->parent = rtnl_tc_get_parent(tc);
	s->bytes = rtnl_tc_get_stat(tc, RTNL_TC_BYTES);
	s->packets = rtnl_tc_get_stat(tc, RTNL_TC_PACKETS);
	s->drops = rtnl_tc_get_stat(tc, RTNL_TC_DROPS);
	s->overlimits = rtnl_tc_get_stat(tc, RTNL_TC_OVERLIMITS);
	s->backlog_bytes = rtnl_tc_get_stat(tc, RTNL_TC_BACKLOG);
	s->backlog_packets = rtnl_tc_get_stat(tc, RTNL_TC_QLEN);
	/* The 64-bit getters fall back to the 32-bit rate when the kernel
	 * sent no TCA_HTB_RATE64 (rates below 4 GB/s). */
	s->rate_Bps = rtnl_htb_get_rate64(cls, &v) == 0 ? v : rtnl_htb_get_rate(cls);
	s->ceil_Bps = rtnl_htb_get_ceil64(cls, &v) == 0 ? v : rtnl_htb_get_ceil(cls);
}

static int by_classid(const void *a, const void *b)
{
	const struct htb_class_stats *x = a, *y = b;

	return x->classid < y->classid ? -1 : x->classid > y->classid;
}

int qdisc_stats_read(int ifindex, struct htb_class_stats *out, int max)
{
	struct collect c = { .out = out, .max = max };
	struct nl_cache *cache = NULL;
	struct nl_sock *sk;
	int err, stored;

	char name[IF_NAMESIZE];

	if (ifindex <= 0 || max < 0 || (!out && max > 0))
		return -EINVAL;
	if (!if_indextoname((unsigned int)ifindex, name))
		return -ENODEV;
	sk = nl_socket_alloc();
	if (!sk)
		return -EIO;
	err = nl_connect(sk, NETLINK_ROUTE);
	if (!err)
		err = rtnl_class_alloc_cache(sk, ifindex, &cache);
	if (err) {
		pr_debug("qdisc stats: ifindex %d: %s", ifindex, nl_geterror(err));
		nl_socket_free(sk);
		return -EIO;
	}
	nl_cache_foreach(cache, one_class, &c);
	nl_cache_free(cache);
	nl_socket_free(sk);
	stored = c.n < max ? c.n : max;
	/* A class is a leaf when no other class names it as its parent. */
	for (int i = 0; i < stored; i++) {
		out[i].leaf = true;
		for (int j = 0; j < stored; j++)
			if (out[j].parent == out[i].classid)
				out[i].leaf = false;
	}
	if (stored > 1)
		qsort(out, (size_t)stored, sizeof(*out), by_classid);
	return c.n;
}

void qdisc_stats_handle_str(uint32_t handle, char *buf, unsigned long len)
{
	snprintf(buf, len, "%x:%x", TC_H_MAJ(handle) >> 16, TC_H_MIN(handle));
}

bool qdisc_stats_class_name(int classes_fd, uint32_t classid, char *buf, unsigned long len)
{
	if (len)
		buf[0] = '\0';
	if (classes_fd < 0 || !len)
		return false;
	for (uint32_t id = 0; id < TCPRIO_MAX_CLASSES; id++) {
		struct tcprio_class c;

		if (bpf_map_lookup_elem(classes_fd, &id, &c) || !(c.flags & TCPRIO_CLASS_VALID) ||
		    c.priority != classid)
			continue;
		c.name[TCPRIO_CLASS_NAME_LEN - 1] = '\0';
		snprintf(buf, len, "%s", c.name);
		return true;
	}
	return false;
}
