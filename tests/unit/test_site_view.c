/* SPDX-License-Identifier: BSD-2-Clause */
/* test_site_view.c - Node JSON -> struct node, and the site logic: share of
 * the WAN budget (join, leave, NotReady, weights, no label, unknown self,
 * the sum never above the budget) and the destinations (LAN/WAN prefixes)
 * after Node events: a pod CIDR that changes, a deleted Node; a wanRate
 * below its nodes' floors noted (cmocka; unprivileged). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kube/node.h"
#include "policy/site_view.h"

#define ZONE "topology.kubernetes.io/zone"
#define MAXN 16

static const char table_yaml[] =
	"classes:\n  - {name: critical, priority: \"1:10\", dscp: 46}\n"
	"  - {name: bulk, priority: \"1:40\", rate: 2mbit, ceil: 16mbit}\n"
	"defaultClass: bulk\n"
	"sites:\n"
	"  - name: store-17\n    wanRate: 20mbit\n"
	"    classes: {critical: {rate: 4mbit, ceil: 20mbit}}\n"
	"  - name: dc-1\n    wanRate: 10gbit\n"
	"defaultSite: {wanRate: 50mbit}\n"
	"localCIDRs: [198.19.0.0/16]\n"
	"remoteCIDRs: [198.18.200.0/24, \"2001:db8:ff::/48\"]\n";

struct world {
	struct class_table t;
	struct node nodes[MAXN];
	size_t n;
};

/* Add or replace node name (site NULL: no label; weight NULL: none). */
static void put_node(struct world *w, const char *name, const char *site, bool ready,
		     const char *weight, const char *addr, const char *cidr4, const char *cidr6)
{
	char js[2048], err[256];
	json_t *obj;
	size_t i;
	int n;

	n = snprintf(js, sizeof(js), "{\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\","
		     "\"resourceVersion\":\"7\",\"labels\":{\"kubernetes.io/hostname\":\"%s\"%s%s%s},"
		     "\"annotations\":{%s%s%s}},"
		     "\"spec\":{\"podCIDRs\":[\"%s\"%s%s%s]},"
		     "\"status\":{\"conditions\":[{\"type\":\"MemoryPressure\",\"status\":\"False\"},"
		     "{\"type\":\"Ready\",\"status\":\"%s\"}],\"addresses\":["
		     "{\"type\":\"Hostname\",\"address\":\"%s\"},"
		     "{\"type\":\"InternalIP\",\"address\":\"%s\"}]}}",
		     name, name, site ? ",\"" ZONE "\":\"" : "", site ? site : "", site ? "\"" : "",
		     weight ? "\"tcprio.io/wan-weight\":\"" : "", weight ? weight : "",
		     weight ? "\"" : "", cidr4, cidr6 ? ",\"" : "", cidr6 ? cidr6 : "",
		     cidr6 ? "\"" : "", ready ? "True" : "False", name, addr);
	assert_true(n > 0 && (size_t)n < sizeof(js));
	obj = json_loads(js, 0, NULL);
	assert_non_null(obj);
	for (i = 0; i < w->n && strcmp(w->nodes[i].name, name); i++)
		;
	if (i < w->n)
		node_free(&w->nodes[i]);
	else
		w->n++;
	assert_int_equal(node_from_json(obj, &w->nodes[i], err, sizeof(err)), 0);
	json_decref(obj);
}

static void del_node(struct world *w, const char *name)
{
	for (size_t i = 0; i < w->n; i++) {
		if (strcmp(w->nodes[i].name, name))
			continue;
		node_free(&w->nodes[i]);
		w->nodes[i] = w->nodes[--w->n];
		return;
	}
	fail_msg("no node %s", name);
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	char err[256];

	assert_int_equal(class_table_parse(table_yaml, strlen(table_yaml), &w->t, err, sizeof(err)), 0);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	for (size_t i = 0; i < w->n; i++)
		node_free(&w->nodes[i]);
	class_table_free(&w->t);
	free(w);
	return 0;
}

static uint64_t share_of(struct world *w, const char *self)
{
	struct site_view v;

	site_view_compute(&w->t, self, w->nodes, w->n, &v);
	return v.share_bps;
}

