/* SPDX-License-Identifier: BSD-2-Clause */
/* test_sites_config.c - the class table's site keys (siteLabel, sites,
 * defaultSite, localCIDRs, remoteCIDRs): the issue's example, every bad
 * input with the error naming it, and the CIDR parser (cmocka;
 * unprivileged). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "policy/class_table.h"
#include "policy/cidr.h"

#define CLASSES "classes:\n  - {name: critical, dscp: EF, priority: \"1:10\"}\n" \
	"  - {name: bulk, dscp: LE, priority: \"1:40\"}\ndefaultClass: bulk\n"

/* The issue's example, verbatim keys. */
static void test_issue_example(void **state)
{
	static const char y[] = CLASSES
		"siteLabel: topology.kubernetes.io/zone\n"
		"sites:\n"
		"  - name: store-17\n"
		"    wanRate: 20mbit\n"
		"  - name: dc-1\n"
		"    wanRate: 10gbit\n"
		"defaultSite: {wanRate: 50mbit}\n"
		"localCIDRs: [192.168.10.0/24]\n"
		"remoteCIDRs: [10.200.0.0/16]\n";
	struct class_table t;
	char err[512] = "", a[CIDR_TEXT_LEN];

	assert_int_equal(class_table_parse(y, strlen(y), &t, err, sizeof(err)), 0);
	assert_string_equal(t.site_label, "topology.kubernetes.io/zone");
	assert_int_equal(t.n_sites, 2);
	assert_string_equal(t.sites[0].name, "store-17");
	assert_true(t.sites[0].wan_rate_bps == 20000000ull);
	assert_string_equal(t.sites[1].name, "dc-1");
	assert_true(t.sites[1].wan_rate_bps == 10000000000ull);
	assert_true(t.has_default_site);
	assert_true(t.default_site.wan_rate_bps == 50000000ull);
	assert_int_equal(t.n_local_cidrs, 1);
	cidr_format(&t.local_cidrs[0], a, sizeof(a));
	assert_string_equal(a, "192.168.10.0/24");
	assert_int_equal(t.local_cidrs[0].prefix_len, 96 + 24);
	assert_int_equal(t.n_remote_cidrs, 1);
	cidr_format(&t.remote_cidrs[0], a, sizeof(a));
	assert_string_equal(a, "10.200.0.0/16");
	assert_ptr_equal(class_table_site(&t, "store-17"), &t.sites[0]);
	assert_ptr_equal(class_table_site(&t, "dc-1"), &t.sites[1]);
	assert_ptr_equal(class_table_site(&t, "elsewhere"), &t.default_site);
	assert_ptr_equal(class_table_site(&t, NULL), &t.default_site);
	class_table_free(&t);
	assert_null(t.sites);
	assert_null(t.local_cidrs);
}

/* Absent keys: the default label, no sites, no WAN shaping anywhere. */
static void test_defaults(void **state)
{
	struct class_table t;
	char err[256];

	assert_int_equal(class_table_parse(CLASSES, strlen(CLASSES), &t, err, sizeof(err)), 0);
	assert_string_equal(t.site_label, SITE_LABEL_DEFAULT);
	assert_int_equal(t.n_sites, 0);
	assert_false(t.has_default_site);
	assert_null(class_table_site(&t, "store-17"));
	class_table_free(&t);
	class_table_defaults(&t);
	assert_string_equal(t.site_label, SITE_LABEL_DEFAULT);
	assert_null(class_table_site(&t, "x"));
	class_table_free(&t);
}

