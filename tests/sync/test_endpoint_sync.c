/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_endpoint_sync.c - endpoint_sync, every case twice: against the
 * in-memory maps (sync/map_mem.h, no root needed) and against real BPF maps
 * through dp/'s map operations (root; else reported as SKIP).  For the BPF
 * run each test creates its own unpinned maps with the types and key/value
 * sizes of bpf/tcprio_maps.h, so it runs beside a live agent.  After every
 * operation the maps are read back whole (through the same map operations)
 * and compared with what the policy says for the pods the test holds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "dp/map_ops_bpf.h"
#include "sync/endpoint_sync.h"
#include "sync/map_mem.h"
#include "dp/trust_ifaces.h"
#include "lib/log.h"

/* Which maps the running group uses: real BPF maps, or map_mem. */
static bool use_bpf;

struct fixture {
	struct datapath_maps maps;  /* BPF run */
	struct map_mem *mem;        /* in-memory run */
	struct sync_map_ops ops;    /* on one of the two */
	struct class_table table;
	struct endpoint_sync *sync;
};

/* The map operations the engine uses, for reading back and for planting
 * entries: 0 on success like bpf_map_*_elem. */
#define M_LOOKUP(f, m, k, v) ((f)->ops.lookup((f)->ops.ctx, (m), (k), (v)))
#define M_UPDATE(f, m, k, v) ((f)->ops.update((f)->ops.ctx, (m), (k), (v)))

static int create_map(enum bpf_map_type type, const char *name, size_t key,
		      size_t value, unsigned int max)
{
	int fd = bpf_map_create(type, name, key, value, max, NULL);

	if (fd < 0)
		fprintf(stderr, "# bpf_map_create %s: %s\n", name, strerror(errno));
	return fd;
}

static int create_maps(struct fixture *f, unsigned int max_endpoints)
{
	struct datapath_maps *m = &f->maps;

	if (!use_bpf) {
		unsigned int max[SYNC_MAP_COUNT] = { [SYNC_MAP_ENDPOINTS] = max_endpoints };

		memset(m, -1, sizeof(*m));
		f->mem = map_mem_new(max);
		if (!f->mem)
			return -1;
		map_mem_ops(f->mem, &f->ops);
		return 0;
	}
	datapath_map_ops(m, &f->ops);
	m->endpoints = create_map(BPF_MAP_TYPE_HASH, "tcprio_endpoints",
				  sizeof(struct tcprio_ip), sizeof(struct tcprio_endpoint),
				  max_endpoints);
	m->port_rules = create_map(BPF_MAP_TYPE_HASH, "tcprio_port_rules",
				   sizeof(struct tcprio_port_key),
				   sizeof(struct tcprio_port_rule), TCPRIO_MAX_PORT_RULES);
	m->classes = create_map(BPF_MAP_TYPE_ARRAY, "tcprio_classes", sizeof(__u32),
				sizeof(struct tcprio_class), TCPRIO_MAX_CLASSES);
	m->dscp_classes = create_map(BPF_MAP_TYPE_ARRAY, "tcprio_dscp_cl", sizeof(__u32),
				     sizeof(struct tcprio_dscp_class), TCPRIO_DSCP_VALUES);
	m->config = create_map(BPF_MAP_TYPE_ARRAY, "tcprio_config", sizeof(__u32),
			       sizeof(struct tcprio_config), 1);
	m->pods = create_map(BPF_MAP_TYPE_HASH, "tcprio_pods", sizeof(__u64),
			     sizeof(struct tcprio_pod), TCPRIO_MAX_PODS);
	m->cache_gen = create_map(BPF_MAP_TYPE_ARRAY, "tcprio_cache_gen", sizeof(__u32),
			       sizeof(__u64), 1);
	m->rule_blocks = create_map(BPF_MAP_TYPE_ARRAY, "tcprio_rule_blk", sizeof(__u32),
				    sizeof(struct tcprio_rule_block), TCPRIO_RULE_BLOCKS);
	m->ep_slots = create_map(BPF_MAP_TYPE_ARRAY, "tcprio_ep_slots", sizeof(__u32),
				 sizeof(struct tcprio_ep_slot), TCPRIO_EP_SLOTS);
	m->stats = m->events = m->ep_filter = -1;
	return m->endpoints < 0 || m->port_rules < 0 || m->classes < 0 ||
	       m->dscp_classes < 0 || m->config < 0 || m->pods < 0 || m->cache_gen < 0 ||
	       m->rule_blocks < 0 || m->ep_slots < 0 ? -1 : 0;
}

static void close_maps(struct fixture *f)
{
	struct datapath_maps *m = &f->maps;
	int fds[] = { m->endpoints, m->port_rules, m->classes, m->dscp_classes,
		      m->config, m->pods, m->cache_gen, m->rule_blocks, m->ep_slots };

	map_mem_free(f->mem);
	if (!use_bpf)
		return;
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static const char table_yaml[] =
	"classes:\n"
	"  - {name: critical, dscp: EF, priority: \"1:10\"}\n"
	"  - {name: high, dscp: AF41, priority: \"1:20\"}\n"
	"  - {name: normal, priority: \"1:30\"}\n"
	"  - {name: bulk, dscp: LE, priority: \"1:40\"}\n"
	"defaultClass: normal\n"
	"labelRules:\n"
	"  - matchLabels: {app: postgres}\n"
	"    class: critical\n";

static int setup_sized(void **state, unsigned int max_endpoints)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	if (!f)
		return -1;
	if (class_table_parse(table_yaml, strlen(table_yaml), &f->table, err, sizeof(err)) ||
	    create_maps(f, max_endpoints)) {
		fprintf(stderr, "# setup: %s\n", err);
		return -1;
	}
	f->sync = endpoint_sync_new(&f->ops, &f->table);
	if (!f->sync || endpoint_sync_set_table(f->sync, &f->table))
		return -1;
	*state = f;
	return 0;
}

/* In-memory maps; BPF maps (root only: without root the state stays NULL
 * and the case reports a skip). */
static int setup(void **state)
{
	use_bpf = false;
	return setup_sized(state, TCPRIO_MAX_ENDPOINTS);
}

static int setup_small(void **state)
{
	use_bpf = false;
	return setup_sized(state, 4);
}

static int setup_bpf(void **state)
{
	use_bpf = true;
	*state = NULL;
	return geteuid() == 0 ? setup_sized(state, TCPRIO_MAX_ENDPOINTS) : 0;
}

static int setup_small_bpf(void **state)
{
	use_bpf = true;
	*state = NULL;
	return geteuid() == 0 ? setup_sized(state, 4) : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	endpoint_sync_free(f->sync);
	close_maps(f);
	class_table_free(&f->table);
	free(f);
	return 0;
}

/* ---- pods ---- */

static void make_pod(struct pod *p, const char *uid, const char *name,
		     const char *ip, const char *cls, const char *ports)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->uid, sizeof(p->uid), "%s", uid);
	strcpy(p->namespace_, "shop");
	snprintf(p->name, sizeof(p->name), "%s", name);
	if (ip) {
		assert_int_equal(ip_from_string(ip, &p->ips[0]), 0);
		p->n_ips = 1;
	}
	p->class_annotation = cls ? strdup(cls) : NULL;
	p->ports_annotation = ports ? strdup(ports) : NULL;
}

static void set_ann(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? strdup(v) : NULL;
}

/* ---- reading the maps back ---- */

