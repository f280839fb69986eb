/* SPDX-License-Identifier: BSD-2-Clause */
/* test_policy.c - class and port-class decisions, every kind of bad
 * annotation (cmocka; unprivileged). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy/policy.h"
#include "lib/utf8.h"

static const char table_yaml[] =
	"classes:\n"
	"  - {name: critical, dscp: EF, priority: \"1:10\"}\n"
	"  - {name: high, dscp: AF41, priority: \"1:20\"}\n"
	"  - {name: normal, priority: \"1:30\"}\n"
	"  - {name: bulk, dscp: LE, priority: \"1:40\"}\n"
	"defaultClass: normal\n"
	"labelRules:\n"
	"  - matchLabels: {app: postgres}\n"
	"    class: critical\n"
	"  - matchLabels: {app: postgres, tier: replica}\n"
	"    class: high\n"
	"  - matchLabels: {tier: batch}\n"
	"    class: bulk\n";

static struct class_table table;

static int setup(void **state)
{
	char err[256];

	if (class_table_parse(table_yaml, strlen(table_yaml), &table, err, sizeof(err))) {
		fprintf(stderr, "# %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	class_table_free(&table);
	return 0;
}

/* A running pod ns/name with one IP. */
static void make_pod(struct pod *p, const char *cls, const char *ports)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->uid, "uid-1");
	strcpy(p->namespace_, "shop");
	strcpy(p->name, "db-0");
	assert_int_equal(ip_from_string("198.18.0.10", &p->ips[0]), 0);
	p->n_ips = 1;
	p->class_annotation = cls ? strdup(cls) : NULL;
	p->ports_annotation = ports ? strdup(ports) : NULL;
}

static void add_label(struct pod *p, const char *k, const char *v)
{
	assert_int_equal(pod_add_label(p, k, v), 0);
}

static void test_default_class(void **state)
{
	struct pod p;
	struct pod_policy pol;

	make_pod(&p, NULL, NULL);
	policy_decide(&table, &p, &pol);
	assert_true(pol.wants_entry);
	assert_int_equal(pol.class_id, 2);
	assert_int_equal(pol.source, TCPRIO_SRC_DEFAULT);
	assert_int_equal(pol.n_ports, 0);
	assert_string_equal(pol.warning, "");
	pod_free(&p);
}

static void test_class_annotation(void **state)
{
	struct pod p;
	struct pod_policy pol;

	make_pod(&p, "bulk", NULL);
	add_label(&p, "app", "postgres"); /* the annotation beats label rules */
	policy_decide(&table, &p, &pol);
	assert_true(pol.wants_entry);
	assert_int_equal(pol.class_id, 3);
	assert_int_equal(pol.source, TCPRIO_SRC_ANNOTATION);
	assert_string_equal(pol.warning, "");
	pod_free(&p);
}

static void test_label_rules(void **state)
{
	struct pod p;
	struct pod_policy pol;

	/* First match wins: app=postgres matches rule 0 before rule 1. */
	make_pod(&p, NULL, NULL);
	add_label(&p, "tier", "replica");
	add_label(&p, "app", "postgres");
	policy_decide(&table, &p, &pol);
	assert_int_equal(pol.class_id, 0);
	assert_int_equal(pol.source, TCPRIO_SRC_LABEL_RULE);
	pod_free(&p);

	make_pod(&p, NULL, NULL);
	add_label(&p, "tier", "batch");
	policy_decide(&table, &p, &pol);
	assert_int_equal(pol.class_id, 3);
	assert_int_equal(pol.source, TCPRIO_SRC_LABEL_RULE);
	pod_free(&p);

	/* Value must match too. */
	make_pod(&p, NULL, NULL);
	add_label(&p, "app", "postgresql");
	add_label(&p, "tier", "Batch");
	policy_decide(&table, &p, &pol);
	assert_int_equal(pol.class_id, 2);
	assert_int_equal(pol.source, TCPRIO_SRC_DEFAULT);
	pod_free(&p);
}

static void test_no_entry(void **state)
{
	struct pod p;
	struct pod_policy pol;

	make_pod(&p, "critical", NULL);
	p.host_network = true;
	policy_decide(&table, &p, &pol);
	assert_false(pol.wants_entry);
	p.host_network = false;
	p.finished = true;
	policy_decide(&table, &p, &pol);
	assert_false(pol.wants_entry);
	p.finished = false;
	p.deleting = true;
	policy_decide(&table, &p, &pol);
	assert_false(pol.wants_entry);
	p.deleting = false;
	p.n_ips = 0;
	policy_decide(&table, &p, &pol);
	assert_false(pol.wants_entry);
	p.n_ips = 1;
	policy_decide(&table, &p, &pol);
	assert_true(pol.wants_entry);
	pod_free(&p);
}

