/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * class_rates.h - does a class table fit an uplink rate?  The agent's
 * --uplink-rate and `tcprio config check FILE --uplink-rate RATE` apply the
 * same check (the HTB tree would clamp a class rate or ceiling above the
 * uplink rate without a word, and classes whose rates add up to more than
 * the uplink cannot all get them).
 */
#ifndef TCPRIO_CLASS_RATES_H
#define TCPRIO_CLASS_RATES_H

#include <stddef.h>
#include <stdint.h>
#include "policy/class_table.h"

/* 0 when every class rate and ceiling is at most uplink_bps (bits/s, > 0)
 * and the rates add up to at most uplink_bps; else -EINVAL with err naming
 * the class and both rates, e.g. "classes[0] (critical): rate 20000000
 * bit/s is above the uplink rate 10000000 bit/s". */
int class_table_check_rates(const struct class_table *t, uint64_t uplink_bps,
			    char *err, size_t errlen);

#endif
