/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_detach.c - `tcprio detach`: remove the tc filters that run the
 * programs pinned in the pin dir (or older ones using its pinned maps) (with --all: every tcprio filter of this
 * network namespace), the HTB root (handle 1:) of the interfaces where such
 * an uplink filter was removed (unless --keep-qdisc), and the pins.
 * Filters of another pin dir (another agent in the same namespace) stay.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/cli.h"
#include "dp/datapath.h"
#include "lib/log.h"
#include "dp/uplink_qdisc.h"

const char cli_detach_usage[] =
	"usage: tcprio detach [--all] [--keep-qdisc] [--force] [--pin-dir DIR]\n"
	"  remove the tc filters running the programs pinned in DIR (default\n"
	"  $TCPRIO_PIN_DIR or " TCPRIO_DEFAULT_PIN_DIR ") or older ones using its\n"
	"  pinned maps, the HTB tree on the uplinks\n"
	"  where such a filter was removed (unless --keep-qdisc), and the pins in DIR.\n"
	"  tcprio filters running another pin dir's programs (another agent) stay.\n"
	"  --all   remove every tcprio attachment of this network namespace (tcx links\n"
	"          of tcprio's programs; tc filters with handle 0x7c1 at pref 1, or\n"
	"          0x7c1 from older versions), whatever program it runs (for when\n"
	"          the pins are gone)\n"
	"  --force detach although an agent runs with DIR (it holds the folder's\n"
	"          lock and would put its filters back, but not the HTB tree)\n"
	"  The clsact qdisc stays on each interface (other programs may use it;\n"
	"  `tc qdisc del dev IFACE clsact` removes it).\n";

/* State of the removed() callback of datapath_detach_pinned. */
struct qdisc_ctx {
	bool keep_qdisc;
	int n_removed; /* HTB trees removed */
	int n_failed;
};

/* An uplink filter was removed from ifindex: remove its HTB 1: tree too. */
static void on_removed(int ifindex, enum tcprio_hook hook, void *ctx)
{
	struct qdisc_ctx *q = ctx;

	if (hook != TCPRIO_HOOK_UPLINK || q->keep_qdisc)
		return;
	int ret = uplink_qdisc_remove(ifindex);

	if (ret < 0)
		q->n_failed++;
	else if (ret > 0)
		q->n_removed++;
}

/* The one summary line of a detach. */
static void print_summary(const char *pin_dir, bool had_pins,
			  const struct datapath_detach_opts *o, const struct qdisc_ctx *q)
{
	if (!o->any_program && o->n_pinned_progs == 0 && o->n_removed == 0) {
		if (had_pins)
			printf("no tcprio program pinned at %s, so nothing of it is attached; "
			       "removed its pins", pin_dir);
		else
			printf("nothing pinned at %s, so nothing of it is attached", pin_dir);
	} else {
		printf("tcprio detached: removed %d filter(s)", o->n_removed);
		if (q->n_removed)
			printf(", the HTB tree on %d uplink(s)", q->n_removed);
		if (had_pins)
			printf(" and the pins at %s", pin_dir);
		if (had_pins && access(pin_dir, F_OK) == 0)
			printf(" (the folder stays: other files in it)");
	}
	if (o->n_foreign)
		printf("; %d tcprio filter(s) of another pin dir left in place "
		       "(`tcprio detach --all` removes them)", o->n_foreign);
	printf("\n");
}

int cmd_detach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "keep-qdisc", no_argument, NULL, 'k' },
		{ "force", no_argument, NULL, 'f' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct datapath_detach_opts o = { .removed = on_removed };
	struct qdisc_ctx q = {};
	const char *pin_dir = NULL;
	bool had_pins, force = false;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "akfP:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': o.any_program = true; break;
		case 'k': q.keep_qdisc = true; break;
		case 'f': force = true; break;
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
	if (!force && cli_agent_holds(pin_dir)) {
		fprintf(stderr, "tcprio detach: an agent is running with pin folder %s (it holds "
			"the folder's lock): it would put its filters back but not the HTB tree. "
			"Stop the agent first (SIGTERM; on Kubernetes delete the DaemonSet), or "
			"--force\n", pin_dir);
		return CLI_EXIT_ERROR;
	}
	o.ctx = &q;
	had_pins = access(pin_dir, F_OK) == 0;
	err = datapath_detach_pinned(pin_dir, &o);
	if (o.n_pinned_progs >= 0)
		print_summary(pin_dir, had_pins, &o, &q);
	if (err || q.n_failed) {
		fprintf(stderr, "tcprio detach: some steps failed (see the messages above)\n");
		return CLI_EXIT_ERROR;
	}
	return CLI_EXIT_OK;
}
