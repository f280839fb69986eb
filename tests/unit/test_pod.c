/* SPDX-License-Identifier: BSD-2-Clause */
/* test_pod.c - Pod JSON reading against the real objects in
 * tests/fixtures/k8s (read in place), IP keys and pod ids (cmocka). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kube/pod.h"

static char fixtures[512];

/* Fixture folder: $TCPRIO_FIXTURES or tests/fixtures (from the project
 * root, where the runner starts). */
static int find_fixtures(void **state)
{
	const char *cands[] = { getenv("TCPRIO_FIXTURES"), "tests/fixtures" };

	for (size_t i = 0; i < 2; i++) {
		char probe[600];

		if (!cands[i])
			continue;
		snprintf(probe, sizeof(probe), "%s/k8s/pod", cands[i]);
		if (access(probe, R_OK) == 0) {
			snprintf(fixtures, sizeof(fixtures), "%s", cands[i]);
			return 0;
		}
	}
	fprintf(stderr, "# fixtures not found (set TCPRIO_FIXTURES)\n");
	return -1;
}

static json_t *load(const char *rel)
{
	char path[800];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", fixtures, rel);
	j = json_load_file(path, 0, &jerr);
	if (!j)
		fail_msg("%s: %s (line %d)", path, jerr.text, jerr.line);
	return j;
}

static void expect_ip(const struct tcprio_ip *ip, const char *text)
{
	char buf[64];

	assert_string_equal(ip_to_string(ip, buf, sizeof(buf)), text);
}

static void test_ip_keys(void **state)
{
	static const uint8_t v4[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
					198, 18, 0, 1 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
					0, 0, 0, 0x2a };
	static const char *const bad[] = { "", "1.2.3", "1.2.3.256", "podIPValue",
		"2001:db8::1%eth0", " 198.18.0.1", "198.18.0.1/32", "::g" };
	struct tcprio_ip ip;
	char buf[64];

	assert_int_equal(ip_from_string("198.18.0.1", &ip), 0);
	assert_memory_equal(ip.addr, v4, 16);
	assert_string_equal(ip_to_string(&ip, buf, sizeof(buf)), "198.18.0.1");
	assert_int_equal(ip_from_string("::ffff:198.18.0.1", &ip), 0);
	assert_memory_equal(ip.addr, v4, 16);
	assert_int_equal(ip_from_string("2001:db8::2a", &ip), 0);
	assert_memory_equal(ip.addr, v6, 16);
	assert_string_equal(ip_to_string(&ip, buf, sizeof(buf)), "2001:db8::2a");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ip_from_string(bad[i], &ip) != -EINVAL)
			fail_msg("ip_from_string(\"%s\") accepted", bad[i]);
}

static void test_pod_id(void **state)
{
	/* FNV-1a 64 test vectors (Fowler/Noll/Vo reference test suite). */
	assert_true(pod_id_from_uid("") == 0xcbf29ce484222325ULL);
	assert_true(pod_id_from_uid("a") == 0xaf63dc4c8601ec8cULL);
	assert_true(pod_id_from_uid("foobar") == 0x85944171f73967e8ULL);
	assert_true(pod_id_from_uid("91bb1cf2-2c03-11ea-883f-42010a800044") !=
		    pod_id_from_uid("91bb1cf2-2c03-11ea-883f-42010a800045"));
}

