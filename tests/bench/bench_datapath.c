// SPDX-License-Identifier: BSD-2-Clause
/*
 * bench_datapath.c - in-kernel cost of tcprio_pod_edge and tcprio_uplink
 * per packet, as a ratio against an empty TC program (bpf/tcprio_empty.bpf.c)
 * measured in the same run, IPv4 and IPv6, with 10, 10,000 and 100,000
 * endpoints loaded.  Run by `make bench-datapath` (scripts/bench.mk, which
 * also runs the real-traffic benchmark); needs root.
 *
 * Every figure is the kernel's own `duration` of BPF_PROG_TEST_RUN: the
 * programs' run time without the syscall and skb set-up (the wall clock of
 * a test run, 2.5-4 us here, is the syscall's and says nothing about the
 * program: it is not reported).  Two modes:
 *   repeat  one test run with repeat = REPEAT on one skb (ns per run, mean
 *           of AVG such runs).  A rewrite could only happen on the first
 *           run, so these packets already carry their class's DSCP: the
 *           steady state "parse, look up, classify, count, no store".
 *   fresh   CALLS test runs with repeat = 1, each on a fresh skb whose DSCP
 *           is 0, so the pod edge rewrites DSCP (and the IPv4 checksum) in
 *           every run; the mean of the kernel's duration of those runs.
 *           Includes the timer read (in the empty program's figure too)
 *           and the caches a syscall leaves, closer to a real packet.
 * Scenarios (rows): in repeat mode, a flow's later packets (the per-CPU
 * caches answer): a pod without port rules; a pod with two TCP port rules
 * (kept inline in its entry) whose ports the packet has or not; a pod with
 * 32, the most (in its rule block, both ports searched); a pod whose only rule is
 * UDP, sending TCP; a source that is not an endpoint (sanitised at the pod
 * edge, class from the trusted DSCP at the uplink).  In fresh mode: the
 * DSCP rewrite (of a TCP packet, with bpf_skb_store_bytes, and of a UDP one,
 * whose IPv4 DSCP tcprio_dscp_writer writes directly), and a flow's first
 * packet (every cache invalidated before
 * each run; DSCP rewritten too, as a pod's first packet is) for each kind
 * of pod, and for a source that is not an endpoint.  Steps: the pod
 * edge cut after each of its steps (bpf/tcprio_steps.bpf.c), repeat mode.
 * The uplink runs on what the pod edge sends: an endpoint's packet with
 * the DSCP the pod edge wrote (pk_up), which the uplink trusts from a pod
 * edge (bpf/trust.h); a packet of a source that is not an endpoint (SNAT'd
 * or tunnelled pod traffic) with its class's DSCP.
 *
 * Measurements alternate (every program of a scenario, in a rotating
 * order, ROUNDS rounds); reported are medians; ratios and differences are
 * medians of per-round values against the empty program of the same
 * round, so machine drift cancels.  Bounded to about BUDGET_S seconds.
 * Output: verdicts first, then tables, then a markdown summary.
 */
#include <sched.h>
#include <time.h>

#include "datapath/dp_expect.h"
#include "policy/policy.h"   /* policy_set_endpoint_rules: the agent's writer */
#include "tcprio_empty.skel.h"
#include "tcprio_steps.skel.h"

#define REPEAT    100000   /* repeat mode: runs per test run */
#define AVG       3        /* repeat mode: test runs averaged per sample */
#define CALLS     5000     /* fresh mode: test runs per sample */
#define ROUNDS    9
#define BUDGET_S  75.0     /* stop adding rounds after this (all sizes) */

#define REQ_PLAIN   2.0    /* required: at most 2x without a rewrite */
#define AIM_PLAIN   1.5
#define REQ_REWRITE 3.0    /* required: at most 3x with a rewrite */
#define AIM_REWRITE 2.0
#define GROWTH_NOISE 1.10  /* 10,000 vs 10 endpoints: within 10% */
/* skb->ingress_ifindex of every run: a received, forwarded packet (the
 * pod edge sees the pod's packets arrive; the uplink sends forwarded pod
 * traffic), not one of a local socket (bench_host measures those). */
#define RX_IFINDEX   7
/* ... and an interface tcprio does not trust (a gateway's LAN port, a
 * bridge with ports that are not pods'), for the trustDscpFrom CIDR rows. */
#define LAN_IFINDEX  8
/* scen[].ep of a source that is not an endpoint but is in a trustDscpFrom
 * CIDR (198.19.9.0/24, 2001:db8:9::/48). */
#define EP_TRUSTED_CIDR (-2)

enum { P_EMPTY, P_EDGE, P_UPLINK, NPROG };
static const char *prog_name[NPROG] = { "empty", "pod_edge", "uplink" };

/* Ports of the benchmark's packets.  Endpoint 1's TCP rules are on ports
 * 8080 and 5432 (bench_rules), bits 16 and 56 of its rule-port bitmap,
 * kept inline in its entry; endpoint 3 has the same two and 30 more
 * (9000-9029), too many to keep inline, so its rules are in its rule
 * block.  43216 shares bit 16 with 8080 (so endpoint 3's packet from it
 * to 5432 searches its block for both ports), 43210 and 443 share
 * no bit of endpoint 1's rule ports. */
#define SPORT        43210
#define SPORT_SHARED 43216
#define DPORT        443
#define DPORT_RULE   5432  /* endpoint 1's rule -> class bulk */

