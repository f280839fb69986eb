/* SPDX-License-Identifier: BSD-2-Clause */
/* test_log.c - log lines are one line each: control bytes in a message (a
 * quoted annotation value with "\n" or ESC) are written as visible escapes
 * (cmocka; stderr captured through a pipe). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "lib/log.h"

/* Run one pr_warn with fmt/arg and return what reached stderr (static
 * buffer, NUL-terminated). */
static const char *capture(const char *fmt, const char *arg)
{
	static char out[16384];
	int pfd[2], saved;
	ssize_t n, got = 0;

	assert_int_equal(pipe(pfd), 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(pfd[1], STDERR_FILENO) >= 0);
	close(pfd[1]);
	pr_warn(fmt, arg);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	while ((n = read(pfd[0], out + got, sizeof(out) - 1 - (size_t)got)) > 0)
		got += n;
	close(pfd[0]);
	out[got] = '\0';
	return out;
}

/* The message part after "TIMESTAMP warn ". */
static const char *message(const char *line)
{
	const char *m = strstr(line, " warn ");

	assert_non_null(m);
	return m + strlen(" warn ");
}

static void test_plain_message_unchanged(void **state)
{
	const char *line = capture("pod %s: ok", "default/web");

	(void)state;
	assert_string_equal(message(line), "pod default/web: ok\n");
}

static void test_newline_cannot_forge_a_line(void **state)
{
	const char *line = capture("annotation \"%s\"",
				   "x\n2024-01-01T00:00:00.000Z warn forged");

	(void)state;
	/* exactly one newline, at the end */
	assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);
	assert_string_equal(message(line),
			    "annotation \"x\\n2024-01-01T00:00:00.000Z warn forged\"\n");
}

static void test_escape_and_del_are_hex(void **state)
{
	const char *line = capture("v=%s", "\x1b[31mred\x7f\t\r\x01");

	(void)state;
	assert_string_equal(message(line), "v=\\x1b[31mred\\x7f\\x09\\x0d\\x01\n");
}

static void test_utf8_kept(void **state)
{
	const char *line = capture("v=%s", "caf\xc3\xa9");

	(void)state;
	assert_string_equal(message(line), "v=caf\xc3\xa9\n");
}

static void test_long_message_not_truncated(void **state)
{
	char *big = malloc(5001);
	const char *line, *m;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', 4999);
	big[4999] = '\n';
	big[5000] = '\0';
	line = capture("%s", big);
	m = message(line);
	assert_int_equal(strlen(m), 4999 + 2 + 1);
	assert_string_equal(m + 4999, "\\n\n");
	free(big);
}

static void test_level_filter(void **state)
{
	int pfd[2], saved, fl;
	char buf[64];

	(void)state;
	assert_int_equal(pipe(pfd), 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(pfd[1], STDERR_FILENO);
	close(pfd[1]);
	log_set_level(LOG_LVL_INFO);
	pr_debug("hidden %s", "\n");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	fl = fcntl(pfd[0], F_GETFL);
	fcntl(pfd[0], F_SETFL, fl | O_NONBLOCK);
	assert_true(read(pfd[0], buf, sizeof(buf)) <= 0);
	close(pfd[0]);
}

/* Each line reaches stderr in one write(2): on a SOCK_SEQPACKET socket
 * every write is one record, so the first record must be the whole first
 * line (putting characters one by one made it "2", the first byte). */
static void test_one_write_per_line(void **state)
{
	char rec[8192];
	int sv[2], saved;
	ssize_t n;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(dup2(sv[1], STDERR_FILENO) >= 0);
	pr_warn("first line %s", "with\ttab");
	pr_warn("second %d", 2);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(sv[1]);
	n = recv(sv[0], rec, sizeof(rec) - 1, 0);
	assert_true(n > 0);
	rec[n] = '\0';
	assert_string_equal(message(rec), "first line with\\x09tab\n");
	n = recv(sv[0], rec, sizeof(rec) - 1, 0);
	assert_true(n > 0);
	rec[n] = '\0';
	assert_string_equal(message(rec), "second 2\n");
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_message_unchanged),
		cmocka_unit_test(test_newline_cannot_forge_a_line),
		cmocka_unit_test(test_escape_and_del_are_hex),
		cmocka_unit_test(test_utf8_kept),
		cmocka_unit_test(test_long_message_not_truncated),
		cmocka_unit_test(test_level_filter),
		cmocka_unit_test(test_one_write_per_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
