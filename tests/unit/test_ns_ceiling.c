/* SPDX-License-Identifier: BSD-2-Clause */
/* test_ns_ceiling.c - namespace ceilings (issue 12): selectors as
 * Kubernetes evaluates them, the ceiling applied to a class asked by
 * annotation, port rule and label rule, no ceiling, defaultCeiling, an
 * unknown namespace, and bad selectors rejected with an error naming them
 * (cmocka; unprivileged). */
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

#define CLASSES \
	"classes:\n" \
	"  - {name: critical, dscp: EF, priority: \"1:10\"}\n" \
	"  - {name: high, dscp: AF41, priority: \"1:20\"}\n" \
	"  - {name: normal, priority: \"1:30\"}\n" \
	"  - {name: bulk, dscp: LE, priority: \"1:40\"}\n" \
	"defaultClass: normal\n" \
	"labelRules:\n" \
	"  - matchLabels: {app: postgres}\n" \
	"    class: critical\n"

enum { CRIT, HIGH, NORMAL, BULK };

static const char ceilings_yaml[] = CLASSES
	"namespaceCeilings:\n"
	"  - namespaceSelector: {matchLabels: {tenant: shared}}\n"
	"    maxClass: normal\n"
	"  - namespaceSelector:\n"
	"      matchExpressions:\n"
	"        - {key: tier, operator: In, values: [batch, scratch]}\n"
	"    maxClass: bulk\n"
	"  - namespaceSelector:\n"
	"      matchLabels: {team: payments}\n"
	"      matchExpressions:\n"
	"        - {key: env, operator: NotIn, values: [prod]}\n"
	"        - {key: example.com/audited, operator: Exists}\n"
	"        - {key: frozen, operator: DoesNotExist}\n"
	"    maxClass: high\n";

static struct class_table table;

static int parse(const char *y, struct class_table *t, char *err, size_t n)
{
	return class_table_parse(y, strlen(y), t, err, n);
}

