/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_metrics.c - user/agent/metrics.c: the HTTP endpoints (served on 127.0.0.1,
 * ephemeral port), the Prometheus text format 0.0.4 of /metrics checked by
 * a strict line checker, and the numbers read from BPF maps created here
 * with bpf_map_create (root only; skipped otherwise).
 */
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/metrics.h"
#include "kube/kube_http.h"

/* ---- HTTP client ---------------------------------------------------------- */

struct http_reply {
	long status;
	char ctype[128];
	char *body;
	size_t len;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	struct http_reply *r = ud;
	char *nb = realloc(r->body, r->len + sz * n + 1);

	if (!nb)
		return 0;
	memcpy(nb + r->len, p, sz * n);
	r->body = nb;
	r->len += sz * n;
	r->body[r->len] = '\0';
	return sz * n;
}

/* GET http://127.0.0.1:port/path; returns 0 or the curl error. */
static int http_get(uint16_t port, const char *path, struct http_reply *r)
{
	char url[128];
	char *ct = NULL;
	CURL *c = curl_easy_init();
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	if (!c)
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
		snprintf(r->ctype, sizeof(r->ctype), "%s", ct ? ct : "");
	}
	if (!r->body)
		r->body = calloc(1, 1);
	curl_easy_cleanup(c);
	return rc;
}

/* ---- strict exposition-format checker -------------------------------------- */

#define MAX_FAMILIES 64

struct expo_check {
	char why[512];
	char families[MAX_FAMILIES][96];
	char types[MAX_FAMILIES][16];
	int  n_families;
	int  n_samples;
};

static bool failf(struct expo_check *c, int line, const char *fmt, ...)
{
	va_list ap;
	int off = snprintf(c->why, sizeof(c->why), "line %d: ", line);

	va_start(ap, fmt);
	vsnprintf(c->why + off, sizeof(c->why) - off, fmt, ap);
	va_end(ap);
	return false;
}

/* Value: a Go ParseFloat number, +Inf, -Inf or NaN. */
static bool parse_value(const char *s, double *v)
{
	char *end;

	if (!strcmp(s, "+Inf")) { *v = INFINITY; return true; }
	if (!strcmp(s, "-Inf")) { *v = -INFINITY; return true; }
	if (!strcmp(s, "NaN"))  { *v = NAN; return true; }
	if (!*s || strchr(s, ' ') || !strpbrk(s, "0123456789"))
		return false;
	errno = 0;
	*v = strtod(s, &end);
	return !*end && !errno;
}

/* Family a sample name belongs to, given the family's TYPE. */
static bool sample_in_family(const char *name, const char *fam, const char *type)
{
	size_t fl = strlen(fam);

	if (!strcmp(name, fam))
		return strcmp(type, "histogram") != 0;
	if (strncmp(name, fam, fl) || strcmp(type, "histogram"))
		return false;
	return !strcmp(name + fl, "_bucket") || !strcmp(name + fl, "_sum") ||
	       !strcmp(name + fl, "_count");
}

/*
 * Check doc line by line: "# HELP name text", "# TYPE name type" (before
 * the family's samples, once), samples "name{l="v",...} value" of the
 * current family only, names and labels per the regexes of the format,
 * histograms with increasing le, cumulative counts, a final le="+Inf" and
 * _count equal to it.  Returns true or false with c->why set.
 */
