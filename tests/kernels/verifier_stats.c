/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verifier_stats - test tool: load the tcprio BPF object (the skeleton the
 * agent embeds) into the running kernel without pinning or attaching
 * anything, and print, for each program, the verifier's statistics line
 * ("processed N insns (limit 1000000) ...", kernel log level BPF_LOG_STATS
 * = 4, include/uapi/linux/bpf.h) and whether it loaded:
 *
 *   tcprio_pod_edge: loaded; processed 17302 insns (limit 1000000) ...
 *
 * and whether the kernel has tcx (BPF_PROG_QUERY for BPF_TCX_INGRESS on the
 * loopback interface succeeds: a feature probe, not a version check):
 *
 *   tcx: yes
 *
 * Used by the kernel matrix (tests/kernels/) to report the verifier's cost
 * and the attach path on each kernel.  Exit: 0 when every program loaded,
 * 1 otherwise.
 *
 * Nothing is pinned: the maps are LIBBPF_PIN_BY_NAME, and with no
 * pin_root_path libbpf 1.1 gives each one the pin path /sys/fs/bpf/<name>,
 * reuses a map already pinned there (failing the load when its layout is
 * older) and pins the new map there after creating it.  Clearing every
 * map's pin path before load (bpf_map__set_pin_path(map, NULL)) turns both
 * off.  tests/kernels/test_verifier_stats.sh checks it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <bpf/libbpf.h>
#include "tcprio.skel.h"

#define LOG_BYTES (1u << 20)
#define BPF_LOG_STATS 4 /* include/uapi/linux/bpf.h */

#define N_PROGS 3   /* the programs of bpf/tcprio.bpf.c, listed in main() */

static char logs[N_PROGS][LOG_BYTES];

/* The last line of a verifier log that starts with "processed ". */
static const char *stats_line(char *log)
{
	char *line = NULL, *p = log;

	while ((p = strstr(p, "processed ")) != NULL) {
		if (p == log || p[-1] == '\n')
			line = p;
		p++;
	}
	if (line)
		line[strcspn(line, "\n")] = '\0';
	return line ? line : "(no statistics in the verifier log)";
}

/* BPF_TCX_INGRESS in enum bpf_attach_type (include/uapi/linux/bpf.h, Linux
 * 6.6); Debian 12's UAPI headers (6.1) do not have it yet. */
#define TCPRIO_BPF_TCX_INGRESS 46

/* 1 when the kernel answers BPF_PROG_QUERY for tcx ingress of lo. */
static int have_tcx(void)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = if_nametoindex("lo");
	attr.query.attach_type = TCPRIO_BPF_TCX_INGRESS;
	return syscall(__NR_bpf, BPF_PROG_QUERY, &attr, sizeof(attr)) == 0;
}

/* Clear every map's pin path so that load neither reuses nor creates a pin
 * (see the header comment).  Returns 0 or a negative errno from libbpf. */
static int unpin_maps(struct bpf_object *obj)
{
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, obj) {
		err = bpf_map__set_pin_path(map, NULL);
		if (err)
			return err;
	}
	return 0;
}

int main(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct tcprio_bpf *skel;
	struct bpf_program *progs[N_PROGS];
	int err, i;

	skel = tcprio_bpf__open_opts(&opts);
	if (!skel) {
		fprintf(stderr, "verifier_stats: open: %s\n", strerror(errno));
		return 1;
	}
	err = unpin_maps(skel->obj);
	if (err) {
		fprintf(stderr, "verifier_stats: clear pin paths: %s\n", strerror(-err));
		tcprio_bpf__destroy(skel);
		return 1;
	}
	progs[0] = skel->progs.tcprio_pod_edge;
	progs[1] = skel->progs.tcprio_uplink;
	progs[2] = skel->progs.tcprio_dscp_writer;
	for (i = 0; i < N_PROGS; i++) {
		bpf_program__set_log_buf(progs[i], logs[i], LOG_BYTES);
		bpf_program__set_log_level(progs[i], BPF_LOG_STATS);
	}
	err = tcprio_bpf__load(skel);
	for (i = 0; i < N_PROGS; i++)
		printf("%s: %s; %s\n", bpf_program__name(progs[i]),
		       bpf_program__fd(progs[i]) >= 0 ? "loaded" : "NOT loaded", stats_line(logs[i]));
	printf("tcx: %s\n", have_tcx() ? "yes" : "no");
	if (err)
		fprintf(stderr, "verifier_stats: load: %s\n", strerror(-err));
	tcprio_bpf__destroy(skel);
	return err ? 1 : 0;
}
