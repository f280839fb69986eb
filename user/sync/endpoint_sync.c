/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * endpoint_sync.c - desired state per pod in memory, differences written to
 * the BPF maps.  Rules (ownership of IPs, manual entries): endpoint_sync.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sync/endpoint_sync.h"
#include "lib/log.h"

/* uthash (Debian uthash-dev) indexes pods by UID and IPs by address.  An
 * allocation failure inside HASH_ADD must not abort the agent (uthash's
 * default): it sets hash_oom and leaves the table as it was. */
static __thread bool hash_oom;
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(elt) (hash_oom = true)
#include <uthash.h>

/* ---- state ---- */

/* One namespace: its labels as policy reads them (owned copies). */
struct ns_entry {
	char name[64];
	char **keys, **values;
	struct label_set labels; /* views keys/values */
};

/* What a pod has (or should have) in the maps. */
struct applied {
	int n_ips;
	struct tcprio_ip ips[POD_MAX_IPS];
	struct tcprio_endpoint ep; /* value for each of ips */
	int n_ports;
	struct port_class ports[POLICY_MAX_PORT_RULES];
};

struct pod_entry {
	UT_hash_handle hh; /* in endpoint_sync.pods, key pod.uid */
	struct pod pod;   /* deep copy of the last upserted pod */
	uint64_t pod_id;  /* pod_id_from_uid(pod.uid) */
	struct applied cur;
	char *warning;    /* warning_key of the values last warned about, or NULL */
	char *capped;     /* last namespace-ceiling message reported, or NULL */
	bool dirty;       /* rewrite every entry at the next apply */
	bool named;       /* tcprio_pods entry written */
	bool mark;        /* replace_all: pod is in the new set */
};

/* One IP claimed by at least one known pod. */
struct ip_slot {
	UT_hash_handle hh;       /* in endpoint_sync.ips, key ip */
	struct tcprio_ip ip;
	struct pod_entry *owner; /* pod whose entry the map holds, or NULL */
	int n_claims;            /* known pods whose cur.ips hold ip */
};

struct endpoint_sync {
	struct sync_map_ops ops; /* the maps (map_ops.h) */
	const struct class_table *t;
	struct pod_entry *pods; /* uthash by uid */
	struct ip_slot *ips;    /* uthash by address */
	int n_owned;            /* ips with an owner: entries written to tcprio_endpoints */
	int n_rules;            /* port rules of those: sum of owner->cur.n_ports */
	int op_err;       /* first map error of the running call */
	int op_fails;     /* map errors of the running call */
	int op_writes;    /* map updates and deletes done by the last call */
	bool listed;      /* replace_all ran: the engine knows every pod */
	/* Namespaces and their labels (namespace ceilings): a plain array,
	 * searched by name; a node's agent knows every namespace of the
	 * cluster, typically a few hundred. */
	struct ns_entry *ns;
	int n_ns, cap_ns;
	void (*cap_cb)(void *ctx, const struct pod *p, const struct pod_policy *pol);
	void *cap_ctx;
	/* endpoint_sync_on_warning: called when a warning is logged, or NULL */
	void (*warn_cb)(void *ctx, const struct pod *p, const char *warning);
	void *warn_ctx;
};

static struct pod_entry *find_pod(const struct endpoint_sync *s, const char *uid)
{
	struct pod_entry *e;

	HASH_FIND_STR(s->pods, uid, e);
	return e;
}

static struct ip_slot *find_ip(const struct endpoint_sync *s, const struct tcprio_ip *ip)
{
	struct ip_slot *slot;

	HASH_FIND(hh, s->ips, ip, sizeof(*ip), slot);
	return slot;
}

/* ---- map writes, with error accounting ---- */

static int m_lookup(struct endpoint_sync *s, enum sync_map m, const void *k, void *v)
{
	return s->ops.lookup(s->ops.ctx, m, k, v);
}

static int m_update(struct endpoint_sync *s, enum sync_map m, const void *k, const void *v)
{
	return s->ops.update(s->ops.ctx, m, k, v);
}

static int m_delete(struct endpoint_sync *s, enum sync_map m, const void *k)
{
	return s->ops.delete(s->ops.ctx, m, k);
}

static void op_begin(struct endpoint_sync *s)
{
	s->op_err = 0;
	s->op_fails = 0;
	s->op_writes = 0;
}

static int op_end(struct endpoint_sync *s, const char *what)
{
	if (s->op_fails > 1)
		pr_warn("endpoint sync: %s: %d map writes failed in all (first: %s)",
			what, s->op_fails, s->op_err == -E2BIG ? "the map is full" : strerror(-s->op_err));
	return s->op_err;
}

/* Record a failed map call (err = -errno); log only the first of a call. */
static int map_fail(struct endpoint_sync *s, const char *op, const char *map,
		    const struct tcprio_ip *ip, int err)
{
	char buf[INET6_ADDRSTRLEN];

	if (s->op_fails++ == 0) {
		s->op_err = err;
		pr_warn("endpoint sync: %s %s for %s failed: %s", op, map,
			ip ? ip_to_string(ip, buf, sizeof(buf)) : "-",
			err == -E2BIG ? "the map is full (see its max_entries in include/tcprio.h)"
				      : strerror(-err));
	}
	return err;
}

static int port_key(struct tcprio_port_key *k, const struct tcprio_ip *ip,
		    const struct port_class *r)
{
	memset(k, 0, sizeof(*k));
	k->ip = *ip;
	k->port = r->port;
	k->protocol = r->protocol;
	return 0;
}

static int put_port(struct endpoint_sync *s, const struct tcprio_ip *ip,
		    const struct port_class *r)
{
	struct tcprio_port_rule v = { .class_id = r->class_id };
	struct tcprio_port_key k;
	int err;

	port_key(&k, ip, r);
	if ((err = m_update(s, SYNC_MAP_PORT_RULES, &k, &v)))
		return map_fail(s, "update", "tcprio_port_rules", ip, err);
	s->op_writes++;
	return 0;
}

static int del_port(struct endpoint_sync *s, const struct tcprio_ip *ip,
		    const struct port_class *r)
{
	struct tcprio_port_key k;
	int err;

	port_key(&k, ip, r);
	if ((err = m_delete(s, SYNC_MAP_PORT_RULES, &k)) == 0)
		s->op_writes++;
	else if (err != -ENOENT)
		return map_fail(s, "delete", "tcprio_port_rules", ip, err);
	return 0;
}

