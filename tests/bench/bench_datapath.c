// SPDX-License-Identifier: BSD-2-Clause
/*
 * bench_datapath.c - what tcprio_pod_edge and tcprio_uplink cost per packet,
 * next to an empty TC program (bpf/tcprio_empty.bpf.c) measured in the same
 * run, on an IPv4 and an IPv6 TCP packet, with 10, 10,000 and 100,000
 * endpoints loaded (the packet's source is one of them).  Run by
 * `make bench-datapath` (scripts/bench.mk); needs root.
 *
 * Two figures, both through BPF_PROG_TEST_RUN on this CPU:
 *  (a) in-kernel program time: one test run with repeat = REPEAT, the
 *      kernel's `duration` (ns per run, averaged over the repeats).  The
 *      kernel runs the program REPEAT times on the SAME skb
 *      (net/bpf/test_run.c), so a DSCP rewrite could only happen on the
 *      first run: (a) uses a packet that already carries the class's DSCP
 *      (EF, 46), i.e. the steady state "look up, classify, count, no
 *      store".  It does not include the skb set-up; the empty program's
 *      figure is the test loop's own cost per run.
 *  (b) per-packet cost of the hook as a packet sees it: wall-clock time of
 *      CALLS test runs with repeat = 1, each on a fresh skb built from a
 *      packet with DSCP 0, so the pod edge rewrites DSCP (and the IPv4
 *      checksum) on EVERY call.  Includes the syscall and skb allocation and
 *      copy, which a real packet does not pay but which dilutes the
 *      program's share; the program's own share is the difference to the
 *      empty program.
 *  Also printed: (c) the kernel's `duration` of those repeat=1 runs
 *  (one run each, so it includes the rewrite; ns timer granularity).
 *
 * Measurements alternate (empty, pod edge, uplink, in a rotating order,
 * ROUNDS rounds); reported are medians, and ratios are the medians of the
 * per-round ratios, so machine drift cancels.  Bounded to about 60 s.
 * Output: a plain table, verdict lines, then the same as markdown.
 */
#include <sched.h>
#include <time.h>

#include "datapath/dp_expect.h"
#include "tcprio_empty.skel.h"

#define REPEAT    200000   /* (a) runs per test run */
#define CALLS     10000    /* (b) test runs per measurement */
#define ROUNDS    9
#define BUDGET_S  55.0     /* stop adding rounds after this */

enum { P_EMPTY, P_EDGE, P_UPLINK, NPROG };
static const char *prog_name[NPROG] = { "empty", "pod_edge", "uplink" };
static const int n_eps[] = { 10, 10000, 100000 };
#define NN (int)(sizeof(n_eps) / sizeof(n_eps[0]))

/* samples[fig][n][fam][prog][round] in ns */
static double samples[3][NN][2][NPROG][ROUNDS];
static int rounds_done[NN];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double t[ROUNDS];

	memcpy(t, v, sizeof(double) * (size_t)n);
	qsort(t, (size_t)n, sizeof(double), cmp_d);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

/* Endpoint i of family fam (4 or 6): 198.18.0.1 + i, 2001:db8:0:1::1 + i. */
static void ep_addr(int fam, int i, struct tcprio_ip *ip)
{
	uint32_t v = 0xc6120001u + (uint32_t)i;   /* 198.18.0.1 */

	memset(ip, 0, sizeof(*ip));
	if (fam == 4) {
		ip->addr[10] = ip->addr[11] = 0xff;
		th_put32(ip->addr + 12, v);
	} else {
		static const __u8 pre[8] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1 };

		memcpy(ip->addr, pre, 8);
		th_put32(ip->addr + 12, 1u + (uint32_t)i);
	}
}

/* Grow the endpoint map to n entries (n/2 per family), class critical.
 * Entries [have, n) are added with one batch update.  0 or -errno. */
static int load_endpoints(struct th_ctx *t, int have, int n)
{
	int add = n - have, k = 0, err = 0;
	struct tcprio_ip *keys = calloc((size_t)add, sizeof(*keys));
	struct tcprio_endpoint *vals = calloc((size_t)add, sizeof(*vals));
	__u32 count = (__u32)add;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (int i = have / 2; i < n / 2; i++) {
		for (int fam = 4; fam <= 6; fam += 2) {
			ep_addr(fam, i, &keys[k]);
			vals[k].pod_id = 0x1000 + (__u64)k;
			vals[k].class_id = DX_CLS_CRITICAL;
			vals[k].source = TCPRIO_SRC_MANUAL;
			k++;
		}
	}
	count = (__u32)k;
	if (bpf_map_update_batch(t->map_endpoints, keys, vals, &count, NULL)) {
		err = -errno;
		goto cleanup;
	}
cleanup:
	free(keys);
	free(vals);
	return err;
}

