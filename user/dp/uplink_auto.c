/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * uplink_auto.c - the interfaces of the default routes, from the kernel's
 * routing table over rtnetlink (libnl-route's route cache).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/route.h>
#include "dp/uplink_auto.h"

struct best {
	int family;
	int ifindex;          /* 0: none found */
	uint32_t priority;    /* the route's metric: lower wins, as in the kernel */
};

/* A unicast default route (prefix length 0) of the main table in b->family
 * whose first next hop is not the loopback: keep the lowest metric. */
static void consider(struct nl_object *obj, void *arg)
{
	struct rtnl_route *r = (struct rtnl_route *)obj;
	struct best *b = arg;
	struct nl_addr *dst = rtnl_route_get_dst(r);
	struct rtnl_nexthop *nh;
	char name[IF_NAMESIZE];
	int ifindex;

	if (rtnl_route_get_family(r) != b->family || rtnl_route_get_table(r) != RT_TABLE_MAIN ||
	    rtnl_route_get_type(r) != RTN_UNICAST || !dst || nl_addr_get_prefixlen(dst) != 0 ||
	    rtnl_route_get_nnexthops(r) < 1)
		return;
	nh = rtnl_route_nexthop_n(r, 0);
	ifindex = nh ? rtnl_route_nh_get_ifindex(nh) : 0;
	if (ifindex <= 0 || !if_indextoname((unsigned int)ifindex, name) || !strcmp(name, "lo"))
		return;
	if (!b->ifindex || rtnl_route_get_priority(r) < b->priority) {
		b->ifindex = ifindex;
		b->priority = rtnl_route_get_priority(r);
	}
}

/* Interface name of family's best default route in cache; 0 or -ENOENT. */
static int detect(struct nl_cache *cache, int family, char *name)
{
	struct best b = { .family = family };

	nl_cache_foreach(cache, consider, &b);
	if (!b.ifindex || !if_indextoname((unsigned int)b.ifindex, name))
		return -ENOENT;
	return 0;
}

int uplink_auto_detect(char names[][IF_NAMESIZE], int max)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *cache = NULL;
	char v6[IF_NAMESIZE];
	int n = 0, err;

	if (!sk)
		return -ENOMEM;
	err = nl_connect(sk, NETLINK_ROUTE);
	if (!err)
		err = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &cache);
	if (err) {
		nl_socket_free(sk);
		return -EIO;
	}
	if (max > 0 && detect(cache, AF_INET, names[0]) == 0)
		n++;
	if (n < max && detect(cache, AF_INET6, v6) == 0 && (n == 0 || strcmp(v6, names[0]) != 0))
		memcpy(names[n++], v6, IF_NAMESIZE);
	nl_cache_free(cache);
	nl_socket_free(sk);
	return n ? n : -ENOENT;
}