/* Sum of the shares of every node of site (their own views). */
static uint64_t site_sum(struct world *w, const char *site)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < w->n; i++) {
		const char *s = node_label(&w->nodes[i], ZONE);

		if (s && !strcmp(s, site))
			sum += share_of(w, w->nodes[i].name);
	}
	return sum;
}

static void test_node_json(void **state)
{
	struct world *w = *state;
	const struct node *n;
	struct node copy;
	char err[256];
	json_t *bad = json_loads("{\"metadata\":{}}", 0, NULL);

	put_node(w, "edge-a", "store-17", true, "3", "198.18.0.10", "198.18.10.0/24", "2001:db8:a::/64");
	n = &w->nodes[0];
	assert_string_equal(n->name, "edge-a");
	assert_string_equal(n->resource_version, "7");
	assert_true(n->ready);
	assert_string_equal(node_label(n, ZONE), "store-17");
	assert_null(node_label(n, "nope"));
	assert_string_equal(n->wan_weight, "3");
	assert_int_equal(n->n_addrs, 1); /* the Hostname entry names no address */
	assert_int_equal(n->addrs[0].addr[12], 198);
	assert_int_equal(n->addrs[0].addr[15], 10);
	assert_int_equal(n->n_pod_cidrs, 2);
	assert_string_equal(n->pod_cidrs[1], "2001:db8:a::/64");
	assert_int_equal(node_copy(&copy, n), 0);
	assert_string_equal(node_label(&copy, ZONE), "store-17");
	assert_ptr_not_equal(copy.wan_weight, n->wan_weight);
	node_free(&copy);
	node_free(&copy);
	assert_int_equal(node_from_json(bad, &copy, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "metadata.name: missing"));
	json_decref(bad);
	/* podCIDR only (clusters before 1.16); an address that is no IP */
	bad = json_loads("{\"metadata\":{\"name\":\"old\"},\"spec\":{\"podCIDR\":\"198.18.9.0/24\"},"
			 "\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"x\"}]}}",
			 0, NULL);
	assert_int_equal(node_from_json(bad, &copy, err, sizeof(err)), 0);
	assert_int_equal(copy.n_pod_cidrs, 1);
	assert_int_equal(copy.n_addrs, 0);
	assert_false(copy.ready); /* no Ready condition: not Ready */
	assert_non_null(strstr(err, "status.addresses[0]: \"x\" is not an IP address"));
	node_free(&copy);
	json_decref(bad);

	/* every label is read: 100 Node Feature Discovery labels sort before the
	 * site label (only the first 64 were, and the node lost its site) */
	bad = json_pack("{s:{s:s, s:{}}}", "metadata", "name", "nfd", "labels");
	for (int i = 0; i < 100; i++) {
		char key[64];

		snprintf(key, sizeof(key), "feature.node.kubernetes.io/cpu-%03d", i);
		json_object_set_new(json_object_get(json_object_get(bad, "metadata"), "labels"),
				    key, json_string("true"));
	}
	json_object_set_new(json_object_get(json_object_get(bad, "metadata"), "labels"),
			    ZONE, json_string("store-17"));
	assert_int_equal(node_from_json(bad, &copy, err, sizeof(err)), 0);
	assert_int_equal(copy.n_labels, 101);
	assert_string_equal(node_label(&copy, ZONE), "store-17");
	assert_string_equal(err, "");
	node_free(&copy);
	json_decref(bad);
}

