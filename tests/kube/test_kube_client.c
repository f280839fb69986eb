// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_kube_client.c - user/kube/kube_client.h and kube_watch.h against tests/apiserver/fake_apiserver.py
 * (started here as a child on port 0 in a temp folder, killed by PID at the end).
 * TAP output.  Each scenario runs kube_pod_watch_run (kube_watch_run on the
 * pods of one node) in a thread whose
 * handler records what it was given.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <sys/prctl.h>
#include "kube/kube_watch.h"
#include "kube/kube_http.h"
#include "lib/log.h"
#include "tap.h"

static char tmpdir[256];
static pid_t server_pid;
static int api_port, ctl_port;
static char server_url[256], token[128];

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- control channel (plain HTTP on 127.0.0.1) ---- */

struct membuf { char *p; size_t n; };

static size_t mem_write(char *p, size_t sz, size_t n, void *ud)
{
	struct membuf *m = ud;
	char *np = realloc(m->p, m->n + sz * n + 1);

	if (!np)
		return 0;
	m->p = np;
	memcpy(m->p + m->n, p, sz * n);
	m->n += sz * n;
	m->p[m->n] = '\0';
	return sz * n;
}

/* POST body (or GET when body is NULL) to the control port; parsed reply. */
static json_t *ctl(const char *path, const char *body)
{
	struct membuf m = { 0 };
	char url[256];
	json_t *j = NULL;
	CURL *e = curl_easy_init();
	long code = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", ctl_port, path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, mem_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &m);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
	if (body)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(e) == CURLE_OK) {
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
		j = json_loads(m.p ? m.p : "", 0, NULL);
		if (code != 200)
			printf("# control %s -> %ld %s", path, code, m.p ? m.p : "");
	}
	curl_easy_cleanup(e);
	free(m.p);
	return j;
}

static void ctlf(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ctlf(const char *path, const char *fmt, ...)
{
	char body[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	json_decref(ctl(path, body));
}

/* Index of the next request-log entry. */
static int req_mark(void)
{
	json_t *j = ctl("/ctl/requests?since=1000000000", NULL);
	int n = (int)json_integer_value(json_object_get(j, "next"));

	json_decref(j);
	return n;
}

/* Count requests since mark for node (fieldSelector) of a kind and status
 * (status 0 = any); copy the last one's resourceVersion query to rv. */
static int req_count(int since, const char *node, const char *kind, int status, char *rv, size_t rvlen)
{
	char path[64], sel[128];
	json_t *j, *r;
	size_t i;
	int n = 0;

	snprintf(path, sizeof(path), "/ctl/requests?since=%d", since);
	snprintf(sel, sizeof(sel), "spec.nodeName=%s", node);
	j = ctl(path, NULL);
	json_array_foreach(json_object_get(j, "requests"), i, r) {
		json_t *q = json_object_get(r, "query");
		const char *fs = json_string_value(json_object_get(q, "fieldSelector"));
		const char *k = json_string_value(json_object_get(r, "kind"));

		if (!fs || strcmp(fs, sel) || !k || strcmp(k, kind))
			continue;
		if (status && json_integer_value(json_object_get(r, "status")) != status)
			continue;
		n++;
		if (rv)
			snprintf(rv, rvlen, "%s", json_string_value(json_object_get(q, "resourceVersion")) ?: "");
	}
	json_decref(j);
	return n;
}

/* ---- recorder ---- */

struct rec {
	pthread_mutex_t mu;
	int lists, events, bookmarks, relists, reconnects, synced;
	int last_list_n;
	int min_list_n;                 /* smallest list ever given */
	int nul_annotations;            /* pods given whose tcprio.io/class holds a NUL */
	bool wrong_node;                /* a pod of another node was given */
	char node[64];
	char last_list_rv[64];
	json_t *last_list_names;        /* array of "ns/name" */
	json_t *ev;                     /* array of {type, name, rv} */
};

static const char *pod_node(json_t *p)
{
	return json_string_value(json_object_get(json_object_get(p, "spec"), "nodeName")) ?: "";
}

/* 1 if pod's tcprio.io/class annotation holds a NUL character (JSON "\u0000"). */
static int class_has_nul(json_t *pod)
{
	json_t *v = json_object_get(json_object_get(json_object_get(pod, "metadata"),
						    "annotations"), "tcprio.io/class");

	return json_is_string(v) && json_string_length(v) != strlen(json_string_value(v));
}

static void on_list(void *ctx, json_t *pods, const char *rv)
{
	struct rec *r = ctx;
	json_t *names = json_array(), *p;
	size_t i;

	json_array_foreach(pods, i, p) {
		json_t *md = json_object_get(p, "metadata");

		json_array_append_new(names, json_sprintf("%s/%s",
			json_string_value(json_object_get(md, "namespace")),
			json_string_value(json_object_get(md, "name"))));
		if (strcmp(pod_node(p), r->node))
			r->wrong_node = true;
	}
	pthread_mutex_lock(&r->mu);
	json_array_foreach(pods, i, p)
		r->nul_annotations += class_has_nul(p);
	r->lists++;
	r->last_list_n = (int)json_array_size(pods);
	if (r->min_list_n < 0 || r->last_list_n < r->min_list_n)
		r->min_list_n = r->last_list_n;
	snprintf(r->last_list_rv, sizeof(r->last_list_rv), "%s", rv);
	json_decref(r->last_list_names);
	r->last_list_names = names;
	pthread_mutex_unlock(&r->mu);
}

static void on_event(void *ctx, const char *type, json_t *pod)
{
	struct rec *r = ctx;
	json_t *md = json_object_get(pod, "metadata");

	pthread_mutex_lock(&r->mu);
	r->events++;
	r->nul_annotations += class_has_nul(pod);
	if (strcmp(pod_node(pod), r->node))
		r->wrong_node = true;
	json_array_append_new(r->ev, json_pack("{s:s, s:s, s:s}", "type", type,
		"name", json_string_value(json_object_get(md, "name")) ?: "",
		"rv", json_string_value(json_object_get(md, "resourceVersion")) ?: ""));
	pthread_mutex_unlock(&r->mu);
}

static void on_status(void *ctx, const char *what)
{
	struct rec *r = ctx;

	pthread_mutex_lock(&r->mu);
	if (!strcmp(what, "bookmark"))
		r->bookmarks++;
	else if (!strcmp(what, "relist"))
		r->relists++;
	else if (!strcmp(what, "reconnect"))
		r->reconnects++;
	else if (!strcmp(what, "list-synced"))
		r->synced++;
	pthread_mutex_unlock(&r->mu);
}

struct runner {
	struct kube_config cfg;
	struct kube_watch_opts o;
	struct kube_watch_handler h;
	struct rec r;
	atomic_bool stop;
	pthread_t th;
	int ret;
	bool started;
};

static void *run_thread(void *arg)
{
	struct runner *x = arg;

	x->ret = kube_pod_watch_run(&x->cfg, x->r.node, &x->o, &x->h, &x->stop);
	return NULL;
}

static void runner_start(struct runner *x, const char *node)
{
	memset(&x->r, 0, sizeof(x->r));
	pthread_mutex_init(&x->r.mu, NULL);
	snprintf(x->r.node, sizeof(x->r.node), "%s", node);
	x->r.ev = json_array();
	x->r.min_list_n = -1;
	if (!x->o.backoff_min_ms)
		x->o.backoff_min_ms = 100;
	if (!x->o.backoff_max_ms)
		x->o.backoff_max_ms = 400;
	x->h = (struct kube_watch_handler){ .on_list = on_list, .on_event = on_event,
					  .on_status = on_status, .ctx = &x->r };
	atomic_store(&x->stop, false);
	x->started = pthread_create(&x->th, NULL, run_thread, x) == 0;
}

/* Stop and join; returns the milliseconds the stop took. */
static long long runner_stop(struct runner *x)
{
	long long t0 = now_ms();

	if (!x->started)
		return -1;
	atomic_store(&x->stop, true);
	pthread_join(x->th, NULL);
	x->started = false;
	t0 = now_ms() - t0;
	kube_config_free(&x->cfg);
	json_decref(x->r.ev);
	json_decref(x->r.last_list_names);
	pthread_mutex_destroy(&x->r.mu);
	return t0;
}

/* Wait up to ms for *field (an int of the recorder) to reach at least v. */
static bool wait_int(struct runner *x, int *field, int v, long ms)
{
	long long end = now_ms() + ms;
	int cur;

	do {
		pthread_mutex_lock(&x->r.mu);
		cur = *field;
		pthread_mutex_unlock(&x->r.mu);
		if (cur >= v)
			return true;
		msleep(20);
	} while (now_ms() < end);
	return false;
}

static int get_int(struct runner *x, int *field)
{
	int v;

	pthread_mutex_lock(&x->r.mu);
	v = *field;
	pthread_mutex_unlock(&x->r.mu);
	return v;
}

static bool list_has(struct runner *x, const char *nsname)
{
	json_t *n;
	size_t i;
	bool found = false;

	pthread_mutex_lock(&x->r.mu);
	json_array_foreach(x->r.last_list_names, i, n)
		if (!strcmp(json_string_value(n), nsname))
			found = true;
	pthread_mutex_unlock(&x->r.mu);
	return found;
}

/* The i-th event as "TYPE name"; "" if none. */
static void event_at(struct runner *x, int i, char *out, size_t len, long *rv)
{
	json_t *e;

	pthread_mutex_lock(&x->r.mu);
	e = json_array_get(x->r.ev, (size_t)i);
	snprintf(out, len, "%s %s", e ? json_string_value(json_object_get(e, "type")) : "",
		 e ? json_string_value(json_object_get(e, "name")) : "");
	if (rv)
		*rv = e ? atol(json_string_value(json_object_get(e, "rv"))) : 0;
	pthread_mutex_unlock(&x->r.mu);
}

static void add_pod(const char *name, const char *node, const char *ip)
{
	ctlf("/ctl/add", "{\"name\":\"%s\",\"namespace\":\"default\",\"node\":\"%s\",\"podIP\":\"%s\"}",
	     name, node, ip);
}

static int load_config(struct kube_config *c, const char *file)
{
	char path[PATH_MAX], err[256] = "";
	int ret;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, file);
	ret = kube_config_from_file(c, path, err, sizeof(err));
	if (ret)
		printf("# %s: %s\n", file, err);
	return ret;
}

/*
 * need_config(c, file): load a kubeconfig a test cannot run without.  A
 * failure is a failed check (this test's own set-up wrote the file), never a
 * silent return.  Returns true when loaded.
 */
static bool need_config(struct kube_config *c, const char *file, const char *test)
{
	if (!load_config(c, file))
		return true;
	CHECK(0, "%s: load %s written by the test's set-up", test, file);
	return false;
}

/* ---- server lifecycle ---- */

static const char *server_script(void)
{
	static char path[PATH_MAX];
	char exe[1024];
	ssize_t n;

	if (access("tests/apiserver/fake_apiserver.py", R_OK) == 0)
		return "tests/apiserver/fake_apiserver.py";
	/* build/tests/kube/test_kube_client -> ../../../tests/apiserver */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		for (int i = 0; i < 4 && strrchr(exe, '/'); i++)
			*strrchr(exe, '/') = '\0';
		snprintf(path, sizeof(path), "%s/tests/apiserver/fake_apiserver.py", exe);
	}
	return path;
}

