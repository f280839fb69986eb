/* SPDX-License-Identifier: BSD-2-Clause */
/* host_answers.c - tcprio_host_answers writer; see host_answers.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "dp/host_answers.h"

struct host_answers {
	int fd;
	struct tcprio_host_answer have[TCPRIO_HOST_ANSWER_SLOTS]; /* the map's content */
	struct tcprio_host_answer want[TCPRIO_HOST_ANSWER_SLOTS]; /* scratch of a sync */
};

/* One pass over the tree. */
struct walk {
	struct host_answers *a;
	const __u64 *ids;
	const struct tcprio_host_rule *rules;
	size_t n, visited;
};

struct host_answers *host_answers_new(int map_fd)
{
	struct host_answers *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->fd = map_fd;
	for (__u32 k = 0; k < TCPRIO_HOST_ANSWER_SLOTS; k++)
		if (bpf_map_lookup_elem(map_fd, &k, &a->have[k])) {
			int err = errno;

			free(a);
			errno = err;
			return NULL;
		}
	return a;
}

void host_answers_free(struct host_answers *a)
{
	free(a);
}

/* Index of id's entry, or -1 (the entries are few: at most the host rules
 * and the host-network pods). */
static long entry_of(const struct walk *w, __u64 id)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->ids[i] == id)
			return (long)i;
	return -1;
}

/* Answer cgroup id at level (inherited: the entry index the walk finds
 * above it, -1 none), then its children; dirfd is the cgroup's folder
 * (closed here). */
static void visit(struct walk *w, int dirfd, __u64 id, int level, long inherited)
{
	long own = entry_of(w, id), match = own >= 0 ? own : inherited;
	struct tcprio_host_answer *s = &w->a->want[TCPRIO_HOST_ANSWER_SLOT(id)];
	struct dirent *de;
	DIR *d;

	w->visited++;
	if (!s->cgroup_id) {  /* a shared slot answers for the first cgroup */
		s->cgroup_id = id;
		if (match >= 0) {
			s->match_id = w->ids[match];
			s->rule = w->rules[match];
		}
	}
	/* the uplink's walk asks ancestors only down to TCPRIO_HOST_MAX_LEVEL */
	if (own >= 0 && level <= TCPRIO_HOST_MAX_LEVEL)
		inherited = own;
	d = level < HOST_ANSWERS_MAX_DEPTH ? fdopendir(dirfd) : NULL;
	if (!d) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d)) && w->visited < HOST_ANSWERS_MAX_CGROUPS) {
		int child;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		child = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (child >= 0)  /* cgroup v2: the folder's inode is the cgroup id */
			visit(w, child, (__u64)de->d_ino, level + 1, inherited);
	}
	closedir(d);
}

int host_answers_sync(struct host_answers *a, const char *root, const __u64 *ids,
		      const struct tcprio_host_rule *rules, size_t n, size_t *visited)
{
	struct walk w = { .a = a, .ids = ids, .rules = rules, .n = n };
	int written = 0, err = 0;

	memset(a->want, 0, sizeof(a->want));
	if (n && root && root[0]) {
		int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct stat st;

		if (fd >= 0 && fstat(fd, &st) == 0)
			visit(&w, fd, (__u64)st.st_ino, 0, -1);
		else if (fd >= 0)
			close(fd);
	}
	for (__u32 k = 0; k < TCPRIO_HOST_ANSWER_SLOTS; k++) {
		if (!memcmp(&a->want[k], &a->have[k], sizeof(a->want[k])))
			continue;
		if (bpf_map_update_elem(a->fd, &k, &a->want[k], BPF_ANY)) {
			err = err ? err : -errno;
			continue;
		}
		a->have[k] = a->want[k];
		written++;
	}
	if (visited)
		*visited = w.visited;
	return err ? err : written;
}
