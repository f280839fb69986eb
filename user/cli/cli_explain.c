/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_explain.c - `tcprio explain POD|IP [--json] [--pin-dir DIR]`: the
 * class the datapath uses for a pod's traffic and every step that decided
 * it, as the agent sees it (its explain socket, lib/explain_sock.h; answer
 * shape in agent/explain.h), cross-checked with the pinned maps: each IP
 * whose entry the agent says is the pod's must be in tcprio_endpoints with
 * the same pod id, class and source, and every port rule in
 * tcprio_port_rules with the same class.
 *
 * Exit: 0 the agent and the maps agree; 1 error (agent not reachable, pod
 * or IP unknown, nothing pinned); 2 usage; 3 the agent and the maps
 * disagree (each difference is printed).
 * --json prints the agent's answer plus "datapath": { "agrees": bool,
 * "checked": [str], "disagreements": [str] } and "site"."summary": the
 * sentence on the node's site and WAN shaping that `tcprio status` prints
 * (cli_site_summary of the pinned tcprio_site record).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <jansson.h>
#include "lib/explain_sock.h"
#include "policy/class_table.h"
#include "cli/cli.h"
#include "dp/datapath.h"
#include "dp/dest_map.h"
#include "kube/pod.h"

const char cli_explain_usage[] =
	"usage: tcprio explain NAMESPACE/POD|IP [--json] [--pin-dir DIR]\n"
	"  the class the datapath uses for the pod (or the pod holding IP) and\n"
	"  every step that decided it (annotations, label rules, default, the\n"
	"  namespace ceiling: capped or not, by which rule), from\n"
	"  the running agent, cross-checked with the pinned maps.  Root only.\n"
	"  Exit 0: agent and maps agree; 1: error; 3: they disagree.\n";

static const char *const source_names[] = {
	"default", "annotation", "label-rule", "manual", "bad-annotation",
};

static const char *source_name(unsigned s)
{
	return s < sizeof(source_names) / sizeof(source_names[0]) ? source_names[s] : "unknown";
}

/* Ask the agent of pin_dir; returns its JSON answer or NULL (message printed). */
static json_t *ask_agent(const char *pin_dir, const char *query)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[sizeof(sa.sun_path)], req[EXPLAIN_SOCK_MAX_REQUEST], buf[1 << 16];
	size_t n = 0;
	ssize_t r;
	json_error_t jerr;
	json_t *j;
	int fd;

	if (explain_socket_path(pin_dir, path, sizeof(path))) {
		fprintf(stderr, "tcprio explain: pin folder %s: name too long for the agent's socket\n",
			pin_dir);
		return NULL;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(req, sizeof(req), "%s %s\n", strchr(query, '/') ? "pod" : "ip", query);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "tcprio explain: cannot reach the agent at %s: %s (is the agent of "
			"%s running? root only)\n", path, strerror(errno), pin_dir);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		fprintf(stderr, "tcprio explain: %s: %s\n", path, strerror(errno));
		close(fd);
		return NULL;
	}
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	buf[n] = '\0';
	j = json_loads(buf, 0, &jerr);
	if (!j)
		fprintf(stderr, "tcprio explain: the agent's answer is not JSON (%s): %.200s\n",
			jerr.text, buf);
	return j;
}

static uint8_t proto_num(const char *s)
{
	return !strcmp(s, "tcp") ? IPPROTO_TCP : !strcmp(s, "udp") ? IPPROTO_UDP : IPPROTO_SCTP;
}

__attribute__((format(printf, 2, 3)))
static void add(json_t *arr, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	json_array_append_new(arr, json_string(line));
}

/* The namespace ceiling: the agent's "ceiling" against the entry's
 * TCPRIO_EP_CAPPED flag and asked_class (include/tcprio.h). */