static void test_gke_pod(void **state)
{
	json_t *j = load("k8s/pod/k9s-gke-pod-p1.json");
	struct pod p;
	char err[256];

	assert_int_equal(pod_from_json(j, &p, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(p.uid, "91bb1cf2-2c03-11ea-883f-42010a800044");
	assert_string_equal(p.namespace_, "default");
	assert_string_equal(p.name, "nginx-7fb78fb6d8-2w75j");
	assert_string_equal(p.resource_version, "87290191");
	assert_string_equal(p.node_name, "gke-k9s-default-pool-0fa2fb89-lbtf");
	assert_false(p.host_network);
	assert_false(p.finished);
	assert_false(p.deleting);
	assert_int_equal(p.n_ips, 1);
	expect_ip(&p.ips[0], "10.44.0.229");
	assert_null(p.class_annotation);
	assert_null(p.ports_annotation);
	assert_true(p.n_labels >= 1);
	assert_string_equal(pod_label(&p, "app"), "nginx");
	assert_null(pod_label(&p, "nosuch"));
	pod_free(&p);
	pod_free(&p); /* twice is safe */
	json_decref(j);
}

static void test_other_pods(void **state)
{
	static const struct { const char *file, *uid, *ns, *ip; } cases[] = {
		{ "k8s/pod/k9s-kind-pod-sidecar.json", "35079257-0ffb-4b09-b2c1-3c0d416f2523",
		  "default", "10.244.0.8" },
		{ "k8s/pod/fluentbit-eks-pod-core_base.json",
		  "e9f2963f-55f2-11e9-84c5-02e422b8a84a", "core", "100.116.192.42" },
		{ "k8s/pod/fluentbit-pod-kairosdb.json",
		  "d6c53deb-05a4-11e8-a8c4-080027435fb7", "default", "10.2.39.12" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = load(cases[i].file);
		struct pod p;
		char err[256];

		if (pod_from_json(j, &p, err, sizeof(err)) != 0)
			fail_msg("%s: %s", cases[i].file, err);
		assert_string_equal(err, "");
		assert_string_equal(p.uid, cases[i].uid);
		assert_string_equal(p.namespace_, cases[i].ns);
		assert_int_equal(p.n_ips, 1);
		expect_ip(&p.ips[0], cases[i].ip);
		assert_false(p.host_network || p.finished || p.deleting);
		pod_free(&p);
		json_decref(j);
	}
}

/* The synthetic round-trip Pod: every field set, placeholder IPs. */
static void test_roundtrip_pod(void **state)
{
	json_t *j = load("k8s/pod/k8s-api-roundtrip-core.v1.Pod.json");
	struct pod p;
	char err[512];

	assert_int_equal(pod_from_json(j, &p, err, sizeof(err)), 0);
	assert_string_equal(p.uid, "uidValue");
	assert_string_equal(p.namespace_, "namespaceValue");
	assert_string_equal(p.name, "nameValue");
	assert_true(p.deleting);
	assert_true(p.host_network);
	assert_false(p.finished);
	assert_int_equal(p.n_ips, 0);
	assert_non_null(strstr(err, "status.podIPs[0].ip: \"ipValue\" is not an IPv4 "
			       "or IPv6 address; skipped"));
	assert_int_equal(p.n_labels, 1);
	assert_string_equal(pod_label(&p, "labelsKey"), "labelsValue");
	pod_free(&p);
	json_decref(j);
}

static void test_podlists(void **state)
{
	static const struct { const char *file; int n, host, finished, deleting; } cases[] = {
		{ "k8s/podlist/nri-minikube-1.35-kubelet-pods.json", 24, 8, 6, 0 },
		{ "k8s/podlist/kubeclient-openshift-podlist-page1-continue.json", 2, 0, 1, 1 },
		{ "k8s/podlist/kubeclient-openshift-podlist-page2.json", 2, 0, 0, 0 },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		json_t *j = load(cases[c].file), *items = json_object_get(j, "items"), *it;
		int host = 0, finished = 0, deleting = 0;
		size_t i;

		assert_int_equal(json_array_size(items), cases[c].n);
		json_array_foreach(items, i, it) {
			struct pod p;
			char err[256];

			if (pod_from_json(it, &p, err, sizeof(err)) != 0)
				fail_msg("%s item %zu: %s", cases[c].file, i, err);
			assert_string_equal(err, "");
			assert_int_equal(p.n_ips, 1);
			host += p.host_network;
			finished += p.finished;
			deleting += p.deleting;
			pod_free(&p);
		}
		if (host != cases[c].host || finished != cases[c].finished ||
		    deleting != cases[c].deleting)
			fail_msg("%s: host %d finished %d deleting %d", cases[c].file,
				 host, finished, deleting);
		json_decref(j);
	}
}

/* Dual stack (not in the fixtures): built from the kind Pod, as the
 * Kubernetes API documents status.podIPs. */
static void test_dual_stack_and_annotations(void **state)
{
	json_t *j = load("k8s/pod/k9s-kind-pod-sidecar.json");
	json_t *status = json_object_get(j, "status");
	json_t *meta = json_object_get(j, "metadata");
	json_t *ann = json_object();
	json_t *ips = json_pack("[{s:s},{s:s},{s:s},{s:s}]", "ip", "198.18.0.7",
				"ip", "2001:db8::7", "ip", "198.18.0.7", "ip", "nope");
	struct pod p, copy;
	char err[256];

	json_object_set_new(status, "podIPs", ips);
	json_object_set_new(ann, "tcprio.io/class", json_string("critical"));
	json_object_set_new(ann, "tcprio.io/ports", json_string("5432/tcp=critical"));
	json_object_set_new(meta, "annotations", ann);
	json_object_set_new(status, "phase", json_string("Succeeded"));

	assert_int_equal(pod_from_json(j, &p, err, sizeof(err)), 0);
	assert_int_equal(p.n_ips, 2);
	expect_ip(&p.ips[0], "198.18.0.7");
	expect_ip(&p.ips[1], "2001:db8::7");
	assert_non_null(strstr(err, "status.podIPs[3].ip: \"nope\""));
	assert_string_equal(p.class_annotation, "critical");
	assert_string_equal(p.ports_annotation, "5432/tcp=critical");
	assert_true(p.finished);

	/* Deep copy survives the original. */
	assert_int_equal(pod_copy(&copy, &p), 0);
	assert_ptr_not_equal(copy.class_annotation, p.class_annotation);
	pod_free(&p);
	json_decref(j);
	assert_string_equal(copy.class_annotation, "critical");
	assert_string_equal(copy.ports_annotation, "5432/tcp=critical");
	assert_int_equal(copy.n_ips, 2);
	pod_free(&copy);
}

static void test_bad_objects(void **state)
{
	static const struct { const char *json, *expect; } cases[] = {
		{ "[]", "pod: expected a JSON object" },
		{ "{}", "metadata: required" },
		{ "{\"metadata\": {\"name\": \"x\"}}", "metadata.uid: required" },
		{ "{\"metadata\": {\"uid\": \"\"}}", "metadata.uid: required, empty" },
		{ "{\"metadata\": {\"uid\": 5}}", "metadata.uid: expected a string" },
		{ "{\"metadata\": {\"uid\": \"u\", \"namespace\": 1}}",
		  "metadata.namespace: expected a string" },
		{ "{\"metadata\": {\"uid\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaa\"}}", "metadata.uid: expected at most 63 bytes" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = json_loads(cases[i].json, 0, NULL);
		struct pod p;
		char err[256];

		assert_non_null(j);
		if (pod_from_json(j, &p, err, sizeof(err)) != -EINVAL)
			fail_msg("case %zu accepted", i);
		if (!strstr(err, cases[i].expect))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].expect);
		pod_free(&p);
		json_decref(j);
	}
}

static void test_minimal_and_odd_fields(void **state)
{
	/* No status, null deletionTimestamp, empty podIP, non-string label. */
	json_t *j = json_loads("{\"metadata\": {\"uid\": \"u1\", \"deletionTimestamp\": null,"
			       " \"labels\": {\"a\": \"b\", \"n\": 3}},"
			       " \"spec\": {\"hostNetwork\": false},"
			       " \"status\": {\"podIP\": \"\", \"phase\": \"Pending\"}}", 0, NULL);
	struct pod p;
	char err[256];

	assert_non_null(j);
	assert_int_equal(pod_from_json(j, &p, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(p.n_ips, 0);
	assert_false(p.deleting || p.host_network || p.finished);
	assert_int_equal(p.n_labels, 1);
	assert_string_equal(p.namespace_, "");
	pod_free(&p);
	json_decref(j);
}

/* Parse json (with JSON_ALLOW_NUL, as kube_watch does). */
static json_t *nul_json(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_ALLOW_NUL, &jerr);

	if (!j)
		fail_msg("bad test JSON: %s", jerr.text);
	return j;
}

/* A NUL in an annotation keeps the pod and flags the annotation (shown as
 * \u0000 text); a NUL in a label skips the label. */
static void test_nul_in_annotations_and_labels(void **state)
{
	json_t *j = nul_json("{\"metadata\": {\"uid\": \"u1\", \"namespace\": \"shop\","
			     " \"name\": \"db-0\", \"annotations\": {"
			     "\"tcprio.io/class\": \"critical\\u0000x\","
			     "\"tcprio.io/ports\": \"5432=bulk\\u0000\"},"
			     " \"labels\": {\"app\": \"postgres\\u0000evil\", \"tier\": \"db\"}},"
			     " \"status\": {\"podIP\": \"198.18.0.10\"}}");
	struct pod p, copy;
	char err[512];

	/* jansson's parser refuses NUL in keys; an object built in memory may hold one */
	assert_int_equal(json_object_setn_new(json_object_get(json_object_get(j, "metadata"),
							      "labels"),
					      "te\0am", 5, json_string("a")), 0);

	assert_int_equal(pod_from_json(j, &p, err, sizeof(err)), 0);
	assert_true(p.class_annotation_nul);
	assert_true(p.ports_annotation_nul);
	assert_string_equal(p.class_annotation, "critical\\u0000x");
	assert_string_equal(p.ports_annotation, "5432=bulk\\u0000");
	assert_int_equal(p.n_labels, 1);
	assert_string_equal(pod_label(&p, "tier"), "db");
	assert_null(pod_label(&p, "app"));
	assert_null(strstr(err, "pod shop/db-0")); /* notes: the caller names the pod */
	assert_non_null(strstr(err, "label \"app\" value contains a NUL character"));
	assert_non_null(strstr(err, "label \"te\" name contains a NUL character"));
	assert_int_equal(pod_copy(&copy, &p), 0);
	assert_true(copy.class_annotation_nul && copy.ports_annotation_nul);
	pod_free(&copy);
	pod_free(&p);
	assert_false(p.class_annotation_nul || p.ports_annotation_nul);
	json_decref(j);

	/* no NUL: no flag */
	j = nul_json("{\"metadata\": {\"uid\": \"u1\", \"annotations\": "
		     "{\"tcprio.io/class\": \"critical\"}}}");
	assert_int_equal(pod_from_json(j, &p, err, sizeof(err)), 0);
	assert_false(p.class_annotation_nul);
	assert_string_equal(p.class_annotation, "critical");
	pod_free(&p);
	json_decref(j);
}

/* A NUL in the pod's identity or an IP rejects the pod, naming the field. */
/* A pod with 41 labels, app=postgres last: every label is read (only the
 * first 32 were, so a label rule on app missed the pod silently). */
static void test_all_labels_read(void **state)
{
	json_t *j = json_loads("{\"metadata\": {\"uid\": \"u41\", \"name\": \"pg-0\", "
			       "\"namespace\": \"db\", \"labels\": {}}, "
			       "\"status\": {\"podIP\": \"198.18.0.41\"}}", 0, NULL);
	json_t *labels = json_object_get(json_object_get(j, "metadata"), "labels");
	struct pod p, copy;
	char err[256], key[32];

	(void)state;
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "example.com/label-%02d", i);
		json_object_set_new(labels, key, json_string("x"));
	}
	json_object_set_new(labels, "app", json_string("postgres"));
	assert_int_equal(pod_from_json(j, &p, err, sizeof(err)), 0);
	assert_int_equal(p.n_labels, 41);
	assert_string_equal(pod_label(&p, "app"), "postgres");
	assert_string_equal(pod_label(&p, "example.com/label-39"), "x");
	assert_string_equal(err, "");
	assert_int_equal(pod_copy(&copy, &p), 0);
	assert_string_equal(pod_label(&copy, "app"), "postgres");
	pod_free(&copy);
	pod_free(&p);
	json_decref(j);
}

static void test_nul_in_identity_rejects(void **state)
{
	static const struct { const char *json, *expect; } cases[] = {
		{ "{\"metadata\": {\"uid\": \"u\\u0000v\"}}",
		  "metadata.uid: contains a NUL character" },
		{ "{\"metadata\": {\"uid\": \"u1\", \"name\": \"a\\u0000b\"}}",
		  "pod uid u1: metadata.name: contains a NUL character" },
		{ "{\"metadata\": {\"uid\": \"u1\", \"namespace\": \"\\u0000\"}}",
		  "metadata.namespace: contains a NUL character" },
		{ "{\"metadata\": {\"uid\": \"u1\", \"resourceVersion\": \"1\\u00002\"}}",
		  "metadata.resourceVersion: contains a NUL character" },
		{ "{\"metadata\": {\"uid\": \"u1\"}, \"spec\": {\"nodeName\": \"n\\u0000\"}}",
		  "spec.nodeName: contains a NUL character" },
		{ "{\"metadata\": {\"uid\": \"u1\", \"namespace\": \"ns\", \"name\": \"p\"},"
		  " \"status\": {\"podIP\": \"198.18.0.1\\u0000junk\"}}",
		  "pod ns/p: status.podIP: contains a NUL character" },
		{ "{\"metadata\": {\"uid\": \"u1\", \"namespace\": \"ns\", \"name\": \"p\"},"
		  " \"status\": {\"podIPs\": [{\"ip\": \"198.18.0.2\"},"
		  " {\"ip\": \"2001:db8::1\\u0000\"}]}}",
		  "pod ns/p: status.podIPs[1].ip: contains a NUL character" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = nul_json(cases[i].json);
		struct pod p;
		char err[256];

		if (pod_from_json(j, &p, err, sizeof(err)) != -EINVAL)
			fail_msg("case %zu accepted", i);
		if (!strstr(err, cases[i].expect))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].expect);
		pod_free(&p);
		json_decref(j);
	}
}

