/* SPDX-License-Identifier: BSD-2-Clause */
/* prefix_list.c - tcprio_prefix_lists writer; see prefix_list.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "dp/map_read.h"
#include "dp/prefix_list.h"

/* The trie key layout both tries share (struct tcprio_dest_key,
 * struct tcprio_trust_cidr_key): 20 bytes. */
struct trie_key {
	__u32 prefixlen;
	__u8  addr[16];
};
_Static_assert(sizeof(struct trie_key) == sizeof(struct tcprio_dest_key), "dest key layout");
_Static_assert(sizeof(struct trie_key) == sizeof(struct tcprio_trust_cidr_key), "trust key layout");

/* p's addr and mask from prefix_len bits of addr. */
static void to_prefix(const struct prefix_entry *e, struct tcprio_prefix *p)
{
	memset(p, 0, sizeof(*p));
	for (int w = 0; w < 4; w++) {
		int bits = (int)e->prefix_len - 32 * w;
		__u32 host_mask = bits >= 32 ? 0xffffffffu : bits <= 0 ? 0 : ~0u << (32 - bits);
		__u32 word;

		memcpy(&word, e->addr + 4 * w, 4);
		p->mask[w] = htonl(host_mask);
		p->addr[w] = word & p->mask[w];
	}
	p->value = e->value;
}

/* Whether prefix outer holds prefix inner. */
static bool covers(const struct tcprio_prefix *outer, const struct tcprio_prefix *inner)
{
	for (int w = 0; w < 4; w++)
		if ((inner->addr[w] & outer->mask[w]) != outer->addr[w])
			return false;
	return true;
}

static int longest_first(const void *a, const void *b)
{
	const struct prefix_entry *x = a, *y = b;

	return x->prefix_len < y->prefix_len ? 1 : x->prefix_len > y->prefix_len ? -1 : 0;
}

void prefix_list_build(const struct prefix_entry *in, size_t n, struct tcprio_prefix_list *l)
{
	struct prefix_entry *sorted = n ? malloc(n * sizeof(*sorted)) : NULL;
	struct tcprio_prefix *all = n ? malloc(n * sizeof(*all)) : NULL;

	memset(l, 0, sizeof(*l));
	if (n && (!sorted || !all))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (in[i].prefix_len > 128)
			goto out;
	memcpy(sorted, in, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), longest_first);
	for (size_t i = 0; i < n; i++)
		to_prefix(&sorted[i], &all[i]);
	l->valid = 1;
	for (size_t i = 0; i < n; i++) {
		__u32 fallback = 0;  /* no covering prefix: the no-match answer */

		/* The nearest covering prefix is the first shorter one after i
		 * that covers it (longest first; equal lengths cannot cover). */
		for (size_t j = i + 1; j < n; j++)
			if (sorted[j].prefix_len < sorted[i].prefix_len && covers(&all[j], &all[i])) {
				fallback = all[j].value;
				break;
			}
		if (all[i].value == fallback)
			continue;  /* changes no answer */
		if (l->count == TCPRIO_PREFIX_LIST_MAX) {
			memset(l, 0, sizeof(*l));
			goto out;
		}
		l->entries[l->count++] = all[i];
	}
out:
	free(sorted);
	free(all);
}

/* One trie read: its entries with their answers for list id. */
struct trie_read {
	__u32 id;
	struct prefix_entry *e;
	int n;
	bool too_many;    /* more than PREFIX_LIST_READ_MAX */
};

static int add_entry(void *ctx, const void *key, const void *value)
{
	struct trie_read *r = ctx;
	const struct trie_key *k = key;
	struct tcprio_dest d;

	if (r->n == PREFIX_LIST_READ_MAX) {
		r->too_many = true;
		return 1;  /* stop */
	}
	memcpy(&d, value, sizeof(d));
	r->e[r->n].prefix_len = k->prefixlen;
	memcpy(r->e[r->n].addr, k->addr, sizeof(r->e[r->n].addr));
	r->e[r->n].value = r->id == TCPRIO_PLIST_DESTINATIONS ? d.scope : 1;
	r->n++;
	return 0;
}

/* Read up to PREFIX_LIST_READ_MAX entries of the trie into *out (malloc'd)
 * with their answers for list id.  Returns the count, -E2BIG when the trie
 * holds more, -errno when it cannot be read. */
static int read_trie(int fd, __u32 id, struct prefix_entry **out)
{
	struct trie_read r = { .id = id, .e = calloc(PREFIX_LIST_READ_MAX, sizeof(*r.e)) };
	long w;

	if (!r.e)
		return -ENOMEM;
	w = datapath_map_walk(fd, sizeof(struct trie_key), sizeof(__u32), PREFIX_LIST_READ_MAX + 1,
			      add_entry, &r);
	if (w < 0 || r.too_many) {
		free(r.e);
		return w < 0 ? (int)w : -E2BIG;
	}
	*out = r.e;
	return r.n;
}

int prefix_list_sync(int trie_fd, int lists_fd, __u32 id)
{
	struct tcprio_prefix_list want, have;
	struct prefix_entry *entries = NULL;
	int n;

	if (id >= TCPRIO_PLIST_COUNT)
		return -EINVAL;
	_Static_assert(sizeof(struct tcprio_dest) == sizeof(__u32), "4-byte trie values");
	n = read_trie(trie_fd, id, &entries);
	if (n >= 0)
		prefix_list_build(entries, (size_t)n, &want);
	else
		memset(&want, 0, sizeof(want));  /* too long or unreadable: the trie */
	free(entries);
	if (bpf_map_lookup_elem(lists_fd, &id, &have) == 0 && !memcmp(&have, &want, sizeof(want)))
		return n < 0 && n != -E2BIG ? n : 0;
	if (bpf_map_update_elem(lists_fd, &id, &want, BPF_ANY))
		return -errno;
	return n < 0 && n != -E2BIG ? n : 1;
}