static int start_server(void)
{
	char ports[PATH_MAX], logp[PATH_MAX], kc[PATH_MAX];
	long long end;
	json_t *j;

	snprintf(ports, sizeof(ports), "%s/ports.json", tmpdir);
	snprintf(logp, sizeof(logp), "%s/server.log", tmpdir);
	snprintf(kc, sizeof(kc), "%s/kubeconfig", tmpdir);
	server_pid = fork();
	if (server_pid < 0)
		return -errno;
	if (server_pid == 0) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int nul = open("/dev/null", O_WRONLY);

		/* The server dies with the test, however the test ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);

		dup2(nul, 1);
		dup2(fd, 2);
		execl("/usr/bin/python3", "python3", server_script(), "--port", "0",
		      "--control-port", "0", "--state-dir", tmpdir, "--write-kubeconfig", kc,
		      "--node", "node-a", (char *)NULL);
		_exit(127);
	}
	end = now_ms() + 30000;
	while (now_ms() < end) {
		j = json_load_file(ports, 0, NULL);
		if (j) {
			api_port = (int)json_integer_value(json_object_get(j, "port"));
			ctl_port = (int)json_integer_value(json_object_get(j, "control_port"));
			snprintf(server_url, sizeof(server_url), "%s",
				 json_string_value(json_object_get(j, "server")));
			snprintf(token, sizeof(token), "%s",
				 json_string_value(json_object_get(j, "token")));
			json_decref(j);
			return 0;
		}
		if (waitpid(server_pid, NULL, WNOHANG) == server_pid) {
			server_pid = 0;
			return -ECHILD;
		}
		msleep(50);
	}
	return -ETIMEDOUT;
}

static void stop_server(void)
{
	char cmd[PATH_MAX + 16];

	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		msleep(100);
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
		server_pid = 0;
	}
	if (tmpdir[0] && !getenv("KEEP_TMP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			printf("# could not remove %s\n", tmpdir);
	}
}

/* ---- tests ---- */

static void test_config(void)
{
	struct kube_config c;
	char path[PATH_MAX], err[256] = "";
	int ret;
	FILE *f;

	ret = load_config(&c, "kubeconfig");
	CHECK(ret == 0 && !strcmp(c.server, server_url) && c.token && !strcmp(c.token, token) &&
	      c.ca_pem && !strncmp(c.ca_pem, "-----BEGIN CERTIFICATE-----", 27) &&
	      !c.client_cert_pem, "kubeconfig: server, token, certificate-authority-data (base64)");
	kube_config_free(&c);

	ret = load_config(&c, "kubeconfig-cert");
	CHECK(ret == 0 && !c.token && c.client_cert_pem && strstr(c.client_cert_pem, "BEGIN CERTIFICATE") &&
	      c.client_key_pem && strstr(c.client_key_pem, "PRIVATE KEY") && c.ca_pem,
	      "kubeconfig: client-certificate/client-key/certificate-authority as relative paths");
	kube_config_free(&c);

	ret = load_config(&c, "kubeconfig-tokenfile");
	snprintf(path, sizeof(path), "%s/token", tmpdir);
	CHECK(ret == 0 && c.token && !strcmp(c.token, token) && !strcmp(c.token_file, path),
	      "kubeconfig: tokenFile read, remembered for re-reading");
	kube_config_free(&c);

	snprintf(path, sizeof(path), "%s/bad-kubeconfig", tmpdir);
	f = fopen(path, "w");
	fprintf(f, "apiVersion: v1\nkind: Config\ncurrent-context: x\ncontexts:\n"
		   "- name: x\n  context:\n    cluster: nowhere\n    user: u\n");
	fclose(f);
	ret = kube_config_from_file(&c, path, err, sizeof(err));
	CHECK(ret == -EINVAL && strstr(err, "nowhere"), "kubeconfig: missing cluster is -EINVAL naming it (%s)", err);

	/* base64 *-data: line breaks inside and missing padding are accepted
	 * (kubectl tolerates both); a character outside the alphabet is not. */
	{
		static const char *const data[] = {
			/* 59 bytes: one "=" of padding, dropped, and a line break */
			"\"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0t\\nLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo\"",
			/* 34 bytes: "==" padding present */
			"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJ4Cg==",
			"LS0tLS1CRUdJTi*CRVJUSUZJQ0FURS0tLS0tCk1JSUJ4Cg==",
		};
		static const char *const want[] = {
			"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
			"-----BEGIN CERTIFICATE-----\nMIIBx\n", NULL,
		};

		for (int i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "%s/b64-kubeconfig", tmpdir);
			f = fopen(path, "w");
			fprintf(f, "apiVersion: v1\nkind: Config\ncurrent-context: x\ncontexts:\n"
				   "- name: x\n  context:\n    cluster: c\n    user: u\nclusters:\n"
				   "- name: c\n  cluster:\n    server: https://127.0.0.1:1\n"
				   "    certificate-authority-data: %s\nusers:\n- name: u\n  user:\n"
				   "    token: t\n", data[i]);
			fclose(f);
			err[0] = '\0';
			ret = kube_config_from_file(&c, path, err, sizeof(err));
			if (want[i])
				CHECK(ret == 0 && c.ca_pem && !strcmp(c.ca_pem, want[i]),
				      "kubeconfig: base64 certificate-authority-data case %d decoded exactly (%d %s)",
				      i, ret, err);
			else
				CHECK(ret == -EINVAL && strstr(err, "not valid base64"),
				      "kubeconfig: a '*' in base64 data is -EINVAL naming it (%s)", err);
			if (ret == 0)
				kube_config_free(&c);
		}
	}

	ret = kube_config_from_file(&c, "/nonexistent/kubeconfig", err, sizeof(err));
	CHECK(ret == -ENOENT && strstr(err, "/nonexistent/kubeconfig"), "kubeconfig: missing file is -ENOENT (%s)", err);

	snprintf(path, sizeof(path), "%s/serviceaccount", tmpdir);
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	snprintf(err, sizeof(err), "%d", api_port);
	setenv("KUBERNETES_SERVICE_PORT", err, 1);
	ret = kube_config_in_cluster(&c, path, err, sizeof(err));
	CHECK(ret == 0 && !strcmp(c.server, server_url) && c.token && !strcmp(c.token, token) && c.ca_pem &&
	      strstr(c.token_file, "serviceaccount/token"), "in-cluster: env + service-account folder");
	kube_config_free(&c);
	setenv("KUBERNETES_SERVICE_HOST", "::1", 1);
	ret = kube_config_in_cluster(&c, path, err, sizeof(err));
	CHECK(ret == 0 && !strncmp(c.server, "https://[::1]:", 14), "in-cluster: IPv6 host in brackets (%s)", c.server);
	kube_config_free(&c);
	unsetenv("KUBERNETES_SERVICE_HOST");
	ret = kube_config_in_cluster(&c, path, err, sizeof(err));
	CHECK(ret == -ENOENT, "in-cluster: without KUBERNETES_SERVICE_HOST is -ENOENT (%s)", err);
	unsetenv("KUBERNETES_SERVICE_PORT");
}