static void test_site_classes_and_v6(void **state)
{
	static const char y[] = CLASSES
		"siteLabel: example.com/site\n"
		"sites:\n"
		"  - name: Edge_1.a\n"
		"    wanRate: 20mbit\n"
		"    classes:\n"
		"      critical: {rate: 2mbit, ceil: 20mbit}\n"
		"      bulk: {ceil: 15mbit}\n"
		"defaultSite:\n"
		"  wanRate: 8mbit\n"
		"  classes: {critical: {rate: 1mbit}}\n"
		"localCIDRs: [\"2001:db8:1::/48\", 198.18.0.0/16, 169.254.0.0/16, \"fe80::/10\"]\n"
		"remoteCIDRs: [\"2001:db8::/32\", 0.0.0.0/0]\n";
	struct class_table t;
	char err[512] = "", a[CIDR_TEXT_LEN];

	assert_int_equal(class_table_parse(y, strlen(y), &t, err, sizeof(err)), 0);
	assert_string_equal(t.site_label, "example.com/site");
	assert_true(t.sites[0].classes[0].rate_bps == 2000000);
	assert_true(t.sites[0].classes[0].ceil_bps == 20000000);
	assert_true(t.sites[0].classes[1].rate_bps == 0);
	assert_true(t.sites[0].classes[1].ceil_bps == 15000000);
	assert_true(t.default_site.classes[0].rate_bps == 1000000);
	assert_int_equal(t.n_local_cidrs, 4);
	cidr_format(&t.local_cidrs[0], a, sizeof(a));
	assert_string_equal(a, "2001:db8:1::/48");
	assert_int_equal(t.local_cidrs[0].prefix_len, 48);
	assert_int_equal(t.local_cidrs[0].family, 6);
	cidr_format(&t.remote_cidrs[1], a, sizeof(a));
	assert_string_equal(a, "0.0.0.0/0");
	assert_int_equal(t.remote_cidrs[1].prefix_len, 96);
	class_table_free(&t);
}

