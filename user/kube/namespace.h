/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * namespace.h - a Kubernetes Namespace as the agent needs it: its name and
 * labels (for the class table's namespaceCeilings).  Parsed from the JSON
 * object of a list or watch event (kube_informer, kube_namespace_type).
 */
#ifndef TCPRIO_KUBE_NAMESPACE_H
#define TCPRIO_KUBE_NAMESPACE_H

#include <stddef.h>
#include <jansson.h>

/* Longest label list kept (Kubernetes sets no limit; a namespace with more
 * is refused, so that a dropped label can never make a NotIn or
 * DoesNotExist selector hold by mistake). */
#define NAMESPACE_MAX_LABELS 256

struct kube_namespace {
	char name[64];          /* metadata.name: a DNS label, <= 63 bytes */
	char resource_version[32];
	int  n_labels;
	char **label_keys;      /* heap arrays of heap strings (n_labels) */
	char **label_values;
};

/* Fill ns from a Namespace JSON object.  0, or -EINVAL with err naming the
 * field (metadata.name missing, too long or with a NUL; a label key or
 * value with a NUL; more than NAMESPACE_MAX_LABELS labels), -ENOMEM.  On
 * error ns holds nothing to free. */
int namespace_from_json(const json_t *obj, struct kube_namespace *ns, char *err, size_t errlen);
/* Free the labels; ns may be reused. */
void namespace_free(struct kube_namespace *ns);

#endif