/* Fuzzing findings: a kubeconfig nested 20,000 deep is refused at once (the
 * document loader took 0.56 s: quadratic), a NUL in a string is refused
 * instead of cutting it. */
static void test_config_hostile(void)
{
	size_t depth = 20000, n;
	char path[PATH_MAX], err[256] = "";
	struct kube_config c;
	long long t0, ms;
	char *y = malloc(2 * depth + 64);
	int ret;
	FILE *f;

	if (!y)
		abort();
	n = (size_t)sprintf(y, "apiVersion: v1\nclusters: ");
	memset(y + n, '[', depth);
	memset(y + n + depth, ']', depth);
	n += 2 * depth;
	y[n++] = '\n';
	snprintf(path, sizeof(path), "%s/deep-kubeconfig", tmpdir);
	f = fopen(path, "w");
	fwrite(y, 1, n, f);
	fclose(f);
	free(y);
	t0 = now_ms();
	ret = kube_config_from_file(&c, path, err, sizeof(err));
	ms = now_ms() - t0;
	CHECK(ret == -EINVAL && strstr(err, "nested deeper than 32 levels at line 2") && ms < 100,
	      "kubeconfig: 20,000 levels of nesting refused in %lld ms (%s)", ms, err);

	snprintf(path, sizeof(path), "%s/nul-kubeconfig", tmpdir);
	f = fopen(path, "w");
	fprintf(f, "apiVersion: v1\nkind: Config\ncurrent-context: \"x\\0y\"\ncontexts:\n"
		   "- name: x\n  context:\n    cluster: c\n    user: u\n");
	fclose(f);
	ret = kube_config_from_file(&c, path, err, sizeof(err));
	CHECK(ret == -EINVAL && strstr(err, "line 3 contains a NUL character"),
	      "kubeconfig: a NUL in a string is refused, not cut (%s)", err);
}

static void test_bad_options(void)
{
	struct kube_config c = { .server = "https://127.0.0.1:1" };
	struct kube_watch_opts o = { 0 };
	struct kube_watch_handler h = { .on_list = on_list, .on_event = on_event };
	atomic_bool stop = false;

	CHECK(kube_pod_watch_run(&c, "", &o, &h, &stop) == -EINVAL, "watch: empty node name is -EINVAL");
	o.page_limit = -1;
	CHECK(kube_pod_watch_run(&c, "n", &o, &h, &stop) == -EINVAL, "watch: negative page limit is -EINVAL");
}

/* A config that must not get anywhere: nothing listed, no HTTP request seen. */
static void test_refused(const char *what, const char *node, void (*tweak)(struct kube_config *))
{
	struct runner x = { 0 };
	int mark = req_mark();

	if (!need_config(&x.cfg, "kubeconfig", __func__))
		return;
	tweak(&x.cfg);
	runner_start(&x, node);
	msleep(1500);
	CHECK(get_int(&x, &x.r.lists) == 0, "%s: no list delivered", what);
	if (!strcmp(node, "node-tls"))
		CHECK(req_count(mark, node, "list", 0, NULL, 0) == 0,
		      "%s: TLS refused before any HTTP request", what);
	else
		CHECK(req_count(mark, node, "list", 401, NULL, 0) >= 2,
		      "%s: server answered 401 and the client kept retrying", what);
	runner_stop(&x);
}

static void wrong_ca(struct kube_config *c)
{
	char path[PATH_MAX];

	free(c->ca_pem);
	c->ca_pem = NULL;
	snprintf(path, sizeof(path), "%s/wrong-ca.crt", tmpdir);
	kube_read_file(path, &c->ca_pem, NULL);
}

static void bad_token(struct kube_config *c)
{
	free(c->token);
	c->token = strdup("not-the-token");
}

