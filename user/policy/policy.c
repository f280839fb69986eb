/* SPDX-License-Identifier: BSD-2-Clause */
/* policy.c - derive a pod's class and per-port classes.  Rules: policy.h. */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "policy/policy.h"
#include "lib/utf8.h"

#define PORTS_EXPECTED "PORT[/tcp|udp|sctp]=CLASS[,...], PORT 1..65535"
/* Bytes of an annotation value quoted in a warning: enough to recognise it,
 * short enough that the reason and the pod name always fit (a value may be
 * 256 KiB, the API's limit on all annotations of an object). */
#define VALUE_SHOWN 64

/* Copy s[0..len) without surrounding blanks into buf (size bytes), cut on
 * a UTF-8 character boundary if it does not fit. */
static void trim_copy(const char *s, size_t len, char *buf, size_t size)
{
	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (len >= size)
		len = utf8_cut_len(s, len, size - 1); /* never inside a character */
	memcpy(buf, s, len);
	buf[len] = '\0';
}

static int add_rule(struct port_class *out, int n, int max, uint16_t port,
		    uint8_t proto, uint32_t class_id, const char *item,
		    char *err, size_t errlen)
{
	for (int i = 0; i < n; i++) {
		if (out[i].port != port || out[i].protocol != proto)
			continue;
		if (out[i].class_id == class_id)
			return n;
		snprintf(err, errlen, "port %u/%s given twice with different classes "
			 "(at \"%s\")", port, proto == IPPROTO_TCP ? "tcp" :
			 proto == IPPROTO_UDP ? "udp" : "sctp", item);
		return -EINVAL;
	}
	if (n >= max) {
		snprintf(err, errlen, "more than %d port rules (a port without "
			 "protocol counts twice)", max);
		return -EINVAL;
	}
	out[n] = (struct port_class){ .port = port, .protocol = proto,
				      .class_id = class_id };
	return n + 1;
}

/* Parse one trimmed item "PORT[/PROTO]=CLASS"; returns the new rule count. */
static int parse_item(const char *item, const struct class_table *t,
		      struct port_class *out, int n, int max, char *err, size_t errlen)
{
	char port_s[32], proto_s[32], class_s[64];
	const char *eq = strchr(item, '='), *slash;
	unsigned long port;
	char *end;
	uint8_t protos[2];
	int n_protos = 0, cid;

	if (!item[0]) {
		snprintf(err, errlen, "empty item; expected " PORTS_EXPECTED);
		return -EINVAL;
	}
	if (!eq) {
		snprintf(err, errlen, "\"%s\" has no '='; expected " PORTS_EXPECTED, item);
		return -EINVAL;
	}
	slash = memchr(item, '/', eq - item);
	trim_copy(item, (slash ? slash : eq) - item, port_s, sizeof(port_s));
	trim_copy(slash ? slash + 1 : eq, slash ? (size_t)(eq - slash - 1) : 0,
		  proto_s, sizeof(proto_s));
	trim_copy(eq + 1, strlen(eq + 1), class_s, sizeof(class_s));

	errno = 0;
	port = isdigit((unsigned char)port_s[0]) ? strtoul(port_s, &end, 10) : 0;
	if (!isdigit((unsigned char)port_s[0]) || errno || *end || port < 1 ||
	    port > 65535) {
		snprintf(err, errlen, "bad port \"%s\" in \"%s\"; expected a port "
			 "1..65535", port_s, item);
		return -EINVAL;
	}
	if (!slash) {
		protos[n_protos++] = IPPROTO_TCP;
		protos[n_protos++] = IPPROTO_UDP;
	} else if (strcasecmp(proto_s, "tcp") == 0) {
		protos[n_protos++] = IPPROTO_TCP;
	} else if (strcasecmp(proto_s, "udp") == 0) {
		protos[n_protos++] = IPPROTO_UDP;
	} else if (strcasecmp(proto_s, "sctp") == 0) {
		protos[n_protos++] = IPPROTO_SCTP;
	} else {
		snprintf(err, errlen, "bad protocol \"%s\" in \"%s\"; expected tcp, "
			 "udp or sctp", proto_s, item);
		return -EINVAL;
	}
	cid = class_table_find(t, class_s);
	if (cid < 0) {
		snprintf(err, errlen, "unknown class \"%s\" in \"%s\"; expected one of "
			 "the configured classes", class_s, item);
		return -EINVAL;
	}
	for (int i = 0; i < n_protos && n >= 0; i++)
		n = add_rule(out, n, max, (uint16_t)port, protos[i], (uint32_t)cid,
			     item, err, errlen);
	return n;
}

