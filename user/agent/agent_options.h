/* SPDX-License-Identifier: BSD-2-Clause */
/* agent_options.h - the command line of `tcprio agent`. */
#ifndef TCPRIO_AGENT_OPTIONS_H
#define TCPRIO_AGENT_OPTIONS_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include "kube/kube_watch.h"
#include "kube/kube_client.h"
#include "dp/datapath.h"

#define AGENT_MAX_UPLINKS 8
#define AGENT_MAX_GLOBS   32

/* Parsed options; strings point into argv or the environment. */
struct agent_opts {
	const char *kubeconfig;      /* NULL: in-cluster */
	const char *node_name;       /* default $NODE_NAME */
	char uplinks[AGENT_MAX_UPLINKS][IF_NAMESIZE];
	int n_uplinks;
	uint64_t uplink_rate_bps;    /* 0: leave the uplink qdisc alone */
	const char *globs[AGENT_MAX_GLOBS];
	int n_globs;
	const char *config_path;     /* NULL: built-in class table */
	const char *pin_dir;
	const char *metrics_address; /* "off" disables */
	const char *probe_address;   /* /healthz, /readyz only; "off" disables */
	bool no_kube;                /* classes and attach only (manual entries) */
	bool gateway;                /* --gateway: shape a whole site's WAN traffic on
					a router by DSCP alone (implies no_kube, no
					pod interfaces, trustDscp) */
	bool no_events;              /* no Kubernetes Events for bad annotations */
	enum datapath_attach_mode attach_mode; /* --attach-mode (default auto) */
	int recheck_s;               /* order/attachment re-check period, s */
	bool replace_qdisc;          /* --uplink-rate may replace a foreign root qdisc */
	struct kube_watch_opts watch;
};

/* Fill o from argv (argv[0] is "agent") and the NODE_NAME and
 * TCPRIO_PIN_DIR environment variables.  Returns 0, or 2 (usage) after
 * printing what was wrong and the usage; --help prints it and exits 0. */
int agent_parse_options(int argc, char **argv, struct agent_opts *o);

#endif
