// SPDX-License-Identifier: BSD-2-Clause
/*
 * kubeconfig.c - where the Kubernetes API is and how to log in to it:
 * in-cluster service-account files, or a kubeconfig file (libyaml).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>
#include <openssl/evp.h>
#include "kube/kube_client.h"
#include "lib/log.h"
#include "lib/yaml_guard.h"
#include "kube/kube_exec.h"

/* Largest file we read (CA bundles, tokens, kubeconfigs): 4 MiB. */
#define KUBE_FILE_MAX (4u << 20)
/* Deepest nesting of lists/mappings accepted in a kubeconfig (the format
 * needs 6: root, users, user entry, user, exec, env entry).  Checked before
 * the document is built: libyaml's loader takes quadratic time in the depth
 * (20,000 levels took 0.56 s, 80,000 levels 7.9 s). */
#define KUBECONFIG_MAX_DEPTH 32

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int kube_read_file(const char *path, char **out, size_t *lenp)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ret = 0;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) < 0) {
		ret = -errno; /* st is undefined here: do not read st_size */
		goto cleanup;
	}
	if (st.st_size > KUBE_FILE_MAX) {
		ret = -EFBIG;
		goto cleanup;
	}
	buf = malloc(KUBE_FILE_MAX + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto cleanup;
	}
	len = fread(buf, 1, KUBE_FILE_MAX + 1, f);
	if (ferror(f) || len > KUBE_FILE_MAX) {
		ret = ferror(f) ? -EIO : -EFBIG;
		goto cleanup;
	}
	buf[len] = '\0';
	*out = realloc(buf, len + 1) ?: buf;
	buf = NULL;
	if (lenp)
		*lenp = len;
cleanup:
	free(buf);
	fclose(f);
	return ret;
}

/* Strip trailing whitespace (token files end in a newline). */
static void rstrip(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

int kube_read_token(const char *path, char **out)
{
	char *tok = NULL;
	int ret;

	ret = kube_read_file(path, &tok, NULL);
	if (ret)
		return ret;
	rstrip(tok);
	if (!tok[0] || strpbrk(tok, "\r\n")) {
		free(tok);
		return -EINVAL;
	}
	*out = tok;
	return 0;
}

/* RFC 4648 section 4 base64 (standard alphabet; whitespace anywhere and
 * missing padding accepted, as kubectl writes and reads it), decoded by
 * OpenSSL's EVP_DecodeBlock.  That function takes no whitespace, wants
 * whole 4-character groups and counts each "=" as a decoded 0 byte, so the
 * text is compacted and padded here and the padding taken off the result.
 * Returns a NUL-terminated malloc'd buffer or NULL (bad character, bad
 * padding, out of memory). */
static char *base64_decode(const char *in, size_t *outlen)
{
	size_t n = strlen(in), m = 0, pad = 0;
	char *text = malloc(n + 4), *out = NULL;
	int len;

	if (!text)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)in[i]))
			text[m++] = in[i];
	while (m % 4)
		text[m++] = '=';
	while (pad < 2 && m > pad && text[m - 1 - pad] == '=')
		pad++;
	text[m] = '\0';
	if (m > INT_MAX || !(out = malloc(m / 4 * 3 + 1)))
		goto fail;
	len = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)text, (int)m);
	if (len < 0 || (size_t)len < pad)
		goto fail;
	len -= (int)pad;
	out[len] = '\0';
	if (outlen)
		*outlen = (size_t)len;
	free(text);
	return out;
fail:
	free(text);
	free(out);
	return NULL;
}

/* ---- libyaml document helpers ---- */

static yaml_node_t *ymap_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pair;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(doc, pair->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, key))
			return yaml_document_get_node(doc, pair->value);
	}
	return NULL;
}

