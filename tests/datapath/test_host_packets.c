/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_host_packets.c - the uplink's host branch (bpf/host.h) with
 * BPF_PROG_TEST_RUN: packets sent by local sockets, classified by the
 * sender's cgroup v2 or by the destination, and their DSCP rewrite.
 *
 * The test run's skb always carries a dummy socket created in the calling
 * task's cgroup (kernel net/bpf/test_run.c), so the cgroup path is the real
 * one: this test creates cgroups under the cgroup v2 root, moves itself
 * into them and checks what bpf_skb_cgroup_id / bpf_skb_ancestor_cgroup_id
 * found.  ingress_ifindex != 0 makes the same packet a forwarded one.
 * Real traffic from real processes: tests/node/test_host_traffic.sh.
 */
#include "datapath/harness.h"
#include "dp/host_answers.h"
#include "test_cgroup.h"

enum { C_CRIT = 0, C_NORM = 1, C_BULK = 2 };
#define PRIO(c) (0x00010010u + 0x10u * (c))
#define D_CRIT 46
#define D_BULK 1
#define FWD_IF 7     /* ingress_ifindex of "forwarded" runs: a pod interface
		      * (tcprio_trust_ifaces POD_EDGE, bpf/trust.h) */

static struct th_ctx T;
static int m_cg, m_dst, m_ports, m_hcfg, m_hstats, m_filter, m_answers;
static char base[128], child[160];
static uint64_t id_base, id_child;
/* Kernels before 5.x's test-run ctx checks reject ctx_in.ingress_ifindex
 * (-EINVAL): the forwarded-packet cases are skipped there. */
static bool fwd_ok;
#define FWD_SKIP "this kernel's BPF_PROG_TEST_RUN rejects ctx_in.ingress_ifindex"

/* tcprio_host_filter as the agent writes it (valid, a bit per id), or
 * invalid (n < 0: the program then looks up every level). */
static void set_filter(const uint64_t *ids, int n)
{
	struct tcprio_host_filter f;
	__u32 k = 0;

	memset(&f, 0, sizeof(f));
	f.valid = n >= 0;
	for (int i = 0; i < n; i++)
		tcprio_host_filter_add(&f, ids[i]);
	f.n_ids = n > 0 ? (__u32)n : 0;
	bpf_map_update_elem(m_filter, &k, &f, BPF_ANY);
	th_note_change(&T);
}

static void setup_tables(void)
{
	th_clear_maps(&T);
	th_set_class(&T, C_CRIT, PRIO(C_CRIT), D_CRIT, true);
	th_set_class(&T, C_NORM, PRIO(C_NORM), 0, true);
	th_set_class(&T, C_BULK, PRIO(C_BULK), D_BULK, true);
	th_set_dscp_class(&T, D_CRIT, C_CRIT, true);
	th_set_dscp_class(&T, D_BULK, C_BULK, true);
	th_set_config(&T, C_NORM, true, true, true);
	th_trust_iface(&T, FWD_IF, TCPRIO_TRUST_POD_EDGE);
	th_clear_hash(m_cg, sizeof(__u64));
	th_clear_hash(m_dst, sizeof(struct tcprio_host_dst_key));
	th_clear_hash(m_ports, sizeof(struct tcprio_host_port_key));
	{
		struct tcprio_host_config hc = { 0 };
		__u32 k = 0;

		bpf_map_update_elem(m_hcfg, &k, &hc, BPF_ANY);
	}
	set_filter(NULL, -1);
	{
		struct tcprio_host_answer none = { 0 };

		for (__u32 k = 0; k < TCPRIO_HOST_ANSWER_SLOTS; k++)
			bpf_map_update_elem(m_answers, &k, &none, BPF_ANY);
	}
	{
		struct tcprio_counters z[T.ncpus];

		memset(z, 0, sizeof(z));
		for (__u32 k = 0; k < TCPRIO_HOST_SLOTS; k++)
			bpf_map_update_elem(m_hstats, &k, z, BPF_ANY);
	}
}