static int put_endpoint(struct endpoint_sync *s, const struct tcprio_ip *ip,
			const struct tcprio_endpoint *ep)
{
	int err = m_update(s, SYNC_MAP_ENDPOINTS, ip, ep);

	if (err)
		return map_fail(s, "update", "tcprio_endpoints", ip, err);
	s->op_writes++;
	return 0;
}

/* Delete ip's entry if it still carries pod_id. */
static int del_endpoint_if(struct endpoint_sync *s, const struct tcprio_ip *ip,
			   uint64_t pod_id)
{
	struct tcprio_endpoint cur;
	int err;

	if ((err = m_lookup(s, SYNC_MAP_ENDPOINTS, ip, &cur)))
		return err == -ENOENT ? 0 : map_fail(s, "lookup", "tcprio_endpoints", ip, err);
	if (cur.pod_id != pod_id)
		return 0;
	if ((err = m_delete(s, SYNC_MAP_ENDPOINTS, ip)) == 0)
		s->op_writes++;
	else if (err != -ENOENT)
		return map_fail(s, "delete", "tcprio_endpoints", ip, err);
	return 0;
}

static int put_name(struct endpoint_sync *s, struct pod_entry *e)
{
	struct tcprio_pod v;
	int err;

	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "%.63s/%.*s", e->pod.namespace_,
		 (int)(sizeof(v.name) - 65), e->pod.name);
	if ((err = m_update(s, SYNC_MAP_PODS, &e->pod_id, &v)))
		return map_fail(s, "update", "tcprio_pods", e->cur.n_ips ? &e->cur.ips[0] : NULL,
				err);
	return 0;
}

static int del_name(struct endpoint_sync *s, uint64_t pod_id)
{
	int err = m_delete(s, SYNC_MAP_PODS, &pod_id);

	if (err && err != -ENOENT)
		return map_fail(s, "delete", "tcprio_pods", NULL, err);
	return 0;
}

/* ---- rule blocks (include/tcprio.h) ---- */

/* Whether a pod with these n rules gets a rule block: more than fit in its
 * entry, and every class id one the datapath can hold in a rule. */
static bool wants_block(const struct port_class *ports, int n)
{
	return n > TCPRIO_EP_INLINE_RULES && n <= TCPRIO_BLOCK_RULES &&
	       policy_rules_listable(ports, n);
}

/* A block that is free or pod_id's (left by an agent before a restart),
 * other than block skip (-1: none), probing from pod_id's own slot; -1 if
 * every block is another pod's (or cannot be read). */
static long find_block(struct endpoint_sync *s, uint64_t pod_id, long skip)
{
	struct tcprio_rule_block b;

	for (__u32 k = 0; k < TCPRIO_RULE_BLOCKS; k++) {
		__u32 i = (__u32)((pod_id + k) % TCPRIO_RULE_BLOCKS);

		if ((long)i == skip)
			continue;
		if (m_lookup(s, SYNC_MAP_RULE_BLOCKS, &i, &b))
			return -1;
		if (b.pod_id == 0 || b.pod_id == pod_id)
			return i;
	}
	return -1;
}

/* Give want (pod e's desired entry) a rule block when its rules need one,
 * written before any entry points at it.  The block e had (old) is kept
 * while its rules stay the same (written again only with force); other
 * rules go into another block, because an array value is written in place
 * and a packet reading it meanwhile could see half of each; release_block
 * frees the old one once the entries point elsewhere.  Without a block
 * (none free, a failed write) want keeps the tcprio_port_rules path.
 * Returns 0, or the failed write's -errno (the pod is then retried). */
static int ensure_block(struct endpoint_sync *s, struct pod_entry *e,
			const struct applied *old, struct applied *want, bool force)
{
	struct tcprio_rule_block b;
	bool had = old->ep.flags & TCPRIO_EP_RULES_BLOCK;
	bool same = had && old->n_ports == want->n_ports &&
		    !memcmp(old->ports, want->ports, sizeof(want->ports[0]) * want->n_ports);
	long idx;
	int err;

	if (!want->n_ips || !wants_block(want->ports, want->n_ports))
		return 0;
	idx = same ? (long)old->ep.rule_block :
	      find_block(s, e->pod_id, had ? (long)old->ep.rule_block : -1);
	if (idx < 0)
		return 0;
	if (!same || force) {
		__u32 k = (__u32)idx;

		policy_fill_rule_block(&b, e->pod_id, want->ports, want->n_ports);
		if ((err = m_update(s, SYNC_MAP_RULE_BLOCKS, &k, &b)))
			return map_fail(s, "update", "tcprio_rule_blocks", &want->ips[0], err);
		s->op_writes++;
	}
	want->ep.flags |= TCPRIO_EP_RULES_BLOCK;
	want->ep.rule_block = (__u32)idx;
	return 0;
}

/* Free the block pod e had (old) if want no longer uses it and it is still
 * e's; called after e's entries stopped pointing at it. */
static int release_block(struct endpoint_sync *s, struct pod_entry *e,
			 const struct applied *old, const struct applied *want)
{
	struct tcprio_rule_block b;
	__u32 k = old->ep.rule_block;
	int err;

	if (!(old->ep.flags & TCPRIO_EP_RULES_BLOCK) ||
	    ((want->ep.flags & TCPRIO_EP_RULES_BLOCK) && want->ep.rule_block == k))
		return 0;
	if (m_lookup(s, SYNC_MAP_RULE_BLOCKS, &k, &b) || b.pod_id != e->pod_id)
		return 0;
	memset(&b, 0, sizeof(b));
	if ((err = m_update(s, SYNC_MAP_RULE_BLOCKS, &k, &b)))
		return map_fail(s, "update", "tcprio_rule_blocks", NULL, err);
	s->op_writes++;
	return 0;
}

/* ---- applying a pod ---- */

static bool has_ip(const struct applied *a, const struct tcprio_ip *ip)
{
	for (int i = 0; i < a->n_ips; i++)
		if (memcmp(&a->ips[i], ip, sizeof(*ip)) == 0)
			return true;
	return false;
}

/* The rule of a for (port, protocol) of r, or NULL. */
static const struct port_class *find_port(const struct applied *a,
					  const struct port_class *r)
{
	for (int i = 0; i < a->n_ports; i++)
		if (a->ports[i].port == r->port && a->ports[i].protocol == r->protocol)
			return &a->ports[i];
	return NULL;
}

/* Make the map hold pod e's entries for ip (desired state want), taking
 * the IP over from its previous owner.  old: what e had before. */
