// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_class_table.c - libFuzzer harness: class_table_parse over any text.
 * Checks that a parsed table keeps its promises (1..16 classes, a default
 * class among them, names of [a-z0-9-], DSCP 0..63 unique under trustDscp)
 * and that an error leaves the table empty with a message.  Seeds:
 * tests/fuzz/seeds/class_table.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "policy/class_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct class_table t;
	char err[512];
	int ret;

	ret = class_table_parse((const char *)data, size, &t, err, sizeof(err));
	if (ret == 0) {
		if (t.n_classes < 1 || t.n_classes > TCPRIO_MAX_CLASSES ||
		    t.default_class >= (uint32_t)t.n_classes)
			abort();
		for (int i = 0; i < t.n_classes; i++) {
			const char *n = t.classes[i].name;

			if (!n[0] || strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(n) ||
			    t.classes[i].dscp > 63)
				abort();
			for (int j = 0; t.trust_dscp && j < i; j++)
				if (t.classes[j].dscp == t.classes[i].dscp)
					abort();
		}
		class_table_free(&t);
	} else if (t.n_classes || t.rules || (ret == -EINVAL && !err[0])) {
		abort();
	}
	return 0;
}

#include "fuzz_main.h"
