/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cache_writers - the datapath's caches (tcprio_src_cache,
 * tcprio_cg_cache: include/tcprio.h) never hide a change made by one of
 * the real writers.  Each change goes through the code the agent and the
 * CLI run - the sync engine on the BPF maps (endpoint_sync_upsert /
 * _delete for pod events, endpoint_sync_manual_set / _del for `tcprio
 * endpoint add|del`) and trust_ifaces_sync - and the very next packet
 * (BPF_PROG_TEST_RUN on the loaded programs, right after a packet of the
 * same flow filled the cache) must get the new class.  The host rules'
 * writer (host_sync_rescan) is checked against tcprio_cg_cache the same
 * way, with this process in a cgroup of its own (a test run's skb carries
 * a socket of the caller's cgroup).
 * Runs as root in a network namespace of its own (a veth for the
 * trust part) with the pin folder /sys/fs/bpf/tcprio-test-cachew-<pid>.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dp/datapath.h"
#include "dp/ep_filter.h"
#include "dp/ep_slots.h"
#include "dp/map_ops_bpf.h"
#include "dp/host_sync.h"
#include "dp/trust_ifaces.h"
#include "kube/pod.h"
#include "lib/log.h"
#include "policy/class_table.h"
#include "sync/endpoint_sync.h"
#include "tap.h"
#include "test_cgroup.h"

#define POD_IP  "198.18.70.2"
#define OTHER   "198.18.70.9"   /* not an endpoint */
#define PRIO_IN 0x55u           /* ctx_in skb->priority */

static char pin_dir[128];
static struct class_table table;

/* Class name -> its skb->priority in the default table. */
static __u32 prio(const char *name)
{
	for (int i = 0; i < table.n_classes; i++)
		if (strcmp(table.classes[i].name, name) == 0)
			return table.classes[i].priority;
	return 0;
}

/* Ethernet + IPv4 + TCP header bytes, src -> 198.19.0.1, sport -> dport,
 * TOS tos (the header checksum does not matter to the programs). */
static size_t frame(__u8 *b, const char *src, __u16 sport, __u16 dport, __u8 tos)
{
	struct in_addr s, d;

	memset(b, 0, 74);
	b[12] = 0x08;                          /* ETH_P_IP */
	b[14] = 0x45;
	b[15] = tos;
	b[17] = 60;                            /* total length */
	b[22] = 64;                            /* TTL */
	b[23] = 6;                             /* TCP */
	inet_pton(AF_INET, src, &s);
	inet_pton(AF_INET, "198.19.0.1", &d);
	memcpy(b + 26, &s, 4);
	memcpy(b + 30, &d, 4);
	b[34] = sport >> 8; b[35] = sport & 0xff;
	b[36] = dport >> 8; b[37] = dport & 0xff;
	b[46] = 0x50;                          /* data offset 5 */
	return 74;
}

/* Run prog on the frame; the skb->priority it leaves (PRIO_IN: untouched),
 * 0 if the run failed.  ingress: ctx ingress_ifindex (0: a local packet);
 * *unsupported is set when this kernel refuses that field (Linux < 5.11). */
static __u32 run(int prog, const __u8 *pkt, size_t len, __u32 ingress, bool *unsupported)
{
	struct __sk_buff in = { .priority = PRIO_IN, .ingress_ifindex = ingress }, out;
	__u8 o[256];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = (__u32)len,
		    .data_out = o, .data_size_out = sizeof(o), .ctx_in = &in,
		    .ctx_size_in = sizeof(in), .ctx_out = &out, .ctx_size_out = sizeof(out));

	memset(&out, 0, sizeof(out));
	if (bpf_prog_test_run_opts(prog, &opts)) {
		if (unsupported && errno == EINVAL && ingress)
			*unsupported = true;
		return 0;
	}
	return out.priority;
}

/* Entries of prefix list id (tcprio_prefix_lists) if it is valid, else -1. */
static int list_count(const struct datapath *dp, __u32 id)
{
	struct tcprio_prefix_list l;

	if (bpf_map_lookup_elem(dp->maps.prefix_lists, &id, &l) || !l.valid)
		return -1;
	return (int)l.count;
}

/* Two packets of the flow (the first fills the cache), the second's
 * priority. */
static __u32 run2(int prog, const __u8 *pkt, size_t len, __u32 ingress, bool *unsup)
{
	run(prog, pkt, len, ingress, unsup);
	return run(prog, pkt, len, ingress, unsup);
}

