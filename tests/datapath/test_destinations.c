/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_destinations.c - the uplink's LAN/WAN decision (tcprio_destinations,
 * an LPM trie), through BPF_PROG_TEST_RUN: IPv4 and IPv6, longest prefix
 * wins, no match is WAN, IPv4 prefixes never match IPv6 destinations, the
 * per-scope counters, the pod edge ignoring the map, the kill switch and an
 * unparsed frame (fail open), bpftool printing the map's BTF fields, and
 * the same decision from the map's prefix list (tcprio_prefix_lists).
 */
#include <signal.h>
#include <jansson.h>

#include "datapath/harness.h"

#define PRIO_IN  0x55u         /* ctx_in skb->priority: "unchanged" marker */
#define C_CRIT   0
#define C_NORM   1             /* default */
#define P_CRIT   0x00010010u
#define P_NORM   0x00010030u
#define D_CRIT   46

#define SRC4     "198.18.0.10" /* endpoint of class critical */
#define SRC6     "2001:db8::10"

struct dest_case {
	const char *what;
	int family;
	const char *src, *dst;
	int hook;
	__u32 want_prio;       /* skb->priority after the run */
	__u32 want_class;
	__u8 want_scope;
};

static struct th_ctx ctx;

/* dst prefix "ADDR/LEN" -> scope, in the mapped keyspace. */
static int add_dest(const char *cidr, __u8 scope, __u8 source)
{
	char addr[64];
	const char *slash = strchr(cidr, '/');
	struct tcprio_dest_key k = { 0 };
	struct tcprio_dest v = { .scope = scope, .source = source };
	struct tcprio_ip ip;
	unsigned int len = (unsigned int)atoi(slash + 1);

	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - cidr), cidr);
	if (th_ip_key(addr, &ip))
		return -EINVAL;
	memcpy(k.addr, ip.addr, 16);
	k.prefixlen = strchr(addr, ':') ? len : 96 + len;
	if (bpf_map_update_elem(ctx.map_destinations, &k, &v, BPF_ANY))
		return -errno;
	return th_note_change(&ctx);   /* the uplink caches the answers */
}

/* Packets counted in tcprio_scope_stats[scope] (uplink only). */
static __u64 stat_scope(__u32 scope)
{
	struct tcprio_counters v[ctx.ncpus];
	__u64 sum = 0;

	if (bpf_map_lookup_elem(ctx.map_scope_stats, &scope, v))
		return 0;
	for (int i = 0; i < ctx.ncpus; i++)
		sum += v[i].packets;
	return sum;
}

static void run_case(const struct dest_case *c)
{
	struct pkt_spec s = {
		.family = c->family, .src = c->src, .dst = c->dst, .l4 = IPPROTO_TCP,
		.sport = 40000, .dport = 443, .payload_len = 100,
	};
	struct th_run_in in = { .priority = PRIO_IN, .ingress_ifindex = 7 }; /* forwarded */
	__u8 pkt[TH_PKT_MAX], out[TH_PKT_MAX + 256];
	struct pkt_layout lay;
	struct th_run_out r;
	size_t len = pkt_build(&s, pkt, sizeof(pkt), &lay);

	th_reset_counters(&ctx);
	th_case_begin("%s: %s -> %s, %s", c->what, c->src, c->dst,
		      c->hook == TCPRIO_HOOK_UPLINK ? "uplink" : "pod edge");
	ASSERT_OK(th_run(c->hook == TCPRIO_HOOK_UPLINK ? ctx.prog_uplink : ctx.prog_pod_edge,
			 pkt, (__u32)len, out, sizeof(out), &in, &r), "test run");
	ASSERT_EQ(r.retval, TC_ACT_UNSPEC, "verdict TC_ACT_UNSPEC (never drops)");
	ASSERT_EQ(r.priority, c->want_prio, "skb->priority");
	if (c->hook == TCPRIO_HOOK_UPLINK)
		ASSERT_MEMEQ(out, pkt, len, "uplink leaves the bytes unchanged");
	ASSERT_EQ(th_stat_packets(&ctx, c->hook, c->want_class), 1, "counted once under the class");
	ASSERT_EQ(stat_scope(c->want_scope), c->hook == TCPRIO_HOOK_UPLINK ? 1 : 0,
		  "uplink: counted once under its scope (pod edge: not at all)");
	ASSERT_EQ(stat_scope(!c->want_scope), 0, "nothing counted under the other scope");
	th_case_end();
}

