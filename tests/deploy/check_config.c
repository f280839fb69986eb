/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_config - validate a class table file with tcprio's own parser
 * (class_table_load_file), as the agent's --config would.
 *
 *   check_config FILE
 *
 * Exit 0 and print, one per line: "class <id> <name> dscp=<n>
 * priority=<hex>", "default <name>", "rules <n>".  Exit 1 and print the
 * parser's message (naming the field) if FILE is rejected; 2 on usage.
 */
#include <stdio.h>
#include <string.h>
#include "policy/class_table.h"

int main(int argc, char **argv)
{
	struct class_table t;
	char err[512] = "";
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CLASS_TABLE.yaml\n", argv[0]);
		return 2;
	}
	memset(&t, 0, sizeof(t));
	rc = class_table_load_file(argv[1], &t, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s: %s\n", argv[1], err[0] ? err : strerror(-rc));
		return 1;
	}
	for (int i = 0; i < t.n_classes; i++)
		printf("class %d %s dscp=%u priority=0x%08x\n", i, t.classes[i].name,
		       t.classes[i].dscp, t.classes[i].priority);
	printf("default %s\n", t.classes[t.default_class].name);
	printf("rules %d\n", t.n_rules);
	class_table_free(&t);
	return 0;
}
