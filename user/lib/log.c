/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "lib/log.h"

static enum log_level current_level = LOG_LVL_INFO;

void log_set_level(enum log_level level) { current_level = level; }
enum log_level log_get_level(void) { return current_level; }

/* Write msg with every control byte (< 0x20, 0x7f) shown as an escape, so a
 * value quoted in a message (a pod annotation, a server reply) can neither
 * forge a second log line ("\n" -> "\\n") nor send terminal escape
 * sequences (ESC -> "\\x1b").  Called with stderr locked. */
static void put_escaped(const char *msg)
{
	static const char hex[] = "0123456789abcdef";

	for (const unsigned char *c = (const unsigned char *)msg; *c; c++) {
		if (*c >= 0x20 && *c != 0x7f) {
			putc_unlocked(*c, stderr);
		} else if (*c == '\n') {
			putc_unlocked('\\', stderr);
			putc_unlocked('n', stderr);
		} else {
			putc_unlocked('\\', stderr);
			putc_unlocked('x', stderr);
			putc_unlocked(hex[*c >> 4], stderr);
			putc_unlocked(hex[*c & 0xf], stderr);
		}
	}
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const char *names[] = { "warn", "info", "debug" };
	char small[1024], *msg = small;
	struct timespec ts;
	struct tm tm;
	char stamp[32];
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

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	flockfile(stderr);
	fprintf(stderr, "%s.%03ldZ %s ", stamp, ts.tv_nsec / 1000000, names[level]);
	put_escaped(n < 0 ? "(bad log format)" : msg);
	putc_unlocked('\n', stderr);
	funlockfile(stderr);
	if (msg != small)
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
