// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_route_table.c - libFuzzer harness: how the agent picks the uplink
 * from the routing table (`tcprio agent` without --uplink): consider and
 * detect in uplink_auto.c, over a route cache of arbitrary routes built
 * with libnl-route's own API, as rtnl_route_alloc_cache hands them over.
 *
 * Input: records of ROUTE_REC bytes, one route each:
 *   byte 0  bit 0 family (IPv4, IPv6), bits 1-2 table (main, local, 100,
 *           main), bits 3-4 type (unicast, unicast, blackhole, local),
 *           bit 5 has a destination, bits 6-7 next hops (0..3)
 *   byte 1  prefix length (mod 33 or 129)
 *   bytes 2-4  the next hops' interface indexes (this process's
 *           interfaces: 1 is lo, most others do not exist)
 *   bytes 5-8  metric (host order)
 * Invariants (abort on a broken one): the chosen interface's route is a
 * unicast default route of the main table whose first next hop is a real
 * interface other than lo, no such route has a lower metric (as the
 * kernel would use), and the choice is the same when asked twice.
 *
 * Why not raw rtnetlink messages: libnl 3.7's parser is not robust
 * against messages the kernel never sends (found by a first version of
 * this harness: it loops for ever allocating next hops on a multipath
 * next hop of length 0, and memcpy()s a negative length for an RTA_VIA of
 * one byte).  The table comes from the kernel only, so the agent's part,
 * the choice, is what is fuzzed here.
 *
 * consider and detect are static, so this file includes uplink_auto.c (the
 * fuzz build adds libnl-route for this harness, tests/fuzz.mk).  Seeds:
 * tests/fuzz/seeds/route_table.
 */
#include "../../user/dp/uplink_auto.c"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <netlink/cache.h>

/* The oracle: lowest metric of the routes consider() may take, or
 * UINT64_MAX when there is none.  Written out again on purpose. */
struct oracle {
	int family;
	uint64_t min;
};

static bool qualifies(struct rtnl_route *r, int family)
{
	struct nl_addr *dst = rtnl_route_get_dst(r);
	struct rtnl_nexthop *nh;
	char name[IF_NAMESIZE];
	int ifindex;

	if (rtnl_route_get_family(r) != family || rtnl_route_get_table(r) != RT_TABLE_MAIN ||
	    rtnl_route_get_type(r) != RTN_UNICAST || !dst || nl_addr_get_prefixlen(dst) != 0 ||
	    rtnl_route_get_nnexthops(r) < 1)
		return false;
	nh = rtnl_route_nexthop_n(r, 0);
	ifindex = nh ? rtnl_route_nh_get_ifindex(nh) : 0;
	return ifindex > 0 && if_indextoname((unsigned int)ifindex, name) && strcmp(name, "lo");
}

static void oracle_min(struct nl_object *obj, void *arg)
{
	struct oracle *o = arg;
	struct rtnl_route *r = (struct rtnl_route *)obj;

	if (qualifies(r, o->family) && rtnl_route_get_priority(r) < o->min)
		o->min = rtnl_route_get_priority(r);
}

static void check_family(struct nl_cache *cache, int family)
{
	struct oracle o = { .family = family, .min = UINT64_MAX };
	struct best b = { .family = family }, again = { .family = family };
	char name[IF_NAMESIZE];
	int r = detect(cache, family, name);

	nl_cache_foreach(cache, oracle_min, &o);
	nl_cache_foreach(cache, consider, &b);
	nl_cache_foreach(cache, consider, &again);
	if (b.ifindex != again.ifindex || b.priority != again.priority)
		abort(); /* the same table gave another answer */
	if ((o.min == UINT64_MAX) != (b.ifindex == 0))
		abort(); /* found one where none qualifies, or missed the only ones */
	if (b.ifindex && b.priority != o.min)
		abort(); /* not the lowest metric, unlike the kernel */
	if (r == 0 && (!b.ifindex || strnlen(name, IF_NAMESIZE) == IF_NAMESIZE))
		abort();
}

#define ROUTE_REC 9

/* One route from record r (ROUTE_REC bytes); NULL if out of memory. */
static struct rtnl_route *route_of(const uint8_t *r)
{
	static const uint32_t tables[4] = { RT_TABLE_MAIN, RT_TABLE_LOCAL, 100, RT_TABLE_MAIN };
	static const uint8_t types[4] = { RTN_UNICAST, RTN_UNICAST, RTN_BLACKHOLE, RTN_LOCAL };
	int family = r[0] & 1 ? AF_INET6 : AF_INET;
	struct rtnl_route *rt = rtnl_route_alloc();
	uint32_t prio;

	if (!rt)
		return NULL;
	rtnl_route_set_family(rt, (uint8_t)family);
	rtnl_route_set_table(rt, tables[(r[0] >> 1) & 3]);
	rtnl_route_set_type(rt, types[(r[0] >> 3) & 3]);
	if (r[0] & 0x20) {
		uint8_t zero[16] = { 0 };
		struct nl_addr *dst = nl_addr_build(family, zero, family == AF_INET ? 4 : 16);

		if (dst) {
			nl_addr_set_prefixlen(dst, r[1] % (family == AF_INET ? 33 : 129));
			rtnl_route_set_dst(rt, dst);
			nl_addr_put(dst);
		}
	}
	for (int i = 0; i < (r[0] >> 6); i++) {
		struct rtnl_nexthop *nh = rtnl_route_nh_alloc();

		if (!nh)
			break;
		rtnl_route_nh_set_ifindex(nh, r[2 + i]);
		rtnl_route_add_nexthop(rt, nh);
	}
	memcpy(&prio, r + 5, sizeof(prio));
	rtnl_route_set_priority(rt, prio);
	return rt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nl_cache *cache = NULL;

	if (nl_cache_alloc_name("route/route", &cache) < 0)
		return 0;
	for (size_t off = 0; off + ROUTE_REC <= size; off += ROUTE_REC) {
		struct rtnl_route *rt = route_of(data + off);

		if (!rt)
			break;
		nl_cache_add(cache, (struct nl_object *)rt); /* takes a reference */
		rtnl_route_put(rt);
	}
	check_family(cache, AF_INET);
	check_family(cache, AF_INET6);
	nl_cache_free(cache);
	return 0;
}

#include "fuzz_main.h"