/* Keys in map m, or -1 if they cannot be read. */
static int count_keys(struct fixture *f, enum sync_map m)
{
	void *keys = NULL;
	size_t n = 0;

	if (f->ops.keys(f->ops.ctx, m, &keys, &n))
		return -1;
	free(keys);
	return (int)n;
}

/* The maps must hold exactly what the policy says for pods[0..n) (pods
 * with distinct IPs), plus `extra` entries per map (manual ones). */

/* Endpoint flags the datapath needs for pol: "has rules", one bit per
 * protocol the rules name and "rule_ports valid" (include/tcprio.h). */
static uint16_t want_flags(const struct pod_policy *pol)
{
	uint16_t f = pol->n_ports ? TCPRIO_EP_HAS_PORT_RULES | TCPRIO_EP_PORT_BITS : 0;

	if (pol->n_ports > 0 && pol->n_ports <= TCPRIO_EP_INLINE_RULES)
		f |= TCPRIO_EP_RULES_INLINE;
	else if (pol->n_ports > TCPRIO_EP_INLINE_RULES)
		f |= TCPRIO_EP_RULES_BLOCK;   /* the blocks never run out here */

	for (int i = 0; i < pol->n_ports; i++)
		f |= pol->ports[i].protocol == IPPROTO_TCP ? TCPRIO_EP_RULES_TCP :
		     pol->ports[i].protocol == IPPROTO_UDP ? TCPRIO_EP_RULES_UDP :
		     TCPRIO_EP_RULES_SCTP;
	return f;
}

/* rule_ports for pol: bit port % 64 of each rule's port. */
static uint64_t want_rule_ports(const struct pod_policy *pol)
{
	uint64_t b = 0;

	for (int i = 0; i < pol->n_ports; i++)
		b |= 1ULL << (pol->ports[i].port % 64);
	return b;
}

/* ep's rule block holds pod p's rules (pol), in order, and its pod_id. */
static void verify_block(struct fixture *f, const struct pod *p,
			 const struct tcprio_endpoint *ep, const struct pod_policy *pol)
{
	struct tcprio_rule_block b;
	__u32 k = ep->rule_block;

	if (M_LOOKUP(f, SYNC_MAP_RULE_BLOCKS, &k, &b) || b.pod_id != ep->pod_id)
		fail_msg("pod %s: rule block %u is not its own", p->name, k);
	if (b.n_rules != (__u32)pol->n_ports)
		fail_msg("pod %s: block %u holds %u rules, want %d", p->name, k, b.n_rules,
			 pol->n_ports);
	for (int r = 0; r < TCPRIO_BLOCK_RULES; r++) {
		const struct tcprio_ep_rule *x = &b.rules[r];
		bool found = r >= pol->n_ports;

		/* sorted by (protocol, port), each of pol's rules once */
		if (r > 0 && r < pol->n_ports &&
		    ((__u32)b.rules[r - 1].protocol << 16 | b.rules[r - 1].port) >=
		    ((__u32)x->protocol << 16 | x->port))
			fail_msg("pod %s: block %u not sorted at rule %d", p->name, k, r);
		for (int i = 0; !found && i < pol->n_ports; i++)
			found = x->port == pol->ports[i].port &&
				x->protocol == pol->ports[i].protocol &&
				x->class_id == pol->ports[i].class_id;
		if (!found || (r >= pol->n_ports && (x->port != 0xffff ||
						      x->protocol != TCPRIO_BLOCK_PROTO_NONE ||
						      x->class_id)))
			fail_msg("pod %s: block %u rule %d {%u/%u class %u}", p->name, k, r,
				 x->port, x->protocol, x->class_id);
	}
}

/* How many rule blocks hold a pod_id. */
static int blocks_used(struct fixture *f)
{
	int n = 0;

	for (__u32 k = 0; k < TCPRIO_RULE_BLOCKS; k++) {
		struct tcprio_rule_block b;

		if (M_LOOKUP(f, SYNC_MAP_RULE_BLOCKS, &k, &b) == 0 && b.pod_id)
			n++;
	}
	return n;
}

static void verify_extra(struct fixture *f, struct pod **pods, int n, int extra_ep,
			 int extra_ports, int extra_names)
{
	int want_ep = 0, want_ports = 0, want_names = 0;

	for (int i = 0; i < n; i++) {
		struct pod *p = pods[i];
		struct pod_policy pol;
		uint64_t id = pod_id_from_uid(p->uid);
		struct tcprio_pod name;
		char text[330];

		policy_decide(&f->table, p, &pol);
		if (!pol.wants_entry) {
			if (M_LOOKUP(f, SYNC_MAP_PODS, &id, &name) == 0)
				fail_msg("pod %s wants no entry but has a name", p->name);
			continue;
		}
		for (int k = 0; k < p->n_ips; k++) {
			struct tcprio_endpoint ep;
			char ipt[64];

			ip_to_string(&p->ips[k], ipt, sizeof(ipt));
			if (M_LOOKUP(f, SYNC_MAP_ENDPOINTS, &p->ips[k], &ep))
				fail_msg("pod %s: no endpoint for %s", p->name, ipt);
			if (ep.pod_id != id || ep.class_id != pol.class_id ||
			    ep.source != pol.source ||
			    ep.flags != want_flags(&pol) || ep.rule_ports != want_rule_ports(&pol))
				fail_msg("pod %s %s: endpoint {class %u source %u flags %u} "
					 "want {class %u source %u ports %d}", p->name, ipt,
					 ep.class_id, ep.source, ep.flags, pol.class_id,
					 pol.source, pol.n_ports);
			if (ep.flags & TCPRIO_EP_RULES_BLOCK)
				verify_block(f, p, &ep, &pol);
			for (int r = 0; r < TCPRIO_EP_INLINE_RULES &&
					!(ep.flags & TCPRIO_EP_RULES_BLOCK); r++) {
				bool in = (ep.flags & TCPRIO_EP_RULES_INLINE) && r < pol.n_ports;

				if (ep.rules[r].port != (in ? pol.ports[r].port : 0) ||
				    ep.rules[r].protocol != (in ? pol.ports[r].protocol : 0) ||
				    ep.rules[r].class_id != (in ? pol.ports[r].class_id : 0))
					fail_msg("pod %s %s: inline rule %d {%u/%u class %u}", p->name,
						 ipt, r, ep.rules[r].port, ep.rules[r].protocol,
						 ep.rules[r].class_id);
			}
			want_ep++;
			for (int r = 0; r < pol.n_ports; r++) {
				struct tcprio_port_key key = { .ip = p->ips[k],
					.port = pol.ports[r].port,
					.protocol = pol.ports[r].protocol };
				struct tcprio_port_rule rule;

				if (M_LOOKUP(f, SYNC_MAP_PORT_RULES, &key, &rule) ||
				    rule.class_id != pol.ports[r].class_id)
					fail_msg("pod %s %s: port %u/%u missing or wrong",
						 p->name, ipt, key.port, key.protocol);
				want_ports++;
			}
		}
		snprintf(text, sizeof(text), "%s/%s", p->namespace_, p->name);
		if (M_LOOKUP(f, SYNC_MAP_PODS, &id, &name) || strcmp(name.name, text))
			fail_msg("pod %s: tcprio_pods name missing or wrong", text);
		want_names++;
	}
	assert_int_equal(count_keys(f, SYNC_MAP_ENDPOINTS),
			 want_ep + extra_ep);
	/* The engine's own counts (the agent's /metrics gauges) match. */
	assert_int_equal(endpoint_sync_endpoint_count(f->sync), want_ep);
	assert_int_equal(endpoint_sync_port_rule_count(f->sync), want_ports);
	assert_int_equal(count_keys(f, SYNC_MAP_PORT_RULES),
			 want_ports + extra_ports);
	assert_int_equal(count_keys(f, SYNC_MAP_PODS), want_names + extra_names);
}

