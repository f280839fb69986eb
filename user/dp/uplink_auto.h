/* SPDX-License-Identifier: BSD-2-Clause */
/* uplink_auto.h - find the node's uplink: the interface of the default route. */
#ifndef TCPRIO_UPLINK_AUTO_H
#define TCPRIO_UPLINK_AUTO_H

#include <stddef.h>

#include <net/if.h>

/* Write into names the interfaces of the IPv4 default route and of the
 * IPv6 default route (main table, unicast, not via lo; of several, the one
 * with the lowest metric, as the kernel would use), each once: at most max
 * names of IF_NAMESIZE bytes.  Read from the kernel over rtnetlink
 * (libnl-route).  Returns how many were found (1 or 2), -ENOENT if there is
 * no default route, -EIO if the routing table cannot be read, -ENOMEM. */
int uplink_auto_detect(char names[][IF_NAMESIZE], int max);

#endif
