/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tap.h - minimal TAP output for the C tests that do not use cmocka
 * (tests/node/test_*.c, tests/kube/test_kube_client.c):
 * CHECK(cond, fmt...) prints "ok N - name" or "not ok N - name" plus a
 * "# ..." line naming the expression, and returns the condition so a test
 * can stop early.  A suite declares its plan up front with tap_plan(n) (or
 * tap_skip_all(why) when the machine lacks what it needs) and ends with
 * `return tap_done();`; tests/run_tests.sh fails a suite whose number of
 * results differs from its plan.  sh() runs a shell command (in the test's netns) and
 * returns its exit status; sh_out() captures its stdout.
 */
#ifndef TCPRIO_TESTS_TAP_H
#define TCPRIO_TESTS_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static int tap_n, tap_failed, tap_planned = -1;

/* Declare the number of results this suite prints, before the first one. */
__attribute__((unused))
static void tap_plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

/* Skip the whole suite (nothing printed yet): the machine lacks `why`. */
__attribute__((unused))
static int tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	fflush(stdout);
	return 0;
}

__attribute__((format(printf, 4, 5)))
__attribute__((unused))
static bool tap_check(bool ok, const char *expr, int line, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok) {
		printf("#   failed: %s (line %d)\n", expr, line);
		tap_failed++;
	}
	fflush(stdout);
	return ok;
}
#define CHECK(cond, ...) tap_check(!!(cond), #cond, __LINE__, __VA_ARGS__)

__attribute__((unused))
static void tap_skip(const char *name, const char *why)
{
	printf("ok %d - %s # SKIP %s\n", ++tap_n, name, why);
	fflush(stdout);
}

__attribute__((format(printf, 1, 2), unused))
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Run cmd, put up to len-1 bytes of its stdout in buf.  Returns exit status. */
__attribute__((format(printf, 3, 4), unused))
static int sh_out(char *buf, size_t len, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	size_t n = 0;
	FILE *f;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	buf[0] = '\0';
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (n + 1 < len) {
		size_t r = fread(buf + n, 1, len - 1 - n, f);

		if (!r)
			break;
		n += r;
	}
	buf[n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* End of the suite: its exit code; 1 when a check failed or the number of
 * results is not the plan's. */
__attribute__((unused))
static int tap_done(void)
{
	if (tap_planned >= 0 && tap_n != tap_planned) {
		printf("# planned %d results, printed %d\n", tap_planned, tap_n);
		return 1;
	}
	return tap_failed ? 1 : 0;
}

#endif
