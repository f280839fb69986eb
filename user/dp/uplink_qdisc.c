/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * uplink_qdisc.c - HTB tree on an uplink through libnl-route; see
 * uplink_qdisc.h for the shape.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/pkt_sched.h>
#include <netlink/netlink.h>
#include <netlink/route/class.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/fifo.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/tc.h>
#include "lib/log.h"
#include "dp/uplink_qdisc.h"

#define HTB_MAX_PRIO      7       /* TC_HTB_NUMPRIO - 1 (linux/pkt_sched.h) */
#define HTB_MAX_QUANTUM   200000  /* bytes: HTB warns above this */
#define ETH_HDR_BYTES     14

struct leaf {
	uint32_t classid;
	uint64_t rate_bps, ceil_bps;
	uint32_t prio, quantum;
};

struct plan {
	uint64_t rate_bps;
	uint32_t defcls;                  /* minor of the default leaf */
	struct leaf leaves[TCPRIO_MAX_CLASSES];
	int n;
};

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static uint32_t quantum_for(uint64_t rate_bps, uint32_t mtu)
{
	uint64_t q = rate_bps / 8 / 10;

	q = max_u64(q, mtu + ETH_HDR_BYTES);
	return (uint32_t)min_u64(q, max_u64(HTB_MAX_QUANTUM, mtu + ETH_HDR_BYTES));
}

/* Check t and derive every leaf's parameters.  Returns 0 or -EINVAL. */
static int make_plan(uint64_t rate_bps, const struct class_table *t, uint32_t mtu,
		     struct plan *p)
{
	uint64_t explicit_sum = 0, share;
	int n_unset = 0;

	if (rate_bps == 0 || !t || t->n_classes <= 0 || t->n_classes > TCPRIO_MAX_CLASSES ||
	    t->default_class >= (uint32_t)t->n_classes) {
		pr_warn("uplink qdisc: need a rate > 0 and 1..%d classes with a valid default",
			TCPRIO_MAX_CLASSES);
		return -EINVAL;
	}
	memset(p, 0, sizeof(*p));
	p->rate_bps = rate_bps;
	for (int i = 0; i < t->n_classes; i++) {
		const struct class_def *c = &t->classes[i];
		uint32_t major = TC_H_MAJ(c->priority) >> 16, minor = TC_H_MIN(c->priority);

		if (major != UPLINK_QDISC_MAJOR || minor <= UPLINK_QDISC_PARENT_MIN) {
			pr_warn("uplink qdisc: class %s has priority %x:%x; expected %x:MINOR with "
				"MINOR > %x so that it names a leaf of the HTB root %x:",
				c->name, major, minor, UPLINK_QDISC_MAJOR,
				UPLINK_QDISC_PARENT_MIN, UPLINK_QDISC_MAJOR);
			return -EINVAL;
		}
		for (int j = 0; j < i; j++) {
			if (t->classes[j].priority == c->priority) {
				pr_warn("uplink qdisc: classes %s and %s both use priority %x:%x",
					t->classes[j].name, c->name, major, minor);
				return -EINVAL;
			}
		}
		if (c->rate_bps)
			explicit_sum += min_u64(c->rate_bps, rate_bps);
		else
			n_unset++;
	}
	share = n_unset ? (rate_bps > explicit_sum ? rate_bps - explicit_sum : 0) / n_unset : 0;
	share = max_u64(share, UPLINK_QDISC_MIN_RATE);
	for (int i = 0; i < t->n_classes; i++) {
		const struct class_def *c = &t->classes[i];
		struct leaf *l = &p->leaves[i];

		l->classid = c->priority;
		l->rate_bps = c->rate_bps ? min_u64(c->rate_bps, rate_bps) : min_u64(share, rate_bps);
		l->ceil_bps = c->ceil_bps ? min_u64(c->ceil_bps, rate_bps) : rate_bps;
		l->ceil_bps = max_u64(l->ceil_bps, l->rate_bps);
		l->prio = i < HTB_MAX_PRIO ? (uint32_t)i : HTB_MAX_PRIO;
		l->quantum = quantum_for(l->rate_bps, mtu);
	}
	p->n = t->n_classes;
	p->defcls = TC_H_MIN(t->classes[t->default_class].priority);
	return 0;
}

static int nl_err(const char *what, int ifindex, int err)
{
	pr_warn("uplink qdisc: %s on ifindex %d: %s", what, ifindex, nl_geterror(err));
	return err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV ? -ENODEV : -EIO;
}

/* Root qdisc of the link from a fresh dump (NULL if none); caller puts it. */
static struct rtnl_qdisc *get_root(struct nl_sock *sk, int ifindex)
{
	struct nl_cache *cache = NULL;
	struct rtnl_qdisc *q = NULL;

	if (rtnl_qdisc_alloc_cache(sk, &cache) < 0)
		return NULL;
	q = rtnl_qdisc_get_by_parent(cache, ifindex, TC_H_ROOT);
	nl_cache_free(cache);
	return q;
}

