/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hook_chain.c - tcx query/attach through bpf(2) and libbpf 1.1, and the
 * clsact filter dump through rtnetlink; see hook_chain.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include "dp/hook_chain.h"
#include "dp/tcx_uapi.h"
#include "lib/log.h"

__u32 hook_tcx_attach_type(enum tcprio_hook hook)
{
	return hook == TCPRIO_HOOK_UPLINK ? TCX_UAPI_ATTACH_EGRESS : TCX_UAPI_ATTACH_INGRESS;
}

const char *hook_dir_name(enum tcprio_hook hook)
{
	return hook == TCPRIO_HOOK_UPLINK ? "egress" : "ingress";
}

/* BPF_PROG_QUERY for tcx on ifindex.  prog_ids/link_ids hold *count
 * entries on entry; on return *count is the number attached (may exceed
 * the room).  Returns 0 or -errno. */
static int tcx_query(int ifindex, __u32 attach_type, __u32 *prog_ids, __u32 *link_ids,
		     __u32 *count)
{
	struct tcx_uapi_query_attr q;
	int r;

	memset(&q, 0, sizeof(q));
	q.target_ifindex = (__u32)ifindex;
	q.attach_type = attach_type;
	q.prog_ids = (__u64)(unsigned long)prog_ids;
	q.link_ids = (__u64)(unsigned long)link_ids;
	q.count = *count;
	r = (int)syscall(__NR_bpf, BPF_PROG_QUERY, &q, sizeof(q));
	if (r < 0 && errno != ENOSPC)
		return -errno;
	*count = q.count;
	return 0;
}

bool hook_tcx_supported(void)
{
	static int cached = -1; /* benign race: every thread computes the same */
	__u32 n = 0;

	if (cached < 0) {
		/* ifindex 1 is the loopback device of every network namespace. */
		int r = tcx_query(1, TCX_UAPI_ATTACH_INGRESS, NULL, NULL, &n);

		cached = r == 0;
		pr_debug("tcx probe: BPF_PROG_QUERY tcx ingress on lo: %s",
			 r ? strerror(-r) : "ok");
	}
	return cached == 1;
}

void hook_prog_name(__u32 prog_id, char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(prog_id);

	name[0] = '\0';
	if (fd < 0)
		return;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		snprintf(name, HOOK_NAME_LEN, "%s", info.name);
	close(fd);
}

bool hook_entry_is_tcprio(const struct hook_entry *e)
{
	return e->prog_id && (strcmp(e->name, "tcprio_pod_edge") == 0 ||
			      strcmp(e->name, "tcprio_uplink") == 0);
}

static int tcx_entries(int ifindex, enum tcprio_hook hook, struct hook_entry *out, int max)
{
	__u32 progs[HOOK_CHAIN_MAX], links[HOOK_CHAIN_MAX], n = HOOK_CHAIN_MAX;
	int r;

	if (!hook_tcx_supported() || max <= 0)
		return 0;
	r = tcx_query(ifindex, hook_tcx_attach_type(hook), progs, links, &n);
	if (r)
		return r;
	if (n > HOOK_CHAIN_MAX)
		n = HOOK_CHAIN_MAX;
	if ((int)n > max)
		n = (__u32)max;
	for (__u32 i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].kind = HOOK_ENTRY_TCX;
		out[i].prog_id = progs[i];
		out[i].link_id = links[i];
		hook_prog_name(progs[i], out[i].name);
	}
	return (int)n;
}

/* ---- clsact filters over rtnetlink --------------------------------------- */

static struct rtattr *rta_find(struct rtattr *rta, int len, unsigned short type)
{
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if ((rta->rta_type & NLA_TYPE_MASK) == type)
			return rta;
	return NULL;
}

/* One RTM_NEWTFILTER message of the dump into *e.  Returns 1 if it is a
 * filter of chain 0 (not the per-classifier header message), else 0. */
