/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * trust_ifaces.c - tcprio_trust_ifaces from the links of the namespace;
 * see trust_ifaces.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include "dp/datapath.h"
#include "dp/trust_ifaces.h"
#include "dp/link_dump.h"
#include "dp/link_watch.h"
#include "dp/prefix_list.h"
#include "lib/log.h"
#include "policy/class_table.h"
#include "tcprio.h"

/* Link kinds (IFLA_INFO_KIND) of tunnels that carry other nodes' pod
 * traffic in the common CNIs: flannel/Calico/Cilium VXLAN, Cilium/OVN
 * Geneve, Calico IPIP (tunl0), GRE variants, IPv6 tunnels. */
static const char *const tunnel_kinds[] = {
	"vxlan", "geneve", "ipip", "sit", "ip6tnl", "gre", "gretap",
	"ip6gre", "ip6gretap", NULL,
};

struct link_info {
	int ifindex, master;
	const char *name, *kind;
	bool pod_edge;        /* is_pod_edge, asked once per link */
	unsigned int flags;
};

static bool in_list(const char *s, const char **list, int n)
{
	for (int i = 0; i < n; i++)
		if (s && strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static bool is_pod_iface(const struct link_info *l, const struct trust_ifaces_opts *o)
{
	/* no pod globs (--gateway): no pod interfaces (link_watch_match
	 * would match every name) */
	return l->name && o->n_pod_globs > 0 && !in_list(l->name, o->uplinks, o->n_uplinks) &&
	       link_watch_match(o->pod_globs, o->n_pod_globs, l->name);
}

/* Whether the pod-edge program runs first at l's ingress: attached and
 * not pre-empted, so that it wrote the DSCP of every packet the pod sent
 * (not yet attached, a failed attach, a CNI program ahead of it: no). */
static bool pod_edge_runs(const struct link_info *l, const struct trust_ifaces_opts *o)
{
	struct datapath_hook_state st;

	return o->pod_edge_prog_id &&
	       datapath_hook_state(l->ifindex, TCPRIO_HOOK_POD_EDGE, o->pod_edge_prog_id, &st) == 1 &&
	       !st.preempted;
}

/* A pod interface whose DSCP the pod edge wrote (pod_edge_runs). */
static bool is_pod_edge(const struct link_info *l, const struct trust_ifaces_opts *o)
{
	return is_pod_iface(l, o) && pod_edge_runs(l, o);
}

/* A bridge with at least one port, every port a pod edge (ls[].pod_edge). */
static bool is_pod_bridge(const struct link_info *ls, int n, int i,
			  const struct trust_ifaces_opts *o)
{
	int ports = 0;

	if (!ls[i].kind || strcmp(ls[i].kind, "bridge"))
		return false;
	for (int j = 0; j < n; j++) {
		if (ls[j].master != ls[i].ifindex)
			continue;
		if (!ls[j].pod_edge)
			return false;
		ports++;
	}
	return ports > 0;
}

static unsigned int flags_of(const struct link_info *ls, int n, int i,
			     const struct trust_ifaces_opts *o)
{
	unsigned int f = 0;

	if (ls[i].pod_edge || is_pod_bridge(ls, n, i, o))
		f |= TCPRIO_TRUST_POD_EDGE;
	for (int k = 0; ls[i].kind && tunnel_kinds[k]; k++)
		if (strcmp(ls[i].kind, tunnel_kinds[k]) == 0)
			f |= TCPRIO_TRUST_TUNNEL;
	if (in_list(ls[i].name, o->names, o->n_names))
		f |= TCPRIO_TRUST_CONFIG;
	return f;
}

/* Write ls[].flags (0: absent) into the map; delete other keys. */
static int write_map(int fd, const struct link_info *ls, int n)
{
	__u32 key, next, *prev = NULL, cur;
	int err = 0;

	for (int i = 0; i < n; i++) {
		key = (__u32)ls[i].ifindex;
		if (!ls[i].flags)
			continue;
		if (bpf_map_lookup_elem(fd, &key, &cur) == 0 && cur == ls[i].flags)
			continue;
		if (bpf_map_update_elem(fd, &key, &ls[i].flags, BPF_ANY) && !err)
			err = -errno;
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		bool keep = false;

		for (int i = 0; i < n && !keep; i++)
			keep = (__u32)ls[i].ifindex == next && ls[i].flags;
		if (!keep && bpf_map_delete_elem(fd, &next) == 0)
			continue; /* next is gone: ask again after prev */
		key = next;
		prev = &key;
	}
	return err;
}

/* tcprio_trust_slots := the trusted interfaces of ls[] by slot
 * (include/tcprio.h): every slot in one batch, so that a slot whose
 * interface went is emptied too. */
static int write_slots(int fd, const struct link_info *ls, int n)
{
	struct tcprio_trust_slot *slots = calloc(TCPRIO_TRUST_SLOTS, sizeof(*slots));
	__u32 *keys = calloc(TCPRIO_TRUST_SLOTS, sizeof(*keys));
	__u32 count = TCPRIO_TRUST_SLOTS;
	int err = 0;

	if (!slots || !keys) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		struct tcprio_trust_slot *s = &slots[(__u32)ls[i].ifindex % TCPRIO_TRUST_SLOTS];

		if (!ls[i].flags)
			continue;
		if (s->flags) /* a second trusted interface here: shared */
			*s = (struct tcprio_trust_slot){ 0, TCPRIO_TRUST_SHARED };
		else
			*s = (struct tcprio_trust_slot){ (__u32)ls[i].ifindex, ls[i].flags };
	}
	for (__u32 k = 0; k < TCPRIO_TRUST_SLOTS; k++)
		keys[k] = k;
	if (bpf_map_update_batch(fd, keys, slots, &count, NULL))
		err = -errno;
out:
	free(slots);
	free(keys);
	return err;
}

int trust_ifaces_sync(int map_fd, int slots_fd, const struct trust_ifaces_opts *o)
{
	struct link_dump d;
	struct nl_object *obj;
	struct link_info *ls = NULL;
	int n = 0, cap, trusted = 0, err, serr;

	err = link_dump_open(&d, "trusted interfaces");
	if (err)
		goto cleanup;
	cap = nl_cache_nitems(d.cache);
	ls = calloc(cap ? cap : 1, sizeof(*ls));
	if (!ls) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (obj = nl_cache_get_first(d.cache); obj && n < cap; obj = nl_cache_get_next(obj)) {
		struct rtnl_link *l = (struct rtnl_link *)obj;

		ls[n].ifindex = rtnl_link_get_ifindex(l);
		ls[n].master = rtnl_link_get_master(l);
		ls[n].name = rtnl_link_get_name(l);
		ls[n].kind = rtnl_link_get_type(l);
		ls[n].pod_edge = is_pod_edge(&ls[n], o);   /* one hook query, not one per use */
		n++;
	}
	for (int i = 0; i < n; i++) {
		ls[i].flags = flags_of(ls, n, i, o);
		trusted += ls[i].flags != 0;
	}
	/* The hash first: a slot marked shared must find its interfaces. */
	err = write_map(map_fd, ls, n);
	if (err)
		pr_warn("trusted interfaces: tcprio_trust_ifaces: %s", strerror(-err));
	if ((serr = write_slots(slots_fd, ls, n))) {
		pr_warn("trusted interfaces: tcprio_trust_slots: %s", strerror(-serr));
		err = err ? err : serr;
	}
cleanup:
	free(ls);
	link_dump_close(&d);
	return err ? err : trusted;
}

static bool cidr_wanted(const struct trust_source *from, int n,
			const struct tcprio_trust_cidr_key *k)
{
	for (int i = 0; i < n; i++)
		if (from[i].is_cidr && from[i].prefixlen == k->prefixlen &&
		    !memcmp(from[i].addr, k->ip.addr, sizeof(k->ip.addr)))
			return true;
	return false;
}

/* Whether key k is among the n keys of have (exact: prefix length and
 * address, not a longest-prefix match). */
static bool cidr_present(const struct tcprio_trust_cidr_key *have, size_t n,
			 const struct tcprio_trust_cidr_key *k)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(&have[i], k, sizeof(*k)))
			return true;
	return false;
}

