/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * harness.h - test harness for the tcprio TC programs (bpf/tcprio.bpf.c),
 * run through BPF_PROG_TEST_RUN (bpf_prog_test_run_opts).  Header-only so
 * that every datapath test (test_packets.c, pcap/random tests, benchmarks)
 * can include it without a Makefile change.
 *
 * What it offers:
 *   - th_open()/th_close(): open + load the skeleton (build/tcprio.skel.h)
 *     with its OWN pin root /sys/fs/bpf/tcprio-test-<suite>-<pid> (bpffs is
 *     mounted if needed), and unpin + rmdir at the end.
 *   - map setters: th_set_config, th_set_class, th_set_dscp_class,
 *     th_add_endpoint, th_add_port_rule, th_clear_maps, th_reset_counters.
 *   - counter readers that sum the per-CPU values: th_stat_packets,
 *     th_stat_bytes, th_event.
 *   - a packet builder: Ethernet + up to TH_MAX_VLANS VLAN tags + IPv4 (with
 *     options, fragments) or IPv6 (with extension headers) + TCP / UDP / SCTP
 *     / ICMP / ICMPv6, with correct IPv4, L4 checksums and SCTP CRC32c.
 *   - run_prog()/th_run(): one test run with a struct __sk_buff ctx_in /
 *     ctx_out, returning the output bytes, skb->priority and the verdict.
 *   - checkers: th_ipv4_csum_ok (full recompute), th_check_dscp_only (out
 *     differs from in only in the DSCP bits, ECN kept, checksum valid).
 *   - TAP output: ASSERT_* macros that name what they compared.  Between
 *     th_case_begin() and th_case_end() assertions are collected into one TAP
 *     line per case (failures print "# " diagnostics); outside a case each
 *     assertion is its own TAP line.
 *
 * BPF_PROG_TEST_RUN rules for SCHED_CLS (kernel net/bpf/test_run.c):
 *   - the packet must be at least ETH_HLEN (14) bytes, else -EINVAL; with
 *     an outer IPv4 / IPv6 ethertype also at least 14 + 20 / 14 + 40 bytes
 *     (the kernel looks at the IP header), else -EINVAL;
 *   - ctx_in may set only mark, priority, ingress_ifindex, ifindex, cb,
 *     tstamp, wire_len, gso_segs, gso_size, hwtstamp; every other field must
 *     be 0 (else -EINVAL).  ifindex 0 or 1 runs on loopback (ifindex 1,
 *     TH_IFINDEX); counters are per hook and class, whatever the ifindex.
 *   - gso_segs <= GSO_MAX_SEGS (65535); wire_len 0 or >= len.
 */
#ifndef TCPRIO_TEST_HARNESS_H
#define TCPRIO_TEST_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tcprio.h"
#include "dp/datapath.h" /* datapath_note_change */
#include "dp/prefix_list.h" /* prefix_list_sync: the agent's list writer */
#include "dp/ep_filter.h"   /* ep_filter_rebuild: the agent's filter writer */
#include "dp/ep_slots.h"    /* ep_slot_sync: the endpoint writers' slot write */
#include "tcprio.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11 /* linux/magic.h */
#endif
#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif
#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif

#define TH_IFINDEX   1     /* test runs happen on loopback */
#define TH_MAX_VLANS 4
#define TH_MAX_EXT   8
#define TH_PKT_MAX   2048  /* bytes; largest packet the builder makes */

/* ------------------------------------------------------------------ TAP */

static int th_tap_num;          /* last TAP test number printed */
static int th_tap_planned = -1; /* th_plan()'s count; -1 before it */
static int th_tap_failed;       /* number of "not ok" lines */
static bool th_in_case;         /* inside th_case_begin/end */
static bool th_case_ok;
static bool th_case_unsupported; /* a th_run of this case was refused for
				    its ctx (th_run_out.ctx_unsupported) */
static char th_case_name[256];

/* Print a "# " diagnostic line. */
static inline void th_diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void th_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

/* Why a check is a SKIP when a test run it made (struct th_run_out
 * .ctx_unsupported) was refused for ctx ingress_ifindex: accepted since
 * Linux 5.11, 5.10 returns EINVAL. */
#define TH_CTX_UNSUPPORTED_WHY "this kernel's BPF_PROG_TEST_RUN rejects ctx ingress_ifindex " \
	"(Linux < 5.11): forwarded packets cannot be emulated"

/* Print one TAP result line for a check; returns ok.  unsupported: one of
 * this check's own test runs needed a ctx field this kernel's test run
 * refuses (th_run_out.ctx_unsupported); then a failure is a SKIP with the
 * reason, not a failure.  Another check's runs never make this one a SKIP. */
static inline bool th_tap_check(bool ok, bool unsupported, const char *name)
{
	th_tap_num++;
	if (!ok && unsupported) {
		printf("ok %d - %s # SKIP %s\n", th_tap_num, name, TH_CTX_UNSUPPORTED_WHY);
		fflush(stdout);
		return true;
	}
	if (!ok)
		th_tap_failed++;
	printf("%sok %d - %s\n", ok ? "" : "not ", th_tap_num, name);
	fflush(stdout);
	return ok;
}

/* Print one TAP result line; returns ok. */
static inline bool th_tap(bool ok, const char *name)
{
	return th_tap_check(ok, false, name);
}

/* Print a SKIP line for a check that cannot run here. */
static inline void th_skip(const char *name, const char *why)
{
	th_tap_num++;
	printf("ok %d - %s # SKIP %s\n", th_tap_num, name, why);
	fflush(stdout);
}