/* tcprio_host_config: cgroup_levels, dst_rules and level_mask (0: every
 * level, as an agent before level_mask wrote it). */
static void set_host_config(__u32 levels, __u16 dsts, __u16 mask)
{
	struct tcprio_host_config hc = { .cgroup_levels = levels, .dst_rules = dsts,
					 .level_mask = mask };
	__u32 k = 0;

	bpf_map_update_elem(m_hcfg, &k, &hc, BPF_ANY);
	th_note_change(&T);   /* as host_sync does: the uplink caches cgroup answers */
}

static void set_levels(__u32 levels, __u16 dsts)
{
	set_host_config(levels, dsts, 0);
}

static void add_cg(uint64_t id, __u32 cls, __u16 slot, __u64 pod_id, __u8 flags)
{
	struct tcprio_host_rule r = { .pod_id = pod_id, .class_id = cls,
				      .slot = slot, .flags = flags };

	bpf_map_update_elem(m_cg, &id, &r, BPF_ANY);
	th_note_change(&T);
}

static void add_dst(const char *ip, int plen, __u8 proto, __u16 port,
		    __u32 cls, __u16 slot)
{
	struct tcprio_host_dst_key k = { .protocol = proto, .port = port };
	struct tcprio_host_rule r = { .class_id = cls, .slot = slot };

	th_ip_key(ip, &k.ip);
	k.prefixlen = 32 + (strchr(ip, ':') ? plen : 96 + plen);
	bpf_map_update_elem(m_dst, &k, &r, BPF_ANY);
}

static __u64 host_pkts(__u32 slot)
{
	struct tcprio_counters v[T.ncpus];
	__u64 sum = 0;

	if (bpf_map_lookup_elem(m_hstats, &slot, v))
		return 0;
	for (int i = 0; i < T.ncpus; i++)
		sum += v[i].packets;
	return sum;
}

/* One packet through the uplink; results into *r, output into out. */
static void run(const struct pkt_spec *s, __u32 ingress, __u8 *in, __u8 *out,
		struct pkt_layout *lay, struct th_run_out *r)
{
	struct th_run_in ri = { .ingress_ifindex = ingress };
	size_t len = pkt_build(s, in, TH_PKT_MAX, lay);

	th_run(T.prog_uplink, in, (__u32)len, out, TH_PKT_MAX, &ri, r);
}

/* Run s as a local packet and expect class cls, DSCP dscp on the wire (ECN
 * and checksum checked), counted in host slot slot. */
static void expect_host(const char *name, const struct pkt_spec *s, __u32 cls,
			__u8 dscp, __u32 slot)
{
	__u8 in[TH_PKT_MAX], out[TH_PKT_MAX], d = 0xff, ecn = 0xff;
	struct pkt_layout lay;
	struct th_run_out r;
	__u64 before = host_pkts(slot);

	th_case_begin("%s", name);
	run(s, 0, in, out, &lay, &r);
	ASSERT_OK(r.err, "test run");
	ASSERT_EQ(r.retval, TC_ACT_UNSPEC, "verdict");
	ASSERT_EQ(r.priority, PRIO(cls), "skb->priority");
	ASSERT_EQ(r.out_len, lay.len, "length");
	ASSERT_TRUE(th_check_dscp_only(in, out, lay.len, &lay, &d, &ecn),
		    "only the DSCP bits changed, checksum valid");
	ASSERT_EQ(d, dscp, "DSCP on the wire");
	ASSERT_EQ(ecn, s->tos & 3, "ECN kept");
	ASSERT_EQ(host_pkts(slot) - before, 1, "host counter slot");
	th_case_end();
}

