// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_annotations.c - libFuzzer harness: the tcprio.io/class and
 * tcprio.io/ports values of a pod (input split at its first NUL byte: class
 * before, ports after) through policy_decide and parse_ports_annotation.
 * Checks that every warning starts with the pod and, for values of valid
 * UTF-8 (as the API delivers them), is valid UTF-8 (an Event body must be).  Seeds: tests/fuzz/seeds/annotations.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kube/pod.h"
#include "lib/log.h"
#include "lib/utf8.h"
#include "policy/policy.h"

/* NULL or valid UTF-8. */
static int utf8_valid(const char *s)
{
	return !s || utf8_sanitize(strdupa(s)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct class_table table;
	static int ready;
	struct port_class rules[POLICY_MAX_PORT_RULES];
	char copy[sizeof(((struct pod_policy *)0)->warning)], err[256];
	const uint8_t *nul = memchr(data, 0, size);
	size_t clen = nul ? (size_t)(nul - data) : size;
	struct pod_policy pol;
	struct pod p;

	if (!ready) {
		log_set_level(LOG_LVL_WARN);
		class_table_defaults(&table);
		ready = 1;
	}
	memset(&p, 0, sizeof(p));
	strcpy(p.uid, "uid-1");
	strcpy(p.namespace_, "ns");
	strcpy(p.name, "pod");
	p.n_ips = 1;
	p.class_annotation = strndup((const char *)data, clen);
	if (nul)
		p.ports_annotation = strndup((const char *)nul + 1, size - clen - 1);
	if (p.class_annotation && !p.class_annotation[0]) {
		free(p.class_annotation); /* empty: no class annotation */
		p.class_annotation = NULL;
	}
	policy_decide(&table, &p, &pol);
	if (pol.warning[0] && strncmp(pol.warning, "pod ns/pod: ", 12))
		abort(); /* a warning that does not start with the pod */
	/* Values from the API are valid UTF-8 (JSON); then cutting must never
	 * make the warning invalid (an Event could not carry it). */
	snprintf(copy, sizeof(copy), "%s", pol.warning);
	if (utf8_valid(p.class_annotation) && utf8_valid(p.ports_annotation) && utf8_sanitize(copy))
		abort();
	if (p.ports_annotation)
		parse_ports_annotation(p.ports_annotation, &table, rules,
				       POLICY_MAX_PORT_RULES, err, sizeof(err));
	pod_free(&p);
	return 0;
}

#include "fuzz_main.h"