static void make_pod(struct pod *p, const char *cls, const char *ports)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->uid, "0b5e7a1c-cache-writers");
	strcpy(p->namespace_, "shop");
	strcpy(p->name, "web-0");
	inet_pton(AF_INET, POD_IP, &p->ips[0].addr[12]);
	p->ips[0].addr[10] = p->ips[0].addr[11] = 0xff;
	p->n_ips = 1;
	p->class_annotation = cls ? strdup(cls) : NULL;
	p->ports_annotation = ports ? strdup(ports) : NULL;
}

static void free_pod(struct pod *p)
{
	free(p->class_annotation);
	free(p->ports_annotation);
}

/* Pod events (the agent's sync) and `tcprio endpoint add|del` (manual). */
static void test_endpoint_writers(struct datapath *dp, struct endpoint_sync *s)
{
	__u8 pkt[128];
	size_t len = frame(pkt, POD_IP, 40000, 443, 0);
	int edge = dp->prog_pod_edge_fd;
	__u32 dflt = prio(table.classes[table.default_class].name);
	struct port_class pc = { .port = 443, .protocol = IPPROTO_TCP };
	struct tcprio_ip ip = { 0 };
	struct pod p;

	make_pod(&p, "high", NULL);
	CHECK(endpoint_sync_upsert(s, &p) == 0 && run2(edge, pkt, len, 0, NULL) == prio("high"),
	      "pod event: class high, cached by two packets");
	free_pod(&p);
	make_pod(&p, "bulk", NULL);
	CHECK(endpoint_sync_upsert(s, &p) == 0 && run(edge, pkt, len, 0, NULL) == prio("bulk"),
	      "pod event: class changed to bulk, the next packet gets it");
	free_pod(&p);
	run(edge, pkt, len, 0, NULL);
	make_pod(&p, "bulk", "443/tcp=critical");
	CHECK(endpoint_sync_upsert(s, &p) == 0 && run(edge, pkt, len, 0, NULL) == prio("critical"),
	      "pod event: port rule 443 added, the next packet to 443 gets its class");
	free_pod(&p);
	run(edge, pkt, len, 0, NULL);
	make_pod(&p, "bulk", NULL);
	CHECK(endpoint_sync_upsert(s, &p) == 0 && run(edge, pkt, len, 0, NULL) == prio("bulk"),
	      "pod event: port rule removed, the next packet gets the pod's class");
	run(edge, pkt, len, 0, NULL);
	CHECK(endpoint_sync_delete(s, &p) == 0 && run(edge, pkt, len, 0, NULL) == dflt,
	      "pod deleted: the next packet is not an endpoint's (sanitised to the default class)");
	free_pod(&p);

	memcpy(&ip, &p.ips[0], sizeof(ip));
	run(edge, pkt, len, 0, NULL);
	pc.class_id = 0;  /* critical */
	CHECK(endpoint_sync_manual_set(s, &ip, 0x77, 1, NULL, 0, "shop/manual") == 0 &&
	      run(edge, pkt, len, 0, NULL) == prio("high"),
	      "endpoint add (CLI path): the next packet gets its class");
	CHECK(endpoint_sync_manual_set(s, &ip, 0x77, 1, &pc, 1, "shop/manual") == 0 &&
	      run(edge, pkt, len, 0, NULL) == prio("critical"),
	      "endpoint add with a port rule (CLI path): the next packet gets the rule's class");
	CHECK(endpoint_sync_manual_del(s, &ip, NULL) >= 0 && run(edge, pkt, len, 0, NULL) == dflt,
	      "endpoint del (CLI path): the next packet is not an endpoint's");
}

/* Whether ip's bit is set in the active buffer of the endpoint filter. */
static bool filter_bit(const struct datapath *dp, const char *ip_text)
{
	struct tcprio_ip ip = { .addr = { [10] = 0xff, [11] = 0xff } };

	inet_pton(AF_INET, ip_text, ip.addr + 12);
	return ep_filter_has(dp->maps.ep_filter_mem, &ip);
}

/*
 * The endpoint filter (include/tcprio.h): valid after datapath_load; an
 * entry written into the map behind the writers' back (no bit) is not
 * looked up, which shows the uplink asks the filter, until a rebuild
 * covers it (at the uplink: the pod edge does not ask the filter); the
 * writers (the CLI path here) set a bit, and a rebuild
 * clears the bit of an endpoint deleted since.
 */
