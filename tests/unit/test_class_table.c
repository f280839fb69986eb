/* SPDX-License-Identifier: BSD-2-Clause */
/* test_class_table.c - class table defaults, value parsers and the YAML
 * parser's validation (cmocka; unprivileged). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "policy/class_table.h"

static void test_defaults(void **state)
{
	struct class_table t;

	assert_int_equal(class_table_defaults(&t), 0);
	assert_int_equal(t.n_classes, 4);
	assert_string_equal(t.classes[0].name, "critical");
	assert_int_equal(t.classes[0].dscp, 46);
	assert_int_equal(t.classes[0].priority, 0x00010010);
	assert_string_equal(t.classes[1].name, "high");
	assert_int_equal(t.classes[1].dscp, 34);
	assert_int_equal(t.classes[1].priority, 0x00010020);
	assert_string_equal(t.classes[2].name, "normal");
	assert_int_equal(t.classes[2].dscp, 0);
	assert_int_equal(t.classes[2].priority, 0x00010030);
	assert_string_equal(t.classes[3].name, "bulk");
	assert_int_equal(t.classes[3].dscp, 1);
	assert_int_equal(t.classes[3].priority, 0x00010040);
	assert_int_equal(t.default_class, 2);
	assert_true(t.trust_dscp);
	assert_true(t.rewrite_dscp);
	assert_int_equal(t.n_rules, 0);
	assert_int_equal(class_table_find(&t, "bulk"), 3);
	assert_int_equal(class_table_find(&t, "Bulk"), -1);
	assert_int_equal(class_table_find(&t, "nosuch"), -1);
	class_table_free(&t);
}

static void test_parse_priority(void **state)
{
	static const char *const bad[] = { "", "1:", ":1", "0:10", "1:10000",
		"10000:1", "g:1", "-1", "1:10x", " 1:10", "1:10 ", "4294967296",
		"1.5", "0x10", "1:-1", "1::2" };
	uint32_t v;

	assert_int_equal(parse_priority("1:10", &v), 0);
	assert_int_equal(v, 0x00010010);
	assert_int_equal(parse_priority("ffff:ffff", &v), 0);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(parse_priority("A:b", &v), 0);
	assert_int_equal(v, 0x000a000b);
	assert_int_equal(parse_priority("1:0", &v), 0);
	assert_int_equal(v, 0x00010000);
	assert_int_equal(parse_priority("5", &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(parse_priority("4294967295", &v), 0);
	assert_int_equal(v, 0xffffffff);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_priority(bad[i], &v) != -EINVAL)
			fail_msg("parse_priority(\"%s\") accepted", bad[i]);
	}
}

static void test_parse_dscp(void **state)
{
	static const struct { const char *s; int v; } good[] = {
		{ "0", 0 }, { "63", 63 }, { "46", 46 }, { "EF", 46 }, { "ef", 46 },
		{ "AF41", 34 }, { "af11", 10 }, { "AF43", 38 }, { "AF21", 18 },
		{ "CS1", 8 }, { "cs7", 56 }, { "CS0", 0 }, { "LE", 1 }, { "VA", 44 },
		{ "DF", 0 }, { "BE", 0 },
	};
	static const char *const bad[] = { "", "64", "99", "-1", "AF44", "AF14",
		"CS8", "E F", "0x2e", "46 ", "EFX" };
	uint8_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (parse_dscp(good[i].s, &v) != 0 || v != good[i].v)
			fail_msg("parse_dscp(\"%s\"): expected %d", good[i].s, good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_dscp(bad[i], &v) != -EINVAL)
			fail_msg("parse_dscp(\"%s\") accepted", bad[i]);
	}
}

static void test_parse_rate(void **state)
{
	static const struct { const char *s; uint64_t v; } good[] = {
		{ "20mbit", 20000000ULL }, { "1gbit", 1000000000ULL },
		{ "800kbit", 800000ULL }, { "12500000", 12500000ULL },
		{ "1.5gbit", 1500000000ULL }, { "1mbps", 8000000ULL },
		{ "1kibit", 1024ULL }, { "2Mibit", 2097152ULL }, { "100bit", 100ULL },
		{ "10GBit", 10000000000ULL }, { "1tbit", 1000000000000ULL },
	};
	static const char *const bad[] = { "", "0", "0mbit", "mbit", "10 mbit",
		"10xbit", "-5", "+5", "1e30tbit", "nan", "inf", ".5mbit", "5mbit ",
		"0.1" };
	uint64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (parse_rate_bps(good[i].s, &v) != 0 || v != good[i].v)
			fail_msg("parse_rate_bps(\"%s\"): expected %llu", good[i].s,
				 (unsigned long long)good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_rate_bps(bad[i], &v) != -EINVAL)
			fail_msg("parse_rate_bps(\"%s\") accepted", bad[i]);
	}
}

#define ONE_CLASS_TRUST "classes:\n  - name: a\n    priority: \"1:10\"\ndefaultClass: a\n"

static const char full_yaml[] =
	"# tcprio classes\n"
	"classes:\n"
	"  - name: critical\n"
	"    dscp: EF\n"
	"    priority: \"1:10\"\n"
	"    rate: 20mbit\n"
	"    ceil: 50mbit\n"
	"  - name: high\n"
	"    dscp: 34\n"
	"    priority: \"1:20\"\n"
	"  - name: normal\n"
	"    priority: \"1:30\"\n"
	"  - name: bulk\n"
	"    dscp: le\n"
	"    priority: 3\n"
	"    ceil: 1gbit\n"
	"defaultClass: normal\n"
	"trustDscp: false\n"
	"rewriteDscp: true\n"
	"enabled: false\n"
	"labelRules:\n"
	"  - matchLabels: {app: postgres}\n"
	"    class: critical\n"
	"  - matchLabels:\n"
	"      tier: batch\n"
	"      team: data\n"
	"    class: bulk\n";

/* sanitizeUnknown defaults to true; trustDscpFrom keeps names and CIDRs
 * (IPv4 mapped into IPv6, prefix + 96; a bare address is a host route). */
