/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * host_rules.h - the class table's host rules (systemClass, hostRules) and
 * the built-in rules for the node's own control-plane traffic.
 *
 * Effective rules, in this order (their index is their counter slot in
 * tcprio_host_stats): the file's hostRules, then, unless systemClass is
 * none, the built-in rules in class systemClass:
 *   - the cgroups of the node agents that exist on the node:
 *     HOST_RULES_BUILTIN_CGROUPS below (kubelet, k3s, k3s-agent,
 *     containerd, KubeEdge edgecore as systemd services);
 *   - TCP to each API server endpoint the agent itself uses (the
 *     kubeconfig's server, resolved).
 */
#ifndef TCPRIO_HOST_RULES_H
#define TCPRIO_HOST_RULES_H

#include <stdint.h>
#include "policy/class_table.h"

/* Built-in cgroups (systemd unit names of the node agents). */
#define HOST_RULES_BUILTIN_CGROUPS                                      \
	"/system.slice/kubelet.service", "/system.slice/k3s.service",   \
	"/system.slice/k3s-agent.service", "/system.slice/containerd.service", \
	"/system.slice/edgecore.service"

/* One effective rule: a copy of a table rule or a built-in one. */
struct host_rule_eff {
	struct host_rule r;   /* r.cgroup points into the table or a constant */
	int builtin;          /* 1: built-in (systemClass) */
};

/* An API server endpoint the agent uses (for the built-in rule). */
struct host_endpoint {
	uint8_t  ip[16];      /* IPv4 as ::ffff:a.b.c.d, network order */
	uint16_t port;        /* host order */
};

/* Effective rules of t plus built-ins for n_api endpoints api, into out
 * (capacity cap; at most TCPRIO_MAX_HOST_RULES).  Returns the count, or
 * -E2BIG if they do not fit.  out's cgroup strings are borrowed from t. */
int host_rules_effective(const struct class_table *t,
			 const struct host_endpoint *api, int n_api,
			 struct host_rule_eff *out, int cap);
/* Text of a rule for logs and status: "cgroup /a/b" or
 * "dst 198.51.100.10/32 tcp/6443" (buf of len bytes). */
void host_rule_text(const struct host_rule *r, char *buf, size_t len);

#endif
