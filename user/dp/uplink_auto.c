/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "dp/uplink_auto.h"

/* /proc/net/route: "Iface Destination Gateway Flags ..." with hex fields;
 * the default route has Destination 00000000 and Mask 00000000. */
static int detect_ipv4(char *name, size_t len)
{
	char line[512], ifname[IF_NAMESIZE];
	unsigned long dest, mask;
	int found = -ENOENT;
	FILE *f = fopen("/proc/net/route", "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%15s %lx %*x %*x %*d %*d %*d %lx", ifname, &dest, &mask) != 3)
			continue; /* header line */
		if (dest == 0 && mask == 0) {
			snprintf(name, len, "%s", ifname);
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

/* /proc/net/ipv6_route: "dest destlen src srclen nexthop metric refcnt use
 * flags iface"; the default route is ::/0 and not on the loopback. */
static int detect_ipv6(char *name, size_t len)
{
	char line[512], dest[40], ifname[IF_NAMESIZE];
	unsigned int plen;
	int found = -ENOENT;
	FILE *f = fopen("/proc/net/ipv6_route", "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%39s %x %*s %*s %*s %*s %*s %*s %*s %15s", dest, &plen, ifname) != 3)
			continue;
		if (plen == 0 && strspn(dest, "0") == 32 && strcmp(ifname, "lo") != 0) {
			snprintf(name, len, "%s", ifname);
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

int uplink_auto_detect(char names[][IF_NAMESIZE], int max)
{
	char v6[IF_NAMESIZE];
	int n = 0;

	if (max > 0 && detect_ipv4(names[0], IF_NAMESIZE) == 0)
		n++;
	if (n < max && detect_ipv6(v6, sizeof(v6)) == 0 && (n == 0 || strcmp(v6, names[0]) != 0))
		memcpy(names[n++], v6, IF_NAMESIZE);
	return n ? n : -ENOENT;
}
