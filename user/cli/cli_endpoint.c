/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_endpoint.c - `tcprio endpoint add|del`: write an endpoint by hand
 * (source TCPRIO_SRC_MANUAL), for hosts without Kubernetes and for tests.
 * The maps are written by the sync engine (endpoint_sync_manual_set/del)
 * through dp/'s map operations, like the agent's.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy/class_table.h"
#include "cli/cli.h"
#include "dp/datapath.h"
#include "dp/map_ops_bpf.h"
#include "kube/pod.h"
#include "policy/policy.h"
#include "sync/endpoint_sync.h"

const char cli_endpoint_usage[] =
	"usage: tcprio endpoint add IP --class NAME [--ports SPEC] [--force] [--pin-dir DIR]\n"
	"       tcprio endpoint del IP [--force] [--pin-dir DIR]\n"
	"  IP     IPv4 or IPv6 address of the endpoint (pod)\n"
	"  NAME   a class of the running table (see `tcprio status`)\n"
	"  SPEC   per-port classes as in the tcprio.io/ports annotation,\n"
	"         e.g. \"5432/tcp=critical,9100=bulk\"\n"
	"  --force change a pod's entry while the agent runs (it writes the\n"
	"         pod's entry back within 10 s: change the pod instead)\n";

struct ep_args {
	const char *op, *ip_text, *class_name, *ports, *pin_dir;
	bool force;
	struct tcprio_ip ip;
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "tcprio endpoint: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", cli_endpoint_usage);
	return CLI_EXIT_USAGE;
}

static int parse_args(int argc, char **argv, struct ep_args *a)
{
	static const struct option opts[] = {
		{ "class", required_argument, NULL, 'c' },
		{ "ports", required_argument, NULL, 'p' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:p:P:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->class_name = optarg; break;
		case 'p': a->ports = optarg; break;
		case 'P': a->pin_dir = optarg; break;
		case 'f': a->force = true; break;
		case 'h': fputs(cli_endpoint_usage, stdout); return -1;
		default: return usage_error("bad option%s", "");
		}
	}
	if (optind >= argc)
		return usage_error("missing operation%s: expected `add` or `del`", "");
	a->op = argv[optind++];
	if (strcmp(a->op, "add") && strcmp(a->op, "del"))
		return usage_error("unknown operation '%s': expected `add` or `del`", a->op);
	if (optind >= argc)
		return usage_error("missing IP address after `%s`", a->op);
	a->ip_text = argv[optind++];
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (ip_from_string(a->ip_text, &a->ip))
		return usage_error("bad IP address '%s': expected an IPv4 address "
				   "(198.18.0.10) or an IPv6 address (2001:db8::10)", a->ip_text);
	if (!strcmp(a->op, "add") && !a->class_name)
		return usage_error("missing --class NAME for `add %s`", a->ip_text);
	if (!strcmp(a->op, "del") && (a->class_name || a->ports))
		return usage_error("`del` takes only the IP address%s", "");
	a->pin_dir = datapath_pin_dir(a->pin_dir);
	return 0;
}

static const char *proto_name(uint8_t p)
{
	return p == 6 ? "tcp" : p == 17 ? "udp" : p == 132 ? "sctp" : "?";
}

/* An entry the running agent wrote for a pod (source not manual) is the
 * agent's: it writes it back at its next check (every 10 s).  Refuse (true,
 * after saying why) unless --force. */
static bool agent_owns(const struct sync_map_ops *ops, const struct ep_args *a,
		       const struct tcprio_endpoint *old)
{
	struct tcprio_pod pod = { 0 };

	if (old->source == TCPRIO_SRC_MANUAL || a->force || !cli_agent_holds(a->pin_dir))
		return false;
	ops->lookup(ops->ctx, SYNC_MAP_PODS, &old->pod_id, &pod);
	fprintf(stderr, "tcprio endpoint: %s is pod %.*s's entry and the agent running with %s "
		"owns it: it writes it back within 10 s. Change the pod (its tcprio.io/class "
		"annotation) instead, or --force\n", a->ip_text, (int)sizeof(pod.name),
		pod.name[0] ? pod.name : "(unknown)", a->pin_dir);
	return true;
}

