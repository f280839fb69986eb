/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * explain.h - the agent's read-only answer to `tcprio explain POD|IP`: which
 * class the datapath uses for a pod and every step that decided it, from
 * the agent's own state (the sync engine's copy of the pod, the class
 * table, policy_decide).  Served on a root-only unix socket
 * (lib/explain_sock.h); the CLI cross-checks the answer with the pinned
 * maps.
 *
 * Answer (JSON object):
 *   { "pod": "ns/name", "uid": str,
 *     "ips": [ { "ip": str, "owner": bool } ],   owner: the map entry for ip
 *                                                 is this pod's
 *     "entry": bool,                              the pod gets map entries
 *     "class": str, "class_id": int, "priority": "1:10", "dscp": int,
 *     "source": "default"|"annotation"|"label-rule"|"bad-annotation",
 *     "ports": [ { "port", "protocol": "tcp"|"udp"|"sctp", "class", "class_id" } ],
 *     "steps": [ { "step": str, "result": str, "detail": str } ],
 *     "warning": str,                             "" when none
 *     "ceiling": null                             no namespace ceiling applies
 *              | { "class": str,                  the ceiling class
 *                  "rule": "namespaceCeilings[N]"|"defaultCeiling"|"unknown-namespace",
 *                  "selector": str|null,          that rule's namespaceSelector
 *                                                 (label_selector_text)
 *                  "capped": bool,                the class or a port rule's
 *                                                 was lowered to the ceiling
 *                  "asked_class": str,            the class before the ceiling
 *                  "message": str } }             capped: the ClassCapped line
 *     "site": { "name": str, "result": str,       the node's site ("(gateway)"
 *               "gateway": bool,                  with --gateway, "" unknown)
 *               "share_bps": int,                 its WAN share as shaped on its
 *                                                 uplinks, bit/s (0: not shaped,
 *                                                 e.g. no --uplink)
 *               "budget_bps": int,                the site's wanRate (0: none)
 *               "link_bps": int,                  the LAN branch rate (0: no tree)
 *               "nodes": int, "ready_nodes": int }
 *         (the tcprio_site record, agent_site_record; `tcprio explain` adds
 *          "summary": the sentence `tcprio status` prints, cli_site_summary)
 * or { "error": str } (unknown pod or IP, bad request).
 * Steps, in decision order: "entry", "class annotation", "ports
 * annotation", "label rules", "default class", "namespace ceiling"
 * ("capped", "not capped" or "none"), then "site" ("shaped", "not
 * shaped", "gateway" or "unknown": the node's site and what
 * makes a destination LAN or WAN; added by the server from the agent's
 * state, not by explain_pod).
 */
#ifndef TCPRIO_EXPLAIN_H
#define TCPRIO_EXPLAIN_H

#include <jansson.h>
#include "policy/class_table.h"
#include "kube/pod.h"

struct agent;
struct explain_server; /* opaque */

/*
 * The answer for pod p (owns[i]: whether p->ips[i]'s map entry is p's)
 * under table t, as described above, decided as the sync engine decides
 * it: ns is the labels of p's namespace (endpoint_sync_ns_labels;
 * NULL: not known, the table's strictest ceiling applies).  A new
 * reference.
 */
json_t *explain_pod(const struct class_table *t, const struct pod *p,
		    const struct label_set *ns, const bool *owns);

/*
 * Listen on path (removing a stale socket there; its folder is created
 * 0700), mode 0600, and answer each connection from one thread, under
 * a's lock.  Only root peers (SO_PEERCRED uid 0) get an answer.
 * NULL with err set on failure.
 */
struct explain_server *explain_server_start(struct agent *a, const char *path,
					    char *err, size_t errlen);
/* Stop the thread, close and remove the socket, free s.  NULL is fine. */
void explain_server_stop(struct explain_server *s);

#endif
