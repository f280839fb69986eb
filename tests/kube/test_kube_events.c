/* SPDX-License-Identifier: BSD-2-Clause */
/* test_kube_events.c - the Event reporter's queue (cmocka): reporting never
 * blocks, a full queue drops and counts, duplicates and bad arguments are
 * refused (a report of a change is never a duplicate), and stop aborts a POST that hangs.  The "API server" is a
 * loopback socket that listens but never accepts: the kernel completes the
 * TCP handshake and the TLS handshake then waits forever.  Creating real
 * Events is tested against the test API server in
 * tests/agent/test_agent_events.py. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "kube/kube_events.h"

struct blackhole {
	int fd;
	struct kube_config cfg;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int bh_setup(void **state)
{
	static struct blackhole bh;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	memset(&bh.cfg, 0, sizeof(bh.cfg));
	bh.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (bh.fd < 0 || bind(bh.fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(bh.fd, 16) || getsockname(bh.fd, (struct sockaddr *)&a, &len))
		return -1;
	snprintf(bh.cfg.server, sizeof(bh.cfg.server), "https://127.0.0.1:%u", ntohs(a.sin_port));
	bh.cfg.token = "t0ken";
	*state = &bh;
	return 0;
}

static int bh_teardown(void **state)
{
	struct blackhole *bh = *state;

	close(bh->fd);
	return 0;
}

static void test_start_args(void **state)
{
	struct blackhole *bh = *state;
	struct kube_config empty = { .server = "" };

	errno = 0;
	assert_null(kube_events_start(NULL, "node"));
	assert_int_equal(errno, EINVAL);
	assert_null(kube_events_start(&empty, "node"));
	assert_null(kube_events_start(&bh->cfg, ""));
	assert_null(kube_events_start(&bh->cfg, NULL));
}

static void test_report_args(void **state)
{
	struct blackhole *bh = *state;
	struct kube_events *e = kube_events_start(&bh->cfg, "node-a");
	char long_ns[100];

	assert_non_null(e);
	memset(long_ns, 'n', sizeof(long_ns) - 1);
	long_ns[sizeof(long_ns) - 1] = '\0';
	assert_int_equal(kube_events_report(NULL, "ns", "p", "u", "R", "m"), -EINVAL);
	assert_int_equal(kube_events_report(e, "", "p", "u", "R", "m"), -EINVAL);
	assert_int_equal(kube_events_report(e, long_ns, "p", "u", "R", "m"), -EINVAL);
	assert_int_equal(kube_events_report(e, "ns", NULL, "u", "R", "m"), -EINVAL);
	assert_int_equal(kube_events_report(e, "ns", "p", "", "R", "m"), -EINVAL);
	assert_int_equal(kube_events_report(e, "ns", "p", "u", "", "m"), -EINVAL);
	kube_events_stop(e);
}

/* Count report result r: accepted, dropped (queue full) or anything else. */
static void count_report(int r, int *queued, int *dropped, int *other)
{
	if (r == 0)
		(*queued)++;
	else if (r == -EAGAIN)
		(*dropped)++;
	else
		(*other)++;
}

/* Many more reports than the queue holds, while the worker hangs in a POST:
 * each call returns at once, the overflow is dropped and counted, and an
 * event equal to an earlier one is a duplicate even when the queue is full. */
