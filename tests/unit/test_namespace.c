/* SPDX-License-Identifier: BSD-2-Clause */
/* test_namespace.c - Namespace JSON -> struct kube_namespace (kube/namespace.c):
 * name and labels as `kubectl get ns -o json` prints them, and every kind of
 * bad input refused with the field named (cmocka; unprivileged). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kube/namespace.h"

/* The shape kube-apiserver 1.30 returns for a labelled namespace. */
static const char shop_json[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{"
	"\"creationTimestamp\":\"2024-05-02T09:12:44Z\",\"labels\":{"
	"\"kubernetes.io/metadata.name\":\"shop\",\"tenant\":\"shared\",\"tier\":\"\"},"
	"\"name\":\"shop\",\"resourceVersion\":\"48211\","
	"\"uid\":\"4c3f7e1a-9b7d-4e0c-9a55-2f1d6c0e8b21\"},"
	"\"spec\":{\"finalizers\":[\"kubernetes\"]},\"status\":{\"phase\":\"Active\"}}";

static int parse(const char *text, struct kube_namespace *ns, char *err, size_t n)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_ALLOW_NUL, &je);
	int r;

	assert_non_null(j);
	r = namespace_from_json(j, ns, err, n);
	json_decref(j);
	return r;
}

static const char *label(const struct kube_namespace *ns, const char *k)
{
	for (int i = 0; i < ns->n_labels; i++)
		if (strcmp(ns->label_keys[i], k) == 0)
			return ns->label_values[i];
	return NULL;
}

static void test_good(void **state)
{
	struct kube_namespace ns;
	char err[256];

	assert_int_equal(parse(shop_json, &ns, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(ns.name, "shop");
	assert_string_equal(ns.resource_version, "48211");
	assert_int_equal(ns.n_labels, 3);
	assert_string_equal(label(&ns, "tenant"), "shared");
	assert_string_equal(label(&ns, "tier"), "");
	assert_string_equal(label(&ns, "kubernetes.io/metadata.name"), "shop");
	namespace_free(&ns);
	assert_int_equal(ns.n_labels, 0);
	/* No labels at all. */
	assert_int_equal(parse("{\"metadata\":{\"name\":\"bare\"}}", &ns, err, sizeof(err)), 0);
	assert_int_equal(ns.n_labels, 0);
	namespace_free(&ns);
}

static void test_bad(void **state)
{
	static const struct { const char *json, *err; } bad[] = {
		{ "{\"metadata\":{}}", "metadata.name: expected a namespace name" },
		{ "{\"metadata\":{\"name\":\"\"}}", "metadata.name: expected" },
		{ "{\"metadata\":{\"name\":7}}", "metadata.name: expected" },
		{ "{\"metadata\":{\"name\":\"a\\u0000b\"}}", "metadata.name: expected" },
		{ "{\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":\"b\\u0000c\"}}}",
		  "metadata.labels: label \"a\": expected a string without NUL" },
		{ "{\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":1}}}",
		  "metadata.labels: label \"a\": expected a string" },
	};
	struct kube_namespace ns;
	char err[256], name[80];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i].json, &ns, err, sizeof(err));

		if (r != -EINVAL || !strstr(err, bad[i].err))
			fail_msg("case %zu: got %d \"%s\", expected -EINVAL with \"%s\"", i, r, err,
				 bad[i].err);
		assert_int_equal(ns.n_labels, 0);
	}
	/* A 64-byte name (longer than a DNS label) and more than 256 labels. */
	memset(name, 'a', 64);
	name[64] = '\0';
	{
		char text[200];
		json_t *j, *labels = json_object();

		snprintf(text, sizeof(text), "{\"metadata\":{\"name\":\"%s\"}}", name);
		assert_int_equal(parse(text, &ns, err, sizeof(err)), -EINVAL);
		for (int i = 0; i <= NAMESPACE_MAX_LABELS; i++) {
			char k[16];

			snprintf(k, sizeof(k), "l%d", i);
			json_object_set_new(labels, k, json_string("v"));
		}
		j = json_pack("{s:{s:s,s:o}}", "metadata", "name", "many", "labels", labels);
		assert_int_equal(namespace_from_json(j, &ns, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "257 labels, more than 256"));
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
