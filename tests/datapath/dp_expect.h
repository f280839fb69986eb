/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dp_expect.h - what the spec says tcprio's TC programs must do with one
 * frame, given the map contents a test loaded (kept here in plain arrays),
 * and the per-packet check shared by test_pcap.c and
 * test_random_packets.c.  Header-only; builds on harness.h (th_*) and
 * pkt_model.h (pm_*).
 *
 * Spec (include/tcprio.h, GitHub issue 2):
 *   pod edge: source IP in tcprio_endpoints -> class; with
 *     TCPRIO_EP_HAS_PORT_RULES a (ip, proto, source port) rule wins, then a
 *     (ip, proto, destination port) rule; DSCP rewritten to the class's if
 *     config.rewrite_dscp (ECN kept) and skb->priority set to the class's
 *     (bpf/tcprio.bpf.c); a source that is not an endpoint counts event
 *     ENDPOINT_MISS and, with config.sanitize_unknown, gets the default
 *     class like an endpoint (event DEFAULT too), else is left untouched.
 *   uplink (frames run as forwarded from m->uplink_ingress: a pod-edge
 *     interface, DX_INGRESS_POD, which tcprio_trust_ifaces marks
 *     POD_EDGE, or DX_INGRESS_LAN, which it does not): from DX_INGRESS_POD
 *     with config.trust_dscp and config.rewrite_dscp (bpf/trust.h: the
 *     pod edge wrote the DSCP), tcprio_dscp_classes[DSCP] if valid, else
 *     config.default_class, without a source lookup; else endpoint hit ->
 *     class (same port rules); else config.default_class.
 *     skb->priority = class.priority; no rewrite.
 *   both: config.enabled == 0 -> untouched and uncounted; verdict always
 *     TC_ACT_UNSPEC; frames that are not IP / cut short count
 *     TCPRIO_EV_UNPARSED and pass unchanged; others count one
 *     tcprio_stats {hook, class} slot: packets += max(gso_segs, 1),
 *     bytes += skb->len.  Events: pod edge DSCP_REWRITE when rewritten;
 *     uplink DSCP_HIT / DEFAULT when classified by DSCP, DEFAULT when no
 *     endpoint matched; both FRAG_MISS
 *     for a non-first TCP/UDP/SCTP fragment of an endpoint with port rules
 *     whose datagram is not remembered (all fragments of a datagram get
 *     the class of its first-seen fragment, tcprio_frags).
 */
#ifndef TCPRIO_TESTS_DP_EXPECT_H
#define TCPRIO_TESTS_DP_EXPECT_H

#include <signal.h>

#include "harness.h"
#include "pkt_model.h"

/* Classes every datapath test loads: id, skb->priority (HTB classid
 * major:minor as TC_H_MAKE), DSCP (RFC 4594 names). */
#define DX_CLS_DEFAULT   0   /* 1:30, DSCP 0 (CS0 / best effort) */
#define DX_CLS_CRITICAL  1   /* 1:10, DSCP 46 (EF) */
#define DX_CLS_BULK      2   /* 1:40, DSCP 10 (AF11) */
#define DX_CLS_CONTROL   3   /* 1:20, DSCP 40 (CS5) */
#define DX_NCLASSES      4

static const struct { __u32 priority; __u8 dscp; } dx_classes[DX_NCLASSES] = {
	[DX_CLS_DEFAULT]  = { 0x00010030, 0 },
	[DX_CLS_CRITICAL] = { 0x00010010, 46 },
	[DX_CLS_BULK]     = { 0x00010040, 10 },
	[DX_CLS_CONTROL]  = { 0x00010020, 40 },
};

/* Ingress ifindex of the uplink's runs (struct dx_maps uplink_ingress): a
 * pod-edge interface, and one that is not trusted. */
#define DX_INGRESS_POD 201
#define DX_INGRESS_LAN 202

/* Largest frame the checks take (bytes); pcap records are refused above. */
#define DX_FRAME_MAX (256 * 1024)

/* skb->priority every run starts with, so that "left alone" is visible. */
#define DX_PRIO_IN  0x0bad0001u

/* The map contents a test loaded, mirrored for the model. */
struct dx_ep { __u8 ip[16]; __u32 cls; __u16 flags; };
struct dx_rule { __u8 ip[16]; __u8 proto; __u16 port; __u32 cls; };

