/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * datapath.h - load, pin and attach the TC programs (bpf/tcprio.bpf.c).
 * Maps are pinned by name under pin_dir (default /sys/fs/bpf/tcprio) and
 * reused by a restarted agent; programs are pinned as prog_pod_edge and
 * prog_uplink.  They attach as tcx links at the head of each hook where the
 * kernel has tcx (pinned as link_<ingress|egress>_<ifindex>, so they outlive
 * the agent), else as clsact filters with TCPRIO_TC_HANDLE at
 * TCPRIO_TC_PRIORITY (pref 1), so attach/detach never touch a filter or
 * link that is not tcprio's.  Several pin dirs
 * (agents) may share a network namespace: the filter's program id (the
 * kernel's BPF program id) tells whose it is, so detach and status compare
 * it with the ids of the programs pinned in their pin dir.
 *
 * Pin folder contents (all bpffs objects):
 *   tcprio_endpoints tcprio_port_rules tcprio_classes tcprio_dscp_classes
 *   tcprio_config tcprio_stats tcprio_events tcprio_pods   (maps, by name)
 *   tcprio_host_cgroups tcprio_host_dsts tcprio_host_ports
 *   tcprio_host_config tcprio_host_stats tcprio_host_rules
 *   tcprio_host_filter tcprio_host_answers                 (host traffic)
 *   tcprio_destinations tcprio_scope_stats tcprio_site     (sites)
 *   tcprio_prefix_lists      (destinations, trust CIDRs as lists)
 *   tcprio_ep_filter         (which addresses may be endpoints)
 *   tcprio_ep_slots          (copies of endpoint entries, read first)
 *   prog_pod_edge prog_uplink                              (programs)
 *   link_ingress_<ifindex> link_egress_<ifindex>           (tcx links)
 */
#ifndef TCPRIO_DATAPATH_H
#define TCPRIO_DATAPATH_H

#include <stdbool.h>
#include "tcprio.h"
#include "dp/hook_chain.h"

#define TCPRIO_DEFAULT_PIN_DIR "/sys/fs/bpf/tcprio"
/* Environment variable the CLI reads when --pin-dir is not given. */
#define TCPRIO_PIN_DIR_ENV     "TCPRIO_PIN_DIR"
/* Where bpffs is mounted if no bpffs is found (iproute2/Cilium convention). */
#define TCPRIO_BPFFS_ROOT      "/sys/fs/bpf"
#define TCPRIO_PIN_PROG_POD_EDGE "prog_pod_edge"
#define TCPRIO_PIN_PROG_UPLINK   "prog_uplink"
#define TCPRIO_PIN_LINK_PREFIX   "link_"

/* How programs are attached (`tcprio agent --attach-mode`). */
enum datapath_attach_mode {
	DATAPATH_ATTACH_AUTO = 0, /* tcx where the kernel has it, else tc */
	DATAPATH_ATTACH_TCX  = 1, /* tcx link at the head of the hook */
	DATAPATH_ATTACH_TC   = 2, /* clsact filter, pref 1 (legacy) */
};

/* File descriptors of the pinned maps (see include/tcprio.h); -1 where
 * unavailable. */
struct datapath_maps {
	int endpoints, port_rules, classes, dscp_classes, config, stats, events, pods;
	int rule_blocks; /* tcprio_rule_blocks: written by sync/endpoint_sync.c */
	/* host traffic (dp/host_sync.h) */
	int host_cgroups, host_dsts, host_ports, host_config, host_stats, host_rules;
	int host_filter;  /* tcprio_host_filter: the cgroup ids host_cgroups holds */
	int host_answers; /* tcprio_host_answers: dp/host_answers.c */
	int trust_ifaces, trust_slots, trust_cidrs; /* written by dp/trust_ifaces.c */
	int destinations; /* tcprio_destinations (LPM trie): dp/dest_map.c */
	int prefix_lists; /* tcprio_prefix_lists: dp/prefix_list.c */
	int site;         /* tcprio_site (one entry): the agent's site and share */
	int scope_stats;  /* tcprio_scope_stats: uplink packets/bytes per scope */
	int cache_gen; /* tcprio_cache_gen: see datapath_note_change */
	int ep_filter;    /* tcprio_ep_filter: dp/ep_filter.h */
	__u64 *ep_filter_mem; /* it, mapped (TCPRIO_EP_FILTER_ENTRIES words); NULL
				 if it cannot be: an endpoint written then
				 switches the filter off (header 0) */
	int ep_slots;     /* tcprio_ep_slots: dp/ep_slots.h */
};

