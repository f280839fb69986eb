/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lib/log.h"

static enum log_level current_level = LOG_LVL_INFO;

void log_set_level(enum log_level level) { current_level = level; }
enum log_level log_get_level(void) { return current_level; }

/* Append msg to out with every control byte (< 0x20, 0x7f) shown as an
 * escape, so a value quoted in a message (a pod annotation, a server reply)
 * can neither forge a second log line ("\n" -> "\\n") nor send terminal
 * escape sequences (ESC -> "\\x1b").  out has room for 4 bytes per byte of
 * msg.  Returns the bytes written (no NUL). */
static size_t put_escaped(char *out, const char *msg)
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;

	for (const unsigned char *c = (const unsigned char *)msg; *c; c++) {
		if (*c >= 0x20 && *c != 0x7f) {
			*o++ = (char)*c;
		} else if (*c == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[*c >> 4];
			*o++ = hex[*c & 0xf];
		}
	}
	return (size_t)(o - out);
}

/* write(2) all of buf to fd 2, retrying short writes and EINTR. */
static void write_all(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(STDERR_FILENO, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nowhere left to report it */
		buf += n;
		len -= (size_t)n;
	}
}

/* Format, escape and write one line with a single write(2) (stderr is
 * unbuffered: writing piece by piece cost one system call per character
 * and let lines of two threads interleave). */
static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const char *names[] = { "warn", "info", "debug" };
	char small[1024], *msg = small, line_small[4096], *line = line_small;
	struct timespec ts;
	struct tm tm;
	size_t cap, len;
	va_list ap2;
	int n;

	/* Format first, so the whole message can be escaped. */
	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n >= (int)sizeof(small) && !(msg = malloc((size_t)n + 1)))
		msg = small; /* out of memory: print the truncated message */
	else if (msg != small)
		vsnprintf(msg, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		msg = "(bad log format)";

	/* stamp (at most 64) + escaped message (4 bytes per byte) + "\n" */
	cap = 64 + 4 * strlen(msg) + 2;
	if (cap > sizeof(line_small) && !(line = malloc(cap))) {
		line = line_small; /* out of memory: cut the message */
		cap = sizeof(line_small);
		msg[(sizeof(line_small) - 66) / 4] = '\0';
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	len = strftime(line, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	len += (size_t)snprintf(line + len, 32, ".%03ldZ %s ", ts.tv_nsec / 1000000, names[level]);
	len += put_escaped(line + len, msg);
	line[len++] = '\n';
	write_all(line, len);
	if (line != line_small)
		free(line);
	if (msg != small && n >= 0)
		free(msg);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > current_level)
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
