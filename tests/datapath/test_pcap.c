// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_pcap.c - every frame of every real capture under
 * tests/fixtures/pcap (env TCPRIO_PCAP_DIR overrides) through
 * tcprio_pod_edge and tcprio_uplink with BPF_PROG_TEST_RUN, in several map
 * set-ups, checked frame by frame against the spec (dp_expect.h):
 * verdict TC_ACT_UNSPEC, length kept, only the DSCP bits (and the IPv4
 * checksum, then equal to a full recompute) changed, ECN and IPv6 flow
 * label kept, the expected DSCP on an endpoint hit, skb->priority at the
 * uplink, and the counters (tcprio_stats, tcprio_events) moved by exactly
 * this frame.  One TAP line per capture and mode; a failure names the frame
 * index (0-based, in capture order).
 *
 * Needs root (BPF_PROG_TEST_RUN); prints SKIP otherwise.
 */
#include <ftw.h>
#include <limits.h>

#include "pcap_reader.h"
#include "dp_expect.h"

#define MAX_FILES 256

static char *files[MAX_FILES];
static int n_files;

/* One capture in memory. */
struct capture {
	const char *path;      /* relative to the pcap dir */
	uint32_t linktype;
	int n;
	uint8_t **data;
	uint32_t *len;
};

static int collect(const char *path, const struct stat *st, int type,
		   struct FTW *ftw)
{
	size_t l = strlen(path);

	(void)st;
	(void)ftw;
	if (type != FTW_F || n_files == MAX_FILES)
		return 0;
	if ((l > 5 && !strcmp(path + l - 5, ".pcap")) ||
	    (l > 4 && !strcmp(path + l - 4, ".cap")) ||
	    (l > 7 && !strcmp(path + l - 7, ".pcapng")))
		files[n_files++] = strdup(path);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void capture_free(struct capture *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->data[i]);
	free(c->data);
	free(c->len);
	memset(c, 0, sizeof(*c));
}

/* Read every record of path into c.  Returns 0 or -errno (pcap_reader.h). */
static int capture_load(const char *path, struct capture *c)
{
	struct pcap_file p;
	struct pcap_record r;
	int err, cap = 0;

	memset(c, 0, sizeof(*c));
	err = pcap_open(&p, path);
	if (err)
		return err;
	c->linktype = p.linktype;
	while ((err = pcap_next(&p, &r)) == 1) {
		if (c->n == cap) {
			cap = cap ? cap * 2 : 64;
			c->data = realloc(c->data, sizeof(*c->data) * (size_t)cap);
			c->len = realloc(c->len, sizeof(*c->len) * (size_t)cap);
			if (!c->data || !c->len) {
				err = -ENOMEM;
				break;
			}
		}
		c->data[c->n] = malloc(r.caplen ? r.caplen : 1);
		if (!c->data[c->n]) {
			err = -ENOMEM;
			break;
		}
		memcpy(c->data[c->n], r.data, r.caplen);
		c->len[c->n++] = r.caplen;
	}
	pcap_close(&p);
	if (err < 0)
		capture_free(c);
	return err < 0 ? err : 0;
}

/* Largest frame BPF_PROG_TEST_RUN takes for an skb program: one page minus
 * headroom and skb_shared_info (net/bpf/test_run.c bpf_test_init), measured
 * at start-up by probe_max_run_len(). */
static __u32 max_run_len = 1500;

/* Bytes of a len-byte frame that are run: larger frames (jumbo frames in
 * the captures) are run as their first max_run_len bytes; every header the
 * programs read is in the first 128 (bpf/parse.h TCPRIO_PULL_LEN). */
static __u32 run_len(__u32 len)
{
	return len < max_run_len ? len : max_run_len;
}

/* Find the largest accepted frame length by bisection (non-IP frames, the
 * program only counts an UNPARSED event). */
static void probe_max_run_len(int prog)
{
	static __u8 in[65536], out[65536 + 256];
	__u32 lo = 64, hi = sizeof(in);
	struct th_run_out r;

	memset(in, 0xff, sizeof(in));   /* ethertype 0xffff: not IP */
	while (lo + 1 < hi) {
		__u32 mid = lo + (hi - lo) / 2;

		if (th_run(prog, in, mid, out, sizeof(out), NULL, &r) == 0)
			lo = mid;
		else
			hi = mid;
	}
	max_run_len = lo;
}

