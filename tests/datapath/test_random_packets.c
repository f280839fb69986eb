// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_random_packets.c - many thousands of random frames, valid and
 * corrupted (random VLAN depth up to 6, random IPv4 IHL and options,
 * fragments, random IPv6 extension header chains up to 8 long, TCP / UDP /
 * SCTP / ICMP / unknown protocols, random truncation, flipped bytes,
 * broken checksums and version fields, wholly random bytes) through
 * tcprio_pod_edge and tcprio_uplink with BPF_PROG_TEST_RUN, with part of
 * the source addresses loaded as endpoints (some with port rules).
 *
 * Every frame is checked against the reference model (pkt_model.h,
 * dp_expect.h): never dropped (TC_ACT_UNSPEC), length kept, nothing changed
 * outside the DSCP bits, ECN kept, IPv4 checksum equal to a full recompute
 * if it was valid, exact DSCP / skb->priority / counters where the spec
 * fixes them, counted exactly once otherwise.
 *
 * Seeded PRNG (splitmix64): fixed default seed, printed; TCPRIO_SEED=<n>
 * replays a run, TCPRIO_SEED=time draws one from the clock, TCPRIO_RANDOM_COUNT=<n> changes the number of frames (default
 * 20000).  Needs root (BPF_PROG_TEST_RUN); prints SKIP otherwise.
 */
#include <time.h>

#include "dp_expect.h"

#define POOL 64                 /* addresses per family in the pool */
#define DEFAULT_COUNT 20000
/* Fixed default seed: `make test` runs the same frames every time, and a
 * failure replays exactly.  TCPRIO_SEED=<n> picks another seed,
 * TCPRIO_SEED=time one from the clock (printed either way). */
#define DEFAULT_SEED 0x7c1ca11ab1eULL

/* splitmix64 (Steele, Lea, Flood 2014): small, fast, fine for tests. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint32_t rn(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/* True with probability pct / 100. */
static bool chance(uint32_t pct)
{
	return rn(100) < pct;
}

static char pool4[POOL][INET_ADDRSTRLEN], pool6[POOL][INET6_ADDRSTRLEN];
static const __u16 hot_ports[] = { 53, 80, 443, 5432, 6379, 8080, 9090, 50051 };
#define N_HOT (sizeof(hot_ports) / sizeof(hot_ports[0]))

static void make_pool(void)
{
	for (int i = 0; i < POOL; i++) {
		snprintf(pool4[i], sizeof(pool4[i]), "198.18.%d.%d", i / 8, 10 + i);
		snprintf(pool6[i], sizeof(pool6[i]), "2001:db8:%x::%x", i / 8, 10 + i);
	}
}

static __u16 pick_port(void)
{
	return chance(60) ? hot_ports[rn(N_HOT)] : (__u16)(1 + rn(65535));
}

/* Load about half the pool as endpoints of random classes, a quarter of
 * them with 1..3 port rules on the hot ports.  0 or -errno. */
static int load_endpoints(struct th_ctx *t, struct dx_maps *m)
{
	static const __u8 protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	int err;

	for (int fam = 4; fam <= 6; fam += 2) {
		for (int i = 0; i < POOL; i++) {
			struct tcprio_ip ip;
			bool rules = chance(50);

			if (!chance(55))
				continue;
			th_ip_key(fam == 4 ? pool4[i] : pool6[i], &ip);
			err = dx_add_ep(t, m, ip.addr, rn(DX_NCLASSES),
					rules ? TCPRIO_EP_HAS_PORT_RULES : 0);
			if (err)
				return err;
			for (int r = 0; rules && r < 1 + (int)rn(3); r++) {
				err = dx_add_rule(t, m, ip.addr, protos[rn(3)],
						  hot_ports[rn(N_HOT)], rn(DX_NCLASSES));
				if (err)
					return err;
			}
		}
	}
	return 0;
}

/* Recompute the IPv4 header checksum at l3 (if the header fits). */
static void fix_ipv4_csum(__u8 *p, int len, int l3)
{
	int hl = (p[l3] & 0x0f) * 4;

	if (hl < 20 || l3 + hl > len)
		return;
	p[l3 + 10] = p[l3 + 11] = 0;
	th_put16(p + l3 + 10, pm_ipv4_csum_full(p + l3, hl));
}

