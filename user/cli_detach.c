/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_detach.c - `tcprio detach`: remove every tcprio filter of this
 * network namespace, the HTB root (handle 1:) of the interfaces where the
 * uplink program was attached (unless --keep-qdisc), and the pins.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"
#include "datapath.h"
#include "log.h"
#include "uplink_qdisc.h"

const char cli_detach_usage[] =
	"usage: tcprio detach [--keep-qdisc] [--pin-dir DIR]\n"
	"  remove tcprio's tc filters from every interface, the HTB tree it\n"
	"  installed on uplinks (unless --keep-qdisc) and its pins in DIR\n"
	"  (default $TCPRIO_PIN_DIR or " TCPRIO_DEFAULT_PIN_DIR ")\n";

/* Remove HTB 1: from the interfaces whose egress has our uplink filter. */
static int remove_uplink_qdiscs(void)
{
	struct if_nameindex *ifs = if_nameindex();
	int err = 0;

	for (struct if_nameindex *i = ifs; i && i->if_index; i++) {
		if (datapath_is_attached(i->if_index, TCPRIO_HOOK_UPLINK) != 1)
			continue;
		if (uplink_qdisc_remove(i->if_index))
			err = -1;
	}
	if (ifs)
		if_freenameindex(ifs);
	return err;
}

int cmd_detach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keep-qdisc", no_argument, NULL, 'k' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *pin_dir = NULL;
	bool keep_qdisc = false;
	struct stat st;
	int c, rc = CLI_EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "kP:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keep_qdisc = true; break;
		case 'P': pin_dir = optarg; break;
		case 'h': fputs(cli_detach_usage, stdout); return CLI_EXIT_OK;
		default: fputs(cli_detach_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tcprio detach: unexpected argument '%s'\n%s", argv[optind],
			cli_detach_usage);
		return CLI_EXIT_USAGE;
	}
	pin_dir = datapath_pin_dir(pin_dir);
	if (stat(pin_dir, &st) && errno == ENOENT)
		printf("nothing pinned at %s; removing tcprio filters only\n", pin_dir);
	if (!keep_qdisc && remove_uplink_qdiscs())
		rc = CLI_EXIT_ERROR;
	if (datapath_detach_all(pin_dir))
		rc = CLI_EXIT_ERROR;
	if (rc == CLI_EXIT_OK)
		printf("tcprio detached; pins at %s removed\n", pin_dir);
	else
		fprintf(stderr, "tcprio detach: some steps failed (see the messages above)\n");
	return rc;
}
