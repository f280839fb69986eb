/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * datapath.h - load, pin and attach the TC programs (bpf/tcprio.bpf.c).
 * Maps are pinned by name under pin_dir (default /sys/fs/bpf/tcprio) and
 * reused by a restarted agent; programs are pinned as prog_pod_edge and
 * prog_uplink.  tc filters use TCPRIO_TC_HANDLE / TCPRIO_TC_PRIORITY.
 */
#ifndef TCPRIO_DATAPATH_H
#define TCPRIO_DATAPATH_H

#include <stdbool.h>
#include "endpoint_sync.h"
#include "tcprio.h"

#define TCPRIO_DEFAULT_PIN_DIR "/sys/fs/bpf/tcprio"

struct tcprio_bpf; /* generated skeleton */

struct datapath {
	struct tcprio_bpf *skel;   /* NULL when opened from pins only */
	char pin_dir[256];
	struct datapath_maps maps;
	int prog_pod_edge_fd, prog_uplink_fd;
};

/* Mount bpffs at /sys/fs/bpf if needed; load the programs reusing pinned
 * maps; pin maps and programs.  Returns 0 or -errno. */
int datapath_load(struct datapath *dp, const char *pin_dir);
/* Open the pinned maps (and programs if pinned) of a running agent, for the
 * CLI.  Returns 0 or -ENOENT if nothing is pinned there. */
int datapath_open_pinned(struct datapath *dp, const char *pin_dir);
void datapath_close(struct datapath *dp);

/* Attach (create clsact if needed; replace our own filter) the pod-edge
 * program at ingress or the uplink program at egress of ifindex. */
int datapath_attach(struct datapath *dp, int ifindex, enum tcprio_hook hook);
/* Remove our filter from ifindex (hook); other filters untouched. */
int datapath_detach(int ifindex, enum tcprio_hook hook);
/* Whether our filter is attached at ifindex (hook): 1, 0 or -errno. */
int datapath_is_attached(int ifindex, enum tcprio_hook hook);
/* Detach from every interface and remove the pin folder. */
int datapath_detach_all(const char *pin_dir);

#endif