/* The main scenario on node-a: paging, events, bookmarks, drops, 410s. */
static void test_watch_scenario(void)
{
	struct runner x = { 0 };
	char name[64], ip[32], ev[128], rv[64], bm_rv[64];
	long rv1 = 0, rv2 = 0, rv3 = 0;
	int mark, n, lists, events;
	bool ok;
	json_t *j;

	/* 7 pods on node-a, 3 on node-b */
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "%s-%d", i < 7 ? "a" : "b", i);
		snprintf(ip, sizeof(ip), "198.18.0.%d", 10 + i);
		add_pod(name, i < 7 ? "node-a" : "node-b", ip);
	}
	if (!need_config(&x.cfg, "kubeconfig", __func__))
		return;
	x.o.page_limit = 3;
	x.o.watch_timeout_s = 60;
	x.o.idle_timeout_s = 60;
	mark = req_mark();
	runner_start(&x, "node-a");
	ok = wait_int(&x, &x.r.lists, 1, 5000);
	n = get_int(&x, &x.r.last_list_n);
	CHECK(ok && n == 7 && !x.r.wrong_node, "list: 7 pods of node-a, none of node-b (got %d)", n);
	CHECK(req_count(mark, "node-a", "list", 200, NULL, 0) == 1 &&
	      req_count(mark, "node-a", "continue", 200, NULL, 0) == 2,
	      "list: 3 pages of limit 3 joined into one on_list");
	CHECK(get_int(&x, &x.r.synced) == 1, "list: on_status list-synced");

	/* events in order */
	wait_int(&x, &x.r.lists, 1, 0);
	msleep(300); /* the watch is open */
	add_pod("a-new", "node-a", "198.18.0.50");
	add_pod("b-new", "node-b", "198.18.0.51");
	ctlf("/ctl/modify", "{\"name\":\"a-new\",\"annotations\":{\"tcprio.io/class\":\"high\"}}");
	ctlf("/ctl/delete", "{\"name\":\"a-new\"}");
	CHECK(wait_int(&x, &x.r.events, 3, 5000), "watch: 3 events arrive");
	msleep(200);
	event_at(&x, 0, ev, sizeof(ev), &rv1);
	CHECK(!strcmp(ev, "ADDED a-new"), "watch: first ADDED a-new (%s)", ev);
	event_at(&x, 1, ev, sizeof(ev), &rv2);
	CHECK(!strcmp(ev, "MODIFIED a-new"), "watch: then MODIFIED a-new (%s)", ev);
	event_at(&x, 2, ev, sizeof(ev), &rv3);
	CHECK(!strcmp(ev, "DELETED a-new") && rv1 < rv2 && rv2 < rv3,
	      "watch: then DELETED a-new, resourceVersions rising (%s %ld %ld %ld)", ev, rv1, rv2, rv3);
	CHECK(get_int(&x, &x.r.events) == 3 && !x.r.wrong_node, "watch: node-b's pod not delivered");

	/* bookmark: RV moves, no event; a dropped watch resumes from it without relist */
	add_pod("b-other", "node-b", "198.18.0.52"); /* moves the global RV past our last event */
	j = ctl("/ctl/bookmark", "{}");
	snprintf(bm_rv, sizeof(bm_rv), "%s", json_string_value(json_object_get(j, "resourceVersion")) ?: "");
	json_decref(j);
	CHECK(wait_int(&x, &x.r.bookmarks, 1, 3000) && get_int(&x, &x.r.events) == 3,
	      "bookmark: on_status bookmark, no event");
	mark = req_mark();
	lists = get_int(&x, &x.r.lists);
	json_decref(ctl("/ctl/drop", "{}"));
	msleep(100);
	add_pod("a-after-drop", "node-a", "198.18.0.53");
	CHECK(wait_int(&x, &x.r.events, 4, 5000), "drop: the event after a dropped connection arrives");
	req_count(mark, "node-a", "watch", 200, rv, sizeof(rv));
	CHECK(!strcmp(rv, bm_rv), "drop: watch resumed from the bookmark's resourceVersion %s (asked %s)", bm_rv, rv);
	msleep(300);
	CHECK(get_int(&x, &x.r.lists) == lists && req_count(mark, "node-a", "list", 0, NULL, 0) == 0 &&
	      get_int(&x, &x.r.events) == 4, "drop: no relist, no duplicate event");

	/* 410: away while a pod is deleted and history compacted -> relist */
	json_decref(ctl("/ctl/pause", "{}"));
	ctlf("/ctl/delete", "{\"name\":\"a-2\"}");
	json_decref(ctl("/ctl/compact", "{}"));
	msleep(300);
	mark = req_mark();
	json_decref(ctl("/ctl/resume", "{}"));
	CHECK(wait_int(&x, &x.r.lists, lists + 1, 5000) && get_int(&x, &x.r.relists) >= 1,
	      "410: watch from a compacted resourceVersion relists");
	CHECK(req_count(mark, "node-a", "watch", 200, NULL, 0) >= 1, "410: the ERROR came in a watch stream");
	CHECK(!list_has(&x, "default/a-2") && list_has(&x, "default/a-after-drop") &&
	      get_int(&x, &x.r.last_list_n) == 7,
	      "410: the new list replaces the set: a-2 deleted during the gap is absent (%d pods)",
	      get_int(&x, &x.r.last_list_n));

	/* expired continue token -> the list restarts, on_list gets the full set once */
	lists = get_int(&x, &x.r.lists);
	mark = req_mark();
	ctlf("/ctl/fail", "{\"match\":\"continue\",\"status\":410,\"count\":1}");
	add_pod("b-bump1", "node-b", "198.18.0.55"); /* history moves past our RV */
	json_decref(ctl("/ctl/compact", "{}"));
	json_decref(ctl("/ctl/drop", "{}"));
	CHECK(wait_int(&x, &x.r.lists, lists + 1, 5000), "expired continue: a list is delivered");
	msleep(300);
	n = req_count(mark, "node-a", "list", 200, NULL, 0);
	CHECK(req_count(mark, "node-a", "continue", 410, NULL, 0) == 1 && n == 2 &&
	      get_int(&x, &x.r.lists) == lists + 1 && get_int(&x, &x.r.last_list_n) == 7 &&
	      get_int(&x, &x.r.min_list_n) == 7,
	      "expired continue: list restarted from page 1 (%d first pages), one full on_list", n);

	/* a list that fails midway (500) is not delivered partially */
	lists = get_int(&x, &x.r.lists);
	mark = req_mark();
	ctlf("/ctl/fail", "{\"match\":\"continue\",\"status\":500,\"count\":2}");
	add_pod("b-bump2", "node-b", "198.18.0.56");
	json_decref(ctl("/ctl/compact", "{}"));
	json_decref(ctl("/ctl/drop", "{}"));
	CHECK(wait_int(&x, &x.r.lists, lists + 1, 8000), "list 500 midway: retried and delivered");
	CHECK(req_count(mark, "node-a", "continue", 500, NULL, 0) == 2 && get_int(&x, &x.r.min_list_n) == 7 &&
	      get_int(&x, &x.r.lists) == lists + 1, "list 500 midway: never a partial on_list");

	/* an event split over many writes, then several events in one write */
	events = get_int(&x, &x.r.events);
	ctlf("/ctl/fragment", "{\"bytes\":7}");
	add_pod("a-fragmented", "node-a", "198.18.0.57");
	ok = wait_int(&x, &x.r.events, events + 1, 8000);
	ctlf("/ctl/fragment", "{\"bytes\":0}");
	event_at(&x, events, ev, sizeof(ev), NULL);
	CHECK(ok && !strcmp(ev, "ADDED a-fragmented"), "watch: an event split into 7-byte chunks is parsed (%s)", ev);
	ctlf("/ctl/bulk", "{\"ops\":[{\"op\":\"modify\",\"name\":\"a-0\",\"phase\":\"Failed\"},"
	     "{\"op\":\"modify\",\"name\":\"a-1\",\"phase\":\"Failed\"},"
	     "{\"op\":\"delete\",\"name\":\"a-fragmented\"}]}");
	ok = wait_int(&x, &x.r.events, events + 4, 5000);
	msleep(200);
	event_at(&x, events + 3, ev, sizeof(ev), NULL);
	CHECK(ok && get_int(&x, &x.r.events) == events + 4 && !strcmp(ev, "DELETED a-fragmented"),
	      "watch: a burst of 3 events arrives once each, in order");

	/* server unreachable: backoff, then recovery */
	events = get_int(&x, &x.r.events);
	n = get_int(&x, &x.r.reconnects);
	json_decref(ctl("/ctl/pause", "{}"));
	msleep(2000);
	n = get_int(&x, &x.r.reconnects) - n;
	CHECK(n >= 3 && n <= 15, "pause: kept retrying with backoff (%d attempts in 2 s, 100..400 ms)", n);
	lists = get_int(&x, &x.r.lists);
	json_decref(ctl("/ctl/resume", "{}"));
	msleep(600);
	add_pod("a-after-pause", "node-a", "198.18.0.54");
	CHECK(wait_int(&x, &x.r.events, events + 1, 3000) && get_int(&x, &x.r.lists) == lists,
	      "pause: recovered, resumed the watch without relist, event arrives");

	CHECK(runner_stop(&x) < 1000, "stop: kube_pod_watch_run returns within 1 s");
}

