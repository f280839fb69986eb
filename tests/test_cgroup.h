/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cgroup.h - cgroups for tests, under the cgroup v2 root (wherever it
 * is mounted: lib/cgroup2.h).  A test creates its cgroups with tcg_mkdir,
 * may move itself into one with tcg_enter, and calls tcg_cleanup at exit
 * (also registered with atexit and on SIGINT/SIGTERM/SIGHUP/SIGPIPE): it moves the
 * process back to the cgroup it started in and removes every cgroup made,
 * deepest first.
 */
#ifndef TCPRIO_TEST_CGROUP_H
#define TCPRIO_TEST_CGROUP_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/cgroup2.h"

#define TCG_MAX 16

static char tcg_root[256];           /* cgroup2 mount point */
static char tcg_home[640];           /* our cgroup at start (relative) */
static char tcg_made[TCG_MAX][256];  /* relative paths we created */
static int tcg_n;

/* Write "pid" into root/rel/cgroup.procs.  0 or -errno. */
static inline int tcg_move(const char *rel, int pid)
{
	char path[1024];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "%s%s/cgroup.procs", tcg_root,
		 strcmp(rel, "/") ? rel : "");
	f = fopen(path, "we");
	if (!f)
		return -errno;
	if (fprintf(f, "%d\n", pid) < 0)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

static inline void tcg_cleanup(void)
{
	char path[1024];

	if (tcg_home[0])
		tcg_move(tcg_home, (int)getpid());
	while (tcg_n > 0) {
		tcg_n--;
		snprintf(path, sizeof(path), "%s%s", tcg_root, tcg_made[tcg_n]);
		rmdir(path);
	}
}

static void tcg_on_signal(int sig)
{
	tcg_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Find the cgroup2 root and our cgroup.  0, or -errno (-ENOENT: no
 * cgroup v2 on this machine: skip). */
static inline int tcg_init(void)
{
	char line[600];
	FILE *f;
	int err = cgroup2_root(tcg_root, sizeof(tcg_root));

	if (err)
		return err;
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(tcg_home, sizeof(tcg_home), "%s", line + 3);
		}
	fclose(f);
	atexit(tcg_cleanup);
	/* SIGPIPE too: a reader such as `| head` that goes away must not
	 * leave the test's cgroups behind. */
	signal(SIGINT, tcg_on_signal);
	signal(SIGTERM, tcg_on_signal);
	signal(SIGHUP, tcg_on_signal);
	signal(SIGPIPE, tcg_on_signal);
	return tcg_home[0] ? 0 : -ENOENT;
}

/* mkdir root + rel (recorded for cleanup); its id into *id.  0 or -errno. */
static inline int tcg_mkdir(const char *rel, uint64_t *id)
{
	char path[1024];

	if (tcg_n >= TCG_MAX)
		return -E2BIG;
	snprintf(path, sizeof(path), "%s%s", tcg_root, rel);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	snprintf(tcg_made[tcg_n++], sizeof(tcg_made[0]), "%s", rel);
	return cgroup2_id(tcg_root, rel, id);
}

/* Move this process into rel ("" or NULL: back home).  0 or -errno. */
static inline int tcg_enter(const char *rel)
{
	return tcg_move(rel && *rel ? rel : tcg_home, (int)getpid());
}

#endif
