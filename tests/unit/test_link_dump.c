/* SPDX-License-Identifier: BSD-2-Clause */
/* test_link_dump.c - link_dump_open() lists the namespace's links (lo is
 * among them, with its ifindex from if_nametoindex) and link_dump_close()
 * may be called twice (cmocka; unprivileged: a link dump needs no
 * capability). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include "dp/link_dump.h"

static void test_dump_has_lo(void **state)
{
	struct link_dump d;
	struct nl_object *obj;
	int lo = -1, n = 0;

	assert_int_equal(link_dump_open(&d, "test"), 0);
	assert_non_null(d.cache);
	for (obj = nl_cache_get_first(d.cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_link *l = (struct rtnl_link *)obj;

		n++;
		if (rtnl_link_get_name(l) && strcmp(rtnl_link_get_name(l), "lo") == 0)
			lo = rtnl_link_get_ifindex(l);
	}
	assert_int_equal(n, nl_cache_nitems(d.cache));
	assert_int_equal(lo, (int)if_nametoindex("lo"));
	link_dump_close(&d);
	assert_null(d.cache);
	assert_null(d.sk);
	link_dump_close(&d); /* twice: safe */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump_has_lo),
	};

	return cmocka_run_group_tests_name("link_dump", tests, NULL, NULL);
}
