/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * link_watch.c - see link_watch.h.  One thread: subscribe to RTNLGRP_LINK
 * first, then dump the link cache (so no link created in between is lost),
 * then poll the event socket and a stop pipe.  If the event socket overflows
 * (ENOBUFS: events lost) the links are dumped again.
 */
#include <errno.h>
#include <fnmatch.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>
#include "dp/link_dump.h"
#include "dp/link_watch.h"
#include "lib/log.h"

#define LW_RCVBUF_BYTES (4 * 1024 * 1024) /* room for bursts of link events */

struct link_watch {
	char **globs;
	int n_globs;
	link_watch_cb on_link;
	void *ctx;
	struct nl_sock *ev_sock;  /* RTNLGRP_LINK events */
	int stop_pipe[2];
	pthread_t thread;
	/* ifindexes already reported, sorted ascending */
	int *seen;
	size_t n_seen, cap_seen;
	bool resync;              /* events were lost: dump again */
};

int link_watch_match(const char **globs, int n, const char *name)
{
	if (n == 0)
		return 1;
	for (int i = 0; i < n; i++)
		if (fnmatch(globs[i], name, 0) == 0)
			return 1;
	return 0;
}

/* Index where ifindex is or would be inserted in w->seen. */
static size_t seen_pos(const struct link_watch *w, int ifindex)
{
	size_t lo = 0, hi = w->n_seen;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (w->seen[mid] < ifindex)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool seen_has(const struct link_watch *w, int ifindex)
{
	size_t i = seen_pos(w, ifindex);

	return i < w->n_seen && w->seen[i] == ifindex;
}

static int seen_add(struct link_watch *w, int ifindex)
{
	size_t i = seen_pos(w, ifindex);

	if (i < w->n_seen && w->seen[i] == ifindex)
		return 0;
	if (w->n_seen == w->cap_seen) {
		size_t cap = w->cap_seen ? w->cap_seen * 2 : 64;
		int *p = realloc(w->seen, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		w->seen = p;
		w->cap_seen = cap;
	}
	memmove(&w->seen[i + 1], &w->seen[i], (w->n_seen - i) * sizeof(int));
	w->seen[i] = ifindex;
	w->n_seen++;
	return 0;
}

static void seen_del(struct link_watch *w, int ifindex)
{
	size_t i = seen_pos(w, ifindex);

	if (i < w->n_seen && w->seen[i] == ifindex) {
		memmove(&w->seen[i], &w->seen[i + 1], (w->n_seen - i - 1) * sizeof(int));
		w->n_seen--;
	}
}

/* A link exists now with this name: report it once. */
static void link_present(struct link_watch *w, int ifindex, const char *name)
{
	if (ifindex <= 0 || !name || seen_has(w, ifindex))
		return;
	if (!link_watch_match((const char **)w->globs, w->n_globs, name))
		return;
	if (seen_add(w, ifindex)) {
		pr_warn("link_watch: out of memory tracking %s", name);
		return;
	}
	pr_debug("link_watch: %s (ifindex %d)", name, ifindex);
	w->on_link(w->ctx, ifindex, name);
}

/* Dump all links (own socket) and report the matching ones. */
static int dump_links(struct link_watch *w)
{
	struct link_dump d;
	struct nl_object *obj;
	int err = link_dump_open(&d, "link_watch");

	if (err)
		return err;
	for (obj = nl_cache_get_first(d.cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_link *l = (struct rtnl_link *)obj;

		link_present(w, rtnl_link_get_ifindex(l), rtnl_link_get_name(l));
	}
	link_dump_close(&d);
	return 0;
}

struct parse_arg {
	struct link_watch *w;
	int type; /* RTM_NEWLINK / RTM_DELLINK */
};

static void parse_link(struct nl_object *obj, void *arg)
{
	struct parse_arg *pa = arg;
	struct rtnl_link *l = (struct rtnl_link *)obj;
	int ifindex = rtnl_link_get_ifindex(l);

	if (pa->type == RTM_DELLINK)
		seen_del(pa->w, ifindex);
	else
		link_present(pa->w, ifindex, rtnl_link_get_name(l));
}

static int on_event(struct nl_msg *msg, void *arg)
{
	struct parse_arg pa = { .w = arg, .type = nlmsg_hdr(msg)->nlmsg_type };

	if (pa.type == RTM_NEWLINK || pa.type == RTM_DELLINK)
		nl_msg_parse(msg, parse_link, &pa);
	return NL_OK;
}

static void *watch_thread(void *arg)
{
	struct link_watch *w = arg;
	struct pollfd pfd[2] = {
		{ .fd = nl_socket_get_fd(w->ev_sock), .events = POLLIN },
		{ .fd = w->stop_pipe[0], .events = POLLIN },
	};

	dump_links(w);
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_warn("link_watch: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		if (pfd[0].revents) {
			int err = nl_recvmsgs_default(w->ev_sock);

			/* -NLE_NOMEM is libnl's translation of ENOBUFS. */
			if (err == -NLE_NOMEM || err == -NLE_DUMP_INTR) {
				pr_warn("link_watch: link events lost (%s); listing links again",
					nl_geterror(err));
				w->resync = true;
			} else if (err < 0 && err != -NLE_AGAIN) {
				pr_debug("link_watch: receive: %s", nl_geterror(err));
			}
		}
		if (w->resync) {
			w->resync = false;
			dump_links(w);
		}
	}
	return NULL;
}

static void lw_free(struct link_watch *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n_globs; i++)
		free(w->globs[i]);
	free(w->globs);
	if (w->ev_sock)
		nl_socket_free(w->ev_sock);
	if (w->stop_pipe[0] >= 0)
		close(w->stop_pipe[0]);
	if (w->stop_pipe[1] >= 0)
		close(w->stop_pipe[1]);
	free(w->seen);
	free(w);
}

/* Event socket subscribed to RTNLGRP_LINK.  Returns 0 or -errno. */
static int open_event_socket(struct link_watch *w)
{
	int err;

	w->ev_sock = nl_socket_alloc();
	if (!w->ev_sock)
		return -ENOMEM;
	nl_socket_disable_seq_check(w->ev_sock);
	nl_socket_modify_cb(w->ev_sock, NL_CB_VALID, NL_CB_CUSTOM, on_event, w);
	err = nl_connect(w->ev_sock, NETLINK_ROUTE);
	if (!err)
		err = nl_socket_add_membership(w->ev_sock, RTNLGRP_LINK);
	if (!err)
		err = nl_socket_set_nonblocking(w->ev_sock);
	if (err) {
		pr_warn("link_watch: netlink socket: %s", nl_geterror(err));
		return -EIO;
	}
	nl_socket_set_buffer_size(w->ev_sock, LW_RCVBUF_BYTES, 0);
	return 0;
}

struct link_watch *link_watch_start(const char **globs, int n,
				    link_watch_cb on_link, void *ctx)
{
	struct link_watch *w;
	int err;

	if (!on_link || n < 0 || (n > 0 && !globs)) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->stop_pipe[0] = w->stop_pipe[1] = -1;
	w->on_link = on_link;
	w->ctx = ctx;
	w->globs = calloc(n ? n : 1, sizeof(char *));
	err = w->globs ? 0 : -ENOMEM;
	for (int i = 0; !err && i < n; i++) {
		w->globs[i] = strdup(globs[i] ? globs[i] : "");
		if (!w->globs[i])
			err = -ENOMEM;
		w->n_globs = i + 1;
	}
	if (!err && pipe(w->stop_pipe))
		err = -errno;
	if (!err)
		err = open_event_socket(w);
	if (!err)
		err = -pthread_create(&w->thread, NULL, watch_thread, w);
	if (err) {
		lw_free(w);
		errno = -err;
		return NULL;
	}
	return w;
}

void link_watch_stop(struct link_watch *w)
{
	if (!w)
		return;
	if (write(w->stop_pipe[1], "x", 1) < 0)
		pr_warn("link_watch: cannot signal stop: %s", strerror(errno));
	pthread_join(w->thread, NULL);
	lw_free(w);
}