static bool check_exposition(const char *doc, struct expo_check *c)
{
	regex_t re_sample, re_label;
	char *copy = strdup(doc), *save = NULL, *line;
	char cur_fam[96] = "", cur_type[16] = "", help_for[96] = "";
	double last_le = -INFINITY, last_bucket = -1, inf_bucket = -1;
	bool ok = true;
	int ln = 0;

	memset(c, 0, sizeof(*c));
	regcomp(&re_sample, "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})? ([^ ]+)$",
		REG_EXTENDED);
	regcomp(&re_label, "^([a-zA-Z_][a-zA-Z0-9_]*)=\"((\\\\[\\\\\"n]|[^\\\\\"])*)\"(,|$)",
		REG_EXTENDED);
	if (!*doc || doc[strlen(doc) - 1] != '\n')
		ok = failf(c, 0, "document empty or not ending in a newline");
	for (line = strtok_r(copy, "\n", &save); ok && line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[96], type[16], labels[512] = "", value[64], le[32] = "";
		regmatch_t m[5];
		double v;

		ln++;
		if (!strncmp(line, "# HELP ", 7)) {
			if (sscanf(line + 7, "%95s", name) != 1 || strlen(line + 7) <= strlen(name) + 1)
				ok = failf(c, ln, "HELP without name and text: %s", line);
			snprintf(help_for, sizeof(help_for), "%s", name);
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			if (sscanf(line + 7, "%95s %15s", name, type) != 2 ||
			    !strstr("counter gauge histogram summary untyped", type)) {
				ok = failf(c, ln, "bad TYPE line: %s", line);
				break;
			}
			if (strcmp(help_for, name)) {
				ok = failf(c, ln, "TYPE %s not preceded by its HELP", name);
				break;
			}
			for (int i = 0; i < c->n_families; i++)
				if (!strcmp(c->families[i], name))
					ok = failf(c, ln, "family %s declared twice", name);
			if (!ok || c->n_families == MAX_FAMILIES)
				break;
			/* Close the previous histogram. */
			if (!strcmp(cur_type, "histogram") && inf_bucket < 0) {
				ok = failf(c, ln, "histogram %s lacks le=\"+Inf\"", cur_fam);
				break;
			}
			snprintf(cur_fam, sizeof(cur_fam), "%s", name);
			snprintf(cur_type, sizeof(cur_type), "%s", type);
			snprintf(c->families[c->n_families], 96, "%s", name);
			snprintf(c->types[c->n_families++], 16, "%s", type);
			last_le = -INFINITY, last_bucket = -1, inf_bucket = -1;
			continue;
		}
		if (line[0] == '#') {
			ok = failf(c, ln, "comment line: %s", line);
			break;
		}
		if (regexec(&re_sample, line, 5, m, 0)) {
			ok = failf(c, ln, "not a sample line: %s", line);
			break;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
		if (m[3].rm_so >= 0)
			snprintf(labels, sizeof(labels), "%.*s", (int)(m[3].rm_eo - m[3].rm_so), line + m[3].rm_so);
		snprintf(value, sizeof(value), "%.*s", (int)(m[4].rm_eo - m[4].rm_so), line + m[4].rm_so);
		if (!cur_fam[0] || !sample_in_family(name, cur_fam, cur_type)) {
			ok = failf(c, ln, "sample %s outside its family (current %s)", name,
				   cur_fam[0] ? cur_fam : "none");
			break;
		}
		for (const char *p = labels; ok && *p;) {
			regmatch_t lm[5];

			if (regexec(&re_label, p, 5, lm, 0)) {
				ok = failf(c, ln, "bad label syntax at: %s", p);
				break;
			}
			if (!strncmp(p, "le=", 3))
				snprintf(le, sizeof(le), "%.*s", (int)(lm[2].rm_eo - lm[2].rm_so), p + lm[2].rm_so);
			p += lm[0].rm_eo;
		}
		if (!ok)
			break;
		if (!parse_value(value, &v)) {
			ok = failf(c, ln, "bad value \"%s\"", value);
			break;
		}
		c->n_samples++;
		if (strcmp(cur_type, "histogram"))
			continue;
		if (strstr(name, "_bucket") == name + strlen(cur_fam)) {
			double lev;

			if (!le[0] || !parse_value(le, &lev) || lev <= last_le || inf_bucket >= 0) {
				ok = failf(c, ln, "bucket le=\"%s\" missing, not increasing or after +Inf", le);
				break;
			}
			if (v < last_bucket) {
				ok = failf(c, ln, "bucket counts not cumulative: %g < %g", v, last_bucket);
				break;
			}
			last_le = lev, last_bucket = v;
			if (isinf(lev))
				inf_bucket = v;
		} else if (strstr(name, "_count") == name + strlen(cur_fam)) {
			if (inf_bucket < 0 || v != inf_bucket) {
				ok = failf(c, ln, "_count %g != +Inf bucket %g", v, inf_bucket);
				break;
			}
		}
	}
	if (ok && !strcmp(cur_type, "histogram") && inf_bucket < 0)
		ok = failf(c, ln, "histogram %s lacks le=\"+Inf\"", cur_fam);
	regfree(&re_sample);
	regfree(&re_label);
	free(copy);
	return ok;
}

/* Value of the sample whose "name{labels}" (or bare name) is exactly key;
 * NAN if absent. */
static double sample_value(const char *doc, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = doc; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, key, kl) && p[kl] == ' ')
			return strtod(p + kl + 1, NULL);
	}
	return NAN;
}