static const struct bad_case {
	const char *yaml;
	const char *expect; /* substring of the error */
} bad_cases[] = {
	{ CLASSES "siteLabel: [a]\n", "siteLabel: expected a label key, got a list" },
	{ CLASSES "siteLabel: \"\"\n", "siteLabel: expected a label key such as" },
	{ CLASSES "siteLabel: Bad_Prefix/zone\n", "got \"Bad_Prefix/zone\"" },
	{ CLASSES "siteLabel: example.com/\n", "siteLabel: expected a label key" },
	{ CLASSES "siteLabel: -zone\n", "siteLabel: expected a label key" },
	{ CLASSES "siteLabel: a/b/c\n", "siteLabel: expected a label key" },
	{ CLASSES "sites: {a: 1}\n", "sites: expected a list of sites, got a mapping" },
	{ CLASSES "sites:\n  - store-17\n", "sites[0]: expected a mapping with name, wanRate" },
	{ CLASSES "sites:\n  - {wanRate: 1mbit}\n", "sites[0].name: required" },
	{ CLASSES "sites:\n  - {name: a}\n", "sites[0].wanRate: required" },
	{ CLASSES "sites:\n  - {name: a, wanRate: fast}\n",
	  "sites[0].wanRate: expected a positive rate such as 50mbit" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 0}\n", "sites[0].wanRate: expected a positive rate" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 1}\n",
	  "sites[0].wanRate: 1 bit/s is below the minimum 8000 bit/s (8kbit)" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 7999}\n",
	  "sites[0].wanRate: 7999 bit/s is below the minimum 8000 bit/s" },
	{ CLASSES "defaultSite: {wanRate: 1kbit}\n", "defaultSite.wanRate: 1000 bit/s is below the minimum" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 1mbit, rate: 1}\n",
	  "sites[0]: unknown key \"rate\" (expected name, wanRate, classes)" },
	{ CLASSES "sites:\n  - {name: \"-a\", wanRate: 1mbit}\n",
	  "sites[0].name: expected a label value" },
	{ CLASSES "sites:\n  - {name: \"a b\", wanRate: 1mbit}\n", "got \"a b\"" },
	{ CLASSES "sites:\n  - {name: "
	  "a234567890123456789012345678901234567890123456789012345678901234, wanRate: 1mbit}\n",
	  "sites[0].name: expected a label value: 1..63 characters" },
	{ CLASSES "sites:\n  - {name: [a], wanRate: 1mbit}\n", "sites[0].name: expected a label value, got a list" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 1mbit}\n  - {name: b, wanRate: 1mbit}\n"
	  "  - {name: a, wanRate: 2mbit}\n", "sites[2]: duplicate site name \"a\" (also sites[0])" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 10mbit, classes: [critical]}\n",
	  "sites[0].classes: expected a mapping of class name" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 10mbit, classes: {nosuch: {rate: 1mbit}}}\n",
	  "sites[0].classes: unknown class \"nosuch\"" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 10mbit, classes: {critical: 1mbit}}\n",
	  "sites[0].classes.critical: expected a mapping with rate and/or ceil" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 10mbit, classes: {critical: {}}}\n",
	  "sites[0].classes.critical: expected rate and/or ceil" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 10mbit, classes: {critical: {prio: 1}}}\n",
	  "sites[0].classes.critical: unknown key \"prio\"" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 10mbit, classes: {critical: {rate: 11mbit}}}\n",
	  "sites[0].classes.critical.rate: rate 11000000 bit/s is above the site's wanRate" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 10mbit, classes: {critical: {ceil: 11mbit}}}\n",
	  "sites[0].classes.critical.ceil: ceiling 11000000 bit/s is above the site's wanRate" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 10mbit, classes: {critical: {rate: 2mbit, ceil: 1mbit}}}\n",
	  "sites[0].classes.critical.ceil: ceiling 1000000 bit/s is below rate 2000000" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 10mbit, classes: {critical: {rate: x}}}\n",
	  "sites[0].classes.critical.rate: expected a positive rate" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 10mbit, classes: {critical: {rate: 6mbit}, "
	  "bulk: {rate: 6mbit}}}\n",
	  "sites[0].classes: the class rates add up to 12000000 bit/s, above the site's wanRate" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 10mbit, classes: {critical: {rate: 1mbit}, "
	  "critical: {rate: 2mbit}}}\n", "sites[0].classes: duplicate class \"critical\"" },
	/* a table-wide class rate is a guarantee within every site's WAN budget */
	{ "classes:\n  - {name: critical, dscp: EF, priority: \"1:10\"}\n"
	  "  - {name: bulk, dscp: LE, priority: \"1:40\", rate: 40mbit}\ndefaultClass: bulk\n"
	  "sites:\n  - {name: store-a, wanRate: 20mbit}\n",
	  "sites[0]: class bulk's rate 40000000 bit/s (classes[1].rate) is above the site's "
	  "wanRate 20000000 bit/s" },
	{ "classes:\n  - {name: critical, dscp: EF, priority: \"1:10\", rate: 8mbit}\n"
	  "  - {name: bulk, dscp: LE, priority: \"1:40\", rate: 8mbit}\ndefaultClass: bulk\n"
	  "defaultSite: {wanRate: 20mbit, classes: {critical: {rate: 15mbit}}}\n",
	  "defaultSite: the class rates (the site's classes, else classes[].rate) add up to "
	  "23000000 bit/s, above the site's wanRate 20000000" },
	{ CLASSES "defaultSite: 50mbit\n", "defaultSite: expected a mapping with wanRate" },
	{ CLASSES "defaultSite: {}\n", "defaultSite.wanRate: required" },
	{ CLASSES "defaultSite: {name: x, wanRate: 1mbit}\n",
	  "defaultSite: unknown key \"name\" (expected wanRate, classes)" },
	{ CLASSES "defaultSite: {wanRate: 1mbit, classes: {bulk: {rate: 2mbit}}}\n",
	  "defaultSite.classes.bulk.rate: rate 2000000 bit/s is above" },
	{ CLASSES "localCIDRs: 192.168.10.0/24\n", "localCIDRs: expected a list of CIDRs" },
	{ CLASSES "localCIDRs: [192.168.10.0]\n",
	  "localCIDRs[0]: expected an IPv4 or IPv6 CIDR such as 192.168.10.0/24 or 2001:db8::/32, got \"192.168.10.0\"" },
	{ CLASSES "localCIDRs: [192.168.10.0/33]\n", "localCIDRs[0]: expected an IPv4 or IPv6 CIDR" },
	{ CLASSES "localCIDRs: [\"2001:db8::/129\"]\n", "localCIDRs[0]: expected an IPv4 or IPv6 CIDR" },
	{ CLASSES "localCIDRs: [192.168.10.0/-1]\n", "localCIDRs[0]: expected an IPv4 or IPv6 CIDR" },
	{ CLASSES "localCIDRs: [192.168.10.0/24x]\n", "localCIDRs[0]: expected an IPv4 or IPv6 CIDR" },
	{ CLASSES "localCIDRs: [192.168.1/24]\n", "localCIDRs[0]: expected an IPv4 or IPv6 CIDR" },
	{ CLASSES "localCIDRs: [\" 192.168.10.0/24\"]\n", "localCIDRs[0]: expected an IPv4 or IPv6 CIDR" },
	{ CLASSES "localCIDRs: [192.168.10.0/24, 10.0.0.0/8]\nremoteCIDRs: [lan]\n",
	  "remoteCIDRs[0]: expected an IPv4 or IPv6 CIDR" },
	{ CLASSES "localCIDRs: [\"::/0\"]\n",
	  "localCIDRs[0]: \"::/0\" also holds ::ffff:0:0/96, where tcprio keeps every IPv4 address" },
	{ CLASSES "remoteCIDRs: [\"::/64\"]\n", "remoteCIDRs[0]: \"::/64\" also holds ::ffff:0:0/96" },
	{ CLASSES "trustDscpFrom: [\"::/0\"]\n",
	  "trustDscpFrom[0]: \"::/0\" also holds ::ffff:0:0/96" },
	{ CLASSES "localCIDRs: [192.168.10.1/24]\n",
	  "localCIDRs[0]: \"192.168.10.1/24\" has host bits set" },
	{ CLASSES "localCIDRs: [\"2001:db8::1/32\"]\n", "has host bits set" },
	{ CLASSES "localCIDRs: [[1]]\n", "localCIDRs[0]: expected a CIDR such as 192.168.10.0/24, got a list" },
	{ CLASSES "localCIDRs: [10.0.0.0/8, 10.0.0.0/8]\n",
	  "localCIDRs[1]: duplicate CIDR \"10.0.0.0/8\" (also localCIDRs[0])" },
	{ CLASSES "localCIDRs: [\"::ffff:10.0.0.0/104\", 10.0.0.0/8]\n",
	  "localCIDRs[1]: duplicate CIDR" },
	{ CLASSES "localCIDRs: [10.0.0.0/8]\nremoteCIDRs: [10.1.0.0/16, 10.0.0.0/8]\n",
	  "remoteCIDRs: 10.0.0.0/8 is also localCIDRs[0]; expected a prefix to be either LAN or WAN (remoteCIDRs[1])" },
	{ CLASSES "remoteCIDRs: {a: b}\n", "remoteCIDRs: expected a list of CIDRs" },
	{ CLASSES "sites:\n  - {name: a, wanRate: 1mbit}\nsites: []\n", "duplicate key \"sites\"" },
	{ CLASSES "site: []\n", "(document): unknown key \"site\"" },
};

