/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy.h - what the datapath should hold for one pod: its class (from the
 * tcprio.io/class annotation, label rules or the default) and its per-port
 * classes (tcprio.io/ports: "5432/tcp=critical,9100=bulk").
 */
#ifndef TCPRIO_POLICY_H
#define TCPRIO_POLICY_H

#include "class_table.h"
#include "pod.h"

#define POLICY_MAX_PORT_RULES 32
#define ANNOTATION_CLASS "tcprio.io/class"
#define ANNOTATION_PORTS "tcprio.io/ports"

struct port_class {
	uint16_t port;     /* host byte order */
	uint8_t  protocol; /* IPPROTO_TCP/UDP/SCTP */
	uint32_t class_id;
};

struct pod_policy {
	bool     wants_entry;  /* false: host network, no IP, finished, deleting */
	uint32_t class_id;
	uint8_t  source;       /* enum tcprio_source */
	int      n_ports;
	struct port_class ports[POLICY_MAX_PORT_RULES];
	char     warning[512]; /* non-empty: one line naming pod, annotation, expectation */
};

/* Decide p's entries under table t.  Never fails: bad annotations yield the
 * default class (source TCPRIO_SRC_BAD_ANNOTATION) and a warning. */
void policy_decide(const struct class_table *t, const struct pod *p,
		   struct pod_policy *out);
/* Parse a tcprio.io/ports value.  "PORT[/tcp|udp|sctp]=CLASS", comma
 * separated; without protocol it yields one TCP and one UDP rule.
 * Returns the number of rules, or -EINVAL with err saying what was expected. */
int parse_ports_annotation(const char *s, const struct class_table *t,
			   struct port_class *out, int max, char *err, size_t errlen);

#endif