/* ---- fixtures ------------------------------------------------------------------- */

struct fixture {
	struct agent_metrics m;
	struct datapath_maps maps;
	struct metrics_server *srv;
	bool have_maps;
};

static void close_maps(struct datapath_maps *d)
{
	int *fds[] = { &d->endpoints, &d->port_rules, &d->classes, &d->dscp_classes,
		       &d->config, &d->stats, &d->events, &d->pods };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* Create the maps read by metrics.c (layouts of include/tcprio.h) and fill
 * them: stats for uplink/critical and pod_edge/bulk, events,
 * two classes, three endpoints.  Returns 0 or -errno. */
static int make_maps(struct datapath_maps *d)
{
	int ncpu = libbpf_num_possible_cpus();
	struct tcprio_counters *cnt = calloc(ncpu, sizeof(*cnt));
	uint64_t *ev = calloc(ncpu, sizeof(*ev));
	int err = 0;

	memset(d, -1, sizeof(*d));
	d->stats = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "tpt_stats", 4,
				  sizeof(struct tcprio_counters), TCPRIO_STATS_ENTRIES, NULL);
	d->events = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "tpt_events", 4, 8,
				   TCPRIO_HOOK_COUNT * TCPRIO_EV_COUNT, NULL);
	d->classes = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tpt_classes", 4,
				    sizeof(struct tcprio_class), TCPRIO_MAX_CLASSES, NULL);
	d->endpoints = bpf_map_create(BPF_MAP_TYPE_HASH, "tpt_endpoints",
				      sizeof(struct tcprio_ip),
				      sizeof(struct tcprio_endpoint), 128, NULL);
	d->port_rules = bpf_map_create(BPF_MAP_TYPE_HASH, "tpt_port_rules",
				       sizeof(struct tcprio_port_key),
				       sizeof(struct tcprio_port_rule), 32, NULL);
	if (!cnt || !ev || d->stats < 0 || d->events < 0 || d->classes < 0 ||
	    d->endpoints < 0 || d->port_rules < 0) {
		err = -errno;
		goto cleanup;
	}
	/* critical = id 0, bulk = id 3 (as the built-in table). */
	struct tcprio_class cl = { .priority = 0x1000a, .dscp = 46, .flags = TCPRIO_CLASS_VALID };
	uint32_t id = 0;

	strcpy(cl.name, "critical");
	bpf_map_update_elem(d->classes, &id, &cl, BPF_ANY);
	id = 3, cl.dscp = 1, cl.priority = 0x10028;
	strcpy(cl.name, "bulk");
	bpf_map_update_elem(d->classes, &id, &cl, BPF_ANY);

	/* Per-CPU counters: cpu c holds packets c+1, bytes 100*(c+1). */
	for (int c = 0; c < ncpu; c++)
		cnt[c].packets = c + 1, cnt[c].bytes = 100 * (c + 1);
	uint32_t k1 = TCPRIO_STATS_KEY(TCPRIO_HOOK_UPLINK, 0);
	uint32_t k2 = TCPRIO_STATS_KEY(TCPRIO_HOOK_POD_EDGE, 3);
	if (bpf_map_update_elem(d->stats, &k1, cnt, BPF_ANY) ||
	    bpf_map_update_elem(d->stats, &k2, cnt, BPF_ANY)) {
		err = -errno;
		goto cleanup;
	}
	/* Events: cpu 0 only; uplink misses 7, pod-edge rewrites 5. */
	uint32_t key = TCPRIO_HOOK_UPLINK * TCPRIO_EV_COUNT + TCPRIO_EV_ENDPOINT_MISS;
	ev[0] = 7;
	bpf_map_update_elem(d->events, &key, ev, BPF_ANY);
	key = TCPRIO_HOOK_POD_EDGE * TCPRIO_EV_COUNT + TCPRIO_EV_DSCP_REWRITE;
	ev[0] = 5;
	bpf_map_update_elem(d->events, &key, ev, BPF_ANY);

	for (int i = 0; i < 3; i++) {
		struct tcprio_ip ip = { .addr = { [10] = 0xff, [11] = 0xff, 198, 18, 0, i + 1 } };
		struct tcprio_endpoint e = { .pod_id = i + 1, .class_id = 0 };

		if (bpf_map_update_elem(d->endpoints, &ip, &e, BPF_ANY)) {
			err = -errno;
			goto cleanup;
		}
	}
	for (int i = 0; i < 2; i++) { /* two port rules on the first endpoint */
		struct tcprio_port_key pk = { .ip.addr = { [10] = 0xff, [11] = 0xff, 198, 18, 0, 1 },
					      .port = (uint16_t)(5432 + i), .protocol = 6 };
		struct tcprio_port_rule pr = { .class_id = 0 };

		if (bpf_map_update_elem(d->port_rules, &pk, &pr, BPF_ANY)) {
			err = -errno;
			goto cleanup;
		}
	}