#define U TCPRIO_HOOK_UPLINK
#define LAN TCPRIO_SCOPE_LAN
#define WAN TCPRIO_SCOPE_WAN
#define PLAN TCPRIO_LAN_PRIORITY

static const struct dest_case empty_cases[] = {
	{ "empty map: everything is WAN", 4, SRC4, "198.18.1.1", U, P_CRIT, C_CRIT, WAN },
	{ "empty map: everything is WAN", 6, SRC6, "2001:db8:1::5", U, P_CRIT, C_CRIT, WAN },
};

static const struct dest_case cases[] = {
	/* IPv4: 198.18.0.0/16 LAN, 198.18.5.0/24 WAN, 198.18.5.7/32 LAN */
	{ "v4 in a LAN /16", 4, SRC4, "198.18.1.1", U, PLAN, C_CRIT, LAN },
	{ "v4 longest prefix wins: WAN /24 inside the LAN /16", 4, SRC4, "198.18.5.1", U,
	  P_CRIT, C_CRIT, WAN },
	{ "v4 longest prefix wins: LAN /32 inside the WAN /24", 4, SRC4, "198.18.5.7", U,
	  PLAN, C_CRIT, LAN },
	{ "v4 no match: WAN", 4, SRC4, "198.19.0.1", U, P_CRIT, C_CRIT, WAN },
	{ "v4 unknown source, default class, LAN destination", 4, "198.18.9.9", "198.18.1.1",
	  U, PLAN, C_NORM, LAN },
	{ "v4 unknown source, default class, no match", 4, "198.18.9.9", "198.19.0.1",
	  U, P_NORM, C_NORM, WAN },
	/* IPv6: 2001:db8:1::/48 LAN, 2001:db8:1:2::/64 WAN */
	{ "v6 in a LAN /48", 6, SRC6, "2001:db8:1::5", U, PLAN, C_CRIT, LAN },
	{ "v6 longest prefix wins: WAN /64 inside the LAN /48", 6, SRC6, "2001:db8:1:2::5", U,
	  P_CRIT, C_CRIT, WAN },
	{ "v6 no match: WAN", 6, SRC6, "2001:db8:2::1", U, P_CRIT, C_CRIT, WAN },
	{ "v6 destination never matches the IPv4 0.0.0.0/0 LAN entry", 6, SRC6, "2001:db8:3::1",
	  U, P_CRIT, C_CRIT, WAN },
	/* The pod edge does not look: class priority, scope 0. */
	{ "pod edge ignores destinations", 4, SRC4, "198.18.1.1", TCPRIO_HOOK_POD_EDGE,
	  P_CRIT, C_CRIT, WAN },
};