static int write_ip(struct endpoint_sync *s, struct pod_entry *e, struct ip_slot *slot,
		    const struct applied *old, const struct applied *want, bool force)
{
	struct pod_entry *prev = slot->owner;
	const struct applied *had = prev == e ? old : prev ? &prev->cur : NULL;
	bool same_ep = prev == e && !force &&
		       memcmp(&old->ep, &want->ep, sizeof(want->ep)) == 0;
	int err = 0, r;

	for (int i = 0; i < want->n_ports; i++) {
		const struct port_class *o = had ? find_port(had, &want->ports[i]) : NULL;

		if (force || prev != e || !o || o->class_id != want->ports[i].class_id)
			if ((r = put_port(s, &slot->ip, &want->ports[i])))
				err = err ?: r;
	}
	if (!same_ep && (r = put_endpoint(s, &slot->ip, &want->ep)))
		err = err ?: r;
	for (int i = 0; had && i < had->n_ports; i++)
		if (!find_port(want, &had->ports[i]) &&
		    (r = del_port(s, &slot->ip, &had->ports[i])))
			err = err ?: r;
	/* Counts: the slot now carries want's rules instead of had's. */
	if (!prev)
		s->n_owned++;
	s->n_rules += want->n_ports - (had ? had->n_ports : 0);
	slot->owner = e;
	return err;
}

/* A known pod other than except that claims ip, or NULL.  O(pods); only
 * reached when two live pods claimed one IP. */
static struct pod_entry *find_claimant(struct endpoint_sync *s,
				       const struct tcprio_ip *ip,
				       const struct pod_entry *except)
{
	struct pod_entry *e, *tmp;

	HASH_ITER(hh, s->pods, e, tmp)
		if (e != except && has_ip(&e->cur, ip))
			return e;
	return NULL;
}

/* Pod e gives up ip (old: what e had). */
static int release_ip(struct endpoint_sync *s, struct pod_entry *e,
		      const struct tcprio_ip *ip, const struct applied *old)
{
	struct ip_slot *slot = find_ip(s, ip);
	struct pod_entry *next;
	int err = 0, r;

	if (!slot)
		return 0;
	slot->n_claims--;
	if (slot->owner == e) {
		for (int i = 0; i < old->n_ports; i++)
			if ((r = del_port(s, ip, &old->ports[i])))
				err = err ?: r;
		if ((r = del_endpoint_if(s, ip, e->pod_id)))
			err = err ?: r;
		slot->owner = NULL;
		s->n_owned--;
		s->n_rules -= old->n_ports;
		next = slot->n_claims > 0 ? find_claimant(s, ip, e) : NULL;
		if (next && (r = write_ip(s, next, slot, &next->cur, &next->cur, true)))
			err = err ?: r;
	}
	if (slot->n_claims <= 0 && !slot->owner) {
		HASH_DEL(s->ips, slot);
		free(slot);
	}
	return err;
}

static struct ip_slot *claim_ip(struct endpoint_sync *s, const struct tcprio_ip *ip)
{
	struct ip_slot *slot = find_ip(s, ip);

	if (slot)
		return slot;
	slot = calloc(1, sizeof(*slot));
	if (!slot)
		return NULL;
	slot->ip = *ip;
	hash_oom = false;
	HASH_ADD(hh, s->ips, ip, sizeof(slot->ip), slot);
	if (hash_oom) {
		free(slot);
		return NULL;
	}
	return slot;
}

/* The annotation values a warning is about, as one string: "class\x01ports"
 * (absent values empty); malloc'd or NULL. */
static char *warning_key(const struct pod *p)
{
	char *k = NULL;

	if (asprintf(&k, "%s\x01%s", p->class_annotation ?: "", p->ports_annotation ?: "") < 0)
		return NULL;
	return k;
}

/* Log the policy warning (and report its Event) once per change of the
 * pod's annotation values: not again when the same bad value comes with a
 * relist, another MODIFIED or a reloaded class table that changes the
 * text (the list of expected classes). */
static void note_warning(struct endpoint_sync *s, struct pod_entry *e, const char *warning)
{
	char *key;

	if (!warning[0]) {
		free(e->warning);
		e->warning = NULL;
		return;
	}
	key = warning_key(&e->pod);
	if (e->warning && key && strcmp(e->warning, key) == 0) {
		free(key);
		return;
	}
	pr_warn("%s", warning);
	free(e->warning);
	e->warning = key;
	if (s->warn_cb)
		s->warn_cb(s->warn_ctx, &e->pod, warning);
}

/* Report a namespace-ceiling cap once per pod and change of message; a
 * pod no longer capped forgets it, so a later cap is reported again. */
static void note_capped(struct endpoint_sync *s, struct pod_entry *e,
			const struct pod_policy *pol)
{
	if (!pol->capped || !pol->wants_entry) {
		free(e->capped);
		e->capped = NULL;
		return;
	}
	if (e->capped && strcmp(e->capped, pol->capped_msg) == 0)
		return;
	pr_info("%s", pol->capped_msg);
	free(e->capped);
	e->capped = strdup(pol->capped_msg);
	if (s->cap_cb)
		s->cap_cb(s->cap_ctx, &e->pod, pol);
}

static struct ns_entry *find_ns(const struct endpoint_sync *s, const char *name)
{
	for (int i = 0; i < s->n_ns; i++)
		if (strcmp(s->ns[i].name, name) == 0)
			return &s->ns[i];
	return NULL;
}

/* Labels of p's namespace, NULL if the agent does not know it (yet). */
static const struct label_set *ns_labels(const struct endpoint_sync *s, const struct pod *p)
{
	const struct ns_entry *n;

	if (!s->t->n_ceilings && s->t->default_ceiling < 0)
		return NULL; /* no ceilings: the labels do not matter */
	n = find_ns(s, p->namespace_);
	return n ? &n->labels : NULL;
}

const struct label_set *endpoint_sync_ns_labels(const struct endpoint_sync *s,
						const struct pod *p)
{
	return ns_labels(s, p);
}

/* Desired state of e (present: the pod exists; else nothing). */
static void desired(struct endpoint_sync *s, struct pod_entry *e, bool present,
		    struct applied *want)
{
	struct pod_policy pol;