static void test_ports_good(void **state)
{
	struct port_class r[POLICY_MAX_PORT_RULES];
	char err[256];

	assert_int_equal(parse_ports_annotation("5432/tcp=critical,9100=bulk", &table,
						r, POLICY_MAX_PORT_RULES, err, sizeof(err)), 3);
	assert_int_equal(r[0].port, 5432);
	assert_int_equal(r[0].protocol, IPPROTO_TCP);
	assert_int_equal(r[0].class_id, 0);
	assert_int_equal(r[1].port, 9100);
	assert_int_equal(r[1].protocol, IPPROTO_TCP);
	assert_int_equal(r[1].class_id, 3);
	assert_int_equal(r[2].port, 9100);
	assert_int_equal(r[2].protocol, IPPROTO_UDP);
	assert_int_equal(r[2].class_id, 3);

	assert_int_equal(parse_ports_annotation("  5432 / TCP = critical ,\t9100/udp=bulk ,"
						"36412/sctp=high,65535=normal,1/Udp=high", &table,
						r, POLICY_MAX_PORT_RULES, err, sizeof(err)), 6);
	assert_int_equal(r[0].protocol, IPPROTO_TCP);
	assert_int_equal(r[1].protocol, IPPROTO_UDP);
	assert_int_equal(r[2].protocol, IPPROTO_SCTP);
	assert_int_equal(r[2].port, 36412);
	assert_int_equal(r[3].port, 65535);
	assert_int_equal(r[5].port, 1);
	assert_int_equal(r[5].protocol, IPPROTO_UDP);

	/* Empty value: no rules; same rule twice with the same class: once. */
	assert_int_equal(parse_ports_annotation(" ", &table, r, POLICY_MAX_PORT_RULES,
						err, sizeof(err)), 0);
	assert_int_equal(parse_ports_annotation("80/tcp=high,80=high", &table, r,
						POLICY_MAX_PORT_RULES, err, sizeof(err)), 2);
}

/* Endpoint flags: none without rules; "has rules" plus the protocols named. */
static void test_endpoint_flags(void **state)
{
	struct port_class r[POLICY_MAX_PORT_RULES] = { 0 };
	char err[256];
	int n;

	assert_int_equal(policy_endpoint_flags(r, 0), 0);
	n = parse_ports_annotation("53/udp=high", &table, r, POLICY_MAX_PORT_RULES, err, sizeof(err));
	assert_int_equal(policy_endpoint_flags(r, n), TCPRIO_EP_HAS_PORT_RULES | TCPRIO_EP_RULES_UDP);
	n = parse_ports_annotation("9100=bulk,36412/sctp=high", &table, r, POLICY_MAX_PORT_RULES,
				   err, sizeof(err));
	assert_int_equal(policy_endpoint_flags(r, n), TCPRIO_EP_HAS_PORT_RULES |
			 TCPRIO_EP_RULES_TCP | TCPRIO_EP_RULES_UDP | TCPRIO_EP_RULES_SCTP);
}

/* Rule fields of an endpoint: the flags above, TCPRIO_EP_PORT_BITS and one
 * bit per rule port (port % 64); nothing without rules; flags already set
 * (CAPPED) are kept. */