int parse_ports_annotation(const char *s, const struct class_table *t,
			   struct port_class *out, int max, char *err, size_t errlen)
{
	const char *p = s, *comma;
	char item[128];
	int n = 0;

	if (errlen)
		err[0] = '\0';
	trim_copy(s, strlen(s), item, sizeof(item));
	if (!item[0])
		return 0;
	for (;;) {
		size_t len;

		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (len >= sizeof(item)) {
			snprintf(err, errlen, "item of %zu bytes is too long; expected "
				 PORTS_EXPECTED, len);
			return -EINVAL;
		}
		trim_copy(p, len, item, sizeof(item));
		n = parse_item(item, t, out, n, max, err, errlen);
		if (n < 0 || !comma)
			return n;
		p = comma + 1;
	}
}

/* Write the one-line warning, truncated to fit on a UTF-8 character
 * boundary: a cut inside a character would make the text invalid UTF-8,
 * which a JSON encoder (the Event body) refuses. */
__attribute__((format(printf, 2, 3)))
static void set_warning(struct pod_policy *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->warning, sizeof(out->warning), fmt, ap);
	va_end(ap);
	utf8_trim_partial(out->warning);
}

/* The class list for a warning: "critical, high, normal, bulk". */
static void class_names(const struct class_table *t, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < t->n_classes && used < size; i++)
		used += snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
				 t->classes[i].name);
}

static bool rule_matches(const struct label_rule *r, const struct pod *p)
{
	for (int i = 0; i < r->n_labels; i++) {
		const char *v = pod_label(p, r->keys[i]);

		if (!v || strcmp(v, r->values[i]) != 0)
			return false;
	}
	return true;
}

static void class_from_labels(const struct class_table *t, const struct pod *p,
			      struct pod_policy *out)
{
	for (int i = 0; i < t->n_rules; i++) {
		if (rule_matches(&t->rules[i], p)) {
			out->class_id = t->rules[i].class_id;
			out->source = TCPRIO_SRC_LABEL_RULE;
			out->label_rule = i;
			return;
		}
	}
}

const char *policy_source_text(uint8_t source)
{
	switch (source) {
	case TCPRIO_SRC_ANNOTATION: return "annotation " ANNOTATION_CLASS;
	case TCPRIO_SRC_LABEL_RULE: return "label rule";
	case TCPRIO_SRC_MANUAL: return "tcprio endpoint add";
	case TCPRIO_SRC_BAD_ANNOTATION: return "bad annotation, default class";
	default: return "default class";
	}
}

void policy_ceiling_rule_text(int rule, char *buf, size_t size)
{
	if (rule >= 0)
		snprintf(buf, size, "namespaceCeilings[%d]", rule);
	else
		snprintf(buf, size, "%s", rule == CEILING_RULE_DEFAULT ? "defaultCeiling" :
			 "the strictest ceiling (namespace not known yet)");
}

/* Lower every class above the namespace ceiling to it (class ids: a
 * higher id is a lower priority) and say so in out->capped_msg. */