static void test_bad_inputs(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct class_table t;
		char err[512] = "";
		int ret;

		ret = class_table_parse(bad_cases[i].yaml, strlen(bad_cases[i].yaml),
					&t, err, sizeof(err));
		if (ret != -EINVAL)
			fail_msg("case %zu: expected -EINVAL, got %d", i, ret);
		if (!strstr(err, bad_cases[i].expect))
			fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err,
				 bad_cases[i].expect);
		if (t.n_classes != 0 || t.sites || t.local_cidrs || t.remote_cidrs)
			fail_msg("case %zu: table not left empty", i);
		class_table_free(&t);
	}
}

/* Limits: 256 sites and 1024 CIDRs per list; one more is an error. */
static void test_limits(void **state)
{
	static char y[80000];
	struct class_table t;
	char err[512];
	size_t n;

	for (int extra = 0; extra <= 1; extra++) {
		n = (size_t)snprintf(y, sizeof(y), CLASSES "sites:\n");
		for (int i = 0; i < CLASS_TABLE_MAX_SITES + extra; i++)
			n += (size_t)snprintf(y + n, sizeof(y) - n, "  - {name: s%d, wanRate: 1mbit}\n", i);
		n += (size_t)snprintf(y + n, sizeof(y) - n, "localCIDRs:\n");
		for (int i = 0; i < CLASS_TABLE_MAX_CIDRS + extra; i++)
			n += (size_t)snprintf(y + n, sizeof(y) - n, "  - 10.%d.%d.0/24\n", i / 256, i % 256);
		assert_true(n < sizeof(y) - 1);
		if (!extra) {
			assert_int_equal(class_table_parse(y, n, &t, err, sizeof(err)), 0);
			assert_int_equal(t.n_sites, CLASS_TABLE_MAX_SITES);
			assert_int_equal(t.n_local_cidrs, CLASS_TABLE_MAX_CIDRS);
		} else {
			assert_int_equal(class_table_parse(y, n, &t, err, sizeof(err)), -EINVAL);
			assert_non_null(strstr(err, "sites: expected at most 256 sites, got 257"));
		}
		class_table_free(&t);
	}
}