struct dx_maps {
	struct dx_ep *eps;     int n_eps, cap_eps;
	struct dx_rule *rules; int n_rules, cap_rules;
	int dscp_class[64];    /* -1: not valid */
	struct tcprio_config cfg;
	__u32 uplink_ingress;  /* DX_INGRESS_POD (dx_reset) or DX_INGRESS_LAN */
};

/* Reset the mirror and the kernel maps to: the four classes, no
 * endpoints, no rules, no DSCP map, config from cfg, counters zero. */
static inline int dx_reset(struct th_ctx *t, struct dx_maps *m,
			   const struct tcprio_config *cfg)
{
	int c, err;

	th_clear_maps(t);
	m->n_eps = m->n_rules = 0;
	for (c = 0; c < 64; c++)
		m->dscp_class[c] = -1;
	for (c = 0; c < DX_NCLASSES; c++) {
		err = th_set_class(t, (__u32)c, dx_classes[c].priority,
				   dx_classes[c].dscp, true);
		if (err)
			return err;
	}
	m->cfg = *cfg;
	m->uplink_ingress = DX_INGRESS_POD;
	err = th_trust_iface(t, DX_INGRESS_POD, TCPRIO_TRUST_POD_EDGE);
	return err ? err : th_write_config(t, cfg);
}

static inline struct dx_ep *dx_find_ep(const struct dx_maps *m, const __u8 ip[16])
{
	for (int i = 0; i < m->n_eps; i++)
		if (!memcmp(m->eps[i].ip, ip, 16))
			return &m->eps[i];
	return NULL;
}

static inline const struct dx_rule *dx_find_rule(const struct dx_maps *m,
						 const __u8 ip[16], __u8 proto,
						 __u16 port)
{
	for (int i = 0; i < m->n_rules; i++)
		if (m->rules[i].proto == proto && m->rules[i].port == port &&
		    !memcmp(m->rules[i].ip, ip, 16))
			return &m->rules[i];
	return NULL;
}

/* Add endpoint ip (16 bytes) -> cls in the kernel map and the mirror
 * (replacing an existing one).  0 or -errno. */
static inline int dx_add_ep(struct th_ctx *t, struct dx_maps *m,
			    const __u8 ip[16], __u32 cls, __u16 flags)
{
	struct tcprio_endpoint ep = {
		.pod_id = 0x5eed, .class_id = cls, .flags = flags,
		.source = TCPRIO_SRC_MANUAL,
	};
	struct dx_ep *e = dx_find_ep(m, ip);

	if (bpf_map_update_elem(t->map_endpoints, ip, &ep, BPF_ANY) ||
	    ep_slot_sync(t->map_ep_slots, t->map_endpoints, (const struct tcprio_ip *)ip) ||
	    th_note_change(t))
		return -errno;
	if (!e) {
		if (m->n_eps == m->cap_eps) {
			int cap = m->cap_eps ? m->cap_eps * 2 : 64;
			void *p = realloc(m->eps, sizeof(*m->eps) * (size_t)cap);

			if (!p)
				return -ENOMEM;
			m->eps = p;
			m->cap_eps = cap;
		}
		e = &m->eps[m->n_eps++];
		memcpy(e->ip, ip, 16);
	}
	e->cls = cls;
	e->flags = flags;
	return 0;
}

/* Add port rule (ip, proto, port host order) -> cls.  0 or -errno. */
static inline int dx_add_rule(struct th_ctx *t, struct dx_maps *m,
			      const __u8 ip[16], __u8 proto, __u16 port, __u32 cls)
{
	struct tcprio_port_key key = { .port = port, .protocol = proto };
	struct tcprio_port_rule r = { .class_id = cls };
	struct dx_rule *x;

	memcpy(key.ip.addr, ip, 16);
	if (bpf_map_update_elem(t->map_port_rules, &key, &r, BPF_ANY) || th_note_change(t))
		return -errno;
	x = (struct dx_rule *)dx_find_rule(m, ip, proto, port);
	if (x) {
		x->cls = cls;
		return 0;
	}
	if (m->n_rules == m->cap_rules) {
		int cap = m->cap_rules ? m->cap_rules * 2 : 64;
		void *p = realloc(m->rules, sizeof(*m->rules) * (size_t)cap);

		if (!p)
			return -ENOMEM;
		m->rules = p;
		m->cap_rules = cap;
	}
	x = &m->rules[m->n_rules++];
	memcpy(x->ip, ip, 16);
	x->proto = proto;
	x->port = port;
	x->cls = cls;
	return 0;
}

