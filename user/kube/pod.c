/* SPDX-License-Identifier: BSD-2-Clause */
/* pod.c - read the fields tcprio needs from a Kubernetes Pod object (jansson). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kube/pod.h"
#include "lib/hash.h"

uint64_t pod_id_from_uid(const char *uid)
{
	uint64_t h = hash_fnv1a64(HASH_FNV1A64_INIT, uid, strlen(uid));

	return h ? h : 1;
}

int ip_from_string(const char *s, struct tcprio_ip *out)
{
	struct in_addr a4;

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &a4) == 1) {
		out->addr[10] = 0xff;
		out->addr[11] = 0xff;
		memcpy(&out->addr[12], &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->addr) == 1)
		return 0;
	return -EINVAL;
}

const char *ip_to_string(const struct tcprio_ip *ip, char *buf, size_t len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (memcmp(ip->addr, mapped, sizeof(mapped)) == 0) {
		if (!inet_ntop(AF_INET, &ip->addr[12], buf, len))
			snprintf(buf, len, "?");
	} else if (!inet_ntop(AF_INET6, ip->addr, buf, len)) {
		snprintf(buf, len, "?");
	}
	return buf;
}

void pod_free(struct pod *p)
{
	free(p->class_annotation);
	free(p->ports_annotation);
	p->class_annotation = p->ports_annotation = NULL;
	p->class_annotation_nul = p->ports_annotation_nul = false;
	for (int i = 0; i < p->n_labels; i++) {
		free(p->label_keys[i]);
		free(p->label_values[i]);
	}
	free(p->label_keys);
	free(p->label_values);
	p->label_keys = p->label_values = NULL;
	p->n_labels = p->cap_labels = 0;
}

int pod_add_label(struct pod *p, const char *key, const char *value)
{
	char *k, *v;

	if (p->n_labels == p->cap_labels) {
		int cap = p->cap_labels ? p->cap_labels * 2 : 16;
		char **nk = realloc(p->label_keys, (size_t)cap * sizeof(*nk)), **nv;

		if (!nk)
			return -ENOMEM;
		p->label_keys = nk;
		nv = realloc(p->label_values, (size_t)cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		p->label_values = nv;
		p->cap_labels = cap;
	}
	k = strdup(key);
	v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	p->label_keys[p->n_labels] = k;
	p->label_values[p->n_labels] = v;
	p->n_labels++;
	return 0;
}

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int pod_copy(struct pod *dst, const struct pod *src)
{
	int err = 0;

	*dst = *src;
	dst->class_annotation = dst->ports_annotation = NULL;
	dst->n_labels = dst->cap_labels = 0;
	dst->label_keys = dst->label_values = NULL;
	err = err ?: dup_opt(&dst->class_annotation, src->class_annotation);
	err = err ?: dup_opt(&dst->ports_annotation, src->ports_annotation);
	for (int i = 0; !err && i < src->n_labels; i++)
		err = pod_add_label(dst, src->label_keys[i], src->label_values[i]);
	if (err)
		pod_free(dst);
	return err;
}

const char *pod_label(const struct pod *p, const char *key)
{
	for (int i = 0; i < p->n_labels; i++)
		if (strcmp(p->label_keys[i], key) == 0)
			return p->label_values[i];
	return NULL;
}

/* Append a note ("; "-separated) to err. */
__attribute__((format(printf, 3, 4)))
static void note(char *err, size_t errlen, const char *fmt, ...)
{
	size_t used = strnlen(err, errlen);
	va_list ap;

	if (!errlen || used + 3 >= errlen)
		return;
	if (used) {
		strcpy(err + used, "; ");
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(err + used, errlen - used, fmt, ap);
	va_end(ap);
}

/* True if the JSON string v holds a NUL character (JSON "\u0000", accepted
 * by json_loadb with JSON_ALLOW_NUL): its C string would be cut short. */
static bool has_nul(const json_t *v)
{
	return json_string_length(v) != strlen(json_string_value(v));
}

/* Copy the optional string member key of obj into buf.  Missing or null is
 * "", a non-string or a too long value is -EINVAL. */
static int get_str(const json_t *obj, const char *key, const char *path,
		   char *buf, size_t size, bool required, char *err, size_t errlen)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;

	buf[0] = '\0';
	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: required, missing", path);
		return -EINVAL;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s: expected a string", path);
		return -EINVAL;
	}
	if (has_nul(v)) {
		snprintf(err, errlen, "%s: contains a NUL character", path);
		return -EINVAL;
	}
	if (json_string_length(v) >= size) {
		snprintf(err, errlen, "%s: expected at most %zu bytes, got %zu", path,
			 size - 1, json_string_length(v));
		return -EINVAL;
	}
	strcpy(buf, json_string_value(v));
	if (required && !buf[0]) {
		snprintf(err, errlen, "%s: required, empty", path);
		return -EINVAL;
	}
	return 0;
}

