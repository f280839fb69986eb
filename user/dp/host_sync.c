/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * host_sync.c - host rules and host-network pods -> the host-traffic maps
 * (host_sync.h).  The sets are small (at most TCPRIO_MAX_HOST_RULES rules
 * and a node's host-network pods), so every rescan computes the wanted map
 * contents and compares them with the maps entry by entry.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "lib/cgroup2.h"
#include "lib/log.h"
#include "policy/policy.h"
#include "dp/host_answers.h"
#include "dp/host_sync.h"

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif
#define IPPROTO_ICMPV6_ 58

/* One effective rule and what its cgroup resolved to. */
struct hrule {
	struct host_rule r;   /* r.cgroup: own heap copy */
	int builtin;
	uint64_t id;          /* resolved cgroup id, 0: not found */
	int logged_missing;   /* the "skipped" line was printed */
};

/* One host-network pod that wants an entry. */
struct hpod {
	char uid[64];
	char name[320];       /* namespace/name, for logs */
	uint64_t pod_id;
	uint32_t class_id;
	int n_ports;
	struct port_class ports[POLICY_MAX_PORT_RULES];
	uint64_t id;          /* resolved pod cgroup id, 0: not found */
	char path[CGROUP2_PATH_MAX];
	int logged_missing;
	struct pod pod;       /* deep copy (pod_copy): re-decided on a new table */
};

struct host_sync {
	struct datapath_maps maps;
	char root[256];       /* cgroup2 mount point; "" if none */
	struct class_table table; /* copy of the classes only (no rules) */
	struct hrule *rules;
	int n_rules;
	struct hpod *pods;
	int n_pods, cap_pods;
	struct host_answers *answers; /* tcprio_host_answers; NULL: not written */
};

struct host_sync *host_sync_new(const struct datapath_maps *maps,
				const char *cgroup_root)
{
	struct host_sync *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	s->maps = *maps;
	if (cgroup_root) {
		snprintf(s->root, sizeof(s->root), "%s", cgroup_root);
	} else if ((err = cgroup2_root(s->root, sizeof(s->root)))) {
		s->root[0] = '\0';
		pr_info("host rules: no cgroup v2 hierarchy mounted (%s); cgroup rules and "
			"host-network pods are not classified, destination rules are",
			strerror(-err));
	}
	if (maps->host_answers >= 0 && !(s->answers = host_answers_new(maps->host_answers))) {
		pr_warn("host rules: tcprio_host_answers: %s; a socket's first packet walks "
			"its cgroup's ancestors", strerror(errno));
		host_answers_clear(maps->host_answers);  /* no earlier run's answers */
	}
	return s;
}

static void free_rules(struct host_sync *s)
{
	for (int i = 0; i < s->n_rules; i++)
		free(s->rules[i].r.cgroup);
	free(s->rules);
	s->rules = NULL;
	s->n_rules = 0;
}

void host_sync_free(struct host_sync *s)
{
	if (!s)
		return;
	free_rules(s);
	for (int i = 0; i < s->n_pods; i++)
		pod_free(&s->pods[i].pod);
	free(s->pods);
	host_answers_free(s->answers);
	free(s);
}

/* ---- host-network pods ---- */

/* Find p's pod cgroup under the kubepods hierarchy (both drivers, every
 * QoS class) into h->path / h->id; 0 if found, -ENOENT. */
static int find_pod_cgroup(const struct host_sync *s, struct hpod *h)
{
	static const char *const qos[] = { "", "burstable", "besteffort" };
	char u[64], path[CGROUP2_PATH_MAX];

	snprintf(u, sizeof(u), "%s", h->uid);
	for (char *c = u; *c; c++)
		if (*c == '-')
			*c = '_';
	for (int i = 0; i < 3; i++) {
		uint64_t id;

		if (qos[i][0])
			snprintf(path, sizeof(path),
				 "/kubepods.slice/kubepods-%s.slice/kubepods-%s-pod%s.slice",
				 qos[i], qos[i], u);
		else
			snprintf(path, sizeof(path), "/kubepods.slice/kubepods-pod%s.slice", u);
		if (cgroup2_id(s->root, path, &id) == 0)
			goto found;
		if (qos[i][0])
			snprintf(path, sizeof(path), "/kubepods/%s/pod%s", qos[i], h->uid);
		else
			snprintf(path, sizeof(path), "/kubepods/pod%s", h->uid);
		if (cgroup2_id(s->root, path, &id) == 0)
			goto found;
		continue;
found:
		h->id = id;
		snprintf(h->path, sizeof(h->path), "%s", path);
		return 0;
	}
	h->id = 0;
	return -ENOENT;
}

static struct hpod *find_pod(struct host_sync *s, const char *uid)
{
	for (int i = 0; i < s->n_pods; i++)
		if (strcmp(s->pods[i].uid, uid) == 0)
			return &s->pods[i];
	return NULL;
}

static void drop_pod(struct host_sync *s, struct hpod *h)
{
	pr_info("host-network pod %s: cgroup entry removed", h->name);
	pod_free(&h->pod);
	*h = s->pods[--s->n_pods];
}

/* Does p (under the current table) want a cgroup entry?  Fills h. */
static int pod_wants(const struct host_sync *s, const struct pod *p, struct hpod *h)
{
	struct pod_policy pol;

	if (!p->host_network || s->table.n_classes == 0)
		return 0;
	policy_decide(&s->table, p, &pol);
	if (!pol.host_network)
		return 0;
	if (pol.source != TCPRIO_SRC_ANNOTATION && pol.source != TCPRIO_SRC_LABEL_RULE &&
	    pol.n_ports == 0)
		return 0;
	memset(h, 0, sizeof(*h));
	snprintf(h->uid, sizeof(h->uid), "%s", p->uid);
	snprintf(h->name, sizeof(h->name), "%s/%s", p->namespace_, p->name);
	h->pod_id = pod_id_from_uid(p->uid);
	h->class_id = pol.class_id;
	h->n_ports = pol.n_ports;
	memcpy(h->ports, pol.ports, sizeof(h->ports));
	return 1;
}

int host_sync_pod(struct host_sync *s, const struct pod *p, int deleted)
{
	struct hpod want, *cur = find_pod(s, p->uid);

	if (deleted || !pod_wants(s, p, &want)) {
		if (cur)
			drop_pod(s, cur);
		return 0;
	}
	if (pod_copy(&want.pod, p))
		return -ENOMEM;
	if (cur) {
		want.id = cur->id;
		snprintf(want.path, sizeof(want.path), "%s", cur->path);
		want.logged_missing = cur->logged_missing;
		pod_free(&cur->pod);
		*cur = want;
		return 0;
	}
	if (s->n_pods == s->cap_pods) {
		int cap = s->cap_pods ? 2 * s->cap_pods : 8;
		struct hpod *n = realloc(s->pods, (size_t)cap * sizeof(*n));

		if (!n) {
			pod_free(&want.pod);
			return -ENOMEM;
		}
		s->pods = n;
		s->cap_pods = cap;
	}
	s->pods[s->n_pods++] = want;
	pr_info("host-network pod %s: class %s for its cgroup, %d port rules", want.name,
		s->table.classes[want.class_id].name, want.n_ports);
	return 0;
}

int host_sync_replace_pods(struct host_sync *s, const struct pod *pods, int n)
{
	int ret = 0;

	for (int i = 0; i < s->n_pods;) {
		int found = 0;

		for (int j = 0; j < n && !found; j++)
			found = strcmp(pods[j].uid, s->pods[i].uid) == 0;
		if (found)
			i++;
		else
			drop_pod(s, &s->pods[i]);
	}
	for (int j = 0; j < n; j++) {
		int err = host_sync_pod(s, &pods[j], 0);

		if (err && !ret)
			ret = err;
	}
	return ret;
}

/* ---- rules ---- */

int host_sync_set_rules(struct host_sync *s, const struct class_table *t,
			const struct host_endpoint *api, int n_api)
{
	struct host_rule_eff *eff = calloc(TCPRIO_MAX_HOST_RULES, sizeof(*eff));
	struct hrule *rules;
	int n;

	if (!eff)
		return -ENOMEM;
	n = host_rules_effective(t, api, n_api, eff, TCPRIO_MAX_HOST_RULES);
	if (n < 0) {
		pr_warn("host rules: more than %d rules with the built-in ones; keeping "
			"the running ones", TCPRIO_MAX_HOST_RULES);
		free(eff);
		return n;
	}
	rules = calloc(n ? (size_t)n : 1, sizeof(*rules));
	if (!rules) {
		free(eff);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		rules[i].r = eff[i].r;
		rules[i].builtin = eff[i].builtin;
		rules[i].r.cgroup = NULL;
		if (eff[i].r.cgroup && !(rules[i].r.cgroup = strdup(eff[i].r.cgroup))) {
			for (int j = 0; j < i; j++)
				free(rules[j].r.cgroup);
			free(rules);
			free(eff);
			return -ENOMEM;
		}
		/* keep "skipped" logged once across reloads of the same path */
		for (int j = 0; j < s->n_rules; j++)
			if (rules[i].r.cgroup && s->rules[j].r.cgroup &&
			    strcmp(rules[i].r.cgroup, s->rules[j].r.cgroup) == 0)
				rules[i].logged_missing = s->rules[j].logged_missing;
	}
	free(eff);
	free_rules(s);
	s->rules = rules;
	s->n_rules = n;
	/* The classes only: the rules' strings stay t's. */
	s->table = *t;
	s->table.rules = NULL;
	s->table.n_rules = 0;
	s->table.host_rules = NULL;
	s->table.n_host_rules = 0;
	if (t->n_rules) {
		/* label rules decide host-network pods' classes: borrow them
		 * (t outlives the next set_rules call, as for endpoint_sync) */
		s->table.rules = t->rules;
		s->table.n_rules = t->n_rules;
	}
	/* Host-network pods under the new table (classes, label rules). */
	for (int i = s->n_pods - 1; i >= 0; i--) {
		struct pod copy;

		if (pod_copy(&copy, &s->pods[i].pod))
			continue;
		host_sync_pod(s, &copy, 0);
		pod_free(&copy);
	}
	return host_sync_rescan(s);
}

/* Resolve rule i's cgroup; log a change of presence once. */
static void resolve_rule(struct host_sync *s, struct hrule *h)
{
	uint64_t id = 0;
	int err = s->root[0] ? cgroup2_id(s->root, h->r.cgroup, &id) : -ENOENT;

	if (err) {
		if (!h->logged_missing && s->root[0])
			pr_info("host rule cgroup %s: not on this node (%s); skipped until "
				"it appears", h->r.cgroup, strerror(-err));
		h->logged_missing = 1;
		h->id = 0;
		return;
	}
	if (h->id != id)
		pr_info("host rule cgroup %s: cgroup id %llu, class %s", h->r.cgroup,
			(unsigned long long)id, s->table.classes[h->r.class_id].name);
	h->logged_missing = 0;
	h->id = id;
}

static void resolve_pod(struct host_sync *s, struct hpod *h)
{
	uint64_t old = h->id;

	if (!s->root[0] || find_pod_cgroup(s, h)) {
		if (!h->logged_missing)
			pr_info("host-network pod %s: no pod cgroup for UID %s under kubepods "
				"yet", h->name, h->uid);
		h->logged_missing = 1;
		return;
	}
	h->logged_missing = 0;
	if (old != h->id)
		pr_info("host-network pod %s: cgroup %s (id %llu)", h->name, h->path,
			(unsigned long long)h->id);
}

/* ---- map writes ---- */

/* A wanted (key, value) list for one hash-like map. */
struct kv_list {
	size_t ksz, vsz;
	int n, cap;
	unsigned char *k, *v;
};

static int kv_add(struct kv_list *l, const void *k, const void *v)
{
	for (int i = 0; i < l->n; i++)
		if (memcmp(l->k + (size_t)i * l->ksz, k, l->ksz) == 0)
			return 0; /* first wins */
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 16;
		unsigned char *nk = realloc(l->k, (size_t)cap * l->ksz);

		if (!nk)
			return -ENOMEM;
		l->k = nk;
		unsigned char *nv = realloc(l->v, (size_t)cap * l->vsz);

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	memcpy(l->k + (size_t)l->n * l->ksz, k, l->ksz);
	memcpy(l->v + (size_t)l->n * l->vsz, v, l->vsz);
	l->n++;
	return 0;
}

/* Make map fd hold exactly l: delete other keys, write differing values.
 * Returns writes + deletes, or the first -errno. */
static int kv_apply(int fd, const struct kv_list *l)
{
	unsigned char key[64], next[64], val[64];
	int changes = 0, ret = 0;
	void *prev = NULL;

	if (fd < 0)
		return 0;
	/* Deleting while iterating restarts the walk at the start. */
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		int want = 0;

		memcpy(key, next, l->ksz);
		for (int i = 0; i < l->n && !want; i++)
			want = memcmp(l->k + (size_t)i * l->ksz, key, l->ksz) == 0;
		if (want) {
			prev = key;
			continue;
		}
		if (bpf_map_delete_elem(fd, key)) {
			ret = ret ? ret : -errno;
			prev = key;
			continue;
		}
		changes++;
		prev = NULL;
	}
	for (int i = 0; i < l->n; i++) {
		const void *k = l->k + (size_t)i * l->ksz, *v = l->v + (size_t)i * l->vsz;

		if (bpf_map_lookup_elem(fd, k, val) == 0 && memcmp(val, v, l->vsz) == 0)
			continue;
		if (bpf_map_update_elem(fd, k, v, BPF_ANY)) {
			if (!ret) {
				ret = -errno;
				pr_warn("host rules: map write failed: %s", strerror(-ret));
			}
			continue;
		}
		changes++;
	}
	return ret ? ret : changes;
}