/* A TCP packet from endpoint 0 of fam with DSCP dscp, 100 bytes payload. */
static size_t make_packet(int fam, __u8 dscp, __u8 *buf, size_t cap)
{
	char src[INET6_ADDRSTRLEN];
	struct tcprio_ip ip;
	struct pkt_spec s = {
		.family = fam, .tos = (__u8)(dscp << 2), .l4 = IPPROTO_TCP,
		.sport = 43210, .dport = 443, .payload_len = 100,
		.dst = fam == 4 ? "198.19.0.1" : "2001:db8:ffff::1",
		.flow_label = 0x12345,
	};

	ep_addr(fam, 0, &ip);
	inet_ntop(fam == 4 ? AF_INET : AF_INET6, fam == 4 ? ip.addr + 12 : ip.addr,
		  src, sizeof(src));
	s.src = src;
	return pkt_build(&s, buf, cap, NULL);
}

/* (a): kernel duration, ns per run, of one test run with REPEAT runs. */
static double measure_a(int fd, const __u8 *pkt, size_t len)
{
	static __u8 out[TH_PKT_MAX + 256];
	struct th_run_in in = { .repeat = REPEAT };
	struct th_run_out r;

	if (th_run(fd, pkt, (__u32)len, out, sizeof(out), &in, &r))
		return -1;
	return r.duration_ns;
}

/* (b) wall-clock ns per repeat=1 test run over CALLS runs; (c) the mean of
 * the kernel's duration of those runs. */
static int measure_bc(int fd, const __u8 *pkt, size_t len, double *b, double *c)
{
	static __u8 out[TH_PKT_MAX + 256];
	struct th_run_out r;
	double t0, sum = 0;

	t0 = now_s();
	for (int i = 0; i < CALLS; i++) {
		if (th_run(fd, pkt, (__u32)len, out, sizeof(out), NULL, &r))
			return r.err;
		sum += r.duration_ns;
	}
	*b = (now_s() - t0) * 1e9 / CALLS;
	*c = sum / CALLS;
	return 0;
}

/* Check once that the packets do what the figures claim: (b)'s packet is
 * rewritten to DSCP 46 by the pod edge, (a)'s is left alone, and the uplink
 * sets the critical class's priority.  0 or -EPROTO. */
static int sanity(struct th_ctx *t, const __u8 *pa, size_t la, const __u8 *pb,
		  size_t lb)
{
	__u8 out[TH_PKT_MAX + 256];
	struct th_run_out r;
	struct pm_info in, o;

	th_run(t->prog_pod_edge, pb, (__u32)lb, out, sizeof(out), NULL, &r);
	pm_parse(pb, (int)lb, &in);
	pm_parse(out, (int)lb, &o);
	if (r.err || in.dscp != 0 || o.dscp != 46)
		return -EPROTO;
	th_run(t->prog_pod_edge, pa, (__u32)la, out, sizeof(out), NULL, &r);
	if (r.err || memcmp(out, pa, la))
		return -EPROTO;
	th_run(t->prog_uplink, pb, (__u32)lb, out, sizeof(out), NULL, &r);
	if (r.err || r.priority != dx_classes[DX_CLS_CRITICAL].priority)
		return -EPROTO;
	return 0;
}

static const char *fig_name[3] = {
	"(a) in-kernel, repeat=200000 on one skb, DSCP already right (ns/run)",
	"(b) per packet, wall clock of repeat=1 test runs, fresh skb, pod edge rewrites (ns/packet)",
	"(c) in-kernel, kernel duration of those repeat=1 runs, incl. rewrite (ns/run)",
};

/* Median over rounds of the difference prog - empty (ns). */
static double added(int fig, int n, int fam, int p)
{
	double v[ROUNDS];
	int k = rounds_done[n];

	for (int r = 0; r < k; r++)
		v[r] = samples[fig][n][fam][p][r] - samples[fig][n][fam][P_EMPTY][r];
	return median(v, k);
}

