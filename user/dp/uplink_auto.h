/* SPDX-License-Identifier: BSD-2-Clause */
/* uplink_auto.h - find the node's uplink: the interface of the default route. */
#ifndef TCPRIO_UPLINK_AUTO_H
#define TCPRIO_UPLINK_AUTO_H

#include <stddef.h>

#include <net/if.h>

/* Write into names the interfaces of the IPv4 default route
 * (/proc/net/route) and of the IPv6 default route (/proc/net/ipv6_route),
 * each once: at most max names of IF_NAMESIZE bytes.  Returns how many were
 * found (1 or 2), or -ENOENT if there is no default route. */
int uplink_auto_detect(char names[][IF_NAMESIZE], int max);

#endif