/* Start collecting assertions into one TAP line named name. */
static inline void th_case_begin(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void th_case_begin(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(th_case_name, sizeof(th_case_name), fmt, ap);
	va_end(ap);
	th_in_case = true;
	th_case_ok = true;
	th_case_unsupported = false;
}

/* Print the case's TAP line; returns whether every assertion passed. */
static inline bool th_case_end(void)
{
	bool ok = th_case_ok;

	th_in_case = false;
	th_tap_check(ok, th_case_unsupported, th_case_name);
	return ok;
}

/* Record one assertion result (what = description of the comparison). */
static inline bool th_assert_result(bool ok, const char *what)
{
	if (th_in_case) {
		if (!ok) {
			th_case_ok = false;
			th_diag("%s: failed: %s", th_case_name, what);
		}
		return ok;
	}
	return th_tap(ok, what);
}

/* ASSERT_EQ(actual, expected, name): integers, prints both on failure. */
#define ASSERT_EQ(a, b, name) ({                                             \
	long long __a = (long long)(a), __b = (long long)(b);                \
	bool __ok = __a == __b;                                               \
	char __w[384];                                                        \
	snprintf(__w, sizeof(__w), "%s: %s == %s (got %lld / 0x%llx, "      \
		 "expected %lld / 0x%llx)", (name), #a, #b, __a,             \
		 (unsigned long long)__a, __b, (unsigned long long)__b);     \
	if (__ok)                                                             \
		snprintf(__w, sizeof(__w), "%s", (name));                    \
	th_assert_result(__ok, __w);                                          \
})
#define ASSERT_NEQ(a, b, name) ({                                            \
	long long __a = (long long)(a), __b = (long long)(b);                \
	bool __ok = __a != __b;                                               \
	char __w[384];                                                        \
	snprintf(__w, sizeof(__w), "%s: %s != %s (both %lld)", (name), #a,  \
		 #b, __a);                                                    \
	if (__ok)                                                             \
		snprintf(__w, sizeof(__w), "%s", (name));                    \
	th_assert_result(__ok, __w);                                          \
})
#define ASSERT_TRUE(c, name) ({                                              \
	bool __ok = !!(c);                                                    \
	char __w[384];                                                        \
	snprintf(__w, sizeof(__w), "%s%s%s", (name), __ok ? "" : ": ",       \
		 __ok ? "" : #c);                                             \
	th_assert_result(__ok, __w);                                          \
})
/* ASSERT_OK(err, name): err must be 0 (libbpf style: 0 or -errno). */
#define ASSERT_OK(e, name) ({                                                \
	long long __e = (long long)(e);                                       \
	char __w[384];                                                        \
	snprintf(__w, sizeof(__w), "%s: %s returned %lld (%s)", (name), #e,  \
		 __e, strerror(__e < 0 ? (int)-__e : (int)__e));             \
	if (!__e)                                                             \
		snprintf(__w, sizeof(__w), "%s", (name));                    \
	th_assert_result(__e == 0, __w);                                      \
})
/* ASSERT_MEMEQ(a, b, len, name): byte-equal; names the first difference. */
#define ASSERT_MEMEQ(a, b, n, name) ({                                       \
	const unsigned char *__a = (const void *)(a), *__b = (const void *)(b); \
	size_t __n = (n), __i = 0;                                            \
	while (__i < __n && __a[__i] == __b[__i])                             \
		__i++;                                                        \
	char __w[384];                                                        \
	if (__i < __n)                                                        \
		snprintf(__w, sizeof(__w), "%s: %s and %s differ at byte %zu " \
			 "of %zu (0x%02x vs 0x%02x)", (name), #a, #b, __i,   \
			 __n, __a[__i], __b[__i]);                            \
	else                                                                  \
		snprintf(__w, sizeof(__w), "%s", (name));                    \
	th_assert_result(__i == __n, __w);                                    \
})

/* Declare up front that N results follow (TAP plan "1..N");
 * tests/run_tests.sh fails the suite when it prints another number. */
static inline void th_plan(int n)
{
	th_tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

/* Skip the whole suite before any result: the machine lacks `why`.
 * Returns the exit code (0). */
static inline int th_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	fflush(stdout);
	return 0;
}

/* End of the suite: the exit code, 1 when a check failed or the number of
 * results differs from th_plan()'s. */
static inline int th_done(void)
{
	if (th_tap_planned >= 0 && th_tap_num != th_tap_planned) {
		printf("# planned %d results, printed %d\n", th_tap_planned, th_tap_num);
		return 1;
	}
	return th_tap_failed ? 1 : 0;
}

/* ------------------------------------------------------- load / pins */

/* One loaded copy of the programs and maps with a private pin folder. */
struct th_ctx {
	struct tcprio_bpf *skel;
	char pin_dir[128];          /* /sys/fs/bpf/tcprio-test-<suite>-<pid> */
	int prog_pod_edge, prog_uplink;
	int map_endpoints, map_port_rules, map_classes, map_dscp_classes;
	int map_cache_gen;  /* th_note_change after writing endpoints / port rules */
	int map_config, map_stats, map_events, map_pods, map_frags;
	int map_trust_ifaces, map_trust_slots, map_trust_cidrs, map_rule_blocks;
	int map_destinations, map_scope_stats;
	int map_prefix_lists;  /* invalid (the tries answer) until th_sync_prefix_lists */
	int map_ep_slots;  /* written with every endpoint (ep_slot_sync), as the agent does */
	int ncpus;                  /* libbpf_num_possible_cpus() */
};

/* Mount bpffs at /sys/fs/bpf unless it already is.  0 or -errno. */
static inline int th_mount_bpffs(void)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	mkdir("/sys/fs/bpf", 0700);
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

static inline void th_close(struct th_ctx *t);

/*
 * Open and load the skeleton with maps pinned (by name) under
 * /sys/fs/bpf/tcprio-test-<suite>-<pid>, so a test never touches a live
 * agent's /sys/fs/bpf/tcprio.  Returns 0 or -errno; on error t is cleaned.
 */