static void test_endpoint_rule_ports(void **state)
{
	struct port_class r[POLICY_MAX_PORT_RULES] = { 0 };
	struct tcprio_endpoint ep = { .flags = TCPRIO_EP_CAPPED };
	char err[256];
	int n;

	policy_set_endpoint_rules(&ep, r, 0);
	assert_int_equal(ep.flags, TCPRIO_EP_CAPPED);
	assert_true(ep.rule_ports == 0);
	/* 80 and 8080 share bit 16; 53 is bit 53; 443 bit 59 */
	n = parse_ports_annotation("80/tcp=high,8080/tcp=bulk,53/udp=high,443/tcp=high", &table,
				   r, POLICY_MAX_PORT_RULES, err, sizeof(err));
	assert_int_equal(n, 4);
	policy_set_endpoint_rules(&ep, r, n);
	assert_int_equal(ep.flags, TCPRIO_EP_CAPPED | TCPRIO_EP_HAS_PORT_RULES |
			 TCPRIO_EP_RULES_TCP | TCPRIO_EP_RULES_UDP | TCPRIO_EP_PORT_BITS |
			 TCPRIO_EP_RULES_INLINE);
	assert_true(ep.rule_ports == ((1ULL << 16) | (1ULL << 53) | (1ULL << 59)));
	assert_true(policy_endpoint_port_bits(r, n) == ep.rule_ports);
	/* 4 rules fit in the entry: copied in order */
	for (int i = 0; i < n; i++) {
		assert_int_equal(ep.rules[i].port, r[i].port);
		assert_int_equal(ep.rules[i].protocol, r[i].protocol);
		assert_int_equal(ep.rules[i].class_id, r[i].class_id);
	}
	/* 5 do not: no inline copy, rules[] cleared, the datapath looks them up */
	n = parse_ports_annotation("80/tcp=high,8080/tcp=bulk,53/udp=high,443/tcp=high,22/tcp=bulk",
				   &table, r, POLICY_MAX_PORT_RULES, err, sizeof(err));
	assert_int_equal(n, 5);
	ep.flags = 0;
	policy_set_endpoint_rules(&ep, r, n);
	assert_int_equal(ep.flags & TCPRIO_EP_RULES_INLINE, 0);
	for (int i = 0; i < TCPRIO_EP_INLINE_RULES; i++)
		assert_int_equal(ep.rules[i].protocol, 0);
}

static void test_ports_bad(void **state)
{
	static const struct { const char *s, *expect; } cases[] = {
		{ "0=critical", "bad port \"0\"" },
		{ "65536=critical", "bad port \"65536\"" },
		{ "abc=critical", "bad port \"abc\"" },
		{ "-1=critical", "bad port \"-1\"" },
		{ "54 32=critical", "bad port \"54 32\"" },
		{ "=critical", "bad port \"\"" },
		{ "5432/icmp=critical", "bad protocol \"icmp\"" },
		{ "5432/=critical", "bad protocol \"\"" },
		{ "5432=nosuch", "unknown class \"nosuch\"" },
		{ "5432=", "unknown class \"\"" },
		{ "5432=Critical", "unknown class \"Critical\"" },
		{ "5432", "has no '='" },
		{ "5432:critical", "has no '='" },
		{ "5432=critical,,9100=bulk", "empty item" },
		{ "5432=critical,", "empty item" },
		{ ",5432=critical", "empty item" },
		{ "80/tcp=high,80=bulk", "port 80/tcp given twice with different classes" },
	};
	struct port_class r[POLICY_MAX_PORT_RULES];
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = parse_ports_annotation(cases[i].s, &table, r,
					       POLICY_MAX_PORT_RULES, err, sizeof(err));

		if (n != -EINVAL)
			fail_msg("\"%s\": expected -EINVAL, got %d", cases[i].s, n);
		if (!strstr(err, cases[i].expect))
			fail_msg("\"%s\": error \"%s\" lacks \"%s\"", cases[i].s, err,
				 cases[i].expect);
	}
}

