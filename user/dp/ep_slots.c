// SPDX-License-Identifier: BSD-2-Clause
/* ep_slots.c - tcprio_ep_slots writers; see ep_slots.h. */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include "dp/ep_slots.h"
#include "dp/map_read.h"

/* Rounds of ep_slot_settle: each is a read of the slot and of the hash,
 * and a write only while another writer keeps changing the slot. */
#define SETTLE_ROUNDS 4

/* The entry tcprio_endpoints holds for ip into *ep: 1, 0 if none, -errno. */
static int hash_entry(int endpoints_fd, const struct tcprio_ip *ip, struct tcprio_endpoint *ep)
{
	if (!bpf_map_lookup_elem(endpoints_fd, ip, ep))
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

static int write_slot(int slots_fd, __u32 k, const struct tcprio_ep_slot *s)
{
	return bpf_map_update_elem(slots_fd, &k, s, BPF_ANY) ? -errno : 0;
}

/* What a slot holds, against the hash. */
enum slot_state { SLOT_EMPTY, SLOT_RIGHT, SLOT_STALE };

/* SLOT_EMPTY, SLOT_RIGHT (the entry tcprio_endpoints holds for the slot's
 * address now), SLOT_STALE (anything else), or -errno of the hash read. */
static int slot_state(int endpoints_fd, const struct tcprio_ep_slot *s)
{
	struct tcprio_endpoint cur;
	int found;

	if (!s->ep.pod_id)
		return SLOT_EMPTY;
	found = hash_entry(endpoints_fd, &s->ip, &cur);
	if (found < 0)
		return found;
	return found && !memcmp(&cur, &s->ep, sizeof(cur)) ? SLOT_RIGHT : SLOT_STALE;
}

/* ep_slot_settle, leaving in *s the slot as it last read it (all zero
 * after it emptied it). */
static int settle(int slots_fd, int endpoints_fd, __u32 k, struct tcprio_ep_slot *s)
{
	for (int round = 0; round < SETTLE_ROUNDS; round++) {
		int st, err;

		if (bpf_map_lookup_elem(slots_fd, &k, s))
			return -errno;
		st = slot_state(endpoints_fd, s);
		if (st != SLOT_STALE)
			return st < 0 ? st : 0;
		memset(s, 0, sizeof(*s));
		err = write_slot(slots_fd, k, s);
		if (err)
			return err;
	}
	return 0;
}

int ep_slot_settle(int slots_fd, int endpoints_fd, __u32 k)
{
	struct tcprio_ep_slot s;

	return settle(slots_fd, endpoints_fd, k, &s);
}

int ep_slot_sync(int slots_fd, int endpoints_fd, const struct tcprio_ip *ip)
{
	struct tcprio_ep_slot s, held;
	__u32 k = TCPRIO_EP_SLOT(ip);
	int found, err;

	if (slots_fd < 0)
		return 0;
	/* first settle: a holder that is no longer what the hash holds (this
	 * address's old entry, or a deleted address's) goes */
	err = settle(slots_fd, endpoints_fd, k, &held);
	if (err)
		return err;
	memset(&s, 0, sizeof(s));
	found = hash_entry(endpoints_fd, ip, &s.ep);
	if (found <= 0 || !s.ep.pod_id)
		return found < 0 ? found : 0;
	/* an address that holds the slot rightly keeps it */
	if (held.ep.pod_id && memcmp(&held.ip, ip, sizeof(*ip)))
		return 0;
	s.ip = *ip;
	err = write_slot(slots_fd, k, &s);
	return err ? err : settle(slots_fd, endpoints_fd, k, &held);
}

/* ep_slots_settle_all's walk over the array. */
struct settle_walk {
	int slots_fd, endpoints_fd;
	long right, emptied;
	int err;   /* the first -errno */
};

static int settle_entry(void *ctx, const void *key, const void *value)
{
	struct settle_walk *w = ctx;
	int st = slot_state(w->endpoints_fd, value), err = 0;

	if (st == SLOT_RIGHT) {
		w->right++;
	} else if (st != SLOT_EMPTY) { /* stale, or the hash unreadable: settle tells */
		err = ep_slot_settle(w->slots_fd, w->endpoints_fd, *(const __u32 *)key);
		w->emptied += !err;
	}
	if (err && !w->err)
		w->err = err;
	return 0;
}

long ep_slots_settle_all(int slots_fd, int endpoints_fd, long *emptied)
{
	struct settle_walk w = { .slots_fd = slots_fd, .endpoints_fd = endpoints_fd };
	long n = datapath_map_walk(slots_fd, sizeof(__u32), sizeof(struct tcprio_ep_slot),
				   TCPRIO_EP_SLOTS, settle_entry, &w);

	if (emptied)
		*emptied = w.emptied;
	if (n < 0)
		return n;
	return w.err ? w.err : w.right;
}