/* Copy the JSON string v into a heap string, each NUL character written as
 * the 6 characters \u0000 (*had_nul set) so the value stays visible in
 * warnings.  0 or -ENOMEM. */
static int dup_json_str(char **dst, const json_t *v, bool *had_nul)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v), n_nul = 0, o = 0;

	*had_nul = false;
	for (size_t i = 0; i < len; i++)
		n_nul += s[i] == '\0';
	*dst = malloc(len + 5 * n_nul + 1);
	if (!*dst)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (s[i]) {
			(*dst)[o++] = s[i];
			continue;
		}
		memcpy(*dst + o, "\\u0000", 6);
		o += 6;
	}
	(*dst)[o] = '\0';
	*had_nul = n_nul > 0;
	return 0;
}

static int read_annotations(const json_t *meta, struct pod *p)
{
	json_t *ann = json_object_get(meta, "annotations");
	json_t *v;

	if (!json_is_object(ann))
		return 0;
	v = json_object_get(ann, ANNOTATION_CLASS);
	if (json_is_string(v) &&
	    dup_json_str(&p->class_annotation, v, &p->class_annotation_nul))
		return -ENOMEM;
	v = json_object_get(ann, ANNOTATION_PORTS);
	if (json_is_string(v) &&
	    dup_json_str(&p->ports_annotation, v, &p->ports_annotation_nul))
		return -ENOMEM;
	return 0;
}

static int read_labels(const json_t *meta, struct pod *p, char *err, size_t errlen)
{
	json_t *labels = json_object_get(meta, "labels");
	const char *key;
	size_t key_len;
	json_t *v;

	if (!json_is_object(labels))
		return 0;
	json_object_keylen_foreach(labels, key, key_len, v) {
		if (!json_is_string(v))
			continue;
		if (key_len != strlen(key) || has_nul(v)) {
			/* a cut-short key or value could match a label rule it
			 * does not really match */
			note(err, errlen, "metadata.labels: label \"%s\" %s a NUL "
			     "character; ignored by label rules", key,
			     key_len != strlen(key) ? "name contains" : "value contains");
			continue;
		}
		if (pod_add_label(p, key, json_string_value(v)))
			return -ENOMEM;
	}
	return 0;
}

/* Why ip cannot be a pod's own address, or NULL if it is a unicast
 * address: unspecified (0.0.0.0/8 "this network" RFC 1122 3.2.1.3, ::
 * RFC 4291 2.5.2), loopback (127.0.0.0/8 RFC 1122, ::1 RFC 4291 2.5.3),
 * multicast (224.0.0.0/4 RFC 5771, ff00::/8 RFC 4291 2.7) or the limited
 * broadcast 255.255.255.255 (RFC 919).  IPv4 is checked in its mapped form. */
static const char *not_unicast(const struct tcprio_ip *ip)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t zero[16], one[16] = { [15] = 1 };
	const uint8_t *a = ip->addr;

	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		const uint8_t *v4 = a + 12;

		if (v4[0] == 0)
			return "an unspecified (0.0.0.0/8) address";
		if (v4[0] == 127)
			return "a loopback address";
		if ((v4[0] & 0xf0) == 224)
			return "a multicast address";
		if (v4[0] == 255 && v4[1] == 255 && v4[2] == 255 && v4[3] == 255)
			return "the broadcast address";
		return NULL;
	}
	if (memcmp(a, zero, 16) == 0)
		return "the unspecified address";
	if (memcmp(a, one, 16) == 0)
		return "the loopback address";
	if (a[0] == 0xff)
		return "a multicast address";
	return NULL;
}

/* Add one IP text to p (deduplicated); a bad one is noted and skipped.
 * Returns 0, or -EINVAL (err set) if the text contains a NUL character. */