/* join, leave, NotReady, weights; the sum never above the budget */
static void test_share(void **state)
{
	struct world *w = *state;
	struct site_view v;

	put_node(w, "edge-a", "store-17", true, NULL, "198.18.0.10", "198.18.10.0/24", NULL);
	put_node(w, "dc-a", "dc-1", true, NULL, "198.18.0.100", "198.18.100.0/24", NULL);
	site_view_compute(&w->t, "edge-a", w->nodes, w->n, &v);
	assert_string_equal(v.site, "store-17");
	assert_true(v.labelled && v.self_known && v.self_ready && v.shaped);
	assert_true(v.budget_bps == 20000000);
	assert_true(v.share_bps == 20000000);           /* alone: the whole budget */
	assert_int_equal(v.nodes, 1);
	/* per-class rate scaled to the share (here 1:1) */
	assert_true(v.class_rates[0].rate_bps == 4000000 && v.class_rates[0].ceil_bps == 20000000);

	put_node(w, "edge-b", "store-17", true, NULL, "198.18.0.11", "198.18.11.0/24", NULL);
	assert_true(share_of(w, "edge-a") == 10000000);  /* join: halved */
	site_view_compute(&w->t, "edge-a", w->nodes, w->n, &v);
	assert_true(v.class_rates[0].rate_bps == 2000000 && v.class_rates[0].ceil_bps == 10000000);
	/* the table's own rate and ceiling (no site override) are the site's too:
	 * each node gets its share's part, so a guarantee never exceeds a share */
	assert_true(v.class_rates[1].rate_bps == 1000000 && v.class_rates[1].ceil_bps == 8000000);
	put_node(w, "edge-c", "store-17", true, NULL, "198.18.0.12", "198.18.12.0/24", NULL);
	assert_true(share_of(w, "edge-a") == 6666666);
	assert_true(site_sum(w, "store-17") <= 20000000);
	assert_true(share_of(w, "dc-a") == 10000000000ULL); /* other site untouched */

	/* NotReady: keeps the floor; the others share the rest */
	put_node(w, "edge-c", "store-17", false, NULL, "198.18.0.12", "198.18.12.0/24", NULL);
	assert_true(share_of(w, "edge-c") == SITE_VIEW_FLOOR_BPS);
	assert_true(share_of(w, "edge-a") == (20000000 - SITE_VIEW_FLOOR_BPS) / 2);
	assert_true(site_sum(w, "store-17") <= 20000000);
	site_view_compute(&w->t, "edge-a", w->nodes, w->n, &v);
	assert_int_equal(v.nodes, 3);
	assert_int_equal(v.ready_nodes, 2);

	/* leave */
	del_node(w, "edge-c");
	assert_true(share_of(w, "edge-a") == 10000000);

	/* weights 3:1 */
	put_node(w, "edge-a", "store-17", true, "3", "198.18.0.10", "198.18.10.0/24", NULL);
	assert_true(share_of(w, "edge-a") == 15000000);
	assert_true(share_of(w, "edge-b") == 5000000);
	assert_true(site_sum(w, "store-17") == 20000000);
	/* a bad weight counts 1 and says so */
	put_node(w, "edge-b", "store-17", true, "heavy", "198.18.0.11", "198.18.11.0/24", NULL);
	site_view_compute(&w->t, "edge-b", w->nodes, w->n, &v);
	assert_int_equal(v.weight, 1);
	assert_non_null(strstr(v.note, "tcprio.io/wan-weight=\"heavy\": expected an integer 1..1000"));
	assert_true(v.share_bps == 5000000);
	put_node(w, "edge-b", "store-17", true, "1001", "198.18.0.11", "198.18.11.0/24", NULL);
	assert_true(share_of(w, "edge-b") == 5000000);
	assert_true(site_sum(w, "store-17") <= 20000000);
}

/* A node without the label is a site of its own with the default budget;
 * an unknown self counts itself; a site with no budget is not shaped. */
static void test_unlabelled_and_unknown(void **state)
{
	struct world *w = *state;
	struct site_view v;
	struct class_table none;
	char err[256];
	static const char y[] = "classes:\n  - {name: a, priority: \"1:10\"}\ndefaultClass: a\n"
				"sites: [{name: store-17, wanRate: 20mbit}]\n";

	put_node(w, "lonely", NULL, true, NULL, "198.18.0.50", "198.18.50.0/24", NULL);
	put_node(w, "lonely-2", NULL, true, NULL, "198.18.0.51", "198.18.51.0/24", NULL);
	put_node(w, "edge-a", "store-17", true, NULL, "198.18.0.10", "198.18.10.0/24", NULL);
	site_view_compute(&w->t, "lonely", w->nodes, w->n, &v);
	assert_false(v.labelled);
	assert_string_equal(v.site, "lonely");
	assert_int_equal(v.nodes, 1);                    /* not grouped with lonely-2 */
	assert_true(v.shaped && v.share_bps == 50000000); /* defaultSite, whole */

	site_view_compute(&w->t, "ghost", w->nodes, w->n, &v);
	assert_false(v.self_known);
	assert_true(v.share_bps == 50000000);

	assert_int_equal(class_table_parse(y, strlen(y), &none, err, sizeof(err)), 0);
	site_view_compute(&none, "lonely", w->nodes, w->n, &v);
	assert_false(v.shaped);
	assert_true(v.share_bps == 0);
	site_view_compute(&none, "edge-a", w->nodes, w->n, &v);
	assert_true(v.shaped && v.share_bps == 20000000);
	class_table_free(&none);
}