static void check_capped(const struct class_table *t, json_t *ans, const char *ips,
			 const struct tcprio_endpoint *ep, json_t *checked, json_t *bad)
{
	json_t *c = json_object_get(ans, "ceiling");
	bool want = json_is_true(json_object_get(c, "capped"));
	bool have = ep->flags & TCPRIO_EP_CAPPED;
	const char *asked = json_string_value(json_object_get(c, "asked_class"));
	const char *map_asked = ep->asked_class < TCPRIO_MAX_CLASSES && ep->asked_class < t->n_classes ?
				t->classes[ep->asked_class].name : "?";

	if (want != have)
		add(bad, "%s: the agent says the class is %scapped, the map's capped flag is %s",
		    ips, want ? "" : "not ", have ? "set" : "clear");
	else if (want && strcmp(asked ? asked : "", map_asked))
		add(bad, "%s: the agent says asked class %s, the map holds asked class %s", ips,
		    asked ? asked : "?", map_asked);
	else if (want)
		add(checked, "%s: tcprio_endpoints marks it capped, asked class %s", ips, map_asked);
}

/* The port rules the datapath reads instead of tcprio_port_rules (the
 * entry's inline ones, or its rule block's: where, rules[0..n) with unused
 * slots of protocol 0; a block's first n_rules) against the agent's rules in ports: every rule
 * there with its class, nothing else.  Returns how many it holds, or -1
 * after adding a disagreement to bad. */
static long check_rule_list(const struct class_table *t, const char *ips, const char *where,
			    const struct tcprio_ep_rule *rules, int n, json_t *ports, json_t *bad)
{
	size_t k, used = 0;
	json_t *po;

	for (int r = 0; r < n; r++)
		used += rules[r].protocol != 0;
	if (used != json_array_size(ports)) {
		add(bad, "%s: the agent has %zu port rule(s), the %s rules (the ones the datapath "
		    "uses) are %zu", ips, json_array_size(ports), where, used);
		return -1;
	}
	json_array_foreach(ports, k, po) {
		int port = (int)json_integer_value(json_object_get(po, "port"));
		const char *proto = json_string_value(json_object_get(po, "protocol"));
		unsigned cid = (unsigned)json_integer_value(json_object_get(po, "class_id"));
		const struct tcprio_ep_rule *hit = NULL;

		for (int r = 0; r < n && !hit; r++)
			if (rules[r].port == port && rules[r].protocol == proto_num(proto ? proto : ""))
				hit = &rules[r];
		if (!hit || hit->class_id != cid) {
			add(bad, "%s port %d/%s: the agent says class %s, the %s rule (the one the "
			    "datapath uses) %s%s", ips, port, proto,
			    json_string_value(json_object_get(po, "class")), where,
			    hit ? "holds " : "is missing",
			    hit ? (hit->class_id < t->n_classes ? t->classes[hit->class_id].name : "?") : "");
			return -1;
		}
	}
	return (long)used;
}

/* The entry's own copy of its port rules, if it has one: inline
 * (TCPRIO_EP_RULES_INLINE) or its rule block (TCPRIO_EP_RULES_BLOCK, which
 * must hold its pod_id), checked by check_rule_list. */
static void check_listed_rules(const struct datapath *dp, const struct class_table *t,
			       const char *ips, const struct tcprio_endpoint *ep, json_t *ports,
			       json_t *checked, json_t *bad)
{
	struct tcprio_rule_block b;
	__u32 k = ep->rule_block;
	long n;

	if (ep->flags & TCPRIO_EP_RULES_INLINE) {
		n = check_rule_list(t, ips, "inline", ep->rules, TCPRIO_EP_INLINE_RULES, ports, bad);
		if (n >= 0)
			add(checked, "%s: the entry carries its %ld port rule(s) inline, as the agent "
			    "says", ips, n);
		return;
	}
	if (!(ep->flags & TCPRIO_EP_RULES_BLOCK))
		return;
	if (bpf_map_lookup_elem(dp->maps.rule_blocks, &k, &b) || b.pod_id != ep->pod_id) {
		add(bad, "%s: the entry names rule block %u, which is not its pod's (the datapath "
		    "looks its rules up in tcprio_port_rules)", ips, k);
		return;
	}
	n = check_rule_list(t, ips, "rule block's", b.rules,
			    b.n_rules < TCPRIO_BLOCK_RULES ? (int)b.n_rules : TCPRIO_BLOCK_RULES, ports, bad);
	if (n >= 0)
		add(checked, "%s: rule block %u carries its %ld port rule(s), as the agent says",
		    ips, k, n);
}

