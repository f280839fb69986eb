/* SPDX-License-Identifier: BSD-2-Clause */
/* test_agent_options.c - agent_parse_options() with --gateway: refused with
 * --kubeconfig or --node-name (a gateway has no Kubernetes access, so they
 * were silently unused), naming the option; accepted alone and with the
 * NODE_NAME environment variable (a DaemonSet sets it) (cmocka;
 * unprivileged). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent/agent_options.h"

static char errbuf[8192];

/* Parse argv (NULL-terminated, copied: getopt and strtok write into it);
 * returns agent_parse_options's result, what it printed on stderr in errbuf. */
static int parse(struct agent_opts *o, const char *const *args)
{
	char *argv[32], copy[32][128];
	int argc = 0, saved = dup(2), rc;
	FILE *f = tmpfile();
	size_t n;

	assert_non_null(f);
	for (; args[argc]; argc++) {
		snprintf(copy[argc], sizeof(copy[argc]), "%s", args[argc]);
		argv[argc] = copy[argc];
	}
	argv[argc] = NULL;
	fflush(stderr);
	dup2(fileno(f), 2);
	rc = agent_parse_options(argc, argv, o);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(errbuf, 1, sizeof(errbuf) - 1, f);
	errbuf[n] = '\0';
	fclose(f);
	return rc;
}

#define GW "agent", "--gateway", "--uplink", "tpgw0", "--uplink-rate", "20mbit"

static void test_gateway_alone(void **state)
{
	static const char *const args[] = { GW, NULL };
	struct agent_opts o;

	unsetenv("NODE_NAME");
	assert_int_equal(parse(&o, args), 0);
	assert_true(o.gateway && o.no_kube);
}

static void test_gateway_node_name_env(void **state)
{
	static const char *const args[] = { GW, NULL };
	struct agent_opts o;

	setenv("NODE_NAME", "node-7", 1);
	assert_int_equal(parse(&o, args), 0);
	unsetenv("NODE_NAME");
}

static void test_gateway_kubeconfig(void **state)
{
	static const char *const args[] = { GW, "--kubeconfig", "/etc/kube.conf", NULL };
	struct agent_opts o;

	assert_int_equal(parse(&o, args), 2);
	if (!strstr(errbuf, "tcprio agent: --gateway runs without Kubernetes (no pods, no "
		    "Nodes): --kubeconfig not used; remove it"))
		fail_msg("stderr: %s", errbuf);
}

static void test_gateway_node_name(void **state)
{
	static const char *const args[] = { GW, "--node-name", "node-7", NULL };
	static const char *const both[] = { "agent", "--node-name", "n", "--kubeconfig", "k",
					    "--gateway", "--uplink", "tpgw0", "--uplink-rate",
					    "20mbit", NULL };
	struct agent_opts o;

	assert_int_equal(parse(&o, args), 2);
	if (!strstr(errbuf, "--node-name not used; remove it"))
		fail_msg("stderr: %s", errbuf);
	assert_int_equal(parse(&o, both), 2);
	if (!strstr(errbuf, "--kubeconfig and --node-name not used; remove them"))
		fail_msg("stderr: %s", errbuf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gateway_alone),
		cmocka_unit_test(test_gateway_node_name_env),
		cmocka_unit_test(test_gateway_kubeconfig),
		cmocka_unit_test(test_gateway_node_name),
	};

	return cmocka_run_group_tests_name("agent_options", tests, NULL, NULL);
}