static void verify(struct fixture *f, struct pod **pods, int n)
{
	verify_extra(f, pods, n, 0, 0, 0);
}

static struct tcprio_endpoint read_ep(struct fixture *f, const char *ip)
{
	struct tcprio_endpoint ep;
	struct tcprio_ip key;

	memset(&ep, 0, sizeof(ep));
	assert_int_equal(ip_from_string(ip, &key), 0);
	if (M_LOOKUP(f, SYNC_MAP_ENDPOINTS, &key, &ep))
		fail_msg("no endpoint for %s", ip);
	return ep;
}

static bool has_port(struct fixture *f, const char *ip, uint16_t port, uint8_t proto)
{
	struct tcprio_port_key key = { .port = port, .protocol = proto };
	struct tcprio_port_rule rule;

	assert_int_equal(ip_from_string(ip, &key.ip), 0);
	return M_LOOKUP(f, SYNC_MAP_PORT_RULES, &key, &rule) == 0;
}

/* ---- tests ---- */

static void test_table_maps(void **state)
{
	struct fixture *f = *state;
	struct class_table t;
	struct tcprio_class c;
	struct tcprio_dscp_class d;
	struct tcprio_config cfg;
	char err[256];
	const char y[] = "classes:\n"
			 "  - {name: gold, dscp: 46, priority: \"1:10\"}\n"
			 "  - {name: silver, dscp: 46, priority: \"1:20\"}\n"
			 "  - {name: bronze, dscp: 8, priority: 7}\n"
			 "defaultClass: bronze\ntrustDscp: false\n";
	__u32 k;

	k = 0;
	assert_int_equal(M_LOOKUP(f, SYNC_MAP_CLASSES, &k, &c), 0);
	assert_string_equal(c.name, "critical");
	assert_int_equal(c.priority, 0x00010010);
	assert_int_equal(c.dscp, 46);
	assert_int_equal(c.flags, TCPRIO_CLASS_VALID);

	assert_int_equal(class_table_parse(y, strlen(y), &t, err, sizeof(err)), 0);
	assert_int_equal(endpoint_sync_set_table(f->sync, &t), 0);
	for (k = 0; k < TCPRIO_MAX_CLASSES; k++) {
		assert_int_equal(M_LOOKUP(f, SYNC_MAP_CLASSES, &k, &c), 0);
		assert_int_equal(c.flags, k < 3 ? TCPRIO_CLASS_VALID : 0);
		if (k >= 3)
			assert_string_equal(c.name, "");
	}
	k = 2;
	assert_int_equal(M_LOOKUP(f, SYNC_MAP_CLASSES, &k, &c), 0);
	assert_int_equal(c.priority, 7);
	assert_int_equal(c.dscp, 8);
	for (k = 0; k < TCPRIO_DSCP_VALUES; k++) {
		assert_int_equal(M_LOOKUP(f, SYNC_MAP_DSCP_CLASSES, &k, &d), 0);
		if (k == 46)
			assert_true(d.valid == 1 && d.class_id == 0); /* first wins */
		else if (k == 8)
			assert_true(d.valid == 1 && d.class_id == 2);
		else
			assert_int_equal(d.valid, 0);
	}
	k = 0;
	assert_int_equal(M_LOOKUP(f, SYNC_MAP_CONFIG, &k, &cfg), 0);
	assert_int_equal(cfg.default_class, 2);
	assert_int_equal(cfg.trust_dscp, 0);
	assert_int_equal(cfg.rewrite_dscp, 1);
	assert_int_equal(cfg.enabled, 1);
	/* Back to the fixture's table before t goes away. */
	assert_int_equal(endpoint_sync_set_table(f->sync, &f->table), 0);
	class_table_free(&t);
}

/* Keys in a tcprio_trust_cidrs-shaped LPM map. */
static int lpm_keys(int fd)
{
	struct tcprio_trust_cidr_key k, next;
	int n = 0;

	while (bpf_map_get_next_key(fd, n ? &k : NULL, &next) == 0) {
		k = next;
		n++;
	}
	return n;
}

/* sanitizeUnknown reaches tcprio_config; on BPF maps, trust_cidrs_sync
 * (dp/) leaves exactly the table's trustDscpFrom CIDRs in an LPM map like
 * tcprio_trust_cidrs, also after a table without them. */
static void test_trust_table(void **state)
{
	struct fixture *f = *state;
	struct class_table t;
	struct tcprio_config cfg;
	struct tcprio_trust_cidr_key k4 = { .prefixlen = 128 }, k6 = { .prefixlen = 128 };
	char err[256];
	__u32 v, k = 0;
	int lpm = -1;
	const char y[] = "classes:\n  - {name: gold, dscp: 46, priority: \"1:10\"}\n"
			 "defaultClass: gold\nsanitizeUnknown: false\n"
			 "trustDscpFrom: [eth1, 198.18.10.0/24, \"2001:db8::/32\"]\n";

	assert_int_equal(M_LOOKUP(f, SYNC_MAP_CONFIG, &k, &cfg), 0);
	assert_int_equal(cfg.sanitize_unknown, 1);           /* the default */
	assert_int_equal(class_table_parse(y, strlen(y), &t, err, sizeof(err)), 0);
	assert_int_equal(endpoint_sync_set_table(f->sync, &t), 0);
	assert_int_equal(M_LOOKUP(f, SYNC_MAP_CONFIG, &k, &cfg), 0);
	assert_int_equal(cfg.sanitize_unknown, 0);
	if (use_bpf) {
		LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);

		lpm = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "tpt_trust_cidrs",
				     sizeof(struct tcprio_trust_cidr_key), sizeof(__u32),
				     TCPRIO_MAX_TRUST_CIDRS, &o);
		assert_true(lpm >= 0);
		assert_int_equal(trust_cidrs_sync(lpm, -1, -1, t.trust_from, t.n_trust_from), 0);
		assert_int_equal(lpm_keys(lpm), 2);
		k4.ip.addr[10] = k4.ip.addr[11] = 0xff;
		k4.ip.addr[12] = 198; k4.ip.addr[13] = 18; k4.ip.addr[14] = 10; k4.ip.addr[15] = 77;
		assert_int_equal(bpf_map_lookup_elem(lpm, &k4, &v), 0);
		k4.ip.addr[14] = 11;
		assert_int_not_equal(bpf_map_lookup_elem(lpm, &k4, &v), 0);
		k6.ip.addr[0] = 0x20; k6.ip.addr[1] = 0x01; k6.ip.addr[2] = 0x0d; k6.ip.addr[3] = 0xb8;
		assert_int_equal(bpf_map_lookup_elem(lpm, &k6, &v), 0);
		{
			/* A CIDR inside one already there (198.18.10.0/24 in
			 * 198.18.0.0/16) is added although an LPM lookup of it
			 * answers; the covering one then goes, the inner one
			 * stays. */
			struct class_table w, n;
			const char yw[] = "classes:\n  - {name: gold, dscp: 46, priority: \"1:10\"}\n"
					  "defaultClass: gold\ntrustDscpFrom: [198.18.0.0/16]\n";

			assert_int_equal(class_table_parse(yw, strlen(yw), &w, err, sizeof(err)), 0);
			assert_int_equal(trust_cidrs_sync(lpm, -1, -1, w.trust_from, w.n_trust_from), 0);
			assert_int_equal(lpm_keys(lpm), 1);
			n = t;
			n.n_trust_from = 2;   /* eth1, 198.18.10.0/24 */
			assert_int_equal(trust_cidrs_sync(lpm, -1, -1, n.trust_from, n.n_trust_from), 0);
			assert_int_equal(lpm_keys(lpm), 1);
			k4.ip.addr[14] = 10;
			assert_int_equal(bpf_map_lookup_elem(lpm, &k4, &v), 0);
			k4.ip.addr[14] = 11;
			assert_int_not_equal(bpf_map_lookup_elem(lpm, &k4, &v), 0);
			class_table_free(&w);
		}
		assert_int_equal(trust_cidrs_sync(lpm, -1, -1, f->table.trust_from, f->table.n_trust_from), 0);
		assert_int_equal(lpm_keys(lpm), 0);
		close(lpm);
	}
	/* Back to the fixture's table: sanitize on. */
	assert_int_equal(endpoint_sync_set_table(f->sync, &f->table), 0);
	assert_int_equal(M_LOOKUP(f, SYNC_MAP_CONFIG, &k, &cfg), 0);
	assert_int_equal(cfg.sanitize_unknown, 1);
	class_table_free(&t);
}