	memset(want, 0, sizeof(*want));
	if (!present)
		return;
	policy_decide_ns(s->t, &e->pod, ns_labels(s, &e->pod), &pol);
	note_warning(s, e, pol.warning);
	note_capped(s, e, &pol);
	if (!pol.wants_entry)
		return;
	want->n_ips = e->pod.n_ips;
	memcpy(want->ips, e->pod.ips, sizeof(want->ips));
	want->ep.pod_id = e->pod_id;
	want->ep.class_id = pol.class_id;
	want->ep.flags = 0;
	policy_set_endpoint_rules(&want->ep, pol.ports, pol.n_ports);
	want->ep.source = pol.source;
	if (pol.capped) {
		int rule = pol.ceiling_rule == CEILING_RULE_DEFAULT ? 0 :
			   pol.ceiling_rule == CEILING_RULE_UNKNOWN || pol.ceiling_rule > 253 ?
			   TCPRIO_EP_CEILING_UNKNOWN : pol.ceiling_rule + 1;

		want->ep.flags |= TCPRIO_EP_CAPPED | (__u16)(rule << TCPRIO_EP_CEILING_SHIFT);
		want->ep.asked_class = (__u8)pol.asked_class;
	}
	want->n_ports = pol.n_ports;
	memcpy(want->ports, pol.ports, sizeof(want->ports));
}

/* Bring the maps from e->cur to e's desired state. */
static int apply(struct endpoint_sync *s, struct pod_entry *e, bool present)
{
	struct applied want, old = e->cur;
	bool force = e->dirty;
	int err = 0, r;

	desired(s, e, present, &want);
	err = ensure_block(s, e, &old, &want, force);
	e->dirty = false;
	for (int i = 0; i < old.n_ips; i++)
		if (!has_ip(&want, &old.ips[i]) &&
		    (r = release_ip(s, e, &old.ips[i], &old)))
			err = err ?: r;
	for (int i = 0; i < want.n_ips; i++) {
		struct ip_slot *slot = claim_ip(s, &want.ips[i]);

		if (!slot) {
			/* Keep the claims consistent: this IP is not held. */
			memmove(&want.ips[i], &want.ips[i + 1],
				(want.n_ips - i - 1) * sizeof(want.ips[0]));
			want.n_ips--;
			i--;
			err = err ?: -ENOMEM;
			continue;
		}
		if (has_ip(&old, &want.ips[i])) {
			/* Lost to a pod that claimed it later: stay a claimant. */
			if (slot->owner && slot->owner != e)
				continue;
		} else {
			slot->n_claims++;
		}
		if ((r = write_ip(s, e, slot, &old, &want, force)))
			err = err ?: r;
	}
	if (want.n_ips && (!e->named || force)) {
		e->cur = want; /* put_name logs the first IP */
		if ((r = put_name(s, e)))
			err = err ?: r;
		else
			e->named = true;
	} else if (!want.n_ips && e->named) {
		if ((r = del_name(s, e->pod_id)))
			err = err ?: r;
		else
			e->named = false;
	}
	if ((r = release_block(s, e, &old, &want)))
		err = err ?: r;
	e->cur = want;
	if (err)
		e->dirty = true;
	return err;
}

/* ---- public API ---- */

struct endpoint_sync *endpoint_sync_new(const struct sync_map_ops *ops,
					const struct class_table *t)
{
	struct endpoint_sync *s = calloc(1, sizeof(*s));

	if (!s)
		goto fail;
	s->ops = *ops;
	s->t = t;
	return s;
fail:
	errno = ENOMEM;
	return NULL;
}

static void free_entry(struct pod_entry *e)
{
	pod_free(&e->pod);
	free(e->warning);
	free(e->capped);
	free(e);
}

static void ns_entry_free(struct ns_entry *n)
{
	for (int i = 0; i < n->labels.n; i++) {
		free(n->keys[i]);
		free(n->values[i]);
	}
	free(n->keys);
	free(n->values);
	memset(n, 0, sizeof(*n));
}

/* Copy ns into n (n is empty).  0 or -ENOMEM (n left empty). */
static int ns_entry_fill(struct ns_entry *n, const struct kube_namespace *ns)
{
	int cnt = ns->n_labels;

	snprintf(n->name, sizeof(n->name), "%s", ns->name);
	n->keys = calloc(cnt ? cnt : 1, sizeof(char *));
	n->values = calloc(cnt ? cnt : 1, sizeof(char *));
	if (!n->keys || !n->values)
		goto fail;
	n->labels.keys = n->keys;
	n->labels.values = n->values;
	for (int i = 0; i < cnt; i++) {
		n->keys[i] = strdup(ns->label_keys[i]);
		n->values[i] = strdup(ns->label_values[i]);
		n->labels.n = i + 1;
		if (!n->keys[i] || !n->values[i])
			goto fail;
	}
	return 0;
fail:
	ns_entry_free(n);
	return -ENOMEM;
}

/* Re-derive the pods of namespace name (NULL: every pod). */
static void reapply_ns(struct endpoint_sync *s, const char *name)
{
	struct pod_entry *e, *tmp;

	HASH_ITER(hh, s->pods, e, tmp)
		if (!name || strcmp(e->pod.namespace_, name) == 0)
			apply(s, e, true);
}

int endpoint_sync_ns_set(struct endpoint_sync *s, const struct kube_namespace *ns)
{
	struct ns_entry fresh, *n = find_ns(s, ns->name);

	op_begin(s);
	if (ns_entry_fill(&fresh, ns))
		return -ENOMEM;
	if (!n) {
		if (s->n_ns == s->cap_ns) {
			int cap = s->cap_ns ? s->cap_ns * 2 : 64;
			struct ns_entry *a = realloc(s->ns, cap * sizeof(*a));

			if (!a) {
				ns_entry_free(&fresh);
				return -ENOMEM;
			}
			s->ns = a;
			s->cap_ns = cap;
		}
		n = &s->ns[s->n_ns++];
	} else {
		ns_entry_free(n);
	}
	*n = fresh;
	n->labels.keys = n->keys;     /* the views point into n's own arrays */
	n->labels.values = n->values;
	reapply_ns(s, ns->name);
	return op_end(s, "namespace");
}

int endpoint_sync_ns_delete(struct endpoint_sync *s, const char *name)
{
	struct ns_entry *n = find_ns(s, name);

	op_begin(s);
	if (!n)
		return 0;
	ns_entry_free(n);
	*n = s->ns[--s->n_ns];
	reapply_ns(s, name);
	return op_end(s, "namespace");
}

int endpoint_sync_ns_replace_all(struct endpoint_sync *s, const struct kube_namespace *nss,
				 size_t n)
{
	struct ns_entry *a = calloc(n ? n : 1, sizeof(*a));

	op_begin(s);
	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (ns_entry_fill(&a[i], &nss[i])) {
			while (i--)
				ns_entry_free(&a[i]);
			free(a);
			return -ENOMEM;
		}
	}
	for (int i = 0; i < s->n_ns; i++)
		ns_entry_free(&s->ns[i]);
	free(s->ns);
	s->ns = a;
	s->n_ns = s->cap_ns = (int)n;
	if (!n)
		s->cap_ns = 1;
	reapply_ns(s, NULL);
	return op_end(s, "namespace list");
}