/* Insert n extra VLAN tags after the MAC addresses (len grows 4*n). */
static int add_vlans(__u8 *p, int len, int cap, int n)
{
	if (len + 4 * n > cap)
		return len;
	memmove(p + 12 + 4 * n, p + 12, (size_t)len - 12);
	for (int i = 0; i < n; i++) {
		th_put16(p + 12 + 4 * i, chance(50) ? 0x8100 : 0x88a8);
		th_put16(p + 14 + 4 * i, (__u16)(200 + i));
	}
	return len + 4 * n;
}

/* One random frame into buf (cap bytes); returns its length (>= 14). */
static int random_frame(__u8 *buf, int cap)
{
	static const __u8 exts[] = { 0, 43, 60, 51 };
	struct pkt_spec s;
	struct pkt_layout lay;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	int len, u;

	if (chance(2)) {                        /* wholly random bytes */
		len = 14 + (int)rn(300);
		for (int i = 0; i < len; i++)
			buf[i] = (__u8)rnd();
		if (chance(50))                 /* ... behind an IP ethertype */
			th_put16(buf + 12, chance(50) ? 0x0800 : 0x86dd);
		return len;
	}
	memset(&s, 0, sizeof(s));
	u = (int)rn(100);
	s.family = u < 50 ? 4 : u < 95 ? 6 : 0;
	if (!s.family)
		s.ethertype = chance(50) ? 0x0806 : (__u16)rnd();
	u = (int)rn(100);
	s.n_vlans = u < 50 ? 0 : u < 75 ? 1 : u < 88 ? 2 : u < 95 ? 3 : 4;
	for (int i = 0; i < s.n_vlans; i++)
		s.vlan_tpid[i] = chance(50) ? 0x8100 : 0x88a8;
	if (s.family == 4) {
		snprintf(src, sizeof(src), "%s", chance(90) ? pool4[rn(POOL)] :
			 "198.19.255.254");
		snprintf(dst, sizeof(dst), "%s", pool4[rn(POOL)]);
		s.ip_opt_words = chance(30) ? 1 + (int)rn(10) : 0;
		u = (int)rn(100);
		s.frag = u < 80 ? 0 : u < 90 ? 0x2000 :
			 (__u16)((chance(50) ? 0x2000 : 0) | (1 + rn(0x1ffe)));
	} else if (s.family == 6) {
		snprintf(src, sizeof(src), "%s", chance(90) ? pool6[rn(POOL)] :
			 "2001:db8:ffff::1");
		snprintf(dst, sizeof(dst), "%s", pool6[rn(POOL)]);
		u = (int)rn(100);
		s.n_ext = u < 50 ? 0 : u < 80 ? 1 + (int)rn(3) : u < 95 ? 4 + (int)rn(3) :
			  7 + (int)rn(2);
		for (int i = 0; i < s.n_ext; i++)
			s.ext[i] = exts[rn(4)];
		if (chance(20) && s.n_ext < TH_MAX_EXT) {
			s.ipv6_frag_hdr = true;
			s.frag = chance(50) ? 1 : (__u16)((1 + rn(0x1ffe)) << 3 | rn(2));
		}
		s.flow_label = (__u32)rnd() & 0xfffff;
	}
	s.src = src;
	s.dst = dst;
	s.tos = (__u8)rnd();
	u = (int)rn(100);
	s.l4 = u < 35 ? IPPROTO_TCP : u < 60 ? IPPROTO_UDP : u < 72 ? IPPROTO_SCTP :
	       u < 85 ? (s.family == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP) :
	       (__u8)(chance(50) ? 47 : rn(256));
	s.sport = pick_port();
	s.dport = pick_port();
	s.payload_len = (int)rn(200);
	len = (int)pkt_build(&s, buf, (size_t)cap, &lay);
	if (len < 14) {                         /* spec the builder refused */
		len = 60;
		memset(buf, 0, (size_t)len);
		th_put16(buf + 12, 0x88cc);     /* LLDP */
		return len;
	}

	/* Corruptions, independent of each other. */
	if (s.family == 4 && chance(6)) {       /* random IHL */
		buf[lay.l3_off] = (__u8)((buf[lay.l3_off] & 0xf0) | rn(16));
		if (chance(50))
			fix_ipv4_csum(buf, len, (int)lay.l3_off);
	}
	if (s.family == 4 && chance(5))         /* invalid checksum */
		buf[lay.l3_off + 10] ^= (__u8)(1 + rn(255));
	if (s.family && chance(3))              /* wrong IP version nibble */
		buf[lay.l3_off] ^= (__u8)((1 + rn(15)) << 4);
	if (s.family == 6 && s.n_ext && chance(10)) { /* random ext hdr length */
		int off = (int)lay.l3_off + 40;

		if (off + 2 <= len)
			buf[off + 1] = (__u8)rn(256);
	}
	if (chance(3))                          /* 5 or 6 VLAN tags */
		len = add_vlans(buf, len, cap, 1 + (int)(s.n_vlans >= 4 ? rn(2) :
						  4 - s.n_vlans + rn(2)));
	if (chance(8)) {                        /* flipped bytes */
		for (int n = 1 + (int)rn(4); n > 0; n--)
			buf[rn((uint32_t)len)] ^= (__u8)(1 + rn(255));
	}
	if (chance(15))                         /* truncated */
		len = 14 + (int)rn((uint32_t)(len - 14));
	return len;
}