/* Map DSCP d -> cls for the uplink (trust_dscp). 0 or -errno. */
static inline int dx_add_dscp(struct th_ctx *t, struct dx_maps *m, int d, __u32 cls)
{
	m->dscp_class[d] = (int)cls;
	return th_set_dscp_class(t, (__u32)d, cls, true);
}

static inline void dx_free(struct dx_maps *m)
{
	free(m->eps);
	free(m->rules);
	memset(m, 0, sizeof(*m));
}

/* Class of the frame's source endpoint (port rules applied), -1 on miss. */
static inline int dx_endpoint_class(const struct dx_maps *m, const struct pm_info *pi)
{
	const struct dx_ep *e = dx_find_ep(m, pi->src);
	const struct dx_rule *r;

	if (!e)
		return -1;
	if ((e->flags & TCPRIO_EP_HAS_PORT_RULES) && pi->ports) {
		r = dx_find_rule(m, pi->src, pi->proto, pi->sport);
		if (!r)
			r = dx_find_rule(m, pi->src, pi->proto, pi->dport);
		if (r)
			return (int)r->cls;
	}
	return (int)e->cls;
}

/* Whether the frame counts TCPRIO_EV_FRAG_MISS, with no fragment state
 * (dx_check_frame empties tcprio_frags before each frame): a non-first
 * TCP/UDP/SCTP fragment from an endpoint with port rules. */
static inline bool dx_frag_miss(const struct dx_maps *m, const struct pm_info *pi)
{
	const struct dx_ep *e = dx_find_ep(m, pi->src);

	return e && (e->flags & TCPRIO_EP_HAS_PORT_RULES) && pi->nonfirst_frag &&
	       pm_has_ports(pi->proto);
}

/* Whether the uplink classifies a frame by its DSCP, with no source
 * lookup: from a pod edge that rewrites, with trustDscp (bpf/trust.h). */
static inline bool dx_uplink_by_dscp(const struct dx_maps *m)
{
	return m->cfg.trust_dscp && m->cfg.rewrite_dscp &&
	       m->uplink_ingress == DX_INGRESS_POD;
}

/* Class the uplink must pick for an IP frame. */
static inline int dx_uplink_class(const struct dx_maps *m, const struct pm_info *pi)
{
	int c;

	if (dx_uplink_by_dscp(m))
		return m->dscp_class[pi->dscp] >= 0 ? m->dscp_class[pi->dscp] :
		       (int)m->cfg.default_class;
	c = dx_endpoint_class(m, pi);
	return c >= 0 ? c : (int)m->cfg.default_class;
}

/* DSCP values a pod-edge rewrite of this source may produce (any port
 * rule's class or the endpoint's): bit d set in the returned mask. */
static inline __u64 dx_possible_dscps(const struct dx_maps *m, const __u8 ip[16])
{
	const struct dx_ep *e = dx_find_ep(m, ip);
	__u64 mask = 0;

	if (!e)
		return m->cfg.sanitize_unknown ?
		       1ULL << dx_classes[m->cfg.default_class].dscp : 0;
	mask |= 1ULL << dx_classes[e->cls].dscp;
	if (e->flags & TCPRIO_EP_HAS_PORT_RULES)
		for (int i = 0; i < m->n_rules; i++)
			if (!memcmp(m->rules[i].ip, ip, 16))
				mask |= 1ULL << dx_classes[m->rules[i].cls].dscp;
	return mask;
}

/* Counters of one hook, for before/after deltas. */
struct dx_counts {
	__u64 pkts[DX_NCLASSES], bytes[DX_NCLASSES];
	__u64 all_pkts, unparsed;
	__u64 ev[TCPRIO_EV_COUNT];
};

static inline void dx_read_counts(struct th_ctx *t, int hook, struct dx_counts *c)
{
	memset(c, 0, sizeof(*c));
	for (int k = 0; k < DX_NCLASSES; k++) {
		c->pkts[k] = th_stat_packets(t, hook, (__u32)k);
		c->bytes[k] = th_stat_bytes(t, hook, (__u32)k);
	}
	c->all_pkts = th_stat_packets_all(t, hook);
	for (int e = 0; e < TCPRIO_EV_COUNT; e++)
		c->ev[e] = th_event(t, hook, e);
	c->unparsed = c->ev[TCPRIO_EV_UNPARSED];
}

