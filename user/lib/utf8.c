// SPDX-License-Identifier: BSD-2-Clause
/*
 * utf8.c - see utf8.h.  Sequence rules: RFC 3629 section 4 (the syntax of
 * UTF-8 byte sequences), which also excludes overlong forms and surrogates.
 */
#include <stdio.h>
#include <string.h>
#include "lib/utf8.h"

size_t utf8_char_len(const unsigned char *s, size_t len)
{
	unsigned char c, lo = 0x80, hi = 0xbf;
	size_t n;

	if (!len)
		return 0;
	c = s[0];
	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)  /* continuation byte, overlong 2-byte, > U+10FFFF */
		return 0;
	n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (c == 0xe0)
		lo = 0xa0;       /* overlong 3-byte */
	else if (c == 0xed)
		hi = 0x9f;       /* surrogates */
	else if (c == 0xf0)
		lo = 0x90;       /* overlong 4-byte */
	else if (c == 0xf4)
		hi = 0x8f;       /* above U+10FFFF */
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

size_t utf8_cut_len(const char *s, size_t len, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	if (max >= len)
		return len;
	while (i < max) {
		size_t n = utf8_char_len(u + i, len - i);

		if (!n)
			n = 1;
		if (i + n > max)
			break;
		i += n;
	}
	return i;
}

void utf8_trim_partial(char *s)
{
	unsigned char *u = (unsigned char *)s;
	size_t len = strlen(s), i = len, need;

	/* back over at most 3 continuation bytes to the lead byte */
	while (i > 0 && len - i < 3 && (u[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0 || u[i - 1] < 0xc2 || u[i - 1] > 0xf4)
		return;
	i--;
	need = u[i] < 0xe0 ? 2 : u[i] < 0xf0 ? 3 : 4;
	if (len - i < need)
		s[i] = '\0';
}

size_t utf8_sanitize(char *s)
{
	unsigned char *u = (unsigned char *)s;
	size_t len = strlen(s), i = 0, bad = 0;

	while (i < len) {
		size_t n = utf8_char_len(u + i, len - i);

		if (!n) {
			u[i] = '?';
			bad++;
			n = 1;
		}
		i += n;
	}
	return bad;
}

char *utf8_shorten(char *out, size_t outlen, const char *in, size_t max)
{
	size_t len = strlen(in), cut;

	if (len <= max && len < outlen) {
		memcpy(out, in, len + 1);
		return out;
	}
	/* room for "..." and " (N bytes)" */
	if (outlen > 32 && max > outlen - 32)
		max = outlen - 32;
	else if (outlen <= 32)
		max = 0;
	cut = utf8_cut_len(in, len, max);
	snprintf(out, outlen, "%.*s... (%zu bytes)", (int)cut, in, len);
	return out;
}