void endpoint_sync_on_capped(struct endpoint_sync *s,
			     void (*cb)(void *ctx, const struct pod *p, const struct pod_policy *pol),
			     void *ctx)
{
	s->cap_cb = cb;
	s->cap_ctx = ctx;
}

void endpoint_sync_on_warning(struct endpoint_sync *s,
			      void (*cb)(void *ctx, const struct pod *p, const char *warning),
			      void *ctx)
{
	s->warn_cb = cb;
	s->warn_ctx = ctx;
}

void endpoint_sync_free(struct endpoint_sync *s)
{
	if (!s)
		return;
	struct pod_entry *e, *etmp;
	struct ip_slot *slot, *stmp;

	HASH_ITER(hh, s->pods, e, etmp) {
		HASH_DEL(s->pods, e);
		free_entry(e);
	}
	HASH_ITER(hh, s->ips, slot, stmp) {
		HASH_DEL(s->ips, slot);
		free(slot);
	}
	for (int i = 0; i < s->n_ns; i++)
		ns_entry_free(&s->ns[i]);
	free(s->ns);
	free(s);
}

static int write_table_maps(struct endpoint_sync *s, const struct class_table *t)
{
	struct tcprio_config cfg = {
		.default_class = t->default_class,
		.trust_dscp = !t->trust_dscp ? 0 : t->trust_forwarded ? TCPRIO_TRUST_DSCP_FORWARDED : 1,
		.rewrite_dscp = t->rewrite_dscp, .enabled = t->enabled,
		.sanitize_unknown = t->sanitize_unknown,
	};
	__u32 key;
	int err;

	for (key = 0; key < TCPRIO_MAX_CLASSES; key++) {
		struct tcprio_class c;

		memset(&c, 0, sizeof(c));
		if ((int)key < t->n_classes) {
			c.priority = t->classes[key].priority;
			c.dscp = t->classes[key].dscp;
			c.flags = TCPRIO_CLASS_VALID;
			memcpy(c.name, t->classes[key].name, sizeof(c.name));
		}
		if ((err = m_update(s, SYNC_MAP_CLASSES, &key, &c)))
			map_fail(s, "update", "tcprio_classes", NULL, err);
	}
	for (key = 0; key < TCPRIO_DSCP_VALUES; key++) {
		struct tcprio_dscp_class d = { 0, 0 };

		for (int i = 0; i < t->n_classes && !d.valid; i++)
			if (t->classes[i].dscp == key)
				d = (struct tcprio_dscp_class){ .class_id = i, .valid = 1 };
		if ((err = m_update(s, SYNC_MAP_DSCP_CLASSES, &key, &d)))
			map_fail(s, "update", "tcprio_dscp_classes", NULL, err);
	}
	key = 0;
	if ((err = m_update(s, SYNC_MAP_CONFIG, &key, &cfg)))
		map_fail(s, "update", "tcprio_config", NULL, err);
	return s->op_err;
}

/* The id in t of the class the classes map (still the old table) calls
 * old_id, or -1 when t has no class of that name. */
static int class_by_old_name(struct endpoint_sync *s, const struct class_table *t,
			     __u32 old_id, char *name, size_t len)
{
	struct tcprio_class c;

	name[0] = '\0';
	if (m_lookup(s, SYNC_MAP_CLASSES, &old_id, &c) || !(c.flags & TCPRIO_CLASS_VALID))
		return -1;
	snprintf(name, len, "%.*s", (int)sizeof(c.name), c.name);
	return class_table_find(t, name);
}

/*
 * Manual entries (`tcprio endpoint add`, source TCPRIO_SRC_MANUAL) hold a
 * class id, a position in the table.  Before t replaces the table, give
 * each one, and each of its port rules, the position its class NAME has in
 * t (a reordered table moved critical to bulk; a shorter one left "#3");
 * remove it with a warning when t has no class of that name.
 */
static void remap_manual(struct endpoint_sync *s, const struct class_table *t)
{
	struct tcprio_ip *eps = NULL;
	struct tcprio_port_key *prs = NULL;
	char name[TCPRIO_CLASS_NAME_LEN + 1], ip[INET6_ADDRSTRLEN];
	size_t n_ep = 0, n_pr = 0;

	if (s->ops.keys(s->ops.ctx, SYNC_MAP_PORT_RULES, (void **)&prs, &n_pr))
		n_pr = 0;
	for (size_t i = 0; i < n_pr; i++) {
		struct tcprio_endpoint v;
		struct tcprio_port_rule r;
		int id;

		if (m_lookup(s, SYNC_MAP_ENDPOINTS, &prs[i].ip, &v) || v.source != TCPRIO_SRC_MANUAL ||
		    m_lookup(s, SYNC_MAP_PORT_RULES, &prs[i], &r))
			continue;
		id = class_by_old_name(s, t, r.class_id, name, sizeof(name));
		if (id < 0) {
			m_delete(s, SYNC_MAP_PORT_RULES, &prs[i]);
			pr_warn("manual endpoint %s: port %u rule of class \"%s\" removed: no such "
				"class in the new table", ip_to_string(&prs[i].ip, ip, sizeof(ip)),
				prs[i].port, name);
		} else if ((__u32)id != r.class_id) {
			r.class_id = (__u32)id;
			m_update(s, SYNC_MAP_PORT_RULES, &prs[i], &r);
		}
	}
	if (s->ops.keys(s->ops.ctx, SYNC_MAP_ENDPOINTS, (void **)&eps, &n_ep))
		n_ep = 0;
	for (size_t i = 0; i < n_ep; i++) {
		struct tcprio_endpoint v;
		int id;

		if (m_lookup(s, SYNC_MAP_ENDPOINTS, &eps[i], &v) || v.source != TCPRIO_SRC_MANUAL)
			continue;
		id = class_by_old_name(s, t, v.class_id, name, sizeof(name));
		if (id < 0) {
			endpoint_sync_manual_del(s, &eps[i], NULL);
			pr_warn("manual endpoint %s removed: its class \"%s\" is not in the new class "
				"table", ip_to_string(&eps[i], ip, sizeof(ip)), name);
		} else if ((__u32)id != v.class_id) {
			pr_info("manual endpoint %s: class %s is now #%d of the table",
				ip_to_string(&eps[i], ip, sizeof(ip)), name, id);
			v.class_id = (__u32)id;
			m_update(s, SYNC_MAP_ENDPOINTS, &eps[i], &v);
		}
	}
	free(eps);
	free(prs);
}

