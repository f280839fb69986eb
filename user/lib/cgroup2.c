/* SPDX-License-Identifier: BSD-2-Clause */
/* cgroup2.c - cgroup v2 mount point and cgroup ids (cgroup2.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "lib/cgroup2.h"

int cgroup2_root(char *buf, size_t len)
{
	struct mntent ent;
	char strings[4096];
	int ret = -ENOENT;
	FILE *f = setmntent("/proc/self/mounts", "re");

	if (!f)
		return -errno;
	/* getmntent_r undoes the octal escapes (\040) of the mounts file. */
	while (getmntent_r(f, &ent, strings, sizeof(strings))) {
		if (strcmp(ent.mnt_type, "cgroup2") != 0)
			continue;
		if (strlen(ent.mnt_dir) >= len) {
			ret = -ENAMETOOLONG;
			break;
		}
		strcpy(buf, ent.mnt_dir);
		ret = 0;
		break;
	}
	endmntent(f);
	return ret;
}

int cgroup2_id(const char *root, const char *rel, uint64_t *id)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[16];
	} h;
	char path[4096];
	struct stat st;
	int mnt_id;

	if (snprintf(path, sizeof(path), "%s%s", root, rel) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (stat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	h.fh.handle_bytes = sizeof(h.bytes);
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mnt_id, 0) == 0 &&
	    h.fh.handle_bytes == sizeof(uint64_t)) {
		memcpy(id, h.fh.f_handle, sizeof(*id));
		return 0;
	}
	*id = (uint64_t)st.st_ino; /* 64-bit kernfs: the same number */
	return 0;
}

int cgroup2_path_check(const char *rel, char *err, size_t errlen)
{
	size_t len = strlen(rel);
	const char *c;

	if (rel[0] != '/') {
		snprintf(err, errlen, "expected a path from the cgroup v2 root "
			 "starting with /, such as /system.slice/kubelet.service, "
			 "got \"%.64s\"", rel);
		return -EINVAL;
	}
	if (len >= CGROUP2_PATH_MAX) {
		snprintf(err, errlen, "expected at most %d bytes, got %zu",
			 CGROUP2_PATH_MAX - 1, len);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if (!isgraph((unsigned char)rel[i])) {
			snprintf(err, errlen, "expected printable characters without "
				 "spaces, got byte 0x%02x at %zu in \"%.64s\"",
				 (unsigned char)rel[i], i, rel);
			return -EINVAL;
		}
	}
	if (len == 1)
		return 0;
	for (c = rel; c && *c; c = strchr(c + 1, '/')) {
		const char *next = strchr(c + 1, '/');
		size_t n = next ? (size_t)(next - c - 1) : strlen(c + 1);

		if (n == 0 || (n == 1 && c[1] == '.') ||
		    (n == 2 && c[1] == '.' && c[2] == '.')) {
			snprintf(err, errlen, "expected a normalised path (no empty, "
				 "\".\" or \"..\" component, no trailing /), got \"%.64s\"",
				 rel);
			return -EINVAL;
		}
	}
	return 0;
}

int cgroup2_level(const char *rel)
{
	int n = 0;

	if (strcmp(rel, "/") == 0)
		return 0;
	for (const char *c = rel; *c; c++)
		n += *c == '/';
	return n;
}
