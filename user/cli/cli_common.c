/* SPDX-License-Identifier: BSD-2-Clause */
/* cli_common.c - helpers shared by the status/endpoint/detach subcommands. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "policy/class_table.h"
#include "cli/cli.h"
#include "dp/datapath.h"

int cli_open(struct datapath *dp, const char *dir)
{
	int err = datapath_open_pinned(dp, dir);

	if (err == -ENOENT) {
		fprintf(stderr, "tcprio: no tcprio datapath pinned at %s: is the agent running?\n",
			dir);
		return CLI_EXIT_ERROR;
	}
	if (err) {
		fprintf(stderr, "tcprio: cannot open the tcprio maps pinned at %s: %s\n",
			dir, strerror(-err));
		return CLI_EXIT_ERROR;
	}
	return 0;
}

int cli_read_classes(int classes_fd, struct class_table *t)
{
	memset(t, 0, sizeof(*t));
	for (__u32 id = 0; id < TCPRIO_MAX_CLASSES; id++) {
		struct tcprio_class c;
		struct class_def *d = &t->classes[id];

		if (bpf_map_lookup_elem(classes_fd, &id, &c))
			return -errno;
		if (!(c.flags & TCPRIO_CLASS_VALID))
			continue;
		memcpy(d->name, c.name, sizeof(d->name));
		d->name[sizeof(d->name) - 1] = '\0';
		d->dscp = c.dscp;
		d->priority = c.priority;
		t->n_classes = id + 1;
	}
	return 0;
}

void cli_class_list(const struct class_table *t, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < t->n_classes && used < len; i++) {
		if (!t->classes[i].name[0])
			continue;
		used += snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
				 t->classes[i].name);
	}
	if (!buf[0])
		snprintf(buf, len, "(none configured)");
}

bool cli_agent_holds(const char *pin_dir)
{
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool held;

	if (fd < 0)
		return false;
	held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd); /* drops the lock if we took it */
	return held;
}
