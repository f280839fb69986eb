/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_uplink_qdisc - uplink_qdisc_install/remove on a veth in a network
 * namespace of the test's own; the result is read back with iproute2
 * (`tc -d class show`, `tc -j qdisc show`), not with libnl, so the check is
 * independent of the code under test.  (This iproute2 prints no JSON for
 * HTB classes, hence the text parsing.)
 */
#include <errno.h>
#include <jansson.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "policy/class_table.h"
#include "lib/log.h"
#include "dp/uplink_qdisc.h"
#include "tap.h"

#define DEV "tptup0"

struct cls {
	char parent[16];
	long prio, quantum;
	unsigned long long rate, ceil; /* bits/s */
	unsigned long long burst;      /* bytes */
	char leaf[16];
};

/* tc's number with an optional K, M or G prefix, scaled by base per step:
 * rates ("25Mbit", "800bit" -> bits/s) are 1000-based, sizes ("3125b",
 * "30Kb" -> bytes) 1024-based. */
static unsigned long long tc_scaled(const char *s, double base)
{
	char *end;
	double v = strtod(s, &end);

	if (*end == 'K')
		v *= base;
	else if (*end == 'M')
		v *= base * base;
	else if (*end == 'G')
		v *= base * base * base;
	return (unsigned long long)(v + 0.5);
}

/* Parse the `tc -d class show` line of classid (e.g. "1:a").  0 or -1. */
static int get_class(const char *classid, struct cls *c)
{
	char out[8192], pat[32], *line, *save = NULL;

	memset(c, 0, sizeof(*c));
	c->prio = c->quantum = -1;
	sh_out(out, sizeof(out), "tc -d class show dev " DEV);
	snprintf(pat, sizeof(pat), "class htb %s ", classid);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok, *s2 = NULL;

		if (strncmp(line, pat, strlen(pat)))
			continue;
		char *tk[64];
		int n = 0;

		for (tok = strtok_r(line, " ", &s2); tok && n < 64; tok = strtok_r(NULL, " ", &s2))
			tk[n++] = tok;
		for (int i = 0; i + 1 < n; i++) {
			const char *val = tk[i + 1];

			if (!strcmp(tk[i], "parent"))
				snprintf(c->parent, sizeof(c->parent), "%s", val);
			else if (!strcmp(tk[i], "leaf"))
				snprintf(c->leaf, sizeof(c->leaf), "%s", val);
			else if (!strcmp(tk[i], "prio"))
				c->prio = atol(val);
			else if (!strcmp(tk[i], "quantum"))
				c->quantum = atol(val);
			else if (!strcmp(tk[i], "rate"))
				c->rate = tc_scaled(val, 1000);
			else if (!strcmp(tk[i], "ceil"))
				c->ceil = tc_scaled(val, 1000);
			else if (!strcmp(tk[i], "burst"))
				c->burst = tc_scaled(val, 1024);
		}
		return 0;
	}
	return -1;
}

static int n_classes(void)
{
	char out[32];

	sh_out(out, sizeof(out), "tc class show dev " DEV " | grep -c '^class htb'");
	return atoi(out);
}

/* Root qdisc kind/handle/default from `tc -j qdisc show`. */
static void get_root(char *kind, char *handle, char *defcls, size_t len)
{
	char out[8192];
	json_t *arr, *q;
	size_t i;

	kind[0] = handle[0] = defcls[0] = '\0';
	sh_out(out, sizeof(out), "tc -j qdisc show dev " DEV);
	arr = json_loads(out, 0, NULL);
	json_array_foreach(arr, i, q) {
		if (!json_is_true(json_object_get(q, "root")))
			continue;
		snprintf(kind, len, "%s", json_string_value(json_object_get(q, "kind")));
		snprintf(handle, len, "%s", json_string_value(json_object_get(q, "handle")));
		if (json_string_value(json_object_get(json_object_get(q, "options"), "default")))
			snprintf(defcls, len, "%s", json_string_value(
				json_object_get(json_object_get(q, "options"), "default")));
	}
	json_decref(arr);
}

