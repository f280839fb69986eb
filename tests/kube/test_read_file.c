// SPDX-License-Identifier: GPL-2.0
/* kube_read_file (user/kube/kubeconfig.c): the reader of kubeconfig, token
 * and CA files.  fstat(2) is wrapped (-Wl,--wrap=fstat, see the Makefile),
 * so a failing fstat can be tested: an open regular file gives no other way
 * to make it fail.  The wrapper leaves st_size as garbage, as a failed call
 * may, so code that reads st_size after the failure returns -EFBIG instead
 * of the call's own error. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "kube/kube_client.h"

int __real_fstat(int fd, struct stat *st);

static int fstat_fail_errno; /* 0: the real fstat; else fail with this */

int __wrap_fstat(int fd, struct stat *st)
{
	if (!fstat_fail_errno)
		return __real_fstat(fd, st);
	memset(st, 0xff, sizeof(*st)); /* st_size < 0 as signed ... */
	st->st_size = (off_t)1 << 40; /* ... and a huge size: garbage either way */
	errno = fstat_fail_errno;
	return -1;
}

static char path[64];

static int make_file(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/tcprio-readfile-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (write(fd, "token-1\n", 8) != 8) {
		close(fd);
		return -1;
	}
	close(fd);
	fstat_fail_errno = 0;
	return 0;
}

static int remove_file(void **state)
{
	(void)state;
	fstat_fail_errno = 0;
	unlink(path);
	return 0;
}

/* Control: with the real fstat the file is read whole. */
static void test_reads_file(void **state)
{
	char *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(kube_read_file(path, &out, &len), 0);
	assert_non_null(out);
	assert_int_equal(len, 8);
	assert_string_equal(out, "token-1\n");
	free(out);
}

/* A failed fstat returns its own error, never -EFBIG from a garbage
 * st_size, and hands back no buffer. */
static void test_fstat_error_returned(void **state)
{
	static const int errs[] = { EIO, EOVERFLOW, ENOMEM };
	char *out = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		fstat_fail_errno = errs[i];
		assert_int_equal(kube_read_file(path, &out, NULL), -errs[i]);
		assert_null(out);
	}
}

/* A missing file is the open's error, fstat is not reached. */
static void test_missing_file(void **state)
{
	char *out = NULL;

	(void)state;
	fstat_fail_errno = EIO;
	assert_int_equal(kube_read_file("/nonexistent/tcprio-readfile", &out, NULL), -ENOENT);
	assert_null(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reads_file, make_file, remove_file),
		cmocka_unit_test_setup_teardown(test_fstat_error_returned, make_file, remove_file),
		cmocka_unit_test_setup_teardown(test_missing_file, make_file, remove_file),
	};

	return cmocka_run_group_tests_name("kube_read_file", tests, NULL, NULL);
}
