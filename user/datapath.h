/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * datapath.h - load, pin and attach the TC programs (bpf/tcprio.bpf.c).
 * Maps are pinned by name under pin_dir (default /sys/fs/bpf/tcprio) and
 * reused by a restarted agent; programs are pinned as prog_pod_edge and
 * prog_uplink.  tc filters use TCPRIO_TC_HANDLE / TCPRIO_TC_PRIORITY, so
 * attach/detach never touch a filter that is not ours.
 *
 * Pin folder contents (all bpffs objects):
 *   tcprio_endpoints tcprio_port_rules tcprio_classes tcprio_dscp_classes
 *   tcprio_config tcprio_stats tcprio_events tcprio_pods   (maps, by name)
 *   prog_pod_edge prog_uplink                              (programs)
 */
#ifndef TCPRIO_DATAPATH_H
#define TCPRIO_DATAPATH_H

#include <stdbool.h>
#include "endpoint_sync.h"
#include "tcprio.h"

#define TCPRIO_DEFAULT_PIN_DIR "/sys/fs/bpf/tcprio"
/* Environment variable the CLI reads when --pin-dir is not given. */
#define TCPRIO_PIN_DIR_ENV     "TCPRIO_PIN_DIR"
/* Where bpffs is mounted if no bpffs is found (iproute2/Cilium convention). */
#define TCPRIO_BPFFS_ROOT      "/sys/fs/bpf"
#define TCPRIO_PIN_PROG_POD_EDGE "prog_pod_edge"
#define TCPRIO_PIN_PROG_UPLINK   "prog_uplink"

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
};

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

/* Attach (create clsact if needed; replace our own filter) the pod-edge
 * program at ingress or the uplink program at egress of ifindex.
 * Idempotent.  Returns 0 or -errno (-EBADF if the program is not loaded,
 * -ENODEV if ifindex does not exist). */
int datapath_attach(struct datapath *dp, int ifindex, enum tcprio_hook hook);
/* Remove our filter from ifindex (hook); other filters and the clsact qdisc
 * stay.  Returns 0 (also when ours was not attached) or -errno. */
int datapath_detach(int ifindex, enum tcprio_hook hook);
/* Whether our filter is attached at ifindex (hook): 1, 0 or -errno. */
int datapath_is_attached(int ifindex, enum tcprio_hook hook);
/* Detach from every interface of the current network namespace (both hooks),
 * unpin our maps and programs (names prefixed tcprio_ or prog_) and remove
 * pin_dir (kept, with a warning, if foreign files remain in it).  Logs the
 * number of filters removed.  Returns 0 or the first -errno met (it goes on
 * with the rest). */
int datapath_detach_all(const char *pin_dir);

/* Pin dir for the CLI: opt if non-NULL, else $TCPRIO_PIN_DIR, else default. */
const char *datapath_pin_dir(const char *opt);

#endif