struct tcprio_bpf; /* generated skeleton */

/*
 * A loaded (datapath_load) or opened (datapath_open_pinned) datapath.
 * Unavailable file descriptors are -1.  With skel != NULL the fds belong to
 * the skeleton; otherwise datapath_close closes them.
 */
struct datapath {
	struct tcprio_bpf *skel;   /* NULL when opened from pins only */
	char pin_dir[256];
	struct datapath_maps maps;
	int prog_pod_edge_fd, prog_uplink_fd;
	enum datapath_attach_mode attach_mode; /* AUTO until resolved */
};

/* Tell the programs that tcprio_endpoints or tcprio_port_rules changed:
 * writes a new value (CLOCK_MONOTONIC ns, never repeated) into
 * tcprio_cache_gen[0], so no entry of their source cache filled before it is
 * used (include/tcprio.h, "Source cache").  Call it after the write.
 * cache_gen_fd: the tcprio_cache_gen map.  0 or -errno. */
int datapath_note_change(int cache_gen_fd);
/* Empty the slots of maps->ep_slots that disagree with maps->endpoints
 * (ep_slots_settle_all, dp/ep_slots.h: slots an earlier version, an older
 * tcprio binary or a failed writer left) and, when it emptied any, note
 * the change so that nothing cached from them is used.  Returns how many
 * it emptied, or -errno (logged as a warning). */
long datapath_settle_ep_slots(const struct datapath_maps *maps);

/* Mount bpffs at /sys/fs/bpf if needed (pin_dir must then be on a bpffs),
 * create pin_dir, load the programs reusing maps pinned there (pinning new
 * ones) and pin the programs (replacing stale program pins).
 * Returns 0 or -errno; -EINVAL with a warning naming the map when a pinned
 * map does not match this build (run `tcprio detach` to remove old pins);
 * -ENAMETOOLONG if pin_dir does not fit. */
int datapath_load(struct datapath *dp, const char *pin_dir);
/* Open the pinned maps (and programs if pinned) of a running agent, for the
 * CLI.  Returns 0, -ENOENT if no tcprio map is pinned there, other -errno
 * (e.g. -EACCES).  Maps missing from an otherwise valid pin dir give -ENOENT. */
int datapath_open_pinned(struct datapath *dp, const char *pin_dir);
/* Release fds and skeleton of a dp that went through datapath_load or
 * datapath_open_pinned (failed ones too; they leave it closed).  Pins stay. */
void datapath_close(struct datapath *dp);

/* "auto", "tcx" or "tc". */
const char *datapath_attach_mode_name(enum datapath_attach_mode m);
/* Parse "auto", "tcx" or "tc" into *m.  0 or -EINVAL. */
int datapath_parse_attach_mode(const char *s, enum datapath_attach_mode *m);
/* Set how datapath_attach attaches: AUTO resolves to TCX if the kernel has
 * tcx (probed, hook_tcx_supported), else TC.  Returns 0, or -EOPNOTSUPP
 * for TCX on a kernel without tcx. */
int datapath_set_attach_mode(struct datapath *dp, enum datapath_attach_mode m);
/* The resolved mode (TCX or TC; resolving AUTO on first use). */
enum datapath_attach_mode datapath_attach_mode(struct datapath *dp);

/*
 * Attach the pod-edge program at ingress or the uplink program at egress of
 * ifindex, at the head of the hook, in dp's mode:
 *   tcx: a link created with BPF_F_BEFORE (no anchor), pinned in the pin
 *        dir; a pinned link already running this program first is kept; a
 *        new program replaces an old one without a gap (new link first,
 *        then the old one detached); a program not first is moved back;
 *   tc:  clsact (created if needed) filter, handle TCPRIO_TC_HANDLE, pref 1;
 *        re-added in front when another pref-1 filter runs before it.
 * Then this pin dir's attachments of the other mode at that hook (and a
 * filter at the pre-tcx pref 1985) are removed: one tcprio program per hook.
 * Idempotent.  Returns 0 or -errno (-EBADF if the program is not loaded,
 * -ENODEV if ifindex does not exist).
 */
int datapath_attach(struct datapath *dp, int ifindex, enum tcprio_hook hook);
/* Unpin the tcx links in dp's pin dir whose interface is gone (a deleted
 * pod's veth: the kernel detached the link, the pin keeps it allocated).
 * Returns how many were unpinned. */
int datapath_prune_links(struct datapath *dp);
/* Remove every tcprio attachment (tcx link or tcprio filter) from ifindex
 * (hook), whatever program it runs; other programs, filters and the clsact
 * qdisc stay.  Returns 0 (also when none was attached) or -errno. */
