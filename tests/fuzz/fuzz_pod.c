// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_pod.c - libFuzzer harness: one Pod object as the watch delivers it
 * (JSON text, "\u0000" allowed as the watch parser allows it) through
 * pod_from_json and policy_decide under the built-in class table.  Seeds:
 * tests/fixtures/k8s/pod.  Finds crashes, leaks and undefined behaviour
 * (built with -fsanitize=fuzzer,address,undefined: tests/fuzz.mk).
 */
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "kube/pod.h"
#include "policy/policy.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct class_table table;
	static int ready;
	struct pod_policy pol;
	json_error_t jerr;
	struct pod p;
	char err[256];
	json_t *obj;

	if (!ready) {
		log_set_level(LOG_LVL_WARN);
		class_table_defaults(&table);
		ready = 1;
	}
	obj = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &jerr);
	if (!obj)
		return 0;
	/* a watch event wraps the pod in {"type", "object"} */
	if (pod_from_json(json_object_get(obj, "object") ?: obj, &p, err, sizeof(err)) == 0) {
		policy_decide(&table, &p, &pol);
		pod_free(&p);
	}
	json_decref(obj);
	return 0;
}

#include "fuzz_main.h"
