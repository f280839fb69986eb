/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_status.c - `tcprio status [--json]`: what the pinned datapath holds.
 * The state is gathered once into a JSON document (jansson); --json prints
 * it, otherwise it is rendered as tables.  JSON shape:
 *   { "pin_dir": str,
 *     "config": { "enabled", "trust_dscp", "rewrite_dscp", "sanitize_unknown": bool,
 *                 "default_class": str },
 *     "classes": [ { "id", "name", "dscp", "priority": "1:a", "priority_raw": int, "flags": [str] } ],
 *     "interfaces": [ { "name", "ifindex", "hooks": ["pod_edge"|"uplink"],
 *                       "attach": [ { "hook", "mode": "tcx"|"tc",
 *                                     "position": int (1 = runs first),
 *                                     "state": "first"|"preempted",
 *                                     "preempted_by": null | { "kind": "tcx"|"tc",
 *                                         "prog_id", "name", "pref", "handle" } } ] } ],
 *         (hooks where the program pinned in pin_dir runs; preempted: a
 *          foreign program or filter runs before it and can end the hook
 *          before tcprio sees a packet; preempted_by is the first one)
 *     "foreign_filters": [ { "name", "ifindex", "hook", "prog_id": int,
 *                            "mode": "tcx"|"tc", "foreign": true } ],
 *         (tcprio programs, tcx links or filters with handle 0x7c1, running
 *          another program: another pin dir's agent; prog_id is the
 *          kernel's BPF program id)
 *     "endpoints": [ { "ip", "pod", "pod_id": "%016x", "class", "source",
 *                      "ports": [ { "port", "protocol", "class" } ],
 *                      "capped": null or { "asked": str (the class asked
 *                        for by source), "rule": "namespaceCeilings[N]" |
 *                        "defaultCeiling" | "unknown-namespace" } } ],
 *         (capped: the class, or a port rule's, was lowered to the pod's
 *          namespace ceiling, TCPRIO_EP_CAPPED)
 *     "class_totals": [ { "hook", "class", "packets", "bytes" } ],
 *     "events": { "pod_edge": { "unparsed", "endpoint_miss", "dscp_rewrite",
 *                               "dscp_hit", "default", "frag_miss": int },
 *                 "uplink": {...} },
 *     "queues": [ { "interface", "ifindex", "classid": "1:10", "parent": "1:1",
 *                   "class": str ("" for inner classes), "leaf": bool,
 *                   "sent_bytes", "sent_packets", "drops", "overlimits",
 *                   "backlog_bytes", "backlog_packets",
 *                   "rate_bytes_per_second", "ceil_bytes_per_second": int } ] }
 *         (the HTB classes of each attached uplink, dp/qdisc_stats.h: what
 *          the qdisc did with the traffic, as `tc -s class show` prints it)
 *     "site": { "name", "labelled", "gateway", "share_bps", "budget_bps",
 *               "link_bps", "nodes", "ready_nodes", "summary": str,
 *               "destinations": { "total", "lan", "wan" },
 *               "scope_totals": { "lan"|"wan": { "packets", "bytes" } } }
 *         (the agent's tcprio_site record; summary: cli_site_summary(), the
 *          sentence `tcprio explain` prints too)
 * Counters are sums over CPUs and over every interface of the hook (the
 * datapath counts per hook and class only); bytes are L2 frame bytes as
 * the hook saw them.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include "policy/class_table.h"
#include "cli/cli.h"
#include "dp/datapath.h"
#include "dp/dest_map.h"
#include "dp/map_read.h"
#include "dp/qdisc_stats.h"
#include "kube/pod.h"

const char cli_status_usage[] =
	"usage: tcprio status [--json] [--pin-dir DIR]\n"
	"  attached interfaces (and tcprio filters running another pin dir's\n"
	"  programs), classes, endpoints, counters and events of the\n"
	"  datapath pinned at DIR (default $TCPRIO_PIN_DIR or " TCPRIO_DEFAULT_PIN_DIR ")\n";

static const char *const hook_names[TCPRIO_HOOK_COUNT] = { "pod_edge", "uplink" };
static const char *const event_names[TCPRIO_EV_COUNT] = {
	"unparsed", "endpoint_miss", "dscp_rewrite", "dscp_hit", "default",
	"frag_miss",
};
static const char *const source_names[] = {
	"default", "annotation", "label-rule", "manual", "bad-annotation",
};

static const char *source_name(unsigned s)
{
	return s < sizeof(source_names) / sizeof(source_names[0]) ? source_names[s] : "unknown";
}

static const char *class_name(const struct class_table *t, uint32_t id, char *buf, size_t len)
{
	if (id < (uint32_t)t->n_classes && t->classes[id].name[0])
		return t->classes[id].name;
	snprintf(buf, len, "#%u", id);
	return buf;
}

static void fmt_priority(uint32_t p, char *buf, size_t len)
{
	snprintf(buf, len, "%x:%x", p >> 16, p & 0xffff);
}

static json_t *gather_config(const struct datapath *dp, const struct class_table *t)
{
	struct tcprio_config c = {};
	__u32 k = 0;
	char nb[16];

	if (bpf_map_lookup_elem(dp->maps.config, &k, &c))
		return json_null();
	return json_pack("{s:b,s:b,s:b,s:b,s:s}", "enabled", c.enabled, "trust_dscp",
			 c.trust_dscp, "rewrite_dscp", c.rewrite_dscp, "sanitize_unknown",
			 c.sanitize_unknown, "default_class",
			 class_name(t, c.default_class, nb, sizeof(nb)));
}

/* { "asked", "rule" } of a capped endpoint (include/tcprio.h), else null. */
static json_t *endpoint_capped(const struct class_table *t, const struct tcprio_endpoint *ep)
{
	unsigned rule = ep->flags >> TCPRIO_EP_CEILING_SHIFT;
	char nb[16], rb[40];

	if (!(ep->flags & TCPRIO_EP_CAPPED))
		return json_null();
	if (rule == 0)
		snprintf(rb, sizeof(rb), "defaultCeiling");
	else if (rule == TCPRIO_EP_CEILING_UNKNOWN)
		snprintf(rb, sizeof(rb), "unknown-namespace");
	else
		snprintf(rb, sizeof(rb), "namespaceCeilings[%u]", rule - 1);
	return json_pack("{s:s,s:s}", "asked", class_name(t, ep->asked_class, nb, sizeof(nb)),
			 "rule", rb);
}

static json_t *gather_classes(const struct datapath *dp)
{
	json_t *arr = json_array();

	for (__u32 id = 0; id < TCPRIO_MAX_CLASSES; id++) {
		struct tcprio_class c;
		char name[TCPRIO_CLASS_NAME_LEN + 1] = {}, prio[24];

		if (bpf_map_lookup_elem(dp->maps.classes, &id, &c) ||
		    !(c.flags & TCPRIO_CLASS_VALID))
			continue;
		memcpy(name, c.name, TCPRIO_CLASS_NAME_LEN);
		fmt_priority(c.priority, prio, sizeof(prio));
		json_array_append_new(arr, json_pack("{s:i,s:s,s:i,s:s,s:I,s:[s]}", "id", (int)id,
						     "name", name, "dscp", c.dscp, "priority", prio,
						     "priority_raw", (json_int_t)c.priority,
						     "flags", "valid"));
	}
	return arr;
}

static json_t *entry_json(const struct hook_entry *e)
{
	return json_pack("{s:s,s:I,s:s,s:I,s:I}", "kind", e->kind == HOOK_ENTRY_TCX ? "tcx" : "tc",
			 "prog_id", (json_int_t)e->prog_id, "name", e->name,
			 "pref", (json_int_t)e->pref, "handle", (json_int_t)e->handle);
}

/* The "attach" entry of dp's program mine at ifindex (hook), or NULL. */
static json_t *attach_json(int ifindex, int h, __u32 mine)
{
	struct datapath_hook_state st;

	if (!mine || datapath_hook_state(ifindex, h, mine, &st) != 1)
		return NULL;
	return json_pack("{s:s,s:s,s:i,s:s,s:o}", "hook", hook_names[h], "mode",
			 datapath_attach_mode_name(st.mode), "position", st.position, "state",
			 st.preempted ? "preempted" : "first", "preempted_by",
			 st.preempted ? entry_json(&st.before) : json_null());
}

/*
 * Interfaces where dp's programs run (with their position and what runs
 * before them) into root "interfaces"; tcprio programs of another pin dir
 * into root "foreign_filters".  A hook whose program is not pinned in dp
 * counts every tcprio program there as foreign.
 */
static void gather_interfaces(const struct datapath *dp, json_t *root)
{
	struct if_nameindex *ifs = if_nameindex();
	json_t *arr = json_array(), *foreign = json_array();
	__u32 mine[TCPRIO_HOOK_COUNT];

	for (int h = 0; h < TCPRIO_HOOK_COUNT; h++)
		if (datapath_prog_id(dp, h, &mine[h]))
			mine[h] = 0;
	for (struct if_nameindex *i = ifs; i && i->if_index; i++) {
		json_t *hooks = json_array(), *attach = json_array();

		for (int h = 0; h < TCPRIO_HOOK_COUNT; h++) {
			struct hook_entry ch[HOOK_CHAIN_MAX];
			int n = hook_chain((int)i->if_index, h, ch, HOOK_CHAIN_MAX);
			json_t *at = attach_json((int)i->if_index, h, mine[h]);

			if (at) {
				json_array_append_new(hooks, json_string(hook_names[h]));
				json_array_append_new(attach, at);
			}
			for (int k = 0; k < n; k++) {
				if (!hook_entry_is_tcprio(&ch[k]) || (mine[h] && ch[k].prog_id == mine[h]))
					continue;
				json_array_append_new(foreign, json_pack(
					"{s:s,s:i,s:s,s:I,s:s,s:b}", "name", i->if_name,
					"ifindex", (int)i->if_index, "hook", hook_names[h],
					"prog_id", (json_int_t)ch[k].prog_id, "mode",
					ch[k].kind == HOOK_ENTRY_TCX ? "tcx" : "tc", "foreign", 1));
			}
		}
		if (json_array_size(hooks)) {
			json_array_append_new(arr, json_pack("{s:s,s:i,s:o,s:o}", "name", i->if_name,
							     "ifindex", (int)i->if_index,
							     "hooks", hooks, "attach", attach));
		} else {
			json_decref(hooks);
			json_decref(attach);
		}
	}
	if (ifs)
		if_freenameindex(ifs);
	json_object_set_new(root, "interfaces", arr);
	json_object_set_new(root, "foreign_filters", foreign);
}

struct rule {
	struct tcprio_port_key key;
	__u32 class_id;
};

static int cmp_rule_ip(const void *a, const void *b)
{
	return memcmp(&((const struct rule *)a)->key, &((const struct rule *)b)->key,
		      sizeof(struct tcprio_port_key));
}

struct rules_walk {
	struct rule *r;
	size_t n, cap;
};

static int add_rule(void *ctx, const void *key, const void *value)
{
	struct rules_walk *w = ctx;

	if (w->n == w->cap) {
		struct rule *p = realloc(w->r, (w->cap = w->cap ? w->cap * 2 : 64) * sizeof(*p));

		if (!p)
			return -1;
		w->r = p;
	}
	memcpy(&w->r[w->n].key, key, sizeof(w->r[w->n].key));
	memcpy(&w->r[w->n].class_id, value, sizeof(w->r[w->n].class_id));
	w->n++;
	return 0;
}

/* All port rules, sorted by (ip, port, protocol).  Returns count or -errno. */
static int read_rules(int fd, struct rule **out)
{
	struct rules_walk w = { 0 };
	long n = datapath_map_walk(fd, sizeof(struct tcprio_port_key),
				   sizeof(struct tcprio_port_rule), TCPRIO_MAX_PORT_RULES + 1ul,
				   add_rule, &w);

	if (n < 0 || w.n < (size_t)n) {
		free(w.r);
		return n < 0 ? (int)n : -ENOMEM;
	}
	if (w.n)
		qsort(w.r, w.n, sizeof(*w.r), cmp_rule_ip);
	*out = w.r;
	return (int)w.n;
}

static json_t *endpoint_ports(const struct class_table *t, const struct tcprio_ip *ip,
			      const struct rule *rules, int n)
{
	json_t *arr = json_array();
	int lo = 0, hi = n;
	char nb[16];

	while (lo < hi) { /* first rule with this ip */
		int mid = (lo + hi) / 2;

		if (memcmp(&rules[mid].key.ip, ip, sizeof(*ip)) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (int i = lo; i < n && !memcmp(&rules[i].key.ip, ip, sizeof(*ip)); i++) {
		uint8_t p = rules[i].key.protocol;

		json_array_append_new(arr, json_pack("{s:i,s:s,s:s}", "port", rules[i].key.port,
			"protocol", p == 6 ? "tcp" : p == 17 ? "udp" : p == 132 ? "sctp" : "other",
			"class", class_name(t, rules[i].class_id, nb, sizeof(nb))));
	}
	return arr;
}

struct endpoints_walk {
	const struct datapath *dp;
	const struct class_table *t;
	const struct rule *rules;
	int n_rules;
	json_t *arr;
};

static int add_endpoint(void *ctx, const void *key, const void *value)
{
	struct endpoints_walk *w = ctx;
	struct tcprio_endpoint ep;
	struct tcprio_ip k;
	struct tcprio_pod pod;
	char ipb[64], idb[20], nb[16], podname[TCPRIO_POD_NAME_LEN + 1] = "";

	memcpy(&k, key, sizeof(k));
	memcpy(&ep, value, sizeof(ep));
	if (bpf_map_lookup_elem(w->dp->maps.pods, &ep.pod_id, &pod) == 0)
		memcpy(podname, pod.name, TCPRIO_POD_NAME_LEN);
	snprintf(idb, sizeof(idb), "%016" PRIx64, (uint64_t)ep.pod_id);
	json_array_append_new(w->arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o}",
		"ip", ip_to_string(&k, ipb, sizeof(ipb)), "pod", podname, "pod_id", idb,
		"class", class_name(w->t, ep.class_id, nb, sizeof(nb)),
		"source", source_name(ep.source),
		"ports", endpoint_ports(w->t, &k, w->rules, w->n_rules),
		"capped", endpoint_capped(w->t, &ep)));
	return 0;
}

static json_t *gather_endpoints(const struct datapath *dp, const struct class_table *t)
{
	struct rule *rules = NULL;
	int n_rules = read_rules(dp->maps.port_rules, &rules);
	struct endpoints_walk w = { .dp = dp, .t = t, .rules = rules,
				    .n_rules = n_rules > 0 ? n_rules : 0, .arr = json_array() };

	datapath_map_walk(dp->maps.endpoints, sizeof(struct tcprio_ip),
			  sizeof(struct tcprio_endpoint), TCPRIO_MAX_ENDPOINTS + 1ul, add_endpoint, &w);
	free(rules);
	return w.arr;
}

/* "class_totals": tcprio_stats per hook and class, classes with packets. */
static void gather_counters(const struct datapath *dp, const struct class_table *t,
			    json_t *root)
{
	struct datapath_stat_row *rows = NULL;
	int n = datapath_read_stats(dp->maps.stats, &rows);
	json_t *totals = json_array();

	for (int i = 0; i < n; i++) {
		char nb[16];

		json_array_append_new(totals, json_pack("{s:s,s:s,s:I,s:I}",
			"hook", hook_names[rows[i].hook],
			"class", class_name(t, rows[i].class_id, nb, sizeof(nb)),
			"packets", (json_int_t)rows[i].packets, "bytes", (json_int_t)rows[i].bytes));
	}
	json_object_set_new(root, "class_totals", totals);
	free(rows);
}

static json_t *gather_events(const struct datapath *dp)
{
	uint64_t sums[TCPRIO_HOOK_COUNT][TCPRIO_EV_COUNT];
	json_t *obj = json_object();

	datapath_read_events(dp->maps.events, sums); /* zeroes on failure */
	for (int h = 0; h < TCPRIO_HOOK_COUNT; h++) {
		json_t *ev = json_object();

		for (int e = 0; e < TCPRIO_EV_COUNT; e++)
			json_object_set_new(ev, event_names[e], json_integer((json_int_t)sums[h][e]));
		json_object_set_new(obj, hook_names[h], ev);
	}
	return obj;
}

/* HTB classes of every interface in root "interfaces" with the uplink hook. */
static json_t *gather_queues(const struct datapath *dp, json_t *root)
{
	static struct htb_class_stats cls[QDISC_STATS_MAX_CLASSES];
	json_t *arr = json_array(), *v, *h;
	size_t i, j;

	json_array_foreach(json_object_get(root, "interfaces"), i, v) {
		int ifindex = (int)json_integer_value(json_object_get(v, "ifindex"));
		bool uplink = false;
		int n;

		json_array_foreach(json_object_get(v, "hooks"), j, h)
			uplink |= strcmp(json_string_value(h), "uplink") == 0;
		n = uplink ? qdisc_stats_read(ifindex, cls, QDISC_STATS_MAX_CLASSES) : 0;
		for (int c = 0; c < n && c < QDISC_STATS_MAX_CLASSES; c++) {
			char id[16], parent[16], name[TCPRIO_CLASS_NAME_LEN];

			qdisc_stats_handle_str(cls[c].classid, id, sizeof(id));
			qdisc_stats_handle_str(cls[c].parent, parent, sizeof(parent));
			qdisc_stats_class_name(dp->maps.classes, cls[c].classid, name, sizeof(name));
			json_array_append_new(arr, json_pack(
				"{s:s,s:i,s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
				"interface", json_string_value(json_object_get(v, "name")),
				"ifindex", ifindex, "classid", id, "parent", parent, "class", name,
				"leaf", cls[c].leaf,
				"sent_bytes", (json_int_t)cls[c].bytes,
				"sent_packets", (json_int_t)cls[c].packets,
				"drops", (json_int_t)cls[c].drops,
				"overlimits", (json_int_t)cls[c].overlimits,
				"backlog_bytes", (json_int_t)cls[c].backlog_bytes,
				"backlog_packets", (json_int_t)cls[c].backlog_packets,
				"rate_bytes_per_second", (json_int_t)cls[c].rate_Bps,
				"ceil_bytes_per_second", (json_int_t)cls[c].ceil_Bps));
		}
	}
	return arr;
}

/* The agent's site record (tcprio_site), the size of tcprio_destinations
 * and the uplink's LAN/WAN split (tcprio_scope_stats, summed over CPUs). */
static json_t *gather_site(const struct datapath *dp)
{
	struct tcprio_dest_key k, next, *prev = NULL;
	struct tcprio_counters tot[TCPRIO_SCOPE_COUNT] = {};
	int ncpu = libbpf_num_possible_cpus();
	struct tcprio_counters *v = calloc(ncpu > 0 ? ncpu : 1, sizeof(*v));
	struct tcprio_site s;
	json_int_t lan = 0, wan = 0;
	char summary[512];

	memset(&s, 0, sizeof(s));
	dest_map_read_site(dp->maps.site, &s);
	s.name[sizeof(s.name) - 1] = '\0';
	while (bpf_map_get_next_key(dp->maps.destinations, prev, &next) == 0 &&
	       lan + wan < TCPRIO_MAX_DESTINATIONS) {
		struct tcprio_dest d;

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(dp->maps.destinations, &k, &d) == 0) {
			if (d.scope == TCPRIO_SCOPE_LAN)
				lan++;
			else
				wan++;
		}
	}
	for (__u32 sc = 0; v && ncpu > 0 && sc < TCPRIO_SCOPE_COUNT; sc++)
		if (bpf_map_lookup_elem(dp->maps.scope_stats, &sc, v) == 0)
			for (int c = 0; c < ncpu; c++) {
				tot[sc].packets += v[c].packets;
				tot[sc].bytes += v[c].bytes;
			}
	free(v);
	cli_site_summary(&s, summary, sizeof(summary));
	return json_pack("{s:s,s:b,s:b,s:I,s:I,s:I,s:i,s:i,s:s,s:{s:I,s:I,s:I},"
			 "s:{s:{s:I,s:I},s:{s:I,s:I}}}",
		"name", s.name, "labelled", s.labelled, "gateway", s.gateway,
		"share_bps", (json_int_t)s.share_bps, "budget_bps", (json_int_t)s.budget_bps,
		"link_bps", (json_int_t)s.link_bps, "nodes", (int)s.nodes,
		"ready_nodes", (int)s.ready_nodes, "summary", summary,
		"destinations", "total", lan + wan, "lan", lan, "wan", wan,
		"scope_totals",
		"lan", "packets", (json_int_t)tot[TCPRIO_SCOPE_LAN].packets,
		"bytes", (json_int_t)tot[TCPRIO_SCOPE_LAN].bytes,
		"wan", "packets", (json_int_t)tot[TCPRIO_SCOPE_WAN].packets,
		"bytes", (json_int_t)tot[TCPRIO_SCOPE_WAN].bytes);
}

