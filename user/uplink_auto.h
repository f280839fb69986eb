/* SPDX-License-Identifier: BSD-2-Clause */
/* uplink_auto.h - find the node's uplink: the interface of the default route. */
#ifndef TCPRIO_UPLINK_AUTO_H
#define TCPRIO_UPLINK_AUTO_H

#include <stddef.h>

/* Write into name (IFNAMSIZ bytes) the interface of the IPv4 default route
 * (/proc/net/route), else of the IPv6 default route (/proc/net/ipv6_route).
 * Returns 0, or -ENOENT if there is no default route. */
int uplink_auto_detect(char *name, size_t len);

#endif