/* Outcome tallies of a batch of frames (one TAP line). */
struct dx_tally {
	long run, failed, rewritten, hits, unparsed, nonstrict;
	long nonfirst_frag_rewritten, port_rule_hits;
	long not_runnable;       /* frames BPF_PROG_TEST_RUN refuses (see below) */
	long ctx_unsupported;    /* runs refused for ctx ingress_ifindex (kernel
				    < 5.11, th_run_out.ctx_unsupported) */
	char first_fail[1024];   /* diagnostic of the first failure */
};

/* Options of one run. */
struct dx_run {
	int hook;          /* TCPRIO_HOOK_POD_EDGE / _UPLINK */
	__u32 gso_segs;    /* ctx_in gso_segs */
	bool check_counts; /* read counters before and after (slower) */
};

/* Print one TAP line (keeps harness.h's numbering and failure count).
 * ty (may be NULL): the tally of the frames this line judges; a failure
 * is a SKIP when some of them could not be run on this kernel. */
static inline bool dx_tap(bool ok, const struct dx_tally *ty, const char *name)
{
	return th_tap_check(ok, ty && ty->ctx_unsupported > 0, name);
}

/* Expected outcome of one frame under the maps m (spec, see top). */
struct dx_want {
	int cls;          /* class the hook picks; -1: none (miss/unparsed/off) */
	int dscp;         /* DSCP after the run; -1: unchanged */
	bool counted;     /* tcprio_stats[cls] += segs */
	__u32 events;     /* events counted: bit e for event e */
	bool prio;        /* skb->priority = class priority (else untouched) */
};

static inline struct dx_want dx_expect(const struct dx_maps *m, int hook,
				       const struct pm_info *pi, bool ep_hit)
{
	struct dx_want w = { .cls = -1, .dscp = -1 };

	if (!m->cfg.enabled)
		return w;
	if (!pi->ip) {
		w.events = 1u << TCPRIO_EV_UNPARSED;
		return w;
	}
	if (hook == TCPRIO_HOOK_POD_EDGE) {
		if (!ep_hit) {
			w.events = 1u << TCPRIO_EV_ENDPOINT_MISS;
			if (!m->cfg.sanitize_unknown)
				return w;
			w.events |= 1u << TCPRIO_EV_DEFAULT;
			w.cls = (int)m->cfg.default_class;
		} else {
			w.cls = dx_endpoint_class(m, pi);
		}
		w.counted = w.prio = true;
		if (dx_frag_miss(m, pi))
			w.events |= 1u << TCPRIO_EV_FRAG_MISS;
		if (m->cfg.rewrite_dscp && dx_classes[w.cls].dscp != pi->dscp) {
			w.dscp = dx_classes[w.cls].dscp;
			w.events |= 1u << TCPRIO_EV_DSCP_REWRITE;
		}
		return w;
	}
	w.cls = dx_uplink_class(m, pi);
	w.counted = w.prio = true;
	if (dx_uplink_by_dscp(m))
		w.events = 1u << (m->dscp_class[pi->dscp] >= 0 ?
				  TCPRIO_EV_DSCP_HIT : TCPRIO_EV_DEFAULT);
	else if (!ep_hit)
		w.events = 1u << TCPRIO_EV_DEFAULT;
	else if (dx_frag_miss(m, pi))
		w.events = 1u << TCPRIO_EV_FRAG_MISS;
	return w;
}

/* The output frame of the last dx_check_frame() run (for diagnostics). */
static __u8 dx_last_out[DX_FRAME_MAX + 256];

/* Pin folder to empty if the test is killed (SIGINT, SIGTERM, SIGHUP);
 * SIGPIPE (a reader like `| head` gone) is ignored so the test ends through
 * th_close().  The handler only calls unlink/rmdir (async-signal-safe). */
static char dx_pin_paths[64][192];
static int dx_n_pin_paths;

