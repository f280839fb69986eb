/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * traffic_toggle - benchmark tool for scripts/bench_traffic.py: switches
 * what runs at a node's two hooks while one traffic stream keeps running,
 * so that the three variants are measured in short windows side by side
 * (a 3-s test's rate moves by up to 10 % from one test to the next on a
 * shared 2-core VM; windows a second apart share most of that drift).
 *
 *   traffic_toggle PIN_DIR EMPTY_OBJ POD_IF UP_IF [STEPS_OBJ]
 *
 * PIN_DIR: a datapath loaded and pinned by node_load (no attachments);
 * EMPTY_OBJ: build/tcprio_empty.bpf.o; STEPS_OBJ: build/tcprio_steps.bpf.o
 * (loaded with PIN_DIR's maps).  Reads one word per line on stdin:
 *   without  no program at either hook
 *   empty    the empty program at POD_IF ingress and UP_IF egress
 *   with     tcprio_pod_edge at POD_IF ingress, tcprio_uplink at UP_IF
 *            egress
 * and, with STEPS_OBJ, variants with a program at POD_IF ingress only:
 *   edge_empty, step_config, step_parse, step_src, step_class (the pod
 *   edge cut after each of its steps: bpf/tcprio_steps.bpf.c), edge_only
 *   (tcprio_pod_edge)
 * each as tcx links at the head of the hook (hook_tcx_link_create, as the
 * agent attaches) that this process owns, so closing them detaches; and
 * answers "ok WORD [ID ID]" on stdout once the hooks are in that state
 * (ID: the kernel's id of the program at the pod edge and at the uplink,
 * for its run-time statistics), or "error WHAT" (the hooks then run
 * nothing).  At EOF it detaches and
 * exits 0.  Needs tcx (Linux 6.6+).  Exit 1: bad arguments or setup.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dp/datapath.h"
#include "dp/hook_chain.h"

/* The programs of one variant: [0] at the pod edge, [1] at the uplink
 * (-1: none). */
struct variant {
	const char *name;
	int prog[2];
};

static int pinned_prog(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return bpf_obj_get(path);
}

/* Close the links in links[0..1] (detaching them), then attach v's
 * programs.  0 or -errno (then no link is left). */
static int switch_to(const struct variant *v, const int ifindex[2], int links[2])
{
	static const enum tcprio_hook hooks[2] = { TCPRIO_HOOK_POD_EDGE, TCPRIO_HOOK_UPLINK };

	for (int i = 0; i < 2; i++) {
		if (links[i] >= 0)
			close(links[i]);
		links[i] = -1;
	}
	for (int i = 0; i < 2 && v->prog[i] >= 0; i++) {
		links[i] = hook_tcx_link_create(v->prog[i], ifindex[i], hooks[i]);
		if (links[i] < 0) {
			int err = links[i];

			links[i] = -1;
			for (int j = 0; j < i; j++) {
				close(links[j]);
				links[j] = -1;
			}
			return err;
		}
	}
	return 0;
}

/* The kernel's id of program fd, 0 if it cannot be read. */
static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* The variant named line, or NULL. */
static const struct variant *find_variant(const struct variant *vs, int n, const char *line)
{
	for (int i = 0; i < n; i++)
		if (strcmp(line, vs[i].name) == 0)
			return &vs[i];
	return NULL;
}

/* The pod-edge steps of bpf/tcprio_steps.bpf.c, in their order. */
static const char *const step_names[] = { "step_config", "step_parse", "step_src", "step_class" };
#define N_STEPS (sizeof(step_names) / sizeof(step_names[0]))

/* Load steps_path with pin_dir's maps and add its step variants (pod edge
 * only) to vs[*n...].  0 or -1 (message printed). */
static int add_step_variants(const char *steps_path, const char *pin_dir,
			     struct bpf_object **obj, struct variant *vs, int *n)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .pin_root_path = pin_dir);

	*obj = bpf_object__open_file(steps_path, &o);
	if (!*obj || bpf_object__load(*obj)) {
		fprintf(stderr, "traffic_toggle: cannot load %s with the maps in %s: %s\n",
			steps_path, pin_dir, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < N_STEPS; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(*obj, step_names[i]);

		if (!p) {
			fprintf(stderr, "traffic_toggle: no program %s in %s\n", step_names[i],
				steps_path);
			return -1;
		}
		vs[(*n)++] = (struct variant){ step_names[i], { bpf_program__fd(p), -1 } };
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *empty_obj = NULL, *steps_obj = NULL;
	struct bpf_program *empty_prog;
	struct variant variants[5 + N_STEPS] = { { "without", { -1, -1 } } };
	int ifindex[2], links[2] = { -1, -1 }, edge = -1, uplink = -1, empty, n_variants = 3;
	char line[64];
	int rc = 1;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: traffic_toggle PIN_DIR EMPTY_OBJ POD_IF UP_IF [STEPS_OBJ]\n");
		return 1;
	}
	libbpf_set_print(NULL);
	ifindex[0] = (int)if_nametoindex(argv[3]);
	ifindex[1] = (int)if_nametoindex(argv[4]);
	edge = pinned_prog(argv[1], TCPRIO_PIN_PROG_POD_EDGE);
	uplink = pinned_prog(argv[1], TCPRIO_PIN_PROG_UPLINK);
	empty_obj = bpf_object__open_file(argv[2], NULL);
	if (!ifindex[0] || !ifindex[1] || edge < 0 || uplink < 0 || !empty_obj ||
	    bpf_object__load(empty_obj)) {
		fprintf(stderr, "traffic_toggle: setup failed (interfaces %s %s, pins in %s, %s): %s\n",
			argv[3], argv[4], argv[1], argv[2], strerror(errno));
		goto cleanup;
	}
	empty_prog = bpf_object__find_program_by_name(empty_obj, "tcprio_empty");
	empty = empty_prog ? bpf_program__fd(empty_prog) : -1;
	if (empty < 0) {
		fprintf(stderr, "traffic_toggle: no program tcprio_empty in %s\n", argv[2]);
		goto cleanup;
	}
	variants[1] = (struct variant){ "empty", { empty, empty } };
	variants[2] = (struct variant){ "with", { edge, uplink } };
	if (argc == 6) {
		variants[n_variants++] = (struct variant){ "edge_empty", { empty, -1 } };
		if (add_step_variants(argv[5], argv[1], &steps_obj, variants, &n_variants))
			goto cleanup;
		variants[n_variants++] = (struct variant){ "edge_only", { edge, -1 } };
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		const struct variant *v;
		int err;

		line[strcspn(line, "\r\n")] = '\0';
		v = find_variant(variants, n_variants, line);
		if (!v) {
			printf("error unknown variant \"%s\" (expected without, empty or with%s)\n",
			       line, steps_obj ? ", or a step variant" : "");
			continue;
		}
		err = switch_to(v, ifindex, links);
		if (err)
			printf("error attaching \"%s\": %s\n", line, strerror(-err));
		else if (v->prog[1] >= 0)
			printf("ok %s %u %u\n", line, prog_id(v->prog[0]), prog_id(v->prog[1]));
		else if (v->prog[0] >= 0)
			printf("ok %s %u\n", line, prog_id(v->prog[0]));
		else
			printf("ok %s\n", line);
	}
	rc = 0;
cleanup:
	switch_to(&variants[0], ifindex, links);  /* detach */
	bpf_object__close(empty_obj);
	bpf_object__close(steps_obj);
	if (edge >= 0)
		close(edge);
	if (uplink >= 0)
		close(uplink);
	return rc;
}
