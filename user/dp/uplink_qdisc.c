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
#include <linux/ethtool.h>
#include <linux/pkt_sched.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
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
	uint64_t link_bps, wan_bps;       /* root and LAN; WAN branch */
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
static int make_plan(const struct uplink_shape *sh, const struct class_table *t, uint32_t mtu,
		     struct plan *p)
{
	uint64_t explicit_sum = 0, share, wan;
	int n_unset = 0;

	if (!sh || sh->link_rate_bps == 0 || !t || t->n_classes <= 0 ||
	    t->n_classes > TCPRIO_MAX_CLASSES || t->default_class >= (uint32_t)t->n_classes) {
		pr_warn("uplink qdisc: need a rate > 0 and 1..%d classes with a valid default",
			TCPRIO_MAX_CLASSES);
		return -EINVAL;
	}
	memset(p, 0, sizeof(*p));
	p->link_bps = sh->link_rate_bps;
	wan = sh->wan_rate_bps && sh->wan_rate_bps < p->link_bps ? sh->wan_rate_bps : p->link_bps;
	p->wan_bps = wan;
	for (int i = 0; i < t->n_classes; i++) {
		const struct class_def *c = &t->classes[i];
		uint32_t major = TC_H_MAJ(c->priority) >> 16, minor = TC_H_MIN(c->priority);
		uint64_t rate = sh->class_rates && sh->class_rates[i].rate_bps ?
				sh->class_rates[i].rate_bps : c->rate_bps;

		if (major != UPLINK_QDISC_MAJOR || minor <= UPLINK_QDISC_PARENT_MIN ||
		    minor == UPLINK_QDISC_LAN_MIN || minor == UPLINK_QDISC_WAN_MIN) {
			pr_warn("uplink qdisc: class %s has priority %x:%x; expected %x:MINOR with "
				"MINOR > %x and not %x (WAN branch) or %x (LAN leaf) so that it "
				"names a leaf of the HTB root %x:", c->name, major, minor,
				UPLINK_QDISC_MAJOR, UPLINK_QDISC_PARENT_MIN, UPLINK_QDISC_WAN_MIN,
				UPLINK_QDISC_LAN_MIN, UPLINK_QDISC_MAJOR);
			return -EINVAL;
		}
		for (int j = 0; j < i; j++) {
			if (t->classes[j].priority == c->priority) {
				pr_warn("uplink qdisc: classes %s and %s both use priority %x:%x",
					t->classes[j].name, c->name, major, minor);
				return -EINVAL;
			}
		}
		if (rate)
			explicit_sum += min_u64(rate, wan);
		else
			n_unset++;
	}
	share = n_unset ? (wan > explicit_sum ? wan - explicit_sum : 0) / n_unset : 0;
	share = max_u64(share, UPLINK_QDISC_MIN_RATE);
	for (int i = 0; i < t->n_classes; i++) {
		const struct class_def *c = &t->classes[i];
		const struct site_class_rate *o = sh->class_rates ? &sh->class_rates[i] : NULL;
		uint64_t rate = o && o->rate_bps ? o->rate_bps : c->rate_bps;
		uint64_t ceil = o && o->ceil_bps ? o->ceil_bps : c->ceil_bps;
		struct leaf *l = &p->leaves[i];

		l->classid = c->priority;
		l->rate_bps = rate ? min_u64(rate, wan) : min_u64(share, wan);
		l->rate_bps = max_u64(l->rate_bps, UPLINK_QDISC_MIN_RATE);
		l->ceil_bps = ceil ? min_u64(ceil, wan) : wan;
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
		     uint32_t prio, uint32_t quantum, uint32_t burst)
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
	if (!err && burst)
		err = rtnl_htb_set_rbuffer(c, burst);
	if (!err && burst)
		err = rtnl_htb_set_cbuffer(c, burst);
	if (!err)
		err = rtnl_class_add(sk, c, NLM_F_CREATE);
	rtnl_class_put(c);
	return err;
}

/* pfifo of limit packets under classid, handle <minor>:. */
static int put_pfifo(struct nl_sock *sk, struct rtnl_link *link, uint32_t classid,
		     int limit)
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
		err = rtnl_qdisc_fifo_set_limit(q, limit);
	if (!err)
		err = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_REPLACE);
	rtnl_qdisc_put(q);
	return err;
}

