/* SPDX-License-Identifier: BSD-2-Clause */
/* test_host_rules.c - systemClass and hostRules of the class table, the
 * effective rules with the built-in ones, and cgroup path checks (cmocka;
 * unprivileged). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "lib/cgroup2.h"
#include "policy/class_table.h"
#include "policy/host_rules.h"

#define CLASSES \
	"classes:\n" \
	"  - {name: critical, dscp: EF, priority: \"1:10\"}\n" \
	"  - {name: normal, priority: \"1:30\"}\n" \
	"  - {name: bulk, dscp: LE, priority: \"1:40\"}\n" \
	"defaultClass: normal\n"

static int parse(const char *yaml, struct class_table *t, char *err)
{
	return class_table_parse(yaml, strlen(yaml), t, err, 512);
}

static void test_issue_example(void **state)
{
	const char *y = CLASSES
		"systemClass: critical\n"
		"hostRules:\n"
		"  - {cgroup: /system.slice/kubelet.service, class: critical}\n"
		"  - {dst: 198.51.100.10/32, port: 6443, protocol: tcp, class: critical}\n"
		"  - {cgroup: /system.slice/backup.service, class: bulk}\n"
		"  - {dst: 2001:db8::/32, class: bulk}\n"
		"  - {dst: 198.51.100.0/24, port: 53, class: normal}\n";
	struct class_table t;
	char err[512], text[128];

	assert_int_equal(parse(y, &t, err), 0);
	assert_int_equal(t.system_class, 0);
	assert_int_equal(t.n_host_rules, 5);
	assert_string_equal(t.host_rules[0].cgroup, "/system.slice/kubelet.service");
	assert_int_equal(t.host_rules[0].class_id, 0);
	assert_null(t.host_rules[1].cgroup);
	assert_int_equal(t.host_rules[1].prefix_len, 128);
	assert_int_equal(t.host_rules[1].port, 6443);
	assert_int_equal(t.host_rules[1].protocol, IPPROTO_TCP);
	assert_int_equal(t.host_rules[1].dst[10], 0xff);
	assert_int_equal(t.host_rules[1].dst[12], 198);
	assert_int_equal(t.host_rules[1].dst[15], 10);
	assert_int_equal(t.host_rules[2].class_id, 2);
	assert_int_equal(t.host_rules[3].prefix_len, 32);
	assert_int_equal(t.host_rules[3].port, 0);
	assert_int_equal(t.host_rules[3].protocol, 0);
	host_rule_text(&t.host_rules[1], text, sizeof(text));
	assert_string_equal(text, "dst 198.51.100.10/32 tcp/6443");
	host_rule_text(&t.host_rules[3], text, sizeof(text));
	assert_string_equal(text, "dst 2001:db8::/32");
	host_rule_text(&t.host_rules[4], text, sizeof(text));
	assert_string_equal(text, "dst 198.51.100.0/24 tcp+udp/53");
	host_rule_text(&t.host_rules[0], text, sizeof(text));
	assert_string_equal(text, "cgroup /system.slice/kubelet.service");
	class_table_free(&t);
}

static void test_system_class(void **state)
{
	struct class_table t;
	char err[512];

	assert_int_equal(parse(CLASSES, &t, err), 0);
	assert_int_equal(t.system_class, 0);   /* default: the highest class */
	assert_int_equal(t.n_host_rules, 0);
	class_table_free(&t);
	assert_int_equal(parse(CLASSES "systemClass: none\nhostRules: []\n", &t, err), 0);
	assert_int_equal(t.system_class, -1);
	assert_int_equal(t.n_host_rules, 0);
	class_table_free(&t);
	assert_int_equal(parse(CLASSES "systemClass: bulk\n", &t, err), 0);
	assert_int_equal(t.system_class, 2);
	class_table_free(&t);
	assert_int_equal(class_table_defaults(&t), 0);
	assert_int_equal(t.system_class, 0);
	class_table_free(&t);
}