/* A LAN destination with the kill switch off, and a non-IP frame: untouched. */
static void test_fail_open(void)
{
	struct pkt_spec s = { .family = 4, .src = SRC4, .dst = "198.18.1.1", .l4 = IPPROTO_UDP,
			      .sport = 1, .dport = 2, .payload_len = 10 };
	struct pkt_spec arp = { .ethertype = 0x0806 };
	struct th_run_in in = { .priority = PRIO_IN, .ingress_ifindex = 7 }; /* forwarded */
	__u8 pkt[TH_PKT_MAX], out[TH_PKT_MAX + 256];
	struct pkt_layout lay;
	struct th_run_out r;
	size_t len;

	len = pkt_build(&arp, pkt, sizeof(pkt), &lay);
	th_case_begin("non-IP frame on the uplink with LAN entries: passes untouched");
	ASSERT_OK(th_run(ctx.prog_uplink, pkt, (__u32)len, out, sizeof(out), &in, &r), "test run");
	ASSERT_EQ(r.retval, TC_ACT_UNSPEC, "verdict TC_ACT_UNSPEC");
	ASSERT_EQ(r.priority, PRIO_IN, "skb->priority unchanged");
	th_case_end();

	th_set_config(&ctx, C_NORM, true, true, false);
	len = pkt_build(&s, pkt, sizeof(pkt), &lay);
	th_case_begin("enabled: false: a LAN destination passes untouched");
	ASSERT_OK(th_run(ctx.prog_uplink, pkt, (__u32)len, out, sizeof(out), &in, &r), "test run");
	ASSERT_EQ(r.retval, TC_ACT_UNSPEC, "verdict TC_ACT_UNSPEC");
	ASSERT_EQ(r.priority, PRIO_IN, "skb->priority unchanged");
	th_case_end();
	th_set_config(&ctx, C_NORM, true, true, true);
}

/* bpftool -j prints the map with its BTF field names. */
static void test_bpftool(void)
{
	char cmd[256], buf[65536];
	size_t n;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "bpftool -j map dump pinned %s/tcprio_destinations 2>&1",
		 ctx.pin_dir);
	f = popen(cmd, "r");
	n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		pclose(f);
	buf[n] = '\0';
	th_case_begin("bpftool map dump pinned tcprio_destinations shows BTF fields");
	ASSERT_TRUE(strstr(buf, "\"prefixlen\"") != NULL, "key field prefixlen");
	ASSERT_TRUE(strstr(buf, "\"scope\"") != NULL, "value field scope");
	ASSERT_TRUE(strstr(buf, "\"source\"") != NULL, "value field source");
	if (!strstr(buf, "\"scope\""))
		th_diag("bpftool output: %.300s", buf);
	th_case_end();
}

/* ---- prefix lists (include/tcprio.h): the agent's list of the trie ---- */

/* Delete every entry of the destinations trie. */
static void clear_destinations(void)
{
	struct tcprio_dest_key k;

	while (bpf_map_get_next_key(ctx.map_destinations, NULL, &k) == 0)
		if (bpf_map_delete_elem(ctx.map_destinations, &k))
			break;
}

/* Longest match of a over keys[0..n) (the trie's rule), WAN if none. */
static __u8 lpm_scope(const struct tcprio_dest_key *keys, const __u8 *scopes, size_t n,
		      const __u8 a[16])
{
	int best = -1;
	__u8 v = WAN;

	for (size_t i = 0; i < n; i++) {
		__u32 b;

		for (b = 0; b < keys[i].prefixlen; b++)
			if (((a[b / 8] ^ keys[i].addr[b / 8]) >> (7 - b % 8)) & 1)
				break;
		if (b == keys[i].prefixlen && (int)b > best) {
			best = (int)b;
			v = scopes[i];
		}
	}
	return v;
}

/* The uplink's scope for a forwarded packet of SRC4/SRC6 to a (16 bytes,
 * IPv4 mapped), judged by skb->priority (the LAN leaf, or the class's);
 * -1 if the run failed. */
static int uplink_scope(const __u8 a[16])
{
	static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff };
	char dst[INET6_ADDRSTRLEN];
	bool v4 = !memcmp(a, mapped, 12);
	struct pkt_spec s = { .family = v4 ? 4 : 6, .src = v4 ? SRC4 : SRC6, .dst = dst,
			      .l4 = IPPROTO_TCP, .sport = 40000, .dport = 443, .payload_len = 20 };
	struct th_run_in in = { .priority = PRIO_IN, .ingress_ifindex = 7 };
	__u8 pkt[TH_PKT_MAX], out[TH_PKT_MAX + 256];
	struct th_run_out r;
	size_t len;

	inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? a + 12 : a, dst, sizeof(dst));
	len = pkt_build(&s, pkt, sizeof(pkt), NULL);
	if (!len || th_run(ctx.prog_uplink, pkt, (__u32)len, out, sizeof(out), &in, &r))
		return -1;
	return r.priority == PLAN ? LAN : r.priority == P_CRIT ? WAN : -1;
}