static const char *yscalar(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* In the sequence `list` (clusters/users/contexts), the entry whose name is
 * `name`; returns its `field` mapping (cluster/user/context). */
static yaml_node_t *ynamed(yaml_document_t *doc, yaml_node_t *root, const char *list,
			   const char *name, const char *field)
{
	yaml_node_t *seq = ymap_get(doc, root, list);
	yaml_node_item_t *it;

	if (!seq || seq->type != YAML_SEQUENCE_NODE || !name)
		return NULL;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(doc, *it);
		const char *n = yscalar(ymap_get(doc, e, "name"));

		if (n && !strcmp(n, name))
			return ymap_get(doc, e, field);
	}
	return NULL;
}

/* Resolve a kubeconfig path relative to the kubeconfig's directory.
 * Returns 0, or -ENAMETOOLONG if it does not fit in len bytes. */
static int resolve_path(char *out, size_t len, const char *base_dir, const char *p)
{
	int n;

	if (p[0] == '/' || !base_dir[0])
		n = snprintf(out, len, "%s", p);
	else
		n = snprintf(out, len, "%s/%.*s", base_dir, PATH_MAX, p);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Load a PEM value from "<key>-data" (base64) or "<key>" (a file path). */
static int load_pem(yaml_document_t *doc, yaml_node_t *m, const char *key, const char *dir,
		    char **out, char *err, size_t errlen)
{
	char dkey[64], path[PATH_MAX];
	const char *v;
	int ret;

	snprintf(dkey, sizeof(dkey), "%s-data", key);
	v = yscalar(ymap_get(doc, m, dkey));
	if (v) {
		*out = base64_decode(v, NULL);
		if (!*out) {
			set_err(err, errlen, "kubeconfig: %s is not valid base64", dkey);
			return -EINVAL;
		}
		return 0;
	}
	v = yscalar(ymap_get(doc, m, key));
	if (!v)
		return 0;
	ret = resolve_path(path, sizeof(path), dir, v);
	if (!ret)
		ret = kube_read_file(path, out, NULL);
	if (ret)
		set_err(err, errlen, "kubeconfig: cannot read %s %s: %s", key, path, strerror(-ret));
	return ret;
}

/* A malloc'd NULL-terminated copy of the scalars of sequence n (NULL node:
 * empty) after lead empty slots; NULL with err set if n is not a list of
 * scalars (or out of memory). */
static char **scalar_list(yaml_document_t *doc, yaml_node_t *n, const char *what,
			  size_t lead, char *err, size_t errlen)
{
	size_t count = 0, i = lead;
	yaml_node_item_t *it;
	char **out;

	if (n && n->type != YAML_SEQUENCE_NODE) {
		set_err(err, errlen, "kubeconfig: exec.%s: expected a list", what);
		return NULL;
	}
	if (n)
		count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	out = calloc(lead + count + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (it = n ? n->data.sequence.items.start : NULL; n && it < n->data.sequence.items.top; it++) {
		const char *v = yscalar(yaml_document_get_node(doc, *it));

		if (!v || !(out[i++] = strdup(v))) {
			set_err(err, errlen, "kubeconfig: exec.%s: expected text items", what);
			for (size_t k = 0; k < i; k++)
				free(out[k]);
			free(out);
			return NULL;
		}
	}
	return out;
}

/* users[].user.exec: command, args, env [{name, value}], apiVersion,
 * installHint, interactiveMode (Always needs a terminal the agent has
 * not).  Runs the plugin once: a broken one fails the start, loudly. */
static int load_exec(struct kube_config *c, yaml_document_t *doc, yaml_node_t *ex,
		     const char *dir, const char *uname, char *err, size_t errlen)
{
	const char *cmd = yscalar(ymap_get(doc, ex, "command"));
	const char *api = yscalar(ymap_get(doc, ex, "apiVersion"));
	const char *mode = yscalar(ymap_get(doc, ex, "interactiveMode"));
	const char *hint = yscalar(ymap_get(doc, ex, "installHint"));
	yaml_node_t *env = ymap_get(doc, ex, "env");
	struct kube_exec *x;
	char path[PATH_MAX];
	size_t n_env = 0;
	int ret;

	if (!cmd || !cmd[0]) {
		set_err(err, errlen, "kubeconfig: user \"%s\": exec.command is required", uname);
		return -EINVAL;
	}
	if (!api || (strcmp(api, "client.authentication.k8s.io/v1") &&
		     strcmp(api, "client.authentication.k8s.io/v1beta1"))) {
		set_err(err, errlen, "kubeconfig: user \"%s\": exec.apiVersion \"%s\"; expected "
			"client.authentication.k8s.io/v1 or /v1beta1", uname, api ?: "");
		return -EINVAL;
	}
	if (mode && !strcmp(mode, "Always")) {
		set_err(err, errlen, "kubeconfig: user \"%s\": exec.interactiveMode Always needs a "
			"terminal; the agent has none", uname);
		return -EINVAL;
	}
	if (env && env->type != YAML_SEQUENCE_NODE) {
		set_err(err, errlen, "kubeconfig: user \"%s\": exec.env: expected a list of "
			"{name, value}", uname);
		return -EINVAL;
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	c->exec = x;
	x->argv = scalar_list(doc, ymap_get(doc, ex, "args"), "args", 1, err, errlen);
	if (!x->argv)
		return -EINVAL;
	/* client-go: a command with a path separator is relative to the
	 * kubeconfig's folder; a bare name is looked up in PATH */
	if (strchr(cmd, '/') && resolve_path(path, sizeof(path), dir, cmd) == 0)
		cmd = path;
	if (!(x->argv[0] = strdup(cmd)) || !(x->api_version = strdup(api)) ||
	    (hint && !(x->install_hint = strdup(hint))))
		return -ENOMEM;
	if (env)
		n_env = (size_t)(env->data.sequence.items.top - env->data.sequence.items.start);
	x->env = calloc(n_env + 1, sizeof(*x->env));
	if (!x->env)
		return -ENOMEM;
	for (size_t i = 0; i < n_env; i++) {
		yaml_node_t *e = yaml_document_get_node(doc, env->data.sequence.items.start[i]);
		const char *name = yscalar(ymap_get(doc, e, "name"));
		const char *value = yscalar(ymap_get(doc, e, "value"));

		if (!name || !name[0] || strchr(name, '=') || !value) {
			set_err(err, errlen, "kubeconfig: user \"%s\": exec.env[%zu]: expected "
				"{name, value}", uname, i);
			return -EINVAL;
		}
		if (asprintf(&x->env[i], "%s=%s", name, value) < 0) {
			x->env[i] = NULL;
			return -ENOMEM;
		}
	}
	free(c->token); /* the plugin's token wins, as in client-go */
	c->token = NULL;
	ret = kube_exec_run(x, &c->token, &c->token_expiry, err, errlen);
	if (!ret)
		pr_info("kubeconfig: user \"%s\": token from exec plugin %s%s", uname, x->argv[0],
			c->token_expiry ? " (cached until it expires)" : "");
	return ret;
}

static int config_from_doc(struct kube_config *c, yaml_document_t *doc, const char *dir,
			   char *err, size_t errlen)
{
	yaml_node_t *root = yaml_document_get_root_node(doc), *ctx, *cl, *us;
	const char *cur, *cname, *uname, *server, *v;
	int ret;

	cur = yscalar(ymap_get(doc, root, "current-context"));
	if (!cur || !cur[0]) {
		set_err(err, errlen, "kubeconfig: no current-context");
		return -EINVAL;
	}
	ctx = ynamed(doc, root, "contexts", cur, "context");
	if (!ctx) {
		set_err(err, errlen, "kubeconfig: context \"%s\" not found", cur);
		return -EINVAL;
	}
	cname = yscalar(ymap_get(doc, ctx, "cluster"));
	uname = yscalar(ymap_get(doc, ctx, "user"));
	cl = ynamed(doc, root, "clusters", cname, "cluster");
	if (!cl) {
		set_err(err, errlen, "kubeconfig: cluster \"%s\" of context \"%s\" not found",
			cname ?: "", cur);
		return -EINVAL;
	}
	server = yscalar(ymap_get(doc, cl, "server"));
	if (!server || strncmp(server, "https://", 8)) {
		set_err(err, errlen, "kubeconfig: cluster \"%s\": server must be an https:// URL, got \"%s\"",
			cname, server ?: "");
		return -EINVAL;
	}
	if (strlen(server) >= sizeof(c->server)) {
		set_err(err, errlen, "kubeconfig: server URL longer than %zu bytes", sizeof(c->server) - 1);
		return -EINVAL;
	}
	snprintf(c->server, sizeof(c->server), "%s", server);
	rstrip(c->server);
	while (strlen(c->server) > 8 && c->server[strlen(c->server) - 1] == '/')
		c->server[strlen(c->server) - 1] = '\0';
	v = yscalar(ymap_get(doc, cl, "insecure-skip-tls-verify"));
	if (v && !strcmp(v, "true")) {
		set_err(err, errlen, "kubeconfig: cluster \"%s\": insecure-skip-tls-verify: true is "
			"not supported: the agent always verifies TLS; give the cluster's CA as "
			"certificate-authority(-data) instead", cname);
		return -EINVAL;
	}
	if (ymap_get(doc, cl, "proxy-url")) {
		set_err(err, errlen, "kubeconfig: cluster \"%s\": proxy-url is not supported; "
			"the agent connects to the server directly", cname);
		return -EINVAL;
	}
	ret = load_pem(doc, cl, "certificate-authority", dir, &c->ca_pem, err, errlen);
	if (ret)
		return ret;

	us = uname ? ynamed(doc, root, "users", uname, "user") : NULL;
	if (!us) {
		pr_info("kubeconfig: user \"%s\" not found; no credentials", uname ?: "");
		return 0;
	}
	ret = load_pem(doc, us, "client-certificate", dir, &c->client_cert_pem, err, errlen);
	if (!ret)
		ret = load_pem(doc, us, "client-key", dir, &c->client_key_pem, err, errlen);
	if (ret)
		return ret;
	if (!!c->client_cert_pem != !!c->client_key_pem) {
		set_err(err, errlen, "kubeconfig: user \"%s\" has a client certificate without key or "
			"a key without certificate", uname);
		return -EINVAL;
	}
	v = yscalar(ymap_get(doc, us, "token"));
	if (v && v[0]) {
		c->token = strdup(v);
		if (!c->token)
			return -ENOMEM;
	}
	v = yscalar(ymap_get(doc, us, "tokenFile"));
	if (v && v[0]) {
		if (resolve_path(c->token_file, sizeof(c->token_file), dir, v)) {
			set_err(err, errlen, "kubeconfig: tokenFile path longer than %zu bytes",
				sizeof(c->token_file) - 1);
			return -ENAMETOOLONG;
		}
		if (!c->token) {
			ret = kube_read_token(c->token_file, &c->token);
			if (ret) {
				set_err(err, errlen, "kubeconfig: cannot read tokenFile %s: %s",
					c->token_file, strerror(-ret));
				return ret;
			}
		}
	}
	if (ymap_get(doc, us, "auth-provider")) {
		v = yscalar(ymap_get(doc, ymap_get(doc, us, "auth-provider"), "name"));
		set_err(err, errlen, "kubeconfig: user \"%s\": auth-provider %s is not supported "
			"(removed from client-go in Kubernetes 1.26); use its exec plugin "
			"(gke-gcloud-auth-plugin, kubelogin, aws eks get-token)", uname, v ?: "");
		return -EINVAL;
	}
	if (ymap_get(doc, us, "username") || ymap_get(doc, us, "password")) {
		set_err(err, errlen, "kubeconfig: user \"%s\": username/password (basic "
			"authentication, removed in Kubernetes 1.19) is not supported; use a "
			"token, a client certificate or an exec plugin", uname);
		return -EINVAL;
	}
	if (ymap_get(doc, us, "exec"))
		return load_exec(c, doc, ymap_get(doc, us, "exec"), dir, uname, err, errlen);
	return 0;
}

int kube_config_from_file(struct kube_config *c, const char *path, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	bool have_parser = false, have_doc = false;
	char dir[PATH_MAX], *slash, *text = NULL, gerr[256] = "";
	size_t len;
	int ret;

	memset(c, 0, sizeof(*c));
	ret = kube_read_file(path, &text, &len);
	if (ret) {
		set_err(err, errlen, "kubeconfig %s: %s", path, strerror(-ret));
		goto cleanup;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	ret = yaml_guard(text, len, KUBECONFIG_MAX_DEPTH, "a kubeconfig (6 levels)",
			 gerr, sizeof(gerr));
	if (ret) {
		set_err(err, errlen, "kubeconfig %s: %s", path, gerr);
		goto cleanup;
	}
	if (!yaml_parser_initialize(&parser)) {
		ret = -ENOMEM;
		goto cleanup;
	}
	have_parser = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		set_err(err, errlen, "kubeconfig %s: YAML error at line %zu: %s", path,
			parser.problem_mark.line + 1, parser.problem ?: "unknown");
		ret = -EINVAL;
		goto cleanup;
	}
	have_doc = true;
	if (!yaml_document_get_root_node(&doc)) {
		set_err(err, errlen, "kubeconfig %s: empty document", path);
		ret = -EINVAL;
		goto cleanup;
	}
	ret = config_from_doc(c, &doc, dir, err, errlen);
cleanup:
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	free(text);
	if (ret)
		kube_config_free(c);
	return ret;
}

int kube_config_in_cluster(struct kube_config *c, const char *dir, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char path[PATH_MAX];
	int ret;

	memset(c, 0, sizeof(*c));
	if (!dir)
		dir = KUBE_SA_DIR;
	if (!host || !host[0] || !port || !port[0]) {
		set_err(err, errlen, "not in a cluster: KUBERNETES_SERVICE_HOST and "
			"KUBERNETES_SERVICE_PORT must be set");
		ret = -ENOENT;
		goto cleanup;
	}
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5) {
		set_err(err, errlen, "KUBERNETES_SERVICE_PORT \"%s\" is not a port number", port);
		ret = -EINVAL;
		goto cleanup;
	}
	/* RFC 3986 section 3.2.2: an IPv6 literal goes in brackets. */
	if (strchr(host, ':'))
		snprintf(c->server, sizeof(c->server), "https://[%s]:%s", host, port);
	else
		snprintf(c->server, sizeof(c->server), "https://%s:%s", host, port);
	snprintf(c->token_file, sizeof(c->token_file), "%s/token", dir);
	ret = kube_read_token(c->token_file, &c->token);
	if (ret) {
		set_err(err, errlen, "service-account token %s: %s", c->token_file, strerror(-ret));
		goto cleanup;
	}
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	ret = kube_read_file(path, &c->ca_pem, NULL);
	if (ret)
		set_err(err, errlen, "service-account CA %s: %s", path, strerror(-ret));
cleanup:
	if (ret)
		kube_config_free(c);
	return ret;
}

void kube_config_free(struct kube_config *c)
{
	if (!c)
		return;
	free(c->ca_pem);
	free(c->token);
	free(c->client_cert_pem);
	free(c->client_key_pem);
	kube_exec_free(c->exec);
	c->exec = NULL;
	c->ca_pem = c->token = c->client_cert_pem = c->client_key_pem = NULL;
}