int endpoint_sync_set_table(struct endpoint_sync *s, const struct class_table *t)
{
	struct pod_entry *e, *tmp;

	op_begin(s);
	remap_manual(s, t); /* while the classes map still has the old names */
	s->t = t;
	write_table_maps(s, t);
	HASH_ITER(hh, s->pods, e, tmp)
		apply(s, e, true);
	return op_end(s, "class table");
}

/* Find or create the entry for p and store a copy of p in it. */
static int store_pod(struct endpoint_sync *s, const struct pod *p,
		     struct pod_entry **out)
{
	struct pod_entry *e = find_pod(s, p->uid);
	struct pod copy;

	if (pod_copy(&copy, p))
		return -ENOMEM;
	if (e) {
		pod_free(&e->pod);
		e->pod = copy;
		*out = e;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		pod_free(&copy);
		return -ENOMEM;
	}
	e->pod = copy;
	e->pod_id = pod_id_from_uid(p->uid);
	hash_oom = false;
	HASH_ADD_STR(s->pods, pod.uid, e);
	if (hash_oom) {
		free_entry(e);
		return -ENOMEM;
	}
	*out = e;
	return 0;
}

static int upsert(struct endpoint_sync *s, const struct pod *p, bool force)
{
	struct pod_entry *e;
	int err;

	if (!p->uid[0])
		return -EINVAL;
	err = store_pod(s, p, &e);
	if (err)
		return err;
	e->dirty = e->dirty || force;
	e->mark = true;
	return apply(s, e, true);
}

int endpoint_sync_upsert(struct endpoint_sync *s, const struct pod *p)
{
	int err;

	op_begin(s);
	err = upsert(s, p, false);
	return op_end(s, "upsert") ?: err;
}

/* Remove e's entries and forget it. */
static int forget(struct endpoint_sync *s, struct pod_entry *e)
{
	int err = apply(s, e, false);

	HASH_DEL(s->pods, e);
	free_entry(e);
	return err;
}

int endpoint_sync_delete(struct endpoint_sync *s, const struct pod *p)
{
	struct pod_entry *e = find_pod(s, p->uid);
	uint64_t pod_id = pod_id_from_uid(p->uid);

	op_begin(s);
	if (e) {
		forget(s, e);
		return op_end(s, "delete");
	}
	/* Unknown pod (e.g. before the first list): entries carrying its id. */
	for (int i = 0; i < p->n_ips; i++) {
		struct ip_slot *slot = find_ip(s, &p->ips[i]);

		if (!slot || !slot->owner)
			del_endpoint_if(s, &p->ips[i], pod_id);
	}
	del_name(s, pod_id);
	return op_end(s, "delete");
}

/* ---- replace_all: stale entries in the maps ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Whether the endpoint map holds a manual entry for ip. */
static bool is_manual(struct endpoint_sync *s, const struct tcprio_ip *ip)
{
	struct tcprio_endpoint v;

	return m_lookup(s, SYNC_MAP_ENDPOINTS, ip, &v) == 0 &&
	       v.source == TCPRIO_SRC_MANUAL;
}

/* Endpoints: delete entries no known pod owns (unless manual); ids of the
 * manual entries kept are appended to *keep (array of *n_keep). */
static int sweep_endpoints(struct endpoint_sync *s, uint64_t *keep, size_t *n_keep)
{
	struct tcprio_ip *keys = NULL;
	size_t n = 0;
	int err = s->ops.keys(s->ops.ctx, SYNC_MAP_ENDPOINTS, (void **)&keys, &n);

	if (err)
		return map_fail(s, "iterate", "tcprio_endpoints", NULL, err);
	for (size_t i = 0; i < n; i++) {
		struct ip_slot *slot = find_ip(s, &keys[i]);
		struct tcprio_endpoint v;

		if (m_lookup(s, SYNC_MAP_ENDPOINTS, &keys[i], &v))
			continue; /* gone meanwhile */
		if (slot && slot->owner) {
			if (v.pod_id != slot->owner->pod_id && v.source != TCPRIO_SRC_MANUAL)
				write_ip(s, slot->owner, slot, &slot->owner->cur,
					 &slot->owner->cur, true);
			continue;
		}
		if (v.source == TCPRIO_SRC_MANUAL) {
			keep[(*n_keep)++] = v.pod_id;
			continue;
		}
		if ((err = m_delete(s, SYNC_MAP_ENDPOINTS, &keys[i])) && err != -ENOENT)
			map_fail(s, "delete", "tcprio_endpoints", &keys[i], err);
	}
	free(keys);
	return 0;
}

static int sweep_ports(struct endpoint_sync *s)
{
	struct tcprio_port_key *keys = NULL;
	size_t n = 0;
	int err = s->ops.keys(s->ops.ctx, SYNC_MAP_PORT_RULES, (void **)&keys, &n);

	if (err)
		return map_fail(s, "iterate", "tcprio_port_rules", NULL, err);
	for (size_t i = 0; i < n; i++) {
		struct ip_slot *slot = find_ip(s, &keys[i].ip);
		struct port_class r = { .port = keys[i].port, .protocol = keys[i].protocol };

		if (slot && slot->owner && find_port(&slot->owner->cur, &r))
			continue;
		if ((!slot || !slot->owner) && is_manual(s, &keys[i].ip))
			continue;
		if ((err = m_delete(s, SYNC_MAP_PORT_RULES, &keys[i])) && err != -ENOENT)
			map_fail(s, "delete", "tcprio_port_rules", &keys[i].ip, err);
	}
	free(keys);
	return 0;
}

/* tcprio_pods: keep the ids in keep[0..n_keep) (sorted here), delete others. */
static int sweep_names(struct endpoint_sync *s, uint64_t *keep, size_t n_keep)
{
	struct pod_entry *e, *tmp;
	uint64_t *keys = NULL;
	size_t n = 0;
	int err;

	HASH_ITER(hh, s->pods, e, tmp)
		if (e->named)
			keep[n_keep++] = e->pod_id;
	qsort(keep, n_keep, sizeof(*keep), cmp_u64);
	err = s->ops.keys(s->ops.ctx, SYNC_MAP_PODS, (void **)&keys, &n);
	if (err)
		return map_fail(s, "iterate", "tcprio_pods", NULL, err);
	for (size_t i = 0; i < n; i++) {
		if (bsearch(&keys[i], keep, n_keep, sizeof(*keep), cmp_u64))
			continue;
		del_name(s, keys[i]);
	}
	free(keys);
	return 0;
}