/* A phase "Failed\u0000x" is not Failed. */
static void test_nul_in_phase(void **state)
{
	json_t *j = nul_json("{\"metadata\": {\"uid\": \"u1\"}, \"status\": "
			     "{\"phase\": \"Failed\\u0000x\", \"podIP\": \"198.18.0.3\"}}");
	struct pod p;
	char err[256];

	assert_int_equal(pod_from_json(j, &p, err, sizeof(err)), 0);
	assert_false(p.finished);
	assert_int_equal(p.n_ips, 1);
	pod_free(&p);
	json_decref(j);
}

/* Unspecified, loopback, multicast and broadcast pod IPs are skipped with a
 * note naming the field and the IP (the caller adds the pod); unicast ones (also link-local, 240/4) kept. */
static void test_non_unicast_ips_skipped(void **state)
{
	static const struct { const char *ip, *why; } bad[] = {
		{ "0.0.0.0", "unspecified" }, { "0.1.2.3", "unspecified" },
		{ "::", "unspecified" }, { "127.0.0.1", "loopback" },
		{ "::1", "loopback" }, { "::ffff:127.0.0.5", "loopback" },
		{ "224.0.0.1", "multicast" }, { "239.255.255.250", "multicast" },
		{ "ff02::1", "multicast" }, { "255.255.255.255", "broadcast" },
		{ "999.1.1.1", "not an IPv4 or IPv6 address" },
	};
	static const char *const good[] = { "198.18.0.4", "2001:db8::4", "169.254.1.1",
					     "fe80::1", "240.0.0.1", "223.255.255.255" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256], err[512], want[128];
		struct pod p;
		json_t *j;

		snprintf(text, sizeof(text), "{\"metadata\": {\"uid\": \"u1\", \"namespace\": "
			 "\"ns\", \"name\": \"web\"}, \"status\": {\"podIPs\": [{\"ip\": \"%s\"},"
			 " {\"ip\": \"198.18.0.9\"}]}}", bad[i].ip);
		j = nul_json(text);
		assert_int_equal(pod_from_json(j, &p, err, sizeof(err)), 0);
		if (p.n_ips != 1)
			fail_msg("%s: %d IPs kept, expected 1", bad[i].ip, p.n_ips);
		snprintf(want, sizeof(want), "status.podIPs[0].ip: \"%s\" is ",
			 bad[i].ip);
		if (strncmp(err, want, strlen(want)) || !strstr(err, bad[i].why) ||
		    !strstr(err, "skipped"))
			fail_msg("%s: note \"%s\" lacks \"%s\" / %s", bad[i].ip, err, want,
				 bad[i].why);
		pod_free(&p);
		json_decref(j);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char text[256], err[512];
		struct pod p;
		json_t *j;

		snprintf(text, sizeof(text), "{\"metadata\": {\"uid\": \"u1\"}, "
			 "\"status\": {\"podIP\": \"%s\"}}", good[i]);
		j = nul_json(text);
		assert_int_equal(pod_from_json(j, &p, err, sizeof(err)), 0);
		if (p.n_ips != 1 || err[0])
			fail_msg("%s: %d IPs, note \"%s\"", good[i], p.n_ips, err);
		pod_free(&p);
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_keys),
		cmocka_unit_test(test_pod_id),
		cmocka_unit_test(test_gke_pod),
		cmocka_unit_test(test_other_pods),
		cmocka_unit_test(test_roundtrip_pod),
		cmocka_unit_test(test_podlists),
		cmocka_unit_test(test_dual_stack_and_annotations),
		cmocka_unit_test(test_bad_objects),
		cmocka_unit_test(test_minimal_and_odd_fields),
		cmocka_unit_test(test_nul_in_annotations_and_labels),
		cmocka_unit_test(test_nul_in_identity_rejects),
		cmocka_unit_test(test_all_labels_read),
		cmocka_unit_test(test_nul_in_phase),
		cmocka_unit_test(test_non_unicast_ips_skipped),
	};

	return cmocka_run_group_tests_name("pod", tests, find_fixtures, NULL);
}
