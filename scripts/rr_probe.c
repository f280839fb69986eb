/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rr_probe - UDP request/response latency probe for the tcprio demo and
 * benchmark.  One binary, two roles:
 *
 *   rr_probe server [-6] [-b ADDR] [-p PORT] [-T SECONDS]
 *       Echo every datagram back to its sender until SECONDS (default 600)
 *       have passed or SIGINT/SIGTERM arrives.  A datagram of at least
 *       RR_STAMP_END (24) bytes goes back with two timestamps written
 *       into it (the reflector's, as a TWAMP reflector does, RFC 5357
 *       4.2.1): bytes 8..15 its kernel receive timestamp (SO_TIMESTAMPNS),
 *       bytes 16..23 the time just before sendto(), both CLOCK_REALTIME ns,
 *       big-endian.  Their difference is the server's turnaround: its
 *       receive backlog, its wake-up and its own work.
 *
 *   rr_probe client -a ADDR [-p PORT] [-n COUNT] [-i INTERVAL_US]
 *                   [-w TIMEOUT_MS] [-s SIZE] [-q TOS] [-W WARMUP] [-o FILE]
 *                   [-r FILE]
 *       Send COUNT (default 1000) requests of SIZE bytes (default 64, the
 *       UDP payload), one every INTERVAL_US microseconds (default 10000),
 *       and measure each round trip from just before send() to the
 *       kernel's receive timestamp of the reply (SO_TIMESTAMPNS, as ping
 *       does with SO_TIMESTAMP), so that the client's own wake-up delay
 *       is not counted; the server's still is.  A reply that has
 *       not come TIMEOUT_MS (default 1000) after its request is lost.  The
 *       first WARMUP requests (default 0) are sent but not counted.  -q sets
 *       the socket's IPv4 TOS / IPv6 traffic class byte (0..255; DSCP is
 *       its upper 6 bits, RFC 2474), default: the kernel's (0).  Prints
 *       one line of key=value pairs (times in microseconds):
 *         rr_probe sent=N received=N lost=N p50_us=X p90_us=X p99_us=X
 *                  max_us=X mean_us=X
 *       With -o, also write each counted request's round trip (us, in
 *       sequence order, one per line, "lost" for a lost request) to FILE,
 *       so that several runs can be pooled.  With -r, write the same
 *       lines to FILE with the server's turnaround (see server) taken out
 *       of each round trip: the time the request and the reply spent on
 *       the way (client send path, qdiscs, links), RFC 5357's round trip
 *       (T4 - T1) - (T3 - T2).  A reply without the timestamps (SIZE < 24
 *       or another echo server) counts its full round trip there.
 *       Exit status 0 if at least one reply came, 1 otherwise, 2 on a
 *       usage or socket error.
 *
 * The run is bounded: COUNT <= 1,000,000 and the client stops at
 * COUNT * INTERVAL + TIMEOUT.  Request layout (network byte order):
 * 4-byte magic "RRP1", 4-byte sequence number, padding to SIZE.
 * Percentiles are nearest-rank (p-th percentile = ceil(p/100 * N)-th
 * smallest), over the received replies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RR_MAGIC       0x52525031u /* "RRP1" */
#define RR_HDR_LEN     8           /* magic + sequence */
#define RR_MAX_SIZE    1400        /* payload bytes; stays under a 1500 MTU */
#define RR_MAX_COUNT   1000000
#define RR_DEFAULT_PORT 7777
#define RR_STAMP_END   24          /* header + two 8-byte reflector stamps */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* Monotonic time in nanoseconds. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Parse a decimal in [min, max]; 0 on success, -1 (with a message naming
 * the option) otherwise. */
static int parse_num(const char *opt, const char *s, long long min,
		     long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "rr_probe: %s: expected an integer in %lld..%lld, got '%s'\n",
			opt, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* Fill ss with ADDR (IPv4 or IPv6 literal) and port.  Returns the sockaddr
 * length, or 0 if ADDR is not an address literal. */
static socklen_t make_addr(const char *addr, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return sizeof(*sin6);
	}
	return 0;
}

static uint64_t realtime_ns(void);

/* Store / load a big-endian u64 at p (p need not be aligned). */
static void put_be64(char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (char)(v & 0xff);
}

static uint64_t get_be64(const char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | (unsigned char)p[i];
	return v;
}

/* Receive one datagram (blocking, after poll) with its kernel receive
 * timestamp; *rx_ns = that timestamp (CLOCK_REALTIME ns) or, if absent,
 * the time now.  Returns recvmsg()'s result; *plen gets the peer's length. */