/* timeoutSeconds and the idle timeout both reconnect without relisting. */
static void test_timeouts(void)
{
	struct runner x = { 0 };
	int mark, w;

	if (!need_config(&x.cfg, "kubeconfig", __func__))
		return;
	x.o.watch_timeout_s = 1;
	x.o.idle_timeout_s = 60;
	mark = req_mark();
	runner_start(&x, "node-t");
	wait_int(&x, &x.r.lists, 1, 5000);
	msleep(2600);
	w = req_count(mark, "node-t", "watch", 200, NULL, 0);
	CHECK(w >= 2 && get_int(&x, &x.r.lists) == 1, "timeoutSeconds=1: watch renewed (%d watches), no relist", w);
	runner_stop(&x);

	if (!need_config(&x.cfg, "kubeconfig", __func__))
		return;
	x.o.watch_timeout_s = 300;
	x.o.idle_timeout_s = 1;
	mark = req_mark();
	runner_start(&x, "node-i");
	wait_int(&x, &x.r.lists, 1, 5000);
	msleep(3500);
	w = req_count(mark, "node-i", "watch", 200, NULL, 0);
	CHECK(w >= 2 && get_int(&x, &x.r.lists) == 1, "idle 1 s: silent watch restarted (%d watches), no relist", w);
	CHECK(runner_stop(&x) < 1000, "stop: prompt during an open silent watch");
}

/* 2000 pods in pages of 500 (the default) joined into one on_list. */
static void test_big_list(void)
{
	struct runner x = { 0 };
	json_t *ops = json_array(), *body;
	long long t0;
	char *text;
	int mark, n;

	for (int i = 0; i < 2000; i++) {
		char name[32], ip[32];

		snprintf(name, sizeof(name), "big-%d", i);
		snprintf(ip, sizeof(ip), "198.19.%d.%d", i / 250, i % 250 + 1);
		json_array_append_new(ops, json_pack("{s:s, s:s, s:s, s:s}", "op", "add",
						     "name", name, "node", "node-big", "podIP", ip));
	}
	body = json_pack("{s:o}", "ops", ops);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(ctl("/ctl/bulk", text));
	free(text);
	json_decref(body);
	if (!need_config(&x.cfg, "kubeconfig", __func__))
		return;
	mark = req_mark();
	t0 = now_ms();
	runner_start(&x, "node-big");
	wait_int(&x, &x.r.lists, 1, 20000);
	n = get_int(&x, &x.r.last_list_n);
	CHECK(n == 2000 && req_count(mark, "node-big", "continue", 200, NULL, 0) == 3 && !x.r.wrong_node,
	      "list: 2000 pods in 4 pages of 500 joined (%d pods, %lld ms)", n, now_ms() - t0);
	runner_stop(&x);
}

/* Other credentials: client certificate, in-cluster, rotated token file. */
static void test_credentials(void)
{
	struct runner x = { 0 };
	char path[PATH_MAX], port[16], err[256];
	int mark;

	if (need_config(&x.cfg, "kubeconfig-cert", __func__)) {
		runner_start(&x, "node-a");
		CHECK(wait_int(&x, &x.r.lists, 1, 5000) && get_int(&x, &x.r.last_list_n) >= 7,
		      "client certificate: list accepted");
		runner_stop(&x);
	}

	snprintf(path, sizeof(path), "%s/serviceaccount", tmpdir);
	snprintf(port, sizeof(port), "%d", api_port);
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", port, 1);
	if (!kube_config_in_cluster(&x.cfg, path, err, sizeof(err))) {
		runner_start(&x, "node-a");
		CHECK(wait_int(&x, &x.r.lists, 1, 5000), "in-cluster config: list accepted");
		runner_stop(&x);
	} else {
		CHECK(0, "in-cluster config: %s", err);
	}
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");

	/* token rotation: 401 -> re-read tokenFile -> go on */
	if (!need_config(&x.cfg, "kubeconfig-tokenfile", __func__))
		return;
	runner_start(&x, "node-r");
	wait_int(&x, &x.r.lists, 1, 5000);
	msleep(200);
	mark = req_mark();
	ctlf("/ctl/set_token", "{\"token\":\"rotated-token-2\"}");
	json_decref(ctl("/ctl/drop", "{}"));
	msleep(300);
	add_pod("r-1", "node-r", "198.18.0.60");
	CHECK(wait_int(&x, &x.r.events, 1, 5000) && req_count(mark, "node-r", "watch", 401, NULL, 0) >= 1 &&
	      get_int(&x, &x.r.lists) == 1, "token rotation: 401, token file re-read, watch resumed");
	runner_stop(&x);
}

/* A "\u0000" in an annotation value is valid JSON: the list and the watch
 * deliver such pods and the pods after them, without reconnecting. */
static void test_nul_annotation(void)
{
	struct runner x = { 0 };
	char ev[128];
	int mark;

	ctlf("/ctl/add", "{\"name\":\"nul-1\",\"node\":\"node-nul\",\"podIP\":\"198.18.0.70\","
	     "\"annotations\":{\"tcprio.io/class\":\"critical\\u0000x\"}}");
	add_pod("nul-2", "node-nul", "198.18.0.71");
	if (!need_config(&x.cfg, "kubeconfig", __func__))
		return;
	x.o.watch_timeout_s = 60;
	x.o.idle_timeout_s = 60;
	mark = req_mark();
	runner_start(&x, "node-nul");
	CHECK(wait_int(&x, &x.r.lists, 1, 5000) && get_int(&x, &x.r.last_list_n) == 2 &&
	      list_has(&x, "default/nul-1") && get_int(&x, &x.r.nul_annotations) == 1,
	      "NUL in an annotation: list delivers that pod (NUL kept) and the others");
	msleep(300); /* the watch is open */
	ctlf("/ctl/add", "{\"name\":\"nul-3\",\"node\":\"node-nul\",\"podIP\":\"198.18.0.72\","
	     "\"annotations\":{\"tcprio.io/class\":\"\\u0000\"}}");
	add_pod("nul-4", "node-nul", "198.18.0.73");
	CHECK(wait_int(&x, &x.r.events, 2, 5000), "NUL in an annotation: watch delivers 2 events");
	event_at(&x, 0, ev, sizeof(ev), NULL);
	CHECK(!strcmp(ev, "ADDED nul-3") && get_int(&x, &x.r.nul_annotations) == 2,
	      "NUL in an annotation: the event with the NUL arrives as JSON (%s)", ev);
	event_at(&x, 1, ev, sizeof(ev), NULL);
	CHECK(!strcmp(ev, "ADDED nul-4"), "NUL in an annotation: the next event too (%s)", ev);
	CHECK(req_count(mark, "node-nul", "watch", 0, NULL, 0) == 1 && get_int(&x, &x.r.lists) == 1,
	      "NUL in an annotation: one watch, no reconnect, no relist");
	runner_stop(&x);
}