enum { S_PLAIN, S_RULES_NONE, S_RULES_HIT, S_RULES2, S_RULES_OTHER, S_NOT_EP, S_CIDR,
       S_FRESH, S_FRESH_UDP, S_MISS, S_MISS_INLINE, S_MISS_RULES, S_MISS_RULES_LAN,
       S_MISS_NOT_EP, S_MISS_CIDR, NSCEN };
static const struct {
	const char *name;
	bool fresh;        /* fresh mode: CALLS single runs, each on a fresh skb */
	int ep;            /* source endpoint index, -1: not an endpoint,
			      EP_TRUSTED_CIDR: not one, in a trusted CIDR */
	__u16 sport, dport;
	int cls;           /* the class both programs must give it */
	bool rewrite;      /* the packet carries DSCP 0, so the pod edge
			      rewrites it to the class's (fresh mode only:
			      a repeated skb would be rewritten once) */
	bool miss;         /* fresh mode, a new tcprio_cache_gen before every
			      run: no cache answers what an earlier run left
			      (a flow's first packet).  For an endpoint's
			      packet the uplink's run follows an untimed pod
			      edge run of the same packet on the same CPU, as
			      a forwarded pod packet meets them (what the pod
			      edge left in the per-CPU caches; the uplink reads
			      the class from the DSCP unless lan); a source
			      that is not an endpoint (SNAT'd, tunnelled,
			      routed traffic) meets the uplink alone */
	bool udp;          /* a UDP packet (else TCP): the pod edge writes
			      an IPv4 one's DSCP in tcprio_dscp_writer */
	bool lan;          /* comes in through LAN_IFINDEX (else RX_IFINDEX) */
} scen[NSCEN] = {
	[S_PLAIN]       = { "pod without port rules", false, 0, SPORT, DPORT, DX_CLS_CRITICAL },
	[S_RULES_NONE]  = { "pod with 2 TCP port rules (inline), packet's ports have none",
			    false, 1, SPORT, DPORT, DX_CLS_CRITICAL },
	[S_RULES_HIT]   = { "pod with 2 TCP port rules (inline), packet to a rule's port",
			    false, 1, SPORT, DPORT_RULE, DX_CLS_BULK },
	[S_RULES2]      = { "pod with 32 TCP port rules (the most; its rule block; later packets: the source cache answers)",
			    false, 3, SPORT_SHARED, DPORT_RULE, DX_CLS_BULK },
	[S_RULES_OTHER] = { "pod with a UDP rule only, TCP packet", false, 2,
			    SPORT, DPORT, DX_CLS_CRITICAL },
	[S_NOT_EP]      = { "source not an endpoint (pod edge: sanitised to the default class; uplink: its trusted DSCP)",
			    false, -1, SPORT, DPORT, DX_CLS_DEFAULT },
	[S_CIDR]        = { "source in a trustDscpFrom CIDR, from an interface tcprio does not trust (uplink: its DSCP)",
			    false, EP_TRUSTED_CIDR, SPORT, DPORT, DX_CLS_DEFAULT, .lan = true },
	[S_FRESH]       = { "fresh skb, pod edge rewrites DSCP: pod without port rules", true, 0,
			    SPORT, DPORT, DX_CLS_CRITICAL, true },
	[S_FRESH_UDP]   = { "fresh skb, pod edge rewrites DSCP: UDP packet (IPv4: direct write in tcprio_dscp_writer; IPv6: bpf_skb_store_bytes)",
			    true, 0, SPORT, DPORT, DX_CLS_CRITICAL, true, false, true },
	[S_MISS]        = { "first packet, pod edge rewrites DSCP: pod without port rules", true, 0,
			    SPORT, DPORT, DX_CLS_CRITICAL, true, true },
	[S_MISS_INLINE] = { "first packet, pod edge rewrites DSCP: pod with 2 TCP port rules (inline), packet to a rule's port",
			    true, 1, SPORT_SHARED, DPORT_RULE, DX_CLS_BULK, true, true },
	[S_MISS_RULES]  = { "first packet, pod edge rewrites DSCP: pod with 32 TCP port rules (the most): the pod edge searches its rule block for both ports",
			    true, 3, SPORT_SHARED, DPORT_RULE, DX_CLS_BULK, true, true },
	[S_MISS_RULES_LAN] = { "first packet, pod with 32 TCP port rules, its DSCP already right, through an interface the uplink does not trust (a bridge with other ports, a pod edge not running first): both search its block",
			    true, 3, SPORT_SHARED, DPORT_RULE, DX_CLS_BULK, false, true, .lan = true },
	[S_MISS_NOT_EP] = { "first packet, source not an endpoint (SNAT'd or tunnelled traffic: the uplink alone)",
			    true, -1, SPORT, DPORT, DX_CLS_DEFAULT, false, true },
	[S_MISS_CIDR]   = { "first packet, source in a trustDscpFrom CIDR, from an interface tcprio does not trust (the uplink alone)",
			    true, EP_TRUSTED_CIDR, SPORT, DPORT, DX_CLS_DEFAULT, false, true, .lan = true },
};
/* skb->ingress_ifindex of scenario s's runs. */
#define INGRESS(s) (scen[s].lan ? LAN_IFINDEX : RX_IFINDEX)
/* Whether the pod edge rewrites the DSCP in scenario s (the bound is 3x). */
#define REWRITES(s) (scen[s].rewrite)

