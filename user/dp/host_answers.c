/* SPDX-License-Identifier: BSD-2-Clause */
/* host_answers.c - tcprio_host_answers writer; see host_answers.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "dp/host_answers.h"

/* One listed cgroup; parents come before their children. */
struct cg_node {
	__u64 id;
	int parent;     /* index, -1 for the root */
	int level;      /* root 0 */
	long inherit;   /* compute's: the entry the walk finds above its children, -1 none */
};

struct host_answers {
	int fd;
	struct tcprio_host_answer have[TCPRIO_HOST_ANSWER_SLOTS]; /* the map's content */
	struct tcprio_host_answer want[TCPRIO_HOST_ANSWER_SLOTS]; /* scratch of a sync */
	struct cg_node *tree;   /* the last listing (HOST_ANSWERS_MAX_CGROUPS at most) */
	size_t n_tree;
	char root[256];         /* what was listed */
	struct timespec listed; /* when (CLOCK_MONOTONIC) */
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
	if (a)
		free(a->tree);
	free(a);
}

int host_answers_clear(int map_fd)
{
	struct tcprio_host_answer none = { 0 };
	int err = 0;

	for (__u32 k = 0; k < TCPRIO_HOST_ANSWER_SLOTS; k++)
		if (bpf_map_update_elem(map_fd, &k, &none, BPF_ANY) && !err)
			err = -errno;
	return err;
}

/* Index of id's entry in ids[0..n), or -1 (the entries are few: at most
 * the host rules and the host-network pods). */
static long entry_of(const __u64 *ids, size_t n, __u64 id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return (long)i;
	return -1;
}

/* Add cgroup id (its folder open as dirfd, closed here) and, depth first,
 * the cgroups below it to a->tree. */
static void list_tree(struct host_answers *a, int dirfd, __u64 id, int parent, int level)
{
	int self = (int)a->n_tree;
	struct dirent *de;
	DIR *d;

	a->tree[a->n_tree++] = (struct cg_node){ .id = id, .parent = parent, .level = level };
	d = level < HOST_ANSWERS_MAX_DEPTH ? fdopendir(dirfd) : NULL;
	if (!d) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d)) && a->n_tree < HOST_ANSWERS_MAX_CGROUPS) {
		int child;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		child = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (child >= 0)  /* cgroup v2: the folder's inode is the cgroup id */
			list_tree(a, child, (__u64)de->d_ino, self, level + 1);
	}
	closedir(d);
}

/* List the tree at root again if the last listing is of another root or
 * HOST_ANSWERS_RELIST_S old (an unreadable root: an empty tree). */
static void relist(struct host_answers *a, const char *root)
{
	struct timespec now;
	struct stat st;
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (a->tree && a->n_tree && !strcmp(a->root, root) &&
	    now.tv_sec - a->listed.tv_sec < HOST_ANSWERS_RELIST_S)
		return;
	if (!a->tree && !(a->tree = malloc(HOST_ANSWERS_MAX_CGROUPS * sizeof(*a->tree))))
		return;
	a->n_tree = 0;
	snprintf(a->root, sizeof(a->root), "%s", root);
	a->listed = now;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0)
		list_tree(a, fd, (__u64)st.st_ino, -1, 0);
	else if (fd >= 0)
		close(fd);
}

/* a->want := the answers for the listed tree under entries ids -> rules
 * (each node's inherit set on the way: parents come first). */
static void compute(struct host_answers *a, const __u64 *ids,
		    const struct tcprio_host_rule *rules, size_t n)
{
	memset(a->want, 0, sizeof(a->want));
	for (size_t i = 0; i < a->n_tree; i++) {
		struct cg_node *c = &a->tree[i];
		long up = c->parent >= 0 ? a->tree[c->parent].inherit : -1;
		long own = entry_of(ids, n, c->id), match = own >= 0 ? own : up;
		struct tcprio_host_answer *s = &a->want[TCPRIO_HOST_ANSWER_SLOT(c->id)];

		/* the uplink's walk asks ancestors only down to TCPRIO_HOST_MAX_LEVEL */
		c->inherit = own >= 0 && c->level <= TCPRIO_HOST_MAX_LEVEL ? own : up;
		if (s->cgroup_id)
			continue;  /* a shared slot answers for the first cgroup listed */
		s->cgroup_id = c->id;
		if (match >= 0) {
			s->match_id = ids[match];
			s->rule = rules[match];
		}
	}
}

int host_answers_sync(struct host_answers *a, const char *root, const __u64 *ids,
		      const struct tcprio_host_rule *rules, size_t n, size_t *visited)
{
	int written = 0, err = 0;

	if (n && root && root[0])
		relist(a, root);
	else
		a->n_tree = 0;  /* nothing to answer: empty every slot */
	compute(a, ids, rules, n);
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
		*visited = a->n_tree;
	return err ? err : written;
}