static void test_cgroup_rules(void)
{
	struct pkt_spec s = { .family = 4, .src = "198.18.0.1", .dst = "198.18.9.9",
			      .l4 = IPPROTO_TCP, .sport = 40000, .dport = 443,
			      .tos = 1 /* ECT(1) */ };
	__u8 in[TH_PKT_MAX], out[TH_PKT_MAX];
	struct pkt_layout lay;
	struct th_run_out r;
	int lvl_child = cgroup2_level(child);

	setup_tables();
	ASSERT_OK(tcg_enter(child), "test moved into its child cgroup");
	add_cg(id_base, C_CRIT, 3, 0, 0);
	set_levels((__u32)lvl_child + 1, 0);
	expect_host("cgroup rule on the parent: child inherits it, EF written",
		    &s, C_CRIT, D_CRIT, 3);

	s.family = 6; s.src = "2001:db8::1"; s.dst = "2001:db8:9::9";
	s.tos = 3; /* CE */
	expect_host("cgroup rule, IPv6, CE kept", &s, C_CRIT, D_CRIT, 3);

	add_cg(id_child, C_BULK, 4, 0, 0);
	expect_host("the nearest cgroup wins: child's own rule", &s, C_BULK, D_BULK, 4);

	/* Forwarded: same packet, same socket cgroup, but it came in on an
	 * interface: not a host packet, bytes untouched (DSCP 0: default). */
	if (fwd_ok) {
		th_case_begin("forwarded packet (ingress_ifindex set): no host rule, not rewritten");
		run(&s, FWD_IF, in, out, &lay, &r);
		ASSERT_OK(r.err, "test run");
		ASSERT_EQ(r.priority, PRIO(C_NORM), "default class");
		ASSERT_MEMEQ(out, in, lay.len, "bytes unchanged");
		th_case_end();
	} else {
		th_skip("forwarded packet: no host rule, not rewritten", FWD_SKIP);
	}

	/* A forwarded packet marked EF at the pod edge keeps EF, class by DSCP. */
	s.tos = D_CRIT << 2;
	if (fwd_ok) {
		th_case_begin("forwarded EF packet: DSCP trusted, not rewritten twice");
		run(&s, FWD_IF, in, out, &lay, &r);
		ASSERT_EQ(r.priority, PRIO(C_CRIT), "class from DSCP");
		ASSERT_MEMEQ(out, in, lay.len, "bytes unchanged");
		th_case_end();
	} else {
		th_skip("forwarded EF packet: DSCP trusted, not rewritten twice", FWD_SKIP);
	}

	/* Levels from the host config bound the walk: with levels = the
	 * child's level only the exact cgroup and shallower ancestors are
	 * visited; with 0 no cgroup lookup at all. */
	bpf_map_delete_elem(m_cg, &id_child);   /* set_levels changes the generation */
	set_levels((__u32)cgroup2_level(base), 0);
	s.tos = 0;
	th_case_begin("walk bounded by cgroup_levels: parent at a deeper level not visited");
	run(&s, 0, in, out, &lay, &r);
	ASSERT_EQ(r.priority, PRIO(C_NORM), "no rule found: default class");
	ASSERT_MEMEQ(out, in, lay.len, "bytes unchanged");
	th_case_end();
	set_levels(0, 0);
	add_cg(id_child, C_CRIT, 4, 0, 0);
	th_case_begin("cgroup_levels 0: cgroup rules skipped");
	__u64 none = host_pkts(TCPRIO_HOST_SLOT_NONE);
	run(&s, 0, in, out, &lay, &r);
	ASSERT_EQ(r.priority, PRIO(C_NORM), "default class");
	ASSERT_EQ(host_pkts(TCPRIO_HOST_SLOT_NONE) - none, 1, "counted as local, no rule");
	th_case_end();

	/* level_mask: the walk visits only the levels that have entries. */
	bpf_map_delete_elem(m_cg, &id_child);
	add_cg(id_base, C_CRIT, 3, 0, 0);
	set_host_config((__u32)lvl_child + 1, 0, (__u16)(1u << lvl_child));
	th_case_begin("level_mask without the parent's level: parent's rule not visited");
	run(&s, 0, in, out, &lay, &r);
	ASSERT_EQ(r.priority, PRIO(C_NORM), "default class");
	th_case_end();
	set_host_config((__u32)lvl_child + 1, 0, (__u16)(1u << cgroup2_level(base)));
	th_case_begin("level_mask with the parent's level: child inherits its rule");
	run(&s, 0, in, out, &lay, &r);
	ASSERT_EQ(r.priority, PRIO(C_CRIT), "parent's class");
	th_case_end();

	/* The agent's filter: a hash lookup only for a cgroup whose bit is
	 * set.  A filter without the parent's bit hides its entry (the agent
	 * never writes one: it covers every entry), which shows that the
	 * walk asks the filter. */
	set_filter(&id_base, 1);
	th_case_begin("filter with the parent's bit: child inherits its rule");
	run(&s, 0, in, out, &lay, &r);
	ASSERT_EQ(r.priority, PRIO(C_CRIT), "parent's class");
	th_case_end();
	set_filter(&id_child, 1);
	th_case_begin("filter without the parent's bit: its entry is not looked up");
	run(&s, 0, in, out, &lay, &r);
	ASSERT_EQ(r.priority, PRIO(C_NORM), "default class");
	th_case_end();
	add_cg(id_child, C_BULK, 4, 0, 0);
	set_host_config((__u32)lvl_child + 1, 0, (__u16)(1u << lvl_child | 1u << cgroup2_level(base)));
	th_case_begin("filter with the child's bit: the socket's own cgroup's rule");
	run(&s, 0, in, out, &lay, &r);
	ASSERT_EQ(r.priority, PRIO(C_BULK), "child's class");
	th_case_end();
	bpf_map_delete_elem(m_cg, &id_child);
	set_filter(NULL, -1);

	/* rewrite_dscp off: class set, bytes kept. */
	set_levels((__u32)lvl_child + 1, 0);
	th_set_config(&T, C_NORM, true, false, true);
	th_case_begin("rewriteDscp false: host class set, DSCP not written");
	run(&s, 0, in, out, &lay, &r);
	ASSERT_EQ(r.priority, PRIO(C_CRIT), "class from cgroup");
	ASSERT_MEMEQ(out, in, lay.len, "bytes unchanged");
	th_case_end();
	th_set_config(&T, C_NORM, true, true, true);

	/* Already EF: nothing stored, no rewrite event. */
	s.tos = D_CRIT << 2 | 2;
	th_case_begin("already the class's DSCP: not written");
	__u64 ev = th_event(&T, TCPRIO_HOOK_UPLINK, TCPRIO_EV_DSCP_REWRITE);
	run(&s, 0, in, out, &lay, &r);
	ASSERT_EQ(r.priority, PRIO(C_CRIT), "class from cgroup");
	ASSERT_MEMEQ(out, in, lay.len, "bytes unchanged");
	ASSERT_EQ(th_event(&T, TCPRIO_HOOK_UPLINK, TCPRIO_EV_DSCP_REWRITE), ev,
		  "no rewrite counted");
	th_case_end();
	tcg_enter(NULL);
}

