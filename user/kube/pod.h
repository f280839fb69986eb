/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pod.h - the fields of a Kubernetes Pod that tcprio's policy reads.
 *
 * Ownership: class_annotation, ports_annotation, the label_keys and
 * label_values arrays and their strings are heap memory owned by the struct
 * pod (strdup'd from the
 * JSON, so the json_t may be released right after pod_from_json).  Release
 * them with pod_free; copy a pod with pod_copy, never by struct assignment
 * (that would share the strings).  No global state: different pods may be
 * used from different threads.
 */
#ifndef TCPRIO_POD_H
#define TCPRIO_POD_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "tcprio.h"

/* The pod annotations tcprio reads (docs/operations.md). */
#define ANNOTATION_CLASS "tcprio.io/class"
#define ANNOTATION_PORTS "tcprio.io/ports"

#define POD_MAX_IPS 4

/* Fixed-size fields are NUL-terminated; too-long values are an error. */
struct pod {
	char uid[64];           /* metadata.uid (required) */
	char namespace_[64];
	char name[256];
	char node_name[256];
	char resource_version[32];
	bool host_network;
	bool finished;          /* status.phase Succeeded or Failed */
	bool deleting;          /* metadata.deletionTimestamp set */
	int  n_ips;
	struct tcprio_ip ips[POD_MAX_IPS]; /* status.podIPs, else status.podIP */
	char *class_annotation; /* tcprio.io/class or NULL */
	char *ports_annotation; /* tcprio.io/ports or NULL */
	/* The annotation's JSON value held a NUL character (JSON "\u0000"): the
	 * string above shows each NUL as the 6 characters \u0000 and policy
	 * rejects it as a bad annotation. */
	bool class_annotation_nul;
	bool ports_annotation_nul;
	/* every label of metadata.labels (all of them: a label rule must never
	 * miss one; bounded by the size of one object, LINE_MAX_BYTES) */
	int  n_labels, cap_labels;
	char **label_keys;      /* n_labels heap strings */
	char **label_values;
};

/* Append the label key=value (copies both).  0 or -ENOMEM. */
int pod_add_label(struct pod *p, const char *key, const char *value);

/* Fill p from a Pod JSON object (parsed with JSON_ALLOW_NUL or not).
 * Returns 0, or -EINVAL with err naming the missing/invalid field
 * (metadata.uid is required; uid, namespace, name, resourceVersion,
 * nodeName or a pod IP containing a NUL character reject the pod), -ENOMEM.
 * Unparsable or non-unicast IPs (unspecified, loopback, multicast, IPv4
 * broadcast) are skipped with a note; a label whose key or value holds a
 * NUL is skipped with a note; an annotation holding a NUL is kept, flagged
 * (class_annotation_nul / ports_annotation_nul).  On return 0 err is "" or
 * holds non-fatal notes worth logging, each naming the field and value
 * (the caller names the pod).  An -EINVAL error names the pod itself
 * ("pod NAMESPACE/NAME: " or "pod uid UID: ") once uid/name are read.  On
 * error p holds nothing to free. */
int pod_from_json(const json_t *obj, struct pod *p, char *err, size_t errlen);
/* Deep copy src into dst (dst is overwritten, not freed).  0 or -ENOMEM
 * (then dst holds nothing to free). */
int pod_copy(struct pod *dst, const struct pod *src);
/* Value of label key, or NULL. */
const char *pod_label(const struct pod *p, const char *key);
/* Free the strings pod_from_json/pod_copy allocated; p may be reused.
 * Safe on a zeroed pod and twice in a row. */
void pod_free(struct pod *p);
/* 64-bit FNV-1a of the UID; never returns 0 (0 maps to 1). */
uint64_t pod_id_from_uid(const char *uid);
/* Parse an IPv4 or IPv6 text address into the endpoint key (IPv4-mapped,
 * RFC 4291 2.5.5.2; network byte order).  0 or -EINVAL. */
int ip_from_string(const char *s, struct tcprio_ip *out);
/* Format an endpoint key as text (IPv4 for mapped addresses) into buf
 * (INET6_ADDRSTRLEN bytes suffice); returns buf. */
const char *ip_to_string(const struct tcprio_ip *ip, char *buf, size_t len);

#endif