/* The chain ST_EMPTY..ST_FULL (each adds a step to the one before), then
 * ST_EP, reported against ST_PARSE. */
enum { ST_EMPTY, ST_CONFIG, ST_PARSE, ST_SRC, ST_CLASS, ST_FULL, ST_EP, ST_EP4, NSTEP };
static const char *step_name[NSTEP] = {
	"empty program", "config lookup", "+ pull check, parse",
	"+ source class (endpoint slot)", "+ class lookup, skb->priority",
	"+ counter = tcprio_pod_edge",
	"(a source cache miss: + endpoint hash lookup, vs parse)",
	"(instead: hash lookup, 4-byte IPv4 key, vs parse; IPv6: a miss)",
};

static const int n_eps[] = { 10, 10000, 100000 };
#define NN (int)(sizeof(n_eps) / sizeof(n_eps[0]))

/* samples[n][scenario][fam][prog][round], ns per run */
static double samples[NN][NSCEN][2][NPROG][ROUNDS];
static double steps[NN][2][NSTEP][ROUNDS];
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

	if (n <= 0)
		return 0;
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

/* The port rules of endpoints 1 (TCP 8080 -> control, 5432 -> bulk:
 * inline), 2 (UDP 53 -> control) and 3 (endpoint 1's two and TCP
 * 9000-9029 -> bulk: 32, the most a pod can have (POLICY_MAX_PORT_RULES),
 * in a rule block, as the agent writes them: one block per family, index
 * 3 * 2 + fam / 6), both families (load_rules). */
#define R3(p) { 3, { p, IPPROTO_TCP, DX_CLS_BULK } }
static const struct { int ep; struct port_class r; } bench_rules[] = {
	{ 1, { 8080, IPPROTO_TCP, DX_CLS_CONTROL } }, { 1, { 5432, IPPROTO_TCP, DX_CLS_BULK } },
	{ 2, { 53, IPPROTO_UDP, DX_CLS_CONTROL } },
	{ 3, { 8080, IPPROTO_TCP, DX_CLS_CONTROL } }, { 3, { 5432, IPPROTO_TCP, DX_CLS_BULK } },
	R3(9000), R3(9001), R3(9002), R3(9003), R3(9004), R3(9005), R3(9006), R3(9007),
	R3(9008), R3(9009), R3(9010), R3(9011), R3(9012), R3(9013), R3(9014), R3(9015),
	R3(9016), R3(9017), R3(9018), R3(9019), R3(9020), R3(9021), R3(9022), R3(9023),
	R3(9024), R3(9025), R3(9026), R3(9027), R3(9028), R3(9029),
};
#define N_BENCH_RULES (sizeof(bench_rules) / sizeof(bench_rules[0]))

/* Rule fields of endpoint i of family fam, written by the agent's own
 * writer (policy_set_endpoint_rules) for its bench_rules; with more rules
 * than fit in the entry, a rule block as the agent's sync engine gives it
 * (include/tcprio.h).  0 or -errno. */
static int ep_rules(struct th_ctx *t, int i, int fam, struct tcprio_endpoint *ep)
{
	struct port_class r[N_BENCH_RULES];
	__u32 block = (__u32)(i * 2 + fam / 6);
	struct tcprio_rule_block b;
	int n = 0;

	for (size_t k = 0; k < N_BENCH_RULES; k++)
		if (bench_rules[k].ep == i)
			r[n++] = bench_rules[k].r;
	if (!n)
		return 0;
	policy_set_endpoint_rules(ep, r, n);
	if (n <= TCPRIO_EP_INLINE_RULES)
		return 0;
	ep->flags |= TCPRIO_EP_RULES_BLOCK;
	ep->rule_block = block;
	policy_fill_rule_block(&b, ep->pod_id, r, n);
	return th_put_rule_block(t, block, &b);
}

/* Grow the endpoint map to n entries (n/2 per family), class critical;
 * endpoints 1 to 3 get port rules (ep_rules).  Entries [have, n) are added
 * with one batch update.  0 or -errno. */
static int ep4_fd = -1;  /* step_ep4_map (bpf/tcprio_steps.bpf.c) */

static int load_endpoints(struct th_ctx *t, int have, int n)
{
	int add = n - have, k = 0, err = 0;
	struct tcprio_ip *keys = calloc((size_t)add, sizeof(*keys));
	struct tcprio_endpoint *vals = calloc((size_t)add, sizeof(*vals));
	__u32 count;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (int i = have / 2; i < n / 2; i++) {
		for (int fam = 4; fam <= 6; fam += 2) {
			ep_addr(fam, i, &keys[k]);
			vals[k].pod_id = 0x1000 + (__u64)k;
			vals[k].class_id = DX_CLS_CRITICAL;
			if ((err = ep_rules(t, i, fam, &vals[k])))
				goto cleanup;
			vals[k].source = TCPRIO_SRC_MANUAL;
			k++;
		}
	}
	count = (__u32)k;
	if (bpf_map_update_batch(t->map_endpoints, keys, vals, &count, NULL))
		err = -errno;
	/* their slots, in the order the agent would write them: the first
	 * endpoints (those of the scenarios) keep slots others share */
	for (int i = 0; !err && i < k; i++)
		err = ep_slot_sync(t->map_ep_slots, t->map_endpoints, &keys[i]);
	if (!err && th_note_change(t))
		err = -errno;
	/* the filter over them, as the agent builds it (include/tcprio.h) */
	if (!err && th_build_ep_filter(t) < 0)
		err = -EIO;
	/* the same IPv4 endpoints by 4-byte key, for the step_ep4 variant */
	for (int i = 0; !err && i < k; i++)
		if (keys[i].addr[10] == 0xff &&
		    bpf_map_update_elem(ep4_fd, keys[i].addr + 12, &vals[i], BPF_ANY))
			err = -errno;
cleanup:
	free(keys);
	free(vals);
	return err;
}