static ssize_t recv_from_stamped(int fd, char *buf, size_t len, struct sockaddr_storage *peer,
				 socklen_t *plen, uint64_t *rx_ns)
{
	char ctl[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_name = peer, .msg_namelen = sizeof(*peer),
			      .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(fd, &msg, 0);

	*rx_ns = realtime_ns();
	*plen = msg.msg_namelen;
	for (c = CMSG_FIRSTHDR(&msg); n >= 0 && c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			*rx_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		}
	}
	return n;
}

struct server_opts {
	int family;       /* AF_INET or AF_INET6 */
	const char *bind; /* address literal or NULL (any) */
	int port;
	long long seconds;
};

/* Echo datagrams until the deadline or a signal.  Returns 0 or 2. */
static int run_server(const struct server_opts *o)
{
	struct sockaddr_storage ss, peer;
	socklen_t slen, plen;
	uint64_t rx, deadline = now_ns() + (uint64_t)o->seconds * 1000000000ull;
	char buf[2048];
	int fd = -1, ret = 2, one = 1, zero = 0;

	if (o->bind) {
		slen = make_addr(o->bind, o->port, &ss);
		if (!slen) {
			fprintf(stderr, "rr_probe: -b: expected an IPv4 or IPv6 address, got '%s'\n", o->bind);
			goto cleanup;
		}
	} else if (o->family == AF_INET6) {
		slen = make_addr("::", o->port, &ss);
	} else {
		slen = make_addr("0.0.0.0", o->port, &ss);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("rr_probe: socket");
		goto cleanup;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0) {
		perror("rr_probe: SO_TIMESTAMPNS");
		goto cleanup;
	}
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, slen) < 0) {
		perror("rr_probe: bind");
		goto cleanup;
	}
	while (!stop_flag) {
		uint64_t now = now_ns();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int ms, n;
		ssize_t len;

		if (now >= deadline)
			break;
		ms = (int)((deadline - now) / 1000000ull);
		n = poll(&pfd, 1, ms > 1000 ? 1000 : ms + 1);
		if (n <= 0)
			continue;
		len = recv_from_stamped(fd, buf, sizeof(buf), &peer, &plen, &rx);
		if (len < 0)
			continue;
		if (len >= RR_STAMP_END) {
			put_be64(buf + RR_HDR_LEN, rx);
			put_be64(buf + RR_HDR_LEN + 8, realtime_ns());
		}
		sendto(fd, buf, len, 0, (struct sockaddr *)&peer, plen);
	}
	ret = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	return ret;
}

struct client_opts {
	const char *addr;
	int port;
	long long count;
	long long interval_us;
	long long timeout_ms;
	long long size;
	long long tos;    /* -1: leave the socket default */
	long long warmup;
	const char *out;  /* per-request file (-o) or NULL */
	const char *out_net; /* per-request file without the server's turnaround (-r) or NULL */
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n-1], n > 0. */
static uint64_t percentile(const uint64_t *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

/* CLOCK_REALTIME in ns: the clock of the kernel's receive timestamps. */
static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Receive one datagram without blocking; *rx_ns = the kernel's receive
 * timestamp (SCM_TIMESTAMPNS, CLOCK_REALTIME) or, if absent, the time now. */
static ssize_t recv_stamped(int fd, char *buf, size_t len, uint64_t *rx_ns)
{
	char ctl[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);

	*rx_ns = realtime_ns();
	for (c = CMSG_FIRSTHDR(&msg); n >= 0 && c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			*rx_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		}
	}
	return n;
}

/* Read every reply waiting on fd without blocking; record round trips of
 * replies that came within the timeout, and in turn[] the server's
 * turnaround (ns; 0 if the reply has no sane reflector stamps).  sent_at
 * holds CLOCK_REALTIME ns. */
static void drain_replies(int fd, const struct client_opts *o, const uint64_t *sent_at,
			  uint64_t *rtt, uint64_t *turn, unsigned char *got)
{
	char buf[2048];
	uint64_t rx;
	ssize_t len;

	while ((len = recv_stamped(fd, buf, sizeof(buf), &rx)) >= RR_HDR_LEN) {
		uint32_t magic, seq;

		memcpy(&magic, buf, 4);
		memcpy(&seq, buf + 4, 4);
		magic = ntohl(magic);
		seq = ntohl(seq);
		if (magic != RR_MAGIC || seq >= (uint64_t)o->count || got[seq] || !sent_at[seq])
			continue;
		if (rx < sent_at[seq] || rx - sent_at[seq] > (uint64_t)o->timeout_ms * 1000000ull)
			continue; /* too late (or clock stepped): stays lost */
		got[seq] = 1;
		rtt[seq] = rx - sent_at[seq];
		turn[seq] = 0;
		if (len >= RR_STAMP_END) {
			uint64_t t2 = get_be64(buf + RR_HDR_LEN), t3 = get_be64(buf + RR_HDR_LEN + 8);

			/* Same host clock in this benchmark, but judge only
			 * the difference, as RFC 5357 does. */
			if (t3 >= t2 && t3 - t2 <= rtt[seq])
				turn[seq] = t3 - t2;
		}
	}
}