static void test_add_modify(void **state)
{
	struct fixture *f = *state;
	struct pod a, b;
	struct pod *all[] = { &a, &b };

	make_pod(&a, "uid-a", "db-0", "198.18.1.1", "high", "5432/tcp=critical,9100=bulk");
	make_pod(&b, "uid-b", "web-0", "198.18.1.2", NULL, NULL);
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	assert_int_equal(endpoint_sync_upsert(f->sync, &b), 0);
	verify(f, all, 2);
	assert_int_equal(read_ep(f, "198.18.1.1").class_id, 1);
	assert_true(has_port(f, "198.18.1.1", 9100, IPPROTO_UDP));
	assert_int_equal(endpoint_sync_pod_count(f->sync), 2);
	assert_int_equal(endpoint_sync_endpoint_count(f->sync), 2);

	/* Modify class. */
	set_ann(&a.class_annotation, "bulk");
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	verify(f, all, 2);
	assert_int_equal(read_ep(f, "198.18.1.1").class_id, 3);

	/* Modify ports: 9100 rules go, 8080/udp comes. */
	set_ann(&a.ports_annotation, "5432/tcp=high,8080/udp=critical");
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	verify(f, all, 2);
	assert_false(has_port(f, "198.18.1.1", 9100, IPPROTO_TCP));
	assert_true(has_port(f, "198.18.1.1", 8080, IPPROTO_UDP));

	/* Remove the annotations: default class, no port rules, flag cleared. */
	set_ann(&a.class_annotation, NULL);
	set_ann(&a.ports_annotation, NULL);
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	verify(f, all, 2);
	assert_int_equal(read_ep(f, "198.18.1.1").source, TCPRIO_SRC_DEFAULT);
	assert_int_equal(read_ep(f, "198.18.1.1").flags, 0);

	/* Label rule. */
	assert_int_equal(pod_add_label(&a, "app", "postgres"), 0);
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	verify(f, all, 2);
	assert_int_equal(read_ep(f, "198.18.1.1").source, TCPRIO_SRC_LABEL_RULE);

	/* Pod changes IP (e.g. restarted sandbox). */
	assert_int_equal(ip_from_string("198.18.1.3", &a.ips[0]), 0);
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	verify(f, all, 2);
	pod_free(&a);
	pod_free(&b);
}

/* A pod with more port rules than fit in its entry gets a rule block of
 * its own (include/tcprio.h), kept while it needs one and freed after. */
static void test_rule_blocks(void **state)
{
	struct fixture *f = *state;
	static const struct tcprio_rule_block zero;
	struct tcprio_rule_block b;
	struct pod a, b2;
	struct pod *all[] = { &a, &b2 };
	__u32 first, k;

	make_pod(&a, "uid-a", "db-0", "198.18.1.1", "high",
		 "5432/tcp=critical,9100=bulk,9101=bulk,9102=bulk,9103=bulk");
	make_pod(&b2, "uid-b", "db-1", "198.18.1.2", NULL, "1/tcp=high,2/tcp=high,3/tcp=high,"
		 "4/tcp=high,5/tcp=high,6/tcp=high");
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	assert_int_equal(endpoint_sync_upsert(f->sync, &b2), 0);
	verify(f, all, 2);
	first = read_ep(f, "198.18.1.1").rule_block;
	assert_true(read_ep(f, "198.18.1.1").flags & TCPRIO_EP_RULES_BLOCK);
	assert_int_not_equal(first, read_ep(f, "198.18.1.2").rule_block);
	assert_int_equal(blocks_used(f), 2);

	/* Other rules, still too many to inline: another block (a block is
	 * never rewritten while entries point at it), the first one freed. */
	set_ann(&a.ports_annotation, "5432/tcp=bulk,9100=bulk,9101=bulk,9102=bulk,9104=critical");
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	verify(f, all, 2);
	assert_int_not_equal(read_ep(f, "198.18.1.1").rule_block, first);
	assert_int_equal(M_LOOKUP(f, SYNC_MAP_RULE_BLOCKS, &first, &b), 0);
	assert_int_equal(b.pod_id, 0);
	assert_int_equal(blocks_used(f), 2);
	first = read_ep(f, "198.18.1.1").rule_block;

	/* The same rules again: the same block, not written. */
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	assert_int_equal(read_ep(f, "198.18.1.1").rule_block, first);
	assert_int_equal(endpoint_sync_last_writes(f->sync), 0);

	/* Two rules: inline, and the block is free again. */
	set_ann(&a.ports_annotation, "5432/tcp=bulk,9100/tcp=critical");
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	verify(f, all, 2);
	assert_true(read_ep(f, "198.18.1.1").flags & TCPRIO_EP_RULES_INLINE);
	assert_int_equal(M_LOOKUP(f, SYNC_MAP_RULE_BLOCKS, &first, &b), 0);
	assert_int_equal(b.pod_id, 0);
	assert_int_equal(blocks_used(f), 1);

	/* A block some earlier writer left behind is freed by reconcile; one
	 * in use is not. */
	k = (first + 7) % TCPRIO_RULE_BLOCKS;
	b = zero;
	b.pod_id = 0xdead;
	assert_int_equal(M_UPDATE(f, SYNC_MAP_RULE_BLOCKS, &k, &b), 0);
	assert_int_equal(endpoint_sync_reconcile(f->sync), 0);
	assert_int_equal(M_LOOKUP(f, SYNC_MAP_RULE_BLOCKS, &k, &b), 0);
	assert_int_equal(b.pod_id, 0);
	assert_int_equal(blocks_used(f), 1);

	/* A block overwritten behind the agent's back: reconcile rewrites it. */
	k = read_ep(f, "198.18.1.2").rule_block;
	b = zero;
	assert_int_equal(M_UPDATE(f, SYNC_MAP_RULE_BLOCKS, &k, &b), 0);
	assert_true(endpoint_sync_reconcile(f->sync) > 0);
	verify(f, all, 2);

	/* The pod goes: its block is free. */
	assert_int_equal(endpoint_sync_delete(f->sync, &b2), 0);
	verify(f, all, 1);
	assert_int_equal(blocks_used(f), 0);
	pod_free(&a);
	pod_free(&b2);
}