static inline int th_open(struct th_ctx *t, const char *suite)
{
	int err;

	memset(t, 0, sizeof(*t));
	snprintf(t->pin_dir, sizeof(t->pin_dir),
		 "/sys/fs/bpf/tcprio-test-%s-%d", suite, (int)getpid());
	err = th_mount_bpffs();
	if (err)
		return err;
	if (mkdir(t->pin_dir, 0700) && errno != EEXIST)
		return -errno;

	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = t->pin_dir);
	t->skel = tcprio_bpf__open_opts(&opts);
	if (!t->skel) {
		err = -errno;
		goto fail;
	}
	err = tcprio_bpf__load(t->skel);
	if (err)
		goto fail;

	t->prog_pod_edge = bpf_program__fd(t->skel->progs.tcprio_pod_edge);
	t->prog_uplink = bpf_program__fd(t->skel->progs.tcprio_uplink);
	t->map_endpoints = bpf_map__fd(t->skel->maps.tcprio_endpoints);
	t->map_ep_slots = bpf_map__fd(t->skel->maps.tcprio_ep_slots);
	t->map_port_rules = bpf_map__fd(t->skel->maps.tcprio_port_rules);
	t->map_cache_gen = bpf_map__fd(t->skel->maps.tcprio_cache_gen);
	t->map_classes = bpf_map__fd(t->skel->maps.tcprio_classes);
	t->map_dscp_classes = bpf_map__fd(t->skel->maps.tcprio_dscp_classes);
	t->map_config = bpf_map__fd(t->skel->maps.tcprio_config);
	t->map_stats = bpf_map__fd(t->skel->maps.tcprio_stats);
	t->map_events = bpf_map__fd(t->skel->maps.tcprio_events);
	t->map_pods = bpf_map__fd(t->skel->maps.tcprio_pods);
	t->map_destinations = bpf_map__fd(t->skel->maps.tcprio_destinations);
	t->map_scope_stats = bpf_map__fd(t->skel->maps.tcprio_scope_stats);
	t->map_frags = bpf_map__fd(t->skel->maps.tcprio_frags);
	t->map_trust_ifaces = bpf_map__fd(t->skel->maps.tcprio_trust_ifaces);
	t->map_trust_slots = bpf_map__fd(t->skel->maps.tcprio_trust_slots);
	t->map_rule_blocks = bpf_map__fd(t->skel->maps.tcprio_rule_blocks);
	t->map_trust_cidrs = bpf_map__fd(t->skel->maps.tcprio_trust_cidrs);
	t->map_prefix_lists = bpf_map__fd(t->skel->maps.tcprio_prefix_lists);
	t->ncpus = libbpf_num_possible_cpus();
	if (t->ncpus <= 0) {
		err = t->ncpus ? t->ncpus : -EINVAL;
		goto fail;
	}
	return 0;
fail:
	th_close(t);
	return err;
}

/* Unpin every map, remove the pin folder and free the skeleton. */
static inline void th_close(struct th_ctx *t)
{
	struct bpf_map *map;

	if (t->skel) {
		bpf_object__for_each_map(map, t->skel->obj)
			if (bpf_map__is_pinned(map))
				bpf_map__unpin(map, NULL);
		tcprio_bpf__destroy(t->skel);
		t->skel = NULL;
	}
	if (t->pin_dir[0])
		rmdir(t->pin_dir);
	t->pin_dir[0] = '\0';
}

/* ----------------------------------------------------------- map setters */

/* Write config key 0 as given (every field).  0 or -errno. */
static inline int th_write_config(struct th_ctx *t, const struct tcprio_config *c)
{
	__u32 k = 0;

	return bpf_map_update_elem(t->map_config, &k, c, BPF_ANY) ? -errno : 0;
}

/* After writing tcprio_endpoints or tcprio_port_rules: a new
 * tcprio_cache_gen, so the programs' caches forget what they hold
 * (include/tcprio.h, "Source cache"), as the agent's writes do. */
static inline int th_note_change(struct th_ctx *t)
{
	return datapath_note_change(t->map_cache_gen);
}

/* Ingress ifindex -> TCPRIO_TRUST_* flags for the uplink (0: delete), in
 * tcprio_trust_ifaces and in its slot of tcprio_trust_slots as the agent
 * writes them (include/tcprio.h): the slot names ifindex if it is free or
 * ifindex's, else it becomes shared; a deleted interface's own slot is
 * emptied (a shared one stays shared).  0 or -errno. */
static inline int th_trust_iface(struct th_ctx *t, __u32 ifindex, __u32 flags)
{
	__u32 slot = ifindex % TCPRIO_TRUST_SLOTS;
	struct tcprio_trust_slot s;

	if (bpf_map_lookup_elem(t->map_trust_slots, &slot, &s))
		return -errno;
	if (!flags) {
		if (bpf_map_delete_elem(t->map_trust_ifaces, &ifindex) && errno != ENOENT)
			return -errno;
		if (s.ifindex == ifindex)
			s = (struct tcprio_trust_slot){ 0, 0 };
	} else {
		if (bpf_map_update_elem(t->map_trust_ifaces, &ifindex, &flags, BPF_ANY))
			return -errno;
		if (s.ifindex == ifindex || !s.flags)
			s = (struct tcprio_trust_slot){ ifindex, flags };
		else
			s = (struct tcprio_trust_slot){ 0, TCPRIO_TRUST_SHARED };
	}
	return bpf_map_update_elem(t->map_trust_slots, &slot, &s, BPF_ANY) ? -errno : 0;
}

/* Trust source CIDR ip/plen (IPv4 text: plen 0..32, stored IPv4-mapped). */
static inline int th_trust_cidr(struct th_ctx *t, const char *ip, int plen)
{
	struct tcprio_trust_cidr_key k;
	__u32 one = 1;

	memset(&k, 0, sizeof(k));
	if (inet_pton(AF_INET, ip, k.ip.addr + 12) == 1) {
		k.ip.addr[10] = k.ip.addr[11] = 0xff;
		plen += 96;
	} else if (inet_pton(AF_INET6, ip, k.ip.addr) != 1) {
		return -EINVAL;
	}
	k.prefixlen = (__u32)plen;
	return bpf_map_update_elem(t->map_trust_cidrs, &k, &one, BPF_ANY) ? -errno : 0;
}