/* Destination entries of rule h (slot) into l. */
static int add_dst_entries(struct kv_list *l, const struct hrule *h, uint16_t slot)
{
	static const uint8_t any_port[] = { IPPROTO_TCP, IPPROTO_UDP };
	static const uint8_t any[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP,
				       IPPROTO_ICMP, IPPROTO_ICMPV6_ };
	const uint8_t *protos = any;
	int n = 5, err = 0;
	uint8_t one;

	if (h->r.protocol) {
		one = h->r.protocol;
		protos = &one;
		n = 1;
	} else if (h->r.port) {
		protos = any_port;
		n = 2;
	}
	for (int i = 0; i < n && !err; i++) {
		struct tcprio_host_dst_key k;
		struct tcprio_host_rule v = { .class_id = h->r.class_id, .slot = slot };

		memset(&k, 0, sizeof(k));
		k.prefixlen = 32 + h->r.prefix_len;
		k.protocol = protos[i];
		k.port = h->r.port;
		memcpy(k.ip.addr, h->r.dst, 16);
		err = kv_add(l, &k, &v);
	}
	return err;
}

/* The tcprio_host_config.level_mask bit of cgroup level lvl (0 beyond
 * TCPRIO_HOST_MAX_LEVEL, where the uplink's walk does not reach). */