static bool is_our_root(struct rtnl_qdisc *q)
{
	const char *kind = q ? rtnl_tc_get_kind(TC_CAST(q)) : NULL;

	return kind && !strcmp(kind, "htb") &&
	       rtnl_tc_get_handle(TC_CAST(q)) == TC_HANDLE(UPLINK_QDISC_MAJOR, 0);
}

static int delete_root(struct nl_sock *sk, struct rtnl_link *link)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int err;

	if (!q)
		return -NLE_NOMEM;
	rtnl_tc_set_link(TC_CAST(q), link);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	err = rtnl_qdisc_delete(sk, q);
	rtnl_qdisc_put(q);
	return err;
}

static int add_root(struct nl_sock *sk, struct rtnl_link *link, const struct plan *p)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int err;

	if (!q)
		return -NLE_NOMEM;
	rtnl_tc_set_link(TC_CAST(q), link);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), TC_HANDLE(UPLINK_QDISC_MAJOR, 0));
	err = rtnl_tc_set_kind(TC_CAST(q), "htb");
	if (!err)
		err = rtnl_htb_set_defcls(q, p->defcls);
	if (!err)
		err = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_REPLACE);
	rtnl_qdisc_put(q);
	return err;
}

/* Create or change one HTB class. */
static int put_class(struct nl_sock *sk, struct rtnl_link *link, uint32_t parent,
		     uint32_t classid, uint64_t rate_bps, uint64_t ceil_bps,
		     uint32_t prio, uint32_t quantum)
{
	struct rtnl_class *c = rtnl_class_alloc();
	int err;

	if (!c)
		return -NLE_NOMEM;
	rtnl_tc_set_link(TC_CAST(c), link);
	rtnl_tc_set_parent(TC_CAST(c), parent);
	rtnl_tc_set_handle(TC_CAST(c), classid);
	err = rtnl_tc_set_kind(TC_CAST(c), "htb");
	if (!err)
		err = rtnl_htb_set_rate64(c, rate_bps / 8);
	if (!err)
		err = rtnl_htb_set_ceil64(c, ceil_bps / 8);
	if (!err)
		err = rtnl_htb_set_prio(c, prio);
	if (!err)
		err = rtnl_htb_set_quantum(c, quantum);
	if (!err)
		err = rtnl_class_add(sk, c, NLM_F_CREATE);
	rtnl_class_put(c);
	return err;
}

/* pfifo under a leaf, handle <leaf minor>:. */
static int put_leaf_qdisc(struct nl_sock *sk, struct rtnl_link *link, uint32_t classid)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int err;

	if (!q)
		return -NLE_NOMEM;
	rtnl_tc_set_link(TC_CAST(q), link);
	rtnl_tc_set_parent(TC_CAST(q), classid);
	rtnl_tc_set_handle(TC_CAST(q), TC_HANDLE(TC_H_MIN(classid), 0));
	err = rtnl_tc_set_kind(TC_CAST(q), "pfifo");
	if (!err)
		err = rtnl_qdisc_fifo_set_limit(q, UPLINK_QDISC_LEAF_LIMIT);
	if (!err)
		err = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_REPLACE);
	rtnl_qdisc_put(q);
	return err;
}

/* Delete leaves under 1:1 that the plan no longer has. */
static int delete_stale_leaves(struct nl_sock *sk, int ifindex, const struct plan *p)
{
	struct nl_cache *cache = NULL;
	struct nl_object *obj;
	int err = rtnl_class_alloc_cache(sk, ifindex, &cache);

	if (err < 0)
		return err;
	for (obj = nl_cache_get_first(cache); obj && !err; obj = nl_cache_get_next(obj)) {
		struct rtnl_class *c = (struct rtnl_class *)obj;
		uint32_t h = rtnl_tc_get_handle(TC_CAST(c));
		bool keep = rtnl_tc_get_parent(TC_CAST(c)) !=
			    TC_HANDLE(UPLINK_QDISC_MAJOR, UPLINK_QDISC_PARENT_MIN);

		for (int i = 0; i < p->n && !keep; i++)
			keep = p->leaves[i].classid == h;
		if (!keep) {
			pr_info("uplink qdisc: removing class %x:%x from ifindex %d",
				TC_H_MAJ(h) >> 16, TC_H_MIN(h), ifindex);
			err = rtnl_class_delete(sk, c);
		}
	}
	nl_cache_free(cache);
	return err;
}

static int open_link(struct nl_sock **sk, int ifindex, struct rtnl_link **link)
{
	int err;

	*sk = nl_socket_alloc();
	if (!*sk)
		return -ENOMEM;
	err = nl_connect(*sk, NETLINK_ROUTE);
	if (err)
		return nl_err("netlink connect", ifindex, err);
	err = rtnl_link_get_kernel(*sk, ifindex, NULL, link);
	if (err) {
		pr_warn("uplink qdisc: no interface with ifindex %d", ifindex);
		return -ENODEV;
	}
	return 0;
}

