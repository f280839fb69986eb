/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_harness_skip.c - harness.h's "this kernel's test run rejects ctx
 * ingress_ifindex" SKIP belongs to the check whose own test run was refused,
 * never to a later check.  A child process plays a suite (its TAP goes to a
 * pipe): a case whose run was refused and that failed (SKIP), one whose run
 * was refused but that passed (ok), then a failing case without a refused
 * run (must stay "not ok": the global flag this replaced made it a SKIP),
 * and th_tap_check outside a case.  The refusal is simulated by setting
 * th_case_unsupported as th_run does when the kernel refuses the field
 * (Linux < 5.11; this kernel accepts it, so it cannot be provoked here; the
 * kernel matrix runs the real thing).  No root, no BPF.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "datapath/harness.h"

/* The child's suite, in order. */
static void play(void)
{
	th_case_begin("refused and failed");
	th_case_unsupported = true;         /* th_run: ctx_unsupported */
	ASSERT_TRUE(false, "result");
	th_case_end();
	th_case_begin("refused but passed");
	th_case_unsupported = true;
	ASSERT_TRUE(true, "result");
	th_case_end();
	th_case_begin("later failure, no refused run");
	ASSERT_TRUE(false, "result");
	th_case_end();
	th_tap_check(false, true, "outside a case, refused");
	th_tap_check(false, false, "outside a case, plain failure");
	fflush(stdout);
}

/* Run play() in a child; its stdout into out (NUL-terminated).  Returns 0
 * or -1. */
static int capture(char *out, size_t len)
{
	int fds[2], status;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(fds))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		play();
		_exit(0);
	}
	close(fds[1]);
	while (n < len - 1 && (r = read(fds[0], out + n, len - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fds[0]);
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? 0 : -1;
}

/* Whether out has exactly the line want. */
static bool has_line(const char *out, const char *want)
{
	size_t n = strlen(want);

	for (const char *p = out; (p = strstr(p, want)); p += n)
		if ((p == out || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

int main(void)
{
	static const struct { const char *line, *name; } want[] = {
		{ "ok 1 - refused and failed # SKIP " TH_CTX_UNSUPPORTED_WHY,
		  "a failed case whose own run was refused is a SKIP with the reason" },
		{ "ok 2 - refused but passed", "a refused run in a passing case: ok, no SKIP" },
		{ "not ok 3 - later failure, no refused run",
		  "a later failing case without a refused run stays a failure" },
		{ "ok 4 - outside a case, refused # SKIP " TH_CTX_UNSUPPORTED_WHY,
		  "th_tap_check(false, true): a SKIP with the reason" },
		{ "not ok 5 - outside a case, plain failure", "th_tap_check(false, false): a failure" },
	};
	char out[8192];
	int rc = capture(out, sizeof(out)), bad = 0;

	th_plan((int)(sizeof(want) / sizeof(want[0])));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!th_tap(rc == 0 && has_line(out, want[i].line), want[i].name)) {
			th_diag("expected the line: %s", want[i].line);
			bad++;
		}
	}
	if (bad) {
		th_diag("the child (exit %s) printed:", rc ? "abnormal" : "0");
		for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
			th_diag("  %s", l);
	}
	return th_done();
}
