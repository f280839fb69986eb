/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli_host.c - the host-traffic part of `tcprio status`: each host rule
 * (tcprio_host_rules, by counter slot) with its resolved cgroup id, class
 * and counters (tcprio_host_stats), and the host-network pods' cgroup
 * entries (tcprio_host_cgroups entries with a pod_id).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include "cli/cli.h"
#include "dp/datapath.h"
#include "policy/class_table.h"

static const char *cls(const struct class_table *t, uint32_t id, char *buf, size_t len)
{
	if (id < (uint32_t)t->n_classes && t->classes[id].name[0])
		return t->classes[id].name;
	snprintf(buf, len, "#%u", id);
	return buf;
}

json_t *cli_gather_host(const struct datapath *dp, const struct class_table *t)
{
	int ncpu = libbpf_num_possible_cpus();
	struct tcprio_counters *v = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*v)) : NULL;
	json_t *rules = json_array(), *pods = json_array(), *root = json_object();
	__u64 key, *prev = NULL, prevk;

	for (__u32 slot = 0; dp->maps.host_rules >= 0 && slot < TCPRIO_HOST_SLOTS; slot++) {
		struct tcprio_host_name nm;
		uint64_t pk = 0, by = 0;
		char nb[16], text[TCPRIO_HOST_TEXT_LEN + 1];

		if (bpf_map_lookup_elem(dp->maps.host_rules, &slot, &nm) ||
		    nm.state == TCPRIO_HOST_UNUSED)
			continue;
		if (v && bpf_map_lookup_elem(dp->maps.host_stats, &slot, v) == 0)
			for (int c = 0; c < ncpu; c++) {
				pk += v[c].packets;
				by += v[c].bytes;
			}
		memcpy(text, nm.text, TCPRIO_HOST_TEXT_LEN);
		text[TCPRIO_HOST_TEXT_LEN] = '\0';
		json_array_append_new(rules, json_pack("{s:i,s:s,s:b,s:s,s:I,s:s,s:I,s:I}",
			"slot", (int)slot, "rule", text, "builtin", nm.builtin,
			"state", nm.state == TCPRIO_HOST_MISSING ? "cgroup not found" : "active",
			"cgroup_id", (json_int_t)nm.cgroup_id,
			"class", cls(t, nm.class_id, nb, sizeof(nb)),
			"packets", (json_int_t)pk, "bytes", (json_int_t)by));
	}
	while (dp->maps.host_cgroups >= 0 &&
	       bpf_map_get_next_key(dp->maps.host_cgroups, prev, &key) == 0) {
		struct tcprio_host_rule r;
		struct tcprio_pod pod;
		char nb[16], idb[20], name[TCPRIO_POD_NAME_LEN + 1] = "";

		prevk = key;
		prev = &prevk;
		if (bpf_map_lookup_elem(dp->maps.host_cgroups, &key, &r) || !r.pod_id)
			continue;
		if (bpf_map_lookup_elem(dp->maps.pods, &r.pod_id, &pod) == 0)
			memcpy(name, pod.name, TCPRIO_POD_NAME_LEN);
		snprintf(idb, sizeof(idb), "%016" PRIx64, (uint64_t)r.pod_id);
		json_array_append_new(pods, json_pack("{s:s,s:s,s:I,s:s,s:b}",
			"pod_id", idb, "pod", name, "cgroup_id", (json_int_t)key,
			"class", cls(t, r.class_id, nb, sizeof(nb)),
			"port_rules", !!(r.flags & TCPRIO_HOST_HAS_PORT_RULES)));
	}
	free(v);
	json_object_set_new(root, "rules", rules);
	json_object_set_new(root, "pods", pods);
	return root;
}

void cli_print_host(json_t *host)
{
	json_t *v;
	size_t i;

	printf("\nHost rules (packets of local sockets at the uplinks):\n"
	       "  %-4s %-48s %-8s %-20s %-12s %12s %14s\n", "SLOT", "RULE", "ORIGIN",
	       "CGROUP_ID", "CLASS", "PACKETS", "BYTES");
	json_array_foreach(json_object_get(host, "rules"), i, v) {
		const char *st = json_string_value(json_object_get(v, "state"));
		json_int_t slot = json_integer_value(json_object_get(v, "slot"));
		char id[24];

		if (st && strcmp(st, "active") != 0)
			snprintf(id, sizeof(id), "(not found)");
		else if (json_integer_value(json_object_get(v, "cgroup_id")))
			snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(json_object_get(v, "cgroup_id")));
		else
			snprintf(id, sizeof(id), "-");
		printf("  %-4" JSON_INTEGER_FORMAT " %-48s %-8s %-20s %-12s %12"
		       JSON_INTEGER_FORMAT " %14" JSON_INTEGER_FORMAT "\n", slot,
		       json_string_value(json_object_get(v, "rule")),
		       slot >= TCPRIO_MAX_HOST_RULES ? "-" :
		       json_is_true(json_object_get(v, "builtin")) ? "built-in" : "table", id,
		       slot == TCPRIO_HOST_SLOT_POD ? "(per pod)" :
		       json_string_value(json_object_get(v, "class")),
		       json_integer_value(json_object_get(v, "packets")),
		       json_integer_value(json_object_get(v, "bytes")));
	}
	if (!json_array_size(json_object_get(host, "rules")))
		printf("  (none)\n");
	printf("\nHost-network pods classified by cgroup (%zu):\n",
	       json_array_size(json_object_get(host, "pods")));
	json_array_foreach(json_object_get(host, "pods"), i, v)
		printf("  %-40s pod_id %s cgroup %" JSON_INTEGER_FORMAT " class %s%s\n",
		       *json_string_value(json_object_get(v, "pod")) ?
		       json_string_value(json_object_get(v, "pod")) : "-",
		       json_string_value(json_object_get(v, "pod_id")),
		       json_integer_value(json_object_get(v, "cgroup_id")),
		       json_string_value(json_object_get(v, "class")),
		       json_is_true(json_object_get(v, "port_rules")) ? ", port rules" : "");
}