/* The qdisc under class parent: its kind into kind, and the option opt
 * (e.g. "limit" of a pfifo, "burst" of a tbf, in bytes), -1 if none. */
static long leaf_qdisc(const char *parent, const char *opt, char *kind, size_t len)
{
	char out[16384];
	json_t *arr, *q;
	size_t i;
	long v = -1;

	kind[0] = '\0';
	sh_out(out, sizeof(out), "tc -j qdisc show dev " DEV);
	arr = json_loads(out, 0, NULL);
	json_array_foreach(arr, i, q) {
		const char *p = json_string_value(json_object_get(q, "parent"));
		json_t *o;

		if (!p || strcmp(p, parent))
			continue;
		snprintf(kind, len, "%s", json_string_value(json_object_get(q, "kind")));
		o = json_object_get(json_object_get(q, "options"), opt);
		if (json_is_integer(o))
			v = (long)json_integer_value(o);
	}
	json_decref(arr);
	return v;
}

/* A WAN leaf's qdisc: a tbf that never limits (rate >= 10 Gbit/s) and whose
 * burst is below the shortest GSO packet of two segments (a frame + 55
 * bytes of IPv4/TCP headers and payload), so every GSO packet is split.  tc
 * shows the burst rounded down to whole microseconds at the tbf's rate
 * (1250 bytes at 10 Gbit/s), so only the upper bound can be read here; that
 * a full frame passes (the burst is at least 1514) is what
 * tests/node/test_site_traffic.py shows with real traffic. */
static bool is_split_tbf(const char *parent)
{
	char kind[16];
	long burst = leaf_qdisc(parent, "burst", kind, sizeof(kind));
	long rate = leaf_qdisc(parent, "rate", kind, sizeof(kind)); /* bytes/s */

	if (strcmp(kind, "tbf") || burst <= 0 || burst >= 1514 + 55 || rate < 1250000000L) {
		printf("# %s: qdisc %s burst %ld rate %ld B/s\n", parent, kind, burst, rate);
		return false;
	}
	return true;
}

