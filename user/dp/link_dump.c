/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * link_dump.c - one dump of the namespace's links; see link_dump.h.
 */
#include <errno.h>
#include <string.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include "dp/link_dump.h"
#include "lib/log.h"

int link_dump_open(struct link_dump *d, const char *who)
{
	int err;

	memset(d, 0, sizeof(*d));
	d->sk = nl_socket_alloc();
	if (!d->sk)
		return -ENOMEM;
	err = nl_connect(d->sk, NETLINK_ROUTE);
	if (!err)
		err = rtnl_link_alloc_cache(d->sk, AF_UNSPEC, &d->cache);
	if (err) {
		pr_warn("%s: cannot list links: %s", who, nl_geterror(err));
		link_dump_close(d);
		return -EIO;
	}
	return 0;
}

void link_dump_close(struct link_dump *d)
{
	nl_cache_free(d->cache); /* NULL is fine */
	nl_socket_free(d->sk);
	d->cache = NULL;
	d->sk = NULL;
}
