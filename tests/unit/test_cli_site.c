/* SPDX-License-Identifier: BSD-2-Clause */
/* test_cli_site.c - cli_site_summary(), the sentence `tcprio status` and
 * `tcprio explain` both print about the node's site and WAN shaping, for
 * each kind of tcprio_site record: a shaped share, a site budget with no
 * --uplink, no budget with an --uplink-rate tree (it once read "of 0"),
 * nothing shaped, no site view, gateway mode (it once read "WAN share R
 * of 0"), and a name from the map without its terminator (cmocka;
 * unprivileged). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "cli/cli.h"
#include "tcprio.h"

static char out[512];

static const char *summary(const struct tcprio_site *s)
{
	memset(out, 'x', sizeof(out));
	cli_site_summary(s, out, sizeof(out));
	return out;
}

static void test_shaped(void **state)
{
	struct tcprio_site s = { .name = "store-17", .share_bps = 10000000, .budget_bps = 20000000,
				 .link_bps = 1000000000, .nodes = 2, .ready_nodes = 2, .labelled = 1 };

	assert_string_equal(summary(&s), "site store-17: WAN share 10000000 bit/s of the site's "
			    "20000000 (2 of 2 nodes Ready), link 1000000000 bit/s");
}

static void test_budget_no_uplink(void **state)
{
	struct tcprio_site s = { .name = "store-17", .budget_bps = 20000000, .nodes = 3,
				 .ready_nodes = 2, .labelled = 1 };

	assert_string_equal(summary(&s), "site store-17: WAN not shaped on this node: no --uplink "
			    "(the site's WAN budget is 20000000 bit/s, 2 of 3 nodes Ready)");
}

static void test_no_budget(void **state)
{
	struct tcprio_site s = { .name = "node-9", .share_bps = 50000000, .link_bps = 50000000,
				 .nodes = 1, .ready_nodes = 1 };

	assert_string_equal(summary(&s), "site node-9 (no site label: a site of its own): no site "
			    "WAN budget (not in sites:, no defaultSite): the WAN branch is the whole "
			    "link, 50000000 bit/s");
	assert_null(strstr(out, "of 0"));
	s.share_bps = s.link_bps = 0;
	assert_string_equal(summary(&s), "site node-9 (no site label: a site of its own): WAN not "
			    "shaped (no site WAN budget: not in sites:, no defaultSite, and no "
			    "--uplink-rate or no --uplink)");
}

static void test_no_view(void **state)
{
	struct tcprio_site s = { 0 };

	assert_string_equal(summary(&s), "site (none: no Node watch, or the Nodes are not listed "
			    "yet): WAN not shaped (no site WAN budget, and no --uplink-rate or no "
			    "--uplink)");
}

static void test_gateway(void **state)
{
	struct tcprio_site s = { .name = "(gateway)", .share_bps = 20000000, .link_bps = 20000000,
				 .gateway = 1 };

	assert_string_equal(summary(&s), "gateway mode: all traffic of the uplink is the site's "
			    "WAN, shaped at 20000000 bit/s (--uplink-rate)");
	assert_null(strstr(out, "of 0"));
}

static void test_unterminated_and_short_buffer(void **state)
{
	struct tcprio_site s = { .budget_bps = 1, .share_bps = 1, .labelled = 1 };
	char small[16];

	memset(s.name, 'a', sizeof(s.name));
	summary(&s);
	assert_true(strlen(out) < sizeof(out));
	assert_non_null(strstr(out, "site aaaa"));
	cli_site_summary(&s, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shaped),
		cmocka_unit_test(test_budget_no_uplink),
		cmocka_unit_test(test_no_budget),
		cmocka_unit_test(test_no_view),
		cmocka_unit_test(test_gateway),
		cmocka_unit_test(test_unterminated_and_short_buffer),
	};

	return cmocka_run_group_tests_name("cli_site", tests, NULL, NULL);
}