static void test_trust_keys(void **state)
{
	static const char y[] = ONE_CLASS_TRUST
		"sanitizeUnknown: false\n"
		"trustDscpFrom: [eth1, 192.168.10.0/24, \"2001:db8:1::/48\", 198.18.0.9, 0.0.0.0/0]\n";
	static const uint8_t v4net[16] = { [10] = 0xff, [11] = 0xff, [12] = 192, [13] = 168, [14] = 10 };
	static const uint8_t v6net[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1 };
	struct class_table t;
	char err[512];

	assert_int_equal(class_table_parse(ONE_CLASS_TRUST, strlen(ONE_CLASS_TRUST), &t, err,
					   sizeof(err)), 0);
	assert_true(t.sanitize_unknown);
	assert_int_equal(t.n_trust_from, 0);
	class_table_free(&t);
	assert_int_equal(class_table_defaults(&t), 0);
	assert_true(t.sanitize_unknown);
	assert_int_equal(class_table_parse(y, strlen(y), &t, err, sizeof(err)), 0);
	assert_false(t.sanitize_unknown);
	assert_int_equal(t.n_trust_from, 5);
	assert_false(t.trust_from[0].is_cidr);
	assert_string_equal(t.trust_from[0].ifname, "eth1");
	assert_true(t.trust_from[1].is_cidr);
	assert_int_equal(t.trust_from[1].prefixlen, 96 + 24);
	assert_memory_equal(t.trust_from[1].addr, v4net, 16);
	assert_true(t.trust_from[2].is_cidr);
	assert_int_equal(t.trust_from[2].prefixlen, 48);
	assert_memory_equal(t.trust_from[2].addr, v6net, 16);
	assert_int_equal(t.trust_from[3].prefixlen, 128);
	assert_int_equal(t.trust_from[4].prefixlen, 96);
	class_table_free(&t);
}