/* Write the answer for cgroup id: match (0: none) and its rule. */
static void set_answer(uint64_t id, uint64_t match, __u32 cls, __u16 slot)
{
	struct tcprio_host_answer a = { .cgroup_id = id, .match_id = match,
					.rule = { .class_id = cls, .slot = slot } };
	__u32 k = TCPRIO_HOST_ANSWER_SLOT(id);

	bpf_map_update_elem(m_answers, &k, &a, BPF_ANY);
}

/*
 * The agent's answers (tcprio_host_answers): written by its writer from
 * the real cgroup tree, the child's answer is the parent's rule; the
 * uplink takes an answer over its walk (an answer that contradicts the
 * hash wins, which shows the walk was not made), and walks when the slot
 * answers for another cgroup.
 */
static void test_answers(void)
{
	struct pkt_spec s = { .family = 4, .src = "198.18.0.1", .dst = "198.18.9.9",
			      .l4 = IPPROTO_TCP, .sport = 40000, .dport = 443 };
	struct tcprio_host_rule rule = { .class_id = C_CRIT, .slot = 3 };
	struct tcprio_host_answer got = { 0 };
	__u8 in[TH_PKT_MAX], out[TH_PKT_MAX];
	__u32 k = TCPRIO_HOST_ANSWER_SLOT(id_child);
	struct host_answers *a;
	struct pkt_layout lay;
	struct th_run_out r;
	char tree[512];
	size_t visited = 0;
	int lvl_child = cgroup2_level(child), n;

	setup_tables();
	ASSERT_OK(tcg_enter(child), "test moved into its child cgroup");
	add_cg(id_base, C_CRIT, 3, 0, 0);
	set_levels((__u32)lvl_child + 1, 0);
	/* the test's own subtree as the tree (root: base), so that no cgroup
	 * of the host shares a slot or changes between the syncs */
	snprintf(tree, sizeof(tree), "%s%s", tcg_root, base);
	a = host_answers_new(m_answers);
	n = a ? host_answers_sync(a, tree, (const __u64 *)&id_base, &rule, 1, &visited) : -1;
	bpf_map_lookup_elem(m_answers, &k, &got);
	th_case_begin("host_answers_sync: the child's answer is its parent's entry");
	ASSERT_TRUE(n > 0, "answers written");
	ASSERT_EQ(visited, 2, "the tree listed: parent and child");
	ASSERT_EQ(got.cgroup_id, id_child, "slot answers for the child");
	ASSERT_EQ(got.match_id, id_base, "match: the parent");
	ASSERT_EQ(got.rule.class_id, C_CRIT, "the parent's rule");
	ASSERT_EQ(a ? host_answers_sync(a, tree, (const __u64 *)&id_base, &rule, 1, NULL) : -1, 0,
		  "a second sync writes nothing");
	th_case_end();
	th_diag("host_answers_sync listed %zu cgroups", visited);

	bpf_map_delete_elem(m_cg, &id_base);   /* the hash no longer has it: */
	th_note_change(&T);
	th_case_begin("the answer is used: parent's class with its hash entry gone");
	run(&s, 0, in, out, &lay, &r);
	ASSERT_OK(r.err, "test run");
	ASSERT_EQ(r.priority, PRIO(C_CRIT), "parent's class, from the answer");
	th_case_end();

	add_cg(id_base, C_CRIT, 3, 0, 0);
	set_answer(id_child, 0, 0, 0);
	th_note_change(&T);
	th_case_begin("an answer of no rule beats the hash: no walk made");
	run(&s, 0, in, out, &lay, &r);
	ASSERT_EQ(r.priority, PRIO(C_NORM), "default class");
	th_case_end();

	set_answer(id_child + 1000003, 0, 0, 0);  /* clears the slot for another id */
	set_answer(id_child, 0, 0, 0);
	{
		struct tcprio_host_answer other = { .cgroup_id = id_child ^ 0x55aa00, .match_id = 0 };

		bpf_map_update_elem(m_answers, &k, &other, BPF_ANY);  /* the child's slot */
	}
	th_note_change(&T);
	th_case_begin("the child's slot answers for another cgroup: the walk finds the parent");
	run(&s, 0, in, out, &lay, &r);
	ASSERT_EQ(r.priority, PRIO(C_CRIT), "parent's class, from the walk");
	th_case_end();

	n = a ? host_answers_sync(a, tree, NULL, NULL, 0, NULL) : -1;
	bpf_map_lookup_elem(m_answers, &k, &got);
	th_case_begin("host_answers_sync without entries: every slot emptied");
	ASSERT_TRUE(n > 0, "slots written");
	ASSERT_EQ(got.cgroup_id, 0, "the child's slot is empty");
	th_case_end();
	host_answers_free(a);
	tcg_enter(NULL);
}

