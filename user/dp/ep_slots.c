// SPDX-License-Identifier: BSD-2-Clause
/* ep_slots.c - tcprio_ep_slots writers; see ep_slots.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "dp/ep_slots.h"

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

int ep_slot_settle(int slots_fd, int endpoints_fd, __u32 k)
{
	static const struct tcprio_ep_slot empty;
	struct tcprio_ep_slot s;
	struct tcprio_endpoint cur;
	int err = 0;

	for (int round = 0; round < SETTLE_ROUNDS; round++) {
		int found;

		if (bpf_map_lookup_elem(slots_fd, &k, &s))
			return -errno;
		if (!s.ep.pod_id)
			return 0;
		found = hash_entry(endpoints_fd, &s.ip, &cur);
		if (found < 0)
			return found;
		if (found && !memcmp(&cur, &s.ep, sizeof(cur)))
			return 0;
		err = write_slot(slots_fd, k, &empty);
		if (err)
			return err;
	}
	return 0;
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
	err = ep_slot_settle(slots_fd, endpoints_fd, k);
	if (err)
		return err;
	memset(&s, 0, sizeof(s));
	found = hash_entry(endpoints_fd, ip, &s.ep);
	if (found <= 0 || !s.ep.pod_id)
		return found < 0 ? found : 0;
	/* an address that holds the slot rightly keeps it */
	if (bpf_map_lookup_elem(slots_fd, &k, &held))
		return -errno;
	if (held.ep.pod_id && memcmp(&held.ip, ip, sizeof(*ip)))
		return 0;
	s.ip = *ip;
	err = write_slot(slots_fd, k, &s);
	return err ? err : ep_slot_settle(slots_fd, endpoints_fd, k);
}

/* Whether slot s holds an entry that is what the hash holds for its
 * address now (1), holds one that is not (0), or is empty (-1). */
static int slot_agrees(int endpoints_fd, const struct tcprio_ep_slot *s)
{
	struct tcprio_endpoint cur;

	if (!s->ep.pod_id)
		return -1;
	return hash_entry(endpoints_fd, &s->ip, &cur) == 1 && !memcmp(&cur, &s->ep, sizeof(cur));
}

/* Settle slot k if it holds an entry that disagrees with the hash; *used
 * += 1 if it agrees, *emptied += 1 if it was emptied.  0 or -errno. */
static int settle_one(int slots_fd, int endpoints_fd, __u32 k, const struct tcprio_ep_slot *s,
		      long *used, long *emptied)
{
	int agrees = slot_agrees(endpoints_fd, s), err;

	if (agrees != 0) {
		*used += agrees == 1;
		return 0;
	}
	err = ep_slot_settle(slots_fd, endpoints_fd, k);
	*emptied += !err;
	return err;
}

long ep_slots_settle_all(int slots_fd, int endpoints_fd, long *emptied)
{
	struct tcprio_ep_slot *all = calloc(TCPRIO_EP_SLOTS, sizeof(*all));
	__u32 *keys = calloc(TCPRIO_EP_SLOTS, sizeof(*keys));
	__u32 count = TCPRIO_EP_SLOTS, batch;
	long used = 0, gone = 0;
	int err = 0;

	if (!all || !keys) {
		err = -ENOMEM;
		goto out;
	}
	/* one read of the whole array (-ENOENT: it ended within count); a
	 * kernel without batch reads of arrays: one read a slot */
	if (bpf_map_lookup_batch(slots_fd, NULL, &batch, keys, all, &count, NULL) &&
	    errno != ENOENT) {
		for (count = 0; count < TCPRIO_EP_SLOTS; count++) {
			keys[count] = count;
			if (bpf_map_lookup_elem(slots_fd, &count, &all[count])) {
				err = -errno;
				goto out;
			}
		}
	}
	for (__u32 i = 0; i < count; i++) {
		int e = settle_one(slots_fd, endpoints_fd, keys[i], &all[i], &used, &gone);

		if (e && !err)
			err = e;
	}
out:
	if (emptied)
		*emptied = gone;
	free(all);
	free(keys);
	return err ? err : used;
}