/* bench_rules into tcprio_port_rules, both families.  0 or -errno. */
static int load_rules(struct th_ctx *t)
{
	for (int fam = 4; fam <= 6; fam += 2)
		for (size_t i = 0; i < N_BENCH_RULES; i++) {
			struct tcprio_port_key k = { .port = bench_rules[i].r.port,
						     .protocol = bench_rules[i].r.protocol };
			struct tcprio_port_rule v = { .class_id = bench_rules[i].r.class_id };

			ep_addr(fam, bench_rules[i].ep, &k.ip);
			if (bpf_map_update_elem(t->map_port_rules, &k, &v, BPF_ANY))
				return -errno;
		}
	return th_note_change(t);
}

/* A TCP (or, with udp, UDP) packet (100 bytes payload, sport -> dport) of
 * fam from endpoint ep (-1: 198.19.5.5 / 2001:db8:5::5, not an endpoint;
 * EP_TRUSTED_CIDR: 198.19.9.9 / 2001:db8:9::9) with DSCP dscp. */
static size_t make_packet(int fam, int ep, bool udp, __u16 sport, __u16 dport, __u8 dscp,
			  __u8 *buf, size_t cap)
{
	char src[INET6_ADDRSTRLEN];
	struct tcprio_ip ip;
	struct pkt_spec s = {
		.family = fam, .tos = (__u8)(dscp << 2), .l4 = udp ? IPPROTO_UDP : IPPROTO_TCP,
		.sport = sport, .dport = dport, .payload_len = 100,
		.dst = fam == 4 ? "198.19.0.1" : "2001:db8:ffff::1",
		.flow_label = 0x12345,
	};

	if (ep == EP_TRUSTED_CIDR) {
		s.src = fam == 4 ? "198.19.9.9" : "2001:db8:9::9";
	} else if (ep < 0) {
		s.src = fam == 4 ? "198.19.5.5" : "2001:db8:5::5";
	} else {
		ep_addr(fam, ep, &ip);
		inet_ntop(fam == 4 ? AF_INET : AF_INET6, fam == 4 ? ip.addr + 12 : ip.addr,
			  src, sizeof(src));
		s.src = src;
	}
	return pkt_build(&s, buf, cap, NULL);
}

/* Repeat mode: mean over AVG test runs of the kernel's ns per run. */
static double measure_repeat(int fd, const __u8 *pkt, size_t len, __u32 ingress)
{
	static __u8 out[TH_PKT_MAX + 256];
	struct th_run_in in = { .repeat = REPEAT, .ingress_ifindex = ingress };
	struct th_run_out r;
	double sum = 0;

	for (int i = 0; i < AVG; i++) {
		if (th_run(fd, pkt, (__u32)len, out, sizeof(out), &in, &r))
			return -1;
		sum += r.duration_ns;
	}
	return sum / AVG;
}

/* Fresh mode: mean of the kernel's duration of CALLS repeat=1 runs.  With
 * miss != NULL a new tcprio_cache_gen before each run (outside the timed
 * part), so no cache answers from an earlier run; then, if before_fd >= 0,
 * an untimed run of before_fd on the same packet (the pod edge before the
 * uplink, as a forwarded packet meets them). */
static double measure_fresh(int fd, const __u8 *pkt, size_t len, __u32 ingress,
			    struct th_ctx *miss, int before_fd)
{
	static __u8 out[TH_PKT_MAX + 256];
	struct th_run_in in = { .ingress_ifindex = ingress };
	struct th_run_out r;
	double sum = 0;

	for (int i = 0; i < CALLS; i++) {
		if (miss && th_note_change(miss))
			return -1;
		if (before_fd >= 0 &&
		    th_run(before_fd, pkt, (__u32)len, out, sizeof(out), &in, &r))
			return -1;
		if (th_run(fd, pkt, (__u32)len, out, sizeof(out), &in, &r))
			return -1;
		sum += r.duration_ns;
	}
	return sum / CALLS;
}

/* What the uplink is given of each packet, pk_up: an endpoint's packet as
 * the pod edge sends it (with its class's DSCP), others as they are (a
 * source that is not an endpoint stands for SNAT'd pod traffic, whose DSCP
 * a pod edge wrote before the source changed).  0 or -EPROTO. */