/* Median over rounds of sample ratio prog/empty. */
static double ratio(int fig, int n, int fam, int p)
{
	double v[ROUNDS];
	int k = rounds_done[n];

	for (int r = 0; r < k; r++)
		v[r] = samples[fig][n][fam][p][r] / samples[fig][n][fam][P_EMPTY][r];
	return median(v, k);
}

static void report(bool markdown)
{
	for (int fig = 0; fig < 3; fig++) {
		if (markdown)
			printf("\n**%s**\n\n| family | endpoints | empty | pod_edge | uplink | pod_edge/empty | uplink/empty | pod_edge - empty | uplink - empty |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
			       fig_name[fig]);
		else
			printf("\n%s\n  %-6s %9s %9s %9s %9s %14s %12s %10s %10s\n", fig_name[fig],
			       "family", "endpoints", "empty", "pod_edge", "uplink",
			       "pod_edge/empty", "uplink/empty", "edge-empty", "upl-empty");
		for (int fam = 0; fam < 2; fam++) {
			for (int n = 0; n < NN; n++) {
				double m[NPROG];

				if (!rounds_done[n])
					continue;
				for (int p = 0; p < NPROG; p++)
					m[p] = median(samples[fig][n][fam][p], rounds_done[n]);
				printf(markdown ? "| %s | %d | %.1f | %.1f | %.1f | %.2fx | %.2fx | %+.0f | %+.0f |\n" :
				       "  %-6s %9d %9.1f %9.1f %9.1f %13.2fx %11.2fx %+10.0f %+10.0f\n",
				       fam ? "IPv6" : "IPv4", n_eps[n], m[P_EMPTY], m[P_EDGE],
				       m[P_UPLINK], ratio(fig, n, fam, P_EDGE),
				       ratio(fig, n, fam, P_UPLINK), added(fig, n, fam, P_EDGE),
				       added(fig, n, fam, P_UPLINK));
			}
		}
	}
}

/* Verdicts: worst ratio per figure vs 2x (aim 1.5x); growth 100k vs 10. */
static void verdicts(bool markdown)
{
	const char *pre = markdown ? "- " : "  ";

	printf(markdown ? "\n**Verdicts** (requirement: at most 2x the empty program and no growth with the number of endpoints; aim 1.5x)\n\n" :
	       "\nVerdicts (requirement: at most 2x the empty program and no growth with the number of endpoints; aim 1.5x)\n");
	for (int fig = 0; fig < 3; fig++) {
		double worst = 0, growth = 0;
		const char *wp = "", *gp = "";

		for (int n = 0; n < NN; n++)
			for (int fam = 0; fam < 2; fam++)
				for (int p = P_EDGE; p < NPROG; p++) {
					double x;

					if (!rounds_done[n])
						continue;
					x = ratio(fig, n, fam, p);
					if (x > worst) {
						worst = x;
						wp = prog_name[p];
					}
				}
		if (rounds_done[NN - 1] && rounds_done[0]) {
			for (int fam = 0; fam < 2; fam++)
				for (int p = P_EDGE; p < NPROG; p++) {
					double lo = median(samples[fig][0][fam][p], rounds_done[0]);
					double hi = median(samples[fig][NN - 1][fam][p], rounds_done[NN - 1]);

					if (hi / lo > growth) {
						growth = hi / lo;
						gp = prog_name[p];
					}
				}
		}
		printf("%s%.3s: worst ratio %.2fx (%s): %s 2x, %s 1.5x aim; 100,000 vs 10 endpoints: %.2fx (%s): %s\n",
		       pre, fig_name[fig], worst, wp,
		       worst <= 2.0 ? "MEETS" : "FAILS", worst <= 1.5 ? "meets" : "misses",
		       growth, gp, growth <= 1.15 ? "no growth (within 15%)" : "GROWS");
	}
}

