/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tcx_uapi.h - the parts of the kernel's tcx UAPI (Linux 6.6+) that
 * Debian 12's linux-libc-dev (6.1 headers) and libbpf 1.1 do not have.
 * Values and layouts copied from the kernel's include/uapi/linux/bpf.h
 * (enum bpf_attach_type, enum bpf_link_type, the BPF_F_* attach flags,
 * union bpf_attr's `query` member and struct bpf_link_info's `tcx`) and
 * enum tcx_action_base.  They are kernel ABI, so they never change; our own
 * names (TCX_UAPI_*) keep this header from clashing with newer system
 * headers where the same names exist.
 *
 * Why not libbpf >= 1.3 (bpf_program__attach_tcx): Debian 12 ships 1.1 and
 * the README's two commands must build on a fresh Debian 12 without adding
 * bookworm-backports.  libbpf 1.1's bpf_link_create() passes opts->flags to
 * the kernel for attach types it does not know, which is all tcx needs to
 * attach at the head (BPF_F_BEFORE, no anchor); only the query (with link
 * ids and revision) needs the raw bpf(2) syscall, in hook_chain.c.
 */
#ifndef TCPRIO_TCX_UAPI_H
#define TCPRIO_TCX_UAPI_H

#include <linux/types.h>

/* enum bpf_attach_type */
#define TCX_UAPI_ATTACH_INGRESS 46 /* BPF_TCX_INGRESS */
#define TCX_UAPI_ATTACH_EGRESS  47 /* BPF_TCX_EGRESS */
/* enum bpf_link_type */
#define TCX_UAPI_LINK_TYPE_TCX  11 /* BPF_LINK_TYPE_TCX */
/* attach flags (BPF_F_*) */
#define TCX_UAPI_F_BEFORE       (1U << 3)  /* BPF_F_BEFORE */
#define TCX_UAPI_F_AFTER        (1U << 4)  /* BPF_F_AFTER */
#define TCX_UAPI_F_ID           (1U << 5)  /* BPF_F_ID */
#define TCX_UAPI_F_LINK         (1U << 13) /* BPF_F_LINK */
/* enum tcx_action_base: what a tcx program returns */
#define TCX_UAPI_NEXT           (-1)       /* TCX_NEXT (= TC_ACT_UNSPEC) */
#define TCX_UAPI_PASS           0          /* TCX_PASS (= TC_ACT_OK) */

/* union bpf_attr, the BPF_PROG_QUERY member, as of Linux 6.6. */
struct tcx_uapi_query_attr {
	__u32 target_ifindex;        /* target_fd / target_ifindex */
	__u32 attach_type;
	__u32 query_flags;
	__u32 attach_flags;
	__aligned_u64 prog_ids;      /* out: __u32[count], run order */
	__u32 count;                 /* in: room; out: programs attached */
	__u32 pad;
	__aligned_u64 prog_attach_flags;
	__aligned_u64 link_ids;      /* out: __u32[count], 0 = no link */
	__aligned_u64 link_attach_flags;
	__u64 revision;              /* out: bumped by every change */
};

/* struct bpf_link_info with its tcx union member (the union starts at
 * byte 16: it holds 8-byte aligned members). */
struct tcx_uapi_link_info {
	__u32 type;                  /* TCX_UAPI_LINK_TYPE_TCX */
	__u32 id;
	__u32 prog_id;
	__u32 pad;
	__u32 ifindex;               /* 0 once the device is gone */
	__u32 attach_type;           /* TCX_UAPI_ATTACH_* */
};

#endif