static int uplink_packets(struct th_ctx *t, __u8 pk[NSCEN][2][TH_PKT_MAX],
			  __u8 pk_up[NSCEN][2][TH_PKT_MAX], size_t len[NSCEN][2])
{
	__u8 out[TH_PKT_MAX + 256];
	struct th_run_in in = { .ingress_ifindex = RX_IFINDEX };
	struct th_run_out r;

	for (int s = 0; s < NSCEN; s++)
		for (int f = 0; f < 2; f++) {
			memcpy(pk_up[s][f], pk[s][f], len[s][f]);
			if (scen[s].ep < 0)
				continue;
			if (th_run(t->prog_pod_edge, pk[s][f], (__u32)len[s][f], out,
				   sizeof(out), &in, &r) || r.out_len != len[s][f]) {
				fprintf(stderr, "bench_datapath: pod edge run failed\n");
				return -EPROTO;
			}
			memcpy(pk_up[s][f], out, len[s][f]);
		}
	return 0;
}

/* Check once per size that the packets do what the rows claim.  0 or
 * -EPROTO with a message. */
static int sanity(struct th_ctx *t, __u8 pk[NSCEN][2][TH_PKT_MAX],
		  __u8 pk_up[NSCEN][2][TH_PKT_MAX], size_t len[NSCEN][2], int n)
{
	__u8 out[TH_PKT_MAX + 256];
	struct th_run_in in = { .ingress_ifindex = RX_IFINDEX };
	struct th_run_out r;
	struct pm_info o;
	__u64 hits;

	for (int f = 0; f < 2; f++) {
		/* fresh: rewritten to 46; repeat: unchanged; classes as named */
		for (int s = S_FRESH; s <= S_FRESH_UDP; s++) {
			th_run(t->prog_pod_edge, pk[s][f], (__u32)len[s][f], out, sizeof(out),
			       &in, &r);
			pm_parse(out, (int)len[s][f], &o);
			if (r.err || o.dscp != 46)
				goto bad;
		}
		for (int s = 0; s < NSCEN; s++) {
			in.ingress_ifindex = INGRESS(s);
			th_run(t->prog_pod_edge, pk[s][f], (__u32)len[s][f], out, sizeof(out),
			       &in, &r);
			if (r.err || (!REWRITES(s) && memcmp(out, pk[s][f], len[s][f])))
				goto bad;
			/* not an endpoint: the pod edge may sanitise (default
			 * class) or leave it; both are its job, not checked */
			if (scen[s].ep >= 0 &&
			    r.priority != dx_classes[scen[s].cls].priority)
				goto bad;
			hits = th_event(t, TCPRIO_HOOK_UPLINK, TCPRIO_EV_DSCP_HIT);
			th_run(t->prog_uplink, pk_up[s][f], (__u32)len[s][f], out, sizeof(out),
			       &in, &r);
			if (r.err || r.priority != dx_classes[scen[s].cls].priority)
				goto bad;
			/* a source that is not an endpoint: classified by its
			 * trusted DSCP (pod edge ingress, or trusted CIDR) */
			if (scen[s].ep < 0 &&
			    th_event(t, TCPRIO_HOOK_UPLINK, TCPRIO_EV_DSCP_HIT) != hits + 1)
				goto bad;
		}
	}
	return 0;
bad:
	fprintf(stderr, "bench_datapath: packets not classified as expected with %d endpoints\n", n);
	return -EPROTO;
}

/*
 * FALLBACK lines (information): the pod edge's first packet of scenarios
 * S_MISS and S_MISS_RULES_LAN when the pod's endpoint slot holds another
 * address (include/tcprio.h, "Endpoint slots": a pod whose address
 * shares its slot with an earlier pod's, or an endpoint an older tcprio
 * binary wrote), so that it is looked up in the hash.  Medians of ROUNDS
 * alternating rounds against the empty program, both families (the
 * worse).  0 or -1 (a test run failed).
 */
static int fallback_rows(struct th_ctx *t, const int fds[NPROG],
			 __u8 pk[NSCEN][2][TH_PKT_MAX], size_t len[NSCEN][2])
{
	static const int fb[] = { S_MISS, S_MISS_RULES_LAN };

	for (size_t i = 0; i < sizeof(fb) / sizeof(fb[0]); i++) {
		int s = fb[i];
		double worst = 0, worst_ns = 0;

		for (int f = 0; f < 2; f++) {
			struct tcprio_ep_slot held, other;
			double ratio[ROUNDS], added[ROUNDS];
			struct tcprio_ip ip;
			__u32 k;

			ep_addr(f ? 6 : 4, scen[s].ep, &ip);
			k = TCPRIO_EP_SLOT(&ip);
			/* the pod must hold its slot: the main rows measure that */
			if (bpf_map_lookup_elem(t->map_ep_slots, &k, &held) || !held.ep.pod_id ||
			    memcmp(&held.ip, &ip, sizeof(ip))) {
				fprintf(stderr, "bench_datapath: scenario pod %d has no endpoint slot\n",
					scen[s].ep);
				return -1;
			}
			other = held;
			other.ip.addr[15] ^= 0x80;  /* another address holds it */
			bpf_map_update_elem(t->map_ep_slots, &k, &other, BPF_ANY);
			for (int r = 0; r < ROUNDS; r++) {
				double v[2];

				for (int j = 0; j < 2; j++) {
					int p = (j + r) % 2 ? P_EDGE : P_EMPTY;

					v[p == P_EDGE] = measure_fresh(fds[p], pk[s][f], len[s][f],
								       INGRESS(s), t, -1);
					if (v[p == P_EDGE] < 0)
						return -1;
				}
				ratio[r] = v[1] / v[0];
				added[r] = v[1] - v[0];
			}
			bpf_map_update_elem(t->map_ep_slots, &k, &held, BPF_ANY);
			th_note_change(t);
			if (median(ratio, ROUNDS) > worst) {
				worst = median(ratio, ROUNDS);
				worst_ns = median(added, ROUNDS);
			}
		}
		printf("FALLBACK in-kernel, pod edge, first packet of a pod whose endpoint slot another address holds (the hash lookup): %s: %.2fx the empty program (%+.0f ns)\n",
		       scen[s].name, worst, worst_ns);
	}
	return 0;
}