/* Map set-ups ("modes") each capture runs in. */
enum mode {
	M_EDGE_HIT_EF,       /* every source an endpoint of class critical (46) */
	M_EDGE_HIT_AF11,     /* every source an endpoint of class bulk (10) */
	M_EDGE_PORT_RULES,   /* endpoints bulk + port rules control/critical */
	M_EDGE_MISS,         /* no endpoints: nothing rewritten */
	M_EDGE_SANITIZE,     /* no endpoints, sanitize_unknown: default class DSCP 0 */
	M_EDGE_NO_REWRITE,   /* endpoints, config.rewrite_dscp = 0 */
	M_UPLINK_HIT,        /* endpoints critical: priority 1:10 */
	M_UPLINK_PORT_RULES, /* as M_EDGE_PORT_RULES, at the uplink */
	M_UPLINK_TRUST,      /* no endpoints, trust_dscp: DSCP -> class */
	M_UPLINK_MISS,       /* no endpoints, no trust: default class */
	M_EDGE_DISABLED,     /* endpoints, config.enabled = 0 */
	M_UPLINK_DISABLED,
	M_COUNT,
};

static const char *mode_name[M_COUNT] = {
	[M_EDGE_HIT_EF] = "pod edge, every source an endpoint (class DSCP 46)",
	[M_EDGE_HIT_AF11] = "pod edge, every source an endpoint (class DSCP 10, carried by no frame)",
	[M_EDGE_PORT_RULES] = "pod edge, endpoints with port rules",
	[M_EDGE_MISS] = "pod edge, no endpoints",
	[M_EDGE_SANITIZE] = "pod edge, no endpoints, sanitize_unknown (DSCP 0)",
	[M_EDGE_NO_REWRITE] = "pod edge, endpoints, rewrite_dscp off",
	[M_UPLINK_HIT] = "uplink, every source an endpoint",
	[M_UPLINK_PORT_RULES] = "uplink, endpoints with port rules",
	[M_UPLINK_TRUST] = "uplink, no endpoints, trust_dscp",
	[M_UPLINK_MISS] = "uplink, no endpoints, no trust",
	[M_EDGE_DISABLED] = "pod edge, enabled=0",
	[M_UPLINK_DISABLED] = "uplink, enabled=0",
};

/* Load the maps for mode m from the capture's frames. */
static int setup_mode(struct th_ctx *t, struct dx_maps *mx, enum mode m,
		      const struct capture *c)
{
	struct tcprio_config cfg = {
		.default_class = DX_CLS_DEFAULT, .rewrite_dscp = 1, .enabled = 1,
	};
	bool eps = m != M_EDGE_MISS && m != M_EDGE_SANITIZE && m != M_UPLINK_TRUST &&
		   m != M_UPLINK_MISS;
	bool rules = m == M_EDGE_PORT_RULES || m == M_UPLINK_PORT_RULES;
	__u32 cls = m == M_EDGE_HIT_AF11 || rules ? DX_CLS_BULK : DX_CLS_CRITICAL;
	int err;

	if (m == M_UPLINK_TRUST)
		cfg.trust_dscp = 1;
	if (m == M_EDGE_SANITIZE)
		cfg.sanitize_unknown = 1;
	if (m == M_EDGE_NO_REWRITE)
		cfg.rewrite_dscp = 0;
	if (m == M_EDGE_DISABLED || m == M_UPLINK_DISABLED)
		cfg.enabled = 0;
	err = dx_reset(t, mx, &cfg);
	if (err)
		return err;
	if (m == M_UPLINK_TRUST) {
		/* Code points the captures carry: EF, CS1, CS7. */
		if ((err = dx_add_dscp(t, mx, 46, DX_CLS_CRITICAL)) ||
		    (err = dx_add_dscp(t, mx, 8, DX_CLS_BULK)) ||
		    (err = dx_add_dscp(t, mx, 56, DX_CLS_CONTROL)))
			return err;
	}
	for (int i = 0; eps && i < c->n; i++) {
		struct pm_info pi;

		pm_parse(c->data[i], (int)run_len(c->len[i]), &pi);
		if (!pi.ip)
			continue;
		err = dx_add_ep(t, mx, pi.src, cls,
				rules ? TCPRIO_EP_HAS_PORT_RULES : 0);
		if (err)
			return err;
		if (!rules || !pi.ports)
			continue;
		/* Destination-port rule on every other frame, source-port
		 * rule (which must win) on every third. */
		if (i % 2 == 0 &&
		    (err = dx_add_rule(t, mx, pi.src, pi.proto, pi.dport, DX_CLS_CONTROL)))
			return err;
		if (i % 3 == 0 &&
		    (err = dx_add_rule(t, mx, pi.src, pi.proto, pi.sport, DX_CLS_CRITICAL)))
			return err;
	}
	return 0;
}