static json_t *gather(const struct datapath *dp, const char *pin_dir)
{
	struct class_table t;
	json_t *root = json_object();

	if (cli_read_classes(dp->maps.classes, &t))
		memset(&t, 0, sizeof(t));
	json_object_set_new(root, "pin_dir", json_string(pin_dir));
	json_object_set_new(root, "config", gather_config(dp, &t));
	json_object_set_new(root, "classes", gather_classes(dp));
	gather_interfaces(dp, root);
	json_object_set_new(root, "endpoints", gather_endpoints(dp, &t));
	json_object_set_new(root, "host", cli_gather_host(dp, &t));
	gather_counters(dp, &t, root);
	json_object_set_new(root, "site", gather_site(dp));
	json_object_set_new(root, "events", gather_events(dp));
	json_object_set_new(root, "queues", gather_queues(dp, root));
	return root;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static void print_human(json_t *root)
{
	json_t *cfg = json_object_get(root, "config"), *v, *ev;
	size_t i;
	const char *key;

	printf("tcprio datapath pinned at %s\n", jstr(root, "pin_dir"));
	if (json_is_object(cfg))
		printf("enabled %s, default class %s, trust DSCP %s, rewrite DSCP %s, "
		       "sanitize unknown %s\n",
		       json_is_true(json_object_get(cfg, "enabled")) ? "yes" : "no",
		       jstr(cfg, "default_class"),
		       json_is_true(json_object_get(cfg, "trust_dscp")) ? "yes" : "no",
		       json_is_true(json_object_get(cfg, "rewrite_dscp")) ? "yes" : "no",
		       json_is_true(json_object_get(cfg, "sanitize_unknown")) ? "yes" : "no");

	{
		json_t *site = json_object_get(root, "site");
		json_t *dst = json_object_get(site, "destinations"), *v2;
		const char *k2;

		printf("%s", jstr(site, "summary"));
		printf("; destinations map %" JSON_INTEGER_FORMAT " prefixes (%" JSON_INTEGER_FORMAT
		       " LAN, %" JSON_INTEGER_FORMAT " WAN)\nUplink LAN/WAN split:", 
		       json_integer_value(json_object_get(dst, "total")),
		       json_integer_value(json_object_get(dst, "lan")),
		       json_integer_value(json_object_get(dst, "wan")));
		json_object_foreach(json_object_get(site, "scope_totals"), k2, v2)
			printf(" %s %" JSON_INTEGER_FORMAT " packets %" JSON_INTEGER_FORMAT " bytes;",
			       k2, json_integer_value(json_object_get(v2, "packets")),
			       json_integer_value(json_object_get(v2, "bytes")));
		printf("\n");
	}
	printf("\nAttached interfaces:\n");
	if (!json_array_size(json_object_get(root, "interfaces")))
		printf("  (none)\n");
	else
		printf("  %-16s %-8s %-9s %-4s %s\n", "INTERFACE", "IFINDEX", "HOOK", "MODE", "STATE");
	json_array_foreach(json_object_get(root, "interfaces"), i, v) {
		json_t *at;
		size_t j;

		json_array_foreach(json_object_get(v, "attach"), j, at) {
			json_t *by = json_object_get(at, "preempted_by");

			printf("  %-16s %-8" JSON_INTEGER_FORMAT " %-9s %-4s ", jstr(v, "name"),
			       json_integer_value(json_object_get(v, "ifindex")), jstr(at, "hook"),
			       jstr(at, "mode"));
			if (json_is_object(by))
				printf("PRE-EMPTED (position %" JSON_INTEGER_FORMAT "): %s program id %"
				       JSON_INTEGER_FORMAT " '%s' runs first\n",
				       json_integer_value(json_object_get(at, "position")),
				       jstr(by, "kind"),
				       json_integer_value(json_object_get(by, "prog_id")),
				       jstr(by, "name"));
			else
				printf("first\n");
		}
	}
	if (json_array_size(json_object_get(root, "foreign_filters")))
		printf("Not attached (tcprio programs of another pin dir):\n");
	json_array_foreach(json_object_get(root, "foreign_filters"), i, v)
		printf("  %-16s ifindex %-6" JSON_INTEGER_FORMAT " %s: tcprio %s program of another "
		       "pin dir (prog id %" JSON_INTEGER_FORMAT ")\n", jstr(v, "name"),
		       json_integer_value(json_object_get(v, "ifindex")), jstr(v, "hook"),
		       jstr(v, "mode"), json_integer_value(json_object_get(v, "prog_id")));

	printf("\nClasses:\n  %-3s %-16s %-5s %-10s %s\n", "ID", "NAME", "DSCP", "PRIORITY", "FLAGS");
	json_array_foreach(json_object_get(root, "classes"), i, v)
		printf("  %-3" JSON_INTEGER_FORMAT " %-16s %-5" JSON_INTEGER_FORMAT " %-10s valid\n",
		       json_integer_value(json_object_get(v, "id")), jstr(v, "name"),
		       json_integer_value(json_object_get(v, "dscp")), jstr(v, "priority"));

	printf("\nEndpoints (%zu):\n  %-39s %-40s %-12s %-14s %s\n",
	       json_array_size(json_object_get(root, "endpoints")),
	       "IP", "POD", "CLASS", "SOURCE", "PORTS");
	json_array_foreach(json_object_get(root, "endpoints"), i, v) {
		json_t *p;
		size_t j;

		printf("  %-39s %-40s %-12s %-14s", jstr(v, "ip"), jstr(v, "pod"),
		       jstr(v, "class"), jstr(v, "source"));
		json_array_foreach(json_object_get(v, "ports"), j, p)
			printf("%s%" JSON_INTEGER_FORMAT "/%s=%s", j ? "," : " ",
			       json_integer_value(json_object_get(p, "port")),
			       jstr(p, "protocol"), jstr(p, "class"));
		if (json_is_object(json_object_get(v, "capped")))
			printf("  (capped: asked %s, ceiling by %s)",
			       jstr(json_object_get(v, "capped"), "asked"),
			       jstr(json_object_get(v, "capped"), "rule"));
		printf("\n");
	}

	cli_print_host(json_object_get(root, "host"));

	printf("\nCounters per class:\n  %-9s %-12s %14s %18s\n", "HOOK", "CLASS", "PACKETS", "BYTES");
	json_array_foreach(json_object_get(root, "class_totals"), i, v)
		printf("  %-9s %-12s %14" JSON_INTEGER_FORMAT " %18" JSON_INTEGER_FORMAT "\n",
		       jstr(v, "hook"), jstr(v, "class"),
		       json_integer_value(json_object_get(v, "packets")),
		       json_integer_value(json_object_get(v, "bytes")));

	printf("\nEvents:\n");
	json_object_foreach(json_object_get(root, "events"), key, ev) {
		const char *en;
		json_t *n;

		printf("  %-9s", key);
		json_object_foreach(ev, en, n)
			printf(" %s=%" JSON_INTEGER_FORMAT, en, json_integer_value(n));
		printf("\n");
	}

	printf("\nUplink queues (HTB classes; rates in bit/s):\n");
	if (!json_array_size(json_object_get(root, "queues")))
		printf("  (none: no attached uplink carries an HTB tree)\n");
	else
		printf("  %-12s %-7s %-10s %14s %12s %10s %10s %10s %8s %12s %12s\n", "INTERFACE",
		       "CLASSID", "CLASS", "SENT_BYTES", "SENT_PKTS", "DROPS", "OVERLIMITS",
		       "BACKLOG_B", "BACKLOG", "RATE", "CEIL");
	json_array_foreach(json_object_get(root, "queues"), i, v) {
#define QI(k) json_integer_value(json_object_get(v, k))
		printf("  %-12s %-7s %-10s %14" JSON_INTEGER_FORMAT " %12" JSON_INTEGER_FORMAT
		       " %10" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT
		       " %8" JSON_INTEGER_FORMAT " %12" JSON_INTEGER_FORMAT " %12" JSON_INTEGER_FORMAT "\n",
		       jstr(v, "interface"), jstr(v, "classid"),
		       *jstr(v, "class") ? jstr(v, "class") : "-", QI("sent_bytes"),
		       QI("sent_packets"), QI("drops"), QI("overlimits"), QI("backlog_bytes"),
		       QI("backlog_packets"), QI("rate_bytes_per_second") * 8,
		       QI("ceil_bytes_per_second") * 8);
#undef QI
	}
}

/* Without pins, what still runs: every interface with a tcprio program
 * attached, as a tc filter or a tcx link (an agent under `ip netns exec`
 * whose bpffs vanished, pins removed by hand), on stderr, so `tcprio status` does not say "nothing" while the
 * programs classify traffic. */
static void report_unpinned(void)
{
	static const char *const hooks[TCPRIO_HOOK_COUNT] = { "pod-edge", "uplink" };
	struct if_nameindex *ifs = if_nameindex(), *i;
	int n = 0;

	for (i = ifs; i && i->if_index; i++)
		for (int h = 0; h < TCPRIO_HOOK_COUNT; h++) {
			__u32 id = 0;

			if (datapath_attached_prog_id((int)i->if_index, (enum tcprio_hook)h, &id) != 1)
				continue;
			fprintf(stderr, "%s%s %s (program id %u)", n++ ? ", " : "tcprio: but tcprio "
				"programs without pins still run on: ", i->if_name, hooks[h], id);
		}
	if (n)
		fprintf(stderr, "; `tcprio detach --all` removes them\n");
	if (ifs)
		if_freenameindex(ifs);
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *pin_dir = NULL;
	struct datapath dp;
	bool as_json = false;
	json_t *root;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jP:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': as_json = true; break;
		case 'P': pin_dir = optarg; break;
		case 'h': fputs(cli_status_usage, stdout); return CLI_EXIT_OK;
		default: fputs(cli_status_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tcprio status: unexpected argument '%s'\n%s", argv[optind],
			cli_status_usage);
		return CLI_EXIT_USAGE;
	}
	pin_dir = datapath_pin_dir(pin_dir);
	rc = cli_open(&dp, pin_dir);
	if (rc) {
		report_unpinned();
		return rc;
	}
	root = gather(&dp, pin_dir);
	datapath_close(&dp);
	if (as_json) {
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("\n");
	} else {
		print_human(root);
	}
	json_decref(root);
	return CLI_EXIT_OK;
}