static void test_errors(void **state)
{
	static const struct { const char *yaml, *err; } cases[] = {
		{ "systemClass: gold\n", "systemClass: unknown class \"gold\" (expected "
		  "one of the names under classes, or none) (line 6)" },
		{ "systemClass: [a]\n", "systemClass: expected a class name or none, got a list (line 6)" },
		{ "hostRules: {a: b}\n", "hostRules: expected a list of rules, got a mapping (line 6)" },
		{ "hostRules:\n  - {class: bulk}\n", "hostRules[0]: expected exactly one of cgroup and dst, got neither (line 7)" },
		{ "hostRules:\n  - {cgroup: /a, dst: 198.18.0.0/16, class: bulk}\n",
		  "hostRules[0]: expected exactly one of cgroup and dst, got both (line 7)" },
		{ "hostRules:\n  - {cgroup: system.slice, class: bulk}\n",
		  "hostRules[0].cgroup: expected a path from the cgroup v2 root starting "
		  "with /, such as /system.slice/kubelet.service, got \"system.slice\" (line 7)" },
		{ "hostRules:\n  - {cgroup: /a/../b, class: bulk}\n",
		  "hostRules[0].cgroup: expected a normalised path (no empty, \".\" or "
		  "\"..\" component, no trailing /), got \"/a/../b\" (line 7)" },
		{ "hostRules:\n  - {cgroup: /a/, class: bulk}\n", "no trailing /" },
		{ "hostRules:\n  - {cgroup: /a//b, class: bulk}\n", "no empty" },
		{ "hostRules:\n  - {cgroup: \"/a b\", class: bulk}\n", "without spaces, got byte 0x20" },
		{ "hostRules:\n  - {cgroup: /a, port: 80, class: bulk}\n",
		  "hostRules[0]: port and protocol go with dst, not with cgroup (line 7)" },
		{ "hostRules:\n  - {cgroup: /a, class: gold}\n",
		  "hostRules[0].class: unknown class \"gold\" (expected one of the names under classes) (line 7)" },
		{ "hostRules:\n  - {cgroup: /a}\n", "hostRules[0].class: required (the name of a class) (line 7)" },
		{ "hostRules:\n  - {cgroup: /a, class: bulk, prio: 1}\n",
		  "hostRules[0]: unknown key \"prio\" (expected cgroup, dst, port, protocol, class) (line 7)" },
		{ "hostRules:\n  - {dst: 198.51.100.10/24, class: bulk}\n",
		  "hostRules[0].dst: host bits set after the /24 prefix in \"198.51.100.10/24\"; "
		  "expected the network address (line 7)" },
		{ "hostRules:\n  - {dst: 198.51.100.0/33, class: bulk}\n",
		  "hostRules[0].dst: expected a prefix length 0..32 after /, got \"198.51.100.0/33\" (line 7)" },
		{ "hostRules:\n  - {dst: 198.51.100.0/, class: bulk}\n", "expected a prefix length 0..32" },
		{ "hostRules:\n  - {dst: 198.51.100.0/+8, class: bulk}\n", "expected a prefix length 0..32" },
		{ "hostRules:\n  - {dst: kube-apiserver, class: bulk}\n",
		  "hostRules[0].dst: expected an IPv4 or IPv6 CIDR such as 198.51.100.10/32 "
		  "or 2001:db8::/32, got \"kube-apiserver\" (line 7)" },
		{ "hostRules:\n  - {dst: 2001:db8::/129, class: bulk}\n", "expected a prefix length 0..128" },
		{ "hostRules:\n  - {dst: 198.18.0.1, port: 0, class: bulk}\n",
		  "hostRules[0].port: expected a port 1..65535, got \"0\" (line 7)" },
		{ "hostRules:\n  - {dst: 198.18.0.1, port: 65536, class: bulk}\n", "expected a port 1..65535" },
		{ "hostRules:\n  - {dst: 198.18.0.1, port: -5, class: bulk}\n", "expected a port 1..65535" },
		{ "hostRules:\n  - {dst: 198.18.0.1, port: 80, protocol: icmp, class: bulk}\n",
		  "hostRules[0].protocol: expected tcp, udp or sctp, got \"icmp\" (line 7)" },
		{ "hostRules:\n  - [a]\n", "hostRules[0]: expected a mapping with cgroup or dst, and class, got a list (line 7)" },
	};
	char yaml[1024], err[512];
	struct class_table t;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(yaml, sizeof(yaml), "%s%s", CLASSES, cases[i].yaml);
		memset(err, 0, sizeof(err));
		assert_int_equal(parse(yaml, &t, err), -EINVAL);
		if (!strstr(err, cases[i].err))
			fail_msg("case %zu: got \"%s\", expected \"%s\"", i, err,
				 cases[i].err);
		assert_int_equal(t.n_host_rules, 0);
		assert_null(t.host_rules);
	}
}