cleanup:
	free(cnt);
	free(ev);
	if (err)
		close_maps(d);
	return err;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[256];

	if (!fx)
		return -1;
	metrics_init(&fx->m);
	memset(&fx->maps, -1, sizeof(fx->maps));
	fx->have_maps = geteuid() == 0 && make_maps(&fx->maps) == 0;
	fx->srv = metrics_server_start("127.0.0.1", 0, &fx->m,
				       fx->have_maps ? &fx->maps : NULL, err, sizeof(err));
	if (!fx->srv) {
		fprintf(stderr, "# %s\n", err);
		close_maps(&fx->maps);
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	metrics_server_stop(fx->srv);
	close_maps(&fx->maps);
	free(fx);
	return 0;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_checker_rejects_bad_documents(void **state)
{
	static const char *const bad[] = {
		"x_total 1\n",                                          /* no TYPE */
		"# HELP a h\n# TYPE a counter\na{l=\"v} 1\n",           /* open quote */
		"# HELP a h\n# TYPE a counter\na{1l=\"v\"} 1\n",        /* label name */
		"# HELP a h\n# TYPE a counter\na one\n",                /* value */
		"# HELP a h\n# TYPE a counter\nb 1\n",                  /* other family */
		"# HELP a h\n# TYPE a counter\na 1\n# HELP a h\n# TYPE a counter\n",
		"# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
		"h_bucket{le=\"+Inf\"} 1\nh_sum 0\nh_count 1\n",        /* not cumulative */
		"# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 0\nh_count 1\n",
		"# HELP h h\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 0\nh_count 3\n",
		"# HELP a h\n# TYPE a counter\na 1",                     /* no final newline */
	};
	struct expo_check c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (check_exposition(bad[i], &c))
			fail_msg("checker accepted bad document %zu:\n%s", i, bad[i]);
	}
	assert_true(check_exposition("# HELP a h\n# TYPE a counter\na{x=\"q\\\"\\n\",y=\"\"} 1e3\n"
				     "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\n"
				     "h_bucket{le=\"+Inf\"} 2\nh_sum 0.7\nh_count 2\n", &c));
}