int trust_cidrs_sync(int map_fd, int lists_fd, int cache_gen_fd, const struct trust_source *from,
		     int n)
{
	struct tcprio_trust_cidr_key key, next, *prev = NULL, *have = NULL;
	size_t n_have = 0;
	__u32 one = 1;
	bool changed = false;
	int err = 0;

	/* The keys there now (an LPM lookup would answer for a covering
	 * prefix, so compare keys, not lookups). */
	while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
		struct tcprio_trust_cidr_key *h = realloc(have, (n_have + 1) * sizeof(*have));

		if (!h) {
			err = -ENOMEM;
			break;
		}
		have = h;
		have[n_have++] = next;
		key = next;
		prev = &key;
	}
	for (int i = 0; i < n; i++) {
		if (!from[i].is_cidr)
			continue;
		memset(&key, 0, sizeof(key));
		key.prefixlen = from[i].prefixlen;
		memcpy(key.ip.addr, from[i].addr, sizeof(key.ip.addr));
		if (cidr_present(have, n_have, &key))
			continue;
		if (bpf_map_update_elem(map_fd, &key, &one, BPF_ANY))
			err = err ? err : -errno;
		else
			changed = true;
	}
	for (size_t i = 0; i < n_have; i++)
		if (!cidr_wanted(from, n, &have[i]) && bpf_map_delete_elem(map_fd, &have[i]) == 0)
			changed = true;
	free(have);
	if (err)
		pr_warn("trustDscpFrom: tcprio_trust_cidrs: %s", strerror(-err));
	if (lists_fd >= 0) {
		int w = prefix_list_sync(map_fd, lists_fd, TCPRIO_PLIST_TRUST_CIDRS);

		if (w < 0)
			pr_warn("trustDscpFrom: tcprio_prefix_lists: %s", strerror(-w));
		changed |= w != 0;
	}
	if (changed && cache_gen_fd > 0)
		datapath_note_change(cache_gen_fd);
	return err;
}
