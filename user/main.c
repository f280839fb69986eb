/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c - subcommand dispatcher.  Minimal version (status, endpoint,
 * detach) written by the datapath/CLI helper; the lead extends it with
 * `agent` and global options.
 */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: tcprio COMMAND [ARGS]\n\n%s\n%s\n%s",
		cli_status_usage, cli_endpoint_usage, cli_detach_usage);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	log_route_libbpf();
	if (!cmd || !strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(cmd ? stdout : stderr);
		return cmd ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	if (!strcmp(cmd, "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(cmd, "endpoint"))
		return cmd_endpoint(argc - 1, argv + 1);
	if (!strcmp(cmd, "detach"))
		return cmd_detach(argc - 1, argv + 1);
	fprintf(stderr, "tcprio: unknown command '%s': expected status, endpoint or detach\n", cmd);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
