/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kube_client.h - where the Kubernetes API server is and how to log in
 * (kubeconfig or in-cluster service account).  List + watch of any
 * resource: kube_watch.h; typed objects on their own thread: kube_informer.h.
 */
#ifndef TCPRIO_KUBE_CLIENT_H
#define TCPRIO_KUBE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct kube_exec;

/* Default in-cluster service-account folder (token, ca.crt, namespace). */
#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Where the API server is and how to log in.  Strings are NUL-terminated
 * PEM text; free the pointers with kube_config_free(). */
struct kube_config {
	char server[512];      /* https://host:port, no trailing slash */
	char *ca_pem;          /* CA bundle (PEM), always verified */
	char *token;           /* bearer token, or NULL */
	char *client_cert_pem; /* client certificate (PEM), or NULL */
	char *client_key_pem;  /* client key (PEM), or NULL */
	char token_file[512];  /* re-read on 401 (projected tokens rotate), or "" */
	struct kube_exec *exec; /* exec credential plugin (kube_exec.h), or NULL */
	time_t token_expiry;   /* of an exec plugin's token (0: none given) */
};

/* In-cluster: KUBERNETES_SERVICE_HOST/PORT (an IPv6 host is put in
 * brackets) and the service-account files token and ca.crt under
 * KUBE_SA_DIR (or dir if non-NULL).  Returns 0, -ENOENT when the variables
 * are not set, or -errno with err set (c is then empty). */
int kube_config_in_cluster(struct kube_config *c, const char *dir, char *err, size_t errlen);
/* kubeconfig (YAML, libyaml): current-context's cluster and user: server
 * (must be https://), certificate-authority(-data), token / tokenFile,
 * client-certificate(-data), client-key(-data); *-data values are base64
 * (RFC 4648), relative paths are relative to the kubeconfig's folder;
 * exec (credential plugin, run once here so a broken one stops the agent
 * at start: kube_exec.h).  What stays unsupported is an error naming it:
 * auth-provider, username/password, proxy-url, insecure-skip-tls-verify:
 * true.  Returns 0 or -errno / -EINVAL with err set naming the field (c is
 * then empty). */
int kube_config_from_file(struct kube_config *c, const char *path, char *err, size_t errlen);
/* Free the strings of c (c itself is the caller's). */
void kube_config_free(struct kube_config *c);

/* Helpers shared by kubeconfig.c and kube_watch.c.  Read a whole file (at
 * most 4 MiB) into a NUL-terminated malloc'd *out; 0 or -errno. */
int kube_read_file(const char *path, char **out, size_t *len);
/* Read a bearer token file, trailing whitespace stripped; -EINVAL if empty. */
int kube_read_token(const char *path, char **out);

#endif