static int setup(void **state)
{
	char err[512];

	if (parse(ceilings_yaml, &table, err, sizeof(err))) {
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

/* Namespace labels from "k=v" strings (NULL-terminated). */
struct labels {
	char *keys[8], *values[8];
	struct label_set set;
};

static const struct label_set *mk(struct labels *l, ...)
{
	va_list ap;
	const char *kv;
	int n = 0;

	va_start(ap, l);
	while ((kv = va_arg(ap, const char *)) && n < 8) {
		const char *eq = strchr(kv, '=');

		l->keys[n] = strndup(kv, (size_t)(eq - kv));
		l->values[n] = strdup(eq + 1);
		n++;
	}
	va_end(ap);
	l->set = (struct label_set){ .n = n, .keys = l->keys, .values = l->values };
	return &l->set;
}

static void free_labels(struct labels *l)
{
	for (int i = 0; i < l->set.n; i++) {
		free(l->keys[i]);
		free(l->values[i]);
	}
}

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

static void test_selector_semantics(void **state)
{
	struct labels l;
	int rule;

	/* matchLabels */
	assert_int_equal(ns_ceiling_of(&table, mk(&l, "tenant=shared", NULL), &rule), NORMAL);
	assert_int_equal(rule, 0);
	free_labels(&l);
	assert_int_equal(ns_ceiling_of(&table, mk(&l, "tenant=own", NULL), &rule), -1);
	free_labels(&l);
	/* In */
	assert_int_equal(ns_ceiling_of(&table, mk(&l, "tier=scratch", NULL), &rule), BULK);
	assert_int_equal(rule, 1);
	free_labels(&l);
	assert_int_equal(ns_ceiling_of(&table, mk(&l, "tier=web", NULL), NULL), -1);
	free_labels(&l);
	/* NotIn (missing key holds), Exists, DoesNotExist, all ANDed */
	assert_int_equal(ns_ceiling_of(&table, mk(&l, "team=payments", "example.com/audited=",
						  NULL), &rule), HIGH);
	assert_int_equal(rule, 2);
	free_labels(&l);
	assert_int_equal(ns_ceiling_of(&table, mk(&l, "team=payments", "env=dev",
						  "example.com/audited=yes", NULL), NULL), HIGH);
	free_labels(&l);
	assert_int_equal(ns_ceiling_of(&table, mk(&l, "team=payments", "env=prod",
						  "example.com/audited=yes", NULL), NULL), -1);
	free_labels(&l);
	assert_int_equal(ns_ceiling_of(&table, mk(&l, "team=payments", NULL), NULL), -1);
	free_labels(&l);
	assert_int_equal(ns_ceiling_of(&table, mk(&l, "team=payments", "example.com/audited=1",
						  "frozen=true", NULL), NULL), -1);
	free_labels(&l);
	/* Two selectors match: the strictest ceiling wins, and names its rule. */
	assert_int_equal(ns_ceiling_of(&table, mk(&l, "tenant=shared", "tier=batch", NULL),
				       &rule), BULK);
	assert_int_equal(rule, 1);
	free_labels(&l);
	/* No labels at all: nothing matches (no defaultCeiling here). */
	assert_int_equal(ns_ceiling_of(&table, mk(&l, NULL), &rule), -1);
	free_labels(&l);
	/* Unknown namespace: the strictest ceiling of the table. */
	assert_int_equal(ns_ceiling_of(&table, NULL, &rule), BULK);
	assert_int_equal(rule, CEILING_RULE_UNKNOWN);
}

static void test_annotation_capped(void **state)
{
	struct labels l;
	struct pod p;
	struct pod_policy pol;

	make_pod(&p, "critical", NULL);
	policy_decide_ns(&table, &p, mk(&l, "tenant=shared", NULL), &pol);
	assert_true(pol.capped);
	assert_int_equal(pol.class_id, NORMAL);
	assert_int_equal(pol.asked_class, CRIT);
	assert_int_equal(pol.source, TCPRIO_SRC_ANNOTATION);
	assert_int_equal(pol.ceiling, NORMAL);
	assert_int_equal(pol.ceiling_rule, 0);
	assert_string_equal(pol.capped_msg, "pod shop/db-0: class critical (annotation "
			    "tcprio.io/class) capped to normal by namespaceCeilings[0] of "
			    "namespace shop");
	/* Asking for the ceiling itself or less is not capped. */
	free(p.class_annotation);
	p.class_annotation = strdup("bulk");
	policy_decide_ns(&table, &p, &l.set, &pol);
	assert_false(pol.capped);
	assert_int_equal(pol.class_id, BULK);
	assert_string_equal(pol.capped_msg, "");
	free_labels(&l);
	pod_free(&p);
}

static void test_port_rule_capped(void **state)
{
	struct labels l;
	struct pod p;
	struct pod_policy pol;

	make_pod(&p, "bulk", "5432/tcp=critical,9100=bulk");
	policy_decide_ns(&table, &p, mk(&l, "tenant=shared", NULL), &pol);
	assert_true(pol.capped);
	assert_int_equal(pol.class_id, BULK);          /* the pod's own: below */
	assert_int_equal(pol.n_ports, 3);
	for (int i = 0; i < pol.n_ports; i++)
		assert_int_equal(pol.ports[i].class_id,
				 pol.ports[i].port == 5432 ? NORMAL : BULK);
	assert_non_null(strstr(pol.capped_msg, "port rules 5432/tcp=critical capped to normal"));
	free_labels(&l);
	pod_free(&p);
}

static void test_label_rule_capped(void **state)
{
	struct labels l;
	struct pod p;
	struct pod_policy pol;

	make_pod(&p, NULL, NULL);
	assert_int_equal(pod_add_label(&p, "app", "postgres"), 0);
	policy_decide_ns(&table, &p, mk(&l, "tier=batch", NULL), &pol);
	assert_true(pol.capped);
	assert_int_equal(pol.class_id, BULK);
	assert_int_equal(pol.asked_class, CRIT);
	assert_int_equal(pol.source, TCPRIO_SRC_LABEL_RULE);
	assert_int_equal(pol.ceiling_rule, 1);
	assert_non_null(strstr(pol.capped_msg, "class critical (label rule) capped to bulk "
			       "by namespaceCeilings[1]"));
	free_labels(&l);
	pod_free(&p);
}

static void test_no_ceiling(void **state)
{
	struct class_table plain;
	struct labels l;
	struct pod p;
	struct pod_policy pol;
	char err[256];

	/* A namespace no selector matches, table without defaultCeiling. */
	make_pod(&p, "critical", "5432=critical");
	policy_decide_ns(&table, &p, mk(&l, "tenant=own", NULL), &pol);
	assert_false(pol.capped);
	assert_int_equal(pol.class_id, CRIT);
	assert_int_equal(pol.ceiling, -1);
	assert_int_equal(pol.ports[0].class_id, CRIT);
	/* A table without ceilings: unknown namespaces are not capped either. */
	assert_int_equal(parse(CLASSES, &plain, err, sizeof(err)), 0);
	assert_int_equal(plain.default_ceiling, -1);
	policy_decide(&plain, &p, &pol);
	assert_false(pol.capped);
	assert_int_equal(pol.class_id, CRIT);
	class_table_free(&plain);
	free_labels(&l);
	pod_free(&p);
}

static void test_default_ceiling(void **state)
{
	static const char y[] = CLASSES
		"namespaceCeilings:\n"
		"  - namespaceSelector: {matchLabels: {tier: system}}\n"
		"    maxClass: critical\n"
		"defaultCeiling: high\n";
	struct class_table t;
	struct labels l;
	struct pod p;
	struct pod_policy pol;
	char err[256];

	assert_int_equal(parse(y, &t, err, sizeof(err)), 0);
	assert_int_equal(t.default_ceiling, HIGH);
	make_pod(&p, "critical", NULL);
	policy_decide_ns(&t, &p, mk(&l, "tenant=any", NULL), &pol);
	assert_true(pol.capped);
	assert_int_equal(pol.class_id, HIGH);
	assert_int_equal(pol.ceiling_rule, CEILING_RULE_DEFAULT);
	assert_non_null(strstr(pol.capped_msg, "capped to high by defaultCeiling"));
	free_labels(&l);
	/* A selector that allows critical beats the default. */
	policy_decide_ns(&t, &p, mk(&l, "tier=system", NULL), &pol);
	assert_false(pol.capped);
	assert_int_equal(pol.class_id, CRIT);
	free_labels(&l);
	/* Unknown namespace: the strictest (high), and the message says why. */
	policy_decide(&t, &p, &pol);
	assert_true(pol.capped);
	assert_int_equal(pol.class_id, HIGH);
	assert_non_null(strstr(pol.capped_msg, "namespace not known yet"));
	/* The default class above a ceiling is capped too (pods only ever get
	 * classes at or below their namespace's ceiling). */
	free(p.class_annotation);
	p.class_annotation = NULL;
	policy_decide_ns(&t, &p, mk(&l, NULL), &pol);
	assert_false(pol.capped);                       /* normal is below high */
	free_labels(&l);
	class_table_free(&t);
	pod_free(&p);
}

static void test_bad_selectors(void **state)
{
	static const struct { const char *yaml, *err; } bad[] = {
		{ CLASSES "namespaceCeilings: {a: b}\n",
		  "namespaceCeilings: expected a list of {namespaceSelector, maxClass}, got a mapping" },
		{ CLASSES "namespaceCeilings:\n  - maxClass: normal\n",
		  "namespaceCeilings[0].namespaceSelector: required" },
		{ CLASSES "namespaceCeilings:\n  - namespaceSelector: {}\n",
		  "namespaceCeilings[0].maxClass: required" },
		{ CLASSES "namespaceCeilings:\n  - {namespaceSelector: {}, maxClass: gold}\n",
		  "namespaceCeilings[0].maxClass: unknown class \"gold\"" },
		{ CLASSES "namespaceCeilings:\n  - {namespaceSelector: {}, maxClass: bulk, x: 1}\n",
		  "namespaceCeilings[0]: unknown key \"x\"" },
		{ CLASSES "namespaceCeilings:\n  - {namespaceSelector: {labels: {a: b}}, maxClass: bulk}\n",
		  "namespaceCeilings[0].namespaceSelector: unknown key \"labels\"" },
		{ CLASSES "namespaceCeilings:\n  - {namespaceSelector: [a], maxClass: bulk}\n",
		  "namespaceCeilings[0].namespaceSelector: expected a label selector" },
		{ CLASSES "namespaceCeilings:\n  - {namespaceSelector: {matchLabels: {\"-bad\": x}}, maxClass: bulk}\n",
		  "namespaceCeilings[0].namespaceSelector.matchLabels.-bad: \"-bad\" is not a label key" },
		{ CLASSES "namespaceCeilings:\n  - {namespaceSelector: {matchLabels: {a: \"x y\"}}, maxClass: bulk}\n",
		  "namespaceCeilings[0].namespaceSelector.matchLabels.a: \"x y\" is not a label value" },
		{ CLASSES "namespaceCeilings:\n  - namespaceSelector:\n      matchExpressions:\n"
		  "        - {key: a, operator: Equals, values: [x]}\n    maxClass: bulk\n",
		  "namespaceCeilings[0].namespaceSelector.matchExpressions[0].operator: expected In, "
		  "NotIn, Exists or DoesNotExist, got \"Equals\"" },
		{ CLASSES "namespaceCeilings:\n  - namespaceSelector:\n      matchExpressions:\n"
		  "        - {key: a, operator: In}\n    maxClass: bulk\n",
		  "namespaceCeilings[0].namespaceSelector.matchExpressions[0].values: operator In "
		  "needs at least one value" },
		{ CLASSES "namespaceCeilings:\n  - namespaceSelector:\n      matchExpressions:\n"
		  "        - {key: a, operator: NotIn, values: []}\n    maxClass: bulk\n",
		  "matchExpressions[0].values: operator NotIn needs at least one value" },
		{ CLASSES "namespaceCeilings:\n  - namespaceSelector:\n      matchExpressions:\n"
		  "        - {key: a, operator: Exists, values: [x]}\n    maxClass: bulk\n",
		  "matchExpressions[0].values: operator Exists takes no values" },
		{ CLASSES "namespaceCeilings:\n  - namespaceSelector:\n      matchExpressions:\n"
		  "        - {operator: Exists}\n    maxClass: bulk\n",
		  "matchExpressions[0].key: required" },
		{ CLASSES "namespaceCeilings:\n  - namespaceSelector:\n      matchExpressions:\n"
		  "        - {key: \"Bad_Prefix/x\", operator: Exists}\n    maxClass: bulk\n",
		  "matchExpressions[0].key: \"Bad_Prefix/x\" is not a label key" },
		{ CLASSES "namespaceCeilings:\n  - namespaceSelector:\n      matchExpressions: {key: a}\n"
		  "    maxClass: bulk\n",
		  "namespaceSelector.matchExpressions: expected a list" },
		{ CLASSES "defaultCeiling: top\n", "defaultCeiling: unknown class \"top\"" },
	};
	struct class_table t;
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i].yaml, &t, err, sizeof(err));

		if (r != -EINVAL || !strstr(err, bad[i].err))
			fail_msg("case %zu: got %d \"%s\", expected -EINVAL with \"%s\"",
				 i, r, err, bad[i].err);
		assert_int_equal(t.n_classes, 0);
		assert_int_equal(t.n_ceilings, 0);
	}
}

