/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * uplink_qdisc.h - the HTB tree that turns tcprio's skb->priority into
 * strict-priority scheduling on a node uplink, with a LAN branch at the
 * link's own speed and a WAN branch at the node's WAN share.
 *
 * Tree (tc notation, handles in hex as tc prints them):
 *   qdisc 1: root htb default <minor of the default class>
 *   class 1:1  parent 1:  rate = ceil = link rate
 *     class 1:fffe parent 1:1  LAN leaf (skb->priority TCPRIO_LAN_PRIORITY,
 *           set by the uplink program for LAN destinations): rate = link
 *           rate - WAN rate (at least 8 kbit/s), ceil = link rate, prio 0;
 *           qdisc fffe: pfifo limit 1000.  GSO packets stay whole.
 *     class 1:fffd parent 1:1  WAN branch: rate = ceil = WAN rate
 *       class <class priority, e.g. 1:10> parent 1:fffd for each class:
 *           prio = class position (0 = first = served first; HTB has 8
 *                  levels, 0..7, so positions >= 7 share prio 7)
 *           rate = the class's WAN rate (struct uplink_shape.class_rates,
 *                  else class rate_bps), else a fair share of what the
 *                  classes with an explicit rate leave (>= 8 kbit/s)
 *           ceil = the class's WAN ceiling (same order), else the WAN rate
 *           quantum = rate/8/10 bytes clamped to [MTU + 14, 200000]
 *         qdisc <minor>: tbf, rate = the link rate (so it never holds a
 *           packet back for long: HTB above does the shaping), burst of
 *           one frame (MTU + 14 + UPLINK_QDISC_TBF_SLACK bytes) and a
 *           queue of UPLINK_QDISC_LEAF_LIMIT frames.  A GSO/TSO packet
 *           larger than the burst is split into its segments as it is
 *           queued (net/sched/sch_tbf.c tbf_segment), so HTB releases
 *           full-size frames at the WAN rate instead of 64 KB bursts that
 *           the bottleneck downstream would queue.
 * skb->priority whose major is 1 selects the class directly (HTB
 * classify), so no tc filters are needed.  Rates in bits/s; the kernel
 * stores bytes/s.  With WAN rate = link rate (a single node, today's
 * `--uplink-rate`) the WAN branch is the whole link: everything behaves as
 * one strict-priority tree at that rate.
 */
#ifndef TCPRIO_UPLINK_QDISC_H
#define TCPRIO_UPLINK_QDISC_H

#include <stdint.h>
#include "policy/class_table.h"

#define UPLINK_QDISC_MAJOR       1      /* root handle 1: */
#define UPLINK_QDISC_PARENT_MIN  1      /* class 1:1 */
#define UPLINK_QDISC_LAN_MIN     0xfffe /* LAN leaf 1:fffe (TCPRIO_LAN_PRIORITY) */
#define UPLINK_QDISC_WAN_MIN     0xfffd /* WAN branch 1:fffd */
#define UPLINK_QDISC_LEAF_LIMIT  256    /* frames queued per WAN leaf */
#define UPLINK_QDISC_LAN_LIMIT   1000   /* pfifo packets in the LAN leaf */
#define UPLINK_QDISC_MIN_RATE    8000   /* bits/s floor for a fair share */
#define UPLINK_QDISC_TBF_SLACK   8      /* bytes over MTU + 14 in the tbf burst:
					   two VLAN tags; below the 55 bytes a
					   second GSO segment adds at least */
#define UPLINK_QDISC_TBF_MIN_RATE 10000000000ULL /* bits/s: the GSO-splitting
					   tbf's floor, far above any WAN rate */
#define UPLINK_QDISC_DEFAULT_LINK_RATE 10000000000ULL /* 10gbit: link speed
					   when neither given nor reported */

/* What to build.  Rates in bits/s. */
struct uplink_shape {
	uint64_t link_rate_bps; /* > 0: the link's speed (root, LAN branch) */
	uint64_t wan_rate_bps;  /* this node's WAN share; 0 or above the link
				   rate: the link rate */
	/* NULL, or per class id: the class's WAN rate/ceil (0 = not set),
	 * already in this node's share (the agent scales the site's) */
	const struct site_class_rate *class_rates;
};

/*
 * Install or update the tree on ifindex.  Idempotent: with the same root
 * HTB 1:, default class and a WAN branch 1:fffd it changes the classes in
 * place (and removes
 * leaves no longer in t); otherwise it replaces the root qdisc (a short gap
 * in shaping).  Only the root qdisc of ifindex and its children change.
 * Errors: -EINVAL (link rate 0, t empty, a class priority whose major is
 * not 1, minor 0, 1, fffd or fffe, or used twice: a warning names the class), -ENODEV (no
 * such ifindex), -EIO (netlink error; the message is logged).
 */
int uplink_qdisc_install_shape(int ifindex, const struct uplink_shape *shape,
			       const struct class_table *t);
/* uplink_qdisc_install_shape with link rate = WAN rate = rate_bps: the one
 * uplink rate of a single node (`--uplink-rate` without sites). */
int uplink_qdisc_install(int ifindex, uint64_t rate_bps, const struct class_table *t);
/* The speed ifname reports (ethtool ETHTOOL_GSET in the caller's network
 * namespace, Mbit/s) in bits/s, or 0 when it reports none (veth reports
 * 10000; many virtual links report nothing or "unknown"). */
uint64_t uplink_link_speed_bps(const char *ifname);
/* The MTU of ifname in bytes (SIOCGIFMTU in the caller's network
 * namespace), 0 when it cannot be read.  The WAN leaves' tbf bursts are
 * built for the MTU at install time (uplink_qdisc_install_shape). */
uint32_t uplink_link_mtu(const char *ifname);
/* Whether t can be installed as a tree: each class priority 1:MINOR with
 * MINOR > 1 and not fffd/fffe (the WAN branch and LAN leaf), no two alike.  0, or -EINVAL after a warning naming the
 * class (the same check uplink_qdisc_install makes first). */
int uplink_qdisc_check(const struct class_table *t);
/* Delete the root qdisc of ifindex if it is an HTB with handle 1: (the
 * kernel then restores the default qdisc).  Returns 1 if it removed one,
 * 0 if there was nothing of ours to remove, -ENODEV or -EIO. */
int uplink_qdisc_remove(int ifindex);
/* Whether the root qdisc of ifindex is someone else's: not tcprio's HTB 1:
 * and not a kernel default (those have handle 0:), e.g. a CNI's bandwidth
 * manager's mq/fq or an operator's CAKE.  Returns 1 with its kind (e.g.
 * "cake") and handle (major << 16) filled, 0 if it may be replaced, or
 * -ENODEV / -EIO.  uplink_qdisc_install replaces such a root: callers ask
 * first (`tcprio agent --replace-qdisc`). */
int uplink_qdisc_foreign_root(int ifindex, char *kind, size_t kind_len, uint32_t *handle);
/* Whether ifindex carries tcprio's HTB tree (1: its HTB classes 1:1 and
 * the WAN branch 1:fffd exist) or not (0: a kernel default root, someone
 * else's, or removed by `tc qdisc del` or `tcprio detach`), or -ENOMEM,
 * -ENODEV, -EIO.  Reads only that interface's classes (the agent asks
 * every second for its readiness), not the leaves, which follow the
 * table. */
int uplink_qdisc_present(int ifindex);

#endif