static void test_endpoint_filter(struct datapath *dp, struct endpoint_sync *s)
{
	const char *hidden = "198.18.70.20", *gone = "198.18.70.21";
	struct tcprio_endpoint ep = { .class_id = 1 };  /* high */
	struct tcprio_ip ip = { .addr = { [10] = 0xff, [11] = 0xff } };
	__u32 dflt = prio(table.classes[table.default_class].name);
	__u8 pkt[128];
	size_t len = frame(pkt, hidden, 40000, 443, 0);
	int up = dp->prog_uplink_fd;  /* the uplink asks the filter (a local
				       * packet: its source endpoint's class) */

	CHECK(dp->maps.ep_filter_mem && (dp->maps.ep_filter_mem[0] & TCPRIO_EP_FILTER_VALID),
	      "endpoint filter mapped and valid after datapath_load");
	inet_pton(AF_INET, hidden, ip.addr + 12);
	CHECK(bpf_map_update_elem(dp->maps.endpoints, &ip, &ep, BPF_ANY) == 0 &&
	      datapath_note_change(dp->maps.cache_gen) == 0 && !filter_bit(dp, hidden) &&
	      run(up, pkt, len, 0, NULL) == dflt,
	      "uplink: an endpoint written without its filter bit is not looked up (default class)");
	CHECK(ep_filter_rebuild(dp->maps.ep_filter_mem, dp->maps.endpoints) >= 1 &&
	      datapath_note_change(dp->maps.cache_gen) == 0 && filter_bit(dp, hidden) &&
	      run(up, pkt, len, 0, NULL) == prio("high"),
	      "after a rebuild its bit is set: its class");
	bpf_map_delete_elem(dp->maps.endpoints, &ip);
	inet_pton(AF_INET, gone, ip.addr + 12);
	CHECK(endpoint_sync_manual_set(s, &ip, 0x78, 1, NULL, 0, "shop/gone") == 0 &&
	      filter_bit(dp, gone) && endpoint_sync_manual_del(s, &ip, NULL) >= 0 &&
	      filter_bit(dp, gone),
	      "endpoint add (CLI path) sets its bit; a delete leaves it");
	CHECK(ep_filter_rebuild(dp->maps.ep_filter_mem, dp->maps.endpoints) >= 0 &&
	      !filter_bit(dp, gone) && !filter_bit(dp, hidden),
	      "a rebuild clears the bits of deleted endpoints");
	datapath_note_change(dp->maps.cache_gen);
}

/*
 * Two writers of the endpoint filter at once: a child process, as the CLI
 * does (datapath_open_pinned, the BPF map operations), adds RACE_EPS
 * endpoints while this process rebuilds the filter over and over.  No bit
 * may be lost: afterwards every endpoint of the map has its bit in the
 * active buffer.
 */
#define RACE_EPS 3000
static void test_filter_race(struct datapath *dp)
{
	struct tcprio_ip ip = { .addr = { [10] = 0xff, [11] = 0xff, [12] = 198, [13] = 18 } };
	long rebuilds = 0, missing = 0, present = 0;
	void *keys = NULL;
	size_t n = 0;
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		struct tcprio_endpoint ep = { .class_id = 1 };
		struct sync_map_ops ops;
		struct datapath c;

		if (datapath_open_pinned(&c, pin_dir))
			_exit(2);
		datapath_map_ops(&c.maps, &ops);
		for (int i = 0; i < RACE_EPS; i++) {
			ip.addr[14] = (__u8)(100 + i / 250);
			ip.addr[15] = (__u8)(1 + i % 250);
			if (ops.update(ops.ctx, SYNC_MAP_ENDPOINTS, &ip, &ep))
				_exit(3);
		}
		datapath_close(&c);
		_exit(0);
	}
	while (pid > 0 && waitpid(pid, &st, WNOHANG) == 0) {
		ep_filter_rebuild(dp->maps.ep_filter_mem, dp->maps.endpoints);
		rebuilds++;
	}
	if (datapath_map_keys(dp->maps.endpoints, sizeof(ip), &keys, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			const struct tcprio_ip *k = (const struct tcprio_ip *)keys + i;

			present++;
			missing += !ep_filter_has(dp->maps.ep_filter_mem, k);
			bpf_map_delete_elem(dp->maps.endpoints, k);
		}
		free(keys);
	}
	CHECK(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && present >= RACE_EPS &&
	      missing == 0 && rebuilds >= 2,
	      "a writer process adds %d endpoints during %ld rebuilds: %ld of %ld without their bit",
	      RACE_EPS, rebuilds, missing, present);
	ep_filter_rebuild(dp->maps.ep_filter_mem, dp->maps.endpoints);
	datapath_note_change(dp->maps.cache_gen);
}

