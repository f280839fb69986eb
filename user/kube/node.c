/* SPDX-License-Identifier: BSD-2-Clause */
/* node.c - read the fields tcprio needs from a Kubernetes Node object (jansson). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kube/node.h"
#include "kube/pod.h"

void node_free(struct node *n)
{
	free(n->wan_weight);
	n->wan_weight = NULL;
	for (int i = 0; i < n->n_labels; i++) {
		free(n->label_keys[i]);
		free(n->label_values[i]);
	}
	free(n->label_keys);
	free(n->label_values);
	n->label_keys = n->label_values = NULL;
	n->n_labels = 0;
}

/* Room for count labels (arrays zeroed, n_labels 0).  0 or -ENOMEM. */
static int alloc_labels(struct node *n, size_t count)
{
	n->n_labels = 0;
	n->label_keys = calloc(count ? count : 1, sizeof(char *));
	n->label_values = calloc(count ? count : 1, sizeof(char *));
	return n->label_keys && n->label_values ? 0 : -ENOMEM;
}

int node_copy(struct node *dst, const struct node *src)
{
	*dst = *src;
	dst->wan_weight = NULL;
	dst->label_keys = dst->label_values = NULL;
	if (alloc_labels(dst, (size_t)src->n_labels))
		goto nomem;
	if (src->wan_weight && !(dst->wan_weight = strdup(src->wan_weight)))
		goto nomem;
	for (int i = 0; i < src->n_labels; i++) {
		dst->label_keys[i] = strdup(src->label_keys[i]);
		dst->label_values[i] = strdup(src->label_values[i]);
		dst->n_labels = i + 1;
		if (!dst->label_keys[i] || !dst->label_values[i])
			goto nomem;
	}
	return 0;
nomem:
	node_free(dst);
	return -ENOMEM;
}

const char *node_label(const struct node *n, const char *key)
{
	for (int i = 0; i < n->n_labels; i++)
		if (strcmp(n->label_keys[i], key) == 0)
			return n->label_values[i];
	return NULL;
}

/* Append "; "-separated note to err. */
__attribute__((format(printf, 3, 4)))
static void note(char *err, size_t errlen, const char *fmt, ...)
{
	size_t used = strnlen(err, errlen);
	va_list ap;

	if (used + 3 >= errlen)
		return;
	if (used)
		used += (size_t)snprintf(err + used, errlen - used, "; ");
	va_start(ap, fmt);
	vsnprintf(err + used, errlen - used, fmt, ap);
	va_end(ap);
}

/* Every string label (the API server bounds how many by the object's
 * size; the watch bounds that, kube/kube_watch.h). */
static int read_labels(const json_t *meta, struct node *n)
{
	const json_t *labels = json_object_get(meta, "labels");
	const char *k;
	json_t *v;

	if (alloc_labels(n, json_object_size(labels)))
		return -ENOMEM;
	json_object_foreach((json_t *)labels, k, v) {
		if (!json_is_string(v))
			continue;
		n->label_keys[n->n_labels] = strdup(k);
		n->label_values[n->n_labels] = strdup(json_string_value(v));
		n->n_labels++;
		if (!n->label_keys[n->n_labels - 1] || !n->label_values[n->n_labels - 1])
			return -ENOMEM;
	}
	return 0;
}

static void read_ready(const json_t *status, struct node *n)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(status, "conditions"), i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		const char *st = json_string_value(json_object_get(c, "status"));

		if (type && strcmp(type, "Ready") == 0)
			n->ready = st && strcmp(st, "True") == 0;
	}
}

/* status.addresses of type InternalIP and ExternalIP (Hostname and
 * InternalDNS name no address). */
static void read_addrs(const json_t *status, struct node *n, char *err, size_t errlen)
{
	size_t i;
	json_t *a;

	json_array_foreach(json_object_get(status, "addresses"), i, a) {
		const char *type = json_string_value(json_object_get(a, "type"));
		const char *addr = json_string_value(json_object_get(a, "address"));

		if (!type || (strcmp(type, "InternalIP") && strcmp(type, "ExternalIP")))
			continue;
		if (!addr || n->n_addrs >= NODE_MAX_ADDRS) {
			note(err, errlen, "status.addresses[%zu]: skipped (%s)", i,
			     addr ? "too many addresses" : "no address");
			continue;
		}
		if (ip_from_string(addr, &n->addrs[n->n_addrs])) {
			note(err, errlen, "status.addresses[%zu]: \"%s\" is not an IP address",
			     i, addr);
			continue;
		}
		n->n_addrs++;
	}
}

/* spec.podCIDRs, else spec.podCIDR (clusters before 1.16). */
static void read_pod_cidrs(const json_t *spec, struct node *n, char *err, size_t errlen)
{
	json_t *list = json_object_get(spec, "podCIDRs"), *one = json_object_get(spec, "podCIDR");
	size_t i;
	json_t *c;

	if (!json_array_size(list) && json_is_string(one)) {
		list = json_array();
		json_array_append(list, one);
	} else {
		json_incref(list);
	}
	json_array_foreach(list, i, c) {
		const char *s = json_string_value(c);

		if (!s || strlen(s) >= NODE_CIDR_LEN || n->n_pod_cidrs >= NODE_MAX_POD_CIDRS) {
			note(err, errlen, "spec.podCIDRs[%zu]: skipped", i);
			continue;
		}
		strcpy(n->pod_cidrs[n->n_pod_cidrs++], s);
	}
	json_decref(list);
}

int node_from_json(const json_t *obj, struct node *n, char *err, size_t errlen)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
	const char *w = json_string_value(json_object_get(json_object_get(meta, "annotations"),
							   ANNOTATION_WAN_WEIGHT));
	int ret;

	memset(n, 0, sizeof(*n));
	if (errlen)
		err[0] = '\0';
	if (!name || !name[0] || strlen(name) >= sizeof(n->name)) {
		snprintf(err, errlen, "node: metadata.name: %s", name && name[0] ?
			 "longer than 255 bytes" : "missing");
		return -EINVAL;
	}
	strcpy(n->name, name);
	if (rv && strlen(rv) < sizeof(n->resource_version))
		strcpy(n->resource_version, rv);
	ret = read_labels(meta, n);
	if (!ret && w && !(n->wan_weight = strdup(w)))
		ret = -ENOMEM;
	if (ret) {
		node_free(n);
		return ret;
	}
	read_ready(json_object_get(obj, "status"), n);
	read_addrs(json_object_get(obj, "status"), n, err, errlen);
	read_pod_cidrs(json_object_get(obj, "spec"), n, err, errlen);
	return 0;
}