/* Whether every request of 0..n-1 that was sent has its reply. */
static int all_answered(long long n, const uint64_t *sent_at, const unsigned char *got)
{
	for (long long i = 0; i < n; i++)
		if (sent_at[i] && !got[i])
			return 0;
	return 1;
}

/* Wait for replies until the monotonic time `until` (ns), or, if done_n >= 0,
 * until requests 0..done_n-1 are all answered, whichever comes first. */
static void wait_until(int fd, uint64_t until, long long done_n, const struct client_opts *o,
		       const uint64_t *sent_at, uint64_t *rtt, uint64_t *turn, unsigned char *got)
{
	for (;;) {
		uint64_t now = now_ns();
		struct timespec ts;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (now >= until || stop_flag)
			return;
		if (done_n >= 0 && all_answered(done_n, sent_at, got))
			return;
		ts.tv_sec = (until - now) / 1000000000ull;
		ts.tv_nsec = (until - now) % 1000000000ull;
		if (ppoll(&pfd, 1, &ts, NULL) > 0)
			drain_replies(fd, o, sent_at, rtt, turn, got);
	}
}

/* Write one line per counted request to path: its round trip minus
 * turn[] (if turn is not NULL) in us with one decimal, or "lost".
 * Returns 0 or -1 (message printed). */
static int write_samples(const struct client_opts *o, const char *path, const unsigned char *got,
			 const uint64_t *rtt, const uint64_t *turn)
{
	FILE *f = fopen(path, "w");
	long long i;
	int ret = -1;

	if (!f) {
		fprintf(stderr, "rr_probe: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = o->warmup; i < o->count; i++) {
		if (got[i])
			fprintf(f, "%.1f\n", (rtt[i] - (turn ? turn[i] : 0)) / 1e3);
		else
			fprintf(f, "lost\n");
	}
	if (fclose(f) == 0)
		ret = 0;
	else
		fprintf(stderr, "rr_probe: %s: %s\n", path, strerror(errno));
	return ret;
}

static int run_client(const struct client_opts *o)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	uint64_t *sent_at = NULL, *rtt = NULL, *turn = NULL, *samples = NULL;
	unsigned char *got = NULL;
	char buf[RR_MAX_SIZE];
	uint64_t start, sum = 0;
	size_t n = 0, sent = 0;
	int fd = -1, ret = 2;
	long long i, last;

	slen = make_addr(o->addr, o->port, &ss);
	if (!slen) {
		fprintf(stderr, "rr_probe: -a: expected an IPv4 or IPv6 address, got '%s'\n", o->addr);
		goto cleanup;
	}
	sent_at = calloc(o->count, sizeof(*sent_at));
	rtt = calloc(o->count, sizeof(*rtt));
	turn = calloc(o->count, sizeof(*turn));
	samples = calloc(o->count, sizeof(*samples));
	got = calloc(o->count, 1);
	if (!sent_at || !rtt || !turn || !samples || !got) {
		fprintf(stderr, "rr_probe: out of memory for %lld requests\n", o->count);
		goto cleanup;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("rr_probe: socket");
		goto cleanup;
	}
	if (o->tos >= 0) {
		int tos = (int)o->tos;

		if (ss.ss_family == AF_INET)
			setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
		else
			setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &(int){ 1 }, sizeof(int)) < 0) {
		perror("rr_probe: SO_TIMESTAMPNS");
		goto cleanup;
	}
	/* connect() so that ICMP errors do not stop the run and recv()
	 * only sees the server's replies. */
	if (connect(fd, (struct sockaddr *)&ss, slen) < 0) {
		perror("rr_probe: connect");
		goto cleanup;
	}
	memset(buf, 0, sizeof(buf));
	start = now_ns();
	for (i = 0; i < o->count && !stop_flag; i++) {
		uint32_t magic = htonl(RR_MAGIC), seq = htonl((uint32_t)i);

		wait_until(fd, start + (uint64_t)i * o->interval_us * 1000ull, -1, o,
			   sent_at, rtt, turn, got);
		memcpy(buf, &magic, 4);
		memcpy(buf + 4, &seq, 4);
		sent_at[i] = realtime_ns();
		if (send(fd, buf, o->size, 0) != o->size)
			sent_at[i] = 0; /* e.g. ECONNREFUSED from an ICMP error */
		drain_replies(fd, o, sent_at, rtt, turn, got);
	}
	last = i;
	wait_until(fd, now_ns() + (uint64_t)o->timeout_ms * 1000000ull, last, o, sent_at, rtt, turn,
		   got);

	/* Requests attempted after the warm-up; a failed send counts as lost. */
	sent = last > o->warmup ? (size_t)(last - o->warmup) : 0;
	for (i = o->warmup; i < o->count; i++) {
		if (got[i]) {
			samples[n++] = rtt[i];
			sum += rtt[i];
		}
	}
	if (o->out && write_samples(o, o->out, got, rtt, NULL) < 0)
		goto cleanup;
	if (o->out_net && write_samples(o, o->out_net, got, rtt, turn) < 0)
		goto cleanup;
	qsort(samples, n, sizeof(*samples), cmp_u64);
	if (n)
		printf("rr_probe sent=%zu received=%zu lost=%zu p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f\n",
		       sent, n, sent - n,
		       percentile(samples, n, 50) / 1e3, percentile(samples, n, 90) / 1e3,
		       percentile(samples, n, 99) / 1e3, samples[n - 1] / 1e3,
		       (double)sum / (double)n / 1e3);
	else
		printf("rr_probe sent=%zu received=0 lost=%zu p50_us=nan p90_us=nan p99_us=nan max_us=nan mean_us=nan\n",
		       sent, sent);
	ret = n ? 0 : 1;