/* Write config key 0 (sanitize_unknown off).  enabled=0 turns
 * classification off. 0 or -errno. */
static inline int th_set_config(struct th_ctx *t, __u32 default_class,
				bool trust_dscp, bool rewrite_dscp, bool enabled)
{
	struct tcprio_config c = {
		.default_class = default_class, .trust_dscp = trust_dscp,
		.rewrite_dscp = rewrite_dscp, .enabled = enabled,
	};
	__u32 k = 0;

	return bpf_map_update_elem(t->map_config, &k, &c, BPF_ANY) ? -errno : 0;
}

/* Set class id: skb->priority, DSCP (0..63), valid flag.  0 or -errno. */
static inline int th_set_class(struct th_ctx *t, __u32 id, __u32 priority,
			       __u8 dscp, bool valid)
{
	struct tcprio_class c = {
		.priority = priority, .dscp = dscp,
		.flags = valid ? TCPRIO_CLASS_VALID : 0,
	};

	snprintf(c.name, sizeof(c.name), "class%u", id);
	return bpf_map_update_elem(t->map_classes, &id, &c, BPF_ANY) ? -errno : 0;
}

/* Map DSCP value dscp (0..63) to class_id for the uplink. 0 or -errno. */
static inline int th_set_dscp_class(struct th_ctx *t, __u32 dscp,
				    __u32 class_id, bool valid)
{
	struct tcprio_dscp_class v = { .class_id = class_id, .valid = valid };

	return bpf_map_update_elem(t->map_dscp_classes, &dscp, &v, BPF_ANY) ?
	       -errno : 0;
}

/* Parse "a.b.c.d" or an IPv6 literal into the endpoint key (IPv4 as
 * ::ffff:a.b.c.d).  0 or -EINVAL. */
static inline int th_ip_key(const char *s, struct tcprio_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, &ip->addr[12]) == 1) {
		ip->addr[10] = 0xff;
		ip->addr[11] = 0xff;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->addr) == 1)
		return 0;
	return -EINVAL;
}

/* Write the whole endpoint entry *ep for ip (IPv4 or IPv6 text), its
 * slot (ep_slot_sync), then note the change, as the agent's writers do.
 * 0, -EINVAL or -errno. */
static inline int th_put_endpoint(struct th_ctx *t, const char *ip,
				  const struct tcprio_endpoint *ep)
{
	struct tcprio_ip key;
	int err;

	if (th_ip_key(ip, &key))
		return -EINVAL;
	if (bpf_map_update_elem(t->map_endpoints, &key, ep, BPF_ANY))
		return -errno;
	err = ep_slot_sync(t->map_ep_slots, t->map_endpoints, &key);
	return err ? err : th_note_change(t);
}

/* Rule block idx := b (include/tcprio.h; policy_fill_rule_block makes
 * one), noted as the agent's writes are.  0 or -errno. */
static inline int th_put_rule_block(struct th_ctx *t, __u32 idx,
				    const struct tcprio_rule_block *b)
{
	if (bpf_map_update_elem(t->map_rule_blocks, &idx, b, BPF_ANY))
		return -errno;
	return th_note_change(t);
}

/* Add (or replace) endpoint ip -> class_id with flags (TCPRIO_EP_*). */
static inline int th_add_endpoint(struct th_ctx *t, const char *ip,
				  __u32 class_id, __u16 flags)
{
	struct tcprio_endpoint ep = {
		.pod_id = 0x1234, .class_id = class_id, .flags = flags,
		.source = TCPRIO_SRC_MANUAL,
	};

	return th_put_endpoint(t, ip, &ep);
}

/* Add port rule (ip, protocol, port host order) -> class_id. */
static inline int th_add_port_rule(struct th_ctx *t, const char *ip,
				   __u8 protocol, __u16 port, __u32 class_id)
{
	struct tcprio_port_key key = { .port = port, .protocol = protocol };
	struct tcprio_port_rule r = { .class_id = class_id };

	if (th_ip_key(ip, &key.ip))
		return -EINVAL;
	if (bpf_map_update_elem(t->map_port_rules, &key, &r, BPF_ANY))
		return -errno;
	return th_note_change(t);
}

/* Delete every key of a hash map. */
static inline void th_clear_hash(int fd, size_t key_size)
{
	unsigned char key[64], next[64];

	if (key_size > sizeof(key))
		return;
	while (bpf_map_get_next_key(fd, NULL, next) == 0) {
		memcpy(key, next, key_size);
		if (bpf_map_delete_elem(fd, key))
			break;
	}
}

/* Delete ip's endpoint entry, then its slot (ep_slot_sync), then note the
 * change, as the agent's writers do.  0 or -errno. */
static inline int th_del_endpoint(struct th_ctx *t, const struct tcprio_ip *ip)
{
	int err;

	if (bpf_map_delete_elem(t->map_endpoints, ip))
		return -errno;
	err = ep_slot_sync(t->map_ep_slots, t->map_endpoints, ip);
	return err ? err : th_note_change(t);
}

/* Delete every endpoint, and its slot (th_del_endpoint). */
static inline void th_clear_endpoints(struct th_ctx *t)
{
	struct tcprio_ip key;

	while (bpf_map_get_next_key(t->map_endpoints, NULL, &key) == 0 &&
	       th_del_endpoint(t, &key) == 0)
		;
}

/* Empty every endpoint slot (the programs then look every source up in
 * the hash) or, with fill, write the slot of every endpoint as the agent's
 * writers do (ep_slot_sync); then a new cache generation.  0 or -errno. */