static int add_ip(struct pod *p, json_t *v, const char *path, char *err,
		  size_t errlen)
{
	struct tcprio_ip ip;
	const char *why;

	if (json_is_string(v) && has_nul(v)) {
		snprintf(err, errlen, "%s: contains a NUL character", path);
		return -EINVAL;
	}
	if (!json_is_string(v) || ip_from_string(json_string_value(v), &ip)) {
		note(err, errlen, "%s: \"%s\" is not an IPv4 or IPv6 address; skipped",
		     path, json_is_string(v) ? json_string_value(v) : "(not a string)");
		return 0;
	}
	why = not_unicast(&ip);
	if (why) {
		note(err, errlen, "%s: \"%s\" is %s, not a pod's unicast address; "
		     "skipped", path, json_string_value(v), why);
		return 0;
	}
	for (int i = 0; i < p->n_ips; i++)
		if (memcmp(&p->ips[i], &ip, sizeof(ip)) == 0)
			return 0;
	if (p->n_ips >= POD_MAX_IPS) {
		note(err, errlen, "%s: more than %d pod IPs; skipped", path, POD_MAX_IPS);
		return 0;
	}
	p->ips[p->n_ips++] = ip;
	return 0;
}

/* 0 or -EINVAL (an IP with a NUL character). */
static int read_ips(const json_t *status, struct pod *p, char *err, size_t errlen)
{
	json_t *ips = json_object_get(status, "podIPs");
	json_t *one = json_object_get(status, "podIP");
	char path[64];
	size_t i;
	json_t *item;

	if (json_is_array(ips) && json_array_size(ips) > 0) {
		json_array_foreach(ips, i, item) {
			snprintf(path, sizeof(path), "status.podIPs[%zu].ip", i);
			if (add_ip(p, json_object_get(item, "ip"), path, err, errlen))
				return -EINVAL;
		}
		return 0;
	}
	if (one && !json_is_null(one) &&
	    !(json_is_string(one) && json_string_length(one) == 0))
		return add_ip(p, one, "status.podIP", err, errlen);
	return 0;
}

/* Prefix the error in err with the pod it is about: "pod NAMESPACE/NAME: "
 * once the name is read, else "pod uid UID: " once the uid is. */
static void name_pod(const struct pod *p, char *err, size_t errlen)
{
	char *notes;

	if (!errlen || !err[0] || !p->uid[0])
		return;
	notes = strdup(err);
	if (!notes)
		return; /* keep the message without the name */
	if (p->name[0])
		snprintf(err, errlen, "pod %s/%s: %s", p->namespace_, p->name, notes);
	else
		snprintf(err, errlen, "pod uid %s: %s", p->uid, notes);
	free(notes);
}

int pod_from_json(const json_t *obj, struct pod *p, char *err, size_t errlen)
{
	json_t *meta, *spec, *status, *v;
	const char *phase;
	int ret;

	memset(p, 0, sizeof(*p));
	if (errlen)
		err[0] = '\0';
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "pod: expected a JSON object");
		return -EINVAL;
	}
	meta = json_object_get(obj, "metadata");
	spec = json_object_get(obj, "spec");
	status = json_object_get(obj, "status");
	if (!json_is_object(meta)) {
		snprintf(err, errlen, "metadata: required, expected an object");
		return -EINVAL;
	}
	spec = json_is_object(spec) ? spec : NULL;
	status = json_is_object(status) ? status : NULL;

	ret = get_str(meta, "uid", "metadata.uid", p->uid, sizeof(p->uid), true, err, errlen);
	ret = ret ?: get_str(meta, "namespace", "metadata.namespace", p->namespace_,
			     sizeof(p->namespace_), false, err, errlen);
	ret = ret ?: get_str(meta, "name", "metadata.name", p->name, sizeof(p->name),
			     false, err, errlen);
	ret = ret ?: get_str(meta, "resourceVersion", "metadata.resourceVersion",
			     p->resource_version, sizeof(p->resource_version), false,
			     err, errlen);
	ret = ret ?: get_str(spec, "nodeName", "spec.nodeName", p->node_name,
			     sizeof(p->node_name), false, err, errlen);
	if (ret)
		goto cleanup;

	v = json_object_get(meta, "deletionTimestamp");
	p->deleting = v && !json_is_null(v);
	p->host_network = spec && json_is_true(json_object_get(spec, "hostNetwork"));
	phase = status ? json_string_value(json_object_get(status, "phase")) : NULL;
	/* exact match: a phase with a NUL must not read as "Failed" */
	p->finished = phase && !has_nul(json_object_get(status, "phase")) &&
		      (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);

	ret = read_annotations(meta, p);
	ret = ret ?: read_labels(meta, p, err, errlen);
	if (ret)
		goto cleanup;
	if (status)
		ret = read_ips(status, p, err, errlen);
cleanup:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	else if (ret)
		name_pod(p, err, errlen); /* callers log a rejection without the pod */
	if (ret)
		pod_free(p);
	return ret;
}
