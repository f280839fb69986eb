/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hook_chain.h - what runs at a TC hook, in the kernel's order, and tcx
 * links.  At a hook the kernel runs the tcx programs first (in their
 * mprog order), then, if none returned a verdict other than "next", the
 * legacy clsact filters of chain 0 by ascending pref (and, inside one pref,
 * most recently added first).  tcprio must be the first of all of them:
 * an earlier program that returns TC_ACT_OK, a redirect or a drop ends the
 * hook before tcprio sees the packet.
 */
#ifndef TCPRIO_HOOK_CHAIN_H
#define TCPRIO_HOOK_CHAIN_H

#include <stdbool.h>
#include <linux/types.h>
#include "tcprio.h"

enum hook_entry_kind {
	HOOK_ENTRY_TCX = 1, /* a tcx program (link or BPF_PROG_ATTACH) */
	HOOK_ENTRY_TC  = 2, /* a legacy clsact filter (chain 0) */
};

#define HOOK_NAME_LEN 16 /* BPF_OBJ_NAME_LEN */
#define HOOK_CHAIN_MAX 64

/* One program or filter at a hook. */
struct hook_entry {
	enum hook_entry_kind kind;
	__u32 prog_id;   /* kernel BPF program id; 0: a tc filter that is not BPF */
	__u32 link_id;   /* tcx: its link's id (0: attached without a link) */
	__u32 pref;      /* tc: filter priority (pref) */
	__u32 handle;    /* tc: filter handle */
	char name[HOOK_NAME_LEN]; /* BPF program name, or the tc classifier
				    * kind (e.g. "u32") when prog_id is 0 */
};

/* Whether the running kernel has tcx: a BPF_PROG_QUERY for tcx ingress on
 * the loopback device answers instead of failing with EINVAL (no version
 * numbers: distributions backport tcx).  Probed once, then cached. */
bool hook_tcx_supported(void);
/* The tcx attach type (TCX_UAPI_ATTACH_*) of a hook. */
__u32 hook_tcx_attach_type(enum tcprio_hook hook);
/* The programs and filters at ifindex (hook) in run order into out[0..max).
 * Returns how many (at most max; a longer chain is cut), or -errno
 * (-ENODEV: no such interface).  No clsact qdisc, or no tcx on this
 * kernel, simply contributes nothing. */
int hook_chain(int ifindex, enum tcprio_hook hook, struct hook_entry *out, int max);
/* Whether program id is one of tcprio's programs by name (any pin dir). */
bool hook_entry_is_tcprio(const struct hook_entry *e);
/* Create a tcx link for prog_fd at the head of ifindex's hook (BPF_F_BEFORE,
 * no anchor).  Returns the link fd, or -errno (-EEXIST: that program is
 * already attached there; -EINVAL/-EOPNOTSUPP: no tcx). */
int hook_tcx_link_create(int prog_fd, int ifindex, enum tcprio_hook hook);
/* Interface, attach type and program of a tcx link (ifindex 0 once its
 * interface is gone).  Returns 0, -EINVAL if fd is not a tcx link, -errno. */
int hook_tcx_link_info(int link_fd, __u32 *ifindex, __u32 *attach_type, __u32 *prog_id);
/* Detach the tcx link with id link_id from its hook.  0 or -errno. */
int hook_tcx_link_detach_id(__u32 link_id);
/* Name of the program with id prog_id into name (HOOK_NAME_LEN bytes);
 * "" if it cannot be read. */
void hook_prog_name(__u32 prog_id, char *name);
/* "ingress" or "egress". */
const char *hook_dir_name(enum tcprio_hook hook);

#endif