/* Compare the agent's answer for one pod with the pinned maps. */
static json_t *cross_check(const struct datapath *dp, const struct class_table *t, json_t *ans)
{
	json_t *checked = json_array(), *bad = json_array(), *ipo, *po;
	const char *uid = json_string_value(json_object_get(ans, "uid"));
	uint64_t pod_id = pod_id_from_uid(uid ? uid : "");
	bool entry = json_is_true(json_object_get(ans, "entry"));
	unsigned want_class = (unsigned)json_integer_value(json_object_get(ans, "class_id"));
	const char *want_src = json_string_value(json_object_get(ans, "source"));
	json_t *ports = json_object_get(ans, "ports");
	size_t i, k;

	json_array_foreach(json_object_get(ans, "ips"), i, ipo) {
		const char *ips = json_string_value(json_object_get(ipo, "ip"));
		struct tcprio_endpoint ep;
		struct tcprio_ip ip;
		bool in_map;

		if (!ips || ip_from_string(ips, &ip))
			continue;
		in_map = bpf_map_lookup_elem(dp->maps.endpoints, &ip, &ep) == 0;
		if (!json_is_true(json_object_get(ipo, "owner"))) {
			if (in_map && ep.pod_id == pod_id)
				add(bad, "%s: the agent says another entry holds it, the map holds this "
				    "pod's", ips);
			else
				add(checked, "%s: held by %s, not this pod (IP reused or manual)", ips,
				    in_map ? "another entry" : "no entry");
			continue;
		}
		if (!entry) {
			if (in_map && ep.pod_id == pod_id)
				add(bad, "%s: the agent gives the pod no entry, the map has one (class %s)",
				    ips, ep.class_id < TCPRIO_MAX_CLASSES ? t->classes[ep.class_id].name : "?");
			continue;
		}
		if (!in_map) {
			add(bad, "%s: the agent wants class %s, the map has no entry", ips,
			    json_string_value(json_object_get(ans, "class")));
			continue;
		}
		if (ep.pod_id != pod_id)
			add(bad, "%s: the map's entry belongs to another pod (pod id %016llx, this pod "
			    "%016llx)", ips, (unsigned long long)ep.pod_id, (unsigned long long)pod_id);
		else if (ep.class_id != want_class || strcmp(source_name(ep.source), want_src ? want_src : ""))
			add(bad, "%s: the agent says class %s (%s), the map holds class %s (%s)", ips,
			    json_string_value(json_object_get(ans, "class")), want_src,
			    ep.class_id < TCPRIO_MAX_CLASSES ? t->classes[ep.class_id].name : "?",
			    source_name(ep.source));
		else
			add(checked, "%s: tcprio_endpoints holds class %s, source %s", ips,
			    t->classes[ep.class_id].name, source_name(ep.source));
		check_capped(t, ans, ips, &ep, checked, bad);
		if (!!(ep.flags & TCPRIO_EP_HAS_PORT_RULES) != (json_array_size(ports) > 0))
			add(bad, "%s: the agent has %zu port rule(s), the map's port-rules flag is %s", ips,
			    json_array_size(ports), ep.flags & TCPRIO_EP_HAS_PORT_RULES ? "set" : "clear");
		json_array_foreach(ports, k, po) {
			struct tcprio_port_key pk = { .ip = ip };
			struct tcprio_port_rule pr;
			int port = (int)json_integer_value(json_object_get(po, "port"));
			const char *proto = json_string_value(json_object_get(po, "protocol"));
			unsigned cid = (unsigned)json_integer_value(json_object_get(po, "class_id"));

			pk.port = (__u16)port;
			pk.protocol = proto_num(proto ? proto : "");
			if (bpf_map_lookup_elem(dp->maps.port_rules, &pk, &pr))
				add(bad, "%s port %d/%s: the agent wants class %s, tcprio_port_rules has no "
				    "rule", ips, port, proto, json_string_value(json_object_get(po, "class")));
			else if (pr.class_id != cid)
				add(bad, "%s port %d/%s: the agent says class %s, the map holds %s", ips,
				    port, proto, json_string_value(json_object_get(po, "class")),
				    pr.class_id < TCPRIO_MAX_CLASSES ? t->classes[pr.class_id].name : "?");
			else
				add(checked, "%s port %d/%s: tcprio_port_rules holds class %s", ips, port,
				    proto, t->classes[pr.class_id].name);
		}
		check_listed_rules(dp, t, ips, &ep, ports, checked, bad);
	}
	return json_pack("{s:b,s:o,s:o}", "agrees", json_array_size(bad) == 0, "checked", checked,
			 "disagreements", bad);
}