/* tcprio_config.trust_dscp := v (TCPRIO_TRUST_DSCP_FORWARDED: a gateway
 * without trustDscpFrom), the rest of the config kept.  0 or -errno. */
static int set_trust_dscp(struct datapath *dp, __u8 v)
{
	struct tcprio_config c;
	__u32 k = 0;

	if (bpf_map_lookup_elem(dp->maps.config, &k, &c))
		return -errno;
	c.trust_dscp = v;
	return bpf_map_update_elem(dp->maps.config, &k, &c, BPF_ANY) ? -errno : 0;
}

/* Whether every endpoint slot that holds an entry holds what the hash
 * holds for its address, in the address's slot; *used = how many hold
 * one. */
static bool slots_agree(const struct datapath *dp, long *used)
{
	struct tcprio_ep_slot sl;
	struct tcprio_endpoint cur;
	bool ok = true;

	*used = 0;
	for (__u32 k = 0; k < TCPRIO_EP_SLOTS; k++) {
		if (bpf_map_lookup_elem(dp->maps.ep_slots, &k, &sl) || !sl.ep.pod_id)
			continue;
		(*used)++;
		if (bpf_map_lookup_elem(dp->maps.endpoints, &sl.ip, &cur) ||
		    memcmp(&cur, &sl.ep, sizeof(cur)) || TCPRIO_EP_SLOT(&sl.ip) != k)
			ok = false;
	}
	return ok;
}

/*
 * Two writers of the same endpoints at once (include/tcprio.h, "Endpoint
 * slots"): a child process, as the CLI does (datapath_open_pinned, the
 * BPF map operations), and this process write the same SLOT_RACE_EPS
 * addresses over and over with entries of their own.  Afterwards every
 * slot that holds an entry holds what the hash holds.  Then a slot
 * planted stale (as an earlier version's writer could leave it) is emptied
 * by the next datapath_load.
 */
#define SLOT_RACE_EPS    400
#define SLOT_RACE_ROUNDS 6
static void race_writes(const struct sync_map_ops *ops, __u64 pod_id, __u32 class_id)
{
	struct tcprio_ip ip = { .addr = { [10] = 0xff, [11] = 0xff, [12] = 198, [13] = 18, [14] = 71 } };
	struct tcprio_endpoint ep = { .pod_id = pod_id, .class_id = class_id,
				      .source = TCPRIO_SRC_MANUAL };

	for (int r = 0; r < SLOT_RACE_ROUNDS; r++)
		for (int i = 0; i < SLOT_RACE_EPS; i++) {
			ip.addr[14] = (__u8)(71 + i / 200);
			ip.addr[15] = (__u8)(1 + i % 200);
			if (r == SLOT_RACE_ROUNDS - 1 && i % 3 == 0)
				ops->delete(ops->ctx, SYNC_MAP_ENDPOINTS, &ip);
			else
				ops->update(ops->ctx, SYNC_MAP_ENDPOINTS, &ip, &ep);
		}
}

/*
 * The interleavings two writers of one address can produce, replayed in
 * order (the race above rarely hits them): writer A's slot write landing
 * after writer B's hash write and slot write, then A's settle; the same
 * after B deleted the address.  The settle must leave the slot right or
 * empty.  And the uplink asks the endpoint filter before the slot: an
 * endpoint with a slot but no filter bit is not one to it, while the pod
 * edge takes the slot's class.
 */