int datapath_detach(int ifindex, enum tcprio_hook hook);
/* Remove the tcprio attachments at ifindex (hook) that run the program with
 * id prog_id (kernel BPF program id; 0 = any tcprio program).  Returns 1 if
 * one was removed, 0 if there was none, or -errno. */
int datapath_detach_prog(int ifindex, enum tcprio_hook hook, __u32 prog_id);
/* Id of the program of the first tcprio attachment at ifindex (hook) in run
 * order, in *prog_id (0 when there is none).  Returns 1 (attached), 0 or
 * -errno (e.g. -ENODEV). */
int datapath_attached_prog_id(int ifindex, enum tcprio_hook hook, __u32 *prog_id);
/* Whether a tcprio attachment at ifindex (hook) runs the program with id
 * expected_prog_id (0 = any tcprio program): 1, 0 or -errno. */
int datapath_is_attached(int ifindex, enum tcprio_hook hook, __u32 expected_prog_id);

/* Where tcprio's program runs at a hook and what runs before it. */
struct datapath_hook_state {
	enum datapath_attach_mode mode; /* TCX or TC; AUTO (0): not attached */
	int position;                   /* 1 = first to run */
	bool preempted;                 /* something runs before it */
	struct hook_entry before;       /* if preempted: the first program or
					 * filter of the hook */
};
/* Fill *st for the program with id mine at ifindex (hook).  Returns 1 if
 * that program is attached there, 0 if not (st zeroed), or -errno. */
int datapath_hook_state(int ifindex, enum tcprio_hook hook, __u32 mine,
			struct datapath_hook_state *st);
/* Kernel id of dp's program for hook (loaded or opened from pins) in *id.
 * Returns 0, -EBADF if dp has no program for that hook, -EINVAL for a bad
 * hook, or -errno from BPF_OBJ_GET_INFO_BY_FD. */
int datapath_prog_id(const struct datapath *dp, enum tcprio_hook hook, __u32 *id);
/* Ids of the programs pinned at pin_dir/prog_pod_edge and
 * pin_dir/prog_uplink in ids[hook] (0 when that one is not pinned).
 * Returns how many are pinned (0..2) or -errno (not -ENOENT: a missing pin
 * dir or pin counts as not pinned; e.g. -EACCES). */
int datapath_pinned_prog_ids(const char *pin_dir, __u32 ids[TCPRIO_HOOK_COUNT]);

/*
 * What datapath_detach_pinned does and what it found.  In: any_program,
 * removed/ctx.  Out (set by the call): the counts.
 */
struct datapath_detach_opts {
	/* false: remove only pin_dir's filters: those running a program
	 * pinned in pin_dir, or an older program using pin_dir's pinned
	 * tcprio_endpoints map (a load stopped between pinning and attaching);
	 * true: every tcprio filter, whatever program (`tcprio detach --all`) */
	bool any_program;
	/* Called after each filter removed (e.g. to remove the uplink HTB
	 * tree); may be NULL. */
	void (*removed)(int ifindex, enum tcprio_hook hook, void *ctx);
	void *ctx;
	int n_pinned_progs; /* out: programs pinned in pin_dir (0..2), -errno
			     * if they cannot be read (nothing touched) */
	int n_removed;      /* out: filters removed */
	int n_foreign;      /* out: tcprio filters left: they run another program */
};
/* Detach pin_dir's filters (see any_program) from every interface of the current network
 * namespace (both hooks; with any_program every tcprio filter), then unpin
 * our maps and programs (names prefixed tcprio_ or prog_) and remove
 * pin_dir (kept, with a warning, if foreign files remain in it; pin_dir
 * NULL: no pins touched, and with any_program false nothing is detached).
 * Logs each filter removed (info).  Returns 0 or the first -errno met (it
 * goes on with the rest); if pin_dir's program pins exist but cannot be read
 * (e.g. -EACCES) it returns that error and touches nothing. */
int datapath_detach_pinned(const char *pin_dir, struct datapath_detach_opts *opts);
/* datapath_detach_pinned(pin_dir, {any_program = false}): only the filters
 * running pin_dir's programs are removed. */
int datapath_detach_all(const char *pin_dir);

/* Pin dir for the CLI: opt if non-NULL, else $TCPRIO_PIN_DIR, else default. */
const char *datapath_pin_dir(const char *opt);

/* Route libbpf's own messages to stderr, shown only at debug log level
 * (lib/log.h); without it libbpf prints its warnings unconditionally. */
void log_route_libbpf(void);

#endif