static void hexdump(const __u8 *p, int len)
{
	char line[3 * 32 + 8];
	int n = len < 192 ? len : 192;

	for (int i = 0; i < n; i += 32) {
		int k = 0;

		for (int j = i; j < n && j < i + 32; j++)
			k += snprintf(line + k, sizeof(line) - (size_t)k, "%02x", p[j]);
		th_diag("  %04x: %s", i, line);
	}
}

/* One phase: n frames under config cfg through both hooks; 2 TAP lines. */
static void run_phase(struct th_ctx *t, const char *name,
		      const struct tcprio_config *cfg, int n)
{
	static __u8 frame[TH_PKT_MAX + 64];
	struct dx_maps mx = { 0 };
	struct dx_tally ty[TCPRIO_HOOK_COUNT] = { 0 };
	__u8 *first_bad[TCPRIO_HOOK_COUNT] = { 0 }, *first_out[TCPRIO_HOOK_COUNT] = { 0 };
	int first_bad_len[TCPRIO_HOOK_COUNT] = { 0 };
	long seen_strict = 0, seen_unparsed = 0, seen_trunc_ports = 0;
	__u64 want_pkts[TCPRIO_HOOK_COUNT] = { 0 }, want_unp[TCPRIO_HOOK_COUNT] = { 0 };
	int err;

	err = dx_reset(t, &mx, cfg);
	if (!err)
		err = load_endpoints(t, &mx);
	if (!err && cfg->trust_dscp) {
		for (int d = 0; d < 64 && !err; d++)
			if (chance(50))
				err = dx_add_dscp(t, &mx, d, rn(DX_NCLASSES));
	}
	if (err) {
		dx_tap(false, NULL, "random frames: map setup");
		th_diag("%s: loading the maps failed: %s", name, strerror(-err));
		dx_free(&mx);
		return;
	}
	for (int i = 0; i < n; i++) {
		int len = random_frame(frame, (int)sizeof(frame));
		__u32 segs = chance(70) ? 0 : chance(66) ? 1 : 2 + rn(63);
		struct pm_info pi;
		char label[96];

		pm_parse(frame, len, &pi);
		seen_strict += pi.strict;
		seen_unparsed += !pi.ip;
		seen_trunc_ports += pi.ip && !pi.ports && pm_has_ports(pi.proto) &&
				    !pi.nonfirst_frag;
		/* Half the frames reach the uplink from a pod edge (classified by
		 * DSCP when the pod edge rewrites), half from an untrusted
		 * interface (by source endpoint). */
		mx.uplink_ingress = chance(50) ? DX_INGRESS_POD : DX_INGRESS_LAN;
		for (int h = 0; h < TCPRIO_HOOK_COUNT; h++) {
			struct dx_run o = { .hook = h, .gso_segs = segs, .check_counts = true };
			struct dx_want w = dx_expect(&mx, h, &pi, pi.ip && dx_find_ep(&mx, pi.src));

			long skipped = ty[h].not_runnable;
			bool ok;

			snprintf(label, sizeof(label), "frame #%d (%d bytes, gso_segs %u)",
				 i, len, segs);
			ok = dx_check_frame(t, &mx, &o, frame, len, label, &ty[h]);
			if ((pi.strict || !pi.ip) && skipped == ty[h].not_runnable) {
				want_pkts[h] += w.counted ? (segs ? segs : 1) : 0;
				want_unp[h] += w.events >> TCPRIO_EV_UNPARSED & 1;
			}
			if (!ok && !first_bad[h]) {
				first_bad[h] = malloc((size_t)len);
				first_out[h] = malloc((size_t)len);
				if (first_bad[h])
					memcpy(first_bad[h], frame, (size_t)len);
				if (first_out[h])
					memcpy(first_out[h], dx_last_out, (size_t)len);
				first_bad_len[h] = len;
			}
		}
	}
	for (int h = 0; h < TCPRIO_HOOK_COUNT; h++) {
		char tname[512];
		struct dx_counts end;

		/* Totals over the phase, for strict and unparsed frames only
		 * would need per-frame bookkeeping of the rest; so compare
		 * with the sum when no non-strict IP frame ran, else bound. */
		dx_read_counts(t, h, &end);
		if (!ty[h].failed && end.all_pkts < want_pkts[h]) {
			ty[h].failed++;
			snprintf(ty[h].first_fail, sizeof(ty[h].first_fail),
				 "totals: stats packets %llu < %llu expected from strict frames",
				 (unsigned long long)end.all_pkts,
				 (unsigned long long)want_pkts[h]);
		}
		if (!ty[h].failed && end.unparsed < want_unp[h]) {
			ty[h].failed++;
			snprintf(ty[h].first_fail, sizeof(ty[h].first_fail),
				 "totals: UNPARSED %llu < %llu expected",
				 (unsigned long long)end.unparsed,
				 (unsigned long long)want_unp[h]);
		}
		snprintf(tname, sizeof(tname),
			 "random frames, %s, %s: %ld frames (%ld strict, %ld unparsed, %ld endpoint hits, %ld port-rule classes, %ld rewritten, %ld TCP/UDP/SCTP without ports; %ld too short for BPF_PROG_TEST_RUN, not run)",
			 h == TCPRIO_HOOK_POD_EDGE ? "pod edge" : "uplink", name, ty[h].run,
			 seen_strict, seen_unparsed, ty[h].hits, ty[h].port_rule_hits,
			 ty[h].rewritten, seen_trunc_ports, ty[h].not_runnable);
		if (!dx_tap(ty[h].failed == 0, &ty[h], tname)) {
			th_diag("%ld of %ld frames failed; first: %s", ty[h].failed,
				ty[h].run, ty[h].first_fail);
			if (first_bad[h]) {
				th_diag("first failing frame (hex):");
				hexdump(first_bad[h], first_bad_len[h]);
			}
			if (first_out[h]) {
				th_diag("... and what the program returned:");
				hexdump(first_out[h], first_bad_len[h]);
			}
		}
		free(first_bad[h]);
		free(first_out[h]);
	}
	dx_free(&mx);
}