/* Run every frame of c through mode m; one TAP line. */
static void run_mode(struct th_ctx *t, const struct capture *c, enum mode m)
{
	struct dx_maps mx = { 0 };
	struct dx_tally ty = { 0 };
	struct dx_run o = { .check_counts = true };
	struct dx_counts end;
	char cutmsg[128] = "";
	char label[256];
	long ip_frames = 0, nonfirst = 0, cut = 0;
	bool ok;
	int err;

	o.hook = m == M_UPLINK_HIT || m == M_UPLINK_PORT_RULES ||
		 m == M_UPLINK_TRUST || m == M_UPLINK_MISS ||
		 m == M_UPLINK_DISABLED ? TCPRIO_HOOK_UPLINK : TCPRIO_HOOK_POD_EDGE;
	err = setup_mode(t, &mx, m, c);
	if (err) {
		dx_tap(false, NULL, "pcap map setup");
		th_diag("%s: %s: loading the maps failed: %s", c->path,
			mode_name[m], strerror(-err));
		dx_free(&mx);
		return;
	}
	for (int i = 0; i < c->n; i++) {
		struct pm_info pi;

		pm_parse(c->data[i], (int)run_len(c->len[i]), &pi);
		ip_frames += pi.ip;
		cut += run_len(c->len[i]) != c->len[i];
		nonfirst += pi.nonfirst_frag;
		/* Every third frame pretends to be a GSO packet of 3 segments. */
		o.gso_segs = i % 3 == 2 ? 3 : 0;
		snprintf(label, sizeof(label), "%s frame #%d (%u bytes%s)", c->path, i,
			 c->len[i], run_len(c->len[i]) != c->len[i] ? ", run cut" : "");
		dx_check_frame(t, &mx, &o, c->data[i], (int)run_len(c->len[i]), label, &ty);
	}
	/* Totals: the counters hold exactly what the frames' expectations add. */
	dx_read_counts(t, o.hook, &end);
	{
		__u64 want_pkts = 0, want_unparsed = 0;

		for (int i = 0; i < c->n; i++) {
			struct pm_info pi;
			struct dx_want w;

			pm_parse(c->data[i], (int)run_len(c->len[i]), &pi);
			w = dx_expect(&mx, o.hook, &pi, pi.ip && dx_find_ep(&mx, pi.src));
			if (w.counted)
				want_pkts += i % 3 == 2 ? 3 : 1;
			want_unparsed += w.events >> TCPRIO_EV_UNPARSED & 1;
		}
		if (!ty.failed && (end.all_pkts != want_pkts || end.unparsed != want_unparsed)) {
			ty.failed++;
			snprintf(ty.first_fail, sizeof(ty.first_fail),
				 "totals: stats packets %llu (want %llu), UNPARSED %llu (want %llu)",
				 (unsigned long long)end.all_pkts,
				 (unsigned long long)want_pkts,
				 (unsigned long long)end.unparsed,
				 (unsigned long long)want_unparsed);
		}
	}
	/* Mode-level expectations the per-frame checks imply, stated once. */
	if (!ty.failed && m == M_EDGE_HIT_AF11 && ty.rewritten != ip_frames) {
		ty.failed++;
		snprintf(ty.first_fail, sizeof(ty.first_fail),
			 "%ld of %ld IP frames rewritten to DSCP 10", ty.rewritten, ip_frames);
	}
	if (!ty.failed && m == M_EDGE_HIT_AF11 && ty.nonfirst_frag_rewritten != nonfirst) {
		ty.failed++;
		snprintf(ty.first_fail, sizeof(ty.first_fail),
			 "%ld of %ld non-first fragments rewritten", ty.nonfirst_frag_rewritten,
			 nonfirst);
	}
	ok = ty.failed == 0;
	if (cut)
		snprintf(cutmsg, sizeof(cutmsg),
			 "; %ld frame(s) run as their first %u bytes, BPF_PROG_TEST_RUN's limit",
			 cut, max_run_len);
	{
		char name[PATH_MAX + 256];

		snprintf(name, sizeof(name),
			 "pcap %s: %s: %ld frames (%ld IP, %ld unparsed, %ld rewritten%s%s)",
			 c->path, mode_name[m], ty.run, ip_frames, ty.unparsed, ty.rewritten,
			 nonfirst ? ", has non-first fragments" : "", cutmsg);
		dx_tap(ok, &ty, name);
	}
	if (!ok) {
		th_diag("%ld of %ld frames failed; first: %s", ty.failed, ty.run,
			ty.first_fail);
	}
	dx_free(&mx);
}

