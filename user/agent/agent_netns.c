/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * agent_netns.c - what the agent checks about the namespaces it runs in
 * (agent_internal.h): one agent per network namespace, and a warning when
 * its bpffs is private to its mount namespace (`ip netns exec`).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "agent/agent_internal.h"
#include "lib/log.h"

/*
 * One agent per network namespace: two agents with different pin folders
 * each re-attach their own program at every re-check (and in tcx mode move
 * it back to the head), so they replace each other's filters for ever.  An
 * abstract unix socket belongs to the network namespace (unix(7)), so
 * binding "@tcprio-agent" succeeds once per namespace and is released by
 * the kernel when the agent exits, kill -9 included.  The second agent
 * connects to learn the first one's pid (SO_PEERCRED) and names it and its
 * pin folder.
 */
#define NETNS_LOCK_NAME "tcprio-agent"

/* The --pin-dir of process pid, from its command line (the default's
 * description if it gave none, or the process is unreadable). */
static void pin_dir_of(pid_t pid, char *out, size_t len)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(out, len, "%s", TCPRIO_DEFAULT_PIN_DIR " or $TCPRIO_PIN_DIR");
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* NUL-separated arguments: "--pin-dir" "DIR" or "--pin-dir=DIR" */
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
		if (!strcmp(buf + i, "--pin-dir") && i + 10 < n)
			snprintf(out, len, "%s", buf + i + 10);
		else if (!strncmp(buf + i, "--pin-dir=", 10))
			snprintf(out, len, "%s", buf + i + 10);
	}
}

int agent_lock_netns(struct agent *a)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				   strlen(NETNS_LOCK_NAME));
	struct ucred cred = { 0 };
	socklen_t cl = sizeof(cred);
	char other[PATH_MAX];
	int fd, c;

	memcpy(sun.sun_path + 1, NETNS_LOCK_NAME, strlen(NETNS_LOCK_NAME));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0; /* no lock, no refusal: do not stop an agent for this */
	if (bind(fd, (struct sockaddr *)&sun, sl) == 0 && listen(fd, 4) == 0) {
		a->netns_lock_fd = fd;
		return 0;
	}
	close(fd);
	if (errno != EADDRINUSE)
		return 0;
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c >= 0 && connect(c, (struct sockaddr *)&sun, sl) == 0 &&
	    getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cred.pid > 0) {
		pin_dir_of(cred.pid, other, sizeof(other));
		pr_warn("another tcprio agent is running in this network namespace: pid %d, pin "
			"folder %s; two agents would replace each other's filters every %d s. "
			"Stop it first (one agent per network namespace)", (int)cred.pid, other,
			a->o.recheck_s);
	} else {
		pr_warn("another tcprio agent is running in this network namespace; stop it first "
			"(one agent per network namespace)");
	}
	if (c >= 0)
		close(c);
	return -EBUSY;
}

/*
 * `ip netns exec NAME` gives the process a mount namespace of its own with
 * a fresh /sys: the bpffs the agent mounts there is private, its pins
 * vanish when the agent exits and the host's `tcprio status` does not see
 * them.  Its signature: /sys is a sysfs whose source is NAME (iproute2
 * mounts it so) and /run/netns/NAME exists.  As a second sign, our
 * /sys/fs/bpf is another file system than PID 1's (when /proc/1 is
 * readable, which it is not in every container).
 */
static bool private_sysfs(char *name, size_t len)
{
	char line[1024], src[256], path[320];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	while (f && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");
		char mnt[256], type[64];

		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - TYPE SOURCE SUPEROPTS" */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s %255s", type, src) != 2)
			continue;
		if (strcmp(mnt, "/sys") || strcmp(type, "sysfs"))
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", src);
		found = strcmp(src, "sysfs") && !strchr(src, '/') && access(path, F_OK) == 0;
		if (found)
			snprintf(name, len, "%s", src); /* the last /sys mount is the one in use */
	}
	if (f)
		fclose(f);
	return found;
}

void agent_warn_private_bpffs(const struct agent *a)
{
	struct stat mine, host;
	char ns_self[64] = "", ns_init[64] = "", netns[256] = "";
	bool priv = private_sysfs(netns, sizeof(netns));

	if (!priv && readlink("/proc/self/ns/mnt", ns_self, sizeof(ns_self) - 1) > 0 &&
	    readlink("/proc/1/ns/mnt", ns_init, sizeof(ns_init) - 1) > 0 &&
	    strcmp(ns_self, ns_init) && stat("/sys/fs/bpf", &mine) == 0 &&
	    stat("/proc/1/root/sys/fs/bpf", &host) == 0 && mine.st_dev != host.st_dev)
		priv = true;
	if (!priv)
		return;
	pr_warn("pin folder %s is on a bpffs only this mount namespace sees (started with "
		"`ip netns exec %s`?): the pins vanish when the agent exits and `tcprio status` "
		"on the host does not see them; use `nsenter --net=/run/netns/%s` instead",
		a->o.pin_dir, netns[0] ? netns : "NAME", netns[0] ? netns : "NAME");
}