static void apply_ceiling(const struct class_table *t, const struct pod *p,
			  const struct label_set *ns, struct pod_policy *out)
{
	char rule[96], ports[256] = "";
	size_t used = 0;
	int ceil;

	out->asked_class = out->class_id;
	out->ceiling = ceil = ns_ceiling_of(t, ns, &out->ceiling_rule);
	if (ceil < 0)
		return;
	for (int i = 0; i < out->n_ports; i++) {
		struct port_class *pc = &out->ports[i];

		if ((int)pc->class_id >= ceil)
			continue;
		if (used < sizeof(ports))
			used += snprintf(ports + used, sizeof(ports) - used, "%s%u/%s=%s",
					 used ? "," : "", pc->port,
					 pc->protocol == IPPROTO_TCP ? "tcp" :
					 pc->protocol == IPPROTO_UDP ? "udp" : "sctp",
					 t->classes[pc->class_id].name);
		pc->class_id = (uint32_t)ceil;
		out->capped = true;
	}
	if ((int)out->class_id < ceil) {
		out->class_id = (uint32_t)ceil;
		out->capped = true;
	}
	if (!out->capped)
		return;
	policy_ceiling_rule_text(out->ceiling_rule, rule, sizeof(rule));
	snprintf(out->capped_msg, sizeof(out->capped_msg),
		 "pod %s/%s: class %s (%s)%s%s capped to %s by %s of namespace %s",
		 p->namespace_, p->name, t->classes[out->asked_class].name,
		 policy_source_text(out->source), ports[0] ? " and port rules " : "",
		 ports, t->classes[ceil].name, rule, p->namespace_);
}

void policy_decide(const struct class_table *t, const struct pod *p,
		   struct pod_policy *out)
{
	policy_decide_ns(t, p, NULL, out);
}

/* The class and port rules the pod asks for (no ceiling). */
static void decide_asked(const struct class_table *t, const struct pod *p,
			 struct pod_policy *out)
{
	char perr[256], names[TCPRIO_MAX_CLASSES * TCPRIO_CLASS_NAME_LEN + 32];
	char shown[VALUE_SHOWN + 32];
	bool class_bad = false;
	int cid, n;

	memset(out, 0, sizeof(*out));
	out->label_rule = -1;
	out->class_id = t->default_class;
	out->source = TCPRIO_SRC_DEFAULT;
	out->wants_entry = !p->host_network && p->n_ips > 0 && !p->finished &&
			   !p->deleting;
	out->host_network = p->host_network && !p->finished && !p->deleting;
	if (!out->wants_entry && !out->host_network)
		return;

	/* Warnings put the reason first and the (shortened) value last, so
	 * a long value can never push the reason out of the line. */
	if (p->class_annotation) {
		cid = p->class_annotation_nul ? -1 : class_table_find(t, p->class_annotation);
		utf8_shorten(shown, sizeof(shown), p->class_annotation, VALUE_SHOWN);
		if (cid < 0 && p->class_annotation_nul) {
			class_bad = true;
			out->source = TCPRIO_SRC_BAD_ANNOTATION;
			set_warning(out, "pod %s/%s: annotation %s contains a NUL character; "
				 "expected a class name; using default class %s%s: %s=\"%s\"",
				 p->namespace_, p->name, ANNOTATION_CLASS,
				 t->classes[t->default_class].name,
				 p->ports_annotation ? " and ignoring " ANNOTATION_PORTS : "",
				 ANNOTATION_CLASS, shown);
		} else if (cid < 0) {
			class_bad = true;
			out->source = TCPRIO_SRC_BAD_ANNOTATION;
			class_names(t, names, sizeof(names));
			set_warning(out, "pod %s/%s: annotation %s is not a class; "
				 "expected one of: %s; using default class %s%s: %s=\"%s\"",
				 p->namespace_, p->name, ANNOTATION_CLASS, names,
				 t->classes[t->default_class].name,
				 p->ports_annotation ? " and ignoring " ANNOTATION_PORTS : "",
				 ANNOTATION_CLASS, shown);
		} else {
			out->class_id = (uint32_t)cid;
			out->source = TCPRIO_SRC_ANNOTATION;
		}
	} else {
		class_from_labels(t, p, out);
	}
	if (class_bad || !p->ports_annotation)
		return;

	if (p->ports_annotation_nul) {
		n = -EINVAL;
		snprintf(perr, sizeof(perr), "contains a NUL character; expected "
			 PORTS_EXPECTED);
	} else {
		n = parse_ports_annotation(p->ports_annotation, t, out->ports,
					   POLICY_MAX_PORT_RULES, perr, sizeof(perr));
	}
	if (n >= 0) {
		out->n_ports = n;
		return;
	}
	utf8_trim_partial(perr); /* perr quotes the item and may have been cut */
	/* One rule for every pod, as docs/operations.md says: a bad value sends
	 * the pod to the default class, whether its class came from the class
	 * annotation or a label rule (it kept an annotated pod's class but not
	 * a label-rule pod's). */
	out->class_id = t->default_class;
	out->source = TCPRIO_SRC_BAD_ANNOTATION;
	utf8_shorten(shown, sizeof(shown), p->ports_annotation, VALUE_SHOWN);
	set_warning(out, "pod %s/%s: annotation %s rejected: %s; using default class %s, "
		 "no port rules: %s=\"%s\"", p->namespace_, p->name, ANNOTATION_PORTS, perr,
		 t->classes[out->class_id].name, ANNOTATION_PORTS, shown);
}