static void test_cidr_parse(void **state)
{
	static const char *const bad[] = { "", "/24", "10.0.0.0/", "10.0.0.0/+1",
		"10.0.0.0/ 1", "10.0.0.0/1000", "10.0.0.256/24", "::/129", "x/1",
		"10.0.0.0/24/1", "fe80::1%eth0/64" };
	uint8_t ip[16] = { 0 };
	char a[CIDR_TEXT_LEN];
	struct cidr c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cidr_parse(bad[i], true, &c) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
	assert_int_equal(cidr_parse("10.0.0.0", false, &c), -EINVAL);
	assert_int_equal(cidr_parse("10.0.0.7", true, &c), 0);
	assert_int_equal(c.prefix_len, 128);
	assert_int_equal(cidr_parse("10.1.2.3/8", false, &c), -ERANGE);
	assert_int_equal(cidr_parse("10.1.2.3/8", true, &c), 0);
	cidr_format(&c, a, sizeof(a));
	assert_string_equal(a, "10.0.0.0/8");
	ip[10] = ip[11] = 0xff;
	ip[12] = 10;
	ip[13] = 200;
	assert_true(cidr_contains(&c, ip));
	ip[12] = 11;
	assert_false(cidr_contains(&c, ip));
	assert_int_equal(cidr_parse("2001:db8::/32", false, &c), 0);
	assert_false(cidr_contains(&c, ip));
	assert_int_equal(cidr_parse("2001:db8:0:1::/63", false, &c), -ERANGE);
	/* an IPv6 prefix holding ::ffff:0:0/96 would match every IPv4 address */
	assert_int_equal(cidr_parse("::/0", false, &c), -EDOM);
	assert_int_equal(cidr_parse("::/64", false, &c), -EDOM);
	assert_int_equal(cidr_parse("::fffe:0:0/95", false, &c), -EDOM);
	assert_int_equal(cidr_parse("::/95", false, &c), 0); /* leaves it out */
	assert_false(cidr_contains(&c, ip));
	assert_int_equal(cidr_parse("2000::/3", false, &c), 0);
	assert_false(cidr_contains(&c, ip));
	assert_int_equal(cidr_parse("::ffff:0:0/96", false, &c), 0); /* IPv4, said so */
	assert_true(cidr_contains(&c, ip));
	cidr_from_ip(ip, &c);
	assert_int_equal(c.family, 4);
	cidr_format(&c, a, sizeof(a));
	assert_string_equal(a, "11.200.0.0/32");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_site_classes_and_v6),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_cidr_parse),
	};

	return cmocka_run_group_tests_name("sites_config", tests, NULL, NULL);
}
