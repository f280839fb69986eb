/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy.h - what the datapath should hold for one pod: its class (from the
 * tcprio.io/class annotation, label rules or the default) and its per-port
 * classes (tcprio.io/ports: "5432/tcp=critical,9100=bulk").
 *
 * Decision order: no entry at all (wants_entry false) for host-network pods,
 * pods without an IP, finished (Succeeded/Failed) and deleting pods; else
 * the class is the tcprio.io/class annotation, else the first label rule
 * whose matchLabels all match, else the table's default class.
 * Bad annotations:
 *   - either annotation bad (unknown class, empty class, bad port list):
 *     default class, source TCPRIO_SRC_BAD_ANNOTATION, no port rules (the
 *     whole pod falls back, whether its class came from the annotation or
 *     a label rule: one rule, as docs/operations.md says).
 * An annotation value holding a NUL character (pod.h *_annotation_nul) is
 * bad, whatever the rest of it says; the warning says "contains a NUL
 * character".
 * Each case yields exactly one warning line in out->warning, naming the pod
 * (namespace/name), the annotation, its value and what was expected.
 * An empty or all-blank tcprio.io/ports value means "no port rules".
 * Pure functions, no global state: thread-safe for distinct outputs.
 */
#ifndef TCPRIO_POLICY_H
#define TCPRIO_POLICY_H

#include "policy/class_table.h"
#include "kube/pod.h"

#define POLICY_MAX_PORT_RULES 32

/* One per-port class rule. */
struct port_class {
	uint16_t port;     /* host byte order */
	uint8_t  protocol; /* IPPROTO_TCP/UDP/SCTP */
	uint32_t class_id;
};

/* What the datapath should hold for one pod. */
struct pod_policy {
	bool     wants_entry;  /* false: host network, no IP, finished, deleting */
	bool     host_network; /* a running host-network pod: class and ports
	                          are decided for its cgroup (dp/host_sync.h) */
	uint32_t class_id;
	uint8_t  source;       /* enum tcprio_source */
	int      label_rule;   /* index in t->rules of the first label rule
	                          that matched (consulted only without a class
	                          annotation), -1 if none matched or none was
	                          consulted; for `tcprio explain` */
	int      n_ports;
	struct port_class ports[POLICY_MAX_PORT_RULES];
	char     warning[512]; /* non-empty: one line naming pod, annotation, expectation */
	/* Namespace ceiling (class table namespaceCeilings/defaultCeiling):
	 * capped is set when the pod's class or a port rule's class was higher
	 * than the ceiling and was lowered to it. */
	bool     capped;
	uint32_t asked_class;  /* the pod's class before the ceiling */
	int      ceiling;      /* ceiling class id, -1: none */
	int      ceiling_rule; /* namespaceCeilings index or CEILING_RULE_* */
	char     capped_msg[1024]; /* capped: one line naming the pod, the asked
				     class and what asked for it, the ceiling and
				     its rule */
};

/* Decide p's entries under table t.  Never fails: bad annotations yield the
 * default class (source TCPRIO_SRC_BAD_ANNOTATION) and a warning.  ns: the
 * labels of p's namespace, NULL when the namespace is not known (then the
 * strictest ceiling of t applies, see ns_ceiling_of).  Every class above
 * the namespace's ceiling (the pod's, whatever set it, and each port
 * rule's) is lowered to the ceiling; source stays what asked for it. */
void policy_decide_ns(const struct class_table *t, const struct pod *p,
		      const struct label_set *ns, struct pod_policy *out);
/* policy_decide_ns with the namespace not known. */
void policy_decide(const struct class_table *t, const struct pod *p,
		   struct pod_policy *out);
/* "annotation tcprio.io/class", "label rule", ... for a source. */
const char *policy_source_text(uint8_t source);
/* "namespaceCeilings[3]", "defaultCeiling" or "unknown namespace" into buf. */
void policy_ceiling_rule_text(int rule, char *buf, size_t size);
/* Parse a tcprio.io/ports value.  "PORT[/tcp|udp|sctp]=CLASS", comma
 * separated, PORT 1..65535 decimal, protocol case-insensitive, blanks allowed
 * around items and around '/' and '='; without protocol it yields one TCP
 * and one UDP rule.  The same (port, protocol) twice is an error unless the
 * class is the same (then it is kept once).  Returns the number of rules
 * (0 for an empty or blank value), or -EINVAL with err saying what was
 * expected (no more than max rules, else -EINVAL too). */
int parse_ports_annotation(const char *s, const struct class_table *t,
			   struct port_class *out, int max, char *err, size_t errlen);
/* struct tcprio_endpoint.flags for an endpoint with these n port rules:
 * 0 without rules, else TCPRIO_EP_HAS_PORT_RULES and the TCPRIO_EP_RULES_*
 * bit of each protocol named, so the datapath looks up tcprio_port_rules
 * only for packets of those protocols. */
uint16_t policy_endpoint_flags(const struct port_class *ports, int n);
/* struct tcprio_endpoint.rule_ports for these n port rules: the
 * TCPRIO_EP_PORT_BIT of each rule's port (0 without rules). */
uint64_t policy_endpoint_port_bits(const struct port_class *ports, int n);
/* Fill the rule fields of ep for its n port rules: OR the flags of
 * policy_endpoint_flags and, with rules, TCPRIO_EP_PORT_BITS into
 * ep->flags; ep->rule_ports = policy_endpoint_port_bits; with 1 to
 * TCPRIO_EP_INLINE_RULES rules, a copy of them in ep->rules (the rest of
 * rules[] zero) and TCPRIO_EP_RULES_INLINE.  Every writer of an endpoint
 * with port rules uses this, so the bitmap, the inline copy and the rules
 * in tcprio_port_rules agree. */
void policy_set_endpoint_rules(struct tcprio_endpoint *ep, const struct port_class *ports,
			       int n);
/* Whether these n rules can be copied where the datapath reads them
 * (inline in the entry, a rule block): every class id fits the rule's one
 * byte (< TCPRIO_MAX_CLASSES). */
bool policy_rules_listable(const struct port_class *ports, int n);
/* Fill rule block b (include/tcprio.h) for pod_id with its n port rules
 * (at most TCPRIO_BLOCK_RULES are kept), sorted by (protocol, port) as the
 * datapath searches them, the unused slots TCPRIO_BLOCK_PROTO_NONE.  Every
 * writer of a rule block uses this. */
void policy_fill_rule_block(struct tcprio_rule_block *b, uint64_t pod_id,
			    const struct port_class *ports, int n);

#endif
