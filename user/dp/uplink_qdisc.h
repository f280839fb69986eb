/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * uplink_qdisc.h - the HTB tree that turns tcprio's skb->priority into
 * strict-priority scheduling on a node uplink (`tcprio agent --uplink-rate`).
 *
 * Tree (tc notation, handles in hex as tc prints them):
 *   qdisc 1: root htb default <minor of the default class>
 *   class 1:1  parent 1:  rate = ceil = uplink rate
 *   class <class priority, e.g. 1:10> parent 1:1 for each traffic class:
 *         prio = class position (0 = first = served first; HTB has 8 levels,
 *                0..7, so positions >= 7 share prio 7)
 *         rate = class rate_bps, or a fair share of what the classes with an
 *                explicit rate leave of the uplink (at least 8 kbit/s)
 *         ceil = class ceil_bps, or the uplink rate (never above it)
 *         quantum = rate/8/10 bytes clamped to [MTU + 14, 200000], set
 *                explicitly so low rates do not hit HTB's r2q warning
 *   qdisc <minor>: pfifo limit 256 under each leaf (fq_codel is not
 *         available on every kernel tcprio runs on).
 * skb->priority whose major is 1 selects the leaf directly (HTB classify),
 * so no tc filters are needed.  Rates in bits/s; the kernel stores bytes/s.
 */
#ifndef TCPRIO_UPLINK_QDISC_H
#define TCPRIO_UPLINK_QDISC_H

#include <stdint.h>
#include "policy/class_table.h"

#define UPLINK_QDISC_MAJOR       1      /* root handle 1: */
#define UPLINK_QDISC_PARENT_MIN  1      /* class 1:1 */
#define UPLINK_QDISC_LEAF_LIMIT  256    /* pfifo packets per leaf */
#define UPLINK_QDISC_MIN_RATE    8000   /* bits/s floor for a fair share */

/*
 * Install or update the tree on ifindex.  Idempotent: with the same root
 * HTB 1: and default class it changes the classes in place (and removes
 * leaves no longer in t); otherwise it replaces the root qdisc (a short gap
 * in shaping).  Only the root qdisc of ifindex and its children change.
 * Errors: -EINVAL (rate_bps 0, t empty, a class priority whose major is not
 * 1, minor 0 or 1, or used twice: a warning names the class), -ENODEV (no
 * such ifindex), -EIO (netlink error; the message is logged).
 */
int uplink_qdisc_install(int ifindex, uint64_t rate_bps, const struct class_table *t);
/* Whether t can be installed as a tree: each class priority 1:MINOR with
 * MINOR > 1, no two alike.  0, or -EINVAL after a warning naming the
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

#endif