/* The destinations list as it is in the map. */
static struct tcprio_prefix_list read_list(void)
{
	struct tcprio_prefix_list l = { 0 };
	__u32 k = TCPRIO_PLIST_DESTINATIONS;

	bpf_map_lookup_elem(ctx.map_prefix_lists, &k, &l);
	return l;
}

/*
 * Random nested prefix sets (IPv4 and IPv6 around a few bases, random
 * lengths and scopes) written to the trie, the list written from it by the
 * agent's writer (prefix_list_sync): the uplink's scope for addresses in
 * and around the prefixes is the longest match's, with the list and, when
 * the list is valid, again with the trie emptied (so only the list can
 * answer).  Sets whose list is too long are answered by the trie.
 */
static void test_prefix_lists(void)
{
	static const __u8 bases[4][16] = {
		{ [10] = 0xff, [11] = 0xff, [12] = 198, [13] = 18 },
		{ [10] = 0xff, [11] = 0xff, [12] = 198, [13] = 19, [14] = 128 },
		{ 0x20, 0x01, 0x0d, 0xb8 },
		{ 0x20, 0x01, 0x0d, 0xb8, 0xff },
	};
	unsigned int seed = 1202, sets_valid = 0, sets_trie = 0, runs = 0, wrong = 0;

	th_case_begin("prefix list: 150 random LAN/WAN prefix sets: the uplink's scope is the "
		      "longest match's, with the list, and with the trie emptied");
	for (int set = 0; set < 150; set++) {
		struct tcprio_dest_key keys[24];
		__u8 scopes[24], addrs[8][16];
		bool wide = set >= 140; /* 17-24 separate LAN hosts: too many for the list */
		size_t n = wide ? 17 + (size_t)(rand_r(&seed) % 8) : 1 + (size_t)(rand_r(&seed) % 12);
		struct tcprio_prefix_list l;

		clear_destinations();
		for (size_t i = 0; i < n; i++) {
			int b = rand_r(&seed) % 4, v4 = b < 2;
			struct tcprio_dest v;

			memset(&keys[i], 0, sizeof(keys[i]));
			memcpy(keys[i].addr, bases[b], 16);
			keys[i].addr[15] = (__u8)(rand_r(&seed) % 4);
			keys[i].addr[v4 ? 14 : 6] ^= (__u8)(rand_r(&seed) % 2);
			keys[i].prefixlen = v4 ? 96 + (__u32)(rand_r(&seed) % 33) :
						 (__u32)(rand_r(&seed) % 129);
			for (__u32 bit = keys[i].prefixlen; bit < 128; bit++)
				keys[i].addr[bit / 8] &= (__u8)~(0x80u >> (bit % 8));
			scopes[i] = (__u8)(rand_r(&seed) % 2);
			if (wide) {
				memcpy(keys[i].addr, bases[0], 16);
				keys[i].addr[14] = (__u8)i;
				keys[i].addr[15] = 1;
				keys[i].prefixlen = 128;
				scopes[i] = LAN;
			}
			v = (struct tcprio_dest){ .scope = scopes[i], .source = TCPRIO_DEST_LOCAL_CIDR };
			bpf_map_update_elem(ctx.map_destinations, &keys[i], &v, BPF_ANY);
			for (size_t j = 0; j < i; j++)  /* the same prefix again: the last wins */
				if (!memcmp(&keys[j], &keys[i], sizeof(keys[i])))
					scopes[j] = scopes[i];
		}
		ASSERT_OK(th_sync_prefix_lists(&ctx), "write the list (prefix_list_sync)");
		l = read_list();
		for (int t = 0; t < 8; t++) {
			memcpy(addrs[t], keys[rand_r(&seed) % n].addr, 16);
			addrs[t][15] ^= (__u8)(rand_r(&seed) % 8);
			addrs[t][14] ^= (__u8)(rand_r(&seed) % 2);
			wrong += uplink_scope(addrs[t]) != lpm_scope(keys, scopes, n, addrs[t]);
			runs++;
		}
		if (!l.valid) {
			sets_trie++;
			continue;
		}
		sets_valid++;
		clear_destinations();
		th_note_change(&ctx);
		for (int t = 0; t < 8; t++, runs++)
			wrong += uplink_scope(addrs[t]) != lpm_scope(keys, scopes, n, addrs[t]);
	}
	th_diag("%u sets with a valid list, %u answered by the trie (list too long); %u runs, "
		"%u wrong", sets_valid, sets_trie, runs, wrong);
	ASSERT_EQ(wrong, 0, "every answer is the longest match's");
	ASSERT_TRUE(sets_valid >= 100, "most sets fit the list");
	ASSERT_TRUE(sets_trie >= 1, "some sets are too long for it (the trie answers)");
	th_case_end();
	clear_destinations();
	th_invalidate_prefix_lists(&ctx);
	th_note_change(&ctx);
}