/* label_selector_text: what `tcprio explain` shows for a ceiling's rule. */
static void test_selector_text(void **state)
{
	struct label_selector empty = { 0 };
	char buf[256], tiny[12];

	label_selector_text(&table.ceilings[0].sel, buf, sizeof(buf));
	assert_string_equal(buf, "tenant=shared");
	label_selector_text(&table.ceilings[1].sel, buf, sizeof(buf));
	assert_string_equal(buf, "tier in (batch,scratch)");
	label_selector_text(&table.ceilings[2].sel, buf, sizeof(buf));
	assert_string_equal(buf, "team=payments,env notin (prod),example.com/audited,!frozen");
	label_selector_text(&empty, buf, sizeof(buf));
	assert_string_equal(buf, "(everything)");
	label_selector_text(&table.ceilings[2].sel, tiny, sizeof(tiny));
	assert_string_equal(tiny, "team=pay...");   /* cut, and says so */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selector_semantics),
		cmocka_unit_test(test_annotation_capped),
		cmocka_unit_test(test_port_rule_capped),
		cmocka_unit_test(test_label_rule_capped),
		cmocka_unit_test(test_no_ceiling),
		cmocka_unit_test(test_default_ceiling),
		cmocka_unit_test(test_bad_selectors),
		cmocka_unit_test(test_selector_text),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