/* An event line jansson cannot parse (a NUL inside a label *key*) is skipped;
 * the stream goes on; when the watch ends the client relists instead of
 * resuming after the lost event. */
static void test_unparsable_event(void)
{
	struct runner x = { 0 };
	char ev[128];
	int mark, watches;

	if (!need_config(&x.cfg, "kubeconfig", __func__))
		return;
	x.o.watch_timeout_s = 3;
	x.o.idle_timeout_s = 60;
	mark = req_mark();
	runner_start(&x, "node-bad");
	wait_int(&x, &x.r.lists, 1, 5000);
	msleep(300);
	ctlf("/ctl/add", "{\"name\":\"bad-1\",\"node\":\"node-bad\",\"podIP\":\"198.18.0.80\","
	     "\"labels\":{\"te\\u0000am\":\"x\"}}");
	add_pod("good-1", "node-bad", "198.18.0.81");
	CHECK(wait_int(&x, &x.r.events, 1, 3000), "unparsable event: the next event still arrives");
	event_at(&x, 0, ev, sizeof(ev), NULL);
	watches = req_count(mark, "node-bad", "watch", 0, NULL, 0);
	CHECK(!strcmp(ev, "ADDED good-1") && get_int(&x, &x.r.events) == 1 && watches == 1,
	      "unparsable event: skipped, same watch goes on (%s, %d watches)", ev, watches);
	ctlf("/ctl/delete", "{\"name\":\"bad-1\"}"); /* also unparsable: skipped */
	CHECK(wait_int(&x, &x.r.lists, 2, 6000) && get_int(&x, &x.r.relists) >= 1 &&
	      get_int(&x, &x.r.last_list_n) == 1 && list_has(&x, "default/good-1"),
	      "unparsable event: relist when the watch ends (lists %d, relists %d)",
	      get_int(&x, &x.r.lists), get_int(&x, &x.r.relists));
	msleep(3500);
	CHECK(get_int(&x, &x.r.lists) == 2, "unparsable event: one relist, then plain watches (%d lists)",
	      get_int(&x, &x.r.lists));
	runner_stop(&x);
}

/* A list that cannot be parsed (same NUL key) is retried with growing
 * backoff, and succeeds once the pod is gone. */
static void test_unparsable_list_backoff(void)
{
	struct runner x = { 0 };
	int mark, n;

	ctlf("/ctl/add", "{\"name\":\"bad-2\",\"node\":\"node-badlist\",\"podIP\":\"198.18.0.82\","
	     "\"labels\":{\"k\\u0000\":\"x\"}}");
	add_pod("good-2", "node-badlist", "198.18.0.83");
	if (!need_config(&x.cfg, "kubeconfig", __func__))
		return;
	x.o.backoff_min_ms = 100;
	x.o.backoff_max_ms = 3200;
	mark = req_mark();
	runner_start(&x, "node-badlist");
	msleep(2000);
	n = req_count(mark, "node-badlist", "list", 200, NULL, 0);
	/* growing: 50..100 + 100..200 + 200..400 + 400..800 + 800..1600 ms; fixed 100 ms: ~25 */
	CHECK(n >= 2 && n <= 7 && get_int(&x, &x.r.lists) == 0,
	      "unparsable list: retried with growing backoff (%d lists in 2 s)", n);
	ctlf("/ctl/delete", "{\"name\":\"bad-2\"}");
	CHECK(wait_int(&x, &x.r.lists, 1, 5000) && list_has(&x, "default/good-2"),
	      "unparsable list: synced once the pod is gone");
	runner_stop(&x);
}

/* Peak RSS of this process in KiB (VmHWM), after resetting it when reset
 * (clear_refs 5, proc(5)). */
static long peak_rss_kib(bool reset)
{
	char line[256];
	long kib = -1;
	FILE *f;

	if (reset && (f = fopen("/proc/self/clear_refs", "w"))) {
		fputs("5", f);
		fclose(f);
	}
	f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			kib = atol(line + 6);
	if (f)
		fclose(f);
	return kib;
}

/* stderr (the log) into a file while a case runs; stderr_end returns what
 * was written (static buffer). */
static int saved_stderr = -1;
static char stderr_path[PATH_MAX];
static void stderr_begin(void)
{
	int fd;

	snprintf(stderr_path, sizeof(stderr_path), "%s/stderr.log", tmpdir);
	fd = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}
static const char *stderr_end(void)
{
	static char text[16384];
	size_t n = 0;
	FILE *f;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	f = fopen(stderr_path, "r");
	if (f) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	text[n] = '\0';
	return text;
}

/*
 * A broken API server or proxy: a list page of 64 MiB (once: peak RSS 525
 * MiB with 512 MiB pages allowed), a page of 15 MiB of "{}," (text that
 * parses 70 times larger), a page trickled at 20 KiB/s.  Each is an error
 * with a warning naming the bound, the list is retried with backoff and
 * syncs once the server behaves; the peak RSS grows by far less than the
 * page.
 */
static void test_hostile_lists(void)
{
	static const struct { const char *mode; long bytes, rate; const char *log, *what; } cases[] = {
		{ "padding", 64L << 20, 0, "larger than 16 MiB, the bound for one page",
		  "64 MiB list page" },
		{ "objects", 15L << 20, 0, "more than the bound of 96 MiB",
		  "15 MiB list page of empty objects (about 1.1 GiB parsed)" },
	};
	struct runner x = { 0 };
	long long t0;
	long base, peak;
	const char *log;
	int mark;

	add_pod("calm-1", "node-hostile", "198.18.0.90");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!need_config(&x.cfg, "kubeconfig", __func__))
			return;
		ctlf("/ctl/misbehave", "{\"list\":\"%s\",\"bytes\":%ld,\"count\":1}",
		     cases[i].mode, cases[i].bytes);
		mark = req_mark();
		base = peak_rss_kib(true);
		stderr_begin();
		runner_start(&x, "node-hostile");
		wait_int(&x, &x.r.lists, 1, 20000);
		peak = peak_rss_kib(false);
		log = stderr_end();
		CHECK(get_int(&x, &x.r.lists) == 1 && list_has(&x, "default/calm-1") &&
		      req_count(mark, "node-hostile", "list", 200, NULL, 0) == 2,
		      "%s: dropped, then listed on the retry", cases[i].what);
		CHECK(strstr(log, cases[i].log) != NULL, "%s: a warning names the bound (%.200s)",
		      cases[i].what, log);
		CHECK(peak - base < 40 * 1024, "%s: peak RSS grew by %ld KiB (< 40 MiB)",
		      cases[i].what, peak - base);
		runner_stop(&x);
	}

	/* 400 KiB at 20 KiB/s passes curl's low-speed check: list_timeout_s ends it */
	if (!need_config(&x.cfg, "kubeconfig", __func__))
		return;
	ctlf("/ctl/misbehave", "{\"list\":\"padding\",\"bytes\":409600,\"rate\":20480,\"count\":1}");
	x.o.list_timeout_s = 2;
	t0 = now_ms();
	runner_start(&x, "node-hostile");
	wait_int(&x, &x.r.lists, 1, 15000);
	CHECK(get_int(&x, &x.r.lists) == 1 && now_ms() - t0 < 6000,
	      "list page trickled at 20 KiB/s: cut after list_timeout_s (2 s), listed on the retry "
	      "(%lld ms)", now_ms() - t0);
	runner_stop(&x);
	ctlf("/ctl/misbehave", "{\"count\":0}");
}