static void test_slot_interleavings(struct datapath *dp)
{
	struct tcprio_ip ip = { .addr = { [10] = 0xff, [11] = 0xff } };
	struct tcprio_endpoint ea = { .pod_id = 0xa, .class_id = 1, .source = TCPRIO_SRC_MANUAL };
	struct tcprio_endpoint eb = { .pod_id = 0xb, .class_id = 3, .source = TCPRIO_SRC_MANUAL };
	struct tcprio_ep_slot late = { 0 }, got;
	__u8 pkt[128];
	size_t len = frame(pkt, "198.18.72.5", 40000, 443, 0);
	__u32 k;
	long used;

	inet_pton(AF_INET, "198.18.72.5", ip.addr + 12);
	k = TCPRIO_EP_SLOT(&ip);
	late.ip = ip;
	late.ep = ea;
	/* A: hash EA ... B: hash EB, slot EB ... A: slot EA (late), settle */
	bpf_map_update_elem(dp->maps.endpoints, &ip, &eb, BPF_ANY);
	ep_slot_sync(dp->maps.ep_slots, dp->maps.endpoints, &ip);
	bpf_map_update_elem(dp->maps.ep_slots, &k, &late, BPF_ANY);
	CHECK(ep_slot_settle(dp->maps.ep_slots, dp->maps.endpoints, k) == 0 &&
	      slots_agree(dp, &used) && !bpf_map_lookup_elem(dp->maps.ep_slots, &k, &got) &&
	      got.ep.pod_id == 0,
	      "update/update: a slot write landing after the other writer's is settled away");
	/* B: delete ... A: slot EA (late), settle */
	bpf_map_delete_elem(dp->maps.endpoints, &ip);
	bpf_map_update_elem(dp->maps.ep_slots, &k, &late, BPF_ANY);
	CHECK(ep_slot_settle(dp->maps.ep_slots, dp->maps.endpoints, k) == 0 &&
	      !bpf_map_lookup_elem(dp->maps.ep_slots, &k, &got) && got.ep.pod_id == 0,
	      "delete/update: a slot write landing after the delete is settled away");
	/* a slot but no filter bit: the pod edge takes it, the uplink does not */
	bpf_map_update_elem(dp->maps.endpoints, &ip, &ea, BPF_ANY);
	ep_slot_sync(dp->maps.ep_slots, dp->maps.endpoints, &ip);
	ep_filter_rebuild(dp->maps.ep_filter_mem, dp->maps.endpoints);
	bpf_map_delete_elem(dp->maps.endpoints, &ip);
	ep_filter_rebuild(dp->maps.ep_filter_mem, dp->maps.endpoints); /* no bit */
	bpf_map_update_elem(dp->maps.endpoints, &ip, &ea, BPF_ANY);    /* hash and slot back */
	/* each program with a new generation: the source cache is shared */
	CHECK(!bpf_map_lookup_elem(dp->maps.ep_slots, &k, &got) && got.ep.pod_id == 0xa &&
	      !ep_filter_has(dp->maps.ep_filter_mem, &ip) &&
	      datapath_note_change(dp->maps.cache_gen) == 0 &&
	      run(dp->prog_uplink_fd, pkt, len, 0, NULL) ==
	      prio(table.classes[table.default_class].name) &&
	      datapath_note_change(dp->maps.cache_gen) == 0 &&
	      run(dp->prog_pod_edge_fd, pkt, len, 0, NULL) == prio("high"),
	      "slot without a filter bit: uplink not an endpoint, pod edge its class (high)");
	bpf_map_delete_elem(dp->maps.endpoints, &ip);
	ep_slot_sync(dp->maps.ep_slots, dp->maps.endpoints, &ip);
	ep_filter_rebuild(dp->maps.ep_filter_mem, dp->maps.endpoints);
	datapath_note_change(dp->maps.cache_gen);
}

static void test_slot_race(struct datapath *dp)
{
	struct tcprio_ep_slot planted;
	struct sync_map_ops ops;
	struct datapath dp2;
	void *keys = NULL;
	size_t n = 0;
	long used = 0;
	int st = 0;
	bool agree;
	pid_t pid = fork();
	__u32 k;

	if (pid == 0) {
		struct datapath c;

		if (datapath_open_pinned(&c, pin_dir))
			_exit(2);
		datapath_map_ops(&c.maps, &ops);
		race_writes(&ops, 0xc11, 2);
		datapath_close(&c);
		_exit(0);
	}
	datapath_map_ops(&dp->maps, &ops);
	race_writes(&ops, 0xa6e, 1);
	waitpid(pid, &st, 0);
	agree = slots_agree(dp, &used);
	CHECK(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && agree && used > 0,
	      "two processes write %d endpoints %d times each: every one of %ld slots "
	      "in use holds what the hash holds", SLOT_RACE_EPS, SLOT_RACE_ROUNDS, used);

	for (k = 0; k < TCPRIO_EP_SLOTS; k++)
		if (!bpf_map_lookup_elem(dp->maps.ep_slots, &k, &planted) && planted.ep.pod_id)
			break;
	planted.ep.class_id ^= 3;  /* now it disagrees with the hash */
	bpf_map_update_elem(dp->maps.ep_slots, &k, &planted, BPF_ANY);
	CHECK(k < TCPRIO_EP_SLOTS && !slots_agree(dp, &used) &&
	      datapath_load(&dp2, pin_dir) == 0 && slots_agree(dp, &used),
	      "a stale slot is emptied by the next datapath_load (%ld slots in use)", used);
	datapath_close(&dp2);
	/* clean up for the later cases: every endpoint, and so every slot */
	if (datapath_map_keys(dp->maps.endpoints, sizeof(struct tcprio_ip), &keys, &n) == 0)
		for (size_t i = 0; i < n; i++)
			ops.delete(ops.ctx, SYNC_MAP_ENDPOINTS, (const struct tcprio_ip *)keys + i);
	free(keys);
}