static void test_parse_full(void **state)
{
	struct class_table t;
	char err[512];

	assert_int_equal(class_table_parse(full_yaml, strlen(full_yaml), &t, err,
					   sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(t.n_classes, 4);
	assert_string_equal(t.classes[0].name, "critical");
	assert_int_equal(t.classes[0].dscp, 46);
	assert_int_equal(t.classes[0].priority, 0x00010010);
	assert_int_equal(t.classes[0].rate_bps, 20000000);
	assert_int_equal(t.classes[0].ceil_bps, 50000000);
	assert_int_equal(t.classes[1].dscp, 34);
	assert_int_equal(t.classes[1].rate_bps, 0);
	assert_int_equal(t.classes[2].dscp, 0);
	assert_int_equal(t.classes[2].priority, 0x00010030);
	assert_int_equal(t.classes[3].dscp, 1);
	assert_int_equal(t.classes[3].priority, 3);
	assert_int_equal(t.classes[3].ceil_bps, 1000000000);
	assert_int_equal(t.default_class, 2);
	assert_false(t.trust_dscp);
	assert_true(t.rewrite_dscp);
	assert_false(t.enabled);
	assert_int_equal(t.n_rules, 2);
	assert_int_equal(t.rules[0].n_labels, 1);
	assert_string_equal(t.rules[0].keys[0], "app");
	assert_string_equal(t.rules[0].values[0], "postgres");
	assert_int_equal(t.rules[0].class_id, 0);
	assert_int_equal(t.rules[1].n_labels, 2);
	assert_string_equal(t.rules[1].keys[1], "team");
	assert_string_equal(t.rules[1].values[1], "data");
	assert_int_equal(t.rules[1].class_id, 3);
	class_table_free(&t);
	assert_null(t.rules);
	assert_int_equal(t.n_rules, 0);
}

/* A minimal valid document with one class, for the error cases to vary. */
#define ONE_CLASS "classes:\n  - name: a\n    priority: \"1:10\"\ndefaultClass: a\n"
#define ONE_CLASS_NO_DEFAULT "classes:\n  - name: a\n    priority: \"1:10\"\n"

static const struct bad_case {
	const char *yaml;
	const char *expect; /* substring of the error */
} bad_cases[] = {
	{ "", "(document): empty" },
	{ "# only a comment\n", "(document): empty" },
	{ "- a\n- b\n", "(document): expected a mapping" },
	{ "just text\n", "(document): expected a mapping" },
	{ ONE_CLASS "colour: red\n", "(document): unknown key \"colour\"" },
	{ "classes:\n  - name: a\n    priority: \"1:10\"\n    prio: 3\ndefaultClass: a\n",
	  "classes[0]: unknown key \"prio\"" },
	{ "classes:\n  - name: a\n    priority: \"1:10\"\n  - name: a\n    priority: \"1:20\"\n"
	  "defaultClass: a\n", "classes[1].name: duplicate class name \"a\"" },
	{ "classes:\n  - {name: a, priority: \"1:4\"}\n  - {name: b, priority: \"1:2\"}\n"
	  "  - {name: c, dscp: 99, priority: \"1:3\"}\ndefaultClass: a\n",
	  "classes[2].dscp: expected an integer 0..63 or a DSCP name" },
	{ "classes:\n  - {name: a, dscp: 99, priority: \"1:3\"}\ndefaultClass: a\n",
	  "got \"99\"" },
	{ "classes:\n  - {name: a, dscp: -1, priority: \"1:3\"}\ndefaultClass: a\n",
	  "classes[0].dscp: expected an integer 0..63" },
	{ "classes:\n  - {name: a, dscp: [1], priority: \"1:3\"}\ndefaultClass: a\n",
	  "classes[0].dscp: expected an integer 0..63 or a DSCP name, got a list" },
	{ "classes:\n  - {name: a, priority: \"1:x\"}\ndefaultClass: a\n",
	  "classes[0].priority: expected a tc classid" },
	{ "classes:\n  - {name: a}\ndefaultClass: a\n", "classes[0].priority: required" },
	{ "classes:\n  - {priority: 1}\ndefaultClass: a\n", "classes[0].name: required" },
	{ "classes:\n  - {name: A_b, priority: 1}\ndefaultClass: A_b\n",
	  "classes[0].name: expected 1..15 characters" },
	{ "classes:\n  - {name: abcdefghijklmnop, priority: 1}\ndefaultClass: a\n",
	  "classes[0].name: expected 1..15 characters" },
	{ "classes:\n  - {name: a, priority: 1, rate: fast}\ndefaultClass: a\n",
	  "classes[0].rate: expected a positive rate" },
	{ "classes:\n  - {name: a, priority: 1, ceil: 0}\ndefaultClass: a\n",
	  "classes[0].ceil: expected a positive rate" },
	{ "classes:\n  - {name: a, priority: 1, rate: 2mbit, ceil: 1mbit}\ndefaultClass: a\n",
	  "classes[0].ceil: ceiling 1000000 bit/s is below rate 2000000 bit/s" },
	{ "classes:\n  - a\ndefaultClass: a\n", "classes[0]: expected a mapping" },
	{ "classes: {a: 1}\ndefaultClass: a\n", "classes: expected a list" },
	{ "classes: []\ndefaultClass: a\n", "classes: expected at least one class" },
	{ "defaultClass: a\n", "classes: required" },
	{ "classes:\n  - {name: a, priority: 1}\n", "defaultClass: required" },
	{ "classes:\n  - {name: a, priority: 1}\ndefaultClass: b\n",
	  "defaultClass: unknown class \"b\"" },
	{ ONE_CLASS "trustDscp: maybe\n", "trustDscp: expected true or false, got \"maybe\"" },
	{ ONE_CLASS "sanitizeUnknown: 2\n", "sanitizeUnknown: expected true or false, got \"2\"" },
	{ ONE_CLASS "trustDscpFrom: eth1\n", "trustDscpFrom: expected a list of interface names and CIDRs, got a scalar" },
	{ ONE_CLASS "trustDscpFrom: [192.168.10.1/24]\n",
	  "trustDscpFrom[0]: \"192.168.10.1/24\" has bits set after the prefix length" },
	{ ONE_CLASS "trustDscpFrom: [eth1, 10.0.0.0/33]\n",
	  "trustDscpFrom[1]: expected a CIDR such as 192.168.10.0/24 or 2001:db8::/32 (prefix length 0..32 or 0..128), got \"10.0.0.0/33\"" },
	{ ONE_CLASS "trustDscpFrom: [\"2001:db8::/129\"]\n",
	  "trustDscpFrom[0]: expected a CIDR such as" },
	{ ONE_CLASS "trustDscpFrom: [10.0.0.0/]\n", "trustDscpFrom[0]: expected a CIDR such as" },
	{ ONE_CLASS "trustDscpFrom: [a-very-long-interface-name]\n",
	  "trustDscpFrom[0]: expected an interface name (1..15 characters" },
	{ ONE_CLASS "trustDscpFrom: [eth1/2]\n", "trustDscpFrom[0]: expected a CIDR such as" },
	{ ONE_CLASS "trustDscpFrom: [\"veth*\"]\n",
	  "trustDscpFrom[0]: expected an interface name (1..15 characters, no '/', ':', blanks "
	  "or glob characters '*' '?': names are matched exactly)" },
	{ ONE_CLASS "trustDscpFrom: [{a: b}]\n", "trustDscpFrom[0]: expected an interface name or a CIDR, got a mapping" },
	{ ONE_CLASS "enabled: sometimes\n", "enabled: expected true or false, got \"sometimes\"" },
	{ ONE_CLASS "rewriteDscp: [1]\n", "rewriteDscp: expected true or false, got a list" },
	{ ONE_CLASS "labelRules:\n  - matchLabels: {app: x}\n    class: nosuch\n",
	  "labelRules[0].class: unknown class \"nosuch\"" },
	{ ONE_CLASS "labelRules:\n  - matchLabels: {}\n    class: a\n",
	  "labelRules[0].matchLabels: expected at least one label" },
	{ ONE_CLASS "labelRules:\n  - class: a\n", "labelRules[0].matchLabels: required" },
	{ ONE_CLASS "labelRules:\n  - matchLabels: {app: x}\n", "labelRules[0].class: required" },
	{ ONE_CLASS "labelRules:\n  - matchLabels: {app: x}\n    class: a\n    extra: 1\n",
	  "labelRules[0]: unknown key \"extra\"" },
	{ ONE_CLASS "labelRules:\n  - matchLabels: {app: [x]}\n    class: a\n",
	  "labelRules[0].matchLabels.app: expected a label value" },
	{ ONE_CLASS "labelRules: {a: 1}\n", "labelRules: expected a list" },
	{ ONE_CLASS "defaultClass: a\n", "(document): duplicate key \"defaultClass\"" },
	{ "classes: [\n", "YAML syntax error" },
	{ ONE_CLASS "---\n" ONE_CLASS, "expected one YAML document" },
	/* priorities: unique, and a leaf HTB class (minor 2..ffff) */
	{ "classes:\n  - {name: critical, priority: \"1:10\"}\n  - {name: b, priority: \"1:10\"}\n"
	  "defaultClass: b\n", "classes[1].priority: 1:10 is already used by class critical" },
	{ "classes:\n  - {name: a, priority: \"1:10\"}\n  - {name: b, priority: 65552}\n"
	  "defaultClass: b\n", "classes[1].priority: 1:10 is already used by class a" },
	{ "classes:\n  - {name: a, priority: 7}\n  - {name: b, priority: 7}\n"
	  "defaultClass: b\n", "classes[1].priority: 7 is already used by class a" },
	{ "classes:\n  - {name: a, priority: \"1:0\"}\ndefaultClass: a\n",
	  "classes[0].priority: expected a minor of 2..ffff: 1:0 is the qdisc handle" },
	{ "classes:\n  - {name: a, priority: \"1:1\"}\ndefaultClass: a\n",
	  "classes[0].priority: expected a minor of 2..ffff: 1:1 is the HTB parent class" },
	{ "classes:\n  - {name: a, priority: \"a:1\"}\ndefaultClass: a\n",
	  "a:1 is the HTB parent class, not a leaf class (got \"a:1\") (line 2)" },
	{ "classes:\n  - {name: a, priority: 65537}\ndefaultClass: a\n",
	  "1:1 is the HTB parent class" },
	/* two classes with one DSCP: the uplink would map it to the first */
	{ "classes:\n  - {name: critical, dscp: EF, priority: \"1:10\"}\n"
	  "  - {name: voice, dscp: 46, priority: \"1:20\"}\ndefaultClass: voice\n",
	  "classes[1].dscp: DSCP 46 is already class critical's" },
	{ "classes:\n  - {name: a, priority: \"1:10\"}\n  - {name: b, priority: \"1:20\"}\n"
	  "defaultClass: a\n", "classes[1].dscp: DSCP 0 is already class a's (a missing dscp is 0)" },
	/* a NUL in any string ("\0" escape) would silently cut it */
	{ "classes:\n  - {name: \"normal\\0-evil\", priority: \"1:10\"}\ndefaultClass: normal\n",
	  "a string at line 2 contains a NUL character" },
	{ ONE_CLASS_NO_DEFAULT "defaultClass: \"a\\0x\"\n", "a string at line 4 contains a NUL character" },
	{ ONE_CLASS "labelRules:\n  - matchLabels: {\"app\\0\": x}\n    class: a\n",
	  "a string at line 6 contains a NUL character" },
	{ ONE_CLASS "labelRules:\n  - matchLabels: {app: \"pg\\0x\"}\n    class: a\n",
	  "a string at line 6 contains a NUL character" },
	{ ONE_CLASS "labelRules:\n  - matchLabels: {app: x}\n    class: \"a\\0b\"\n",
	  "a string at line 7 contains a NUL character" },
	/* nesting */
	{ "classes: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	  "(document): lists and mappings nested deeper than 32 levels at line 1" },
};

static void test_parse_errors(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct class_table t;
		char err[512];
		int ret;

		ret = class_table_parse(bad_cases[i].yaml, strlen(bad_cases[i].yaml),
					&t, err, sizeof(err));
		if (ret != -EINVAL)
			fail_msg("case %zu: expected -EINVAL, got %d", i, ret);
		if (!strstr(err, bad_cases[i].expect))
			fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err,
				 bad_cases[i].expect);
		if (t.n_classes != 0 || t.n_rules != 0 || t.rules)
			fail_msg("case %zu: table not left empty", i);
		class_table_free(&t);
	}
}

static void test_dscp_error_message_exact(void **state)
{
	static const char y[] =
		"classes:\n"
		"  - {name: a, priority: \"1:4\"}\n"
		"  - {name: b, priority: \"1:2\"}\n"
		"  - name: c\n"
		"    dscp: \"99\"\n"
		"    priority: \"1:3\"\n"
		"defaultClass: a\n";
	struct class_table t;
	char err[512];

	assert_int_equal(class_table_parse(y, strlen(y), &t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "classes[2].dscp: expected an integer 0..63 or a "
			    "DSCP name (EF, AF11..AF43, CS0..CS7, LE, VA, DF), got "
			    "\"99\" (line 5)");
}

static void test_too_many_classes(void **state)
{
	char y[4096];
	size_t used = 0;
	struct class_table t;
	char err[512];

	used += snprintf(y + used, sizeof(y) - used, "classes:\n");
	for (int i = 0; i < 17; i++)
		used += snprintf(y + used, sizeof(y) - used,
				 "  - {name: c%d, priority: %d}\n", i, i + 1);
	snprintf(y + used, sizeof(y) - used, "defaultClass: c0\n");
	assert_int_equal(class_table_parse(y, strlen(y), &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "classes: expected at most 16 classes, got 17"));

	/* Exactly 16 is fine. */
	used = snprintf(y, sizeof(y), "classes:\n");
	for (int i = 0; i < 16; i++)
		used += snprintf(y + used, sizeof(y) - used,
				 "  - {name: c%d, dscp: %d, priority: %d}\n", i, i, i + 1);
	snprintf(y + used, sizeof(y) - used, "defaultClass: c15\n");
	assert_int_equal(class_table_parse(y, strlen(y), &t, err, sizeof(err)), 0);
	assert_int_equal(t.n_classes, 16);
	assert_int_equal(t.default_class, 15);
	class_table_free(&t);
}

/* Priorities with major 0 (plain decimal) and minors 2.. are fine. */
static void test_priority_ok(void **state)
{
	static const char y[] =
		"classes:\n  - {name: a, priority: 0}\n  - {name: b, dscp: 1, priority: 1}\n"
		"  - {name: c, dscp: 2, priority: \"1:2\"}\n  - {name: d, dscp: 3, priority: \"2:ffff\"}\n"
		"defaultClass: a\n";
	struct class_table t;
	char err[512];

	assert_int_equal(class_table_parse(y, strlen(y), &t, err, sizeof(err)), 0);
	assert_int_equal(t.classes[3].priority, 0x2ffff);
	class_table_free(&t);
}

/* 50,000 levels of "[" are refused at level 33 quickly (libyaml's document
 * loader would take quadratic time); 32 levels are still parsed. */
static void test_deep_nesting(void **state)
{
	size_t depth = 50000, n = 0;
	char *y = malloc(2 * depth + 32), err[512];
	struct class_table t;
	struct timespec t0, t1;
	double ms;

	assert_non_null(y);
	n += sprintf(y, "\n\na: ");
	memset(y + n, '[', depth);
	memset(y + n + depth, ']', depth);
	y[n + 2 * depth] = '\n';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(class_table_parse(y, n + 2 * depth + 1, &t, err, sizeof(err)), -EINVAL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_string_equal(err, "(document): lists and mappings nested deeper than 32 "
			    "levels at line 3; expected a class table (4 levels)");
	if (ms > 200)
		fail_msg("50,000 levels took %.0f ms", ms);

	/* 31 list levels + the root mapping = 32: past the depth check,
	 * rejected by the schema instead */
	n = (size_t)sprintf(y, "a: ");
	memset(y + n, '[', 31);
	memset(y + n + 31, ']', 31);
	assert_int_equal(class_table_parse(y, n + 62, &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown key \"a\""));
	free(y);
}

/* A file over 256 KiB is refused without reading it all (also /dev/zero);
 * messages do not repeat the path (callers print it). */
static void test_load_file_limits(void **state)
{
	char path[] = "/tmp/tcprio-test-class-table-XXXXXX";
	struct class_table t;
	char err[512];
	size_t big = (256u << 10) + 1;
	char *y = malloc(big);
	int fd;

	assert_non_null(y);
	assert_int_equal(class_table_load_file("/dev/zero", &t, err, sizeof(err)), -EFBIG);
	assert_string_equal(err, "file is larger than 256 KiB; a class table is a few KiB");
	assert_int_equal(t.n_classes, 0);

	/* exactly 256 KiB: read and parsed (a comment pads the valid table) */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	memset(y, ' ', big);
	memcpy(y, full_yaml, strlen(full_yaml));
	y[strlen(full_yaml)] = '#';
	y[big - 2] = '\n';
	assert_int_equal(write(fd, y, big - 1), (ssize_t)(big - 1));
	close(fd);
	assert_int_equal(class_table_load_file(path, &t, err, sizeof(err)), 0);
	assert_int_equal(t.n_classes, 4);
	class_table_free(&t);

	/* one byte more: refused */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	y[big - 1] = '\n';
	assert_int_equal(write(fd, y, big), (ssize_t)big);
	close(fd);
	assert_int_equal(class_table_load_file(path, &t, err, sizeof(err)), -EFBIG);
	assert_string_equal(err, "file is larger than 256 KiB; a class table is a few KiB");
	unlink(path);
	free(y);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/tcprio-test-class-table-XXXXXX";
	struct class_table t;
	char err[512];
	int fd;

	assert_int_equal(class_table_load_file("/nonexistent/tcprio.yaml", &t, err,
					       sizeof(err)), -ENOENT);
	assert_string_equal(err, "cannot open: No such file or directory");

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, full_yaml, strlen(full_yaml)), (ssize_t)strlen(full_yaml));
	close(fd);
	assert_int_equal(class_table_load_file(path, &t, err, sizeof(err)), 0);
	assert_int_equal(t.n_classes, 4);
	assert_int_equal(t.n_rules, 2);
	class_table_free(&t);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "classes: 3\n", 11), 11);
	close(fd);
	assert_int_equal(class_table_load_file(path, &t, err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, path)); /* the caller prints the path once */
	assert_string_equal(err, "classes: expected a list of classes, got a scalar (line 1)");
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_parse_priority),
		cmocka_unit_test(test_parse_dscp),
		cmocka_unit_test(test_parse_rate),
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_trust_keys),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_dscp_error_message_exact),
		cmocka_unit_test(test_too_many_classes),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_priority_ok),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_load_file_limits),
	};

	return cmocka_run_group_tests_name("class_table", tests, NULL, NULL);
}