/* Median over rounds of prog/empty (ratio) or prog - empty (diff). */
static double rel(int n, int s, int f, int p, bool diff)
{
	double v[ROUNDS];
	int k = rounds_done[n];

	for (int r = 0; r < k; r++) {
		double a = samples[n][s][f][p][r], e = samples[n][s][f][P_EMPTY][r];

		v[r] = diff ? a - e : a / e;
	}
	return median(v, k);
}

static double med(int n, int s, int f, int p)
{
	return median(samples[n][s][f][p], rounds_done[n]);
}

/* Worst ratio over the scenarios of one mode (fresh or not), both
 * programs, both families and every size; *where describes it. */
static double worst_ratio(bool rewrite, char *where, size_t len)
{
	double worst = 0;

	for (int n = 0; n < NN; n++)
		for (int s = 0; s < NSCEN; s++)
			for (int f = 0; f < 2; f++)
				for (int p = P_EDGE; p < NPROG && rounds_done[n]; p++) {
					double x;

					if (REWRITES(s) != rewrite)
						continue;
					x = rel(n, s, f, p, false);
					if (x > worst) {
						worst = x;
						snprintf(where, len, "%s, %s, %s, %d endpoints",
							 prog_name[p], f ? "IPv6" : "IPv4",
							 scen[s].name, n_eps[n]);
					}
				}
	return worst;
}

/* Largest growth of the ratio to empty from size 0 to size hi. */
static double growth(int hi, char *where, size_t len)
{
	double g = 0;

	if (!rounds_done[0] || !rounds_done[hi])
		return 0;
	for (int s = 0; s < NSCEN; s++)
		for (int f = 0; f < 2; f++)
			for (int p = P_EDGE; p < NPROG; p++) {
				double x = rel(hi, s, f, p, false) / rel(0, s, f, p, false);

				if (x > g) {
					g = x;
					snprintf(where, len, "%s, %s, %s", prog_name[p],
						 f ? "IPv6" : "IPv4", scen[s].name);
				}
			}
	return g;
}

static void verdicts(void)
{
	char w1[256], w2[256], w3[256], w4[256];
	double a = worst_ratio(false, w1, sizeof(w1));
	double b = worst_ratio(true, w2, sizeof(w2));
	double g = growth(1, w3, sizeof(w3));
	double g2 = growth(NN - 1, w4, sizeof(w4));

	printf("VERDICT in-kernel, no rewrite: worst %.2fx the empty program (%s): %s (required <= %.1fx), %s the %.1fx aim\n",
	       a, w1, a <= REQ_PLAIN ? "MEETS" : "FAILS", REQ_PLAIN,
	       a <= AIM_PLAIN ? "meets" : "misses", AIM_PLAIN);
	printf("VERDICT in-kernel, DSCP rewrite on a fresh skb: worst %.2fx the empty program (%s): %s (required <= %.1fx), %s the %.1fx aim\n",
	       b, w2, b <= REQ_REWRITE ? "MEETS" : "FAILS", REQ_REWRITE,
	       b <= AIM_REWRITE ? "meets" : "misses", AIM_REWRITE);
	for (int s = 0; s < NSCEN; s++) {
		double w = 0, req = REWRITES(s) ? REQ_REWRITE : REQ_PLAIN;

		for (int n = 0; n < NN; n++)
			for (int f = 0; f < 2 && rounds_done[n]; f++)
				for (int p = P_EDGE; p < NPROG; p++)
					if (rel(n, s, f, p, false) > w)
						w = rel(n, s, f, p, false);
		printf("VERDICT   in-kernel, %s: worst %.2fx (both programs, IPv4/IPv6, every size): %s (required <= %.1fx)\n",
		       scen[s].name, w, w <= req ? "MEETS" : "FAILS", req);
	}
	printf("VERDICT growth 10 -> 10,000 endpoints: worst %.2fx (%s): %s (noise bound %.2fx); 10 -> 100,000: %.2fx (%s)\n",
	       g, w3, g <= GROWTH_NOISE ? "NO GROWTH" : "GROWS", GROWTH_NOISE, g2, w4);
}