static void test_defaults(int ifindex, struct class_table *t)
{
	char ids[4][16], kind[16], handle[16], def[16], want_def[16];
	struct cls c;
	bool ok = true;
	int r;

	for (int i = 0; i < 4; i++)
		snprintf(ids[i], sizeof(ids[i]), "%x:%x", t->classes[i].priority >> 16,
			 t->classes[i].priority & 0xffff);
	snprintf(want_def, sizeof(want_def), "%#x", t->classes[t->default_class].priority & 0xffff);

	CHECK(uplink_qdisc_install(ifindex, 100000000ULL, t) == 0, "install 100mbit, default classes");
	get_root(kind, handle, def, sizeof(kind));
	CHECK(!strcmp(kind, "htb") && !strcmp(handle, "1:") && !strcmp(def, want_def),
	      "root htb 1: default %s (got %s %s %s)", want_def, kind, handle, def);
	r = get_class("1:1", &c);
	CHECK(r == 0 && c.rate == 100000000ULL && c.ceil == 100000000ULL,
	      "class 1:1 rate = ceil = 100mbit (%llu/%llu)", c.rate, c.ceil);
	for (int i = 0; i < 4; i++) {
		if (get_class(ids[i], &c) || strcmp(c.parent, "1:fffd") || c.prio != i ||
		    c.rate != 25000000ULL || c.ceil != 100000000ULL || c.quantum < 1514 ||
		    c.quantum > 200000 || !is_split_tbf(ids[i])) {
			printf("# %s: parent %s prio %ld rate %llu ceil %llu quantum %ld\n",
			       ids[i], c.parent, c.prio, c.rate, c.ceil, c.quantum);
			ok = false;
		}
	}
	CHECK(ok, "4 leaves (1:10..1:40 by default) under the WAN branch 1:fffd, prio 0..3, "
	      "fair share 25mbit, ceil 100mbit, tbf child with a one-frame burst");
	r = get_class("1:fffd", &c);
	CHECK(r == 0 && !strcmp(c.parent, "1:1") && c.rate == 100000000ULL &&
	      c.ceil == 100000000ULL, "WAN branch 1:fffd under 1:1 at the whole 100mbit "
	      "(single node: today's shape) (%s %llu/%llu)", c.parent, c.rate, c.ceil);
	{
		char kind[16];
		long lim;

		r = get_class("1:fffe", &c);
		lim = leaf_qdisc("1:fffe", "limit", kind, sizeof(kind));
		CHECK(r == 0 && !strcmp(c.parent, "1:1") && c.ceil == 100000000ULL &&
		      !strcmp(kind, "pfifo") && lim == UPLINK_QDISC_LAN_LIMIT,
		      "LAN leaf 1:fffe under 1:1, ceil 100mbit, pfifo %d (%s %llu %s %ld)",
		      UPLINK_QDISC_LAN_LIMIT, c.parent, c.ceil, kind, lim);
	}
	{
		struct cls lan;

		/* 250 us at 100 Mbit/s: 3125 bytes (user/dp/uplink_qdisc.c link_burst) */
		r = get_class("1:1", &c) | get_class("1:fffe", &lan);
		CHECK(r == 0 && c.burst >= 3000 && c.burst <= 4000 && lan.burst >= 3000 &&
		      lan.burst <= 4000, "root 1:1 and LAN leaf 1:fffe burst 250 us of the link's "
		      "time, not libnl's one frame (%llu, %llu bytes)", c.burst, lan.burst);
	}
	CHECK(n_classes() == 7, "7 HTB classes in all (%d)", n_classes());
}

static void test_reinstall(int ifindex, struct class_table *t)
{
	char kind[16], handle[16], def[16];
	struct cls c;
	char id0[16], id1[16], id2[16], id3[16], want_def[16];
	int r;

	snprintf(id0, sizeof(id0), "1:%x", t->classes[0].priority & 0xffff);
	snprintf(id1, sizeof(id1), "1:%x", t->classes[1].priority & 0xffff);
	snprintf(id2, sizeof(id2), "1:%x", t->classes[2].priority & 0xffff);
	snprintf(id3, sizeof(id3), "1:%x", t->classes[3].priority & 0xffff);
	snprintf(want_def, sizeof(want_def), "%#x", t->classes[3].priority & 0xffff);
	CHECK(uplink_qdisc_install(ifindex, 100000000ULL, t) == 0 && n_classes() == 7,
	      "install again: idempotent");
	CHECK(uplink_qdisc_install(ifindex, 50000000ULL, t) == 0, "reinstall at 50mbit");
	r = get_class("1:1", &c);
	CHECK(r == 0 && c.rate == 50000000ULL, "1:1 now 50mbit (%llu)", c.rate);
	r = get_class(id3, &c);
	CHECK(r == 0 && c.rate == 12500000ULL && c.ceil == 50000000ULL,
	      "leaf share 12.5mbit, ceil 50mbit (%llu/%llu)", c.rate, c.ceil);

	/* Explicit rate/ceil on critical; the others share the rest. */
	t->classes[0].rate_bps = 20000000ULL;
	t->classes[0].ceil_bps = 30000000ULL;
	CHECK(uplink_qdisc_install(ifindex, 50000000ULL, t) == 0, "install with critical rate 20/30mbit");
	r = get_class(id0, &c);
	CHECK(r == 0 && c.rate == 20000000ULL && c.ceil == 30000000ULL,
	      "critical rate 20mbit ceil 30mbit (%llu/%llu)", c.rate, c.ceil);
	r = get_class(id1, &c);
	CHECK(r == 0 && c.rate == 10000000ULL,
	      "others share the remaining 30mbit: 10mbit (%llu)", c.rate);

	/* New default class: HTB cannot change it in place, the root is replaced. */
	t->default_class = 3;
	CHECK(uplink_qdisc_install(ifindex, 50000000ULL, t) == 0, "install with default bulk");
	get_root(kind, handle, def, sizeof(kind));
	CHECK(!strcmp(def, want_def) && n_classes() == 7, "root default now %s (%s), 7 classes",
	      want_def, def);

	/* Fewer classes: the stale leaf goes. */
	t->n_classes = 4;
	t->classes[2] = t->classes[3]; /* drop "normal" */
	t->n_classes = 3;
	t->default_class = 2;
	CHECK(uplink_qdisc_install(ifindex, 50000000ULL, t) == 0 && n_classes() == 6 &&
	      get_class(id2, &c) != 0 && get_class(id3, &c) == 0 && c.prio == 2,
	      "3 classes: %s (normal) removed, %s (bulk) now prio 2", id2, id3);

	/* Low rate: quantum stays >= MTU (no r2q underflow). */
	r = uplink_qdisc_install(ifindex, 64000ULL, t);
	r = r ? r : get_class(id0, &c);
	CHECK(r == 0 && c.quantum >= 1514, "64kbit uplink: quantum %ld >= 1514", c.quantum);
}

