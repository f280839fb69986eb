// SPDX-License-Identifier: BSD-2-Clause
/*
 * bench_host.c - what the uplink program costs for packets of local sockets
 * (bpf/host.h) next to forwarded packets and an empty TC program, through
 * BPF_PROG_TEST_RUN (in-kernel `duration`, REPEAT runs on one skb whose
 * DSCP is already the class's, so no store: the steady state).  Run by
 * `make bench-datapath` after bench_datapath; needs root and cgroup v2.
 *
 * A test run's skb carries a dummy socket in the calling task's cgroup, so
 * this process moves itself into a cgroup 4 levels below the cgroup v2
 * root (/tcprio-bench-host-PID/a/b/c) and times:
 *   forwarded        ingress_ifindex set: no socket lookups at all
 *   local, no rules  host config empty: one array lookup, one counter
 *   cgroup hit       a rule on the socket's own cgroup
 *   ancestor hit     a rule 3 levels up (walk from level 4 to level 1)
 *   cgroup miss      entries at every level 1..4, none on the socket's
 *                    path: no rule
 *   dst hit          a destination rule (LPM trie), no cgroup rules
 * The cgroups have the agent's answers (tcprio_host_answers, written by
 * its writer, user/dp/host_answers.c), so the uplink makes no walk up the
 * cgroup tree.  The "first packet" cases time SINGLE runs of repeat 1 with
 * a new tcprio_cache_gen before each (outside the timed part), so no cache
 * answers, against the empty program timed the same way.  The "fallback"
 * cases are first packets of a cgroup the agent has no answer for (made
 * since it last listed the tree, every 10 s): the uplink walks from the
 * socket's cgroup up, as it did before answers.
 * ROUNDS alternating rounds, medians; ratios against the empty program.
 */
#include <sched.h>
#include <time.h>

#include "datapath/harness.h"
#include "test_cgroup.h"
#include "dp/host_answers.h"
#include "tcprio_empty.skel.h"

#define REPEAT 200000
#define SINGLE 3000      /* first-packet cases: test runs of repeat 1 */
#define ROUNDS 7

enum { C_EMPTY, C_FWD, C_LOCAL, C_HIT, C_ANC, C_MISS, C_DST,
       C_EMPTY1, C_ANC1, C_MISS1, C_ANCW1, C_MISSW1, NCASE };
static const char *case_name[NCASE] = {
	"empty program", "uplink, forwarded packet", "uplink, local socket, no host rules",
	"uplink, cgroup rule on the socket's cgroup", "uplink, cgroup rule 3 levels up",
	"uplink, cgroup entries at every level, none matches", "uplink, destination rule (LPM)",
	"empty program, single runs",
	"first packet: cgroup rule 3 levels up (the agent's answer, cache miss)",
	"first packet: cgroup entries at every level, none matches (the agent's answer, cache miss)",
	"fallback, first packet of a cgroup newer than the agent's last listing (no answer): cgroup rule 3 levels up (walk)",
	"fallback, first packet of a cgroup newer than the agent's last listing (no answer): cgroup entries at every level, none matches (full walk)",
};
/* The repeat-mode case whose rules a first-packet case uses, and the empty
 * program each case is compared with. */
#define SETUP_OF(c) ((c) == C_ANC1 || (c) == C_ANCW1 ? C_ANC : \
		     (c) == C_MISS1 || (c) == C_MISSW1 ? C_MISS : (c))
#define EMPTY_OF(c) ((c) >= C_EMPTY1 ? C_EMPTY1 : C_EMPTY)
/* Cases whose cgroup has no answer from the agent: the uplink walks. */
#define WALKS(c) ((c) == C_ANCW1 || (c) == C_MISSW1)
static double samples[NCASE][ROUNDS];

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	double c[ROUNDS];

	memcpy(c, v, sizeof(double) * (size_t)n);
	qsort(c, (size_t)n, sizeof(double), cmp_d);
	return n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
}

/* skb->priority the uplink must give each case: class 0 (1:10) from a
 * host rule or, forwarded, from the trusted DSCP 46; the default class 1
 * (1:30) for a local socket no rule matches (never its own DSCP). */
static __u32 want_priority(int c)
{
	c = SETUP_OF(c);
	return c == C_LOCAL || c == C_MISS ? 0x00010030 : 0x00010010;
}

static struct th_ctx T;
static int m_cg, m_dst, m_hcfg, m_filter;
static struct host_answers *answers; /* the agent's writer of tcprio_host_answers */