static void tables(bool md)
{
	for (int s = 0; s < NSCEN; s++) {
		if (md)
			printf("\n**%s** (%s)\n\n| family | endpoints | empty ns | pod_edge ns | uplink ns | pod_edge / empty | uplink / empty |\n|---|---:|---:|---:|---:|---:|---:|\n",
			       scen[s].name, scen[s].fresh ? "fresh skb, repeat=1" : "repeat on one skb");
		else
			printf("\n%s (%s mode)\n  %-6s %9s %9s %9s %9s %15s %13s %11s %11s\n",
			       scen[s].name, scen[s].fresh ? "fresh" : "repeat", "family",
			       "endpoints", "empty", "pod_edge", "uplink", "pod_edge/empty",
			       "uplink/empty", "edge-empty", "upl-empty");
		for (int f = 0; f < 2; f++)
			for (int n = 0; n < NN; n++) {
				if (!rounds_done[n])
					continue;
				if (md)
					printf("| %s | %d | %.1f | %.1f | %.1f | %.2fx | %.2fx |\n",
					       f ? "IPv6" : "IPv4", n_eps[n], med(n, s, f, P_EMPTY),
					       med(n, s, f, P_EDGE), med(n, s, f, P_UPLINK),
					       rel(n, s, f, P_EDGE, false), rel(n, s, f, P_UPLINK, false));
				else
					printf("  %-6s %9d %9.1f %9.1f %9.1f %14.2fx %12.2fx %+11.1f %+11.1f\n",
					       f ? "IPv6" : "IPv4", n_eps[n], med(n, s, f, P_EMPTY),
					       med(n, s, f, P_EDGE), med(n, s, f, P_UPLINK),
					       rel(n, s, f, P_EDGE, false), rel(n, s, f, P_UPLINK, false),
					       rel(n, s, f, P_EDGE, true), rel(n, s, f, P_UPLINK, true));
			}
	}
}

/* Where the time goes: each step's added ns (median of per-round
 * differences to the previous variant), 10 endpoints. */
static void step_table(bool md)
{
	int n = 0;

	if (!rounds_done[n])
		return;
	if (md)
		printf("\n**Where the pod edge's time goes** (repeat on one skb, %d endpoints, pod without port rules, DSCP already right; ns added by each step, median of per-round differences)\n\n| step | IPv4 ns | IPv6 ns |\n|---|---:|---:|\n", n_eps[n]);
	else
		printf("\nWhere the pod edge's time goes (repeat mode, %d endpoints; ns added by each step)\n  %-32s %9s %9s\n",
		       n_eps[n], "step", "IPv4", "IPv6");
	for (int st = 0; st < NSTEP; st++) {
		double d[2];

		for (int f = 0; f < 2; f++) {
			double v[ROUNDS];

			for (int r = 0; r < rounds_done[n]; r++)
				v[r] = steps[n][f][st][r] -
				       (st >= ST_EP ? steps[n][f][ST_PARSE][r] :
					st ? steps[n][f][st - 1][r] : 0);
			d[f] = median(v, rounds_done[n]);
		}
		printf(md ? "| %s | %s%.1f | %s%.1f |\n" : "  %-32s %s%8.1f %s%8.1f\n",
		       step_name[st], st ? "+" : "", d[0], st ? "+" : "", d[1]);
	}
}