static int sweep_maps(struct endpoint_sync *s)
{
	/* Room for every manual entry of the endpoint map plus every pod. */
	size_t n_keep = 0;
	uint64_t *keep = malloc((TCPRIO_MAX_ENDPOINTS + HASH_COUNT(s->pods) + 1) * sizeof(*keep));

	if (!keep)
		return -ENOMEM;
	sweep_endpoints(s, keep, &n_keep);
	sweep_ports(s);
	sweep_names(s, keep, n_keep);
	free(keep);
	return 0;
}

int endpoint_sync_replace_all(struct endpoint_sync *s, struct pod *pods, int n)
{
	struct pod_entry **gone = NULL, *e, *tmp;
	size_t n_gone = 0;
	int err = 0, r;

	op_begin(s);
	s->listed = true;
	HASH_ITER(hh, s->pods, e, tmp)
		e->mark = false;
	for (int i = 0; i < n; i++) {
		e = pods[i].uid[0] ? find_pod(s, pods[i].uid) : NULL;
		if (e)
			e->mark = true;
	}
	/* Forget the pods that are gone first, so that their room in the maps
	 * is free for the new ones. */
	gone = malloc((HASH_COUNT(s->pods) + 1) * sizeof(*gone));
	if (!gone) {
		err = -ENOMEM;
		goto cleanup;
	}
	HASH_ITER(hh, s->pods, e, tmp)
		if (!e->mark)
			gone[n_gone++] = e;
	for (size_t i = 0; i < n_gone; i++)
		forget(s, gone[i]);
	for (int i = 0; i < n; i++)
		if (pods[i].uid[0] && (r = upsert(s, &pods[i], true)) == -ENOMEM)
			err = err ?: r; /* map errors: see the second pass */
	op_end(s, "replace all");

	/* Stale entries of an earlier run; then retry the pods whose writes
	 * failed (a full map may have room now).  The result is the outcome
	 * of this second pass. */
	op_begin(s);
	if ((r = sweep_maps(s)))
		err = err ?: r;
	HASH_ITER(hh, s->pods, e, tmp)
		if (e->dirty)
			apply(s, e, true);
cleanup:
	free(gone);
	return op_end(s, "replace all") ?: err;
}

/* ---- manual entries ---- */

/* Delete every port rule on ip.  Returns how many, or -errno. */
static int del_ports_of(struct endpoint_sync *s, const struct tcprio_ip *ip)
{
	struct tcprio_port_key *keys = NULL;
	size_t n = 0;
	int err = s->ops.keys(s->ops.ctx, SYNC_MAP_PORT_RULES, (void **)&keys, &n), done = 0;

	if (err)
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		if (memcmp(&keys[i].ip, ip, sizeof(*ip)))
			continue;
		err = m_delete(s, SYNC_MAP_PORT_RULES, &keys[i]);
		if (err == -ENOENT)
			err = 0;
		else if (!err)
			done++;
	}
	free(keys);
	return err ?: done;
}

int endpoint_sync_manual_set(struct endpoint_sync *s, const struct tcprio_ip *ip,
			     uint64_t pod_id, int class_id, const struct port_class *ports,
			     int n_ports, const char *name)
{
	struct tcprio_endpoint ep = {
		.pod_id = pod_id, .class_id = (__u32)class_id, .source = TCPRIO_SRC_MANUAL,
	};
	struct tcprio_pod v;
	int err = del_ports_of(s, ip);

	if (err < 0)
		return err;
	policy_set_endpoint_rules(&ep, ports, n_ports);
	for (int i = 0; i < n_ports; i++) {
		struct tcprio_port_rule r = { .class_id = ports[i].class_id };
		struct tcprio_port_key k;

		port_key(&k, ip, &ports[i]);
		if ((err = m_update(s, SYNC_MAP_PORT_RULES, &k, &r)))
			return err;
	}
	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "%s", name);
	if ((err = m_update(s, SYNC_MAP_PODS, &pod_id, &v)))
		return err;
	return m_update(s, SYNC_MAP_ENDPOINTS, ip, &ep);
}

int endpoint_sync_manual_del(struct endpoint_sync *s, const struct tcprio_ip *ip,
			     struct tcprio_endpoint *old)
{
	struct tcprio_endpoint cur;
	int err = m_lookup(s, SYNC_MAP_ENDPOINTS, ip, &cur), n;

	if (err)
		return err;
	if (old)
		*old = cur;
	err = m_delete(s, SYNC_MAP_ENDPOINTS, ip);
	if (err && err != -ENOENT)
		return err;
	n = del_ports_of(s, ip);
	if (n < 0)
		return n;
	if (cur.source == TCPRIO_SRC_MANUAL)
		m_delete(s, SYNC_MAP_PODS, &cur.pod_id);
	return n;
}

int endpoint_sync_retry_failed(struct endpoint_sync *s)
{
	struct pod_entry *e, *tmp;
	int retried = 0, left = 0;

	HASH_ITER(hh, s->pods, e, tmp)
		retried += e->dirty;
	if (!retried)
		return 0;
	op_begin(s);
	HASH_ITER(hh, s->pods, e, tmp)
		if (e->dirty) {
			apply(s, e, true);
			left += e->dirty;
		}
	op_end(s, "retry");
	if (left < retried)
		pr_info("endpoint sync: %d of %d pods with failed map writes now complete",
			retried - left, retried);
	return left;
}

/* Whether the port rules of ip differ from what e wrote (one missing, or
 * another class: `tcprio endpoint --force`, bpftool). */
static bool ports_drifted(struct endpoint_sync *s, const struct pod_entry *e,
			  const struct tcprio_ip *ip)
{
	for (int i = 0; i < e->cur.n_ports; i++) {
		struct tcprio_port_key k;
		struct tcprio_port_rule r;

		port_key(&k, ip, &e->cur.ports[i]);
		if (m_lookup(s, SYNC_MAP_PORT_RULES, &k, &r) || r.class_id != e->cur.ports[i].class_id)
			return true;
	}
	return false;
}

/* Whether e wants the port rule k (same IP, port and protocol). */
static bool wants_port(const struct pod_entry *e, const struct tcprio_port_key *k)
{
	for (int i = 0; i < e->cur.n_ports; i++) {
		struct tcprio_port_key want;

		port_key(&want, &k->ip, &e->cur.ports[i]);
		if (!memcmp(&want, k, sizeof(want)))
			return true;
	}
	return false;
}