static inline int th_ep_slots(struct th_ctx *t, bool fill)
{
	static const struct tcprio_ep_slot empty;
	struct tcprio_ip key, next;
	int err = 0;
	__u32 k;

	if (!fill) {
		for (k = 0; k < TCPRIO_EP_SLOTS && !err; k++)
			if (bpf_map_update_elem(t->map_ep_slots, &k, &empty, BPF_ANY))
				err = -errno;
		return err ? err : th_note_change(t);
	}
	if (bpf_map_get_next_key(t->map_endpoints, NULL, &next))
		return th_note_change(t);
	do {
		key = next;
		err = ep_slot_sync(t->map_ep_slots, t->map_endpoints, &key);
	} while (!err && bpf_map_get_next_key(t->map_endpoints, &key, &next) == 0);
	return err ? err : th_note_change(t);
}

/* Zero the stats and events counters. */
static inline void th_reset_counters(struct th_ctx *t)
{
	struct tcprio_counters zc[t->ncpus];
	__u64 zero[t->ncpus];
	__u32 k;

	memset(zero, 0, sizeof(zero));
	memset(zc, 0, sizeof(zc));
	for (k = 0; k < TCPRIO_STATS_ENTRIES; k++)
		bpf_map_update_elem(t->map_stats, &k, zc, BPF_ANY);
	for (k = 0; k < TCPRIO_HOOK_COUNT * TCPRIO_EV_COUNT; k++)
		bpf_map_update_elem(t->map_events, &k, zero, BPF_ANY);
	for (k = 0; k < TCPRIO_SCOPE_COUNT; k++)
		bpf_map_update_elem(t->map_scope_stats, &k, zc, BPF_ANY);
}

/* Forget every fragmented datagram (tcprio_frags). */
static inline void th_clear_frags(struct th_ctx *t)
{
	th_clear_hash(t->map_frags, sizeof(struct tcprio_frag_key));
}

/* Build the endpoint filter from tcprio_endpoints as the agent does
 * (ep_filter_rebuild; valid from then on: endpoints written afterwards need
 * it again), then a new cache generation.  Returns the endpoints covered
 * or -errno. */
static inline long th_build_ep_filter(struct th_ctx *t)
{
	__u64 *mem = NULL;
	long n;
	int err = ep_filter_map(bpf_map__fd(t->skel->maps.tcprio_ep_filter), &mem);

	if (err)
		return err;
	n = ep_filter_rebuild(mem, t->map_endpoints);
	ep_filter_unmap(mem);
	return n < 0 ? n : th_note_change(t) ? -errno : n;
}

/* Both prefix lists invalid, so the programs look up the tries (what a
 * test that writes the tries itself gets).  0 or -errno. */
static inline int th_invalidate_prefix_lists(struct th_ctx *t)
{
	struct tcprio_prefix_list z = { 0 };
	__u32 k;

	for (k = 0; k < TCPRIO_PLIST_COUNT; k++)
		if (bpf_map_update_elem(t->map_prefix_lists, &k, &z, BPF_ANY))
			return -errno;
	return 0;
}

/* Write both prefix lists from the tries as the agent does
 * (prefix_list_sync), then a new cache generation.  0 or -errno. */
static inline int th_sync_prefix_lists(struct th_ctx *t)
{
	int e = prefix_list_sync(t->map_destinations, t->map_prefix_lists,
				 TCPRIO_PLIST_DESTINATIONS);

	if (e >= 0)
		e = prefix_list_sync(t->map_trust_cidrs, t->map_prefix_lists,
				     TCPRIO_PLIST_TRUST_CIDRS);
	return e < 0 ? e : th_note_change(t);
}

/* Empty endpoints (and their slots), port rules; zero classes, DSCP map, config, counters;
 * prefix lists and the endpoint filter off. */
static inline void th_clear_maps(struct th_ctx *t)
{
	struct tcprio_dscp_class dz = { 0 };
	struct tcprio_class cz = { 0 };
	struct tcprio_config z = { 0 };
	__u32 k;

	th_clear_endpoints(t);
	th_clear_hash(t->map_port_rules, sizeof(struct tcprio_port_key));
	th_note_change(t);
	th_clear_frags(t);
	for (k = 0; k < TCPRIO_MAX_CLASSES; k++)
		bpf_map_update_elem(t->map_classes, &k, &cz, BPF_ANY);
	for (k = 0; k < TCPRIO_DSCP_VALUES; k++)
		bpf_map_update_elem(t->map_dscp_classes, &k, &dz, BPF_ANY);
	k = 0;
	bpf_map_update_elem(t->map_config, &k, &z, BPF_ANY);
	th_invalidate_prefix_lists(t);
	/* the endpoint filter off: the tests write endpoints without it
	 * (th_build_ep_filter makes it valid) */
	ep_filter_off(bpf_map__fd(t->skel->maps.tcprio_ep_filter));
	th_reset_counters(t);
}

/* ------------------------------------------------------ counter readers */

/* Sum of per-CPU tcprio_stats for (hook, class); field 0 = packets,
 * 1 = bytes.  0 if the slot cannot be read. */
static inline __u64 th_stat_field(struct th_ctx *t, int hook, __u32 class_id,
				  int field)
{
	__u32 key = TCPRIO_STATS_KEY((__u32)hook, class_id);
	struct tcprio_counters v[t->ncpus];
	__u64 sum = 0;
	int i;

	if (class_id >= TCPRIO_MAX_CLASSES ||
	    bpf_map_lookup_elem(t->map_stats, &key, v))
		return 0;
	for (i = 0; i < t->ncpus; i++)
		sum += field ? v[i].bytes : v[i].packets;
	return sum;
}

static inline __u64 th_stat_packets(struct th_ctx *t, int hook, __u32 cls)
{
	return th_stat_field(t, hook, cls, 0);
}

static inline __u64 th_stat_bytes(struct th_ctx *t, int hook, __u32 cls)
{
	return th_stat_field(t, hook, cls, 1);
}

/* Sum over every class of packets counted for hook. */
static inline __u64 th_stat_packets_all(struct th_ctx *t, int hook)
{
	__u64 sum = 0;
	__u32 c;

	for (c = 0; c < TCPRIO_MAX_CLASSES; c++)
		sum += th_stat_packets(t, hook, c);
	return sum;
}

