/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cni_attach - test tool: attach one stand-in CNI program
 * (tests/cni/cni_standin.bpf.c) the way a CNI would.
 *
 *   cni_attach OBJ PROG tcx IFACE ingress|egress PIN [TARGET]
 *       a tcx link at the head of the hook (BPF_F_BEFORE, as Cilium and
 *       Calico attach), pinned at PIN so it outlives this process;
 *   cni_attach OBJ PROG tc IFACE ingress|egress PREF [TARGET]
 *       a clsact direct-action filter at pref PREF, handle 0xc1
 *       (clsact created if missing), as Cilium with tcx off does at pref 1.
 * TARGET: the interface a redirect program sends to (redirect_ifindex).
 * Prints the program id.  Exit 0 ok, 1 error (message on stderr).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dp/hook_chain.h"

#define STANDIN_TC_HANDLE 0xc1

static int fail(const char *what, int err)
{
	fprintf(stderr, "cni_attach: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

/* Set the .rodata variable redirect_ifindex before load. */
static int set_target(struct bpf_object *obj, __u32 ifindex)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, ".rodata");
	size_t sz = 0;
	__u32 *v;

	if (!m)
		return ifindex ? -ENOENT : 0;
	v = (__u32 *)bpf_map__initial_value(m, &sz); /* writable before load */
	if (!v || sz < sizeof(*v))
		return -EINVAL;
	*v = ifindex; /* the only variable in .rodata */
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	enum tcprio_hook hook;
	int ifindex, prog_fd, err;
	__u32 target = 0;
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (argc < 7 || (strcmp(argv[3], "tcx") && strcmp(argv[3], "tc")) ||
	    (strcmp(argv[5], "ingress") && strcmp(argv[5], "egress"))) {
		fprintf(stderr, "usage: cni_attach OBJ PROG tcx|tc IFACE ingress|egress PIN|PREF [TARGET]\n");
		return 1;
	}
	ifindex = (int)if_nametoindex(argv[4]);
	if (!ifindex)
		return fail(argv[4], errno);
	if (argc > 7 && !(target = if_nametoindex(argv[7])))
		return fail(argv[7], errno);
	hook = strcmp(argv[5], "egress") == 0 ? TCPRIO_HOOK_UPLINK : TCPRIO_HOOK_POD_EDGE;
	/* No pin folder needed: the stand-in declares no pinned maps (only
	 * .rodata), so libbpf pins nothing at /sys/fs/bpf. */
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		return fail(argv[1], errno);
	err = set_target(obj, target);
	if (err)
		return fail("redirect target", err);
	bpf_object__for_each_program(prog, obj)
		bpf_program__set_autoload(prog, strcmp(bpf_program__name(prog), argv[2]) == 0);
	prog = bpf_object__find_program_by_name(obj, argv[2]);
	if (!prog)
		return fail(argv[2], ENOENT);
	err = bpf_object__load(obj);
	if (err)
		return fail("load", err);
	prog_fd = bpf_program__fd(prog);
	if (strcmp(argv[3], "tcx") == 0) {
		int link = hook_tcx_link_create(prog_fd, ifindex, hook);

		if (link < 0)
			return fail("tcx link", link);
		unlink(argv[6]);
		if (bpf_obj_pin(link, argv[6]))
			return fail(argv[6], errno);
	} else {
		LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex,
			    .attach_point = hook == TCPRIO_HOOK_UPLINK ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, o, .prog_fd = prog_fd, .handle = STANDIN_TC_HANDLE,
			    .priority = (__u32)atoi(argv[6]), .flags = BPF_TC_F_REPLACE);

		err = bpf_tc_hook_create(&h);
		if (err && err != -EEXIST)
			return fail("clsact", err);
		err = bpf_tc_attach(&h, &o);
		if (err)
			return fail("tc filter", err);
	}
	bpf_obj_get_info_by_fd(prog_fd, &info, &len);
	printf("%u\n", info.id);
	bpf_object__close(obj);
	return 0;
}