static bool has_dest(const struct dest_entry *d, size_t n, const char *text, uint8_t scope,
		     uint8_t source)
{
	struct cidr c;

	assert_int_equal(cidr_parse(text, false, &c), 0);
	for (size_t i = 0; i < n; i++)
		if (cidr_equal(&d[i].prefix, &c))
			return d[i].scope == scope && d[i].source == source;
	return false;
}

static size_t dests(struct world *w, const char *self, struct dest_entry *d, size_t cap)
{
	struct site_view v;

	site_view_compute(&w->t, self, w->nodes, w->n, &v);
	return site_view_destinations(&w->t, &v, self, w->nodes, w->n, d, cap);
}

/* The destinations after Node events. */
static void test_destinations(void **state)
{
	struct world *w = *state;
	struct dest_entry d[64];
	size_t n;

	put_node(w, "edge-a", "store-17", true, NULL, "198.18.0.10", "198.18.10.0/24", "2001:db8:a::/64");
	put_node(w, "edge-b", "store-17", false, NULL, "198.18.0.11", "198.18.11.0/24", NULL);
	put_node(w, "dc-a", "dc-1", true, NULL, "198.18.0.100", "198.18.100.0/24", NULL);
	n = dests(w, "edge-a", d, 64);
	/* 2 addresses, 3 pod CIDRs, 1 local, 2 remote */
	assert_int_equal(n, 8);
	assert_true(has_dest(d, n, "198.18.0.10/32", TCPRIO_SCOPE_LAN, TCPRIO_DEST_NODE_ADDR));
	assert_true(has_dest(d, n, "198.18.0.11/32", TCPRIO_SCOPE_LAN, TCPRIO_DEST_NODE_ADDR));
	assert_true(has_dest(d, n, "198.18.10.0/24", TCPRIO_SCOPE_LAN, TCPRIO_DEST_POD_CIDR));
	assert_true(has_dest(d, n, "2001:db8:a::/64", TCPRIO_SCOPE_LAN, TCPRIO_DEST_POD_CIDR));
	assert_true(has_dest(d, n, "198.18.11.0/24", TCPRIO_SCOPE_LAN, TCPRIO_DEST_POD_CIDR));
	assert_true(has_dest(d, n, "198.19.0.0/16", TCPRIO_SCOPE_LAN, TCPRIO_DEST_LOCAL_CIDR));
	assert_true(has_dest(d, n, "198.18.200.0/24", TCPRIO_SCOPE_WAN, TCPRIO_DEST_REMOTE_CIDR));
	assert_true(has_dest(d, n, "2001:db8:ff::/48", TCPRIO_SCOPE_WAN, TCPRIO_DEST_REMOTE_CIDR));
	assert_false(has_dest(d, n, "198.18.100.0/24", TCPRIO_SCOPE_LAN, TCPRIO_DEST_POD_CIDR));
	assert_false(has_dest(d, n, "198.18.0.100/32", TCPRIO_SCOPE_LAN, TCPRIO_DEST_NODE_ADDR));

	/* edge-b's pod CIDR changes: the old prefix goes, the new one comes */
	put_node(w, "edge-b", "store-17", true, NULL, "198.18.0.11", "198.18.31.0/24", NULL);
	n = dests(w, "edge-a", d, 64);
	assert_int_equal(n, 8);
	assert_true(has_dest(d, n, "198.18.31.0/24", TCPRIO_SCOPE_LAN, TCPRIO_DEST_POD_CIDR));
	assert_false(has_dest(d, n, "198.18.11.0/24", TCPRIO_SCOPE_LAN, TCPRIO_DEST_POD_CIDR));

	/* edge-b moves to another site, then is deleted: its prefixes go */
	put_node(w, "edge-b", "store-99", true, NULL, "198.18.0.11", "198.18.31.0/24", NULL);
	n = dests(w, "edge-a", d, 64);
	assert_int_equal(n, 6);
	assert_false(has_dest(d, n, "198.18.31.0/24", TCPRIO_SCOPE_LAN, TCPRIO_DEST_POD_CIDR));
	put_node(w, "edge-b", "store-17", true, NULL, "198.18.0.11", "198.18.31.0/24", NULL);
	assert_int_equal(dests(w, "edge-a", d, 64), 8);
	del_node(w, "edge-b");
	n = dests(w, "edge-a", d, 64);
	assert_int_equal(n, 6);
	assert_false(has_dest(d, n, "198.18.0.11/32", TCPRIO_SCOPE_LAN, TCPRIO_DEST_NODE_ADDR));

	/* a pod CIDR that is also a remoteCIDR: the node's LAN wins */
	put_node(w, "edge-b", "store-17", true, NULL, "198.18.0.11", "198.18.200.0/24", NULL);
	n = dests(w, "edge-a", d, 64);
	assert_true(has_dest(d, n, "198.18.200.0/24", TCPRIO_SCOPE_LAN, TCPRIO_DEST_POD_CIDR));
	/* a bad pod CIDR is skipped; too small an array reports the need */
	put_node(w, "edge-b", "store-17", true, NULL, "198.18.0.11", "not-a-cidr", NULL);
	assert_int_equal(dests(w, "edge-a", d, 64), 7);
	assert_int_equal(dests(w, "edge-a", d, 2), 7);
}

