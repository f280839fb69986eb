/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ep_filter.h - the endpoint filter, tcprio_ep_filter (include/tcprio.h,
 * "Endpoint filter"): which addresses may be in tcprio_endpoints.  Every
 * writer of an endpoint sets its bit (ep_filter_add, called by the BPF map
 * operations after the map write, dp/map_ops_bpf.c); the agent rebuilds it
 * from the map (ep_filter_rebuild), which also makes it valid.
 */
#ifndef TCPRIO_EP_FILTER_H
#define TCPRIO_EP_FILTER_H

#include <stdbool.h>
#include "tcprio.h"

/* Map the tcprio_ep_filter map fd (BPF_F_MMAPABLE) into memory: *mem =
 * TCPRIO_EP_FILTER_ENTRIES words shared with the programs.  0 or -errno
 * (a map without BPF_F_MMAPABLE: -EINVAL or -EPERM, from mmap). */
int ep_filter_map(int fd, __u64 **mem);
/* Unmap what ep_filter_map mapped (mem may be NULL). */
void ep_filter_unmap(__u64 *mem);

/* Set ip's bit in both buffers (atomic OR).  Call it after writing ip's
 * entry into tcprio_endpoints, before the cache generation changes.  With
 * mem NULL (the filter could not be mapped here) switch the filter off
 * instead: header 0 through the map fd (the uplink then looks every
 * source up until the agent's next rebuild). */
void ep_filter_add(__u64 *mem, int fd, const struct tcprio_ip *ip);
/* Switch the filter of the tcprio_ep_filter map fd off (header 0, through
 * the fd): the uplink looks every source up until the next rebuild. */
void ep_filter_off(int fd);
/* Whether ip's bit is set in the active buffer (mem NULL: false). */
bool ep_filter_has(const __u64 *mem, const struct tcprio_ip *ip);

/* Rebuild from the tcprio_endpoints map endpoints_fd: clear the inactive
 * buffer, set the bit of every key of the map in it, then make it the
 * active one and mark the filter valid - unless the header changed
 * meanwhile (a writer without the mapping switched the filter off: it
 * stays off).  Safe beside other processes' ep_filter_add (see
 * include/tcprio.h).  Returns the number of endpoints it covers, -EAGAIN
 * when the header changed, or -errno when the map cannot be read (the
 * filter is then left as it was). */
long ep_filter_rebuild(__u64 *mem, int endpoints_fd);

#endif