static void test_full_queue_drops(void **state)
{
	struct blackhole *bh = *state;
	struct kube_events *e = kube_events_start(&bh->cfg, "node-a");
	struct kube_events_stats st;
	int n = 4 * KUBE_EVENTS_QUEUE, queued = 0, dropped = 0, other = 0;
	long long t0, worst = 0;
	char uid[32];

	assert_non_null(e);
	for (int i = 0; i < n; i++) {
		long long t = now_ms();
		int r;

		snprintf(uid, sizeof(uid), "uid-%d", i);
		r = kube_events_report(e, "shop", "web", uid, "BadAnnotation", "bad value");
		t = now_ms() - t;
		worst = t > worst ? t : worst;
		count_report(r, &queued, &dropped, &other);
	}
	/* the worker takes one event out, once, and hangs in its POST: before
	 * the loop ended, or (a busy machine) after it; then wait for that,
	 * refilling the slot it frees, so that the queue is full below */
	assert_int_equal(other, 0);
	assert_int_equal(dropped, n - queued);
	assert_true(worst < 50); /* ms: never waits for the worker */
	for (int i = 0; queued == KUBE_EVENTS_QUEUE && i < 500; i++) {
		snprintf(uid, sizeof(uid), "uid-late-%d", i);
		count_report(kube_events_report(e, "shop", "web", uid, "BadAnnotation", "bad value"),
			     &queued, &dropped, &other);
		if (queued == KUBE_EVENTS_QUEUE)
			usleep(10000);
	}
	assert_int_equal(other, 0);
	assert_int_equal(queued, KUBE_EVENTS_QUEUE + 1);
	assert_int_equal(kube_events_report(e, "shop", "web", "uid-0", "BadAnnotation", "bad value"),
			 -EALREADY);
	assert_int_equal(kube_events_report(e, "shop", "web", "uid-0", "BadAnnotation", "other"),
			 -EAGAIN);
	kube_events_get_stats(e, &st);
	assert_int_equal(st.queued, (uint64_t)queued);
	assert_int_equal(st.dropped, (uint64_t)dropped + 1);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.sent, 0);
	t0 = now_ms();
	kube_events_stop(e);
	assert_true(now_ms() - t0 < 2000);
}

/* kube_events_report_change skips the duplicate check (its caller reports
 * once per change: capped, uncapped, capped again) but is remembered. */
static void test_report_change(void **state)
{
	struct blackhole *bh = *state;
	struct kube_events *e = kube_events_start(&bh->cfg, "node-a");
	struct kube_events_stats st;

	assert_non_null(e);
	assert_int_equal(kube_events_report(e, "shop", "db", "uid-c", "ClassCapped", "capped"), 0);
	assert_int_equal(kube_events_report(e, "shop", "db", "uid-c", "ClassCapped", "capped"),
			 -EALREADY);
	assert_int_equal(kube_events_report_change(e, "shop", "db", "uid-c", "ClassCapped",
						   "capped"), 0);
	assert_int_equal(kube_events_report_change(e, "shop", "db", "uid-d", "ClassCapped",
						   "other"), 0);
	assert_int_equal(kube_events_report(e, "shop", "db", "uid-d", "ClassCapped", "other"),
			 -EALREADY);
	assert_int_equal(kube_events_report_change(NULL, "shop", "db", "uid-c", "ClassCapped",
						   "capped"), -EINVAL);
	kube_events_get_stats(e, &st);
	assert_int_equal(st.queued, 3);
	assert_int_equal(st.duplicates, 2);
	kube_events_stop(e);
}

/* A POST hanging in the TLS handshake is aborted by stop well before its
 * 5 s timeout. */
static void test_stop_aborts_post(void **state)
{
	struct blackhole *bh = *state;
	struct kube_events *e = kube_events_start(&bh->cfg, "node-a");
	long long t0, took;

	assert_non_null(e);
	assert_int_equal(kube_events_report(e, "shop", "web", "uid-x", "BadAnnotation", "m"), 0);
	usleep(300 * 1000); /* the worker is inside the POST now */
	t0 = now_ms();
	kube_events_stop(e);
	took = now_ms() - t0;
	print_message("# stop took %lld ms\n", took);
	assert_true(took < 3000); /* the POST alone would take 5 s, and its retry 5 more */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_args),
		cmocka_unit_test(test_report_args),
		cmocka_unit_test(test_full_queue_drops),
		cmocka_unit_test(test_report_change),
		cmocka_unit_test(test_stop_aborts_post),
	};

	return cmocka_run_group_tests(tests, bh_setup, bh_teardown);
}