/* Write text to tmpdir/name (mode); the path in path (PATH_MAX). */
static void write_tmp(const char *name, const char *text, int mode, char *path)
{
	FILE *f;

	snprintf(path, PATH_MAX, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, mode);
}

/* Count of plugin runs (the test plugin appends a line per run). */
static int exec_runs(void)
{
	char path[PATH_MAX];
	int n = 0, c;
	FILE *f;

	snprintf(path, sizeof(path), "%s/exec-runs", tmpdir);
	f = fopen(path, "r");
	while (f && (c = getc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

/* A kubeconfig whose user is the exec plugin ./exec-plugin.sh (relative to
 * the kubeconfig's folder) with the given extra exec lines; path out. */
static void exec_kubeconfig(const char *name, const char *exec_extra, char *path)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
		 "clusters:\n- name: c\n  cluster:\n    server: %s\n"
		 "    certificate-authority: ca.crt\n"
		 "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
		 "users:\n- name: u\n  user:\n    exec:\n"
		 "      apiVersion: client.authentication.k8s.io/v1\n"
		 "      command: ./exec-plugin.sh\n      args: [--cluster, test]\n"
		 "      env: [{name: TPT_EXEC_VAR, value: from-kubeconfig}]\n"
		 "      interactiveMode: Never\n%s", server_url, exec_extra);
	write_tmp(name, text, 0600, path);
}

/*
 * kubeconfig exec credential plugins (EKS, GKE, AKS): a shell script as the
 * plugin prints an ExecCredential with the token in exec-token and an
 * expiry exec-ttl seconds ahead.  It is run once at load (args, env and
 * KUBERNETES_EXEC_INFO checked), its token cached while it is valid, run
 * again when it expires and on a 401; a failing plugin and what stays
 * unsupported stop the load with a message naming them.
 */
static void test_exec_plugin(void)
{
	static const char plugin[] =
		"#!/bin/sh\n"
		"d=$(dirname \"$0\")\n"
		"echo \"$* $TPT_EXEC_VAR $KUBERNETES_EXEC_INFO\" >> \"$d/exec-runs\"\n"
		"[ -f \"$d/exec-fail\" ] && { echo 'plugin: no credentials' >&2; exit 3; }\n"
		"exp=$(date -u -d \"+$(cat \"$d/exec-ttl\") seconds\" +%Y-%m-%dT%H:%M:%SZ)\n"
		"printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
		"\"status\":{\"token\":\"%s\",\"expirationTimestamp\":\"%s\"}}\\n' "
		"\"$(cat \"$d/exec-token\")\" \"$exp\"\n";
	static const struct { const char *yaml, *err; } unsupported[] = {
		{ "users:\n- name: u\n  user:\n    auth-provider: {name: gcp}\n",
		  "auth-provider gcp is not supported" },
		{ "users:\n- name: u\n  user: {username: a, password: b}\n",
		  "username/password (basic authentication" },
		{ "users:\n- name: u\n  user: {token: t}\n"
		  "clusters:\n- name: c\n  cluster: {server: https://198.18.0.1, insecure-skip-tls-verify: true}\n",
		  "insecure-skip-tls-verify: true is not supported" },
		{ "users:\n- name: u\n  user: {token: t}\n"
		  "clusters:\n- name: c\n  cluster: {server: https://198.18.0.1, proxy-url: http://198.18.0.2:3128}\n",
		  "proxy-url is not supported" },
	};
	char path[PATH_MAX], kc[PATH_MAX], err[512] = "", runs[4096] = "";
	struct runner x = { 0 };
	int mark, n;
	FILE *f;

	write_tmp("exec-plugin.sh", plugin, 0755, path);
	write_tmp("exec-token", token, 0600, path);
	write_tmp("exec-ttl", "3600", 0600, path);
	exec_kubeconfig("kubeconfig-exec", "", kc);
	n = kube_config_from_file(&x.cfg, kc, err, sizeof(err));
	CHECK(n == 0 && x.cfg.token && !strcmp(x.cfg.token, token) &&
	      x.cfg.token_expiry > time(NULL) + 3000 && exec_runs() == 1,
	      "exec plugin: run once at load, token and expiry taken (%d %s, %s, %lld s, %d runs)",
	      n, err, n ? "" : x.cfg.token, n ? 0LL : (long long)(x.cfg.token_expiry - time(NULL)),
	      exec_runs());
	snprintf(path, sizeof(path), "%s/exec-runs", tmpdir);
	f = fopen(path, "r");
	if (f) {
		n = (int)fread(runs, 1, sizeof(runs) - 1, f);
		runs[n > 0 ? n : 0] = '\0';
		fclose(f);
	}
	CHECK(strstr(runs, "--cluster test from-kubeconfig {\"apiVersion\":\"client.authentication.k8s.io/v1\","
			   "\"kind\":\"ExecCredential\"") != NULL,
	      "exec plugin: args, env and KUBERNETES_EXEC_INFO given (%.160s)", runs);
	mark = req_mark();
	runner_start(&x, "node-exec");
	CHECK(wait_int(&x, &x.r.lists, 1, 5000) && exec_runs() == 1,
	      "exec plugin: list accepted with its token, no second run while it is valid");
	json_decref(ctl("/ctl/drop", "{}"));
	msleep(500);
	CHECK(exec_runs() == 1 && req_count(mark, "node-exec", "watch", 200, NULL, 0) >= 2,
	      "exec plugin: token cached across reconnects (%d runs)", exec_runs());

	/* rotation: the server takes a new token; the 401 runs the plugin again */
	write_tmp("exec-token", "exec-token-2", 0600, path);
	ctlf("/ctl/set_token", "{\"token\":\"exec-token-2\"}");
	mark = req_mark();
	json_decref(ctl("/ctl/drop", "{}"));
	add_pod("exec-1", "node-exec", "198.18.0.97");
	CHECK(wait_int(&x, &x.r.events, 1, 5000) && req_count(mark, "node-exec", "watch", 401, NULL, 0) >= 1 &&
	      exec_runs() == 2, "exec plugin: a 401 runs it again and the watch resumes (%d runs)",
	      exec_runs());
	runner_stop(&x);

	/* expiry: a token valid for 11 s is renewed 10 s before: run again
	 * before the next request, without a 401 */
	write_tmp("exec-ttl", "11", 0600, path);
	if (!need_config(&x.cfg, "kubeconfig-exec", __func__))
		return;
	n = exec_runs();
	mark = req_mark();
	runner_start(&x, "node-exec");
	wait_int(&x, &x.r.lists, 1, 5000);
	msleep(1500);
	json_decref(ctl("/ctl/drop", "{}"));
	msleep(800);
	CHECK(exec_runs() >= n + 1 && req_count(mark, "node-exec", "watch", 401, NULL, 0) + req_count(mark, "node-exec", "list", 401, NULL, 0) == 0,
	      "exec plugin: an expiring token is renewed before use, no 401 (%d runs)", exec_runs() - n);
	runner_stop(&x);
	ctlf("/ctl/set_token", "{\"token\":\"%s\"}", token);

	/* a failing plugin fails the load, naming the command, status, hint */
	write_tmp("exec-fail", "", 0600, path);
	exec_kubeconfig("kubeconfig-exec-hint", "      installHint: install tpt-auth\n", kc);
	CHECK(kube_config_from_file(&x.cfg, kc, err, sizeof(err)) == -EINVAL &&
	      strstr(err, "exec-plugin.sh: exit status 3") && strstr(err, "install tpt-auth"),
	      "exec plugin failing: load fails naming command, status and hint (%s)", err);
	unlink(path);
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
		char text[1024];

		snprintf(text, sizeof(text), "apiVersion: v1\ncurrent-context: x\n"
			 "contexts:\n- name: x\n  context: {cluster: c, user: u}\n%s%s",
			 strstr(unsupported[i].yaml, "clusters:") ? "" :
			 "clusters:\n- name: c\n  cluster: {server: https://198.18.0.1}\n",
			 unsupported[i].yaml);
		write_tmp("kubeconfig-unsupported", text, 0600, kc);
		CHECK(kube_config_from_file(&x.cfg, kc, err, sizeof(err)) == -EINVAL &&
		      strstr(err, unsupported[i].err), "kubeconfig: fails at load: %s (%s)",
		      unsupported[i].err, err);
	}
}