/* Sum of per-CPU tcprio_events[hook * TCPRIO_EV_COUNT + ev]. */
static inline __u64 th_event(struct th_ctx *t, int hook, int ev)
{
	__u32 k = (__u32)(hook * TCPRIO_EV_COUNT + ev);
	__u64 v[t->ncpus], sum = 0;
	int i;

	if (bpf_map_lookup_elem(t->map_events, &k, v))
		return 0;
	for (i = 0; i < t->ncpus; i++)
		sum += v[i];
	return sum;
}

/* ------------------------------------------------------- packet builder */

/* What to build.  Zero-initialize, then set what matters. */
struct pkt_spec {
	int n_vlans;                     /* 0..TH_MAX_VLANS stacked tags */
	__u16 vlan_tpid[TH_MAX_VLANS];   /* 0x8100 (802.1Q) or 0x88a8 (802.1ad);
	                                    0 means 0x8100 */
	__u16 ethertype;                 /* non-IP frames only (e.g. 0x0806 ARP);
	                                    0: from family */
	int family;                      /* 4 or 6 (0 with ethertype: non-IP) */
	const char *src, *dst;           /* addresses, text */
	__u8 tos;                        /* IPv4 TOS / IPv6 traffic class:
	                                    DSCP << 2 | ECN */
	__u32 flow_label;                /* IPv6, 20 bits */
	int ip_opt_words;                /* IPv4 options in 4-byte words (0..10)
	                                    -> IHL 5..15 (NOPs + EOL) */
	__u16 frag;                      /* IPv4: frag_off field host order
	                                    (IP_MF 0x2000 | offset/8);
	                                    IPv6 (with_frag_hdr): offset/8 << 3
	                                    | M flag (1) */
	bool ipv6_frag_hdr;              /* append a fragment header (44) after
	                                    ext[] */
	__u32 ip_id;                     /* IPv4 ID (16 bits) / IPv6 fragment
	                                    ID; 0: 0x1c46 / 0xabcd */
	int n_ext;                       /* IPv6 extension headers, in order:
	                                    0 hop-by-hop, 43 routing, 60 dest
	                                    options, 51 AH (44: use frag) */
	__u8 ext[TH_MAX_EXT];
	__u8 l4;                         /* IPPROTO_TCP/UDP/SCTP/ICMP/ICMPV6,
	                                    or another number: no L4 header */
	__u16 sport, dport;              /* host order */
	int payload_len;                 /* bytes after the L4 header */
};

/* Offsets (bytes from the frame start) of what was built. */
struct pkt_layout {
	size_t len;      /* frame length */
	size_t l3_off;   /* IP header */
	size_t l4_off;   /* L4 header (after every extension header) */
	size_t l4_len;   /* L4 header length (0 if none) */
	int family;
};

static inline void th_put16(__u8 *p, __u16 v) { p[0] = v >> 8; p[1] = v & 0xff; }
static inline void th_put32(__u8 *p, __u32 v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

/* One's complement sum over len bytes (RFC 1071), not folded. */
static inline __u32 th_csum_add(__u32 sum, const __u8 *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (__u32)p[len - 1] << 8;
	return sum;
}

static inline __u16 th_csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* CRC32c (Castagnoli, RFC 3309 / RFC 9260 appendix A), bitwise. */
static inline __u32 th_crc32c(const __u8 *p, size_t len)
{
	__u32 crc = 0xffffffff;
	size_t i;
	int b;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0x82f63b78 & -(crc & 1));
	}
	return ~crc;
}

/* Full recompute: true if the IPv4 header at iph has a valid checksum. */
static inline bool th_ipv4_csum_ok(const __u8 *iph)
{
	size_t ihl = (size_t)(iph[0] & 0xf) * 4;

	return th_csum_fold(th_csum_add(0, iph, ihl)) == 0;
}

/*
 * Build the frame described by s into buf (cap bytes).  Returns the frame
 * length (also in lay->len) or 0 if it does not fit / s is invalid.
 * Addresses: s->src/s->dst must match s->family.  Ethernet MACs are fixed
 * locally administered values.
 */
static inline size_t pkt_build(const struct pkt_spec *s, __u8 *buf, size_t cap,
			       struct pkt_layout *lay)
{
	static const __u8 dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const __u8 smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	struct pkt_layout l = { .family = s->family };
	__u8 saddr[16], daddr[16], *ip;
	size_t off = 12, l4hdr = 0, iplen, i;
	__u8 next;
	int v;

	memset(buf, 0, cap);
	if (cap < 64 || s->n_vlans > TH_MAX_VLANS || s->n_ext > TH_MAX_EXT)
		return 0;
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	for (v = 0; v < s->n_vlans; v++) {
		th_put16(buf + off, s->vlan_tpid[v] ? s->vlan_tpid[v] : 0x8100);
		th_put16(buf + off + 2, (__u16)(100 + v)); /* VID 100.. */
		off += 4;
	}
	if (s->family != 4 && s->family != 6) {
		/* Non-IP: ethertype + a 28-byte ARP-like body. */
		th_put16(buf + off, s->ethertype ? s->ethertype : ETH_P_ARP);
		off += 2;
		l.l3_off = off;
		off += 28;
		l.len = l.l4_off = off;
		if (lay)
			*lay = l;
		return off;
	}
	th_put16(buf + off, s->ethertype ? s->ethertype :
		 s->family == 4 ? ETH_P_IP : ETH_P_IPV6);
	off += 2;
	l.l3_off = off;
	ip = buf + off;

	switch (s->l4) {
	case IPPROTO_TCP: l4hdr = 20; break;
	case IPPROTO_UDP: l4hdr = 8; break;
	case IPPROTO_SCTP: l4hdr = 12 + 16; break; /* common hdr + DATA chunk hdr */
	case IPPROTO_ICMP: case IPPROTO_ICMPV6: l4hdr = 8; break;
	default: l4hdr = 0; break;
	}

