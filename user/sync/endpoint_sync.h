/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * endpoint_sync.h - keeps the BPF maps equal to what the policy says for the
 * pods the agent knows.  Holds the desired state per pod UID in memory and
 * writes only differences.  Not thread-safe: callers serialise (one
 * struct endpoint_sync per thread, or a lock around every call).
 *
 * Memory: pods are hashed by UID and IPs by address (uthash, O(1) per
 * event).  The pod passed to upsert/delete/replace_all is only read:
 * endpoint_sync keeps its own deep copy (pod_copy), so the caller frees its
 * pods (pod_free) whenever it likes.
 *
 * Ownership of IP entries (tcprio_endpoints): the pod that most recently
 * started to claim an IP (an upsert whose IP list gained it) owns it and
 * writes it with its pod_id; a pod that lost an IP this way does not take
 * it back on later upserts that still list it.  A pod's delete, or a
 * pod dropping an IP, removes the map entry only if it still carries that
 * pod's pod_id, and removes the pod's port rules on that IP only if the pod
 * is the in-memory owner.  If another live pod still claims the IP (e.g.
 * an IP reused while the old pod's DELETED event is pending), the entry is
 * handed over and rewritten for it.
 *
 * Manual entries (source TCPRIO_SRC_MANUAL, `tcprio endpoint add`): a pod
 * that claims the same IP overwrites them (last writer wins); replace_all
 * keeps IP entries with source MANUAL that no known pod claims, the port
 * rules on those IPs and the tcprio_pods names of their pod_ids.
 *
 * Errors: map errors return the first -errno of the call (e.g. -E2BIG when
 * a map is full) after trying every other write; the first failure of a
 * call is logged with pr_warn naming the map and IP, further ones are only
 * counted in one closing line.  The pod is marked so that its next upsert
 * (or replace_all) rewrites all its entries.  Policy warnings (bad
 * annotations) are logged once per pod and change of warning text.
 */
#ifndef TCPRIO_ENDPOINT_SYNC_H
#define TCPRIO_ENDPOINT_SYNC_H

#include "policy/class_table.h"
#include "kube/pod.h"
#include "policy/policy.h"
#include "sync/map_ops.h"
#include "kube/namespace.h"

struct endpoint_sync; /* opaque */

/* Create; t is borrowed (caller keeps it alive, see endpoint_sync_set_table).
 * Writes nothing to the maps: call endpoint_sync_set_table (with the same t)
 * to write the class, DSCP and config maps.  ops is copied; what ops->ctx
 * points to is borrowed (the real maps: datapath_map_ops, dp/map_ops_bpf.h;
 * in memory: map_mem.h).  NULL with errno ENOMEM. */
struct endpoint_sync *endpoint_sync_new(const struct sync_map_ops *ops,
					const struct class_table *t);
void endpoint_sync_free(struct endpoint_sync *s);
/* Write classes (slots beyond n_classes cleared), DSCP->class (first class
 * in table order wins a shared DSCP; unused DSCPs valid=0) and config
 * (enabled, sanitize_unknown, ... from t) maps from t, then re-derive all
 * pods.  t is borrowed from now
 * on; the previous table may be freed after this returns. */
int endpoint_sync_set_table(struct endpoint_sync *s, const struct class_table *t);
/* ADDED/MODIFIED: apply p's policy (insert/update/remove entries).  A pod
 * that wants no entry (finished, deleting, host network, no IP) is kept in
 * memory with no entries.  -EINVAL if p->uid is empty, -ENOMEM, map -errno. */
int endpoint_sync_upsert(struct endpoint_sync *s, const struct pod *p);
/* DELETED: remove p's entries, only those that still carry p's pod_id, and
 * forget the pod.  Only p->uid and p->ips are read.  Unknown pods: their IP
 * entries are removed if they carry p's pod_id. */
int endpoint_sync_delete(struct endpoint_sync *s, const struct pod *p);
/* List result: the pods are the whole set; everything else (also entries
 * found in the maps from an earlier agent run, except manual ones, see
 * above) is removed.  Every given pod's entries are rewritten.  pods is only
 * read (not const for historical reasons). */
int endpoint_sync_replace_all(struct endpoint_sync *s, struct pod *pods, int n);
/* Number of pods held / IP entries this sync owns in tcprio_endpoints. */
int endpoint_sync_pod_count(const struct endpoint_sync *s);
/* Apply again the pods whose map writes failed (e.g. a full map that has
 * room now).  Returns how many pods are still incomplete (0: none). */
int endpoint_sync_retry_failed(struct endpoint_sync *s);
/* Entries of tcprio_endpoints and tcprio_port_rules written or deleted by
 * the last upsert/delete/replace_all call (0: the maps did not change). */
int endpoint_sync_last_writes(const struct endpoint_sync *s);
/* Compare the endpoint entry, the port rules and the rule block of every
 * IP a pod owns with what was written (a `tcprio endpoint --force` or
 * bpftool may have changed or deleted them) and write the pods that differ
 * again; delete port rules on those IPs that no pod asked for; free rule
 * blocks no known pod uses (include/tcprio.h: a stale one is never read).
 * Logs each.  Returns the number of pods written again plus rules deleted
 * (0: nothing drifted). */
int endpoint_sync_reconcile(struct endpoint_sync *s);
/* tcprio_endpoints entries this sync wrote (IPs with an owner) and the
 * port rules on them, kept up to date by every call (O(1)); manual entries
 * (`tcprio endpoint add`) are not counted. */
int endpoint_sync_endpoint_count(const struct endpoint_sync *s);
int endpoint_sync_port_rule_count(const struct endpoint_sync *s);
/* Manual entries (`tcprio endpoint add`; rules above): ip -> class_id with
 * source TCPRIO_SRC_MANUAL and pod_id, ip's port rules replaced by
 * ports[0..n_ports) (flags: policy_endpoint_flags), and
 * tcprio_pods[pod_id] = name ("NAMESPACE/NAME", cut to fit).  Written in
 * the order port rules, name, endpoint, so the datapath never sees an
 * endpoint whose rules are missing.  Pods held in memory are not
 * consulted.  0 or the first -errno (nothing logged: the caller reports). */
int endpoint_sync_manual_set(struct endpoint_sync *s, const struct tcprio_ip *ip,
			     uint64_t pod_id, int class_id, const struct port_class *ports,
			     int n_ports, const char *name);
/* `tcprio endpoint del`: remove ip's entry and every port rule on ip, and
 * the tcprio_pods name of its pod_id if the entry was manual.  Returns the
 * number of port rules removed, -ENOENT if ip has no entry, other -errno.
 * *old (may be NULL) receives the entry removed. */
int endpoint_sync_manual_del(struct endpoint_sync *s, const struct tcprio_ip *ip,
			     struct tcprio_endpoint *old);

/* One known pod as the sync engine holds it, for `tcprio explain`. */
struct endpoint_sync_view {
	const struct pod *pod;      /* the last upserted copy; valid until the
	                               next call that changes s (hold the
	                               caller's lock while reading it) */
	bool owns[POD_MAX_IPS];     /* pod->ips[i]'s map entry is this pod's
	                               (false: another pod, or a manual entry,
	                               holds that IP) */
};
/*
 * Find a known pod by namespace and name (ip NULL), or the pod whose entry
 * the map holds for ip (ns and name NULL; failing that, any known pod that
 * claims ip).  Returns 0 and fills v, or -ENOENT.
 */
int endpoint_sync_find(const struct endpoint_sync *s, const char *ns, const char *name,
		       const struct tcprio_ip *ip, struct endpoint_sync_view *v);
/* Optional: cb(ctx, p, warning) is called exactly when a policy warning is
 * logged (a pod's first warning, or a change of its warning text; a pod
 * whose warning went away and comes back is logged again), from inside the
 * upsert/replace_all/set_table call that logged it, so under the caller's
 * lock: cb must not block nor call back into s.  p (the pod as held) and
 * warning (one line, see struct pod_policy) are borrowed for the call.
 * cb NULL turns it off. */
void endpoint_sync_on_warning(struct endpoint_sync *s,
			      void (*cb)(void *ctx, const struct pod *p, const char *warning),
			      void *ctx);

/*
 * Namespaces, for the class table's namespace ceilings (policy_decide_ns):
 * ns_replace_all sets the whole set (a list), ns_set adds or replaces one
 * (ADDED/MODIFIED), ns_delete forgets one.  Labels are copied.  Each call
 * re-derives the pods of the namespaces it changed (replace_all: every
 * pod) and writes what changed; a pod in a namespace not (or no longer)
 * known gets the table's strictest ceiling.  Returns 0, -ENOMEM (nothing
 * changed) or the first map -errno.
 */
int endpoint_sync_ns_replace_all(struct endpoint_sync *s, const struct kube_namespace *nss,
				 size_t n);
int endpoint_sync_ns_set(struct endpoint_sync *s, const struct kube_namespace *ns);
/* The labels of p's namespace as the sync engine decides p with them
 * (policy_decide_ns(t, p, labels, ...) gives what it writes to the maps):
 * NULL when the namespace is not known or the table has no namespace
 * ceilings.  Valid until the next call that changes s (caller's lock). */
const struct label_set *endpoint_sync_ns_labels(const struct endpoint_sync *s,
						const struct pod *p);
int endpoint_sync_ns_delete(struct endpoint_sync *s, const char *name);
/* Optional: cb(ctx, p, pol) is called when a pod's class is capped by its
 * namespace ceiling (pol->capped, pol->capped_msg names the asked class,
 * the ceiling and its rule), once per pod and change of that message (a
 * pod that stops being capped and is capped again is reported again),
 * from inside the call that decided it, under the caller's lock: cb must
 * not block nor call back into s.  NULL turns it off. */
void endpoint_sync_on_capped(struct endpoint_sync *s,
			     void (*cb)(void *ctx, const struct pod *p, const struct pod_policy *pol),
			     void *ctx);

#endif