/* trust_ifaces_sync: a pod interface is POD_EDGE (the uplink takes the
 * class from the DSCP) only while this pod edge runs first there, so a
 * pod whose packets the pod edge did not see cannot pick its class by
 * marking them.  ifx: tcwtr0, which the pod glob names; pkt: DSCP EF. */
static void test_pod_edge_trust(struct datapath *dp, __u32 ifx, const __u8 *pkt, size_t len)
{
	const char *globs[] = { "tcwtr*" };
	struct trust_ifaces_opts o = { .pod_globs = globs, .n_pod_globs = 1 };
	__u32 dflt = prio(table.classes[table.default_class].name);

	datapath_prog_id(dp, TCPRIO_HOOK_POD_EDGE, &o.pod_edge_prog_id);
	CHECK(trust_ifaces_sync(dp->maps.trust_ifaces, dp->maps.trust_slots, &o) >= 0 &&
	      run(dp->prog_uplink_fd, pkt, len, ifx, NULL) == dflt,
	      "uplink: a pod interface without the pod edge is not trusted: default class");
	CHECK(datapath_attach(dp, (int)ifx, TCPRIO_HOOK_POD_EDGE) == 0 &&
	      trust_ifaces_sync(dp->maps.trust_ifaces, dp->maps.trust_slots, &o) >= 0 &&
	      run(dp->prog_uplink_fd, pkt, len, ifx, NULL) == prio("critical"),
	      "uplink: the pod edge attached there: its DSCP's class");
	CHECK(datapath_detach((int)ifx, TCPRIO_HOOK_POD_EDGE) == 0 &&
	      trust_ifaces_sync(dp->maps.trust_ifaces, dp->maps.trust_slots, &o) >= 0 &&
	      run(dp->prog_uplink_fd, pkt, len, ifx, NULL) == dflt,
	      "uplink: the pod edge detached: not trusted again");
}

/* trust_ifaces_sync: the uplink classifies a forwarded non-endpoint packet
 * by its DSCP only while its ingress interface is trusted. */