/* tcprio_host_filter over the ids in tcprio_host_cgroups, as the agent
 * writes it (user/dp/host_sync.c): the walk then looks up only cgroups
 * whose bit is set. */
static void write_filter(void)
{
	struct tcprio_host_filter f;
	__u64 key, *prev = NULL;
	__u32 zero = 0;

	memset(&f, 0, sizeof(f));
	f.valid = 1;
	while (bpf_map_get_next_key(m_cg, prev, &key) == 0) {
		tcprio_host_filter_add(&f, key);
		f.n_ids++;
		prev = &key;
	}
	bpf_map_update_elem(m_filter, &zero, &f, BPF_ANY);
}

/* tcprio_host_answers for the entries in tcprio_host_cgroups, as the agent
 * writes them (user/dp/host_answers.c), or none (with = false: every
 * cgroup walks). */
static void write_answers(bool with)
{
	__u64 ids[8], key, *prev = NULL;
	struct tcprio_host_rule rules[8];
	size_t n = 0;

	while (with && n < 8 && bpf_map_get_next_key(m_cg, prev, &key) == 0) {
		ids[n] = key;
		bpf_map_lookup_elem(m_cg, &key, &rules[n++]);
		prev = &key;
	}
	host_answers_sync(answers, tcg_root, ids, rules, n, NULL);
}

static void host_setup(int kase, const uint64_t ids[5], bool with_answers)
{
	struct tcprio_host_config hc = { 0 };
	struct tcprio_host_rule r = { .class_id = 0, .slot = 1 };
	struct tcprio_host_dst_key k = { .prefixlen = 32 + 96 + 24,
					 .protocol = IPPROTO_TCP, .port = 443 };
	__u32 zero = 0;
	__u64 other = ids[4] + 1000003; /* an id no cgroup of ours has */

	th_clear_hash(m_cg, sizeof(__u64));
	th_clear_hash(m_dst, sizeof(k));
	switch (kase) {
	/* level_mask as the agent writes it: the levels that have entries. */
	case C_HIT:
		bpf_map_update_elem(m_cg, &ids[4], &r, BPF_ANY);
		hc.cgroup_levels = 5;
		hc.level_mask = 1u << 4;
		break;
	case C_ANC:
		bpf_map_update_elem(m_cg, &ids[1], &r, BPF_ANY);
		hc.cgroup_levels = 5;
		hc.level_mask = 1u << 1;
		break;
	case C_MISS:  /* entries at every level 1..4, none of ours: the longest walk */
		for (__u64 l = 1; l <= 4; l++) {
			__u64 id = other + l;

			bpf_map_update_elem(m_cg, &id, &r, BPF_ANY);
		}
		hc.cgroup_levels = 5;
		hc.level_mask = 0x1e;
		break;
	case C_DST:
		th_ip_key("198.18.5.0", &k.ip);
		bpf_map_update_elem(m_dst, &k, &r, BPF_ANY);
		hc.dst_rules = 1;
		break;
	}
	write_filter();
	write_answers(with_answers);
	bpf_map_update_elem(m_hcfg, &zero, &hc, BPF_ANY);
	th_note_change(&T);   /* as host_sync does after writing */
}

/* Mean in-kernel ns of SINGLE runs (repeat 1) of fd on pkt, each after a
 * new tcprio_cache_gen (not timed), so the uplink's caches never answer.
 * *last: the last run's outputs.  Returns < 0 on a failed run. */
static double single_runs(int fd, const __u8 *pkt, __u32 len, __u8 *out, size_t out_sz,
			  struct th_run_out *last)
{
	struct th_run_in in = { .repeat = 1 };
	double sum = 0;

	for (int i = 0; i < SINGLE; i++) {
		th_note_change(&T);
		if (th_run(fd, pkt, len, out, out_sz, &in, last))
			return -1;
		sum += last->duration_ns;
	}
	return sum / SINGLE;
}