uint16_t policy_endpoint_flags(const struct port_class *ports, int n)
{
	uint16_t f = 0;

	for (int i = 0; i < n; i++) {
		f |= TCPRIO_EP_HAS_PORT_RULES;
		if (ports[i].protocol == IPPROTO_TCP)
			f |= TCPRIO_EP_RULES_TCP;
		else if (ports[i].protocol == IPPROTO_UDP)
			f |= TCPRIO_EP_RULES_UDP;
		else if (ports[i].protocol == IPPROTO_SCTP)
			f |= TCPRIO_EP_RULES_SCTP;
	}
	return f;
}

uint64_t policy_endpoint_port_bits(const struct port_class *ports, int n)
{
	uint64_t b = 0;

	for (int i = 0; i < n; i++)
		b |= TCPRIO_EP_PORT_BIT(ports[i].port);
	return b;
}

bool policy_rules_listable(const struct port_class *ports, int n)
{
	for (int i = 0; i < n; i++)
		if (ports[i].class_id >= TCPRIO_MAX_CLASSES)
			return false;   /* not a class id (never written): looked up */
	return true;
}

/* rules[0..n) := ports[0..n) in the datapath's 4-byte form. */
static void list_rules(struct tcprio_ep_rule *rules, const struct port_class *ports, int n)
{
	for (int i = 0; i < n; i++) {
		rules[i].port = ports[i].port;
		rules[i].protocol = ports[i].protocol;
		rules[i].class_id = (__u8)ports[i].class_id;
	}
}

void policy_set_endpoint_rules(struct tcprio_endpoint *ep, const struct port_class *ports,
			       int n)
{
	ep->flags |= policy_endpoint_flags(ports, n);
	ep->rule_ports = policy_endpoint_port_bits(ports, n);
	memset(ep->rules, 0, sizeof(ep->rules));
	if (n > 0)
		ep->flags |= TCPRIO_EP_PORT_BITS;
	if (n <= 0 || n > TCPRIO_EP_INLINE_RULES || !policy_rules_listable(ports, n))
		return;
	list_rules(ep->rules, ports, n);
	ep->flags |= TCPRIO_EP_RULES_INLINE;
}

static int rule_key_cmp(const void *a, const void *b)
{
	const struct tcprio_ep_rule *x = a, *y = b;
	uint32_t kx = (uint32_t)x->protocol << 16 | x->port;
	uint32_t ky = (uint32_t)y->protocol << 16 | y->port;

	return kx < ky ? -1 : kx > ky;
}

void policy_fill_rule_block(struct tcprio_rule_block *b, uint64_t pod_id,
			    const struct port_class *ports, int n)
{
	memset(b, 0, sizeof(*b));
	b->pod_id = pod_id;
	for (int i = 0; i < TCPRIO_BLOCK_RULES; i++) {   /* unused: sort last */
		b->rules[i].protocol = TCPRIO_BLOCK_PROTO_NONE;
		b->rules[i].port = 0xffff;
	}
	if (n > TCPRIO_BLOCK_RULES)
		n = TCPRIO_BLOCK_RULES;
	if (n > 0)
		list_rules(b->rules, ports, n);
	b->n_rules = n > 0 ? (__u32)n : 0;
	qsort(b->rules, b->n_rules, sizeof(b->rules[0]), rule_key_cmp);
}

void policy_decide_ns(const struct class_table *t, const struct pod *p,
		      const struct label_set *ns, struct pod_policy *out)
{
	decide_asked(t, p, out);
	out->ceiling = -1;
	out->asked_class = out->class_id;
	if (out->wants_entry)
		apply_ceiling(t, p, ns, out);
}