int main(void)
{
	struct tcprio_empty_bpf *empty = NULL;
	struct th_ctx t = { 0 };
	__u8 pa[2][TH_PKT_MAX], pb[2][TH_PKT_MAX];
	size_t la[2], lb[2];
	int fds[NPROG], have = 0, err = 1;
	struct tcprio_config cfg = { .default_class = DX_CLS_DEFAULT,
				     .rewrite_dscp = 1, .enabled = 1 };
	struct dx_maps mx = { 0 };
	double t0 = now_s();
	cpu_set_t set;

	if (geteuid() != 0) {
		fprintf(stderr, "bench_datapath: needs root (BPF_PROG_TEST_RUN)\n");
		return 2;
	}
	/* Stay on one CPU: per-CPU maps and caches stay warm, no migration. */
	CPU_ZERO(&set);
	CPU_SET(sched_getcpu(), &set);
	sched_setaffinity(0, sizeof(set), &set);
	libbpf_set_print(NULL);
	if ((err = th_open(&t, "bench"))) {
		fprintf(stderr, "bench_datapath: loading tcprio: %s\n", strerror(-err));
		return 1;
	}
	dx_cleanup_on_signal(&t);
	empty = tcprio_empty_bpf__open_and_load();
	if (!empty) {
		fprintf(stderr, "bench_datapath: loading tcprio_empty: %s\n", strerror(errno));
		goto cleanup;
	}
	fds[P_EMPTY] = bpf_program__fd(empty->progs.tcprio_empty);
	fds[P_EDGE] = t.prog_pod_edge;
	fds[P_UPLINK] = t.prog_uplink;
	if ((err = dx_reset(&t, &mx, &cfg)))
		goto cleanup;
	for (int f = 0; f < 2; f++) {
		la[f] = make_packet(f ? 6 : 4, 46, pa[f], sizeof(pa[f]));
		lb[f] = make_packet(f ? 6 : 4, 0, pb[f], sizeof(pb[f]));
	}
	printf("bench_datapath: kernel %s, CPU %d, REPEAT %d, CALLS %d, up to %d rounds; "
	       "packets: TCP, 100 bytes payload, %zu (IPv4) / %zu (IPv6) bytes\n",
	       "BPF_PROG_TEST_RUN", sched_getcpu(), REPEAT, CALLS, ROUNDS, la[0], la[1]);

	for (int n = 0; n < NN; n++) {
		if ((err = load_endpoints(&t, have, n_eps[n]))) {
			fprintf(stderr, "bench_datapath: loading %d endpoints: %s\n",
				n_eps[n], strerror(-err));
			goto cleanup;
		}
		have = n_eps[n];
		for (int f = 0; f < 2; f++) {
			if ((err = sanity(&t, pa[f], la[f], pb[f], lb[f]))) {
				fprintf(stderr, "bench_datapath: %s packet not classified as expected with %d endpoints\n",
					f ? "IPv6" : "IPv4", have);
				goto cleanup;
			}
		}
		for (int r = 0; r < ROUNDS; r++) {
			if (now_s() - t0 > BUDGET_S * (n + 1) / NN && r >= 3)
				break;
			for (int f = 0; f < 2; f++) {
				for (int k = 0; k < NPROG; k++) {
					int p = (k + r) % NPROG;   /* rotate the order */
					double a, b, c;

					a = measure_a(fds[p], pa[f], la[f]);
					if (a < 0 || measure_bc(fds[p], pb[f], lb[f], &b, &c)) {
						fprintf(stderr, "bench_datapath: test run failed: %s\n",
							strerror(errno));
						err = 1;
						goto cleanup;
					}
					samples[0][n][f][p][r] = a;
					samples[1][n][f][p][r] = b;
					samples[2][n][f][p][r] = c;
				}
			}
			rounds_done[n] = r + 1;
		}
		fprintf(stderr, "  %d endpoints: %d rounds, %.1f s so far\n", have,
			rounds_done[n], now_s() - t0);
	}
	report(false);
	verdicts(false);
	printf("\n----- markdown -----\n");
	printf("\nDatapath benchmark (`make bench-datapath`): BPF_PROG_TEST_RUN on one CPU, medians of %d alternating rounds; ratios and differences are medians of per-round program vs empty-program values. TCP packets with 100 bytes payload from one of the loaded endpoints (half IPv4, half IPv6). "
	       "(a) is the programs' own run time (the kernel's `duration`, REPEAT runs on one skb, so the pod edge finds the DSCP already right and does not store); "
	       "(b) is what one packet costs end to end through BPF_PROG_TEST_RUN (syscall + skb set-up + program, the pod edge rewriting DSCP every time), the figure closest to a packet's cost but diluted by the test-run overhead; "
	       "(c) is the kernel's `duration` of those single runs (includes the rewrite and the timer's own cost).\n",
	       rounds_done[0]);
	report(true);
	verdicts(true);
	err = 0;
cleanup:
	tcprio_empty_bpf__destroy(empty);
	dx_free(&mx);
	th_close(&t);
	return err ? 1 : 0;
}