static void test_parse_address(void **state)
{
	char host[64], err[160];
	uint16_t port = 0;

	(void)state;
	assert_int_equal(metrics_parse_address("0.0.0.0:9465", host, sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "0.0.0.0");
	assert_int_equal(port, 9465);
	assert_int_equal(metrics_parse_address("[::1]:80", host, sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 80);
	assert_int_equal(metrics_parse_address(":0", host, sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "0.0.0.0");
	assert_int_equal(port, 0);
	static const char *const bad[] = { "9465", "::1:80", "1.2.3.4:", "1.2.3.4:65536",
					   "1.2.3.4:-1", "[::1]80", "a:b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(metrics_parse_address(bad[i], host, sizeof(host), &port,
						       err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, bad[i]));
	}
}

static void test_start_rejects_bad_address(void **state)
{
	struct agent_metrics m;
	char err[256] = "";

	(void)state;
	metrics_init(&m);
	assert_null(metrics_server_start("localhost", 0, &m, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "localhost"));
}

static void test_healthz_and_404(void **state)
{
	struct fixture *fx = *state;
	struct http_reply r;

	assert_int_not_equal(metrics_server_port(fx->srv), 0);
	assert_int_equal(http_get(metrics_server_port(fx->srv), "/healthz", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok\n");
	free(r.body);
	assert_int_equal(http_get(metrics_server_port(fx->srv), "/nope", &r), 0);
	assert_int_equal(r.status, 404);
	free(r.body);
}

static void test_readyz_follows_set_ready(void **state)
{
	struct fixture *fx = *state;
	uint16_t port = metrics_server_port(fx->srv);
	struct http_reply r;

	metrics_set_ready(&fx->m, false, false, false);
	assert_int_equal(http_get(port, "/readyz", &r), 0);
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.body, "programs not attached"));
	assert_non_null(strstr(r.body, "initial pod list not synced"));
	free(r.body);

	metrics_set_ready(&fx->m, true, true, false);
	assert_int_equal(http_get(port, "/readyz", &r), 0);
	assert_int_equal(r.status, 503);
	assert_null(strstr(r.body, "programs not attached"));
	assert_non_null(strstr(r.body, "initial pod list not synced"));
	free(r.body);

	/* the API server's last answer is in the body: no need for the log */
	kube_set_last_error("Pod list failed", "HTTP 403 Forbidden: RBAC does not let ...");
	assert_int_equal(http_get(port, "/readyz", &r), 0);
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.body, "initial pod list not synced; last error: Pod list failed: "
				       "HTTP 403 Forbidden: RBAC"));
	free(r.body);
	kube_set_last_error(NULL, NULL);

	metrics_set_ready(&fx->m, true, true, true);
	assert_int_equal(http_get(port, "/readyz", &r), 0);
	assert_int_equal(r.status, 200);
	free(r.body);
}

