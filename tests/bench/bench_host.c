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
 *                    path: the whole walk, no hit
 *   dst hit          a destination rule (LPM trie), no cgroup rules
 * The cgroup answer is cached per CPU (tcprio_cg_cache), so in repeat mode
 * these are a socket's later packets.  A socket's first packet (in a
 * jiffy, or after a rule change) pays the walk: the "first packet" cases
 * time SINGLE runs of repeat 1 with a new tcprio_cache_gen before each
 * (outside the timed part), against the empty program timed the same way.
 * Floor (single runs too): floor_socket
 * (bpf/tcprio_steps.bpf.c), the socket's cgroup id, one hash hit on it and
 * the destination trie and nothing else: a first packet if the agent wrote
 * every cgroup's answer, so no walk; how close a socket's first packet
 * could come to the empty program here.
 * ROUNDS alternating rounds, medians; ratios against the empty program.
 */
#include <sched.h>
#include <time.h>

#include "datapath/harness.h"
#include "test_cgroup.h"
#include "tcprio_empty.skel.h"
#include "tcprio_steps.skel.h"

#define REPEAT 200000
#define SINGLE 3000      /* first-packet cases: test runs of repeat 1 */
#define ROUNDS 7

enum { C_EMPTY, C_FWD, C_LOCAL, C_HIT, C_ANC, C_MISS, C_DST,
       C_EMPTY1, C_ANC1, C_MISS1, C_FLOOR1, NCASE };
static const char *case_name[NCASE] = {
	"empty program", "uplink, forwarded packet", "uplink, local socket, no host rules",
	"uplink, cgroup rule on the socket's cgroup", "uplink, cgroup rule 3 levels up",
	"uplink, cgroup entries at every level, none matches (full walk)", "uplink, destination rule (LPM)",
	"empty program, single runs", "first packet: cgroup rule 3 levels up (walk, cache miss)",
	"first packet: cgroup entries at every level, none matches (full walk, cache miss)",
	"floor, single runs: cgroup id, one hash hit on it, destination trie, nothing else (floor_socket)",
};
/* The repeat-mode case whose rules a first-packet case uses, and the empty
 * program each case is compared with. */
#define SETUP_OF(c) ((c) == C_ANC1 ? C_ANC : (c) == C_MISS1 ? C_MISS : \
		     (c) == C_FLOOR1 ? C_HIT : (c))
#define EMPTY_OF(c) ((c) >= C_EMPTY1 ? C_EMPTY1 : C_EMPTY)
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

static void host_setup(int kase, const uint64_t ids[5])
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
	struct tcprio_steps_bpf *stp = NULL;
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
	{
		/* the steps' maps are tcprio's, by pin (what host_setup writes) */
		LIBBPF_OPTS(bpf_object_open_opts, o, .pin_root_path = T.pin_dir);

		stp = tcprio_steps_bpf__open_opts(&o);
		if (!stp || tcprio_steps_bpf__load(stp)) {
			fprintf(stderr, "bench_host: loading tcprio_steps: %s\n", strerror(errno));
			goto cleanup;
		}
	}
	m_cg = bpf_map__fd(T.skel->maps.tcprio_host_cgroups);
	m_dst = bpf_map__fd(T.skel->maps.tcprio_host_dsts);
	m_hcfg = bpf_map__fd(T.skel->maps.tcprio_host_config);
	m_filter = bpf_map__fd(T.skel->maps.tcprio_host_filter);
	th_clear_maps(&T);
	th_set_class(&T, 0, 0x00010010, 46, true);
	th_set_class(&T, 1, 0x00010030, 0, true);
	th_set_dscp_class(&T, 46, 0, true);
	th_set_config(&T, 1, true, true, true);
	/* The forwarded case comes in through a pod edge (ifindex 7): the
	 * uplink trusts its DSCP (bpf/trust.h, issue 12's trust model). */
	th_trust_iface(&T, 7, TCPRIO_TRUST_POD_EDGE);
	th_sync_prefix_lists(&T);   /* no destinations: an empty list, as the agent writes */
	len = pkt_build(&s, pkt, sizeof(pkt), NULL);

	for (int r = 0; r < ROUNDS; r++, n++) {
		for (int k = 0; k < NCASE; k++) {
			int c = (k + r) % NCASE;
			struct th_run_in in = { .repeat = REPEAT,
						.ingress_ifindex = c == C_FWD ? 7 : 0 };
			struct th_run_out o = { 0 };
			bool is_empty = EMPTY_OF(c) == c, is_floor = c == C_FLOOR1;
			int fd = is_empty ? bpf_program__fd(empty->progs.tcprio_empty) :
				 is_floor ? bpf_program__fd(stp->progs.floor_socket) :
				 T.prog_uplink;
			double ns;

			host_setup(SETUP_OF(c), ids);
			if (c >= C_EMPTY1) {
				ns = single_runs(fd, pkt, (__u32)len, out, sizeof(out), &o);
				o.err = ns < 0 ? -1 : 0;
			} else {
				o.err = th_run(fd, pkt, (__u32)len, out, sizeof(out), &in, &o);
				ns = o.duration_ns;
			}
			/* the floor found the rule (cb[0] = 1 + class 0); the
			 * uplink set the class's priority */
			if (o.err || (is_floor ? o.cb0 != 1 :
				      !is_empty && o.priority != want_priority(c))) {
				fprintf(stderr, "bench_host: %s: run failed (err %d, priority %#x, cb[0] %u)\n",
					case_name[c], o.err, o.priority, o.cb0);
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
	tcprio_steps_bpf__destroy(stp);
	tcprio_empty_bpf__destroy(empty);
	th_close(&T);
	tcg_cleanup();
	return err;
}
