// SPDX-License-Identifier: BSD-2-Clause
/*
 * kube_exec.c - run an exec credential plugin (kube_exec.h).  posix_spawn,
 * not fork: the agent has threads, and only async-signal-safe work may
 * follow a fork in a threaded process.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "kube/kube_exec.h"

#define OUT_MAX (1u << 20) /* an ExecCredential is a few KiB */

extern char **environ;

void kube_exec_free(struct kube_exec *x)
{
	if (!x)
		return;
	for (char **p = x->argv; p && *p; p++)
		free(*p);
	for (char **p = x->env; p && *p; p++)
		free(*p);
	free(x->argv);
	free(x->env);
	free(x->api_version);
	free(x->install_hint);
	free(x->server);
	free(x);
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The agent's environment plus x->env and KUBERNETES_EXEC_INFO (info):
 * a malloc'd array of borrowed strings, or NULL. */
static char **build_env(const struct kube_exec *x, char *info)
{
	size_t n = 0, k = 0, m = 0;
	char **envp;

	while (environ[n])
		n++;
	while (x->env && x->env[m])
		m++;
	envp = calloc(n + m + 2, sizeof(*envp));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "KUBERNETES_EXEC_INFO=", 21))
			envp[k++] = environ[i];
	for (size_t i = 0; i < m; i++)
		envp[k++] = x->env[i];
	envp[k++] = info;
	return envp;
}

/* Read all of fd (at most OUT_MAX bytes) until EOF or the deadline.
 * 0, -ETIMEDOUT, -EFBIG or -errno. */
static int read_all(int fd, char **out, size_t *len, long long deadline)
{
	size_t cap = 4096;
	char *buf = malloc(cap + 1);

	*len = 0;
	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - mono_ms();
		ssize_t n;

		if (left <= 0) {
			free(buf);
			return -ETIMEDOUT;
		}
		if (poll(&p, 1, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR) {
			free(buf);
			return -errno;
		}
		if (!p.revents)
			continue;
		if (*len == cap) {
			char *nb;

			if (cap >= OUT_MAX) {
				free(buf);
				return -EFBIG;
			}
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -errno;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	buf[*len] = '\0';
	*out = buf;
	return 0;
}

/* RFC 3339 "2006-01-02T15:04:05Z" (or with a fraction or an offset) as
 * seconds since the epoch; 0 if it does not parse. */
static time_t rfc3339(const char *s)
{
	struct tm tm = { 0 };
	const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	long off = 0;
	time_t t;

	if (!p)
		return 0;
	if (*p == '.')
		while (*++p >= '0' && *p <= '9')
			;
	if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':')
		off = (p[0] == '-' ? -1 : 1) * (atol(p + 1) * 3600 + atol(p + 4) * 60);
	else if (strcmp(p, "Z") && strcmp(p, "z"))
		return 0;
	t = timegm(&tm);
	return t == (time_t)-1 ? 0 : t - off;
}

/* Take the token out of the plugin's ExecCredential text. */
static int parse_credential(const struct kube_exec *x, const char *text, char **token,
			    time_t *expiry, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr), *st;
	const char *kind, *tok, *exp;
	int ret = -EINVAL;

	if (!j) {
		snprintf(err, errlen, "exec plugin %s: output is not JSON (%s); expected an "
			 "ExecCredential", x->argv[0], jerr.text);
		return -EINVAL;
	}
	kind = json_string_value(json_object_get(j, "kind"));
	st = json_object_get(j, "status");
	tok = json_string_value(json_object_get(st, "token"));
	exp = json_string_value(json_object_get(st, "expirationTimestamp"));
	if (!kind || strcmp(kind, "ExecCredential")) {
		snprintf(err, errlen, "exec plugin %s: output has kind \"%.40s\"; expected "
			 "ExecCredential", x->argv[0], kind ?: "");
	} else if ((!tok || !tok[0]) && json_object_get(st, "clientCertificateData")) {
		snprintf(err, errlen, "exec plugin %s: returned a client certificate; only "
			 "tokens (status.token) are supported", x->argv[0]);
	} else if (!tok || !tok[0] || strpbrk(tok, "\r\n")) {
		snprintf(err, errlen, "exec plugin %s: no status.token in its ExecCredential",
			 x->argv[0]);
	} else if (exp && !rfc3339(exp)) {
		snprintf(err, errlen, "exec plugin %s: status.expirationTimestamp \"%.40s\" is "
			 "not RFC 3339", x->argv[0], exp);
	} else if (!(*token = strdup(tok))) {
		ret = -ENOMEM;
	} else {
		*expiry = exp ? rfc3339(exp) : 0;
		ret = 0;
	}
	json_decref(j);
	return ret;
}

/* Wait for pid, killing it if it has not ended by the deadline; its exit
 * status in *status. */
static void reap(pid_t pid, int *status, long long deadline)
{
	while (waitpid(pid, status, WNOHANG) == 0) {
		if (mono_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return;
		}
		usleep(10000);
	}
}

int kube_exec_run(const struct kube_exec *x, char **token, time_t *expiry,
		  char *err, size_t errlen)
{
	long long deadline = mono_ms() + KUBE_EXEC_TIMEOUT_S * 1000LL;
	posix_spawn_file_actions_t fa;
	char *info = NULL, *out = NULL, **envp = NULL;
	int pfd[2] = { -1, -1 }, status = 0, ret;
	bool have_fa = false;
	size_t len = 0;
	pid_t pid;

	*token = NULL;
	*expiry = 0;
	/* the request: ExecCredential with spec.interactive false (no terminal) */
	if (asprintf(&info, "KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","
		     "\"spec\":{\"interactive\":false}}", x->api_version) < 0) {
		info = NULL;
		ret = -ENOMEM;
		goto cleanup;
	}
	envp = build_env(x, info);
	if (!envp || pipe2(pfd, O_CLOEXEC)) {
		ret = envp ? -errno : -ENOMEM;
		goto cleanup;
	}
	posix_spawn_file_actions_init(&fa);
	have_fa = true;
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	ret = posix_spawnp(&pid, x->argv[0], &fa, NULL, x->argv, envp);
	if (ret) {
		snprintf(err, errlen, "exec plugin %s: cannot run it: %s%s%s", x->argv[0],
			 strerror(ret), x->install_hint ? "; " : "", x->install_hint ?: "");
		ret = -ret;
		goto cleanup;
	}
	close(pfd[1]);
	pfd[1] = -1;
	ret = read_all(pfd[0], &out, &len, deadline);
	reap(pid, &status, ret ? mono_ms() : deadline);
	if (ret) {
		snprintf(err, errlen, "exec plugin %s: %s", x->argv[0],
			 ret == -ETIMEDOUT ? "no answer within 30 s; killed" :
			 ret == -EFBIG ? "more than 1 MiB of output" : strerror(-ret));
		goto cleanup;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (WIFEXITED(status))
			snprintf(err, errlen, "exec plugin %s: exit status %d (its messages are on "
				 "stderr above)%s%s", x->argv[0], WEXITSTATUS(status),
				 x->install_hint ? "; " : "", x->install_hint ?: "");
		else
			snprintf(err, errlen, "exec plugin %s: killed by signal %d", x->argv[0],
				 WTERMSIG(status));
		ret = -EINVAL;
		goto cleanup;
	}
	ret = parse_credential(x, out, token, expiry, err, errlen);
cleanup:
	if (have_fa)
		posix_spawn_file_actions_destroy(&fa);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	free(out);
	free(envp);
	free(info);
	return ret;
}