static void test_metrics_agent_families(void **state)
{
	struct fixture *fx = *state;
	struct http_reply r;
	struct expo_check c;

	metrics_note_reconnect(&fx->m);
	metrics_note_reconnect(&fx->m);
	metrics_note_relist(&fx->m);
	metrics_note_sync(&fx->m, 1700000000123000000LL);
	metrics_observe_convergence_ns(&fx->m, 500000);      /* 0.5 ms  -> le 0.001 */
	metrics_observe_convergence_ns(&fx->m, 3000000);     /* 3 ms    -> le 0.005 */
	metrics_observe_convergence_ns(&fx->m, 20000000000); /* 20 s    -> +Inf only */
	metrics_set_ready(&fx->m, true, true, true);

	assert_int_equal(http_get(metrics_server_port(fx->srv), "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
	if (!check_exposition(r.body, &c))
		fail_msg("/metrics is not valid exposition format: %s\n%s", c.why, r.body);
	assert_true(sample_value(r.body, "tcprio_watch_reconnects_total") == 2);
	assert_true(sample_value(r.body, "tcprio_watch_relists_total") == 1);
	assert_true(fabs(sample_value(r.body, "tcprio_last_sync_timestamp_seconds") - 1700000000.123) < 1e-3);
	assert_true(sample_value(r.body, "tcprio_convergence_seconds_bucket{le=\"0.001\"}") == 1);
	assert_true(sample_value(r.body, "tcprio_convergence_seconds_bucket{le=\"0.0025\"}") == 1);
	assert_true(sample_value(r.body, "tcprio_convergence_seconds_bucket{le=\"0.005\"}") == 2);
	assert_true(sample_value(r.body, "tcprio_convergence_seconds_bucket{le=\"10\"}") == 2);
	assert_true(sample_value(r.body, "tcprio_convergence_seconds_bucket{le=\"+Inf\"}") == 3);
	assert_true(sample_value(r.body, "tcprio_convergence_seconds_count") == 3);
	assert_true(fabs(sample_value(r.body, "tcprio_convergence_seconds_sum") - 20.0035) < 1e-6);
	assert_true(sample_value(r.body, "tcprio_ready") == 1);
	free(r.body);
}

static void test_metrics_from_maps(void **state)
{
	struct fixture *fx = *state;
	int ncpu = libbpf_num_possible_cpus();
	double pk = (double)ncpu * (ncpu + 1) / 2; /* sum of c+1 over CPUs */
	struct http_reply r;
	struct expo_check c;

	if (!fx->have_maps)
		skip(); /* needs root (bpf_map_create) */
	assert_int_equal(http_get(metrics_server_port(fx->srv), "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	if (!check_exposition(r.body, &c))
		fail_msg("/metrics is not valid exposition format: %s\n%s", c.why, r.body);
	if (sample_value(r.body, "tcprio_packets_total{hook=\"uplink\",class=\"critical\"}") != pk ||
	    sample_value(r.body, "tcprio_bytes_total{hook=\"uplink\",class=\"critical\"}") != 100 * pk ||
	    sample_value(r.body, "tcprio_packets_total{hook=\"pod_edge\",class=\"bulk\"}") != pk)
		fail_msg("expected %g packets per-CPU sum per hook and class:\n%s", pk, r.body);
	/* Only slots with packets have series, and none has an interface. */
	if (strstr(r.body, "tcprio_packets_total{hook=\"uplink\",interface") ||
	    strstr(r.body, "tcprio_packets_total{hook=\"pod_edge\",interface") ||
	    strstr(r.body, "tcprio_packets_total{hook=\"pod_edge\",class=\"critical\"}"))
		fail_msg("unexpected class series:\n%s", r.body);
	assert_true(sample_value(r.body, "tcprio_endpoint_misses_total{hook=\"uplink\"}") == 7);
	assert_true(sample_value(r.body, "tcprio_endpoint_misses_total{hook=\"pod_edge\"}") == 0);
	assert_true(sample_value(r.body, "tcprio_unparsed_packets_total{hook=\"uplink\"}") == 0);
	assert_true(sample_value(r.body, "tcprio_dscp_rewrites_total") == 5);
	assert_true(sample_value(r.body, "tcprio_endpoints") == 3);
	assert_true(sample_value(r.body, "tcprio_endpoints_capacity") == 128);
	assert_true(sample_value(r.body, "tcprio_port_rules") == 2);
	assert_true(sample_value(r.body, "tcprio_port_rules_capacity") == 32);
	free(r.body);
}

/* The agent's own counts replace the map walk: the gauges show them even
 * though the maps (3 endpoints, 2 rules) hold something else; the
 * capacities still come from the maps. */
static void test_map_counts_from_memory(void **state)
{
	struct fixture *fx = *state;
	struct http_reply r;

	if (!fx->have_maps)
		skip(); /* needs root (bpf_map_create) */
	metrics_set_map_counts(&fx->m, 11, 7);
	assert_int_equal(http_get(metrics_server_port(fx->srv), "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(sample_value(r.body, "tcprio_endpoints") == 11);
	assert_true(sample_value(r.body, "tcprio_port_rules") == 7);
	assert_true(sample_value(r.body, "tcprio_endpoints_capacity") == 128);
	free(r.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checker_rejects_bad_documents),
		cmocka_unit_test(test_parse_address),
		cmocka_unit_test(test_start_rejects_bad_address),
		cmocka_unit_test_setup_teardown(test_healthz_and_404, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readyz_follows_set_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_agent_families, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_from_maps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_counts_from_memory, setup, teardown),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
