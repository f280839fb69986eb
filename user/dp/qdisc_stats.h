/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * qdisc_stats.h - what the uplink's HTB did with the traffic: per HTB class
 * the kernel's counters (the numbers `tc -s class show dev IF` prints), read
 * through libnl-route (RTM_GETTCLASS dump, rtnl_class cache).  Used by the
 * agent's /metrics and by `tcprio status`, so an operator sees whether a
 * class is being delayed (overlimits, backlog) or dropped.
 *
 * Works on whatever HTB tree the interface carries (tcprio's own, see
 * uplink_qdisc.h, or another shape): every class of kind "htb" is reported
 * with its classid; the caller maps classids to tcprio class names.
 */
#ifndef TCPRIO_QDISC_STATS_H
#define TCPRIO_QDISC_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* Most HTB classes read per interface (tcprio makes at most 1 + 16). */
#define QDISC_STATS_MAX_CLASSES 64

/* One HTB class.  Counters are since the class was created. */
struct htb_class_stats {
	uint32_t classid;         /* tc handle, major << 16 | minor (1:10 = 0x10010) */
	uint32_t parent;          /* parent handle (the root qdisc's for top classes) */
	bool leaf;                /* no child class: a leaf holds the queue */
	uint64_t bytes;           /* bytes sent (dequeued) */
	uint64_t packets;         /* packets sent */
	uint64_t drops;           /* packets dropped (leaf queue full) */
	uint64_t overlimits;      /* times a packet waited because the class was over
	                             its rate/ceil: a sign of delay */
	uint64_t backlog_bytes;   /* bytes queued now */
	uint64_t backlog_packets; /* packets queued now (qlen) */
	uint64_t rate_Bps;        /* guaranteed rate, bytes/s (tc prints bits/s) */
	uint64_t ceil_Bps;        /* ceiling, bytes/s */
};

/*
 * Read the HTB classes of ifindex into out[0..max-1], sorted by classid.
 * Returns how many were found (0: no HTB on the interface; more than max
 * are counted but not stored), or -ENODEV (no such ifindex), -EINVAL
 * (ifindex <= 0 or out NULL with max > 0) or -EIO (netlink error, logged
 * at debug level: callers run at every scrape).
 */
int qdisc_stats_read(int ifindex, struct htb_class_stats *out, int max);

/* "MAJ:MIN" in hex as tc prints it, e.g. 0x10010 -> "1:10".  buf >= 12. */
void qdisc_stats_handle_str(uint32_t handle, char *buf, unsigned long len);

/*
 * The name of the tcprio class whose priority is classid, read from the
 * pinned tcprio_classes map (classes_fd, ARRAY of struct tcprio_class), into
 * buf; "" when no valid class has that priority (an inner class such as
 * 1:1, or another tree) or classes_fd < 0.  Returns true when found.
 */
bool qdisc_stats_class_name(int classes_fd, uint32_t classid, char *buf, unsigned long len);

#endif