/* An IP the agent knows no pod for: what does the map say? */
static int unknown_ip(const struct datapath *dp, const struct class_table *t, const char *q,
		      const char *agent_err, bool as_json)
{
	struct tcprio_endpoint ep;
	struct tcprio_ip ip;

	if (ip_from_string(q, &ip) || bpf_map_lookup_elem(dp->maps.endpoints, &ip, &ep)) {
		fprintf(stderr, "tcprio explain: %s; no tcprio_endpoints entry for it either\n",
			agent_err);
		return CLI_EXIT_ERROR;
	}
	if (as_json) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:{s:b}}", "ip", q, "class",
				      ep.class_id < TCPRIO_MAX_CLASSES ? t->classes[ep.class_id].name : "?",
				      "source", source_name(ep.source), "datapath", "agrees",
				      ep.source == TCPRIO_SRC_MANUAL);
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("\n");
		json_decref(o);
	}
	if (ep.source == TCPRIO_SRC_MANUAL) {
		if (!as_json)
			printf("%s: manual entry (tcprio endpoint add), class %s; not a pod\n", q,
			       t->classes[ep.class_id].name);
		return CLI_EXIT_OK;
	}
	fprintf(stderr, "tcprio explain: DISAGREE: %s; tcprio_endpoints holds %s with class %s, "
		"source %s\n", agent_err, q,
		ep.class_id < TCPRIO_MAX_CLASSES ? t->classes[ep.class_id].name : "?",
		source_name(ep.source));
	return CLI_EXIT_DISAGREE;
}

static const char *js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* Add "summary" (cli_site_summary of the pinned tcprio_site, what status
 * prints) to the answer's "site" object (made if the agent sent none). */
static void add_site_summary(const struct datapath *dp, json_t *ans)
{
	struct tcprio_site rec;
	char summary[512];
	json_t *site = json_object_get(ans, "site");

	memset(&rec, 0, sizeof(rec));
	dest_map_read_site(dp->maps.site, &rec); /* unreadable: all zero, "not shaped" */
	cli_site_summary(&rec, summary, sizeof(summary));
	if (!json_is_object(site)) {
		site = json_object();
		json_object_set_new(ans, "site", site);
	}
	json_object_set_new(site, "summary", json_string(summary));
}

