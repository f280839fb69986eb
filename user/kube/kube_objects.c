// SPDX-License-Identifier: BSD-2-Clause
/*
 * kube_objects.c - the resources the informer knows (struct
 * kube_object_type): how each JSON object becomes a C object.
 * Add a resource here: its parser lives beside its struct (pod.c: pods).
 */
#include <stdio.h>
#include "kube/kube_informer.h"
#include "kube/pod.h"
#include "kube/namespace.h"
#include "kube/node.h"

static int pod_parse(const json_t *json, void *obj, char *err, size_t errlen)
{
	return pod_from_json(json, obj, err, errlen);
}

static void pod_release(void *obj)
{
	pod_free(obj);
}

static const char *pod_name(const void *obj, char *buf, size_t len)
{
	const struct pod *p = obj;

	snprintf(buf, len, "%s/%s", p->namespace_, p->name);
	return buf;
}

const struct kube_object_type kube_pod_type = {
	.noun = "pod", .kind = "Pod", .path = "/api/v1/pods", .size = sizeof(struct pod),
	.parse = pod_parse, .free = pod_release, .name = pod_name,
};

static int ns_parse(const json_t *json, void *obj, char *err, size_t errlen)
{
	return namespace_from_json(json, obj, err, errlen);
}

static void ns_release(void *obj)
{
	namespace_free(obj);
}

static const char *ns_name(const void *obj, char *buf, size_t len)
{
	snprintf(buf, len, "%s", ((const struct kube_namespace *)obj)->name);
	return buf;
}

const struct kube_object_type kube_namespace_type = {
	.noun = "namespace", .kind = "Namespace", .path = "/api/v1/namespaces",
	.size = sizeof(struct kube_namespace),
	.parse = ns_parse, .free = ns_release, .name = ns_name,
};

static int node_parse(const json_t *json, void *obj, char *err, size_t errlen)
{
	return node_from_json(json, obj, err, errlen);
}

static void node_release(void *obj)
{
	node_free(obj);
}

static const char *node_name(const void *obj, char *buf, size_t len)
{
	snprintf(buf, len, "%s", ((const struct node *)obj)->name);
	return buf;
}

const struct kube_object_type kube_node_type = {
	.noun = "node", .kind = "Node", .path = "/api/v1/nodes", .size = sizeof(struct node),
	.parse = node_parse, .free = node_release, .name = node_name,
};
