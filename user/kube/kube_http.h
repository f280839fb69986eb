/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kube_http.h - libcurl set-up shared by every request the agent makes to
 * the Kubernetes API server (kube_watch.c: list/watch pods, kube_events.c:
 * create Events): HTTPS only, TLS always verified against the configured CA,
 * bearer token or client certificate from struct kube_config.
 */
#ifndef TCPRIO_KUBE_HTTP_H
#define TCPRIO_KUBE_HTTP_H

#include <stdbool.h>
#include <time.h>
#include <curl/curl.h>
#include "kube/kube_client.h"

#define KUBE_HTTP_USER_AGENT "tcprio/1"

/* curl_global_init(CURL_GLOBAL_DEFAULT) once per process (thread-safe;
 * call before the first curl_easy_init of any thread). */
void kube_http_global_init(void);

/* Request headers: "Accept: application/json", with json_body also
 * "Content-Type: application/json" and an empty "Expect:" (no 100-continue
 * wait before the body, RFC 9110 10.1.1), and with a non-NULL token
 * "Authorization: Bearer TOKEN" (RFC 6750 2.1).  Returns a list to free with
 * curl_slist_free_all, or NULL (out of memory). */
struct curl_slist *kube_http_headers(const char *token, bool json_body);

/* The bearer token of a kube_config and the request headers built from it
 * (kube_http_headers).  After a 401 the token is re-read from
 * cfg->token_file, because projected service-account tokens rotate. */
struct kube_auth {
	const struct kube_config *cfg; /* borrowed */
	bool json_body;                /* headers for a JSON request body */
	char *token;                   /* current token (owned), or NULL */
	time_t expiry;                 /* of an exec plugin's token, 0: none */
	struct curl_slist *hdrs;       /* for kube_http_setup (owned) */
};

/* Copy c's token and build the headers.  0, or -ENOMEM (a is then empty
 * and kube_auth_free is still safe). */
int kube_auth_init(struct kube_auth *a, const struct kube_config *c, bool json_body);
/* After a 401: re-read cfg->token_file, or run cfg->exec's plugin again
 * (logging a failure); true when the token changed and the headers were
 * rebuilt, so a retry may succeed. */
bool kube_auth_reread(struct kube_auth *a);
/* The headers for the next request (a->hdrs), after running cfg->exec's
 * plugin again when its token expires within KUBE_AUTH_EXPIRY_MARGIN_S (a
 * failure is logged and the old token kept: the server's 401 then goes
 * through kube_auth_reread). */
struct curl_slist *kube_auth_headers(struct kube_auth *a);
#define KUBE_AUTH_EXPIRY_MARGIN_S 10
/* Free the token and headers; a may be reused with kube_auth_init. */
void kube_auth_free(struct kube_auth *a);

/* Reset e (curl_easy_reset: the connection cache stays) and set what every
 * API request shares: URL, protocols https only, hdrs (borrowed: keep it
 * alive until the transfer ends), CURLOPT_NOSIGNAL, peer and host
 * verification against c->ca_pem (else the system store), client
 * certificate and key (PEM) when c has both, the user agent and a connect
 * timeout of connect_timeout_s seconds (> 0).  Transfer-specific options
 * (write callback, body, overall/low-speed timeouts) are the caller's. */
void kube_http_setup(CURL *e, const struct kube_config *c, const char *url,
		     struct curl_slist *hdrs, long connect_timeout_s);

/*
 * Why a transfer failed, for a log line: for a TLS failure "TLS: " and
 * curl's detail (errbuf, CURLOPT_ERRORBUFFER of e: OpenSSL's reason, e.g.
 * "SSL certificate problem: certificate has expired") with the verify
 * result (CURLINFO_SSL_VERIFYRESULT, an X509_V_ERR_* code) and what to
 * check: the CA (unknown issuer, self-signed), the clocks (expired, not yet
 * valid), the server name (no subject name matches); otherwise errbuf or
 * curl_easy_strerror(res).  Returns true for a TLS failure.
 */
bool kube_http_describe(CURL *e, CURLcode res, const char *errbuf, char *out, size_t len);

/* The last failure of any list/watch (kube_watch.c), for /readyz, e.g.
 * "pods list: TLS: SSL certificate problem: ..."; "" after a list
 * succeeded.  Thread-safe. */
void kube_last_error(char *out, size_t len);
/* Set (or clear, with NULL) what kube_last_error returns. */
void kube_set_last_error(const char *what, const char *why);

#endif