static __u16 level_bit(int lvl)
{
	return lvl >= 0 && lvl <= TCPRIO_HOST_MAX_LEVEL ? (__u16)(1u << lvl) : 0;
}

/* Write tcprio_host_filter for the cgroup ids of cg (include/tcprio.h)
 * where it differs.  Called after cg is in tcprio_host_cgroups, so the
 * filter never hides an entry.  Returns 1 if written, 0 if unchanged,
 * -errno. */
static int write_host_filter(int map_fd, const struct kv_list *cg)
{
	struct tcprio_host_filter f, cur;
	__u32 zero = 0;

	if (map_fd < 0)
		return 0;
	memset(&f, 0, sizeof(f));
	f.valid = 1;
	for (int i = 0; i < cg->n; i++) {
		__u64 id;

		memcpy(&id, cg->k + (size_t)i * cg->ksz, sizeof(id));
		tcprio_host_filter_add(&f, id);
	}
	f.n_ids = (__u32)cg->n;
	if (bpf_map_lookup_elem(map_fd, &zero, &cur) == 0 && memcmp(&cur, &f, sizeof(f)) == 0)
		return 0;
	return bpf_map_update_elem(map_fd, &zero, &f, BPF_ANY) ? -errno : 1;
}

int host_sync_rescan(struct host_sync *s)
{
	struct kv_list cg = { .ksz = sizeof(__u64), .vsz = sizeof(struct tcprio_host_rule) };
	struct kv_list dst = { .ksz = sizeof(struct tcprio_host_dst_key),
			       .vsz = sizeof(struct tcprio_host_rule) };
	struct kv_list ports = { .ksz = sizeof(struct tcprio_host_port_key),
				 .vsz = sizeof(struct tcprio_port_rule) };
	struct tcprio_host_config hc = { 0 };
	int err = 0, total = 0, r, deepest = -1;
	__u16 level_mask = 0;
	__u32 zero = 0;

	for (int i = 0; i < s->n_rules && !err; i++) {
		struct hrule *h = &s->rules[i];

		if (!h->r.cgroup) {
			err = add_dst_entries(&dst, h, (uint16_t)i);
			continue;
		}
		resolve_rule(s, h);
		if (h->id) {
			struct tcprio_host_rule v = { .class_id = h->r.class_id,
						      .slot = (uint16_t)i };
			int lvl = cgroup2_level(h->r.cgroup);

			err = kv_add(&cg, &h->id, &v);
			deepest = lvl > deepest ? lvl : deepest;
			level_mask |= level_bit(lvl);
		}
	}
	for (int i = 0; i < s->n_pods && !err; i++) {
		struct hpod *h = &s->pods[i];
		struct tcprio_host_rule v = { .pod_id = h->pod_id, .class_id = h->class_id,
					      .slot = TCPRIO_HOST_SLOT_POD };
		int lvl;

		resolve_pod(s, h);
		if (!h->id)
			continue;
		lvl = cgroup2_level(h->path);
		if (h->n_ports)
			v.flags = TCPRIO_HOST_HAS_PORT_RULES;
		/* a pod's own cgroup beats a rule on the same cgroup */
		for (int j = 0; j < cg.n; j++)
			if (memcmp(cg.k + (size_t)j * cg.ksz, &h->id, sizeof(h->id)) == 0)
				memcpy(cg.v + (size_t)j * cg.vsz, &v, sizeof(v));
		err = kv_add(&cg, &h->id, &v);
		for (int p = 0; p < h->n_ports && !err; p++) {
			struct tcprio_host_port_key k;
			struct tcprio_port_rule pr = { .class_id = h->ports[p].class_id };

			memset(&k, 0, sizeof(k));
			k.cgroup_id = h->id;
			k.port = h->ports[p].port;
			k.protocol = h->ports[p].protocol;
			err = kv_add(&ports, &k, &pr);
		}
		deepest = lvl > deepest ? lvl : deepest;
		level_mask |= level_bit(lvl);
	}
	if (err)
		goto out;
	/* Ports before cgroups before their filter and answers before
	 * config: the program never sees a flag, a filter bit, an answer or
	 * a level without its entries. */
	if ((r = kv_apply(s->maps.host_ports, &ports)) < 0 && !err)
		err = r;
	total += r > 0 ? r : 0;
	if ((r = kv_apply(s->maps.host_cgroups, &cg)) < 0 && !err)
		err = r;
	total += r > 0 ? r : 0;
	if ((r = write_host_filter(s->maps.host_filter, &cg)) < 0 && !err)
		err = r;
	total += r > 0 ? r : 0;
	if (s->answers) {  /* after the entries they copy, like the filter */
		r = host_answers_sync(s->answers, s->root, (const __u64 *)cg.k,
				      (const struct tcprio_host_rule *)cg.v, (size_t)cg.n, NULL);
		if (r < 0 && !err)
			err = r;
		total += r > 0 ? r : 0;
	}
	if ((r = kv_apply(s->maps.host_dsts, &dst)) < 0 && !err)
		err = r;
	total += r > 0 ? r : 0;
	if (cg.n)
		hc.cgroup_levels = (__u32)(deepest + 1 > TCPRIO_HOST_MAX_LEVEL + 1 ?
					   TCPRIO_HOST_MAX_LEVEL + 1 : deepest + 1);
	hc.dst_rules = dst.n > 0;
	hc.level_mask = cg.n ? level_mask : 0;
	if (s->maps.host_config >= 0) {
		struct tcprio_host_config cur;

		if (bpf_map_lookup_elem(s->maps.host_config, &zero, &cur) ||
		    memcmp(&cur, &hc, sizeof(hc))) {
			if (bpf_map_update_elem(s->maps.host_config, &zero, &hc, BPF_ANY))
				err = err ? err : -errno;
			else
				total++;
		}
	}
	/* Names for operators, by slot. */
	for (__u32 slot = 0; s->maps.host_rules >= 0 && slot < TCPRIO_HOST_SLOTS; slot++) {
		struct tcprio_host_name nm, cur;

		memset(&nm, 0, sizeof(nm));
		if (slot < (__u32)s->n_rules) {
			const struct hrule *h = &s->rules[slot];

			host_rule_text(&h->r, nm.text, sizeof(nm.text));
			nm.cgroup_id = h->id;
			nm.class_id = h->r.class_id;
			nm.builtin = (__u8)h->builtin;
			nm.state = h->r.cgroup && !h->id ? TCPRIO_HOST_MISSING : TCPRIO_HOST_ACTIVE;
		} else if (slot == TCPRIO_HOST_SLOT_POD) {
			snprintf(nm.text, sizeof(nm.text), "host-network pods");
			nm.state = TCPRIO_HOST_ACTIVE;
		} else if (slot == TCPRIO_HOST_SLOT_NONE) {
			snprintf(nm.text, sizeof(nm.text), "local sockets, no rule");
			nm.class_id = s->table.default_class;
			nm.state = TCPRIO_HOST_ACTIVE;
		}
		if (bpf_map_lookup_elem(s->maps.host_rules, &slot, &cur) == 0 &&
		    memcmp(&cur, &nm, sizeof(nm)) == 0)
			continue;
		bpf_map_update_elem(s->maps.host_rules, &slot, &nm, BPF_ANY);
	}
	/* The uplink caches its cgroup answers (tcprio_cg_cache): after a
	 * write (or a failed one, which may have written part), the next
	 * packet must look again. */
	if ((total > 0 || err) && s->maps.cache_gen > 0)
		datapath_note_change(s->maps.cache_gen);
out:
	free(cg.k); free(cg.v);
	free(dst.k); free(dst.v);
	free(ports.k); free(ports.v);
	return err ? err : total;
}

int host_sync_resolved(const struct host_sync *s, int *n_rules, int *n_pods)
{
	int r = 0, p = 0;

	for (int i = 0; i < s->n_rules; i++)
		r += !s->rules[i].r.cgroup || s->rules[i].id;
	for (int i = 0; i < s->n_pods; i++)
		p += s->pods[i].id != 0;
	*n_rules = r;
	*n_pods = p;
	return r + p;
}
