/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * utf8.h - cutting and cleaning text that quotes outside input (pod
 * annotations, server replies) before it goes into a log line or a JSON
 * body.  UTF-8 as RFC 3629 defines it: 1..4 byte sequences, no overlong
 * forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
 */
#ifndef TCPRIO_UTF8_H
#define TCPRIO_UTF8_H

#include <stddef.h>

/* Length in bytes (1..4) of the valid UTF-8 character at s (at most len
 * bytes readable), or 0 if s does not start one (len 0, a stray
 * continuation byte, a truncated or overlong sequence, a surrogate, a code
 * point above U+10FFFF). */
size_t utf8_char_len(const unsigned char *s, size_t len);

/* The largest n <= max such that the first n bytes of s (len bytes) end on
 * a character boundary: cutting s there never splits a multi-byte
 * character.  Bytes that are not valid UTF-8 count as one-byte units. */
size_t utf8_cut_len(const char *s, size_t len, size_t max);

/* In place: drop an incomplete multi-byte character at the end of the
 * NUL-terminated s (what snprintf leaves when it cuts inside one). */
void utf8_trim_partial(char *s);

/* In place: replace every byte of the NUL-terminated s that is not part of
 * a valid UTF-8 character with '?'.  Afterwards s is valid UTF-8 (jansson
 * accepts it as a JSON string).  Returns the number of bytes replaced. */
size_t utf8_sanitize(char *s);

/* Copy in into out (outlen > 0 bytes, always NUL-terminated) shortened to at
 * most max bytes of in, cut on a character boundary; when shortened, "..."
 * and " (N bytes)" with in's full length follow.  Returns out. */
char *utf8_shorten(char *out, size_t outlen, const char *in, size_t max);

#endif