int main(void)
{
	static __u8 pk[NSCEN][2][TH_PKT_MAX], pk_up[NSCEN][2][TH_PKT_MAX];
	struct tcprio_empty_bpf *empty = NULL;
	struct tcprio_steps_bpf *stp = NULL;
	struct th_ctx t = { 0 };
	size_t len[NSCEN][2];
	int fds[NPROG], sfds[NSTEP], have = 0, err = 1;
	struct tcprio_config cfg = { .default_class = DX_CLS_DEFAULT, .trust_dscp = 1,
				     .rewrite_dscp = 1, .enabled = 1,
				     .sanitize_unknown = 1 /* the agent's default */ };
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
	{
		LIBBPF_OPTS(bpf_object_open_opts, o, .pin_root_path = t.pin_dir);

		stp = tcprio_steps_bpf__open_opts(&o);
		if (stp && tcprio_steps_bpf__load(stp)) {
			tcprio_steps_bpf__destroy(stp);
			stp = NULL;
		}
	}
	if (!empty || !stp) {
		fprintf(stderr, "bench_datapath: loading tcprio_empty / tcprio_steps: %s\n",
			strerror(errno));
		err = 1;
		goto cleanup;
	}
	fds[P_EMPTY] = bpf_program__fd(empty->progs.tcprio_empty);
	fds[P_EDGE] = t.prog_pod_edge;
	fds[P_UPLINK] = t.prog_uplink;
	sfds[ST_EMPTY] = fds[P_EMPTY];
	sfds[ST_CONFIG] = bpf_program__fd(stp->progs.step_config);
	sfds[ST_PARSE] = bpf_program__fd(stp->progs.step_parse);
	sfds[ST_SRC] = bpf_program__fd(stp->progs.step_src);
	sfds[ST_EP] = bpf_program__fd(stp->progs.step_ep);
	sfds[ST_EP4] = bpf_program__fd(stp->progs.step_ep4);
	ep4_fd = bpf_map__fd(stp->maps.step_ep4_map);
	sfds[ST_CLASS] = bpf_program__fd(stp->progs.step_class);
	sfds[ST_FULL] = fds[P_EDGE];
	if ((err = dx_reset(&t, &mx, &cfg)) || (err = load_rules(&t)))
		goto cleanup;
	/* Every class's DSCP names it, as the agent writes them (trustDscp). */
	for (int c = 0; c < DX_NCLASSES; c++)
		if ((err = dx_add_dscp(&t, &mx, dx_classes[c].dscp, (__u32)c)))
			goto cleanup;
	{
		/* The packets come in through a pod edge: the uplink trusts
		 * their DSCP (bpf/trust.h). */
		if ((err = th_trust_iface(&t, RX_IFINDEX, TCPRIO_TRUST_POD_EDGE)) ||
		    (err = th_trust_cidr(&t, "198.19.9.0", 24)) ||
		    (err = th_trust_cidr(&t, "2001:db8:9::", 48)))
			goto cleanup;
	}
	{
		/* Site destinations (issue 9), so the uplink's LAN/WAN lookup
		 * walks a trie: the node's LAN 198.18.0.0/15 and 2001:db8::/40,
		 * and the packets' destinations as remote (WAN) CIDRs, so their
		 * class's priority stays what sanity() checks. */
		static const struct { __u8 a[16]; __u32 plen; __u8 scope; } d[] = {
			{ { [10] = 0xff, [11] = 0xff, [12] = 198, [13] = 18 }, 96 + 15, TCPRIO_SCOPE_LAN },
			{ { [10] = 0xff, [11] = 0xff, [12] = 198, [13] = 19 }, 96 + 16, TCPRIO_SCOPE_WAN },
			{ { 0x20, 0x01, 0x0d, 0xb8 }, 40, TCPRIO_SCOPE_LAN },
			{ { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff }, 48, TCPRIO_SCOPE_WAN },
		};
		int dfd = bpf_map__fd(t.skel->maps.tcprio_destinations);

		for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
			struct tcprio_dest_key k = { .prefixlen = d[i].plen };
			struct tcprio_dest v = { .scope = d[i].scope };

			memcpy(k.addr, d[i].a, 16);
			if (bpf_map_update_elem(dfd, &k, &v, BPF_ANY)) {
				err = -errno;
				goto cleanup;
			}
		}
		/* and both tries as the agent's prefix lists (include/tcprio.h) */
		if ((err = th_sync_prefix_lists(&t)))
			goto cleanup;
	}
	for (int s = 0; s < NSCEN; s++)
		for (int f = 0; f < 2; f++)
			len[s][f] = make_packet(f ? 6 : 4, scen[s].ep, scen[s].udp, scen[s].sport,
						scen[s].dport,
						REWRITES(s) ? 0 : dx_classes[scen[s].cls].dscp,
						pk[s][f], sizeof(pk[s][f]));
	fprintf(stderr, "bench_datapath: CPU %d, repeat mode %d x %d runs, fresh mode %d runs, up to %d rounds; TCP packets (one UDP row), 100 bytes payload, %zu (IPv4) / %zu (IPv6) bytes\n",
		sched_getcpu(), AVG, REPEAT, CALLS, ROUNDS, len[0][0], len[0][1]);

	for (int n = 0; n < NN; n++) {
		if ((err = load_endpoints(&t, have, n_eps[n]))) {
			fprintf(stderr, "bench_datapath: loading %d endpoints: %s\n",
				n_eps[n], strerror(-err));
			goto cleanup;
		}
		have = n_eps[n];
		if ((n == 0 && (err = uplink_packets(&t, pk, pk_up, len))) ||
		    (err = sanity(&t, pk, pk_up, len, have)))
			goto cleanup;
		for (int r = 0; r < ROUNDS; r++) {
			if (now_s() - t0 > BUDGET_S * (n + 1) / NN && r >= 3)
				break;
			for (int f = 0; f < 2; f++) {
				for (int s = 0; s < NSCEN; s++)
					for (int k = 0; k < NPROG; k++) {
						int p = (k + r) % NPROG;   /* rotate the order */
						double v = scen[s].fresh ?
							measure_fresh(fds[p],
								      p == P_UPLINK ? pk_up[s][f] : pk[s][f],
								      len[s][f], INGRESS(s),
								      scen[s].miss ? &t : NULL,
								      scen[s].miss && scen[s].ep >= 0 &&
								      p == P_UPLINK ?
								      fds[P_EDGE] : -1) :
							measure_repeat(fds[p],
								       p == P_UPLINK ? pk_up[s][f] : pk[s][f],
								       len[s][f], INGRESS(s));

						if (v < 0)
							goto run_failed;
						samples[n][s][f][p][r] = v;
					}
				for (int k = 0; k < NSTEP && n == 0; k++) {
					int st = (k + r) % NSTEP;
					double v = measure_repeat(sfds[st], pk[S_PLAIN][f], len[S_PLAIN][f],
								  RX_IFINDEX);

					if (v < 0)
						goto run_failed;
					steps[n][f][st][r] = v;
				}
			}
			rounds_done[n] = r + 1;
		}
		fprintf(stderr, "  %d endpoints: %d rounds, %.1f s so far\n", have,
			rounds_done[n], now_s() - t0);
	}
	verdicts();
	if (fallback_rows(&t, fds, pk, len))
		goto run_failed;
	printf("\nIn-kernel cost (the kernel's duration of BPF_PROG_TEST_RUN, ns per run; medians of %d alternating rounds; ratios and differences are medians of per-round values against the empty program)\n",
	       rounds_done[0]);
	tables(false);
	step_table(false);
	printf("\n----- markdown -----\n");
	tables(true);
	step_table(true);
	err = 0;
	goto cleanup;
run_failed:
	fprintf(stderr, "bench_datapath: test run failed: %s\n", strerror(errno));
	err = 1;
cleanup:
	tcprio_steps_bpf__destroy(stp);
	tcprio_empty_bpf__destroy(empty);
	dx_free(&mx);
	th_close(&t);
	return err ? 1 : 0;
}
