/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prefix_list.h - write tcprio_prefix_lists (include/tcprio.h, "Prefix
 * lists"): a small LPM trie (tcprio_destinations, tcprio_trust_cidrs) as a
 * list the programs scan without a kernel call.
 */
#ifndef TCPRIO_PREFIX_LIST_H
#define TCPRIO_PREFIX_LIST_H

#include <stddef.h>
#include "tcprio.h"

/* The most trie entries prefix_list_sync reads; a longer trie gets an
 * invalid list (the programs then look up the trie). */
#define PREFIX_LIST_READ_MAX 1024

/* One trie entry: prefix_len of the 128 bits of addr (IPv4 mapped, as in
 * the tries' keys), and the answer the list gives for it. */
struct prefix_entry {
	__u32 prefix_len;   /* 0..128 */
	__u8  addr[16];     /* network byte order */
	__u32 value;        /* 0 is the answer for no match */
};

/*
 * Fill *l from the trie entries in[0..n) (unique prefixes): longest prefix
 * first, host bits cleared, without the entries that change no answer (the
 * nearest shorter prefix that covers one has its value, or none covers it
 * and its value is 0).  l->valid is 1 when what is left fits
 * TCPRIO_PREFIX_LIST_MAX, else 0 with count 0.  An entry with prefix_len
 * above 128 makes the list invalid.
 */
void prefix_list_build(const struct prefix_entry *in, size_t n, struct tcprio_prefix_list *l);

/*
 * Make list id (enum tcprio_prefix_list_id) of the tcprio_prefix_lists map
 * lists_fd answer as the trie trie_fd does now: read the trie (keys with
 * the layout of struct tcprio_dest_key and struct tcprio_trust_cidr_key,
 * 4-byte values: struct tcprio_dest for TCPRIO_PLIST_DESTINATIONS, whose
 * scope is the answer; any value for TCPRIO_PLIST_TRUST_CIDRS, answer 1),
 * build the list and write it if it differs from the one there.  Call it
 * after every write of the trie.  Returns 1 if it wrote, 0 if the list was
 * already right, -EINVAL for an unknown id, -errno when a map cannot be
 * read or written (the list is then left invalid if it can be written).
 */
int prefix_list_sync(int trie_fd, int lists_fd, __u32 id);

#endif
