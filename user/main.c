/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c - the tcprio command: one binary, one subcommand per job.
 * Exit codes: 0 ok, 1 runtime error, 2 usage.
 */
#include <stdio.h>
#include <string.h>
#include "agent/agent.h"
#include "policy/class_table.h"
#include "policy/class_rates.h"
#include "dp/uplink_qdisc.h"
#include "cli/cli.h"
#include "dp/datapath.h"
#include "lib/log.h"

#define TCPRIO_VERSION "0.1.0"

static const char usage[] =
"usage: tcprio COMMAND [options]\n"
"\n"
"commands:\n"
"  agent                 load, pin and attach the datapath; sync pods from Kubernetes\n"
"  status [--json]       attached interfaces, classes, endpoints and counters\n"
"  endpoint add|del IP   set a classification entry by hand\n"
"  detach [--all]        remove the filters and pins of a pin folder (--all: every tcprio filter)\n"
"  explain NS/POD|IP     the class a pod gets and why, checked against the maps (root)\n"
"  config check FILE [--uplink-rate RATE]  validate a class-table file\n"
"  version               print the version\n"
"\n"
"`tcprio COMMAND --help` describes each command.\n";

/* `tcprio config check FILE [--uplink-rate RATE]`: exit 0 and a summary if
 * FILE is a valid class table (and, with a rate, fits an HTB tree of that
 * uplink rate as the agent's --uplink-rate would check it), else 1 with
 * the error naming the field; 2 for bad usage.  Settings that do nothing as
 * written (class_table_warnings) are warned about on stderr; exit 0. */
static int cmd_config(int argc, char **argv)
{
	struct class_table t = { 0 };
	const char *file = NULL;
	uint64_t rate = 0;
	char err[512] = "";
	int ret = 0;

	static const char config_usage[] =
		"usage: tcprio config check FILE [--uplink-rate RATE]\n"
		"  Validate a class-table file with the agent's own parser; with\n"
		"  --uplink-rate (e.g. 50mbit), also the checks the agent makes with that\n"
		"  rate: classes fit the HTB tree, no class rate or ceiling above it, the\n"
		"  class rates add up to at most it.\n";

	if (argc >= 2 && (strcmp(argv[argc - 1], "--help") == 0 || strcmp(argv[argc - 1], "-h") == 0)) {
		fputs(config_usage, stdout);
		return 0;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--uplink-rate") == 0 && i + 1 < argc) {
			if (parse_rate_bps(argv[++i], &rate) < 0 || rate == 0) {
				fprintf(stderr, "tcprio config check: --uplink-rate '%s': expected a "
					"rate such as 50mbit, 1gbit or 800kbit\n", argv[i]);
				return 2;
			}
		} else if (!file && argv[i][0] != '-') {
			file = argv[i];
		} else {
			file = NULL;
			break;
		}
	}
	if (argc < 3 || strcmp(argv[1], "check") != 0 || !file) {
		fputs(config_usage, stderr);
		return 2;
	}
	if (class_table_load_file(file, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "tcprio: %s: %s\n", file, err[0] ? err : "unreadable");
		return 1;
	}
	if (rate && class_table_check_rates(&t, rate, err, sizeof(err)) < 0) {
		fprintf(stderr, "tcprio: %s: with --uplink-rate %llu bit/s: %s\n", file,
			(unsigned long long)rate, err);
		ret = 1;
		goto cleanup;
	}
	if (rate && uplink_qdisc_check(&t) < 0) { /* it printed why */
		fprintf(stderr, "tcprio: %s: the classes do not fit the uplink's HTB tree\n", file);
		ret = 1;
		goto cleanup;
	}
	if (class_table_warnings(&t, err, sizeof(err)))
		fprintf(stderr, "tcprio: %s: warning: %s\n", file, err);
	printf("%s: valid: %d class%s, default %s, %d label rule%s\n", file, t.n_classes,
	       t.n_classes == 1 ? "" : "es", t.classes[t.default_class].name, t.n_rules,
	       t.n_rules == 1 ? "" : "s");
	if (rate)
		printf("%s: fits an uplink of %llu bit/s\n", file, (unsigned long long)rate);
	if (t.n_sites || t.has_default_site || t.n_local_cidrs || t.n_remote_cidrs) {
		printf("%s: sites by label %s: %d listed, ", file, t.site_label, t.n_sites);
		if (t.has_default_site)
			printf("other sites %llu bit/s each", (unsigned long long)t.default_site.wan_rate_bps);
		else
			printf("other sites not shaped");
		printf("; %d local, %d remote CIDRs\n", t.n_local_cidrs, t.n_remote_cidrs);
	}
cleanup:
	class_table_free(&t);
	return ret;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	log_route_libbpf(); /* libbpf's messages only at debug level */
	if (strcmp(cmd, "agent") == 0)
		return cmd_agent(argc - 1, argv + 1);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (strcmp(cmd, "endpoint") == 0)
		return cmd_endpoint(argc - 1, argv + 1);
	if (strcmp(cmd, "detach") == 0)
		return cmd_detach(argc - 1, argv + 1);
	if (strcmp(cmd, "config") == 0)
		return cmd_config(argc - 1, argv + 1);
	if (strcmp(cmd, "explain") == 0)
		return cmd_explain(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("tcprio %s\n", TCPRIO_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (*cmd)
		fprintf(stderr, "tcprio: unknown command '%s'\n", cmd);
	fputs(usage, stderr);
	return 2;
}