/* A node of a site: link 1gbit, WAN share 9.5mbit, a per-class WAN rate;
 * then an old-shape tree (leaves under 1:1) is replaced, not patched. */
static void test_site_shape(int ifindex, struct class_table *t)
{
	struct site_class_rate rates[TCPRIO_MAX_CLASSES] = { [0] = { 2000000ULL, 9500000ULL } };
	struct uplink_shape shape = { .link_rate_bps = 1000000000ULL, .wan_rate_bps = 9500000ULL,
				   .class_rates = rates };
	char id0[16], id1[16];
	struct cls c;
	int r;

	class_table_defaults(t);
	snprintf(id0, sizeof(id0), "1:%x", t->classes[0].priority & 0xffff);
	snprintf(id1, sizeof(id1), "1:%x", t->classes[1].priority & 0xffff);
	CHECK(uplink_qdisc_install_shape(ifindex, &shape, t) == 0, "install link 1gbit, WAN share 9.5mbit");
	r = get_class("1:1", &c);
	CHECK(r == 0 && c.rate == 1000000000ULL, "1:1 at the link's 1gbit (%llu)", c.rate);
	r = get_class("1:fffe", &c);
	CHECK(r == 0 && c.rate == 990500000ULL && c.ceil == 1000000000ULL,
	      "LAN leaf rate = link - WAN = 990.5mbit, ceil 1gbit (%llu/%llu)", c.rate, c.ceil);
	r = get_class("1:fffd", &c);
	CHECK(r == 0 && c.rate == 9500000ULL && c.ceil == 9500000ULL,
	      "WAN branch rate = ceil = 9.5mbit (%llu/%llu)", c.rate, c.ceil);
	r = get_class(id0, &c);
	CHECK(r == 0 && c.rate == 2000000ULL && c.ceil == 9500000ULL && c.prio == 0 &&
	      is_split_tbf(id0), "critical: the site's per-class WAN rate 2mbit, ceil 9.5mbit, "
	      "tbf child (%llu/%llu)", c.rate, c.ceil);
	r = get_class(id1, &c);
	CHECK(r == 0 && c.rate == 2500000ULL && c.ceil == 9500000ULL,
	      "others share the rest of the WAN share: 7.5mbit / 3 (%llu/%llu)", c.rate, c.ceil);

	/* A tree of the old shape (leaves under 1:1, pfifo) is rebuilt. */
	sh("tc qdisc del dev " DEV " root 2>/dev/null; "
	       "tc qdisc add dev " DEV " root handle 1: htb default 30 && "
	       "tc class add dev " DEV " parent 1: classid 1:1 htb rate 50mbit quantum 1514 && "
	       "tc class add dev " DEV " parent 1:1 classid 1:30 htb rate 10mbit ceil 50mbit quantum 1514 && "
	       "tc qdisc add dev " DEV " parent 1:30 handle 30: pfifo limit 256");
	CHECK(uplink_qdisc_install_shape(ifindex, &shape, t) == 0 && get_class("1:30", &c) == 0 &&
	      !strcmp(c.parent, "1:fffd") && is_split_tbf("1:30") && n_classes() == 7,
	      "a tree of the old shape (leaf 1:30 under 1:1 with pfifo) is replaced: 1:30 "
	      "now under 1:fffd with a tbf (parent %s, %d classes)", c.parent, n_classes());
	CHECK(uplink_link_speed_bps(DEV) == 10000000000ULL && uplink_link_speed_bps("nosuchdev0") == 0,
	      "a veth reports 10gbit; a missing link reports nothing");
}