int uplink_qdisc_install(int ifindex, uint64_t rate_bps, const struct class_table *t)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL;
	struct rtnl_qdisc *root = NULL;
	struct plan p;
	bool in_place;
	int err;

	err = open_link(&sk, ifindex, &link);
	if (err)
		goto cleanup;
	err = make_plan(rate_bps, t, rtnl_link_get_mtu(link), &p);
	if (err)
		goto cleanup;

	root = get_root(sk, ifindex);
	in_place = is_our_root(root) && rtnl_htb_get_defcls(root) == p.defcls;
	if (!in_place) {
		if (root && rtnl_tc_get_handle(TC_CAST(root)) != 0) {
			/* HTB cannot change its default class: replace the root. */
			pr_info("uplink qdisc: replacing root qdisc %s %x: of %s",
				rtnl_tc_get_kind(TC_CAST(root)),
				rtnl_tc_get_handle(TC_CAST(root)) >> 16,
				rtnl_link_get_name(link));
			err = delete_root(sk, link);
			if (err && err != -NLE_OBJ_NOTFOUND) {
				err = nl_err("delete root qdisc", ifindex, err);
				goto cleanup;
			}
		}
		err = add_root(sk, link, &p);
		if (err) {
			err = nl_err("add root htb 1:", ifindex, err);
			goto cleanup;
		}
	}
	err = put_class(sk, link, TC_HANDLE(UPLINK_QDISC_MAJOR, 0),
			TC_HANDLE(UPLINK_QDISC_MAJOR, UPLINK_QDISC_PARENT_MIN),
			rate_bps, rate_bps, 0, quantum_for(rate_bps, rtnl_link_get_mtu(link)));
	if (err) {
		err = nl_err("add class 1:1", ifindex, err);
		goto cleanup;
	}
	if (in_place) {
		err = delete_stale_leaves(sk, ifindex, &p);
		if (err) {
			err = nl_err("delete old classes", ifindex, err);
			goto cleanup;
		}
	}
	for (int i = 0; i < p.n; i++) {
		const struct leaf *l = &p.leaves[i];

		err = put_class(sk, link, TC_HANDLE(UPLINK_QDISC_MAJOR, UPLINK_QDISC_PARENT_MIN),
				l->classid, l->rate_bps, l->ceil_bps, l->prio, l->quantum);
		if (!err)
			err = put_leaf_qdisc(sk, link, l->classid);
		if (err) {
			err = nl_err("add leaf class", ifindex, err);
			goto cleanup;
		}
	}
	pr_info("uplink qdisc: %s: htb %" PRIu64 " bit/s, %d classes, default 1:%x%s",
		rtnl_link_get_name(link), rate_bps, p.n, p.defcls,
		in_place ? " (updated in place)" : "");
cleanup:
	if (root)
		rtnl_qdisc_put(root);
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return err;
}

int uplink_qdisc_check(const struct class_table *t)
{
	struct plan p;

	/* Any rate and MTU: only the class priorities are checked. */
	return make_plan(UPLINK_QDISC_MIN_RATE, t, 1500, &p);
}

int uplink_qdisc_remove(int ifindex)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL;
	struct rtnl_qdisc *root = NULL;
	int err;

	err = open_link(&sk, ifindex, &link);
	if (err)
		goto cleanup;
	root = get_root(sk, ifindex);
	if (!is_our_root(root))
		goto cleanup;
	err = delete_root(sk, link);
	if (err == -NLE_OBJ_NOTFOUND) {
		err = 0; /* gone meanwhile */
	} else if (err) {
		err = nl_err("delete root htb 1:", ifindex, err);
	} else {
		pr_info("uplink qdisc: removed htb 1: from %s", rtnl_link_get_name(link));
		err = 1;
	}
cleanup:
	if (root)
		rtnl_qdisc_put(root);
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return err;
}

int uplink_qdisc_foreign_root(int ifindex, char *kind, size_t kind_len, uint32_t *handle)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL;
	struct rtnl_qdisc *root = NULL;
	int err;

	kind[0] = '\0';
	*handle = 0;
	err = open_link(&sk, ifindex, &link);
	if (err)
		goto cleanup;
	root = get_root(sk, ifindex);
	/* The kernel's own root qdiscs (noqueue, pfifo_fast, mq, fq_codel of
	 * net.core.default_qdisc) have handle 0:; a root someone added has a
	 * handle (given, or 8001: and up allocated by the kernel). */
	if (root && !is_our_root(root) && rtnl_tc_get_handle(TC_CAST(root)) != 0) {
		snprintf(kind, kind_len, "%s", rtnl_tc_get_kind(TC_CAST(root)));
		*handle = rtnl_tc_get_handle(TC_CAST(root));
		err = 1;
	}
cleanup:
	if (root)
		rtnl_qdisc_put(root);
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return err;
}