static void test_too_many(void **state)
{
	static char yaml[64 << 10];
	struct class_table t;
	char err[512];
	size_t n = (size_t)snprintf(yaml, sizeof(yaml), "%shostRules:\n", CLASSES);

	for (int i = 0; i < TCPRIO_MAX_HOST_RULES; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
				      "  - {cgroup: /r%d, class: bulk}\n", i);
	assert_int_equal(parse(yaml, &t, err), -EINVAL);
	assert_non_null(strstr(err, "hostRules: expected at most 224 rules, got 256"));
}

static void test_effective(void **state)
{
	const char *y = CLASSES "systemClass: critical\n"
		"hostRules:\n  - {cgroup: /system.slice/backup.service, class: bulk}\n";
	struct host_endpoint api[2] = { { .port = 6443 }, { .port = 443 } };
	struct host_rule_eff out[TCPRIO_MAX_HOST_RULES];
	struct class_table t;
	char err[512];
	int n;

	api[0].ip[10] = api[0].ip[11] = 0xff;
	api[0].ip[12] = 198; api[0].ip[13] = 18; api[0].ip[15] = 1;
	assert_int_equal(parse(y, &t, err), 0);
	n = host_rules_effective(&t, api, 2, out, TCPRIO_MAX_HOST_RULES);
	assert_int_equal(n, 1 + 5 + 2);
	assert_string_equal(out[0].r.cgroup, "/system.slice/backup.service");
	assert_int_equal(out[0].builtin, 0);
	assert_string_equal(out[1].r.cgroup, "/system.slice/kubelet.service");
	assert_int_equal(out[1].r.class_id, 0);
	assert_int_equal(out[1].builtin, 1);
	assert_string_equal(out[5].r.cgroup, "/system.slice/edgecore.service");
	assert_null(out[6].r.cgroup);
	assert_int_equal(out[6].r.port, 6443);
	assert_int_equal(out[6].r.protocol, IPPROTO_TCP);
	assert_int_equal(out[6].r.prefix_len, 128);
	assert_int_equal(host_rules_effective(&t, api, 2, out, 5), -E2BIG);
	t.system_class = -1;
	assert_int_equal(host_rules_effective(&t, api, 2, out, TCPRIO_MAX_HOST_RULES), 1);
	class_table_free(&t);
}

static void test_cgroup_paths(void **state)
{
	char err[256];

	assert_int_equal(cgroup2_path_check("/", err, sizeof(err)), 0);
	assert_int_equal(cgroup2_path_check("/system.slice/kubelet.service", err, sizeof(err)), 0);
	assert_int_equal(cgroup2_path_check("/kubepods/burstable/pod1-2", err, sizeof(err)), 0);
	assert_int_equal(cgroup2_path_check("", err, sizeof(err)), -EINVAL);
	assert_int_equal(cgroup2_path_check("/.", err, sizeof(err)), -EINVAL);
	assert_int_equal(cgroup2_path_check("/a/..", err, sizeof(err)), -EINVAL);
	assert_int_equal(cgroup2_path_check("/a\tb", err, sizeof(err)), -EINVAL);
	assert_int_equal(cgroup2_level("/"), 0);
	assert_int_equal(cgroup2_level("/a"), 1);
	assert_int_equal(cgroup2_level("/a/b.slice/c"), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_example),
		cmocka_unit_test(test_system_class),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_effective),
		cmocka_unit_test(test_cgroup_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
