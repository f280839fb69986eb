/* SPDX-License-Identifier: BSD-2-Clause */
/* dest_map.c - tcprio_destinations and tcprio_site writers; see dest_map.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "dp/dest_map.h"

static void to_key(const struct cidr *c, struct tcprio_dest_key *k)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = c->prefix_len;
	memcpy(k->addr, c->addr, sizeof(k->addr));
}

static bool wanted(const struct tcprio_dest_key *k, const struct dest_entry *want, size_t n)
{
	struct tcprio_dest_key w;

	for (size_t i = 0; i < n; i++) {
		to_key(&want[i].prefix, &w);
		if (memcmp(&w, k, sizeof(w)) == 0)
			return true;
	}
	return false;
}

int dest_map_apply(int fd, const struct dest_entry *want, size_t n,
		   struct dest_map_result *r)
{
	struct tcprio_dest_key *stale, k, next, *prev = NULL;
	size_t n_stale = 0;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n; i++) {
		struct tcprio_dest v = { .scope = want[i].scope, .source = want[i].source }, cur;

		bool had;

		to_key(&want[i].prefix, &k);
		had = bpf_map_lookup_elem(fd, &k, &cur) == 0;
		if (had && !memcmp(&cur, &v, sizeof(v)))
			continue;
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY))
			r->failed++;
		else if (had)
			r->changed++;
		else
			r->added++;
	}
	/* Collect stale keys first: deleting while walking restarts the walk. */
	stale = calloc(TCPRIO_MAX_DESTINATIONS, sizeof(*stale));
	if (!stale)
		return -ENOMEM;
	while (n_stale < TCPRIO_MAX_DESTINATIONS && bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (!wanted(&k, want, n))
			stale[n_stale++] = k;
	}
	for (size_t i = 0; i < n_stale; i++)
		if (bpf_map_delete_elem(fd, &stale[i]) == 0)
			r->removed++;
	free(stale);
	return 0;
}

int dest_map_write_site(int fd, const struct tcprio_site *v)
{
	__u32 k = 0;

	return bpf_map_update_elem(fd, &k, v, BPF_ANY) ? -errno : 0;
}

int dest_map_read_site(int fd, struct tcprio_site *v)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(fd, &k, v) ? -errno : 0;
}