static void test_deleting_finished_delete(void **state)
{
	struct fixture *f = *state;
	struct pod a, b;
	struct pod *all[] = { &a, &b };

	make_pod(&a, "uid-a", "job-0", "198.18.2.1", "critical", "80=high");
	make_pod(&b, "uid-b", "job-1", "198.18.2.2", "bulk", "81=high");
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	assert_int_equal(endpoint_sync_upsert(f->sync, &b), 0);
	verify(f, all, 2);

	a.deleting = true;
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	verify(f, all, 2);
	assert_int_equal(count_keys(f, SYNC_MAP_ENDPOINTS), 1);
	b.finished = true;
	assert_int_equal(endpoint_sync_upsert(f->sync, &b), 0);
	verify(f, all, 2);
	assert_int_equal(count_keys(f, SYNC_MAP_ENDPOINTS), 0);
	assert_int_equal(endpoint_sync_pod_count(f->sync), 2);

	b.finished = false; /* (not realistic, but must re-add) */
	assert_int_equal(endpoint_sync_upsert(f->sync, &b), 0);
	verify(f, all, 2);
	assert_int_equal(endpoint_sync_delete(f->sync, &b), 0);
	assert_int_equal(endpoint_sync_delete(f->sync, &a), 0);
	verify(f, NULL, 0);
	assert_int_equal(endpoint_sync_pod_count(f->sync), 0);
	assert_int_equal(endpoint_sync_endpoint_count(f->sync), 0);
	/* Deleting an unknown pod is harmless. */
	assert_int_equal(endpoint_sync_delete(f->sync, &a), 0);
	pod_free(&a);
	pod_free(&b);
}

static void test_dual_stack(void **state)
{
	struct fixture *f = *state;
	struct pod a;
	struct pod *all[] = { &a };

	make_pod(&a, "uid-ds", "dual-0", "198.18.3.1", "high", "443/tcp=critical");
	assert_int_equal(ip_from_string("2001:db8::3:1", &a.ips[1]), 0);
	a.n_ips = 2;
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	verify(f, all, 1);
	assert_true(has_port(f, "2001:db8::3:1", 443, IPPROTO_TCP));
	assert_int_equal(read_ep(f, "2001:db8::3:1").class_id, 1);
	assert_int_equal(endpoint_sync_endpoint_count(f->sync), 2);

	/* Drop the IPv6 address. */
	a.n_ips = 1;
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	verify(f, all, 1);
	assert_false(has_port(f, "2001:db8::3:1", 443, IPPROTO_TCP));
	assert_int_equal(endpoint_sync_delete(f->sync, &a), 0);
	verify(f, NULL, 0);
	pod_free(&a);
}

static void test_ip_reuse(void **state)
{
	struct fixture *f = *state;
	struct pod a, b;
	struct pod *only_b[] = { &b };
	uint64_t id_a = pod_id_from_uid("uid-old"), id_b = pod_id_from_uid("uid-new");

	make_pod(&a, "uid-old", "old-0", "198.18.4.1", "critical", "80=critical");
	make_pod(&b, "uid-new", "new-0", "198.18.4.1", "bulk", "443/tcp=high");
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	/* The new pod's ADDED arrives before the old pod's DELETED. */
	assert_int_equal(endpoint_sync_upsert(f->sync, &b), 0);
	assert_true(read_ep(f, "198.18.4.1").pod_id == id_b);
	assert_false(has_port(f, "198.18.4.1", 80, IPPROTO_TCP)); /* A's rules gone */
	assert_true(has_port(f, "198.18.4.1", 443, IPPROTO_TCP));
	/* A late MODIFIED of the old pod, still listing the IP: B keeps it. */
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	assert_true(read_ep(f, "198.18.4.1").pod_id == id_b);
	assert_int_equal(endpoint_sync_delete(f->sync, &a), 0);
	verify(f, only_b, 1);
	assert_int_equal(endpoint_sync_delete(f->sync, &b), 0);
	verify(f, NULL, 0);

	/* Both claim; the newer one is deleted first: the IP goes back to A. */
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	assert_int_equal(endpoint_sync_upsert(f->sync, &b), 0);
	assert_int_equal(endpoint_sync_delete(f->sync, &b), 0);
	assert_true(read_ep(f, "198.18.4.1").pod_id == id_a);
	{
		struct pod *only_a[] = { &a };

		verify(f, only_a, 1);
	}
	assert_int_equal(endpoint_sync_delete(f->sync, &a), 0);
	verify(f, NULL, 0);

	/* A's delete must not remove an entry someone else wrote meanwhile
	 * (e.g. `tcprio endpoint add`). */
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	{
		struct tcprio_endpoint manual = { .pod_id = 77, .class_id = 0,
						  .source = TCPRIO_SRC_MANUAL };

		assert_int_equal(M_UPDATE(f, SYNC_MAP_ENDPOINTS, &a.ips[0],
						     &manual), 0);
	}
	assert_int_equal(endpoint_sync_delete(f->sync, &a), 0);
	assert_true(read_ep(f, "198.18.4.1").pod_id == 77);
	pod_free(&a);
	pod_free(&b);
}

static void put_stale(struct fixture *f, const char *ip, uint64_t pod_id, uint8_t source,
		      uint16_t port, const char *name)
{
	struct tcprio_endpoint ep = { .pod_id = pod_id, .class_id = 0, .source = source,
				      .flags = port ? TCPRIO_EP_HAS_PORT_RULES : 0 };
	struct tcprio_ip key;
	struct tcprio_pod pn;

	assert_int_equal(ip_from_string(ip, &key), 0);
	assert_int_equal(M_UPDATE(f, SYNC_MAP_ENDPOINTS, &key, &ep), 0);
	if (port) {
		struct tcprio_port_key pk = { .ip = key, .port = port,
					      .protocol = IPPROTO_TCP };
		struct tcprio_port_rule r = { 0 };

		assert_int_equal(M_UPDATE(f, SYNC_MAP_PORT_RULES, &pk, &r), 0);
	}
	memset(&pn, 0, sizeof(pn));
	snprintf(pn.name, sizeof(pn.name), "%s", name);
	assert_int_equal(M_UPDATE(f, SYNC_MAP_PODS, &pod_id, &pn), 0);
}