cleanup:
	if (fd >= 0)
		close(fd);
	free(sent_at);
	free(rtt);
	free(turn);
	free(samples);
	free(got);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rr_probe server [-6] [-b ADDR] [-p PORT] [-T SECONDS]\n"
		"       rr_probe client -a ADDR [-p PORT] [-n COUNT] [-i INTERVAL_US]\n"
		"                       [-w TIMEOUT_MS] [-s SIZE] [-q TOS] [-W WARMUP] [-o FILE]\n"
		"                       [-r FILE]\n"
		"UDP echo server / request-response latency client (times in us).\n");
}

int main(int argc, char **argv)
{
	struct server_opts so = { .family = AF_INET, .port = RR_DEFAULT_PORT, .seconds = 600 };
	struct client_opts co = { .port = RR_DEFAULT_PORT, .count = 1000, .interval_us = 10000,
				  .timeout_ms = 1000, .size = 64, .tos = -1 };
	struct sigaction sa = { .sa_handler = on_signal };
	long long v;
	int c, server;

	if (argc < 2 || (strcmp(argv[1], "server") && strcmp(argv[1], "client"))) {
		usage(stderr);
		return 2;
	}
	server = !strcmp(argv[1], "server");
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	optind = 2;
	while ((c = getopt(argc, argv, "6a:b:p:T:n:i:w:s:q:W:o:r:h")) != -1) {
		switch (c) {
		case '6': so.family = AF_INET6; break;
		case 'a': co.addr = optarg; break;
		case 'b': so.bind = optarg; break;
		case 'p':
			if (parse_num("-p", optarg, 1, 65535, &v))
				return 2;
			so.port = co.port = (int)v;
			break;
		case 'T': if (parse_num("-T", optarg, 1, 86400, &so.seconds)) return 2; break;
		case 'n': if (parse_num("-n", optarg, 1, RR_MAX_COUNT, &co.count)) return 2; break;
		case 'i': if (parse_num("-i", optarg, 100, 10000000, &co.interval_us)) return 2; break;
		case 'w': if (parse_num("-w", optarg, 1, 60000, &co.timeout_ms)) return 2; break;
		case 's': if (parse_num("-s", optarg, RR_HDR_LEN, RR_MAX_SIZE, &co.size)) return 2; break;
		case 'q': if (parse_num("-q", optarg, 0, 255, &co.tos)) return 2; break;
		case 'W': if (parse_num("-W", optarg, 0, RR_MAX_COUNT, &co.warmup)) return 2; break;
		case 'o': co.out = optarg; break;
		case 'r': co.out_net = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (server)
		return run_server(&so);
	if (!co.addr) {
		fprintf(stderr, "rr_probe: client needs -a ADDR (the server's IPv4 or IPv6 address)\n");
		return 2;
	}
	if (co.warmup >= co.count) {
		fprintf(stderr, "rr_probe: -W %lld: must be smaller than -n %lld\n", co.warmup, co.count);
		return 2;
	}
	return run_client(&co);
}