/* Delete port rules that nobody asked for on an IP the agent owns (added by
 * `tcprio endpoint add --force` or bpftool): the pass above only finds rules
 * that are missing or changed.  One key dump per reconcile, not per pod.
 * Returns how many were deleted, or -errno from the dump. */
static int drop_foreign_ports(struct endpoint_sync *s)
{
	struct tcprio_port_key *keys = NULL;
	size_t n = 0;
	int err = s->ops.keys(s->ops.ctx, SYNC_MAP_PORT_RULES, (void **)&keys, &n), dropped = 0;

	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		const struct ip_slot *slot = find_ip(s, &keys[i].ip);

		if (!slot || !slot->owner || wants_port(slot->owner, &keys[i]))
			continue; /* a manual entry's rule, or one the owner wants */
		if (!m_delete(s, SYNC_MAP_PORT_RULES, &keys[i]))
			dropped++;
	}
	free(keys);
	return dropped;
}

/* Whether e's rule block no longer holds e's rules (bpftool, another
 * writer). */
static bool block_drifted(struct endpoint_sync *s, const struct pod_entry *e)
{
	struct tcprio_rule_block b, want;
	__u32 k = e->cur.ep.rule_block;

	if (!(e->cur.ep.flags & TCPRIO_EP_RULES_BLOCK))
		return false;
	policy_fill_rule_block(&want, e->pod_id, e->cur.ports, e->cur.n_ports);
	return m_lookup(s, SYNC_MAP_RULE_BLOCKS, &k, &b) || memcmp(&b, &want, sizeof(b));
}

/* Free the rule blocks that hold a pod_id but no known pod uses (left by
 * an agent before a restart, or a pod whose entry a manual one replaced);
 * nothing before the engine knows the pods (no pod list yet: every block
 * would look unused).  Returns how many were freed. */
static int drop_stale_blocks(struct endpoint_sync *s)
{
	static const struct tcprio_rule_block zero;
	bool used[TCPRIO_RULE_BLOCKS] = { false };
	struct pod_entry *e, *tmp;
	int freed = 0;

	if (!s->listed && !HASH_COUNT(s->pods))
		return 0;
	HASH_ITER(hh, s->pods, e, tmp)
		if (e->cur.ep.flags & TCPRIO_EP_RULES_BLOCK &&
		    e->cur.ep.rule_block < TCPRIO_RULE_BLOCKS)
			used[e->cur.ep.rule_block] = true;
	for (__u32 k = 0; k < TCPRIO_RULE_BLOCKS; k++) {
		struct tcprio_rule_block b;

		if (used[k] || m_lookup(s, SYNC_MAP_RULE_BLOCKS, &k, &b) || !b.pod_id)
			continue;
		if (m_update(s, SYNC_MAP_RULE_BLOCKS, &k, &zero) == 0)
			freed++;
	}
	return freed;
}

int endpoint_sync_reconcile(struct endpoint_sync *s)
{
	struct pod_entry *e, *tmp;
	int drifted = 0, foreign, stale;

	HASH_ITER(hh, s->pods, e, tmp) {
		bool owns = false;

		for (int k = 0; !e->dirty && k < e->cur.n_ips; k++) {
			struct ip_slot *slot = find_ip(s, &e->cur.ips[k]);
			struct tcprio_endpoint v;

			if (!slot || slot->owner != e)
				continue; /* another pod holds it: not ours to check */
			owns = true;
			if (m_lookup(s, SYNC_MAP_ENDPOINTS, &e->cur.ips[k], &v) ||
			    memcmp(&v, &e->cur.ep, sizeof(v)) ||
			    ports_drifted(s, e, &e->cur.ips[k])) {
				e->dirty = true; /* rewritten in full by retry below */
				drifted++;
			}
		}
		if (owns && !e->dirty && block_drifted(s, e)) {   /* one block per pod */
			e->dirty = true;
			drifted++;
		}
	}
	foreign = drop_foreign_ports(s);
	if ((stale = drop_stale_blocks(s)) > 0)
		pr_info("endpoint sync: freed %d rule block(s) no known pod uses", stale);
	if (foreign > 0)
		pr_warn("endpoint sync: deleted %d port rule(s) on pod IPs the agent owns that no "
			"pod asked for (tcprio endpoint --force, bpftool)", foreign);
	if (!drifted)
		return foreign > 0 ? foreign : 0;
	pr_warn("endpoint sync: %d pod(s) whose map entries were changed or deleted behind "
		"the agent's back (tcprio endpoint --force, bpftool); writing them again", drifted);
	endpoint_sync_retry_failed(s);
	return drifted + (foreign > 0 ? foreign : 0);
}

int endpoint_sync_last_writes(const struct endpoint_sync *s)
{
	return s->op_writes;
}

int endpoint_sync_pod_count(const struct endpoint_sync *s)
{
	return (int)HASH_COUNT(s->pods);
}

int endpoint_sync_endpoint_count(const struct endpoint_sync *s)
{
	return s->n_owned;
}

int endpoint_sync_port_rule_count(const struct endpoint_sync *s)
{
	return s->n_rules;
}

static void fill_view(const struct endpoint_sync *s, const struct pod_entry *e,
		      struct endpoint_sync_view *v)
{
	memset(v, 0, sizeof(*v));
	v->pod = &e->pod;
	for (int i = 0; i < e->pod.n_ips && i < POD_MAX_IPS; i++) {
		const struct ip_slot *slot = find_ip(s, &e->pod.ips[i]);

		v->owns[i] = slot && slot->owner == e;
	}
}

int endpoint_sync_find(const struct endpoint_sync *s, const char *ns, const char *name,
		       const struct tcprio_ip *ip, struct endpoint_sync_view *v)
{
	const struct pod_entry *claimant = NULL;
	struct pod_entry *e, *tmp;

	if (ip) {
		const struct ip_slot *slot = find_ip(s, ip);

		if (slot && slot->owner) {
			fill_view(s, slot->owner, v);
			return 0;
		}
	}
	HASH_ITER(hh, s->pods, e, tmp) {
		if (!ip && ns && name && !strcmp(e->pod.namespace_, ns) && !strcmp(e->pod.name, name)) {
			fill_view(s, e, v);
			return 0;
		}
		for (int j = 0; ip && !claimant && j < e->pod.n_ips; j++)
			if (!memcmp(&e->pod.ips[j], ip, sizeof(*ip)))
				claimant = e;
	}
	if (!claimant)
		return -ENOENT;
	fill_view(s, claimant, v);
	return 0;
}