static void test_trust_writer(struct datapath *dp)
{
	const char *names[] = { "tcwtr0" };
	struct trust_source cidr = { 0 };
	struct trust_ifaces_opts o = { .names = names, .n_names = 1 };
	__u8 pkt[128];
	size_t len = frame(pkt, OTHER, 40000, 443, 46 << 2);   /* DSCP EF: critical */
	__u32 ifx;
	bool unsup = false;
	__u32 got;

	if (!CHECK(sh("ip link add tcwtr0 type veth peer name tcwtr1 && ip link set tcwtr0 up") == 0,
		   "veth tcwtr0 (the interface packets come in through)"))
		return;
	ifx = if_nametoindex("tcwtr0");
	CHECK(trust_ifaces_sync(dp->maps.trust_ifaces, dp->maps.trust_slots, &o) >= 0, "trust tcwtr0 (trustDscpFrom)");
	got = run2(dp->prog_uplink_fd, pkt, len, ifx, &unsup);
	if (unsup) {
		tap_skip("uplink: trusted DSCP, then untrusted on the next packet",
			 "this kernel's BPF_PROG_TEST_RUN rejects ctx ingress_ifindex (Linux < 5.11)");
		tap_skip("uplink: every forwarded packet trusted (a gateway)",
			 "this kernel's BPF_PROG_TEST_RUN rejects ctx ingress_ifindex (Linux < 5.11)");
		tap_skip("uplink: source in a trusted CIDR (cached), CIDR removed",
			 "this kernel's BPF_PROG_TEST_RUN rejects ctx ingress_ifindex (Linux < 5.11)");
		tap_skip("trust_cidrs_sync writes the CIDRs' prefix list",
			 "this kernel's BPF_PROG_TEST_RUN rejects ctx ingress_ifindex (Linux < 5.11)");
		for (int i = 0; i < 3; i++)
			tap_skip("uplink: a pod interface is trusted only while the pod edge runs there",
				 "this kernel's BPF_PROG_TEST_RUN rejects ctx ingress_ifindex (Linux < 5.11)");
		return;
	}
	o.n_names = 0;
	CHECK(got == prio("critical") && trust_ifaces_sync(dp->maps.trust_ifaces, dp->maps.trust_slots, &o) >= 0 &&
	      run(dp->prog_uplink_fd, pkt, len, ifx, NULL) ==
	      prio(table.classes[table.default_class].name),
	      "uplink: DSCP trusted from tcwtr0, then not: the next packet gets the default class");
	CHECK(set_trust_dscp(dp, TCPRIO_TRUST_DSCP_FORWARDED) == 0 &&
	      run(dp->prog_uplink_fd, pkt, len, ifx, NULL) == prio("critical") &&
	      set_trust_dscp(dp, 1) == 0,
	      "uplink: every forwarded packet trusted (a gateway): its DSCP's class from an untrusted interface");

	/* trust_cidrs_sync: the uplink keeps a flow's CIDR answer in its
	 * source cache (bpf/trust.h source_trusted). */
	cidr.is_cidr = true;
	cidr.prefixlen = 96 + 32;
	cidr.addr[10] = cidr.addr[11] = 0xff;
	inet_pton(AF_INET, OTHER, cidr.addr + 12);
	CHECK(trust_ifaces_sync(dp->maps.trust_ifaces, dp->maps.trust_slots, &o) >= 0 &&
	      trust_cidrs_sync(dp->maps.trust_cidrs, dp->maps.prefix_lists, dp->maps.cache_gen, &cidr, 1) == 0 &&
	      run2(dp->prog_uplink_fd, pkt, len, ifx, NULL) == prio("critical") &&
	      trust_cidrs_sync(dp->maps.trust_cidrs, dp->maps.prefix_lists, dp->maps.cache_gen, &cidr, 0) == 0 &&
	      run(dp->prog_uplink_fd, pkt, len, ifx, NULL) ==
	      prio(table.classes[table.default_class].name),
	      "uplink: source in a trusted CIDR (answer cached), CIDR removed: the next packet gets the default class");
	CHECK(trust_cidrs_sync(dp->maps.trust_cidrs, dp->maps.prefix_lists, dp->maps.cache_gen, &cidr, 1) == 0 &&
	      list_count(dp, TCPRIO_PLIST_TRUST_CIDRS) == 1 &&
	      trust_cidrs_sync(dp->maps.trust_cidrs, dp->maps.prefix_lists, dp->maps.cache_gen, &cidr, 0) == 0 &&
	      list_count(dp, TCPRIO_PLIST_TRUST_CIDRS) == 0,
	      "trust_cidrs_sync writes the CIDRs' prefix list: valid with the CIDR, then valid and empty");
	test_pod_edge_trust(dp, ifx, pkt, len);
}

/* The default table's classes (class_table_defaults), no built-in rules,
 * and the start of a hostRules list. */
#define HOST_TABLE \
	"classes:\n" \
	"  - {name: critical, dscp: EF, priority: \"1:10\"}\n" \
	"  - {name: high, dscp: AF41, priority: \"1:20\"}\n" \
	"  - {name: normal, dscp: 0, priority: \"1:30\"}\n" \
	"  - {name: bulk, dscp: LE, priority: \"1:40\"}\n" \
	"defaultClass: normal\nsystemClass: none\nhostRules:\n"

/* tcprio_host_filter as host_sync left it: 1 if valid with exactly one id
 * whose bit is set and it is id's, 0 if valid and empty, -1 otherwise. */
static int filter_has(const struct datapath *dp, uint64_t id)
{
	struct tcprio_host_filter f;
	__u32 zero = 0, set = 0;

	if (bpf_map_lookup_elem(dp->maps.host_filter, &zero, &f) || !f.valid)
		return -1;
	for (__u32 w = 0; w < TCPRIO_HOST_FILTER_WORDS; w++)
		set += (__u32)__builtin_popcountll(f.bits[w]);
	if (f.n_ids == 0 && set == 0)
		return 0;
	return f.n_ids == 1 && set == 1 && tcprio_host_filter_has(&f, id) ? 1 : -1;
}

/* tcprio_host_answers' slot of cgroup id: its match_id if the slot answers
 * for id, -1 if it answers for no cgroup, -2 for another one. */
static long long answer_match(const struct datapath *dp, uint64_t id)
{
	struct tcprio_host_answer a;
	__u32 k = TCPRIO_HOST_ANSWER_SLOT(id);

	if (bpf_map_lookup_elem(dp->maps.host_answers, &k, &a))
		return -3;
	return a.cgroup_id == id ? (long long)a.match_id : a.cgroup_id ? -2 : -1;
}

