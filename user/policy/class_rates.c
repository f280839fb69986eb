// SPDX-License-Identifier: BSD-2-Clause
/* class_rates.c - see class_rates.h. */
#include <errno.h>
#include <stdio.h>
#include "policy/class_rates.h"

int class_table_check_rates(const struct class_table *t, uint64_t uplink_bps,
			    char *err, size_t errlen)
{
	uint64_t sum = 0;

	for (int i = 0; i < t->n_classes; i++) {
		const struct class_def *c = &t->classes[i];
		const char *what = c->rate_bps > uplink_bps ? "rate" :
				   c->ceil_bps > uplink_bps ? "ceiling" : NULL;

		if (what) {
			snprintf(err, errlen, "classes[%d] (%s): %s %llu bit/s is above the uplink "
				 "rate %llu bit/s; expected at most the uplink rate", i, c->name, what,
				 (unsigned long long)(c->rate_bps > uplink_bps ? c->rate_bps : c->ceil_bps),
				 (unsigned long long)uplink_bps);
			return -EINVAL;
		}
		sum += c->rate_bps;
	}
	if (sum > uplink_bps) {
		snprintf(err, errlen, "the class rates add up to %llu bit/s, above the uplink rate "
			 "%llu bit/s; expected at most the uplink rate", (unsigned long long)sum,
			 (unsigned long long)uplink_bps);
		return -EINVAL;
	}
	return 0;
}