	if (s->family == 4) {
		size_t ihl = 5 + (size_t)s->ip_opt_words;

		if (s->ip_opt_words < 0 || ihl > 15 ||
		    inet_pton(AF_INET, s->src, saddr) != 1 ||
		    inet_pton(AF_INET, s->dst, daddr) != 1)
			return 0;
		l.l4_off = off + ihl * 4;
		iplen = ihl * 4 + l4hdr + (size_t)s->payload_len;
		if (l.l3_off + iplen > cap)
			return 0;
		ip[0] = 0x40 | (__u8)ihl;
		ip[1] = s->tos;
		th_put16(ip + 2, (__u16)iplen);
		th_put16(ip + 4, s->ip_id ? (__u16)s->ip_id : 0x1c46); /* id */
		th_put16(ip + 6, s->frag);
		ip[8] = 64;
		ip[9] = s->l4;
		memcpy(ip + 12, saddr, 4);
		memcpy(ip + 16, daddr, 4);
		for (i = 20; i < ihl * 4; i++)         /* NOPs, EOL last */
			ip[i] = i + 1 == ihl * 4 ? 0 : 1;
		th_put16(ip + 10, th_csum_fold(th_csum_add(0, ip, ihl * 4)));
		next = s->l4;
	} else {
		size_t p = 40;
		__u8 *nh = ip + 6;
		int e;

		if (inet_pton(AF_INET6, s->src, saddr) != 1 ||
		    inet_pton(AF_INET6, s->dst, daddr) != 1)
			return 0;
		th_put32(ip, 0x60000000u | (__u32)s->tos << 20 |
			 (s->flow_label & 0xfffff));
		ip[7] = 64;
		memcpy(ip + 8, saddr, 16);
		memcpy(ip + 24, daddr, 16);
		for (e = 0; e < s->n_ext; e++) {
			__u8 *h = ip + p;

			*nh = s->ext[e];
			nh = h;
			if (s->ext[e] == 51) {         /* AH: len in 4-byte units - 2 */
				h[1] = 4;              /* (4 + 2) * 4 = 24 bytes */
				th_put32(h + 4, 0x100);/* SPI */
				p += 24;
			} else if (s->ext[e] == 43) { /* routing type 4 (SRH-ish) */
				h[1] = 2;              /* (2 + 1) * 8 = 24 bytes */
				h[2] = 4;
				p += 24;
			} else {                        /* HBH / dstopts: PadN */
				h[1] = 0;              /* 8 bytes */
				h[2] = 1;              /* PadN */
				h[3] = 4;
				p += 8;
			}
		}
		if (s->ipv6_frag_hdr) {
			__u8 *h = ip + p;

			*nh = 44;
			nh = h;
			th_put16(h + 2, s->frag);
			th_put32(h + 4, s->ip_id ? s->ip_id : 0xabcd);
			p += 8;
		}
		*nh = s->l4;
		l.l4_off = off + p;
		iplen = p + l4hdr + (size_t)s->payload_len;
		if (l.l3_off + iplen > cap)
			return 0;
		th_put16(ip + 4, (__u16)(iplen - 40));
		next = s->l4;
	}

	/* L4 header + payload (pattern bytes). */
	{
		__u8 *l4 = buf + l.l4_off;
		size_t l4len = l4hdr + (size_t)s->payload_len;
		__u32 sum = 0;

		for (i = 0; i < (size_t)s->payload_len; i++)
			l4[l4hdr + i] = (__u8)(i * 7 + 3);
		if (s->family == 4) {
			sum = th_csum_add(0, saddr, 4);
			sum = th_csum_add(sum, daddr, 4);
		} else {
			sum = th_csum_add(0, saddr, 16);
			sum = th_csum_add(sum, daddr, 16);
		}
		sum += next;
		sum += (__u32)l4len;
		switch (next) {
		case IPPROTO_TCP:
			th_put16(l4, s->sport);
			th_put16(l4 + 2, s->dport);
			th_put32(l4 + 4, 1000);        /* seq */
			l4[12] = 5 << 4;               /* doff */
			l4[13] = 0x18;                 /* PSH ACK */
			th_put16(l4 + 14, 64240);
			th_put16(l4 + 16, th_csum_fold(th_csum_add(sum, l4, l4len)));
			break;
		case IPPROTO_UDP:
			th_put16(l4, s->sport);
			th_put16(l4 + 2, s->dport);
			th_put16(l4 + 4, (__u16)l4len);
			{
				__u16 c = th_csum_fold(th_csum_add(sum, l4, l4len));
				th_put16(l4 + 6, c ? c : 0xffff);
			}
			break;
		case IPPROTO_SCTP:
			th_put16(l4, s->sport);
			th_put16(l4 + 2, s->dport);
			th_put32(l4 + 4, 0x11223344);  /* verification tag */
			l4[12] = 0;                    /* DATA chunk */
			l4[13] = 3;                    /* B | E */
			th_put16(l4 + 14, (__u16)(16 + s->payload_len));
			/* CRC32c is stored little-endian (RFC 9260 6.8) */
			{
				__u32 c = th_crc32c(l4, l4len);
				memcpy(l4 + 8, &c, 4);
			}
			break;
		case IPPROTO_ICMP:
			l4[0] = 8;                     /* echo request */
			th_put16(l4 + 4, 0x42);
			th_put16(l4 + 6, 1);
			th_put16(l4 + 2, th_csum_fold(th_csum_add(0, l4, l4len)));
			break;
		case IPPROTO_ICMPV6:
			l4[0] = 128;                   /* echo request */
			th_put16(l4 + 4, 0x42);
			th_put16(l4 + 6, 1);
			th_put16(l4 + 2, th_csum_fold(th_csum_add(sum, l4, l4len)));
			break;
		}
		l.l4_len = l4hdr;
		l.len = l.l4_off + l4len;
	}
	if (lay)
		*lay = l;
	return l.len;
}