/* host_sync_rescan: a local socket's packet gets its cgroup's host rule
 * class, then, after the rule moves to another class and then goes, the
 * very next packet of the same socket gets the new class / the default. */
static void test_host_writer(struct datapath *dp)
{
	char rel[96], yaml[512], err[256];
	struct class_table t;
	struct host_sync *hs = NULL;
	__u8 pkt[128];
	size_t len = frame(pkt, OTHER, 40001, 443, 0);
	__u32 up = (__u32)dp->prog_uplink_fd, dflt;
	uint64_t id;
	int ok;

	snprintf(rel, sizeof(rel), "/tcprio-test-cachew-%d", (int)getpid());
	if (tcg_init() || tcg_mkdir(rel, &id) || tcg_enter(rel)) {
		for (int i = 0; i < 6; i++)
			tap_skip("host rules: the next packet sees a changed cgroup rule",
				 "no writable cgroup v2 hierarchy");
		return;
	}
	snprintf(yaml, sizeof(yaml), HOST_TABLE "  - {cgroup: %s, class: critical}\n", rel);
	ok = class_table_parse(yaml, strlen(yaml), &t, err, sizeof(err)) == 0;
	hs = ok ? host_sync_new(&dp->maps, NULL) : NULL;
	ok = hs && host_sync_set_rules(hs, &t, NULL, 0) >= 0;
	CHECK(ok && run2((int)up, pkt, len, 0, NULL) == prio("critical"),
	      "host rule on this process's cgroup: critical (cache filled)");
	CHECK(ok && filter_has(dp, id) == 1,
	      "host_sync wrote the cgroup filter: valid, one id, this cgroup's bit");
	/* -2: a cgroup of the host listed before ours has its slot (its
	 * packets walk, as checked above) */
	CHECK(ok && (answer_match(dp, id) == (long long)id || answer_match(dp, id) == -2),
	      "host_sync wrote this cgroup's answer: its own rule (got %lld)", answer_match(dp, id));
	class_table_free(&t);
	snprintf(yaml, sizeof(yaml), HOST_TABLE "  - {cgroup: %s, class: bulk}\n", rel);
	ok = ok && class_table_parse(yaml, strlen(yaml), &t, err, sizeof(err)) == 0;
	CHECK(ok && host_sync_set_rules(hs, &t, NULL, 0) >= 0 &&
	      run((int)up, pkt, len, 0, NULL) == prio("bulk"),
	      "rule changed to bulk (host_sync): the next packet gets bulk");
	run((int)up, pkt, len, 0, NULL);
	class_table_free(&t);
	class_table_defaults(&t);   /* no host rules */
	dflt = prio(table.classes[table.default_class].name);
	CHECK(ok && host_sync_set_rules(hs, &t, NULL, 0) >= 0 &&
	      run((int)up, pkt, len, 0, NULL) == dflt,
	      "rule removed (host_sync): the next packet gets the default class");
	CHECK(ok && filter_has(dp, id) == 0 && answer_match(dp, id) == -1,
	      "rule removed: the filter is valid and empty, the cgroup's answer slot empty");
	host_sync_free(hs);
	class_table_free(&t);
	tcg_cleanup();
}

int main(void)
{
	struct sync_map_ops ops;
	struct endpoint_sync *s = NULL;
	struct datapath dp;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0)
		return tap_skip_all("needs root (BPF, netns)");
	if (unshare(CLONE_NEWNET))
		return tap_skip_all("cannot create a network namespace");
	tap_plan(36);
	log_route_libbpf();
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/tcprio-test-cachew-%d", (int)getpid());
	err = datapath_load(&dp, pin_dir);
	if (!CHECK(err == 0, "datapath_load into %s (err %d)", pin_dir, err))
		goto out;
	class_table_defaults(&table);
	datapath_map_ops(&dp.maps, &ops);
	s = endpoint_sync_new(&ops, &table);
	if (!CHECK(s && endpoint_sync_set_table(s, &table) == 0, "sync engine on the BPF maps"))
		goto out;
	test_endpoint_writers(&dp, s);
	test_endpoint_filter(&dp, s);
	test_filter_race(&dp);
	test_slot_race(&dp);
	test_slot_interleavings(&dp);
	test_trust_writer(&dp);
	test_host_writer(&dp);
out:
	endpoint_sync_free(s);
	datapath_close(&dp);
	datapath_detach_all(pin_dir);
	if (pin_dir[0]) {
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", pin_dir);
		sh(cmd);
	}
	return tap_done();
}