/*
 * The agent's answers against the uplink's walk, on a tree of 10 real
 * cgroups (base, child and 8 below them, up to 6 levels below base) with
 * 40 random sets of entries: for every cgroup, a packet of a socket in it
 * gets the same class with the answers (host_answers_sync over base's
 * subtree) as with none (the walk, with level_mask and the filter as the
 * agent writes them), and that class is the nearest entry at or above it.
 */
static void test_answers_vs_walk(void)
{
	static const char *const sub[] = { "/child/a", "/child/a/b", "/child/a/b/c",
					   "/child/a/b/c/d", "/child/a/b/c/d/g", "/x",
					   "/x/y", "/child/a/f" };
	enum { N = 10 };
	struct pkt_spec s = { .family = 4, .src = "198.18.0.1", .dst = "198.18.9.9",
			      .l4 = IPPROTO_TCP, .sport = 40000, .dport = 443 };
	char *rel[N] = { NULL }, tree[512];
	uint64_t id[N];
	int parent[N], level[N], mismatch = 0, runs = 0, err = 0;
	unsigned int seed = 1202;
	struct host_answers *a;

	setup_tables();
	id[0] = id_base, id[1] = id_child;
	for (int i = 0; i < N; i++)  /* heap strings: no size for gcc to track */
		if (asprintf(&rel[i], "%s%s", i == 1 ? child : base, i < 2 ? "" : sub[i - 2]) < 0)
			rel[i] = NULL, err = -ENOMEM;
	for (int i = 2; i < N && !err; i++)
		err = tcg_mkdir(rel[i], &id[i]);
	if (err) {
		th_skip("answers and walk agree with the nearest entry", "cannot make the cgroups");
		goto out;
	}
	for (int i = 0; i < N; i++) {
		level[i] = cgroup2_level(rel[i]);
		parent[i] = -1;
		for (int j = 0; j < N; j++)  /* the longest other path that is a prefix */
			if (j != i && !strncmp(rel[i], rel[j], strlen(rel[j])) &&
			    rel[i][strlen(rel[j])] == '/' &&
			    (parent[i] < 0 || strlen(rel[j]) > strlen(rel[parent[i]])))
				parent[i] = j;
	}
	snprintf(tree, sizeof(tree), "%s%s", tcg_root, base);
	a = host_answers_new(m_answers);
	for (int set = 0; a && set < 40; set++) {
		__u64 ids[N];
		struct tcprio_host_rule rules[N];
		int cls_of[N], n = 0, deepest = 0;
		__u16 mask = 0;

		th_clear_hash(m_cg, sizeof(__u64));
		for (int i = 0; i < N; i++) {
			cls_of[i] = rand_r(&seed) % 3 == 0 ? (rand_r(&seed) % 2 ? C_CRIT : C_BULK) : -1;
			if (cls_of[i] < 0)
				continue;
			rules[n] = (struct tcprio_host_rule){ .class_id = (__u32)cls_of[i],
							      .slot = (__u16)i };
			ids[n++] = id[i];
			add_cg(id[i], (__u32)cls_of[i], (__u16)i, 0, 0);
			deepest = level[i] > deepest ? level[i] : deepest;
			mask |= (__u16)(1u << level[i]);
		}
		set_filter((const uint64_t *)ids, n);
		set_host_config(n ? (__u32)deepest + 1 : 0, 0, mask);
		for (int with = 1; with >= 0; with--) {
			host_answers_sync(a, tree, ids, rules, with ? (size_t)n : 0, NULL);
			th_note_change(&T);
			for (int i = 0; i < N; i++) {
				__u8 in[TH_PKT_MAX], out[TH_PKT_MAX];
				struct pkt_layout lay;
				struct th_run_out r;
				int j = i;

				while (j >= 0 && cls_of[j] < 0)  /* the nearest entry at or above */
					j = parent[j];
				tcg_enter(rel[i]);
				run(&s, 0, in, out, &lay, &r);
				runs++;
				if (r.err || r.priority != PRIO(j >= 0 ? cls_of[j] : C_NORM)) {
					if (!mismatch++)
						th_diag("set %d, %s, cgroup %s: priority %#x, want %#x", set,
							with ? "answers" : "walk", rel[i], r.priority,
							PRIO(j >= 0 ? cls_of[j] : C_NORM));
				}
			}
		}
	}
	tcg_enter(NULL);
	th_case_begin("answers and walk agree with the nearest entry: 40 sets x 10 cgroups x 2");
	ASSERT_TRUE(a != NULL, "host_answers_new");
	ASSERT_EQ(runs, 800, "packets run");
	ASSERT_EQ(mismatch, 0, "packets with another class than the nearest entry's");
	th_case_end();
	host_answers_free(a);
out:
	for (int i = 0; i < N; i++)
		free(rel[i]);
}

