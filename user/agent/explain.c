/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * explain.c - `tcprio explain` answers from the agent; see explain.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <netinet/in.h>
#include "lib/explain_sock.h"
#include "lib/log.h"
#include "policy/policy.h"
#include "agent/agent_internal.h"
#include "agent/explain.h"

static const char *const source_names[] = {
	"default", "annotation", "label-rule", "manual", "bad-annotation",
};

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : p == IPPROTO_SCTP ? "sctp" : "?";
}

static void step(json_t *steps, const char *name, const char *result, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void step(json_t *steps, const char *name, const char *result, const char *fmt, ...)
{
	char detail[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	json_array_append_new(steps, json_pack("{s:s,s:s,s:s}", "step", name, "result", result,
					       "detail", detail));
}

/* Why p gets no map entry (policy.h's order). */
static const char *no_entry_reason(const struct pod *p)
{
	if (p->host_network)
		return "host-network pod: its traffic is the node's";
	if (p->n_ips == 0)
		return "no pod IP yet";
	if (p->finished)
		return "finished (Succeeded or Failed)";
	return "being deleted";
}

static void label_rule_text(const struct label_rule *r, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < r->n_labels && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s=%s", i ? "," : "", r->keys[i],
				r->values[i]);
}

/* The ceiling rule's name as `tcprio status` prints it: namespaceCeilings[N],
 * defaultCeiling or unknown-namespace. */
static void ceiling_rule_name(int rule, char *buf, size_t len)
{
	if (rule >= 0)
		snprintf(buf, len, "namespaceCeilings[%d]", rule);
	else
		snprintf(buf, len, "%s", rule == CEILING_RULE_DEFAULT ? "defaultCeiling" :
			 "unknown-namespace");
}

/* What set the ceiling, for people: the rule and its selector. */
static void ceiling_rule_why(const struct class_table *t, const struct pod_policy *pol,
			     char *buf, size_t len)
{
	char sel[384];

	if (pol->ceiling_rule >= 0 && pol->ceiling_rule < t->n_ceilings) {
		label_selector_text(&t->ceilings[pol->ceiling_rule].sel, sel, sizeof(sel));
		snprintf(buf, len, "namespaceCeilings[%d] (namespaceSelector %s, maxClass %s)",
			 pol->ceiling_rule, sel, t->classes[pol->ceiling].name);
	} else if (pol->ceiling_rule == CEILING_RULE_DEFAULT) {
		snprintf(buf, len, "defaultCeiling %s (no namespaceSelector matches)",
			 t->classes[pol->ceiling].name);
	} else {
		snprintf(buf, len, "the strictest ceiling of the table, %s (the agent does not "
			 "know the namespace yet)", t->classes[pol->ceiling].name);
	}
}

/*
 * The namespace ceiling step (issue 12): whether p's class, or a port
 * rule's, was lowered to its namespace's ceiling, and which rule set that
 * ceiling; else which ceiling applies, or that none does.  Adds
 * "ceiling" to o: null without a ceiling, else { "class", "rule", "selector" (null
 * unless a namespaceCeilings rule), "capped", "asked_class", "message" }.
 */
static void ceiling_step(const struct class_table *t, const struct pod *p,
			 const struct pod_policy *pol, json_t *steps, json_t *o)
{
	char why[512], rule[40], sel[384] = "";
	json_t *c;

	if (pol->ceiling < 0 || pol->ceiling >= t->n_classes) {
		if (!t->n_ceilings && t->default_ceiling < 0)
			step(steps, "namespace ceiling", "none", "the class table sets no "
			     "namespaceCeilings nor defaultCeiling");
		else
			step(steps, "namespace ceiling", "none", "namespace %s matches none of the "
			     "%d namespaceCeilings selector(s) and the table sets no defaultCeiling",
			     p->namespace_, t->n_ceilings);
		json_object_set_new(o, "ceiling", json_null());
		return;
	}
	ceiling_rule_why(t, pol, why, sizeof(why));
	ceiling_rule_name(pol->ceiling_rule, rule, sizeof(rule));
	if (pol->ceiling_rule >= 0 && pol->ceiling_rule < t->n_ceilings)
		label_selector_text(&t->ceilings[pol->ceiling_rule].sel, sel, sizeof(sel));
	if (pol->capped)
		step(steps, "namespace ceiling", "capped", "asked class %s (%s), ceiling %s set by "
		     "%s for namespace %s: %s", t->classes[pol->asked_class].name,
		     policy_source_text(pol->source), t->classes[pol->ceiling].name, why,
		     p->namespace_, pol->capped_msg);
	else
		step(steps, "namespace ceiling", "not capped", "ceiling %s set by %s for namespace "
		     "%s; class %s%s is within it", t->classes[pol->ceiling].name, why,
		     p->namespace_, t->classes[pol->class_id].name,
		     pol->n_ports ? " and the port rules" : "");
	c = json_pack("{s:s,s:s,s:b,s:s,s:s}", "class", t->classes[pol->ceiling].name,
		      "rule", rule, "capped", pol->capped,
		      "asked_class", t->classes[pol->asked_class].name,
		      "message", pol->capped ? pol->capped_msg : "");
	json_object_set_new(c, "selector", sel[0] ? json_string(sel) : json_null());
	json_object_set_new(o, "ceiling", c);
}

/*
 * Hook for the steps later issues add after the class is decided (the
 * site / LAN-WAN scope: issue 9).  Append { "step", "result", "detail" }
 * objects to steps, and keys of their own to o (added to the answer after
 * its other keys).
 */
static void explain_more(const struct class_table *t, const struct pod *p,
			 const struct pod_policy *pol, json_t *steps, json_t *o)
{
	ceiling_step(t, p, pol, steps, o);
}

static void decision_steps(const struct class_table *t, const struct pod *p,
			   const struct pod_policy *pol, json_t *steps, json_t *o)
{
	const char *dflt = t->classes[t->default_class].name;
	bool class_ok = pol->source == TCPRIO_SRC_ANNOTATION;
	char rule[256];

	if (!pol->wants_entry) {
		step(steps, "entry", "none", "%s: no map entry; traffic from its IPs gets the "
		     "default class %s at the pod edge only if another pod or a manual entry "
		     "does not hold them", no_entry_reason(p), dflt);
		json_object_set_new(o, "ceiling", json_null());
		return;
	}
	step(steps, "entry", "yes", "running pod with %d IP(s) of its own network", p->n_ips);
	if (!p->class_annotation)
		step(steps, "class annotation", "absent", "no " ANNOTATION_CLASS " annotation");
	else if (class_ok)
		step(steps, "class annotation", "used", ANNOTATION_CLASS "=\"%s\"",
		     p->class_annotation);
	else  /* present but not used: only a bad value does that (policy.h) */
		step(steps, "class annotation", "rejected", "%s", pol->warning);

	if (!p->ports_annotation)
		step(steps, "ports annotation", "absent", "no " ANNOTATION_PORTS " annotation");
	else if (p->class_annotation && !class_ok)
		step(steps, "ports annotation", "ignored", "the class annotation was rejected");
	else if (pol->warning[0] && strstr(pol->warning, ANNOTATION_PORTS "=\""))
		step(steps, "ports annotation", "rejected", "%s", pol->warning);
	else
		step(steps, "ports annotation", "used", ANNOTATION_PORTS "=\"%s\": %d rule(s)",
		     p->ports_annotation, pol->n_ports);

	if (p->class_annotation)
		step(steps, "label rules", "not consulted", "the class annotation decides");
	else if (pol->label_rule >= 0) {
		label_rule_text(&t->rules[pol->label_rule], rule, sizeof(rule));
		step(steps, "label rules", pol->source == TCPRIO_SRC_LABEL_RULE ? "matched" :
		     "matched, overridden", "rule #%d (matchLabels %s) -> class %s%s",
		     pol->label_rule + 1, rule, t->classes[t->rules[pol->label_rule].class_id].name,
		     pol->source == TCPRIO_SRC_LABEL_RULE ? "" : "; the rejected ports annotation "
		     "sends the pod to the default class");
	} else {
		step(steps, "label rules", "no match", "none of the %d rule(s) matches the pod's "
		     "%d label(s)", t->n_rules, p->n_labels);
	}
	if (pol->source == TCPRIO_SRC_DEFAULT || pol->source == TCPRIO_SRC_BAD_ANNOTATION)
		step(steps, "default class", "used", "class %s", dflt);
	else
		step(steps, "default class", "not used", "class %s", dflt);
	explain_more(t, p, pol, steps, o);
}

json_t *explain_pod(const struct class_table *t, const struct pod *p,
		    const struct label_set *ns, const bool *owns)
{
	struct pod_policy pol;
	json_t *o = json_object(), *ips = json_array(), *ports = json_array(), *steps = json_array();
	json_t *more = json_object();
	const struct class_def *c;
	char name[384], ipb[64], prio[16];

	policy_decide_ns(t, p, ns, &pol);
	c = &t->classes[pol.class_id];
	snprintf(name, sizeof(name), "%s/%s", p->namespace_, p->name);
	for (int i = 0; i < p->n_ips; i++)
		json_array_append_new(ips, json_pack("{s:s,s:b}", "ip",
						     ip_to_string(&p->ips[i], ipb, sizeof(ipb)),
						     "owner", owns ? owns[i] : 0));
	for (int i = 0; i < pol.n_ports; i++)
		json_array_append_new(ports, json_pack("{s:i,s:s,s:s,s:i}", "port", pol.ports[i].port,
			"protocol", proto_name(pol.ports[i].protocol),
			"class", t->classes[pol.ports[i].class_id].name,
			"class_id", (int)pol.ports[i].class_id));
	decision_steps(t, p, &pol, steps, more);
	snprintf(prio, sizeof(prio), "%x:%x", c->priority >> 16, c->priority & 0xffff);
	json_object_set_new(o, "pod", json_string(name));
	json_object_set_new(o, "uid", json_string(p->uid));
	json_object_set_new(o, "ips", ips);
	json_object_set_new(o, "entry", json_boolean(pol.wants_entry));
	json_object_set_new(o, "class", json_string(c->name));
	json_object_set_new(o, "class_id", json_integer(pol.class_id));
	json_object_set_new(o, "priority", json_string(prio));
	json_object_set_new(o, "dscp", json_integer(c->dscp));
	json_object_set_new(o, "source", json_string(pol.source < 5 ? source_names[pol.source] : "?"));
	json_object_set_new(o, "ports", ports);
	json_object_set_new(o, "steps", steps);
	json_object_set_new(o, "warning", json_string(pol.warning));
	json_object_update(o, more);
	json_decref(more);
	return o;
}

/* ---- site (issue 9): agent state, not the pod's ---- */

/*
 * The "site" step and object of an answer (a->lock held): the node's site,
 * and which destinations of the pod's traffic are LAN (the LAN leaf 1:fffe
 * at the link's speed) or WAN (its class leaf under the WAN branch 1:fffd).
 * A scope belongs to a destination, not to a pod, so this says what decides
 * it for this node.  The WAN share, budget and result come from the record
 * the agent writes to tcprio_site (agent_site_record), which `tcprio status`
 * reads: "shaped" only when this node's uplinks shape a site share (not with
 * a budget but no --uplink).  The share is not worded here: `tcprio explain`
 * prints the sentence status prints, made from that record by one function
 * (cli_site_summary), so that the two cannot disagree.
 */
static void explain_site(const struct agent *a, json_t *out)
{
	const struct site_view *v = &a->sites.view;
	const struct class_table *t = &a->table;
	json_t *steps = json_object_get(out, "steps");
	const char *prio = json_string_value(json_object_get(out, "priority"));
	struct tcprio_site rec;
	char where[1024];
	const char *result;

	agent_site_record(a, &rec);
	if (a->o.gateway) {
		result = "gateway";
		snprintf(where, sizeof(where), "gateway mode: all traffic of the uplink is the "
			 "site's WAN at --uplink-rate %llu bit/s; LAN only for localCIDRs (%d)",
			 (unsigned long long)rec.share_bps, t->n_local_cidrs);
	} else if (!a->sites.have_view) {
		result = "unknown";
		snprintf(where, sizeof(where), "%s; destinations: localCIDRs (%d) LAN, "
			 "remoteCIDRs (%d) and the rest WAN", a->o.no_kube ?
			 "no Node watch (--no-kube): no site" : "the Nodes are not listed yet",
			 t->n_local_cidrs, t->n_remote_cidrs);
	} else {
		result = rec.budget_bps && rec.share_bps ? "shaped" : "not shaped";
		snprintf(where, sizeof(where), "site %s (%s%s), %d of %d nodes Ready; LAN: "
			 "the addresses and pod CIDRs of the site's nodes and localCIDRs (%d); "
			 "WAN: remoteCIDRs (%d) and everything else", v->site,
			 v->labelled ? t->site_label : "no ", v->labelled ? "" : "site label: own site",
			 v->ready_nodes, v->nodes, t->n_local_cidrs, t->n_remote_cidrs);
	}
	step(steps, "site", result, "%s; to a LAN destination the pod's packets take the LAN "
	     "leaf 1:fffe (the link's speed, GSO kept), to a WAN one its class's leaf %s under "
	     "the WAN branch 1:fffd", where, prio ? prio : "?");
	json_object_set_new(out, "site", json_pack("{s:s,s:s,s:b,s:I,s:I,s:I,s:i,s:i}",
		"name", rec.name, "result", result, "gateway", a->o.gateway,
		"share_bps", (json_int_t)rec.share_bps, "budget_bps", (json_int_t)rec.budget_bps,
		"link_bps", (json_int_t)rec.link_bps, "nodes", (int)rec.nodes,
		"ready_nodes", (int)rec.ready_nodes));
}

/* ---- server ---- */

struct explain_server {
	struct agent *a;
	int fd;
	char path[108];
	atomic_bool stop;
	pthread_t thread;
};

static json_t *answer(struct agent *a, char *req)
{
	struct endpoint_sync_view v;
	struct tcprio_ip ip;
	char *slash, *arg;
	json_t *out;
	int err;

	req[strcspn(req, "\r\n")] = '\0';
	if (!strncmp(req, "pod ", 4)) {
		arg = req + 4;
		slash = strchr(arg, '/');
		if (!slash || slash == arg || !slash[1])
			return json_pack("{s:s}", "error", "expected a pod as NAMESPACE/NAME");
		*slash = '\0';
		pthread_mutex_lock(&a->lock);
		err = a->sync ? endpoint_sync_find(a->sync, arg, slash + 1, NULL, &v) : -ENOENT;
		*slash = '/';
	} else if (!strncmp(req, "ip ", 3)) {
		arg = req + 3;
		if (ip_from_string(arg, &ip))
			return json_pack("{s:s}", "error", "expected an IPv4 or IPv6 address");
		pthread_mutex_lock(&a->lock);
		err = a->sync ? endpoint_sync_find(a->sync, NULL, NULL, &ip, &v) : -ENOENT;
	} else {
		return json_pack("{s:s}", "error", "expected \"pod NAMESPACE/NAME\" or \"ip ADDRESS\"");
	}
	if (err) {
		char msg[600];

		snprintf(msg, sizeof(msg), "the agent knows no pod %s%s", arg,
			 a->o.no_kube ? " (it runs with --no-kube)" : " on this node");
		out = json_pack("{s:s}", "error", msg);
	} else {
		out = explain_pod(&a->table, v.pod, endpoint_sync_ns_labels(a->sync, v.pod), v.owns);
		explain_site(a, out);
	}
	pthread_mutex_unlock(&a->lock);
	return out;
}

static void serve_one(struct explain_server *s, int c)
{
	char req[EXPLAIN_SOCK_MAX_REQUEST];
	struct timeval tv = { .tv_sec = 2 };
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	ssize_t n = 0, r;
	json_t *out;
	char *text;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) || cred.uid != 0)
		return;
	while (n < (ssize_t)sizeof(req) - 1 && (r = read(c, req + n, sizeof(req) - 1 - (size_t)n)) > 0) {
		n += r;
		if (memchr(req, '\n', (size_t)n))
			break;
	}
	req[n > 0 ? n : 0] = '\0';
	out = answer(s->a, req);
	text = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	if (text) {
		size_t len = strlen(text), off = 0;

		while (off < len && (r = write(c, text + off, len - off)) > 0)
			off += (size_t)r;
		free(text);
	}
}

static void *serve(void *arg)
{
	struct explain_server *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 200) <= 0)
			continue;
		c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve_one(s, c);
		close(c);
	}
	return NULL;
}

struct explain_server *explain_server_start(struct agent *a, const char *path,
					    char *err, size_t errlen)
{
	struct explain_server *s = calloc(1, sizeof(*s));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->a = a;
	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (mkdir(EXPLAIN_SOCK_DIR, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", EXPLAIN_SOCK_DIR, strerror(errno));
		free(s);
		return NULL;
	}
	unlink(path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) ||
	    listen(s->fd, 8)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return NULL;
	}
	atomic_init(&s->stop, false);
	if (pthread_create(&s->thread, NULL, serve, s)) {
		snprintf(err, errlen, "pthread_create failed");
		close(s->fd);
		unlink(path);
		free(s);
		return NULL;
	}
	return s;
}

void explain_server_stop(struct explain_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	close(s->fd);
	unlink(s->path);
	free(s);
}