static void test_ports_too_many(void **state)
{
	struct port_class r[POLICY_MAX_PORT_RULES];
	char s[1024], err[256];
	size_t used = 0;

	/* 16 ports without protocol = 32 rules: fits; one more does not. */
	for (int i = 0; i < 16; i++)
		used += snprintf(s + used, sizeof(s) - used, "%s%d=bulk", i ? "," : "",
				 1000 + i);
	assert_int_equal(parse_ports_annotation(s, &table, r, POLICY_MAX_PORT_RULES,
						err, sizeof(err)), 32);
	snprintf(s + used, sizeof(s) - used, ",2000/tcp=bulk");
	assert_int_equal(parse_ports_annotation(s, &table, r, POLICY_MAX_PORT_RULES,
						err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 32 port rules"));
}

/* One warning line naming the pod, the annotation, its value, the expectation. */
static void expect_warning(const struct pod_policy *pol, const char *annotation,
			   const char *value, const char *expectation)
{
	char quoted[256];

	snprintf(quoted, sizeof(quoted), "%s=\"%s\"", annotation, value);
	if (!strstr(pol->warning, "pod shop/db-0") || !strstr(pol->warning, quoted) ||
	    !strstr(pol->warning, expectation) || strchr(pol->warning, '\n'))
		fail_msg("warning \"%s\" lacks pod, %s or \"%s\"", pol->warning, quoted,
			 expectation);
}

static void test_bad_class_annotation(void **state)
{
	static const char *const bad[] = { "nosuch", "", "Critical", " critical" };
	struct pod p;
	struct pod_policy pol;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_pod(&p, bad[i], "5432/tcp=critical");
		add_label(&p, "app", "postgres");
		policy_decide(&table, &p, &pol);
		assert_true(pol.wants_entry);
		assert_int_equal(pol.class_id, 2);
		assert_int_equal(pol.source, TCPRIO_SRC_BAD_ANNOTATION);
		assert_int_equal(pol.n_ports, 0);
		expect_warning(&pol, ANNOTATION_CLASS, bad[i],
			       "expected one of: critical, high, normal, bulk");
		pod_free(&p);
	}
}

/* One rule for a bad tcprio.io/ports, whatever gave the pod its class (it
 * kept an annotated pod's class but sent a label-rule pod to the default):
 * default class, bad-annotation source, no port rules. */
static void test_bad_ports_one_rule(void **state)
{
	struct pod p;
	struct pod_policy pol;

	for (int by_label = 0; by_label < 2; by_label++) {
		make_pod(&p, by_label ? NULL : "high", "5432/tcp=critical,99999=bulk");
		add_label(&p, "app", "postgres");
		policy_decide(&table, &p, &pol);
		assert_int_equal(pol.class_id, 2);
		assert_int_equal(pol.source, TCPRIO_SRC_BAD_ANNOTATION);
		assert_int_equal(pol.n_ports, 0);
		expect_warning(&pol, ANNOTATION_PORTS, "5432/tcp=critical,99999=bulk",
			       "expected a port 1..65535");
		assert_non_null(strstr(pol.warning, "using default class normal"));
		pod_free(&p);
	}
}

static void test_bad_ports_without_class(void **state)
{
	struct pod p;
	struct pod_policy pol;

	/* Label rule would say critical; a bad annotation means default. */
	make_pod(&p, NULL, "5432/tcp=gold");
	add_label(&p, "app", "postgres");
	policy_decide(&table, &p, &pol);
	assert_int_equal(pol.class_id, 2);
	assert_int_equal(pol.source, TCPRIO_SRC_BAD_ANNOTATION);
	assert_int_equal(pol.n_ports, 0);
	expect_warning(&pol, ANNOTATION_PORTS, "5432/tcp=gold",
		       "unknown class \"gold\"");
	assert_non_null(strstr(pol.warning, "using default class normal"));
	pod_free(&p);
}

static void test_good_ports_in_policy(void **state)
{
	struct pod p;
	struct pod_policy pol;

	make_pod(&p, NULL, "5432/tcp=critical");
	add_label(&p, "tier", "batch");
	policy_decide(&table, &p, &pol);
	assert_int_equal(pol.class_id, 3);
	assert_int_equal(pol.source, TCPRIO_SRC_LABEL_RULE);
	assert_int_equal(pol.n_ports, 1);
	assert_int_equal(pol.ports[0].class_id, 0);
	assert_string_equal(pol.warning, "");
	pod_free(&p);
}

static void test_long_values_truncate_safely(void **state)
{
	char big[4096];
	struct pod p;
	struct pod_policy pol;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	make_pod(&p, big, NULL);
	policy_decide(&table, &p, &pol);
	assert_int_equal(pol.source, TCPRIO_SRC_BAD_ANNOTATION);
	assert_true(strlen(pol.warning) < sizeof(pol.warning));
	assert_non_null(strstr(pol.warning, "pod shop/db-0"));
	pod_free(&p);

	make_pod(&p, NULL, big);
	policy_decide(&table, &p, &pol);
	assert_int_equal(pol.source, TCPRIO_SRC_BAD_ANNOTATION);
	assert_non_null(strstr(pol.warning, "pod shop/db-0"));
	pod_free(&p);
}

/* Fuzzing finding: "x" + 250 x "é" as the class (or "80=" + 40 x "é" as the
 * ports) made the warning be cut inside a UTF-8 character, and the Event
 * body built from it was refused.  The warning must stay valid UTF-8, keep
 * its reason and show a shortened value. */
static void test_utf8_values_cut_on_characters(void **state)
{
	char cls[600], ports[600], copy[sizeof(((struct pod_policy *)0)->warning)];
	struct pod_policy pol;
	struct pod p;
	size_t n;

	n = (size_t)sprintf(cls, "x");
	for (int i = 0; i < 250; i++)
		n += (size_t)sprintf(cls + n, "\xc3\xa9");
	n = (size_t)sprintf(ports, "80=");
	for (int i = 0; i < 40; i++)
		n += (size_t)sprintf(ports + n, "\xc3\xa9");

	make_pod(&p, cls, NULL);
	policy_decide(&table, &p, &pol);
	snprintf(copy, sizeof(copy), "%s", pol.warning);
	assert_int_equal(utf8_sanitize(copy), 0);
	assert_non_null(strstr(pol.warning, "is not a class"));
	assert_non_null(strstr(pol.warning, "using default class normal"));
	assert_non_null(strstr(pol.warning, "... (501 bytes)\""));
	pod_free(&p);

	for (int cut = 0; cut < 2; cut++) {
		make_pod(&p, cut ? "critical" : NULL, ports);
		policy_decide(&table, &p, &pol);
		snprintf(copy, sizeof(copy), "%s", pol.warning);
		if (utf8_sanitize(copy))
			fail_msg("warning is not UTF-8: %s", pol.warning);
		assert_non_null(strstr(pol.warning, "rejected: unknown class"));
		assert_non_null(strstr(pol.warning, "no port rules"));
		pod_free(&p);
	}
}

/* An annotation with a NUL character (pod_from_json flags it) is bad even
 * when the text before the NUL is a valid class or port list. */
static void test_nul_annotations(void **state)
{
	struct pod p;
	struct pod_policy pol;

	make_pod(&p, "critical\\u0000x", "5432/tcp=critical");
	p.class_annotation_nul = true;
	policy_decide(&table, &p, &pol);
	assert_int_equal(pol.class_id, 2);
	assert_int_equal(pol.source, TCPRIO_SRC_BAD_ANNOTATION);
	assert_int_equal(pol.n_ports, 0);
	expect_warning(&pol, ANNOTATION_CLASS, "critical\\u0000x", "contains a NUL character");
	assert_non_null(strstr(pol.warning, "using default class normal and ignoring"));
	pod_free(&p);

	/* valid class, ports with NUL: default class, no port rules */
	make_pod(&p, "high", "5432/tcp=critical\\u0000");
	p.ports_annotation_nul = true;
	policy_decide(&table, &p, &pol);
	assert_int_equal(pol.class_id, 2);
	assert_int_equal(pol.source, TCPRIO_SRC_BAD_ANNOTATION);
	assert_int_equal(pol.n_ports, 0);
	expect_warning(&pol, ANNOTATION_PORTS, "5432/tcp=critical\\u0000",
		       "contains a NUL character");
	pod_free(&p);

	/* no class, ports with NUL: default class, bad annotation */
	make_pod(&p, NULL, "5432=bulk\\u0000");
	p.ports_annotation_nul = true;
	add_label(&p, "app", "postgres");
	policy_decide(&table, &p, &pol);
	assert_int_equal(pol.class_id, 2);
	assert_int_equal(pol.source, TCPRIO_SRC_BAD_ANNOTATION);
	assert_int_equal(pol.n_ports, 0);
	expect_warning(&pol, ANNOTATION_PORTS, "5432=bulk\\u0000", "contains a NUL character");
	pod_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_class),
		cmocka_unit_test(test_class_annotation),
		cmocka_unit_test(test_label_rules),
		cmocka_unit_test(test_no_entry),
		cmocka_unit_test(test_ports_good),
		cmocka_unit_test(test_ports_bad),
		cmocka_unit_test(test_ports_too_many),
		cmocka_unit_test(test_bad_class_annotation),
		cmocka_unit_test(test_bad_ports_one_rule),
		cmocka_unit_test(test_bad_ports_without_class),
		cmocka_unit_test(test_good_ports_in_policy),
		cmocka_unit_test(test_endpoint_flags),
		cmocka_unit_test(test_endpoint_rule_ports),
		cmocka_unit_test(test_long_values_truncate_safely),
		cmocka_unit_test(test_nul_annotations),
		cmocka_unit_test(test_utf8_values_cut_on_characters),
	};

	return cmocka_run_group_tests_name("policy", tests, setup, teardown);
}