int main(void)
{
	struct tcprio_empty_bpf *empty = NULL;
	struct pkt_spec s = { .family = 4, .src = "198.18.0.1", .dst = "198.18.5.9",
			      .l4 = IPPROTO_TCP, .sport = 40000, .dport = 443,
			      .tos = 46 << 2, .payload_len = 100 };
	__u8 pkt[TH_PKT_MAX], out[TH_PKT_MAX + 256];
	char base[64], path[128];
	uint64_t ids[5] = { 0 };
	size_t len;
	int err = 1, n = 0;
	cpu_set_t set;

	if (geteuid() != 0 || tcg_init()) {
		fprintf(stderr, "bench_host: needs root and a cgroup v2 hierarchy\n");
		return 2;
	}
	CPU_ZERO(&set);
	CPU_SET(sched_getcpu(), &set);
	sched_setaffinity(0, sizeof(set), &set);
	libbpf_set_print(NULL);
	snprintf(base, sizeof(base), "/tcprio-bench-host-%d", (int)getpid());
	snprintf(path, sizeof(path), "%s", base);
	for (int lvl = 1; lvl <= 4; lvl++) {
		if (lvl > 1)
			snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%c",
				 'a' + lvl - 2);
		if (tcg_mkdir(path, &ids[lvl])) {
			fprintf(stderr, "bench_host: mkdir %s: %s\n", path, strerror(errno));
			goto cleanup;
		}
	}
	if (tcg_enter(path) || th_open(&T, "benchhost")) {
		fprintf(stderr, "bench_host: setup failed: %s\n", strerror(errno));
		goto cleanup;
	}
	empty = tcprio_empty_bpf__open_and_load();
	if (!empty)
		goto cleanup;
	m_cg = bpf_map__fd(T.skel->maps.tcprio_host_cgroups);
	m_dst = bpf_map__fd(T.skel->maps.tcprio_host_dsts);
	m_hcfg = bpf_map__fd(T.skel->maps.tcprio_host_config);
	m_filter = bpf_map__fd(T.skel->maps.tcprio_host_filter);
	answers = host_answers_new(bpf_map__fd(T.skel->maps.tcprio_host_answers));
	if (!answers)
		goto cleanup;
	th_clear_maps(&T);
	th_set_class(&T, 0, 0x00010010, 46, true);
	th_set_class(&T, 1, 0x00010030, 0, true);
	th_set_dscp_class(&T, 46, 0, true);
	th_set_config(&T, 1, true, true, true);
	/* The forwarded case comes in through a pod edge (ifindex 7): the
	 * uplink trusts its DSCP (bpf/trust.h, issue 12's trust model). */
	th_trust_iface(&T, 7, TCPRIO_TRUST_POD_EDGE);
	th_sync_prefix_lists(&T);   /* no destinations: an empty list, as the agent writes */
	th_build_ep_filter(&T);     /* no endpoints: the agent's filter, empty and valid */
	len = pkt_build(&s, pkt, sizeof(pkt), NULL);

	for (int r = 0; r < ROUNDS; r++, n++) {
		for (int k = 0; k < NCASE; k++) {
			int c = (k + r) % NCASE;
			struct th_run_in in = { .repeat = REPEAT,
						.ingress_ifindex = c == C_FWD ? 7 : 0 };
			struct th_run_out o = { 0 };
			bool is_empty = EMPTY_OF(c) == c;
			int fd = is_empty ? bpf_program__fd(empty->progs.tcprio_empty) :
				 T.prog_uplink;
			double ns;

			host_setup(SETUP_OF(c), ids, !WALKS(c));
			if (c >= C_EMPTY1) {
				ns = single_runs(fd, pkt, (__u32)len, out, sizeof(out), &o);
				o.err = ns < 0 ? -1 : 0;
			} else {
				o.err = th_run(fd, pkt, (__u32)len, out, sizeof(out), &in, &o);
				ns = o.duration_ns;
			}
			/* the uplink set the class's priority */
			if (o.err || (!is_empty && o.priority != want_priority(c))) {
				fprintf(stderr, "bench_host: %s: run failed (err %d, priority %#x)\n",
					case_name[c], o.err, o.priority);
				goto cleanup;
			}
			samples[c][r] = ns;
		}
	}
	printf("bench_host: uplink program, in-kernel ns per run (BPF_PROG_TEST_RUN, repeat %d; "
	       "first packet: %d runs of repeat 1, caches invalidated before each; "
	       "medians of %d rounds, one CPU), IPv4 TCP, socket 4 cgroup levels deep\n\n",
	       REPEAT, SINGLE, n);
	printf("| case | ns/run | vs empty | added ns |\n|---|---:|---:|---:|\n");
	for (int c = 0; c < NCASE; c++) {
		double m = median(samples[c], n), e = median(samples[EMPTY_OF(c)], n);

		printf("| %s | %.1f | %.2fx | %+.0f |\n", case_name[c], m, m / e, m - e);
	}
	err = 0;
cleanup:
	host_answers_free(answers);
	tcprio_empty_bpf__destroy(empty);
	th_close(&T);
	tcg_cleanup();
	return err;
}