static void test_parse_weight(void **state)
{
	static const char *const bad[] = { "", "0", "-1", "1001", "1.5", " 1", "1 ", "x", "99999" };
	unsigned v;

	assert_int_equal(site_view_parse_weight("1", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(site_view_parse_weight("1000", &v), 0);
	assert_int_equal(v, 1000);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (site_view_parse_weight(bad[i], &v) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
}

/* A wanRate below its nodes' floors (3 x 8 kbit/s > 10 kbit/s): every node
 * keeps its floor, and the view's note says so, naming the site and the
 * sum; one node alone fits (no note). */
static void test_floor_above_budget(void **state)
{
	static const char tiny[] =
		"classes:\n  - {name: critical, priority: \"1:10\", dscp: 46}\n"
		"  - {name: bulk, priority: \"1:40\"}\n"
		"defaultClass: bulk\n"
		"sites:\n  - {name: kiosk, wanRate: 10kbit}\n";
	struct world *w = *state;
	struct site_view v;
	char err[256];

	class_table_free(&w->t);
	assert_int_equal(class_table_parse(tiny, strlen(tiny), &w->t, err, sizeof(err)), 0);
	put_node(w, "k-1", "kiosk", true, NULL, "198.18.0.31", "198.18.31.0/24", NULL);
	site_view_compute(&w->t, "k-1", w->nodes, w->n, &v);
	assert_int_equal(v.share_bps, 10000);
	assert_string_equal(v.note, "");
	put_node(w, "k-2", "kiosk", true, NULL, "198.18.0.32", "198.18.32.0/24", NULL);
	put_node(w, "k-3", "kiosk", false, NULL, "198.18.0.33", "198.18.33.0/24", NULL);
	site_view_compute(&w->t, "k-1", w->nodes, w->n, &v);
	assert_int_equal(v.share_bps, SITE_VIEW_FLOOR_BPS);
	if (!strstr(v.note, "site kiosk: wanRate 10000 bit/s is below its 3 nodes' floors "
			    "(3 x 8000 = 24000 bit/s)"))
		fail_msg("note: \"%s\"", v.note);
	assert_int_equal(site_sum(w, "kiosk"), 24000);
	/* a bad weight's note stays, the floor's follows it */
	put_node(w, "k-1", "kiosk", true, "heavy", "198.18.0.31", "198.18.31.0/24", NULL);
	site_view_compute(&w->t, "k-1", w->nodes, w->n, &v);
	if (!strstr(v.note, "expected an integer 1..1000; weight 1 used; site kiosk: wanRate"))
		fail_msg("note: \"%s\"", v.note);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_node_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlabelled_and_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destinations, setup, teardown),
		cmocka_unit_test(test_parse_weight),
		cmocka_unit_test_setup_teardown(test_floor_above_budget, setup, teardown),
	};

	return cmocka_run_group_tests_name("site_view", tests, NULL, NULL);
}