static void test_replace_all_stale(void **state)
{
	struct fixture *f = *state;
	struct pod pods[3], gone;
	struct pod *all[] = { &pods[0], &pods[1], &pods[2] };

	/* Left by an earlier agent run (killed with -9 while pods went away). */
	put_stale(f, "198.18.5.1", 1001, TCPRIO_SRC_ANNOTATION, 5432, "shop/dead-0");
	put_stale(f, "198.18.5.2", 1002, TCPRIO_SRC_DEFAULT, 0, "shop/dead-1");
	put_stale(f, "2001:db8::5:3", 1003, TCPRIO_SRC_LABEL_RULE, 9100, "shop/dead-2");
	/* A still-running pod whose entry is stale: wrong class and port. */
	put_stale(f, "198.18.5.10", pod_id_from_uid("uid-r0"), TCPRIO_SRC_DEFAULT, 7,
		  "shop/run-0");
	/* An IP the earlier run gave a pod now gone, reused by a live pod. */
	put_stale(f, "198.18.5.11", 1004, TCPRIO_SRC_ANNOTATION, 22, "shop/dead-3");
	/* A manual entry (`tcprio endpoint add`) with a port rule: kept. */
	put_stale(f, "198.18.5.99", 4242, TCPRIO_SRC_MANUAL, 53, "manual");

	/* A pod known in memory that is not in the new list. */
	make_pod(&gone, "uid-gone", "gone-0", "198.18.5.20", "bulk", "1=bulk");
	assert_int_equal(endpoint_sync_upsert(f->sync, &gone), 0);

	make_pod(&pods[0], "uid-r0", "run-0", "198.18.5.10", "high", "8443/tcp=critical");
	make_pod(&pods[1], "uid-r1", "run-1", "198.18.5.11", NULL, NULL);
	make_pod(&pods[2], "uid-r2", "run-2", "198.18.5.12", "critical", NULL);
	pods[2].host_network = true;

	assert_int_equal(endpoint_sync_replace_all(f->sync, pods, 3), 0);
	verify_extra(f, all, 3, 1, 1, 1);
	assert_int_equal(read_ep(f, "198.18.5.99").pod_id, 4242);
	assert_true(has_port(f, "198.18.5.99", 53, IPPROTO_TCP));
	assert_false(has_port(f, "198.18.5.10", 7, IPPROTO_TCP));
	assert_false(has_port(f, "198.18.5.11", 22, IPPROTO_TCP));
	assert_int_equal(endpoint_sync_pod_count(f->sync), 3);

	/* Idempotent. */
	assert_int_equal(endpoint_sync_replace_all(f->sync, pods, 3), 0);
	verify_extra(f, all, 3, 1, 1, 1);
	/* Empty list: only the manual entry stays. */
	assert_int_equal(endpoint_sync_replace_all(f->sync, NULL, 0), 0);
	verify_extra(f, NULL, 0, 1, 1, 1);
	for (int i = 0; i < 3; i++)
		pod_free(&pods[i]);
	pod_free(&gone);
}

