/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dest_map.h - write the LAN/WAN destinations (policy/site_view.h) into the
 * tcprio_destinations LPM trie, and the site record into tcprio_site.
 */
#ifndef TCPRIO_DEST_MAP_H
#define TCPRIO_DEST_MAP_H

#include <stddef.h>
#include "policy/site_view.h"
#include "tcprio.h"

/* What dest_map_apply changed. */
struct dest_map_result {
	int added, changed, removed; /* entries */
	int failed;                  /* writes that failed (e.g. map full) */
};

/*
 * Make the LPM trie fd hold exactly want[0..n) (prefixes unique): delete
 * the entries not wanted, add or rewrite the others.  Entries are written
 * before stale ones are deleted, so a prefix never drops out in between.
 * Returns 0 (r filled) or -errno when the map cannot be read; failed
 * writes are counted in r->failed and the rest goes on.
 */
int dest_map_apply(int fd, const struct dest_entry *want, size_t n,
		   struct dest_map_result *r);
/* Write v into the tcprio_site map fd (key 0).  0 or -errno. */
int dest_map_write_site(int fd, const struct tcprio_site *v);
/* Read it back.  0 or -errno. */
int dest_map_read_site(int fd, struct tcprio_site *v);

#endif
