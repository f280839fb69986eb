// SPDX-License-Identifier: BSD-2-Clause
/*
 * kube_http.c - libcurl set-up shared by kube_watch.c and kube_events.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kube/kube_http.h"
#include "lib/log.h"
#include "kube/kube_exec.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void kube_http_global_init(void)
{
	pthread_once(&curl_once, curl_init_once);
}

/* Append line to *l; false (and *l freed) when out of memory. */
static bool append(struct curl_slist **l, const char *line)
{
	struct curl_slist *n = curl_slist_append(*l, line);

	if (!n) {
		curl_slist_free_all(*l);
		*l = NULL;
		return false;
	}
	*l = n;
	return true;
}

struct curl_slist *kube_http_headers(const char *token, bool json_body)
{
	struct curl_slist *l = NULL;
	char *auth = NULL;

	if (!append(&l, "Accept: application/json"))
		goto cleanup;
	/* "Expect:" off: no 100-continue round trip before a small body */
	if (json_body && (!append(&l, "Content-Type: application/json") || !append(&l, "Expect:")))
		goto cleanup;
	if (token) {
		if (asprintf(&auth, "Authorization: Bearer %s", token) < 0) {
			auth = NULL;
			curl_slist_free_all(l);
			l = NULL;
			goto cleanup;
		}
		append(&l, auth);
	}
cleanup:
	free(auth);
	return l;
}

void kube_http_setup(CURL *e, const struct kube_config *c, const char *url,
		     struct curl_slist *hdrs, long connect_timeout_s)
{
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_pem) {
		struct curl_blob b = { c->ca_pem, strlen(c->ca_pem), CURL_BLOB_COPY };

		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	}
	if (c->client_cert_pem && c->client_key_pem) {
		struct curl_blob cb = { c->client_cert_pem, strlen(c->client_cert_pem), CURL_BLOB_COPY };
		struct curl_blob kb = { c->client_key_pem, strlen(c->client_key_pem), CURL_BLOB_COPY };

		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &kb);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, connect_timeout_s);
	curl_easy_setopt(e, CURLOPT_USERAGENT, KUBE_HTTP_USER_AGENT);
}

/* Rebuild a->hdrs from a->token.  0 or -ENOMEM (old headers kept). */
static int auth_headers(struct kube_auth *a)
{
	struct curl_slist *l = kube_http_headers(a->token, a->json_body);

	if (!l)
		return -ENOMEM;
	curl_slist_free_all(a->hdrs);
	a->hdrs = l;
	return 0;
}

int kube_auth_init(struct kube_auth *a, const struct kube_config *c, bool json_body)
{
	memset(a, 0, sizeof(*a));
	a->cfg = c;
	a->json_body = json_body;
	a->expiry = c->token_expiry;
	if (c->token && !(a->token = strdup(c->token)))
		return -ENOMEM;
	return auth_headers(a);
}

/* Run the exec plugin again and take its token; true when it changed. */
static bool exec_again(struct kube_auth *a, const char *why)
{
	char err[512] = "", *tok = NULL;
	time_t expiry;
	bool changed;

	if (kube_exec_run(a->cfg->exec, &tok, &expiry, err, sizeof(err))) {
		pr_warn("kube: %s; %s", why, err);
		return false;
	}
	changed = !a->token || strcmp(tok, a->token);
	free(a->token);
	a->token = tok;
	a->expiry = expiry;
	if (!changed || auth_headers(a))
		return false;
	pr_info("kube: %s; new token from exec plugin %s", why, a->cfg->exec->argv[0]);
	return true;
}

struct curl_slist *kube_auth_headers(struct kube_auth *a)
{
	if (a->cfg->exec && a->expiry && time(NULL) >= a->expiry - KUBE_AUTH_EXPIRY_MARGIN_S)
		exec_again(a, "exec plugin token expires");
	return a->hdrs;
}

bool kube_auth_reread(struct kube_auth *a)
{
	char *tok = NULL;
	bool changed;
	int ret;

	if (a->cfg->exec)
		return exec_again(a, "401 Unauthorized");
	if (!a->cfg->token_file[0])
		return false;
	ret = kube_read_token(a->cfg->token_file, &tok);
	if (ret) {
		pr_warn("kube: cannot re-read token file %s: %s", a->cfg->token_file, strerror(-ret));
		return false;
	}
	changed = !a->token || strcmp(tok, a->token);
	free(a->token);
	a->token = tok;
	if (!changed || auth_headers(a))
		return false;
	pr_info("kube: 401 Unauthorized; re-read token from %s", a->cfg->token_file);
	return true;
}

void kube_auth_free(struct kube_auth *a)
{
	free(a->token);
	curl_slist_free_all(a->hdrs);
	a->token = NULL;
	a->hdrs = NULL;
}

bool kube_http_describe(CURL *e, CURLcode res, const char *errbuf, char *out, size_t len)
{
	const char *detail = errbuf && errbuf[0] ? errbuf : curl_easy_strerror(res), *hint = "";
	long vr = 0;

	switch (res) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		break;
	default:
		snprintf(out, len, "%s", detail);
		return false;
	}
	/* the peer closed or reset the connection during the handshake: a
	 * dropped connection (a restarting server), not a TLS problem */
	if (res == CURLE_SSL_CONNECT_ERROR &&
	    (strstr(detail, "SSL_ERROR_SYSCALL") || strstr(detail, "unexpected eof") ||
	     strstr(detail, "reset by peer"))) {
		snprintf(out, len, "connection closed during the TLS handshake (%s)", detail);
		return false;
	}
	curl_easy_getinfo(e, CURLINFO_SSL_VERIFYRESULT, &vr);
	if (vr == 1)
		vr = 0; /* X509_V_ERR_UNSPECIFIED: verification did not run */
	if (strstr(detail, "local issuer") || strstr(detail, "self-signed") ||
	    strstr(detail, "self signed") || strstr(detail, "unknown ca"))
		hint = "; the server's certificate is not signed by the configured CA "
		       "(certificate-authority, or the service account's ca.crt)";
	else if (strstr(detail, "expired"))
		hint = "; the server's certificate has expired (or this node's clock is wrong)";
	else if (strstr(detail, "not yet valid"))
		hint = "; the server's certificate is not valid yet (check this node's clock)";
	else if (strstr(detail, "subject name") || strstr(detail, "does not match") ||
		 strstr(detail, "hostname mismatch"))
		hint = "; the server URL's host is not a name or address the certificate lists";
	if (vr)
		snprintf(out, len, "TLS: %s (verify result %ld)%s", detail, vr, hint);
	else
		snprintf(out, len, "TLS: %s%s", detail, hint);
	return true;
}

static pthread_mutex_t last_err_mu = PTHREAD_MUTEX_INITIALIZER;
static char last_err[384];

void kube_set_last_error(const char *what, const char *why)
{
	pthread_mutex_lock(&last_err_mu);
	if (why)
		snprintf(last_err, sizeof(last_err), "%s: %s", what, why);
	else
		last_err[0] = '\0';
	pthread_mutex_unlock(&last_err_mu);
}

void kube_last_error(char *out, size_t len)
{
	pthread_mutex_lock(&last_err_mu);
	snprintf(out, len, "%s", last_err);
	pthread_mutex_unlock(&last_err_mu);
}
