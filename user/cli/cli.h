/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli.h - the operator subcommands that read or change a running datapath
 * through its pins (default /sys/fs/bpf/tcprio; --pin-dir DIR or
 * $TCPRIO_PIN_DIR).
 *
 * Each takes the arguments after the program name: argv[0] is the
 * subcommand ("status", "endpoint", "detach"), so getopt sees its options.
 * Exit codes (the return value): CLI_EXIT_OK, CLI_EXIT_ERROR (runtime:
 * nothing pinned, map errors, unknown endpoint), CLI_EXIT_USAGE (bad
 * arguments: the message names the argument and what was expected).
 *
 *   tcprio status [--json] [--pin-dir DIR]
 *   tcprio endpoint add IP --class NAME [--ports "5432/tcp=critical,..."] [--pin-dir DIR]
 *   tcprio endpoint del IP [--pin-dir DIR]
 *   tcprio detach [--all] [--keep-qdisc] [--pin-dir DIR]
 *   tcprio explain NAMESPACE/POD|IP [--json] [--pin-dir DIR]
 */
#ifndef TCPRIO_CLI_H
#define TCPRIO_CLI_H

#include <stdbool.h>

#define CLI_EXIT_OK    0
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_DISAGREE 3  /* explain: the agent and the pinned maps differ */

/* Pod name stored in tcprio_pods for `endpoint add` entries: "manual/<IP>".
 * Their pod_id is pod_id_from_uid("manual:<IP>"). */
#define CLI_MANUAL_NS    "manual"
#define CLI_MANUAL_UID_PREFIX "manual:"

int cmd_status(int argc, char **argv);
int cmd_endpoint(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_explain(int argc, char **argv);

/* Usage text of the three subcommands (for main's help). */
extern const char cli_status_usage[];
extern const char cli_endpoint_usage[];
extern const char cli_detach_usage[];
extern const char cli_explain_usage[];

/* Shared by the cli_*.c files. */
struct class_table;
struct datapath;
/* Open the pins at dir; on failure print the operator message and return
 * CLI_EXIT_ERROR, else 0. */
int cli_open(struct datapath *dp, const char *dir);
/* Whether a running agent holds pin_dir's lock (the agent's flock(2) on the
 * folder, held for its life): taking it without waiting fails. */
bool cli_agent_holds(const char *pin_dir);
/* Read tcprio_classes into t (t->classes[id] for ids 0..n-1; empty names
 * for unused slots).  Returns 0 or -errno. */
int cli_read_classes(int classes_fd, struct class_table *t);
/* cli_host.c: host rules and host-network pods for status (a JSON object
 * {"rules": [...], "pods": [...]}), and their human-readable table. */
struct json_t;
struct json_t *cli_gather_host(const struct datapath *dp, const struct class_table *t);
void cli_print_host(struct json_t *host);
/* "critical, high, normal, bulk" (valid classes only) into buf. */
void cli_class_list(const struct class_table *t, char *buf, size_t len);
/*
 * cli_site.c: the sentence status and explain both print about this node's
 * site and WAN shaping, from the agent's site record s (tcprio_site; rates
 * in bit/s, 0 = none), into buf (truncated to len, always terminated):
 *   "site NAME[ (no site label: a site of its own)]: " then one of
 *     "WAN share S bit/s of the site's B (r of n nodes Ready), link L bit/s"
 *     "WAN not shaped on this node: no --uplink (the site's WAN budget is B ...)"
 *     "no site WAN budget (...): the WAN branch is the whole link, L bit/s"
 *     "WAN not shaped (no site WAN budget ...)"
 *   or "gateway mode: all traffic of the uplink is the site's WAN, shaped
 *   at R bit/s (--uplink-rate)".  Never fails.
 */
struct tcprio_site;
void cli_site_summary(const struct tcprio_site *s, char *buf, size_t len);

#endif
