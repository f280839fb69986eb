/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * namespace.c - Namespace JSON -> struct kube_namespace; see namespace.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kube/namespace.h"

void namespace_free(struct kube_namespace *ns)
{
	for (int i = 0; i < ns->n_labels; i++) {
		free(ns->label_keys[i]);
		free(ns->label_values[i]);
	}
	free(ns->label_keys);
	free(ns->label_values);
	ns->label_keys = ns->label_values = NULL;
	ns->n_labels = 0;
}

/* json string s without NUL (jansson keeps embedded NULs), or NULL. */
static const char *clean_string(const json_t *s)
{
	if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s))
		return NULL;
	return json_string_value(s);
}

static int read_labels(const json_t *labels, struct kube_namespace *ns, char *err,
		       size_t errlen)
{
	size_t n = json_object_size(labels), key_len;
	const char *key;
	json_t *v;

	if (n > NAMESPACE_MAX_LABELS) {
		snprintf(err, errlen, "metadata.labels: %zu labels, more than %d", n,
			 NAMESPACE_MAX_LABELS);
		return -EINVAL;
	}
	ns->label_keys = calloc(n ? n : 1, sizeof(char *));
	ns->label_values = calloc(n ? n : 1, sizeof(char *));
	if (!ns->label_keys || !ns->label_values)
		return -ENOMEM;
	json_object_keylen_foreach((json_t *)labels, key, key_len, v) {
		const char *val = clean_string(v);
		int i = ns->n_labels;

		if (key_len != strlen(key) || !val) {
			snprintf(err, errlen, "metadata.labels: label \"%s\": expected a "
				 "string without NUL characters", key);
			return -EINVAL;
		}
		ns->label_keys[i] = strdup(key);
		ns->label_values[i] = strdup(val);
		ns->n_labels++;
		if (!ns->label_keys[i] || !ns->label_values[i])
			return -ENOMEM;
	}
	return 0;
}

int namespace_from_json(const json_t *obj, struct kube_namespace *ns, char *err, size_t errlen)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const json_t *labels = json_object_get(meta, "labels");
	const char *name = clean_string(json_object_get(meta, "name"));
	const char *rv = clean_string(json_object_get(meta, "resourceVersion"));
	int ret;

	memset(ns, 0, sizeof(*ns));
	if (errlen)
		err[0] = '\0';
	if (!name || !name[0] || strlen(name) >= sizeof(ns->name)) {
		snprintf(err, errlen, "metadata.name: expected a namespace name of 1..63 "
			 "characters");
		return -EINVAL;
	}
	strcpy(ns->name, name);
	if (rv && strlen(rv) < sizeof(ns->resource_version))
		strcpy(ns->resource_version, rv);
	ret = json_is_object(labels) ? read_labels(labels, ns, err, errlen) : 0;
	if (ret)
		namespace_free(ns);
	return ret;
}
