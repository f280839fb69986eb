/* SPDX-License-Identifier: BSD-2-Clause */
/* test_utf8.c - lib/utf8.c: character lengths (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), cuts on character boundaries,
 * sanitising and shortening (cmocka). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "lib/utf8.h"

static size_t clen(const char *s) { return utf8_char_len((const unsigned char *)s, strlen(s)); }

static void test_char_len(void **state)
{
	(void)state;
	assert_int_equal(clen("a"), 1);
	assert_int_equal(clen("\xc3\xa9"), 2);           /* é */
	assert_int_equal(clen("\xe2\x82\xac"), 3);       /* € */
	assert_int_equal(clen("\xf0\x9f\x98\x80"), 4);   /* U+1F600 */
	assert_int_equal(clen("\xc3"), 0);               /* cut */
	assert_int_equal(clen("\xa9"), 0);               /* stray continuation */
	assert_int_equal(clen("\xc0\xaf"), 0);           /* overlong '/' */
	assert_int_equal(clen("\xe0\x80\xaf"), 0);       /* overlong 3-byte */
	assert_int_equal(clen("\xed\xa0\x80"), 0);       /* surrogate U+D800 */
	assert_int_equal(clen("\xf4\x90\x80\x80"), 0);   /* U+110000 */
	assert_int_equal(clen("\xff"), 0);
}

static void test_cut_and_trim(void **state)
{
	char s[16];

	(void)state;
	/* "aé€": cuts at 1, 3 and 6 only */
	assert_int_equal(utf8_cut_len("a\xc3\xa9\xe2\x82\xac", 6, 2), 1);
	assert_int_equal(utf8_cut_len("a\xc3\xa9\xe2\x82\xac", 6, 3), 3);
	assert_int_equal(utf8_cut_len("a\xc3\xa9\xe2\x82\xac", 6, 5), 3);
	assert_int_equal(utf8_cut_len("a\xc3\xa9\xe2\x82\xac", 6, 9), 6);
	snprintf(s, sizeof(s), "ab\xe2\x82");
	utf8_trim_partial(s);
	assert_string_equal(s, "ab");
	snprintf(s, sizeof(s), "ab\xe2\x82\xac");
	utf8_trim_partial(s);
	assert_string_equal(s, "ab\xe2\x82\xac");
	snprintf(s, sizeof(s), "x\xc3");
	utf8_trim_partial(s);
	assert_string_equal(s, "x");
}

static void test_sanitize(void **state)
{
	char s[] = "ok\xc3\xa9 \xff\xc3 \xed\xa0\x80!";

	(void)state;
	assert_int_equal(utf8_sanitize(s), 5);
	assert_string_equal(s, "ok\xc3\xa9 ?\x3f ?\x3f?!");
}

static void test_shorten(void **state)
{
	char in[600], out[96];
	size_t n = 0;

	(void)state;
	assert_string_equal(utf8_shorten(out, sizeof(out), "short", 64), "short");
	in[n++] = 'x';
	for (int i = 0; i < 250; i++) {
		in[n++] = '\xc3';
		in[n++] = '\xa9';
	}
	in[n] = '\0';
	utf8_shorten(out, sizeof(out), in, 64);
	/* x + 31 é = 63 bytes (64 would split an é), then the marker */
	assert_int_equal(strstr(out, "...") - out, 63);
	assert_string_equal(strstr(out, "..."), "... (501 bytes)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_char_len),
		cmocka_unit_test(test_cut_and_trim),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_shorten),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
