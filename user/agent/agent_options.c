/* SPDX-License-Identifier: BSD-2-Clause */
/* agent_options.c - parse and check the options of `tcprio agent`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/agent_options.h"
#include "policy/class_table.h"
#include "dp/datapath.h"
#include "dp/link_watch.h"
#include "lib/log.h"
#include "agent/metrics.h"
#include "dp/uplink_auto.h"

static const char agent_usage[] =
"usage: tcprio agent [options]\n"
"  --kubeconfig FILE       kubeconfig (default: in-cluster service account)\n"
"  --node-name NAME        node whose pods to watch (default: $NODE_NAME)\n"
"  --uplink IFACE|auto     uplink interface(s), repeatable or comma-separated\n"
"                          (auto: the interfaces of the IPv4 and IPv6 default routes;\n"
"                          without it no uplink program runs: nothing sets skb->priority)\n"
"  --uplink-rate RATE      the uplink's speed: install an HTB tree on each uplink\n"
"                          (e.g. 50mbit; a single node without sites shapes\n"
"                          everything to it; with sites the LAN branch runs at it)\n"
"  --replace-qdisc         with an HTB tree: replace a root qdisc that is not\n"
"                          tcprio's or the kernel default (mq, fq, cake, ...)\n"
"  --gateway               shape a whole site's WAN traffic on its router: classify\n"
"                          by DSCP alone, no Kubernetes access, no pod interfaces;\n"
"                          needs --uplink (the WAN side) and --uplink-rate (the WAN rate);\n"
"                          refuses --kubeconfig and --node-name (not used)\n"
"  --pod-ifaces GLOB,...   host-side pod interfaces (default: veth*,cali*,lxc*,eni*,azv*,gke*)\n"
"  --config FILE           class table (YAML); reloaded when it changes\n"
"  --pin-dir DIR           bpffs folder for pins (default " TCPRIO_DEFAULT_PIN_DIR ")\n"
"  --attach-mode MODE      auto (default: tcx where the kernel has it), tcx, or tc\n"
"                          (clsact filter at pref 1)\n"
"  --recheck-interval S    check attachments, their order and the pods' map\n"
"                          entries every S s (default 10)\n"
"  --metrics-address A:P   /metrics, /healthz, /readyz (default " METRICS_DEFAULT_ADDRESS ", 'off')\n"
"  --probe-address A:P     /healthz, /readyz only, for the kubelet's probes: a listener\n"
"                          clients of the metrics port cannot starve (default\n"
"                          " PROBE_DEFAULT_ADDRESS ", 'off'; needs the metrics server)\n"
"  --no-kube               do not watch Kubernetes (entries via `tcprio endpoint`)\n"
"  --no-events             do not report bad annotations as Events on their pods\n"
"  --watch-timeout S       timeoutSeconds asked of each watch (default 300)\n"
"  --idle-timeout S        restart a watch silent for S seconds (default 90)\n"
"  --log-level LEVEL       warn, info (default) or debug\n";

static int add_uplink(struct agent_opts *o, const char *arg)
{
	char found[2][IF_NAMESIZE];
	int n;

	if (strcmp(arg, "auto") == 0) {
		n = uplink_auto_detect(found, 2);
		if (n < 0) {
			fprintf(stderr, "tcprio agent: --uplink auto: no default route to take the uplink from\n");
			return -ENOENT;
		}
		for (int i = 0; i < n; i++) {
			pr_info("uplink auto: %s (interface of a default route)", found[i]);
			if (add_uplink(o, found[i]) < 0)
				return -EINVAL;
		}
		return 0;
	}
	if (o->n_uplinks == AGENT_MAX_UPLINKS) {
		fprintf(stderr, "tcprio agent: --uplink: at most %d uplinks\n", AGENT_MAX_UPLINKS);
		return -EINVAL;
	}
	if (strlen(arg) == 0 || strlen(arg) >= IF_NAMESIZE) {
		fprintf(stderr, "tcprio agent: --uplink '%s': expected an interface name of 1..%d bytes or 'auto'\n",
			arg, IF_NAMESIZE - 1);
		return -EINVAL;
	}
	for (int i = 0; i < o->n_uplinks; i++)
		if (strcmp(o->uplinks[i], arg) == 0)
			return 0; /* named twice, e.g. by auto and by hand */
	snprintf(o->uplinks[o->n_uplinks++], IF_NAMESIZE, "%s", arg);
	return 0;
}