static void print_human(json_t *ans, json_t *dpj)
{
	json_t *v;
	size_t i, n = 1;

	printf("pod %s (uid %s)\n", js(ans, "pod"), js(ans, "uid"));
	json_array_foreach(json_object_get(ans, "ips"), i, v)
		printf("  IP %s%s\n", js(v, "ip"), json_is_true(json_object_get(v, "owner")) ? "" :
		       " (its map entry is another pod's or a manual one)");
	if (json_is_true(json_object_get(ans, "entry")))
		printf("class %s (priority %s, DSCP %" JSON_INTEGER_FORMAT "), source %s\n",
		       js(ans, "class"), js(ans, "priority"),
		       json_integer_value(json_object_get(ans, "dscp")), js(ans, "source"));
	else
		printf("no map entry\n");
	v = json_object_get(ans, "ceiling");
	if (json_is_true(json_object_get(v, "capped")))
		printf("capped: asked class %s, lowered to the namespace ceiling %s set by %s%s%s%s\n",
		       js(v, "asked_class"), js(v, "class"), js(v, "rule"),
		       json_is_string(json_object_get(v, "selector")) ? " (namespaceSelector " : "",
		       js(v, "selector"), json_is_string(json_object_get(v, "selector")) ? ")" : "");
	json_array_foreach(json_object_get(ans, "ports"), i, v)
		printf("  port %" JSON_INTEGER_FORMAT "/%s -> class %s\n",
		       json_integer_value(json_object_get(v, "port")), js(v, "protocol"),
		       js(v, "class"));
	printf("%s\n", js(json_object_get(ans, "site"), "summary"));
	printf("decided by:\n");
	json_array_foreach(json_object_get(ans, "steps"), i, v)
		printf("  %zu. %-17s %-15s %s\n", n++, js(v, "step"), js(v, "result"), js(v, "detail"));
	printf("datapath (pinned maps):\n");
	json_array_foreach(json_object_get(dpj, "checked"), i, v)
		printf("  ok        %s\n", json_string_value(v));
	json_array_foreach(json_object_get(dpj, "disagreements"), i, v)
		printf("  DISAGREE  %s\n", json_string_value(v));
}

int cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *pin_dir = NULL, *q;
	struct class_table t;
	struct datapath dp;
	bool as_json = false;
	json_t *ans, *dpj;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jP:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': as_json = true; break;
		case 'P': pin_dir = optarg; break;
		case 'h': fputs(cli_explain_usage, stdout); return CLI_EXIT_OK;
		default: fputs(cli_explain_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "tcprio explain: expected one NAMESPACE/POD or IP\n%s", cli_explain_usage);
		return CLI_EXIT_USAGE;
	}
	q = argv[optind];
	if (!strchr(q, '/')) {
		struct tcprio_ip ip;

		if (ip_from_string(q, &ip)) {
			fprintf(stderr, "tcprio explain: '%s': expected NAMESPACE/POD or an IPv4/IPv6 "
				"address\n", q);
			return CLI_EXIT_USAGE;
		}
	}
	pin_dir = datapath_pin_dir(pin_dir);
	rc = cli_open(&dp, pin_dir);
	if (rc)
		return rc;
	if (cli_read_classes(dp.maps.classes, &t))
		memset(&t, 0, sizeof(t));
	ans = ask_agent(pin_dir, q);
	if (!ans) {
		datapath_close(&dp);
		return CLI_EXIT_ERROR;
	}
	if (json_object_get(ans, "error")) {
		rc = strchr(q, '/') ? CLI_EXIT_ERROR : unknown_ip(&dp, &t, q, js(ans, "error"), as_json);
		if (strchr(q, '/'))
			fprintf(stderr, "tcprio explain: %s\n", js(ans, "error"));
		json_decref(ans);
		datapath_close(&dp);
		return rc;
	}
	dpj = cross_check(&dp, &t, ans);
	add_site_summary(&dp, ans);
	datapath_close(&dp);
	rc = json_is_true(json_object_get(dpj, "agrees")) ? CLI_EXIT_OK : CLI_EXIT_DISAGREE;
	if (as_json) {
		json_object_set(ans, "datapath", dpj);
		json_dumpf(ans, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("\n");
	} else {
		print_human(ans, dpj);
	}
	if (rc == CLI_EXIT_DISAGREE)
		fprintf(stderr, "tcprio explain: the agent's state and the pinned maps DISAGREE for %s "
			"(see above); the agent rewrites failed entries every 10 s: if this lasts, "
			"restart the agent\n", q);
	json_decref(dpj);
	json_decref(ans);
	return rc;
}
