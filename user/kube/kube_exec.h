/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kube_exec.h - kubeconfig exec credential plugins (users[].user.exec), the
 * client.authentication.k8s.io ExecCredential protocol that EKS (aws eks
 * get-token), GKE (gke-gcloud-auth-plugin) and AKS (kubelogin) use: run the
 * command with KUBERNETES_EXEC_INFO set to an ExecCredential request, read
 * an ExecCredential from its standard output, use status.token until
 * status.expirationTimestamp (RFC 3339), run it again after that or on a
 * 401.  Reference: Kubernetes docs, "client-go credential plugins".
 */
#ifndef TCPRIO_KUBE_EXEC_H
#define TCPRIO_KUBE_EXEC_H

#include <stddef.h>
#include <time.h>

/* One plugin as the kubeconfig describes it (all owned; kube_exec_free). */
struct kube_exec {
	char *api_version;  /* client.authentication.k8s.io/v1 or /v1beta1 */
	char **argv;        /* command (a path with '/' resolved against the
	                     * kubeconfig's folder) and args, NULL-terminated */
	char **env;         /* "NAME=value" added to the agent's environment */
	char *install_hint; /* shown when the command cannot be run, or NULL */
	char *server;       /* cluster server, for provideClusterInfo, or NULL */
};

/* Run x (at most KUBE_EXEC_TIMEOUT_S seconds, stdout at most 1 MiB; its
 * stderr goes to the agent's) and take the token from its ExecCredential.
 * On success *token is malloc'd and *expiry the expiration (0: none given).
 * Returns 0, or -EINVAL / -ETIMEDOUT / -errno with err naming the command
 * and what went wrong (exit status, not JSON, no status.token, a client
 * certificate instead of a token). */
int kube_exec_run(const struct kube_exec *x, char **token, time_t *expiry,
		  char *err, size_t errlen);
#define KUBE_EXEC_TIMEOUT_S 30

/* Free x's strings and x itself; NULL is fine. */
void kube_exec_free(struct kube_exec *x);

#endif