static void on_signal(int sig)
{
	th_close(&ctx);
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(void)
{
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0)
		return th_skip_all("needs root (BPF_PROG_TEST_RUN, bpffs)");
	/* load, setup, empty-map cases, prefixes, cases, fail open (2), bpftool,
	 * prefix lists */
	th_plan((int)(2 + sizeof(empty_cases) / sizeof(empty_cases[0]) + 1 +
		      sizeof(cases) / sizeof(cases[0]) + 2 + 1 + 1));
	libbpf_set_print(NULL);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (!ASSERT_OK(th_open(&ctx, "dest"), "load tcprio.bpf.o"))
		return th_done();
	if (!ASSERT_OK(th_set_class(&ctx, C_CRIT, P_CRIT, D_CRIT, true) ||
		       th_set_class(&ctx, C_NORM, P_NORM, 0, true) ||
		       th_add_endpoint(&ctx, SRC4, C_CRIT, 0) ||
		       th_add_endpoint(&ctx, SRC6, C_CRIT, 0) ||
		       th_set_config(&ctx, C_NORM, true, true, true), "classes, endpoints, config"))
		goto out;
	for (i = 0; i < sizeof(empty_cases) / sizeof(empty_cases[0]); i++)
		run_case(&empty_cases[i]);
	if (!ASSERT_OK(add_dest("198.18.0.0/16", LAN, TCPRIO_DEST_LOCAL_CIDR) ||
		       add_dest("198.18.5.0/24", WAN, TCPRIO_DEST_REMOTE_CIDR) ||
		       add_dest("198.18.5.7/32", LAN, TCPRIO_DEST_NODE_ADDR) ||
		       add_dest("2001:db8:1::/48", LAN, TCPRIO_DEST_POD_CIDR) ||
		       add_dest("2001:db8:1:2::/64", WAN, TCPRIO_DEST_REMOTE_CIDR) ||
		       add_dest("0.0.0.0/0", LAN, TCPRIO_DEST_LOCAL_CIDR),
		       "write LAN/WAN prefixes"))
		goto out;
	/* 198.19.0.1 must miss: 0.0.0.0/0 LAN would catch it, so the v4 no-match
	 * cases run before that entry matters: drop it for them and re-add. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tcprio_dest_key all4 = { .prefixlen = 96 };

		all4.addr[10] = all4.addr[11] = 0xff;
		if (cases[i].family == 4) {
			bpf_map_delete_elem(ctx.map_destinations, &all4);
			th_note_change(&ctx);
		} else
			add_dest("0.0.0.0/0", LAN, TCPRIO_DEST_LOCAL_CIDR);
		run_case(&cases[i]);
	}
	test_fail_open();
	test_bpftool();
	test_prefix_lists();
out:
	th_close(&ctx);
	return th_done();
}
