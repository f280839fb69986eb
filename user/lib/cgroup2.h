/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cgroup2.h - the cgroup v2 hierarchy: where it is mounted and the ids of
 * its cgroups.  On a hybrid system (v1 controllers plus a v2 hierarchy,
 * e.g. at /sys/fs/cgroup/unified) and on a pure v2 system alike, the first
 * mount of type cgroup2 in /proc/self/mounts is used.
 *
 * A cgroup's id (what bpf_skb_cgroup_id returns) is the kernfs id of its
 * directory: the 8 bytes of its name_to_handle_at(2) handle, which is also
 * the directory's inode number on 64-bit kernels.
 *
 * Paths of cgroups are given relative to the hierarchy's root, as
 * /proc/PID/cgroup prints them ("/system.slice/kubelet.service").
 */
#ifndef TCPRIO_CGROUP2_H
#define TCPRIO_CGROUP2_H

#include <stddef.h>
#include <stdint.h>

#define CGROUP2_PATH_MAX 512 /* bytes of a relative path, incl. NUL */

/* Mount point of the cgroup v2 hierarchy into buf (len bytes).  Returns 0,
 * -ENOENT if no cgroup2 is mounted, -ENAMETOOLONG, or -errno reading
 * /proc/self/mounts. */
int cgroup2_root(char *buf, size_t len);
/* Id of the cgroup at root + rel into *id.  Returns 0, -ENOENT if it does
 * not exist, -ENOTDIR, or another -errno. */
int cgroup2_id(const char *root, const char *rel, uint64_t *id);
/* Check a relative cgroup path: starts with '/', 1..CGROUP2_PATH_MAX-1
 * bytes, no empty, "." or ".." component, no trailing '/' (except "/"
 * itself), printable ASCII without spaces.  Returns 0 or -EINVAL with a
 * reason in err ("expected ... got ..."). */
int cgroup2_path_check(const char *rel, char *err, size_t errlen);
/* Level of a checked path: "/" is 0, "/a" is 1, "/a/b" is 2. */
int cgroup2_level(const char *rel);

#endif