/* Failures say why, at warn level, and kube_last_error (the /readyz body)
 * holds the last one until a list succeeds: a CA that did not sign the
 * server's certificate (was curl's "SSL peer certificate or SSH remote key
 * was not OK" at info level), a 403 naming the RBAC verb and resource. */
static void test_error_reasons(void)
{
	struct runner x = { 0 };
	char last[512];
	const char *log;

	if (!need_config(&x.cfg, "kubeconfig", __func__))
		return;
	wrong_ca(&x.cfg);
	stderr_begin();
	runner_start(&x, "node-why");
	msleep(1200);
	kube_last_error(last, sizeof(last));
	runner_stop(&x);
	log = stderr_end();
	CHECK(strstr(last, "Pod list failed: TLS: SSL certificate problem: ") &&
	      strstr(last, "not signed by the configured CA"),
	      "wrong CA: the reason says the CA did not sign the certificate (%s)", last);
	CHECK(strstr(log, " warn kube: list failed (TLS: ") != NULL,
	      "wrong CA: logged at warn (%.200s)", log);

	add_pod("why-1", "node-why", "198.18.0.98");
	if (!need_config(&x.cfg, "kubeconfig", __func__))
		return;
	ctlf("/ctl/fail", "{\"match\":\"list\",\"status\":403,\"count\":2}");
	stderr_begin();
	runner_start(&x, "node-why");
	msleep(150);
	kube_last_error(last, sizeof(last));
	wait_int(&x, &x.r.lists, 1, 5000);
	log = stderr_end();
	CHECK(strstr(last, "HTTP 403 Forbidden: RBAC does not let this agent's ServiceAccount "
			   "list pods") && strstr(log, " warn kube: list failed (HTTP 403"),
	      "403: warning and last error name the RBAC verb and resource (%s)", last);
	kube_last_error(last, sizeof(last));
	CHECK(get_int(&x, &x.r.lists) == 1 && last[0] == '\0',
	      "403 gone: listed, the last error cleared (%s)", last);
	runner_stop(&x);
}

/* t_ns of the requests since mark for node: the last watch answered 200
 * before the first list after it; 0 if not found. */
static void watch_then_list(int mark, const char *node, long long *watch_ns, long long *list_ns)
{
	char path[64], sel[128];
	json_t *j, *r;
	size_t i;

	*watch_ns = *list_ns = 0;
	snprintf(path, sizeof(path), "/ctl/requests?since=%d", mark);
	snprintf(sel, sizeof(sel), "spec.nodeName=%s", node);
	j = ctl(path, NULL);
	json_array_foreach(json_object_get(j, "requests"), i, r) {
		const char *fs = json_string_value(json_object_get(json_object_get(r, "query"),
								   "fieldSelector"));
		const char *k = json_string_value(json_object_get(r, "kind"));
		long long t = json_integer_value(json_object_get(r, "t_ns"));

		if (!fs || strcmp(fs, sel) || !k)
			continue;
		if (!strcmp(k, "watch") && json_integer_value(json_object_get(r, "status")) == 200)
			*watch_ns = t;
		else if (!strcmp(k, "list") && *watch_ns) {
			*list_ns = t;
			break;
		}
	}
	json_decref(j);
}

/* The first 410 relists at once: three failed watches (500) grow the
 * backoff, then the next watch meets a compacted history; the relist must
 * not wait out the backoff those connection errors left (it waited 0.8 to
 * 1.6 s). */
static void test_first_410_at_once(void)
{
	struct runner x = { 0 };
	long long w_ns, l_ns;
	int mark;

	add_pod("gone-1", "node-410", "198.18.0.95");
	if (!need_config(&x.cfg, "kubeconfig", __func__))
		return;
	x.o.backoff_min_ms = 200;
	x.o.backoff_max_ms = 3200;
	runner_start(&x, "node-410");
	wait_int(&x, &x.r.lists, 1, 5000);
	msleep(300);
	mark = req_mark();
	ctlf("/ctl/fail", "{\"match\":\"watch\",\"status\":500,\"count\":3}");
	json_decref(ctl("/ctl/drop", "{}"));
	add_pod("gone-bump", "node-other", "198.18.0.96"); /* history moves past our RV */
	json_decref(ctl("/ctl/compact", "{}"));
	wait_int(&x, &x.r.lists, 2, 10000);
	watch_then_list(mark, "node-410", &w_ns, &l_ns);
	CHECK(get_int(&x, &x.r.lists) == 2 && req_count(mark, "node-410", "watch", 500, NULL, 0) == 3 &&
	      w_ns && l_ns && l_ns - w_ns < 300000000LL,
	      "first 410 after 3 failed watches: relisted %lld ms after the 410, not after the backoff",
	      (l_ns - w_ns) / 1000000);
	runner_stop(&x);
}

int main(void)
{
	int ret;

	tap_plan(85);
	log_set_level(getenv("KUBE_TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tcprio-kube-test-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		printf("not ok 1 - mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	ret = start_server();
	if (!CHECK(ret == 0, "fake API server started (%s)", ret ? strerror(-ret) : server_url)) {
		stop_server();
		return 1;
	}
	test_config();
	test_config_hostile();
	test_bad_options();
	test_refused("TLS with a wrong CA", "node-tls", wrong_ca);
	test_refused("bad token", "node-badtoken", bad_token);
	test_watch_scenario();
	test_timeouts();
	test_big_list();
	test_nul_annotation();
	test_unparsable_event();
	test_unparsable_list_backoff();
	test_hostile_lists();
	test_first_410_at_once();
	test_exec_plugin();
	test_error_reasons();
	test_credentials(); /* last: it rotates the server's token */
	stop_server();
	return tap_done();
}