static int parse_filter(struct nlmsghdr *h, struct hook_entry *e)
{
	struct tcmsg *t = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*t));
	struct rtattr *a = (struct rtattr *)((char *)t + NLMSG_ALIGN(sizeof(*t)));
	struct rtattr *kind, *chain, *opts, *id;

	if (len < 0 || t->tcm_handle == 0)
		return 0;
	chain = rta_find(a, len, TCA_CHAIN);
	if (chain && *(__u32 *)RTA_DATA(chain) != 0)
		return 0; /* other chains run only through goto_chain */
	memset(e, 0, sizeof(*e));
	e->kind = HOOK_ENTRY_TC;
	e->pref = TC_H_MAJ(t->tcm_info) >> 16;
	e->handle = t->tcm_handle;
	kind = rta_find(a, len, TCA_KIND);
	if (kind)
		snprintf(e->name, HOOK_NAME_LEN, "%s", (char *)RTA_DATA(kind));
	opts = rta_find(a, len, TCA_OPTIONS);
	if (opts && kind && strcmp(e->name, "bpf") == 0) {
		id = rta_find(RTA_DATA(opts), (int)RTA_PAYLOAD(opts), TCA_BPF_ID);
		if (id) {
			e->prog_id = *(__u32 *)RTA_DATA(id);
			hook_prog_name(e->prog_id, e->name);
		}
	}
	return 1;
}

/* Dump the clsact filters of ifindex (hook) into out.  Returns how many,
 * 0 without a clsact qdisc, or -errno. */
static int tc_entries(int ifindex, enum tcprio_hook hook, struct hook_entry *out, int max)
{
	struct {
		struct nlmsghdr h;
		struct tcmsg t;
	} req = {
		.h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
		       .nlmsg_type = RTM_GETTFILTER,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex,
		       .tcm_parent = TC_H_MAKE(TC_H_CLSACT, hook == TCPRIO_HOOK_UPLINK ?
					       TC_H_MIN_EGRESS : TC_H_MIN_INGRESS) },
	};
	struct timeval tv = { .tv_sec = 2 };
	static __thread char buf[32768];
	int fd, n = 0, err = 0;
	bool done = false;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, &req, req.h.nlmsg_len, 0) < 0) {
		err = -errno;
		goto out;
	}
	while (!done) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len < 0) {
			err = -errno;
			break;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				/* No clsact qdisc (EINVAL/ENOENT): no filters. */
				if (e->error && e->error != -EINVAL && e->error != -ENOENT)
					err = e->error;
				done = true;
				break;
			}
			if (h->nlmsg_type == RTM_NEWTFILTER && n < max && parse_filter(h, &out[n]))
				n++;
		}
	}
out:
	close(fd);
	return err ? err : n;
}

int hook_chain(int ifindex, enum tcprio_hook hook, struct hook_entry *out, int max)
{
	int n, m;

	n = tcx_entries(ifindex, hook, out, max);
	if (n < 0)
		return n;
	m = tc_entries(ifindex, hook, out + n, max - n);
	if (m < 0)
		return m;
	return n + m;
}

int hook_tcx_link_create(int prog_fd, int ifindex, enum tcprio_hook hook)
{
	/* libbpf 1.1 passes flags through for attach types it does not know;
	 * relative_fd/id 0 with BPF_F_BEFORE means "before every program". */
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = TCX_UAPI_F_BEFORE);
	int fd = bpf_link_create(prog_fd, ifindex, (enum bpf_attach_type)hook_tcx_attach_type(hook),
				 &opts);

	return fd < 0 ? -errno : fd;
}

int hook_tcx_link_info(int link_fd, __u32 *ifindex, __u32 *attach_type, __u32 *prog_id)
{
	struct tcx_uapi_link_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(link_fd, &info, &len))
		return -errno;
	if (info.type != TCX_UAPI_LINK_TYPE_TCX)
		return -EINVAL;
	*ifindex = info.ifindex;
	*attach_type = info.attach_type;
	*prog_id = info.prog_id;
	return 0;
}

int hook_tcx_link_detach_id(__u32 link_id)
{
	int fd = bpf_link_get_fd_by_id(link_id), err = 0;

	if (fd < 0)
		return -errno;
	if (bpf_link_detach(fd))
		err = -errno;
	close(fd);
	return err;
}