static void dx_on_signal(int sig)
{
	for (int i = dx_n_pin_paths - 1; i >= 0; i--) {
		if (i)
			unlink(dx_pin_paths[i]);
		else
			rmdir(dx_pin_paths[i]);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Remember t's pin folder and its maps for dx_on_signal, install it. */
static inline void dx_cleanup_on_signal(const struct th_ctx *t)
{
	struct bpf_map *map;

	dx_n_pin_paths = 0;
	snprintf(dx_pin_paths[dx_n_pin_paths++], sizeof(dx_pin_paths[0]), "%s", t->pin_dir);
	bpf_object__for_each_map(map, t->skel->obj) {
		if (dx_n_pin_paths == 64)
			break;
		snprintf(dx_pin_paths[dx_n_pin_paths++], sizeof(dx_pin_paths[0]), "%s/%s",
			 t->pin_dir, bpf_map__name(map));
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, dx_on_signal);
	signal(SIGTERM, dx_on_signal);
	signal(SIGHUP, dx_on_signal);
}

#define DX_FAIL(...) do { snprintf(why, sizeof(why), __VA_ARGS__); goto fail; } while (0)

/*
 * Run one frame (pkt, len bytes) through the hook's program and check it
 * against the spec.  On a violation: tally->failed++, and the first one is
 * described in tally->first_fail prefixed with label.  Returns true if the
 * frame passed every check.
 */
static inline bool dx_check_frame(struct th_ctx *t, const struct dx_maps *m,
				  const struct dx_run *o, const __u8 *pkt,
				  int len, const char *label,
				  struct dx_tally *ty)
{
	__u8 *out = dx_last_out;
	struct th_run_in in = { .gso_segs = o->gso_segs, .priority = DX_PRIO_IN };
	struct th_run_out r;
	struct dx_counts b, a;
	struct dx_want w;
	struct pm_info pi;
	char why[640] = "";
	int prog = o->hook == TCPRIO_HOOK_POD_EDGE ? t->prog_pod_edge : t->prog_uplink;
	bool edge = o->hook == TCPRIO_HOOK_POD_EDGE, hit;
	__u64 segs = o->gso_segs ? o->gso_segs : 1;
	int want_dscp;
	__u8 d;

	/* The uplink sees these frames forwarded from m->uplink_ingress (the
	 * pod edge does not read ingress_ifindex; leaving it 0 there keeps the
	 * pod edge's checks on kernels whose test run rejects the field). */
	if (!edge)
		in.ingress_ifindex = m->uplink_ingress;

	ty->run++;
	pm_parse(pkt, len > DX_FRAME_MAX ? 0 : len, &pi);
	if (len > DX_FRAME_MAX)
		DX_FAIL("frame of %d bytes, more than %d", len, DX_FRAME_MAX);
	hit = pi.ip && dx_find_ep(m, pi.src);
	w = dx_expect(m, o->hook, &pi, hit);
	if (!pi.strict && pi.ip)
		ty->nonstrict++;
	if (o->check_counts)
		dx_read_counts(t, o->hook, &b);
	memset(out, 0, (size_t)len);
	/* The model is one frame at a time: no fragment remembered from an
	 * earlier frame (test_packets.c tests fragment sequences). */
	th_clear_frags(t);
	if (th_run(prog, pkt, (__u32)len, out, (__u32)len + 256, &in, &r)) {
		/* BPF_PROG_TEST_RUN refuses (-EINVAL) a frame whose outer
		 * ethertype is IPv4 / IPv6 but that holds fewer than 20 / 40
		 * bytes after the Ethernet header (measured on 6.18).  Such a
		 * frame can reach a real TC hook; it cannot be run here. */
		uint16_t et = pm_be16(pkt + 12);

		if (r.err == -EINVAL && ((et == 0x0800 && len - 14 < 20) ||
					 (et == 0x86dd && len - 14 < 40))) {
			ty->not_runnable++;
			return true;
		}
		if (r.ctx_unsupported)
			ty->ctx_unsupported++;
		DX_FAIL("bpf_prog_test_run_opts: %s", strerror(-r.err));
	}
	if (r.retval != TC_ACT_UNSPEC)
		DX_FAIL("verdict %d, expected TC_ACT_UNSPEC (-1)%s", r.retval,
			r.retval == TC_ACT_SHOT ? " (dropped!)" : "");
	if ((int)r.out_len != len)
		DX_FAIL("length %u after run, was %d", r.out_len, len);

	/* Bytes.  Strict frames: exactly w.dscp.  Others: unchanged, or a DSCP
	 * of one of the source's classes (pod edge, rewrite on). */
	want_dscp = w.dscp;
	d = pi.ip ? pm_dscp_at(out, &pi) : 0;
	if (!pi.strict && pi.ip && d != pi.dscp) {
		__u64 ok = edge && m->cfg.enabled && m->cfg.rewrite_dscp ?
			   dx_possible_dscps(m, pi.src) : 0;

		if (!(ok >> d & 1))
			DX_FAIL("DSCP rewritten %u -> %u, not a DSCP of this source's classes",
				pi.dscp, d);
		want_dscp = d;
	}
	if (!pm_check_change(pkt, out, len, &pi, want_dscp, why, sizeof(why)))
		goto fail;
	if (pi.strict && w.dscp >= 0 && d != w.dscp)
		DX_FAIL("DSCP %u after run, expected %d (class %d)", d, w.dscp, w.cls);
	if (pi.ip && d != pi.dscp) {
		ty->rewritten++;
		if (pi.nonfirst_frag)
			ty->nonfirst_frag_rewritten++;
	}
	if (hit)
		ty->hits++;
	if (hit && w.cls >= 0 && (edge || !dx_uplink_by_dscp(m)) &&
	    (__u32)w.cls != dx_find_ep(m, pi.src)->cls)
		ty->port_rule_hits++;
	if (!pi.ip)
		ty->unparsed++;

	/* skb->priority */
	if (pi.strict || !pi.ip) {
		__u32 wp = w.prio ? dx_classes[w.cls].priority : DX_PRIO_IN;

		if (r.priority != wp)
			DX_FAIL("skb->priority 0x%x, expected 0x%x (%s)", r.priority, wp,
				w.prio ? "class priority" : "untouched");
	}

	if (!o->check_counts)
		return true;
	dx_read_counts(t, o->hook, &a);
	if (pi.strict || !pi.ip) {
		for (int k = 0; k < DX_NCLASSES; k++) {
			__u64 wp = w.counted && k == w.cls ? segs : 0;
			__u64 wb = w.counted && k == w.cls ? (__u64)len : 0;

			if (a.pkts[k] - b.pkts[k] != wp || a.bytes[k] - b.bytes[k] != wb)
				DX_FAIL("tcprio_stats class %d: packets +%llu bytes +%llu, expected +%llu +%llu",
					k, (unsigned long long)(a.pkts[k] - b.pkts[k]),
					(unsigned long long)(a.bytes[k] - b.bytes[k]),
					(unsigned long long)wp, (unsigned long long)wb);
		}
		if (a.all_pkts - b.all_pkts != (w.counted ? segs : 0))
			DX_FAIL("tcprio_stats all classes: packets +%llu, expected +%llu",
				(unsigned long long)(a.all_pkts - b.all_pkts),
				(unsigned long long)(w.counted ? segs : 0));
		for (int e = 0; e < TCPRIO_EV_COUNT; e++) {
			__u64 we = w.events >> e & 1;

			if (a.ev[e] - b.ev[e] != we)
				DX_FAIL("tcprio_events[hook %d, event %d]: +%llu, expected +%llu",
					o->hook, e, (unsigned long long)(a.ev[e] - b.ev[e]),
					(unsigned long long)we);
		}
		return true;
	}
	/* Not strict: counted once: in a class, or as UNPARSED / a miss;
	 * with sanitize_unknown a pod-edge miss is counted in a class too. */
	{
		__u64 dp = a.all_pkts - b.all_pkts;
		__u64 de = a.unparsed - b.unparsed +
			   a.ev[TCPRIO_EV_ENDPOINT_MISS] - b.ev[TCPRIO_EV_ENDPOINT_MISS];
		bool both = edge && m->cfg.sanitize_unknown && dp == segs &&
			    a.ev[TCPRIO_EV_ENDPOINT_MISS] - b.ev[TCPRIO_EV_ENDPOINT_MISS] == 1 &&
			    a.unparsed == b.unparsed;

		if (!m->cfg.enabled ? (dp || de) :
		    !((dp == segs && !de) || (!dp && de == 1) || both))
			DX_FAIL("stats packets +%llu, UNPARSED+ENDPOINT_MISS +%llu: want one of (+%llu, 0), (0, +1)",
				(unsigned long long)dp, (unsigned long long)de,
				(unsigned long long)segs);
	}
	return true;
fail:
	if (!ty->failed++) {
		char ipb[64];

		snprintf(ty->first_fail, sizeof(ty->first_fail),
			 "%s: %s [model: %s%s, %s, vlans %d, DSCP %u ECN %u, proto %u, ports %s %u>%u, src %s]",
			 label, why, pi.why, pi.strict ? "" : " (not strict)",
			 pi.family ? (pi.family == 4 ? "IPv4" : "IPv6") : "no IP",
			 pi.vlans, pi.dscp, pi.ecn, pi.proto, pi.ports ? "yes" : "no",
			 pi.sport, pi.dport, pm_ip_str(pi.src, ipb, sizeof(ipb)));
	}
	return false;
}

#endif /* TCPRIO_TESTS_DP_EXPECT_H */
