/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * link_watch.h - report network interfaces whose name matches a set of
 * fnmatch(3) globs: every existing one at start, then each new one (or one
 * renamed into a match, or one that re-appears after deletion) as the kernel
 * announces it on the rtnetlink RTNLGRP_LINK group (libnl-route-3).
 *
 * Threading: link_watch_start runs a thread of its own; on_link is called on
 * that thread only (never concurrently with itself), typically within a few
 * milliseconds of the RTM_NEWLINK event.  The watched namespace is the
 * network namespace of the thread that calls link_watch_start.
 */
#ifndef TCPRIO_LINK_WATCH_H
#define TCPRIO_LINK_WATCH_H

/*
 * Default globs for the host-side pod interfaces of common CNIs:
 *   veth*   bridge/ptp/flannel/kindnet/Kube-router/Weave pod veths (the
 *           reference CNI plugins name host ends vethXXXXXXXX)
 *   cali*   Calico
 *   lxc*    Cilium (lxcXXXX; lxc_health too, harmless)
 *   eni*    AWS VPC CNI
 *   azv*    Azure CNI (transparent mode)
 *   gke*    GKE dataplane v1 (gkeXXXX)
 * Not matched on purpose: cni0/docker0/cbr0 (bridges: traffic of every pod),
 * flannel.1, vxlan*, tunl0, cilium_* (overlay uplinks), weave (bridge),
 * tap/vnet (VMs).  Antrea (pod-name prefixed) and Kube-OVN (<id>_h) host
 * ends have no fixed prefix: operators give their globs explicitly.
 * Use: const char *globs[] = LINK_WATCH_DEFAULT_GLOBS;
 *      link_watch_start(globs, LINK_WATCH_N_DEFAULT_GLOBS, cb, ctx);
 */
#define LINK_WATCH_DEFAULT_GLOBS { "veth*", "cali*", "lxc*", "eni*", "azv*", "gke*" }
#define LINK_WATCH_N_DEFAULT_GLOBS 6

struct link_watch; /* opaque */

/* Called for a matching link: ifindex > 0 and its name (IFNAMSIZ bytes max). */
typedef void (*link_watch_cb)(void *ctx, int ifindex, const char *name);

/*
 * Start watching.  globs (n of them, copied) are fnmatch(3) patterns; n == 0
 * matches every link.  on_link is called for every existing matching link
 * (before or shortly after this returns) and for every new one.
 * Returns the watcher, or NULL with errno set (EINVAL bad arguments, or the
 * errno of the netlink socket / thread creation).
 */
struct link_watch *link_watch_start(const char **globs, int n,
				    link_watch_cb on_link, void *ctx);
/* Stop the thread and free everything.  NULL is fine.  Must not be called
 * from on_link.  After it returns on_link is not called again. */
void link_watch_stop(struct link_watch *w);
/* Whether name matches one of the globs (n == 0: always). */
int link_watch_match(const char **globs, int n, const char *name);

#endif