/*
 * tbf under a WAN leaf, handle <minor>:, that splits GSO packets: rate the
 * link's but at least UPLINK_QDISC_TBF_MIN_RATE (it must never be what
 * limits: HTB above it shapes, and a tbf at the HTB rate would refuse HTB's
 * back-to-back dequeues, "class isn't work conserving"), burst exactly one frame (mtu + 14 + UPLINK_QDISC_TBF_SLACK
 * bytes), queue limit UPLINK_QDISC_LEAF_LIMIT frames.  sch_tbf segments a
 * GSO packet longer than its burst (tbf_segment) and drops a plain packet
 * longer than it; the shortest GSO packet of two segments is a full frame
 * plus 55 bytes (IPv4 and TCP headers + 1), so a burst below that splits
 * every one.  Built by hand: libnl's tbf takes the burst as a time in
 * 64 ns psched ticks (80 bytes at 10 Gbit/s, 137 at 17), which cannot hit
 * that window, and its rate as int bytes/s; TCA_TBF_BURST (bytes) and
 * TCA_TBF_RATE64 are what tc sends.  Returns 0 or -NLE_*.
 */
static int put_split_tbf(struct nl_sock *sk, struct rtnl_link *link, uint32_t classid,
			 uint64_t link_bps, uint32_t mtu)
{
	uint32_t frame = mtu + ETH_HDR_BYTES + UPLINK_QDISC_TBF_SLACK;
	uint64_t rate = max_u64(link_bps, UPLINK_QDISC_TBF_MIN_RATE) / 8;
	struct tcmsg tcm = {
		.tcm_family = AF_UNSPEC,
		.tcm_ifindex = rtnl_link_get_ifindex(link),
		.tcm_handle = TC_HANDLE(TC_H_MIN(classid), 0),
		.tcm_parent = classid,
	};
	struct tc_tbf_qopt qopt = {
		.rate = { .linklayer = TC_LINKLAYER_ETHERNET,
			  .rate = (uint32_t)min_u64(rate, UINT32_MAX) },
		.limit = frame * UPLINK_QDISC_LEAF_LIMIT,
	};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE);
	struct nlattr *opts;

	if (!msg)
		return -NLE_NOMEM;
	if (nlmsg_append(msg, &tcm, sizeof(tcm), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, TCA_KIND, "tbf") < 0 ||
	    !(opts = nla_nest_start(msg, TCA_OPTIONS)) ||
	    nla_put(msg, TCA_TBF_PARMS, sizeof(qopt), &qopt) < 0 ||
	    (rate > UINT32_MAX && nla_put_u64(msg, TCA_TBF_RATE64, rate) < 0) ||
	    nla_put_u32(msg, TCA_TBF_BURST, frame) < 0 ||
	    nla_nest_end(msg, opts) < 0) {
		nlmsg_free(msg);
		return -NLE_NOMEM;
	}
	return nl_send_sync(sk, msg); /* frees msg, waits for the ack */
}

/* Whether the WAN branch class 1:fffd exists (a tree of this shape). */
static bool has_wan_branch(struct nl_sock *sk, int ifindex)
{
	struct nl_cache *cache = NULL;
	struct rtnl_class *c;

	if (rtnl_class_alloc_cache(sk, ifindex, &cache) < 0)
		return false;
	c = rtnl_class_get(cache, ifindex, TC_HANDLE(UPLINK_QDISC_MAJOR, UPLINK_QDISC_WAN_MIN));
	nl_cache_free(cache);
	if (!c)
		return false;
	rtnl_class_put(c);
	return true;
}

/* Delete leaves under the WAN branch 1:fffd that the plan no longer has. */
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
			    TC_HANDLE(UPLINK_QDISC_MAJOR, UPLINK_QDISC_WAN_MIN);

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

/*
 * Burst (bytes) of the root class and the LAN leaf: what they may send
 * ahead of their rate, LINK_BURST_US of the link's time, at least two
 * frames.  libnl's default is one frame: a class at the link's speed then
 * sends a 64 KB GSO packet, waits for the qdisc watchdog until its tokens
 * are back, and every microsecond that timer fires late is link time lost
 * (a 1 Gbit/s LAN through mode sites carried 0.88-0.90 of its speed on a
 * PVM guest, where timers are late; 0.97 with this burst).  Short enough
 * that what it lets ahead of the tree, into the NIC's queue below the
 * qdisc, delays a critical packet little: 250 us at the link's speed.
 */