static int endpoint_add(const struct datapath *dp, const struct sync_map_ops *ops,
			const struct ep_args *a)
{
	struct port_class ports[POLICY_MAX_PORT_RULES];
	struct tcprio_endpoint old;
	struct endpoint_sync *s;
	struct class_table t;
	char uid[80], name[TCPRIO_POD_NAME_LEN], list[256], err[512];
	int cid, n_ports = 0, ret;

	if (cli_read_classes(dp->maps.classes, &t)) {
		fprintf(stderr, "tcprio endpoint: cannot read tcprio_classes: %s\n",
			strerror(errno));
		return CLI_EXIT_ERROR;
	}
	cid = class_table_find(&t, a->class_name);
	if (cid < 0 || !a->class_name[0]) {
		cli_class_list(&t, list, sizeof(list));
		fprintf(stderr, "tcprio endpoint: unknown class '%s': expected one of: %s\n",
			a->class_name, list);
		return CLI_EXIT_USAGE;
	}
	if (a->ports) {
		n_ports = parse_ports_annotation(a->ports, &t, ports, POLICY_MAX_PORT_RULES,
						 err, sizeof(err));
		if (n_ports < 0) {
			fprintf(stderr, "tcprio endpoint: bad --ports '%s': %s\n", a->ports, err);
			return CLI_EXIT_USAGE;
		}
	}
	if (ops->lookup(ops->ctx, SYNC_MAP_ENDPOINTS, &a->ip, &old) == 0 && agent_owns(ops, a, &old))
		return CLI_EXIT_ERROR;
	if (ops->lookup(ops->ctx, SYNC_MAP_ENDPOINTS, &a->ip, &old) == 0 &&
	    old.source != TCPRIO_SRC_MANUAL)
		fprintf(stderr, "tcprio endpoint: note: %s was set by the agent; a running "
			"agent writes that pod's entry back at its next check "
			"(--recheck-interval, 10 s) or change of the pod\n", a->ip_text);

	snprintf(uid, sizeof(uid), CLI_MANUAL_UID_PREFIX "%s", a->ip_text);
	snprintf(name, sizeof(name), CLI_MANUAL_NS "/%s", a->ip_text);
	s = endpoint_sync_new(ops, &t);
	ret = s ? endpoint_sync_manual_set(s, &a->ip, pod_id_from_uid(uid), cid, ports, n_ports,
					   name) : -ENOMEM;
	endpoint_sync_free(s);
	if (ret) {
		errno = -ret;
		goto map_error;
	}
	printf("endpoint %s -> class %s", a->ip_text, t.classes[cid].name);
	for (int i = 0; i < n_ports; i++)
		printf("%s%u/%s=%s", i ? "," : " ports ", ports[i].port,
		       proto_name(ports[i].protocol), t.classes[ports[i].class_id].name);
	printf("\n");
	return CLI_EXIT_OK;
map_error:
	fprintf(stderr, "tcprio endpoint: cannot write the maps in %s: %s\n",
		a->pin_dir, strerror(errno));
	return CLI_EXIT_ERROR;
}

static int endpoint_del(const struct sync_map_ops *ops, const struct ep_args *a)
{
	struct tcprio_endpoint old;
	struct class_table t = { 0 }; /* not consulted by manual_del */
	struct endpoint_sync *s;
	int n;

	if (ops->lookup(ops->ctx, SYNC_MAP_ENDPOINTS, &a->ip, &old)) {
		fprintf(stderr, "tcprio endpoint: no endpoint %s in %s\n", a->ip_text,
			a->pin_dir);
		return CLI_EXIT_ERROR;
	}
	if (agent_owns(ops, a, &old))
		return CLI_EXIT_ERROR;
	if (old.source != TCPRIO_SRC_MANUAL)
		fprintf(stderr, "tcprio endpoint: note: %s was set by the agent; the agent "
			"may add it again on its next change of that pod\n", a->ip_text);
	s = endpoint_sync_new(ops, &t);
	n = s ? endpoint_sync_manual_del(s, &a->ip, &old) : -ENOMEM;
	endpoint_sync_free(s);
	if (n == -ENOENT)
		n = 0; /* removed meanwhile: nothing left to do */
	if (n < 0) {
		errno = -n;
		goto map_error;
	}
	printf("endpoint %s removed (%d port rules)\n", a->ip_text, n);
	return CLI_EXIT_OK;
map_error:
	fprintf(stderr, "tcprio endpoint: cannot change the maps in %s: %s\n",
		a->pin_dir, strerror(errno));
	return CLI_EXIT_ERROR;
}

int cmd_endpoint(int argc, char **argv)
{
	struct sync_map_ops ops;
	struct datapath dp;
	struct ep_args a;
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	rc = cli_open(&dp, a.pin_dir);
	if (rc)
		return rc;
	datapath_map_ops(&dp.maps, &ops);
	rc = !strcmp(a.op, "add") ? endpoint_add(&dp, &ops, &a) : endpoint_del(&ops, &a);
	datapath_close(&dp);
	return rc;
}