static void test_table_change(void **state)
{
	struct fixture *f = *state;
	struct class_table t2;
	struct pod a, b, c;
	struct pod *all[] = { &a, &b, &c };
	char err[256];
	const char y[] = "classes:\n"
			 "  - {name: bulk, dscp: LE, priority: \"1:40\"}\n"
			 "  - {name: critical, dscp: EF, priority: \"1:10\"}\n"
			 "  - {name: normal, priority: \"1:30\"}\n"
			 "defaultClass: normal\n"
			 "labelRules:\n"
			 "  - matchLabels: {app: web}\n"
			 "    class: bulk\n";

	make_pod(&a, "uid-a", "a", "198.18.6.1", "critical", "80=bulk");
	make_pod(&b, "uid-b", "b", "198.18.6.2", "high", NULL); /* high goes away */
	make_pod(&c, "uid-c", "c", "198.18.6.3", NULL, NULL);
	assert_int_equal(pod_add_label(&c, "app", "web"), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(endpoint_sync_upsert(f->sync, all[i]), 0);
	verify(f, all, 3);
	assert_int_equal(read_ep(f, "198.18.6.3").source, TCPRIO_SRC_DEFAULT);

	assert_int_equal(class_table_parse(y, strlen(y), &t2, err, sizeof(err)), 0);
	assert_int_equal(endpoint_sync_set_table(f->sync, &t2), 0);
	class_table_free(&f->table);
	f->table = t2; /* verify() decides with f->table; sync keeps &t2's rules */
	assert_int_equal(endpoint_sync_set_table(f->sync, &f->table), 0);
	verify(f, all, 3);
	assert_int_equal(read_ep(f, "198.18.6.1").class_id, 1);
	assert_int_equal(read_ep(f, "198.18.6.2").source, TCPRIO_SRC_BAD_ANNOTATION);
	assert_int_equal(read_ep(f, "198.18.6.3").source, TCPRIO_SRC_LABEL_RULE);
	assert_int_equal(read_ep(f, "198.18.6.3").class_id, 0);
	for (int i = 0; i < 3; i++)
		pod_free(all[i]);
}

static void test_bad_annotation_isolated(void **state)
{
	struct fixture *f = *state;
	struct pod pods[3];
	struct pod *all[] = { &pods[0], &pods[1], &pods[2] };
	struct tcprio_endpoint before0, before1;

	make_pod(&pods[0], "uid-0", "ok-0", "198.18.7.1", "critical", "5432/tcp=critical");
	make_pod(&pods[1], "uid-1", "ok-1", "198.18.7.2", "bulk", NULL);
	make_pod(&pods[2], "uid-2", "bad-0", "198.18.7.3", "platinum", "x=y");
	assert_int_equal(endpoint_sync_replace_all(f->sync, pods, 3), 0);
	verify(f, all, 3);
	before0 = read_ep(f, "198.18.7.1");
	before1 = read_ep(f, "198.18.7.2");
	assert_int_equal(read_ep(f, "198.18.7.3").source, TCPRIO_SRC_BAD_ANNOTATION);

	/* The bad pod changes to another bad value; a good pod turns bad. */
	set_ann(&pods[2].ports_annotation, "70000=critical");
	set_ann(&pods[2].class_annotation, NULL);
	assert_int_equal(endpoint_sync_upsert(f->sync, &pods[2]), 0);
	verify(f, all, 3);
	{
		struct tcprio_endpoint now0 = read_ep(f, "198.18.7.1");
		struct tcprio_endpoint now1 = read_ep(f, "198.18.7.2");

		assert_memory_equal(&before0, &now0, sizeof(now0));
		assert_memory_equal(&before1, &now1, sizeof(now1));
	}
	assert_true(has_port(f, "198.18.7.1", 5432, IPPROTO_TCP));
	set_ann(&pods[1].ports_annotation, "5432/tcpp=high");
	assert_int_equal(endpoint_sync_upsert(f->sync, &pods[1]), 0);
	verify(f, all, 3);
	assert_int_equal(read_ep(f, "198.18.7.2").class_id, 2); /* default: one rule */
	assert_int_equal(read_ep(f, "198.18.7.2").source, TCPRIO_SRC_BAD_ANNOTATION);
	assert_true(has_port(f, "198.18.7.1", 5432, IPPROTO_TCP));
	for (int i = 0; i < 3; i++)
		pod_free(&pods[i]);
}

static void test_map_full(void **state)
{
	struct fixture *f = *state; /* endpoints map of 4 entries */
	struct pod pods[6];
	char uid[32], ip[32];
	int err = 0;

	for (int i = 0; i < 6; i++) {
		snprintf(uid, sizeof(uid), "uid-full-%d", i);
		snprintf(ip, sizeof(ip), "198.18.8.%d", i + 1);
		make_pod(&pods[i], uid, uid, ip, NULL, NULL);
	}
	for (int i = 0; i < 6; i++) {
		int r = endpoint_sync_upsert(f->sync, &pods[i]);

		if (i < 4)
			assert_int_equal(r, 0);
		else
			err = err ?: r;
	}
	assert_int_equal(err, -E2BIG);
	assert_int_equal(count_keys(f, SYNC_MAP_ENDPOINTS), 4);
	/* Room again: the failed pod is retried on its next upsert. */
	assert_int_equal(endpoint_sync_delete(f->sync, &pods[0]), 0);
	assert_int_equal(endpoint_sync_upsert(f->sync, &pods[4]), 0);
	read_ep(f, "198.18.8.5");
	assert_int_equal(endpoint_sync_replace_all(f->sync, pods, 4), 0);
	{
		struct pod *all[] = { &pods[0], &pods[1], &pods[2], &pods[3] };

		verify(f, all, 4);
	}
	for (int i = 0; i < 6; i++)
		pod_free(&pods[i]);
}

/* A pod that did not fit is written by endpoint_sync_retry_failed once
 * there is room, without an event of its own (the agent retries every 10 s). */
static void test_retry_failed(void **state)
{
	struct fixture *f = *state; /* endpoints map of 4 entries */
	struct pod pods[5];
	char uid[32], ip[32];

	for (int i = 0; i < 5; i++) {
		snprintf(uid, sizeof(uid), "uid-retry-%d", i);
		snprintf(ip, sizeof(ip), "198.18.10.%d", i + 1);
		make_pod(&pods[i], uid, uid, ip, "bulk", NULL);
		endpoint_sync_upsert(f->sync, &pods[i]);
	}
	assert_int_equal(count_keys(f, SYNC_MAP_ENDPOINTS), 4);
	assert_int_equal(endpoint_sync_retry_failed(f->sync), 1); /* still full */
	assert_int_equal(endpoint_sync_delete(f->sync, &pods[0]), 0);
	assert_int_equal(endpoint_sync_retry_failed(f->sync), 0);
	assert_int_equal(read_ep(f, "198.18.10.5").class_id, 3);
	assert_int_equal(endpoint_sync_retry_failed(f->sync), 0); /* nothing left */
	for (int i = 0; i < 5; i++)
		pod_free(&pods[i]);
}

/* Restarted agent, endpoints map full of stale entries: replace_all
 * makes room by sweeping, then writes the pods that did not fit. */
static void test_full_map_stale_restart(void **state)
{
	struct fixture *f = *state; /* endpoints map of 4 entries */
	struct pod pods[4];
	struct pod *all[] = { &pods[0], &pods[1], &pods[2], &pods[3] };
	char uid[32], ip[32];

	for (int i = 0; i < 4; i++) {
		snprintf(ip, sizeof(ip), "198.18.9.%d", 100 + i);
		put_stale(f, ip, 5000 + i, TCPRIO_SRC_DEFAULT, 0, "shop/stale");
	}
	for (int i = 0; i < 4; i++) {
		snprintf(uid, sizeof(uid), "uid-restart-%d", i);
		snprintf(ip, sizeof(ip), "198.18.9.%d", i + 1);
		make_pod(&pods[i], uid, uid, ip, "high", NULL);
	}
	assert_int_equal(endpoint_sync_replace_all(f->sync, pods, 4), 0);
	verify(f, all, 4);
	for (int i = 0; i < 4; i++)
		pod_free(&pods[i]);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_10k_pods(void **state)
{
	struct fixture *f = *state;
	const int n = 10000;
	struct pod *pods = calloc(n, sizeof(*pods));
	struct pod **ptrs = calloc(n, sizeof(*ptrs));
	double t0, t1, t2, t3;

	assert_non_null(pods);
	assert_non_null(ptrs);
	for (int i = 0; i < n; i++) {
		char uid[40], ip[32];

		snprintf(uid, sizeof(uid), "0000%04d-aaaa-bbbb-cccc-dddddddddddd", i);
		snprintf(ip, sizeof(ip), "198.18.%d.%d", 100 + i / 250, 1 + i % 250);
		make_pod(&pods[i], uid, uid, ip, i % 3 ? NULL : "critical",
			 i % 5 ? NULL : "5432/tcp=critical");
		ptrs[i] = &pods[i];
	}
	t0 = now_ms();
	assert_int_equal(endpoint_sync_replace_all(f->sync, pods, n), 0);
	t1 = now_ms();
	assert_int_equal(endpoint_sync_replace_all(f->sync, pods, n), 0);
	t2 = now_ms();
	for (int i = 0; i < n; i++) {
		set_ann(&pods[i].class_annotation, "bulk");
		assert_int_equal(endpoint_sync_upsert(f->sync, &pods[i]), 0);
	}
	t3 = now_ms();
	verify(f, ptrs, n);
	printf("# replace_all of %d pods into empty maps: %.1f ms; again (steady "
	       "state): %.1f ms; %d class-changing upserts: %.1f ms (%.1f us each)\n",
	       n, t1 - t0, t2 - t1, n, t3 - t2, (t3 - t2) * 1000 / n);
	/* Delete every other pod (exercises the hash tables' deletion), then
	 * every remaining pod must still be found and be right. */
	for (int i = 0; i < n; i += 2)
		assert_int_equal(endpoint_sync_delete(f->sync, &pods[i]), 0);
	for (int i = 0; i < n / 2; i++)
		ptrs[i] = &pods[2 * i + 1];
	assert_int_equal(endpoint_sync_pod_count(f->sync), n / 2);
	assert_int_equal(endpoint_sync_endpoint_count(f->sync), n / 2);
	for (int i = 1; i < n; i += 2) {
		set_ann(&pods[i].class_annotation, "high");
		assert_int_equal(endpoint_sync_upsert(f->sync, &pods[i]), 0);
	}
	assert_int_equal(endpoint_sync_pod_count(f->sync), n / 2);
	verify(f, ptrs, n / 2);
	assert_int_equal(endpoint_sync_replace_all(f->sync, NULL, 0), 0);
	verify(f, NULL, 0);
	assert_int_equal(endpoint_sync_pod_count(f->sync), 0);
	for (int i = 0; i < n; i++)
		pod_free(&pods[i]);
	free(pods);
	free(ptrs);
}

/* A manual entry (tcprio endpoint add) keeps its class by name across
 * reloads: a reordered table gives it its class's new position (it stayed
 * at the old one: critical became bulk), a table without the class removes
 * it (it was left as "#3"). */
static void test_manual_class_by_name(void **state)
{
	struct fixture *f = *state;
	struct class_table t1, t2;
	char err[256];
	const char reordered[] = "classes:\n"
		"  - {name: bulk, dscp: LE, priority: \"1:40\"}\n"
		"  - {name: normal, dscp: 0, priority: \"1:30\"}\n"
		"  - {name: critical, dscp: EF, priority: \"1:10\"}\n"
		"defaultClass: normal\n";
	const char without[] = "classes:\n"
		"  - {name: bulk, dscp: LE, priority: \"1:40\"}\n"
		"  - {name: normal, dscp: 0, priority: \"1:30\"}\n"
		"defaultClass: normal\n";
	struct tcprio_port_key pk = { .port = 5432, .protocol = IPPROTO_TCP };
	struct tcprio_port_rule r = { .class_id = 3 }; /* bulk in the fixture's table */
	struct tcprio_endpoint v;

	/* 198.18.9.1: class critical (#0), port 5432 -> bulk (#3) */
	put_stale(f, "198.18.9.1", 4242, TCPRIO_SRC_MANUAL, 5432, "manual/198.18.9.1");
	assert_int_equal(ip_from_string("198.18.9.1", &pk.ip), 0);
	assert_int_equal(M_UPDATE(f, SYNC_MAP_PORT_RULES, &pk, &r), 0);

	assert_int_equal(class_table_parse(reordered, strlen(reordered), &t1, err, sizeof(err)), 0);
	assert_int_equal(endpoint_sync_set_table(f->sync, &t1), 0);
	assert_int_equal(read_ep(f, "198.18.9.1").class_id, 2); /* critical */
	assert_int_equal(read_ep(f, "198.18.9.1").source, TCPRIO_SRC_MANUAL);
	assert_int_equal(M_LOOKUP(f, SYNC_MAP_PORT_RULES, &pk, &r), 0);
	assert_int_equal(r.class_id, 0);                       /* bulk */

	assert_int_equal(class_table_parse(without, strlen(without), &t2, err, sizeof(err)), 0);
	assert_int_equal(endpoint_sync_set_table(f->sync, &t2), 0);
	assert_int_not_equal(M_LOOKUP(f, SYNC_MAP_ENDPOINTS, &pk.ip, &v), 0);
	assert_int_not_equal(M_LOOKUP(f, SYNC_MAP_PORT_RULES, &pk, &r), 0);
	assert_int_equal(endpoint_sync_set_table(f->sync, &f->table), 0);
	class_table_free(&t1);
	class_table_free(&t2);
}

/* An entry of a pod deleted or changed behind the sync's back (tcprio
 * endpoint --force, bpftool) is written back by endpoint_sync_reconcile; it
 * stayed wrong until that pod changed. */
static void test_reconcile(void **state)
{
	struct fixture *f = *state;
	struct pod a;
	struct tcprio_ip ip;
	struct tcprio_endpoint v;
	struct tcprio_port_key pk;
	struct tcprio_port_rule r;
	__u32 bulk;

	make_pod(&a, "uid-r", "r", "198.18.9.2", "critical", NULL);
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	assert_int_equal(endpoint_sync_reconcile(f->sync), 0); /* nothing drifted */
	assert_int_equal(ip_from_string("198.18.9.2", &ip), 0);
	assert_int_equal(f->ops.delete(f->ops.ctx, SYNC_MAP_ENDPOINTS, &ip), 0);
	assert_int_equal(endpoint_sync_reconcile(f->sync), 1);
	assert_int_equal(read_ep(f, "198.18.9.2").class_id, 0);
	v = read_ep(f, "198.18.9.2");
	v.class_id = 3;
	assert_int_equal(M_UPDATE(f, SYNC_MAP_ENDPOINTS, &ip, &v), 0);
	assert_int_equal(endpoint_sync_reconcile(f->sync), 1);
	assert_int_equal(read_ep(f, "198.18.9.2").class_id, 0);
	assert_int_equal(endpoint_sync_reconcile(f->sync), 0);
	pod_free(&a);

	/* a port rule deleted or changed behind the agent's back */
	make_pod(&a, "uid-rp", "rp", "198.18.9.3", "critical", "5432/tcp=bulk");
	assert_int_equal(endpoint_sync_upsert(f->sync, &a), 0);
	assert_int_equal(endpoint_sync_reconcile(f->sync), 0);
	memset(&pk, 0, sizeof(pk));
	assert_int_equal(ip_from_string("198.18.9.3", &pk.ip), 0);
	pk.port = 5432;
	pk.protocol = IPPROTO_TCP;
	assert_int_equal(f->ops.delete(f->ops.ctx, SYNC_MAP_PORT_RULES, &pk), 0);
	assert_false(has_port(f, "198.18.9.3", 5432, IPPROTO_TCP));
	assert_int_equal(endpoint_sync_reconcile(f->sync), 1);
	assert_true(has_port(f, "198.18.9.3", 5432, IPPROTO_TCP));
	assert_int_equal(M_LOOKUP(f, SYNC_MAP_PORT_RULES, &pk, &r), 0);
	bulk = r.class_id;
	r.class_id = 0;
	assert_int_equal(M_UPDATE(f, SYNC_MAP_PORT_RULES, &pk, &r), 0);
	assert_int_equal(endpoint_sync_reconcile(f->sync), 1);
	assert_int_equal(M_LOOKUP(f, SYNC_MAP_PORT_RULES, &pk, &r), 0);
	assert_int_equal(r.class_id, bulk);
	assert_int_equal(endpoint_sync_reconcile(f->sync), 0);

	/* a port rule added behind the agent's back for a port the pod does
	 * not name: deleted, the pod's own rule kept */
	pk.port = 6379;
	r.class_id = 0;
	assert_int_equal(M_UPDATE(f, SYNC_MAP_PORT_RULES, &pk, &r), 0);
	assert_int_equal(endpoint_sync_reconcile(f->sync), 1);
	assert_false(has_port(f, "198.18.9.3", 6379, IPPROTO_TCP));
	assert_true(has_port(f, "198.18.9.3", 5432, IPPROTO_TCP));
	assert_int_equal(endpoint_sync_reconcile(f->sync), 0);
	pod_free(&a);
}

/* Each case twice: on the in-memory maps, then on BPF maps (fn_on_bpf). */
#define ON_BPF(fn) \
	static void fn##_on_bpf(void **state) \
	{ \
		if (!*state) \
			skip(); /* not root: no BPF maps */ \
		fn(state); \
	}
ON_BPF(test_table_maps)
ON_BPF(test_add_modify)
ON_BPF(test_rule_blocks)
ON_BPF(test_trust_table)
ON_BPF(test_deleting_finished_delete)
ON_BPF(test_dual_stack)
ON_BPF(test_ip_reuse)
ON_BPF(test_replace_all_stale)
ON_BPF(test_table_change)
ON_BPF(test_bad_annotation_isolated)
ON_BPF(test_manual_class_by_name)
ON_BPF(test_reconcile)
ON_BPF(test_map_full)
ON_BPF(test_retry_failed)
ON_BPF(test_full_map_stale_restart)
ON_BPF(test_10k_pods)

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown), \
		 cmocka_unit_test_setup_teardown(fn##_on_bpf, setup_bpf, teardown)
#define TEST_SMALL(fn) cmocka_unit_test_setup_teardown(fn, setup_small, teardown), \
		       cmocka_unit_test_setup_teardown(fn##_on_bpf, setup_small_bpf, teardown)

int main(void)
{
	struct CMUnitTest tests[] = {
		TEST(test_table_maps),
		TEST(test_add_modify),
		TEST(test_rule_blocks),
		TEST(test_trust_table),
		TEST(test_deleting_finished_delete),
		TEST(test_dual_stack),
		TEST(test_ip_reuse),
		TEST(test_replace_all_stale),
		TEST(test_table_change),
		TEST(test_bad_annotation_isolated),
		TEST(test_manual_class_by_name),
		TEST(test_reconcile),
		TEST_SMALL(test_map_full),
		TEST_SMALL(test_retry_failed),
		TEST_SMALL(test_full_map_stale_restart),
		TEST(test_10k_pods),
	};
	const size_t n = sizeof(tests) / sizeof(tests[0]);
	char names[sizeof(tests) / sizeof(tests[0])][96];

	/* Even entries run on the in-memory maps, odd ones on BPF maps. */
	for (size_t i = 0; i < n; i += 2) {
		snprintf(names[i], sizeof(names[i]), "in-memory maps: %s", tests[i].name);
		snprintf(names[i + 1], sizeof(names[i + 1]), "BPF maps: %s", tests[i].name);
		tests[i].name = names[i];
		tests[i + 1].name = names[i + 1];
	}
	log_set_level(LOG_LVL_WARN);
	return cmocka_run_group_tests_name("endpoint_sync", tests, NULL, NULL);
}