static void test_host_pod_ports(void)
{
	struct pkt_spec s = { .family = 4, .src = "198.18.0.1", .dst = "198.18.9.9",
			      .l4 = IPPROTO_UDP, .sport = 8125, .dport = 53 };
	struct tcprio_host_port_key k = { .cgroup_id = id_base, .port = 8125,
					  .protocol = IPPROTO_UDP };
	struct tcprio_port_rule pr = { .class_id = C_BULK };

	setup_tables();
	ASSERT_OK(tcg_enter(child), "test moved into its child cgroup");
	/* The pod's cgroup is base; its containers are below it (child). */
	add_cg(id_base, C_CRIT, TCPRIO_HOST_SLOT_POD, 0x77, TCPRIO_HOST_HAS_PORT_RULES);
	bpf_map_update_elem(m_ports, &k, &pr, BPF_ANY);
	set_levels((__u32)cgroup2_level(child) + 1, 0);
	expect_host("host-network pod: source port rule on the pod cgroup", &s,
		    C_BULK, D_BULK, TCPRIO_HOST_SLOT_POD);
	k.port = 9000;
	bpf_map_update_elem(m_ports, &k, &pr, BPF_ANY);
	s.sport = 41000; s.dport = 9000;
	expect_host("host-network pod: destination port rule", &s, C_BULK, D_BULK,
		    TCPRIO_HOST_SLOT_POD);
	s.dport = 9001;
	expect_host("host-network pod: no port rule: the pod's class", &s, C_CRIT,
		    D_CRIT, TCPRIO_HOST_SLOT_POD);
	tcg_enter(NULL);
}

