/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * link_dump.h - one dump of the network interfaces of the calling thread's
 * network namespace: libnl-route-3's link cache (rtnl_link_alloc_cache,
 * AF_UNSPEC) on a NETLINK_ROUTE socket of its own, for the code that lists
 * the links once (link_watch's start-up dump, trust_ifaces_sync).
 *
 * Use:
 *   struct link_dump d;
 *   if (link_dump_open(&d, "trusted interfaces") == 0)
 *       for (obj = nl_cache_get_first(d.cache); obj; obj = nl_cache_get_next(obj))
 *           ... (struct rtnl_link *)obj ...
 *   link_dump_close(&d);
 * The rtnl_link objects and the strings they return live until
 * link_dump_close.
 */
#ifndef TCPRIO_LINK_DUMP_H
#define TCPRIO_LINK_DUMP_H

struct nl_sock;
struct nl_cache;

struct link_dump {
	struct nl_sock *sk;     /* the socket the dump was made on */
	struct nl_cache *cache; /* one struct rtnl_link per interface */
};

/*
 * Dump the links into d.  Returns 0, -ENOMEM (no socket) or -EIO (the
 * socket does not connect or the dump fails; logged as a warning
 * "WHO: cannot list links: <libnl's reason>").  On failure d holds nothing
 * to use, and link_dump_close(d) is still safe.
 */
int link_dump_open(struct link_dump *d, const char *who);
/* Free the cache and the socket; d is then empty (closing twice is safe). */
void link_dump_close(struct link_dump *d);

#endif