/* Number of results main() prints for one capture: one per mode for an
 * Ethernet capture, else one (a skip or a failed read).  Lets the plan be
 * declared before the first result. */
static int results_for(const char *path)
{
	struct capture c;
	int n = 1;

	if (capture_load(path, &c))
		return 1;
	if (c.linktype == PCAP_LINKTYPE_ETHERNET)
		n = M_COUNT;
	capture_free(&c);
	return n;
}

int main(void)
{
	const char *dir = getenv("TCPRIO_PCAP_DIR");
	struct th_ctx t;
	int err;

	if (!dir)
		dir = "tests/fixtures/pcap";
	if (geteuid() != 0)
		return th_skip_all("needs root (BPF_PROG_TEST_RUN)");
	/* The captures are part of the repository: none is a failure. */
	if (nftw(dir, collect, 16, FTW_PHYS) || n_files == 0) {
		th_plan(1);
		th_tap(false, "captures found");
		th_diag("no captures under %s (tests/fixtures/pcap, or TCPRIO_PCAP_DIR)", dir);
		return th_done();
	}
	qsort(files, (size_t)n_files, sizeof(files[0]), cmp_str);
	{
		int planned = 0;

		for (int f = 0; f < n_files; f++)
			planned += results_for(files[f]);
		th_plan(planned);
	}
	libbpf_set_print(NULL);
	err = th_open(&t, "pcap");
	if (err) {
		dx_tap(false, NULL, "load tcprio skeleton with a private pin folder");
		th_diag("th_open: %s", strerror(-err));
		return th_done();
	}
	dx_cleanup_on_signal(&t);

	probe_max_run_len(t.prog_uplink);
	for (int f = 0; f < n_files; f++) {
		struct capture c;
		const char *rel = files[f] + strlen(dir);

		while (*rel == '/')
			rel++;
		err = capture_load(files[f], &c);
		if (err == -EPROTONOSUPPORT) {
			char name[PATH_MAX + 64];

			snprintf(name, sizeof(name), "pcap %s", rel);
			th_skip(name, "pcapng is not read by pcap_reader.h (classic pcap only)");
			continue;
		}
		if (err) {
			dx_tap(false, NULL, "read capture");
			th_diag("%s: %s", files[f], strerror(-err));
			continue;
		}
		c.path = rel;
		if (c.linktype != PCAP_LINKTYPE_ETHERNET) {
			char name[PATH_MAX + 64], why[96];

			snprintf(name, sizeof(name), "pcap %s", rel);
			snprintf(why, sizeof(why),
				 "linktype %u, not Ethernet (1): TC programs see Ethernet frames",
				 c.linktype);
			th_skip(name, why);
			capture_free(&c);
			continue;
		}
		for (int m = 0; m < M_COUNT; m++)
			run_mode(&t, &c, (enum mode)m);
		capture_free(&c);
	}
	th_close(&t);
	for (int f = 0; f < n_files; f++)
		free(files[f]);
	return th_done();
}