static void test_bad_input(int ifindex)
{
	struct class_table t;

	class_table_defaults(&t);
	t.classes[1].priority = 0x20010;
	CHECK(uplink_qdisc_install(ifindex, 1000000ULL, &t) == -EINVAL, "priority 2:10 rejected");
	class_table_defaults(&t);
	t.classes[1].priority = t.classes[0].priority;
	CHECK(uplink_qdisc_install(ifindex, 1000000ULL, &t) == -EINVAL, "duplicate priority rejected");
	class_table_defaults(&t);
	t.classes[1].priority = 0x10001;
	CHECK(uplink_qdisc_install(ifindex, 1000000ULL, &t) == -EINVAL, "priority 1:1 rejected");
	t.classes[1].priority = 0x1fffe;
	CHECK(uplink_qdisc_install(ifindex, 1000000ULL, &t) == -EINVAL && uplink_qdisc_check(&t) == -EINVAL,
	      "priority 1:fffe (the LAN leaf) rejected");
	t.classes[1].priority = 0x1fffd;
	CHECK(uplink_qdisc_install(ifindex, 1000000ULL, &t) == -EINVAL, "priority 1:fffd (the WAN branch) rejected");
	CHECK(uplink_qdisc_install(ifindex, 0, &t) == -EINVAL, "rate 0 rejected");
	CHECK(uplink_qdisc_install(999999, 1000000ULL, &t) == -ENODEV, "missing ifindex: -ENODEV");
}

int main(void)
{
	char kind[16], handle[16], def[16];
	struct class_table t;
	int ifindex;

	if (geteuid() != 0) {
		return tap_skip_all("needs root (netns, tc)");
	}
	if (unshare(CLONE_NEWNET)) {
		return tap_skip_all("cannot create a network namespace");
	}
	tap_plan(39);
	log_set_level(LOG_LVL_WARN);
	if (!CHECK(sh("ip link add " DEV " type veth peer name tptup1 && ip link set " DEV " up") == 0,
		   "create veth"))
		return 1;
	ifindex = if_nametoindex(DEV);
	class_table_defaults(&t);

	test_defaults(ifindex, &t);
	test_reinstall(ifindex, &t);
	test_site_shape(ifindex, &t);
	test_bad_input(ifindex);

	CHECK(uplink_qdisc_remove(ifindex) == 1, "remove: 1 = removed");
	get_root(kind, handle, def, sizeof(kind));
	CHECK(strcmp(kind, "htb") != 0 && n_classes() == 0, "default root qdisc back (%s)", kind);
	CHECK(uplink_qdisc_remove(ifindex) == 0, "remove again: no-op");
	CHECK(sh("tc qdisc add dev " DEV " root handle 5: tbf rate 1mbit burst 10k latency 50ms") == 0 &&
	      uplink_qdisc_remove(ifindex) == 0 &&
	      sh("tc qdisc show dev " DEV " | grep -q 'tbf 5: root'") == 0,
	      "remove leaves a foreign root qdisc alone");
	return tap_done();
}
