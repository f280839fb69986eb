/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c - the tcprio command: one binary, one subcommand per job.
 * Exit codes: 0 ok, 1 runtime error, 2 usage.
 */
#include <stdio.h>
#include <string.h>
#include "agent/agent.h"
#include "policy/class_table.h"
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
"  config check FILE     validate a class-table file\n"
"  version               print the version\n"
"\n"
"`tcprio COMMAND --help` describes each command.\n";

/* `tcprio config check FILE`: exit 0 and a summary if FILE is a valid class
 * table, else 1 with the parser's error naming the field. */
static int cmd_config(int argc, char **argv)
{
	struct class_table t = { 0 };
	char err[512] = "";

	static const char config_usage[] =
		"usage: tcprio config check FILE\n"
		"  Validate a class-table file with the agent's own parser.\n";

	if (argc >= 2 && (strcmp(argv[argc - 1], "--help") == 0 || strcmp(argv[argc - 1], "-h") == 0)) {
		fputs(config_usage, stdout);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "check") != 0) {
		fputs(config_usage, stderr);
		return 2;
	}
	if (class_table_load_file(argv[2], &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "tcprio: %s: %s\n", argv[2], err[0] ? err : "unreadable");
		return 1;
	}
	printf("%s: valid: %d class%s, default %s, %d label rule%s\n", argv[2], t.n_classes,
	       t.n_classes == 1 ? "" : "es", t.classes[t.default_class].name, t.n_rules,
	       t.n_rules == 1 ? "" : "s");
	if (t.n_sites || t.has_default_site || t.n_local_cidrs || t.n_remote_cidrs) {
		printf("%s: sites by label %s: %d listed, ", argv[2], t.site_label, t.n_sites);
		if (t.has_default_site)
			printf("other sites %llu bit/s each", (unsigned long long)t.default_site.wan_rate_bps);
		else
			printf("other sites not shaped");
		printf("; %d local, %d remote CIDRs\n", t.n_local_cidrs, t.n_remote_cidrs);
	}
	class_table_free(&t);
	return 0;
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