#define LINK_BURST_US 250

static uint32_t link_burst(uint64_t link_bps, uint32_t mtu)
{
	uint64_t b = link_bps / 8 * LINK_BURST_US / 1000000;
	uint64_t min = 2 * ((uint64_t)mtu + 14);

	return (uint32_t)(b < min ? min : b > UINT32_MAX ? UINT32_MAX : b);
}

/* Root class 1:1, LAN leaf 1:fffe with its pfifo, WAN branch 1:fffd. */
static int put_branches(struct nl_sock *sk, struct rtnl_link *link, const struct plan *p,
			uint32_t mtu)
{
	uint32_t root = TC_HANDLE(UPLINK_QDISC_MAJOR, UPLINK_QDISC_PARENT_MIN);
	uint32_t lan = TC_HANDLE(UPLINK_QDISC_MAJOR, UPLINK_QDISC_LAN_MIN);
	uint64_t lan_rate = max_u64(p->link_bps > p->wan_bps ? p->link_bps - p->wan_bps : 0,
				    UPLINK_QDISC_MIN_RATE);
	int err;

	err = put_class(sk, link, TC_HANDLE(UPLINK_QDISC_MAJOR, 0), root, p->link_bps,
			p->link_bps, 0, quantum_for(p->link_bps, mtu), link_burst(p->link_bps, mtu));
	if (!err)
		err = put_class(sk, link, root, lan, min_u64(lan_rate, p->link_bps), p->link_bps,
				0, quantum_for(lan_rate, mtu), link_burst(p->link_bps, mtu));
	if (!err)
		err = put_pfifo(sk, link, lan, UPLINK_QDISC_LAN_LIMIT);
	if (!err)
		err = put_class(sk, link, root, TC_HANDLE(UPLINK_QDISC_MAJOR, UPLINK_QDISC_WAN_MIN),
				p->wan_bps, p->wan_bps, 0, quantum_for(p->wan_bps, mtu), 0);
	return err;
}

/* Remove the root unless it is ours with the same default class and the
 * same shape, then (re)create it.  *in_place: the tree is kept. */
static int prepare_root(struct nl_sock *sk, struct rtnl_link *link, int ifindex,
			const struct plan *p, bool *in_place)
{
	struct rtnl_qdisc *root = get_root(sk, ifindex);
	int err = 0;

	*in_place = is_our_root(root) && rtnl_htb_get_defcls(root) == p->defcls &&
		    has_wan_branch(sk, ifindex);
	if (!*in_place) {
		if (root && rtnl_tc_get_handle(TC_CAST(root)) != 0) {
			/* HTB cannot change its default class, nor a class its
			 * parent: replace the root. */
			pr_info("uplink qdisc: replacing root qdisc %s %x: of %s",
				rtnl_tc_get_kind(TC_CAST(root)),
				rtnl_tc_get_handle(TC_CAST(root)) >> 16,
				rtnl_link_get_name(link));
			err = delete_root(sk, link);
			if (err && err != -NLE_OBJ_NOTFOUND) {
				err = nl_err("delete root qdisc", ifindex, err);
				goto out;
			}
		}
		err = add_root(sk, link, p);
		if (err)
			err = nl_err("add root htb 1:", ifindex, err);
	}
out:
	if (root)
		rtnl_qdisc_put(root);
	return err;
}