int main(void)
{
	const char *env_seed = getenv("TCPRIO_SEED");
	const char *env_n = getenv("TCPRIO_RANDOM_COUNT");
	uint64_t seed;
	int n = env_n ? atoi(env_n) : DEFAULT_COUNT;
	struct th_ctx t;
	int err;

	if (!env_seed || !*env_seed) {
		seed = DEFAULT_SEED;
	} else if (strcmp(env_seed, "time")) {
		seed = strtoull(env_seed, NULL, 0);
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^
		       (uint64_t)getpid() << 32;
	}
	rng_state = seed;
	printf("# seed %llu (replay: TCPRIO_SEED=%llu), %d frames\n",
	       (unsigned long long)seed, (unsigned long long)seed, n);
	if (geteuid() != 0)
		return th_skip_all("needs root (BPF_PROG_TEST_RUN)");
	th_plan(8);  /* 4 phases x 2 hooks, one result each */
	if (n < 100) {
		dx_tap(false, NULL, "TCPRIO_RANDOM_COUNT");
		th_diag("TCPRIO_RANDOM_COUNT=%s: expected a number >= 100", env_n);
		return th_done();
	}
	libbpf_set_print(NULL);
	err = th_open(&t, "random");
	if (err) {
		dx_tap(false, NULL, "load tcprio skeleton with a private pin folder");
		th_diag("th_open: %s", strerror(-err));
		return th_done();
	}
	dx_cleanup_on_signal(&t);
	make_pool();
	{
		struct tcprio_config rw = { .default_class = DX_CLS_DEFAULT,
					    .rewrite_dscp = 1, .enabled = 1 };
		struct tcprio_config trust = rw, norw = rw, off = rw;

		trust.trust_dscp = 1;
		trust.default_class = DX_CLS_BULK;
		trust.sanitize_unknown = 1;     /* pod-edge misses get BULK */
		norw.rewrite_dscp = 0;
		off.enabled = 0;
		run_phase(&t, "rewrite on, trust_dscp off", &rw, n * 4 / 10);
		run_phase(&t, "rewrite on, trust_dscp on, sanitize_unknown on", &trust, n * 4 / 10);
		run_phase(&t, "rewrite_dscp off", &norw, n * 15 / 100);
		run_phase(&t, "enabled=0", &off, n - n * 4 / 10 * 2 - n * 15 / 100);
	}
	th_close(&t);
	return th_done();
}
