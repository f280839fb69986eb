/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * node_load - test tool: load and pin the datapath at PIN_DIR like the agent
 * does, write the built-in class table (classes, DSCP map, config) straight
 * into the maps, attach the pod-edge program at the ingress of each -p IFACE
 * and the uplink program at the egress of each -u IFACE, then exit (pins
 * and filters stay).  Used by tests/node/test_cli.sh.
 *
 *   node_load PIN_DIR [-m auto|tcx|tc] [-p IFACE]... [-u IFACE]...
 * -m sets the attach mode for the attachments that follow (default auto).
 * Exit: 0 ok, 1 error.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "policy/class_table.h"
#include "dp/datapath.h"
#include "lib/log.h"

static int write_table(const struct datapath *dp, const struct class_table *t)
{
	struct tcprio_config cfg = { .default_class = t->default_class, .trust_dscp = 1,
				     .rewrite_dscp = 1, .enabled = 1 };
	__u32 zero = 0;

	for (__u32 i = 0; i < (__u32)t->n_classes; i++) {
		struct tcprio_class c = { .priority = t->classes[i].priority,
					  .dscp = t->classes[i].dscp,
					  .flags = TCPRIO_CLASS_VALID };
		__u32 d = t->classes[i].dscp;
		struct tcprio_dscp_class dc = { .class_id = i, .valid = 1 };

		strncpy(c.name, t->classes[i].name, sizeof(c.name) - 1);
		if (bpf_map_update_elem(dp->maps.classes, &i, &c, BPF_ANY) ||
		    bpf_map_update_elem(dp->maps.dscp_classes, &d, &dc, BPF_ANY))
			return -errno;
	}
	if (bpf_map_update_elem(dp->maps.config, &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	struct datapath dp;
	struct class_table t;
	int c, err;

	if (argc < 2) {
		fprintf(stderr, "usage: node_load PIN_DIR [-m auto|tcx|tc] [-p IFACE]... [-u IFACE]...\n");
		return 1;
	}
	log_route_libbpf();
	err = datapath_load(&dp, argv[1]);
	if (err) {
		fprintf(stderr, "node_load: datapath_load(%s): %s\n", argv[1], strerror(-err));
		return 1;
	}
	class_table_defaults(&t);
	err = write_table(&dp, &t);
	optind = 2;
	while (!err && (c = getopt(argc, argv, "m:p:u:")) != -1) {
		int ifindex = (c == 'p' || c == 'u') ? (int)if_nametoindex(optarg) : 0;
		enum datapath_attach_mode m;

		if (c == 'm') {
			err = datapath_parse_attach_mode(optarg, &m);
			if (!err)
				err = datapath_set_attach_mode(&dp, m);
			continue;
		}

		if (!ifindex) {
			fprintf(stderr, "node_load: bad option or interface '%s'\n", optarg);
			err = -EINVAL;
			break;
		}
		err = datapath_attach(&dp, ifindex, c == 'u' ? TCPRIO_HOOK_UPLINK
							       : TCPRIO_HOOK_POD_EDGE);
	}
	if (err)
		fprintf(stderr, "node_load: %s\n", strerror(-err));
	datapath_close(&dp);
	return err ? 1 : 0;
}