int uplink_qdisc_install_shape(int ifindex, const struct uplink_shape *shape,
			       const struct class_table *t)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL;
	struct plan p;
	bool in_place;
	uint32_t mtu;
	int err;

	err = open_link(&sk, ifindex, &link);
	if (err)
		goto cleanup;
	mtu = rtnl_link_get_mtu(link);
	err = make_plan(shape, t, mtu, &p);
	if (err)
		goto cleanup;
	err = prepare_root(sk, link, ifindex, &p, &in_place);
	if (err)
		goto cleanup;
	err = put_branches(sk, link, &p, mtu);
	if (err) {
		err = nl_err("add class 1:1, 1:fffe or 1:fffd", ifindex, err);
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

		err = put_class(sk, link, TC_HANDLE(UPLINK_QDISC_MAJOR, UPLINK_QDISC_WAN_MIN),
				l->classid, l->rate_bps, l->ceil_bps, l->prio, l->quantum, 0);
		if (!err)
			err = put_split_tbf(sk, link, l->classid, p.link_bps, mtu);
		if (err) {
			err = nl_err("add leaf class", ifindex, err);
			goto cleanup;
		}
	}
	pr_info("uplink qdisc: %s: htb link %" PRIu64 " bit/s, WAN %" PRIu64 " bit/s, "
		"%d classes, default 1:%x%s", rtnl_link_get_name(link), p.link_bps, p.wan_bps,
		p.n, p.defcls, in_place ? " (updated in place)" : "");
cleanup:
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return err;
}

int uplink_qdisc_install(int ifindex, uint64_t rate_bps, const struct class_table *t)
{
	struct uplink_shape sh = { .link_rate_bps = rate_bps, .wan_rate_bps = rate_bps };

	return uplink_qdisc_install_shape(ifindex, &sh, t);
}

uint64_t uplink_link_speed_bps(const char *ifname)
{
	struct ethtool_cmd ecmd = { .cmd = ETHTOOL_GSET };
	struct ifreq ifr;
	uint32_t mbit;
	int fd;

	if (strlen(ifname) >= sizeof(ifr.ifr_name))
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, ifname);
	ifr.ifr_data = (void *)&ecmd;
	/* ETHTOOL_GSET in the caller's network namespace (sysfs may show
	 * another one's links). */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0) {
		close(fd);
		return 0;
	}
	close(fd);
	mbit = ethtool_cmd_speed(&ecmd);
	return mbit && mbit != (uint32_t)SPEED_UNKNOWN ? (uint64_t)mbit * 1000000ULL : 0;
}

uint32_t uplink_link_mtu(const char *ifname)
{
	struct ifreq ifr;
	int fd, ok;

	if (strlen(ifname) >= sizeof(ifr.ifr_name))
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, ifname);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ok = ioctl(fd, SIOCGIFMTU, &ifr) == 0;
	close(fd);
	return ok && ifr.ifr_mtu > 0 ? (uint32_t)ifr.ifr_mtu : 0;
}

int uplink_qdisc_check(const struct class_table *t)
{
	struct uplink_shape sh = { .link_rate_bps = UPLINK_QDISC_MIN_RATE };
	struct plan p;

	/* Any rate and MTU: only the class priorities are checked. */
	return make_plan(&sh, t, 1500, &p);
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

/* Whether cache holds HTB class 1:minor of ifindex. */
static bool has_htb_class(struct nl_cache *cache, int ifindex, uint32_t minor)
{
	struct rtnl_class *c = rtnl_class_get(cache, ifindex, TC_HANDLE(UPLINK_QDISC_MAJOR, minor));
	const char *kind = c ? rtnl_tc_get_kind(TC_CAST(c)) : NULL;
	bool yes = kind && !strcmp(kind, "htb");

	if (c)
		rtnl_class_put(c);
	return yes;
}

/*
 * The tree's inner classes stand for the tree: 1:1 (the link) and 1:fffd
 * (the WAN branch the class leaves hang under) exist only under tcprio's
 * root HTB 1:.  A class dump is per interface in the kernel (a qdisc dump
 * walks every interface of the node, and a qdisc get answers by a
 * multicast to every tc listener), and the agent asks every second.
 */
int uplink_qdisc_present(int ifindex)
{
	struct nl_sock *sk;
	struct nl_cache *cache = NULL;
	int err;

	if (ifindex <= 0) /* libnl asserts on 0 */
		return -ENODEV;
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	err = nl_connect(sk, NETLINK_ROUTE);
	if (!err)
		err = rtnl_class_alloc_cache(sk, ifindex, &cache);
	nl_socket_free(sk);
	if (err < 0)
		return err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND ? -ENODEV : -EIO;
	err = has_htb_class(cache, ifindex, UPLINK_QDISC_PARENT_MIN) &&
	      has_htb_class(cache, ifindex, UPLINK_QDISC_WAN_MIN);
	nl_cache_free(cache);
	return err;
}