/* ---------------------------------------------------------- test runs */

/* Extra inputs of one run (zero = defaults). */
struct th_run_in {
	__u32 gso_segs;     /* ctx_in gso_segs */
	__u32 gso_size;     /* ctx_in gso_size */
	__u32 priority;     /* ctx_in skb->priority */
	__u32 mark;
	__u32 ingress_ifindex; /* ctx_in: != 0 makes a forwarded packet (the
	                          test run's skb always has a socket, in the
	                          caller's cgroup: bpf/host.h) */
	__u32 cb0;          /* ctx_in skb->cb[0] */
	int repeat;         /* 0 = 1 */
};

/* Results of one run. */
struct th_run_out {
	int err;            /* bpf_prog_test_run_opts: 0 or -errno */
	int retval;         /* program return value (verdict) */
	__u32 priority;     /* ctx_out skb->priority */
	__u32 mark;
	__u32 cb0;          /* ctx_out skb->cb[0] */
	__u32 out_len;      /* bytes in out */
	__u32 duration_ns;  /* average run time reported by the kernel */
	bool ctx_unsupported; /* refused for ctx ingress_ifindex, which this
	                         kernel's test run does not accept (err is
	                         -EOPNOTSUPP): the check is a SKIP
	                         (th_tap_check; a case does it itself) */
};

/*
 * Run prog_fd once on pkt (len bytes, >= 14); output frame into out
 * (out_cap bytes).  Returns r->err.
 */
static inline int th_run(int prog_fd, const void *pkt, __u32 len,
			 void *out, __u32 out_cap, const struct th_run_in *in,
			 struct th_run_out *r)
{
	struct __sk_buff ctx_in, ctx_out;

	memset(&ctx_in, 0, sizeof(ctx_in));
	memset(&ctx_out, 0, sizeof(ctx_out));
	memset(r, 0, sizeof(*r));
	ctx_in.ifindex = TH_IFINDEX;
	if (in) {
		ctx_in.gso_segs = in->gso_segs;
		ctx_in.gso_size = in->gso_size;
		ctx_in.priority = in->priority;
		ctx_in.mark = in->mark;
		ctx_in.ingress_ifindex = in->ingress_ifindex;
		ctx_in.cb[0] = in->cb0;
	}
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = pkt, .data_size_in = len,
		.data_out = out, .data_size_out = out_cap,
		.ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in),
		.ctx_out = &ctx_out, .ctx_size_out = sizeof(ctx_out),
		.repeat = in && in->repeat > 0 ? in->repeat : 1);
	r->err = bpf_prog_test_run_opts(prog_fd, &opts) ? -errno : 0;
	if (r->err == -EINVAL && ctx_in.ingress_ifindex) {
		/* Refused for the field, or for the frame?  Same run without it. */
		ctx_in.ingress_ifindex = 0;
		if (!bpf_prog_test_run_opts(prog_fd, &opts)) {
			r->ctx_unsupported = true;
			r->err = -EOPNOTSUPP;
			if (th_in_case)
				th_case_unsupported = true;
		}
	}
	r->retval = (int)opts.retval;
	r->priority = ctx_out.priority;
	r->mark = ctx_out.mark;
	r->cb0 = ctx_out.cb[0];
	r->out_len = opts.data_size_out;
	r->duration_ns = opts.duration;
	return r->err;
}

/*
 * run_prog(prog_fd, pkt, len, out, &out_len, &priority, &retval): the short
 * form.  out must hold len + 256 bytes (*out_len is set to the bytes
 * written).  Returns 0 or -errno from bpf_prog_test_run_opts.
 */
static inline int run_prog(int prog_fd, const void *pkt, __u32 len, void *out,
			   __u32 *out_len, __u32 *priority, int *retval)
{
	struct th_run_out r;

	th_run(prog_fd, pkt, len, out, len + 256, NULL, &r);
	if (out_len)
		*out_len = r.out_len;
	if (priority)
		*priority = r.priority;
	if (retval)
		*retval = r.retval;
	return r.err;
}

/*
 * Check that out differs from in (len bytes, layout lay) at most in the six
 * DSCP bits (and, for IPv4, the header checksum, which must then be valid by
 * full recompute).  For IPv6 version and flow label must be unchanged.
 * Returns true if so and stores the output DSCP and ECN; false with a "# "
 * diagnostic naming the first offending byte otherwise.
 */
static inline bool th_check_dscp_only(const __u8 *in, const __u8 *out,
				      size_t len, const struct pkt_layout *lay,
				      __u8 *dscp, __u8 *ecn)
{
	size_t i, l3 = lay->l3_off;
	__u8 tc;

	for (i = 0; i < len; i++) {
		bool allowed = false;

		if (in[i] == out[i])
			continue;
		if (lay->family == 4)
			allowed = i == l3 + 1 || i == l3 + 10 || i == l3 + 11;
		else if (lay->family == 6)
			allowed = (i == l3 && !((in[i] ^ out[i]) & 0xf0)) ||
				  (i == l3 + 1 && !((in[i] ^ out[i]) & 0x3f));
		if (!allowed) {
			th_diag("byte %zu changed 0x%02x -> 0x%02x (outside DSCP)",
				i, in[i], out[i]);
			return false;
		}
	}
	if (lay->family == 4) {
		if (!th_ipv4_csum_ok(out + l3)) {
			th_diag("IPv4 header checksum invalid after run (0x%02x%02x)",
				out[l3 + 10], out[l3 + 11]);
			return false;
		}
		tc = out[l3 + 1];
	} else if (lay->family == 6) {
		tc = (__u8)((out[l3] & 0x0f) << 4 | out[l3 + 1] >> 4);
	} else {
		tc = 0;
	}
	if (dscp)
		*dscp = tc >> 2;
	if (ecn)
		*ecn = tc & 3;
	return true;
}

#endif /* TCPRIO_TEST_HARNESS_H */