/* --uplink takes one name, "auto" or a comma-separated list of them. */
static int add_uplinks(struct agent_opts *o, char *arg)
{
	char *save = NULL;
	int err = 0;

	for (char *u = strtok_r(arg, ",", &save); u && !err; u = strtok_r(NULL, ",", &save))
		err = add_uplink(o, u);
	return err;
}

/* Split a comma-separated glob list in place (arg is argv memory). */
static int set_globs(struct agent_opts *o, char *arg)
{
	char *save = NULL;

	o->n_globs = 0;
	for (char *g = strtok_r(arg, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
		if (o->n_globs == AGENT_MAX_GLOBS) {
			fprintf(stderr, "tcprio agent: --pod-ifaces: at most %d globs\n", AGENT_MAX_GLOBS);
			return -EINVAL;
		}
		o->globs[o->n_globs++] = g;
	}
	if (o->n_globs == 0) {
		fprintf(stderr, "tcprio agent: --pod-ifaces: expected GLOB[,GLOB...], got an empty list\n");
		return -EINVAL;
	}
	return 0;
}

static int parse_seconds(const char *opt, const char *arg, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || v <= 0 || v > 86400) {
		fprintf(stderr, "tcprio agent: %s '%s': expected seconds 1..86400\n", opt, arg);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

static int set_log_level(const char *arg)
{
	if (strcmp(arg, "warn") == 0)
		log_set_level(LOG_LVL_WARN);
	else if (strcmp(arg, "info") == 0)
		log_set_level(LOG_LVL_INFO);
	else if (strcmp(arg, "debug") == 0)
		log_set_level(LOG_LVL_DEBUG);
	else {
		fprintf(stderr, "tcprio agent: --log-level '%s': expected warn, info or debug\n", arg);
		return -EINVAL;
	}
	return 0;
}

static void default_globs(struct agent_opts *o)
{
	static const char *defaults[] = LINK_WATCH_DEFAULT_GLOBS;

	for (int i = 0; i < LINK_WATCH_N_DEFAULT_GLOBS; i++)
		o->globs[i] = defaults[i];
	o->n_globs = LINK_WATCH_N_DEFAULT_GLOBS;
}

int agent_parse_options(int argc, char **argv, struct agent_opts *o)
{
	enum { OPT_KUBECONFIG = 256, OPT_NODE, OPT_UPLINK, OPT_RATE, OPT_GLOBS, OPT_CONFIG,
	       OPT_PIN, OPT_METRICS, OPT_PROBE, OPT_NOKUBE, OPT_NOEVENTS, OPT_WATCH_TO, OPT_IDLE_TO, OPT_LOG, OPT_HELP,
	       OPT_ATTACH_MODE, OPT_RECHECK, OPT_REPLACE_QDISC, OPT_GATEWAY };
	static const struct option longopts[] = {
		{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
		{ "node-name", required_argument, NULL, OPT_NODE },
		{ "uplink", required_argument, NULL, OPT_UPLINK },
		{ "uplink-rate", required_argument, NULL, OPT_RATE },
		{ "pod-ifaces", required_argument, NULL, OPT_GLOBS },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "pin-dir", required_argument, NULL, OPT_PIN },
		{ "metrics-address", required_argument, NULL, OPT_METRICS },
		{ "probe-address", required_argument, NULL, OPT_PROBE },
		{ "no-kube", no_argument, NULL, OPT_NOKUBE },
		{ "gateway", no_argument, NULL, OPT_GATEWAY },
		{ "no-events", no_argument, NULL, OPT_NOEVENTS },
		{ "watch-timeout", required_argument, NULL, OPT_WATCH_TO },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE_TO },
		{ "log-level", required_argument, NULL, OPT_LOG },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "attach-mode", required_argument, NULL, OPT_ATTACH_MODE },
		{ "recheck-interval", required_argument, NULL, OPT_RECHECK },
		{ "replace-qdisc", no_argument, NULL, OPT_REPLACE_QDISC },
		{ 0 }
	};
	int c, err = 0;
	bool node_flag = false; /* --node-name given (not just $NODE_NAME) */

	memset(o, 0, sizeof(*o));
	o->node_name = getenv("NODE_NAME");
	o->pin_dir = getenv("TCPRIO_PIN_DIR") ? getenv("TCPRIO_PIN_DIR") : TCPRIO_DEFAULT_PIN_DIR;
	o->metrics_address = METRICS_DEFAULT_ADDRESS;
	o->probe_address = PROBE_DEFAULT_ADDRESS;
	default_globs(o);
	o->recheck_s = 10;
	optind = 1;
	while (!err && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_KUBECONFIG: o->kubeconfig = optarg; break;
		case OPT_NODE: o->node_name = optarg; node_flag = true; break;
		case OPT_UPLINK: err = add_uplinks(o, optarg); break;
		case OPT_RATE:
			if (parse_rate_bps(optarg, &o->uplink_rate_bps) < 0 || o->uplink_rate_bps == 0) {
				fprintf(stderr, "tcprio agent: --uplink-rate '%s': expected a rate such as 50mbit, 1gbit or 800kbit\n",
					optarg);
				err = -EINVAL;
			}
			break;
		case OPT_GLOBS: err = set_globs(o, optarg); break;
		case OPT_CONFIG: o->config_path = optarg; break;
		case OPT_PIN: o->pin_dir = optarg; break;
		case OPT_METRICS: o->metrics_address = optarg; break;
		case OPT_PROBE: o->probe_address = optarg; break;
		case OPT_NOKUBE: o->no_kube = true; break;
		case OPT_GATEWAY: o->gateway = true; break;
		case OPT_NOEVENTS: o->no_events = true; break;
		case OPT_WATCH_TO: err = parse_seconds("--watch-timeout", optarg, &o->watch.watch_timeout_s); break;
		case OPT_IDLE_TO: err = parse_seconds("--idle-timeout", optarg, &o->watch.idle_timeout_s); break;
		case OPT_LOG: err = set_log_level(optarg); break;
		case OPT_HELP: fputs(agent_usage, stdout); exit(0);
		case OPT_ATTACH_MODE:
			if (datapath_parse_attach_mode(optarg, &o->attach_mode) < 0) {
				fprintf(stderr, "tcprio agent: --attach-mode '%s': expected auto, tcx or tc\n",
					optarg);
				err = -EINVAL;
			}
			break;
		case OPT_RECHECK: err = parse_seconds("--recheck-interval", optarg, &o->recheck_s); break;
		case OPT_REPLACE_QDISC: o->replace_qdisc = true; break;
		default: err = -EINVAL; break;
		}
	}
	if (!err && optind < argc) {
		fprintf(stderr, "tcprio agent: unexpected argument '%s'\n", argv[optind]);
		err = -EINVAL;
	}
	if (!err && o->gateway && (o->kubeconfig || node_flag)) {
		/* Silently unused before: an operator who gives them expects a
		 * node agent.  $NODE_NAME alone (a DaemonSet's env) is fine. */
		fprintf(stderr, "tcprio agent: --gateway runs without Kubernetes (no pods, no "
			"Nodes): %s%s%s not used; remove %s, or drop --gateway for a node agent\n",
			o->kubeconfig ? "--kubeconfig" : "", o->kubeconfig && node_flag ? " and " : "",
			node_flag ? "--node-name" : "", o->kubeconfig && node_flag ? "them" : "it");
		err = -EINVAL;
	}
	if (!err && o->gateway) {
		/* A router: the pods' nodes marked the DSCP already. */
		o->no_kube = true;
		o->n_globs = 0;
		if (!o->n_uplinks || !o->uplink_rate_bps) {
			fprintf(stderr, "tcprio agent: --gateway needs --uplink (the WAN side) and "
				"--uplink-rate (the site's WAN rate)\n");
			err = -EINVAL;
		}
	}
	if (!err && !o->no_kube && (!o->node_name || !*o->node_name)) {
		fprintf(stderr, "tcprio agent: no node name: set --node-name or the NODE_NAME environment variable\n");
		err = -EINVAL;
	}
	if (!err && o->uplink_rate_bps && o->n_uplinks == 0) {
		fprintf(stderr, "tcprio agent: --uplink-rate needs at least one --uplink\n");
		err = -EINVAL;
	}
	if (err) {
		fputs(agent_usage, stderr);
		return 2;
	}
	return 0;
}