static void test_dst_rules(void)
{
	struct pkt_spec s = { .family = 4, .src = "198.18.0.1", .dst = "198.18.5.9",
			      .l4 = IPPROTO_TCP, .sport = 40000, .dport = 6443 };
	__u8 in[TH_PKT_MAX], out[TH_PKT_MAX];
	struct pkt_layout lay;
	struct th_run_out r;

	setup_tables();
	add_dst("198.18.5.0", 24, IPPROTO_TCP, 6443, C_CRIT, 5);
	add_dst("198.18.6.1", 32, IPPROTO_UDP, 0, C_BULK, 6);
	add_dst("2001:db8:5::", 48, IPPROTO_TCP, 6443, C_CRIT, 7);
	set_levels(0, 1);
	expect_host("dst rule 198.18.5.0/24 tcp/6443", &s, C_CRIT, D_CRIT, 5);
	s.dst = "198.18.6.1"; s.l4 = IPPROTO_UDP; s.dport = 12345;
	expect_host("dst rule without port: any UDP port", &s, C_BULK, D_BULK, 6);
	s.family = 6; s.src = "2001:db8::1"; s.dst = "2001:db8:5::10";
	s.l4 = IPPROTO_TCP; s.dport = 6443; s.flow_label = 0xabcde;
	expect_host("IPv6 dst rule, flow label kept", &s, C_CRIT, D_CRIT, 7);

	s.dport = 443;
	th_case_begin("dst rule: other port misses -> default class, untouched");
	run(&s, 0, in, out, &lay, &r);
	ASSERT_EQ(r.priority, PRIO(C_NORM), "default class");
	ASSERT_MEMEQ(out, in, lay.len, "bytes unchanged");
	th_case_end();
	s.family = 4; s.src = "198.18.0.1"; s.dst = "198.18.5.9"; s.dport = 6443;
	s.l4 = IPPROTO_UDP;
	th_case_begin("dst rule: other protocol misses");
	run(&s, 0, in, out, &lay, &r);
	ASSERT_EQ(r.priority, PRIO(C_NORM), "default class");
	th_case_end();
	s.l4 = IPPROTO_TCP;
	set_levels(0, 0);
	th_case_begin("dst_rules 0: trie not looked up");
	run(&s, 0, in, out, &lay, &r);
	ASSERT_EQ(r.priority, PRIO(C_NORM), "default class");
	th_case_end();
	set_levels(0, 1);
	if (!fwd_ok) {
		th_skip("dst rule: forwarded packet not matched", FWD_SKIP);
		return;
	}
	th_case_begin("dst rule: forwarded packet not matched");
	run(&s, FWD_IF, in, out, &lay, &r);
	ASSERT_EQ(r.priority, PRIO(C_NORM), "default class");
	ASSERT_MEMEQ(out, in, lay.len, "bytes unchanged");
	th_case_end();
}

