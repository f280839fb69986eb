/* SPDX-License-Identifier: BSD-2-Clause */
/* log.h - leveled logging to stderr, one line per message. */
#ifndef TCPRIO_LOG_H
#define TCPRIO_LOG_H

/* LOG_LVL_OFF prints nothing (a fuzz harness, whose inputs warn at every
 * run, would spend its time writing). */
enum log_level { LOG_LVL_OFF = -1, LOG_LVL_WARN = 0, LOG_LVL_INFO = 1, LOG_LVL_DEBUG = 2 };

/* Set the most verbose level printed (default LOG_LVL_INFO). */
void log_set_level(enum log_level level);
/* Current level. */
enum log_level log_get_level(void);
/* printf-style; prefixes a timestamp and level; appends a newline. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