int main(void)
{
	int err;

	if (geteuid() != 0) {
		return th_skip_all("needs root (BPF_PROG_TEST_RUN, cgroups)");
	}
	err = tcg_init();
	if (err) {
		return th_skip_all("no cgroup v2 hierarchy mounted");
	}
	th_plan(36);
	snprintf(base, sizeof(base), "/tcprio-t11-pkt-%d", (int)getpid());
	snprintf(child, sizeof(child), "%s/child", base);
	if (!ASSERT_OK(tcg_mkdir(base, &id_base), "mkdir test cgroup") ||
	    !ASSERT_OK(tcg_mkdir(child, &id_child), "mkdir child cgroup"))
		return th_done();
	if (!ASSERT_OK(th_open(&T, "host"), "load programs"))
		return th_done();
	m_cg = bpf_map__fd(T.skel->maps.tcprio_host_cgroups);
	m_dst = bpf_map__fd(T.skel->maps.tcprio_host_dsts);
	m_ports = bpf_map__fd(T.skel->maps.tcprio_host_ports);
	m_hcfg = bpf_map__fd(T.skel->maps.tcprio_host_config);
	m_filter = bpf_map__fd(T.skel->maps.tcprio_host_filter);
	m_hstats = bpf_map__fd(T.skel->maps.tcprio_host_stats);
	m_answers = bpf_map__fd(T.skel->maps.tcprio_host_answers);
	{
		struct pkt_spec p = { .family = 4, .src = "198.18.0.1", .dst = "198.18.0.2",
				      .l4 = IPPROTO_UDP, .sport = 1, .dport = 2 };
		__u8 in[TH_PKT_MAX], out[TH_PKT_MAX];
		struct pkt_layout lay;
		struct th_run_out r;

		run(&p, FWD_IF, in, out, &lay, &r);
		fwd_ok = r.err != -EINVAL;
	}
	test_cgroup_rules();
	test_answers();
	test_answers_vs_walk();
	test_host_pod_ports();
	test_dst_rules();
	th_close(&T);
	tcg_cleanup();
	return th_done();
}
