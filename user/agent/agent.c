/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * agent.c - `tcprio agent`: start-up, interfaces, class table, signals.
 * Options: agent_options.c; pods from Kubernetes: agent_kube.c.
 *
 * Threads:
 *   main        start-up, then signals (SIGTERM/SIGINT stop, SIGHUP reload)
 *               and a 1 s poll of the class-table file for changes;
 *   kube        the pod informer (kube_informer.h): list + watch -> endpoint_sync;
 *   events      kube_events: bad annotations as Events on their pods;
 *   link watch  attaches the programs to matching interfaces as they appear;
 *   metrics     libmicrohttpd's own thread.
 * agent.lock serialises every endpoint_sync call and class-table swap.
 * On SIGTERM the agent exits and leaves the programs attached and the maps
 * pinned, so the node keeps classifying while the agent is restarted.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include "agent/agent.h"
#include "agent/agent_internal.h"
#include "lib/log.h"
#include "agent/readiness.h"
#include "dp/ep_filter.h"
#include "dp/map_ops_bpf.h"
#include "dp/uplink_qdisc.h"
#include "lib/explain_sock.h"
#include "agent/explain.h"
#include "dp/trust_ifaces.h"
#include "policy/class_rates.h"

uint64_t agent_now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* With Kubernetes the agent wrote (nearly) every entry and knows how many:
 * /metrics shows those counts instead of walking the maps at each scrape.
 * With --no-kube every entry is manual, unknown to the agent: the maps are
 * walked.  Called under a->lock. */
void agent_note_map_counts(struct agent *a)
{
	if (a->o.no_kube || !a->sync)
		return;
	metrics_set_map_counts(&a->metrics, endpoint_sync_endpoint_count(a->sync),
			       endpoint_sync_port_rule_count(a->sync));
}

/* ---- class table ------------------------------------------------------ */

static void sync_trusted_ifaces(struct agent *a);

static int load_table(const char *path, bool gateway, struct class_table *t)
{
	char err[512] = "";
	int ret;

	if (!path)
		ret = class_table_defaults(t);
	else
		ret = class_table_load_file(path, t, err, sizeof(err));
	if (ret < 0) {
		pr_warn("config %s rejected: %s", path, err[0] ? err : strerror(-ret));
		return ret;
	}
	if (gateway && !t->trust_dscp) {
		pr_info("config: --gateway classifies by DSCP alone: trustDscp false ignored");
		t->trust_dscp = true;
	}
	t->trust_forwarded = gateway && !t->n_trust_from;
	if (t->trust_forwarded)
		pr_info("config: --gateway without trustDscpFrom: the DSCP of every forwarded packet "
			"is trusted (name the LAN interfaces or CIDRs in trustDscpFrom to narrow it)");
	if (class_table_warnings(t, err, sizeof(err))) /* after --gateway's own changes */
		pr_warn("config %s: %s", path ? path : "(defaults)", err);
	return 0;
}

/*
 * When the uplinks may get an HTB tree (--uplink-rate, --gateway or a site
 * budget in t), t must fit it (uplink_qdisc_check); with --uplink-rate also
 * the rate (class_table_check_rates: a class rate above the uplink was
 * clamped without a word); `tcprio config check --uplink-rate` is the same.
 */
static int check_table_for_htb(const struct agent *a, const struct class_table *t)
{
	bool may_shape = a->o.uplink_rate_bps || a->o.gateway || t->n_sites ||
			 t->has_default_site;
	char err[512];

	if (!may_shape || !a->o.n_uplinks)
		return 0;
	if (a->o.uplink_rate_bps &&
	    class_table_check_rates(t, a->o.uplink_rate_bps, err, sizeof(err)) < 0) {
		pr_warn("config %s rejected with --uplink-rate: %s",
			a->o.config_path ? a->o.config_path : "(built-in)", err);
		return -EINVAL;
	}
	return uplink_qdisc_check(t);
}

/*
 * Whether the HTB tree may go on uplink `name`: a root qdisc that is
 * neither tcprio's nor a kernel default is replaced only with
 * --replace-qdisc.  Returns true, or false after a warning naming it.
 */
static bool may_replace_root(const struct agent *a, int ifindex, const char *name)
{
	char kind[32];
	uint32_t handle;

	if (a->o.replace_qdisc || uplink_qdisc_foreign_root(ifindex, kind, sizeof(kind), &handle) != 1)
		return true;
	pr_warn("uplink %s: root qdisc %s %x: is not tcprio's and not the kernel default (a CNI's "
		"bandwidth manager or an operator's shaper?): not replaced, so tcprio's classes get no "
		"HTB scheduling there; pass --replace-qdisc to replace it", name, kind, handle >> 16);
	return false;
}

/* Index of uplink name in --uplink, or -1. */
static int uplink_index(const struct agent *a, const char *name)
{
	for (int i = 0; i < a->o.n_uplinks; i++)
		if (strcmp(a->o.uplinks[i], name) == 0)
			return i;
	return -1;
}

void agent_install_htb(struct agent *a, int ifindex, const char *name)
{
	struct uplink_shape sh;
	int i = uplink_index(a, name);
	uint32_t mtu = uplink_link_mtu(name);

	if (!may_replace_root(a, ifindex, name))
		return;
	agent_uplink_shape(a, name, &sh);
	if (uplink_qdisc_install_shape(ifindex, &sh, &a->table) < 0)
		pr_warn("uplink %s: HTB tree not installed", name);
	else if (i >= 0)
		a->sites.tree_mtu[i] = mtu;
}

void agent_check_uplink_mtus(struct agent *a)
{
	for (int i = 0; i < a->o.n_uplinks; i++) {
		const char *name = a->o.uplinks[i];
		int ifindex = (int)if_nametoindex(name);
		uint32_t mtu;

		if (!ifindex || !a->sites.tree_mtu[i] || !agent_sites_shaping(a))
			continue;
		mtu = uplink_link_mtu(name);
		if (!mtu || mtu == a->sites.tree_mtu[i])
			continue;
		pr_info("uplink %s: MTU %u -> %u: rebuilding its HTB tree (the WAN leaves' tbf "
			"bursts are one frame)", name, a->sites.tree_mtu[i], mtu);
		agent_install_htb(a, ifindex, name);
	}
}

/* The trees follow the table and the site's share (agent_sites.c). */
static void install_uplink_qdiscs(struct agent *a)
{
	agent_sites_update(a);
	agent_sites_install_trees(a);
}

/* At start: refuse an uplink whose root qdisc is someone else's. */
static int check_uplink_roots(const struct agent *a)
{
	int bad = 0;

	if (!a->o.uplink_rate_bps)
		return 0;
	for (int i = 0; i < a->o.n_uplinks; i++) {
		int ifindex = (int)if_nametoindex(a->o.uplinks[i]);

		if (ifindex && !may_replace_root(a, ifindex, a->o.uplinks[i]))
			bad++;
	}
	return bad ? -EEXIST : 0;
}

static bool config_changed(struct agent *a)
{
	struct stat st;

	if (!a->o.config_path)
		return false;
	if (stat(a->o.config_path, &st) < 0) {
		/* deleted, a symlink loop, ...: keep the running table, and say
		 * so once (not every second) */
		if (errno != a->config_errno)
			pr_warn("config %s: %s; keeping the running class table", a->o.config_path,
				strerror(errno));
		a->config_errno = errno;
		return false;
	}
	if (a->config_errno) {
		pr_info("config %s is readable again", a->o.config_path);
		a->config_errno = 0;
		a->config_stat = st;
		return true;
	}
	if (st.st_ino == a->config_stat.st_ino && st.st_dev == a->config_stat.st_dev &&
	    st.st_size == a->config_stat.st_size &&
	    st.st_mtim.tv_sec == a->config_stat.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == a->config_stat.st_mtim.tv_nsec)
		return false;
	a->config_stat = st;
	return true;
}

/* Load the file again; on success swap the table in and re-derive all pods. */
static void reload_config(struct agent *a)
{
	struct class_table fresh, old;

	memset(&fresh, 0, sizeof(fresh));
	if (load_table(a->o.config_path, a->o.gateway, &fresh) < 0 || check_table_for_htb(a, &fresh) < 0) {
		pr_warn("config %s: keeping the running class table", a->o.config_path);
		class_table_free(&fresh);
		return;
	}
	pthread_mutex_lock(&a->lock);
	old = a->table;
	a->table = fresh;
	if (endpoint_sync_set_table(a->sync, &a->table) < 0)
		pr_warn("config %s: maps not fully updated", a->o.config_path);
	agent_note_map_counts(a);
	agent_host_rules(a);
	install_uplink_qdiscs(a);
	sync_trusted_ifaces(a);
	pthread_mutex_unlock(&a->lock);
	class_table_free(&old);
	pr_info("config %s reloaded: %d classes, default %s, classification %s", a->o.config_path,
		a->table.n_classes, a->table.classes[a->table.default_class].name,
		a->table.enabled ? "on" : "off");
}

/* ---- interfaces ------------------------------------------------------- */

static bool is_uplink(const struct agent *a, const char *name)
{
	for (int i = 0; i < a->o.n_uplinks; i++)
		if (strcmp(a->o.uplinks[i], name) == 0)
			return true;
	return false;
}

/* tcprio_trust_ifaces := pod interfaces on which the pod edge runs first
 * (and bridges of only those), tunnels and the table's trustDscpFrom
 * names; tcprio_trust_cidrs := its trustDscpFrom CIDRs
 * (dp/trust_ifaces.h).  (--gateway without trustDscpFrom trusts every
 * forwarded packet through tcprio_config: load_table.)  Called with
 * a->lock held (the table), also at every re-check. */
static void sync_trusted_ifaces(struct agent *a)
{
	const char *names[CLASS_TABLE_MAX_TRUST];
	const char *uplinks[AGENT_MAX_UPLINKS];
	struct trust_ifaces_opts o = {
		.pod_globs = a->o.globs, .n_pod_globs = a->o.n_globs,
		.uplinks = uplinks, .names = names,
	};

	datapath_prog_id(&a->dp, TCPRIO_HOOK_POD_EDGE, &o.pod_edge_prog_id);
	for (int i = 0; i < a->o.n_uplinks; i++)
		uplinks[o.n_uplinks++] = a->o.uplinks[i];
	for (int i = 0; i < a->table.n_trust_from; i++)
		if (!a->table.trust_from[i].is_cidr)
			names[o.n_names++] = a->table.trust_from[i].ifname;
	trust_ifaces_sync(a->dp.maps.trust_ifaces, a->dp.maps.trust_slots, &o);
	trust_cidrs_sync(a->dp.maps.trust_cidrs, a->dp.maps.prefix_lists, a->dp.maps.cache_gen,
			 a->table.trust_from, a->table.n_trust_from);
}

static void on_link(void *ctx, int ifindex, const char *name)
{
	struct agent *a = ctx;
	bool uplink = is_uplink(a, name);
	enum tcprio_hook hook = uplink ? TCPRIO_HOOK_UPLINK : TCPRIO_HOOK_POD_EDGE;
	int ret = datapath_attach(&a->dp, ifindex, hook);

	if (ret < 0) {
		pr_warn("%s: attach %s program failed: %s", name, uplink ? "uplink" : "pod-edge",
			strerror(-ret));
		return;
	}
	pr_info("%s: %s program attached (ifindex %d)", name, uplink ? "uplink" : "pod-edge", ifindex);
	if (!uplink) {
		pthread_mutex_lock(&a->lock);
		sync_trusted_ifaces(a);
		pthread_mutex_unlock(&a->lock);
	}
	if (uplink) {
		pthread_mutex_lock(&a->lock);
		if (agent_sites_shaping(a))
			agent_install_htb(a, ifindex, name);
		pthread_mutex_unlock(&a->lock);
	}
}

static int start_link_watch(struct agent *a)
{
	const char *globs[AGENT_MAX_GLOBS + AGENT_MAX_UPLINKS];
	int n = 0;

	for (int i = 0; i < a->o.n_globs; i++)
		globs[n++] = a->o.globs[i];
	for (int i = 0; i < a->o.n_uplinks; i++)
		globs[n++] = a->o.uplinks[i];
	a->link_watch = link_watch_start(globs, n, on_link, a);
	if (!a->link_watch) {
		pr_warn("link watch: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* ---- metrics ---------------------------------------------------------- */

/* The kubelet's probes on a listener of their own (metrics_server_probes). */
static int start_probes(struct agent *a)
{
	char host[128], err[256] = "";
	uint16_t port;

	if (strcmp(a->o.probe_address, "off") == 0)
		return 0;
	if (metrics_parse_address(a->o.probe_address, host, sizeof(host), &port, err, sizeof(err)) < 0) {
		pr_warn("--probe-address: %s", err);
		return -EINVAL;
	}
	if (metrics_server_probes(a->metrics_server, host, port, err, sizeof(err))) {
		pr_warn("probe server on %s: %s", a->o.probe_address, err);
		return -EADDRINUSE;
	}
	pr_info("probes on http://%s:%u/healthz and /readyz", host,
		metrics_server_probe_port(a->metrics_server));
	return 0;
}

static int start_metrics(struct agent *a)
{
	char host[128], err[256] = "";
	uint16_t port;

	if (strcmp(a->o.metrics_address, "off") == 0)
		return 0;
	if (metrics_parse_address(a->o.metrics_address, host, sizeof(host), &port, err, sizeof(err)) < 0) {
		pr_warn("--metrics-address: %s", err);
		return -EINVAL;
	}
	metrics_set_node(&a->metrics, a->o.pin_dir, a->o.uplinks, a->o.n_uplinks);
	a->metrics_server = metrics_server_start(host, port, &a->metrics, &a->dp.maps, err, sizeof(err));
	if (!a->metrics_server) {
		pr_warn("metrics server on %s: %s", a->o.metrics_address, err);
		return -EADDRINUSE;
	}
	pr_info("metrics on http://%s:%u/metrics", host, metrics_server_port(a->metrics_server));
	return start_probes(a);
}

/* ---- life cycle ------------------------------------------------------- */

/*
 * One agent per pin folder: an exclusive flock(2) on the folder, held for
 * the life of the process (the kernel drops it on exit, kill -9 included).
 * Two agents on one folder would overwrite each other's maps.
 */
static int lock_pin_dir(struct agent *a)
{
	a->pin_lock_fd = open(a->o.pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->pin_lock_fd < 0)
		return errno == ENOENT ? 0 : -errno; /* first start: locked after load */
	if (flock(a->pin_lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int err = -errno;

		if (err == -EWOULDBLOCK)
			pr_warn("another tcprio agent is running with pin folder %s; "
				"stop it first (one agent per folder)", a->o.pin_dir);
		close(a->pin_lock_fd);
		a->pin_lock_fd = -1;
		return err;
	}
	return 1;
}

/* `tcprio explain` answers (agent/explain.h); without them the agent
 * still runs: explain then says it cannot reach the agent. */
static void start_explain(struct agent *a)
{
	char path[108], err[256];  /* sizeof(sockaddr_un.sun_path) */

	if (explain_socket_path(a->o.pin_dir, path, sizeof(path))) {
		pr_warn("explain socket: pin folder %s too long for a socket name", a->o.pin_dir);
		return;
	}
	a->explain = explain_server_start(a, path, err, sizeof(err));
	if (!a->explain)
		pr_warn("explain socket: %s", err);
}

/* --attach-mode: tcx where the kernel has it (probed), else tc. */
static int set_attach_mode(struct agent *a)
{
	int ret = datapath_set_attach_mode(&a->dp, a->o.attach_mode);

	if (ret < 0) {
		pr_warn("--attach-mode tcx: this kernel has no tcx (a BPF_PROG_QUERY for tcx "
			"ingress fails); use --attach-mode auto or tc");
		return ret;
	}
	if (datapath_attach_mode(&a->dp) == DATAPATH_ATTACH_TCX)
		pr_info("attach mode tcx: programs run first at each hook as tcx links pinned in %s",
			a->o.pin_dir);
	else
		pr_info("attach mode tc%s: clsact filters at pref 1; a tcx program of a CNI "
			"would run before them (reported as pre-empted)",
			a->o.attach_mode == DATAPATH_ATTACH_TC ? "" : " (this kernel has no tcx)");
	return 0;
}

/* Sites with a WAN budget but no --uplink: the shares are computed and
 * logged, but no uplink has a tree to shape them (status and explain say
 * "WAN not shaped on this node: no --uplink"). */
static void warn_sites_without_uplink(const struct agent *a)
{
	if (!a->o.gateway && !a->o.n_uplinks && (a->table.n_sites || a->table.has_default_site))
		pr_warn("sites configured but no --uplink: WAN not shaped on this node (the "
			"site shares logged are what an uplink would get; give --uplink IFACE or "
			"--uplink auto)");
}

static void warn_missing_uplinks(const struct agent *a)
{
	for (int i = 0; i < a->o.n_uplinks; i++)
		if (!if_nametoindex(a->o.uplinks[i]))
			pr_warn("uplink %s does not exist (yet): it is attached when it appears",
				a->o.uplinks[i]);
}

/* Check every input, lock the pin folder, then load and attach. */
static int agent_start(struct agent *a)
{
	int locked, ret;

	a->pin_lock_fd = a->netns_lock_fd = -1;
	if (load_table(a->o.config_path, a->o.gateway, &a->table) < 0 || check_table_for_htb(a, &a->table) < 0)
		return -EINVAL;
	if (a->o.config_path)
		stat(a->o.config_path, &a->config_stat);
	ret = agent_kube_load_config(a);
	if (ret < 0)
		return ret;
	if (check_uplink_roots(a) < 0)
		return -EEXIST; /* before anything is loaded or attached */
	locked = lock_pin_dir(a);
	if (locked < 0)
		return locked;
	ret = agent_lock_netns(a);
	if (ret < 0)
		return ret;
	ret = datapath_load(&a->dp, a->o.pin_dir);
	if (ret < 0) {
		pr_warn("datapath not loaded at %s: %s", a->o.pin_dir, strerror(-ret));
		return ret;
	}
	if (!locked && (ret = lock_pin_dir(a)) < 0)
		return ret;
	agent_warn_private_bpffs(a);
	ret = set_attach_mode(a);
	if (ret < 0)
		return ret;
	atomic_store(&a->metrics.pinned, true);
	if (readiness_init(&a->metrics, (const char (*)[IF_NAMESIZE])a->o.uplinks,
			   a->o.n_uplinks) < 0)
		return -EINVAL;
	datapath_map_ops(&a->dp.maps, &a->map_ops);
	a->sync = endpoint_sync_new(&a->map_ops, &a->table);
	if (!a->sync)
		return -ENOMEM;
	ret = endpoint_sync_set_table(a->sync, &a->table);
	if (ret < 0)
		pr_warn("class table not fully written: %s", strerror(-ret));
	a->host = host_sync_new(&a->dp.maps, NULL);
	if (!a->host)
		return -ENOMEM;
	agent_host_rules(a);
	sync_trusted_ifaces(a);
	pthread_mutex_lock(&a->lock);
	agent_sites_update(a); /* localCIDRs/remoteCIDRs now, the site once Nodes are listed */
	pthread_mutex_unlock(&a->lock);
	pr_info("datapath pinned at %s: %d classes, default %s", a->o.pin_dir, a->table.n_classes,
		a->table.classes[a->table.default_class].name);
	ret = start_metrics(a);
	if (ret < 0)
		return ret;
	start_explain(a);
	warn_missing_uplinks(a);
	warn_sites_without_uplink(a);
	ret = start_link_watch(a);
	if (ret < 0)
		return ret;
	if (a->o.no_kube)
		atomic_store(&a->metrics.synced, true);
	else if ((ret = agent_kube_start(a)) < 0 || (ret = agent_sites_start(a)) < 0)
		return ret;
	return 0;
}

static void agent_stop(struct agent *a)
{
	agent_kube_stop(a);
	agent_sites_stop(a);
	link_watch_stop(a->link_watch);
	metrics_server_stop(a->metrics_server);
	explain_server_stop(a->explain);
	endpoint_sync_free(a->sync);
	host_sync_free(a->host);
	datapath_close(&a->dp);
	kube_events_stop(a->events); /* borrows a->kube */
	kube_config_free(&a->kube);
	class_table_free(&a->table);
	if (a->pin_lock_fd >= 0)
		close(a->pin_lock_fd);
	if (a->netns_lock_fd >= 0)
		close(a->netns_lock_fd);
}

/*
 * Every --recheck-interval seconds (default 10): each matching interface
 * must run THIS agent's program, in the agent's attach mode, first at its
 * hook.  A missing program (removed by hand, by `tcprio detach`, by a CNI
 * that deleted our filter or the clsact qdisc) is attached again; one that
 * runs behind a foreign program (a CNI that attached at the head after us)
 * is moved back to the head.  What cannot be fixed (in tc mode, a tcx
 * program runs before every clsact filter) stays reported: a warning when
 * the state changes, tcprio_hook_preempted, and /readyz failing.
 */

/* "tcx program id 7 'p'" / "tc filter pref 1 handle 0x1 (prog id 7 'p')". */
static void describe_entry(const struct hook_entry *e, char *buf, size_t len)
{
	if (e->kind == HOOK_ENTRY_TCX)
		snprintf(buf, len, "tcx program id %u '%s'", e->prog_id, e->name);
	else if (e->prog_id)
		snprintf(buf, len, "tc filter pref %u handle 0x%x, program id %u '%s'", e->pref,
			 e->handle, e->prog_id, e->name);
	else
		snprintf(buf, len, "tc filter pref %u handle 0x%x (%s, not BPF)", e->pref, e->handle,
			 e->name);
}

static const char *const hook_label[TCPRIO_HOOK_COUNT] = { "pod_edge", "uplink" };

/* The previous check's table, to warn only when a hook's state changes. */
static struct metrics_hook prev_hooks[METRICS_MAX_HOOKS], cur_hooks[METRICS_MAX_HOOKS];
static size_t n_prev_hooks;

static bool was_preempted_by(const struct metrics_hook *h)
{
	for (size_t i = 0; i < n_prev_hooks; i++)
		if (strcmp(prev_hooks[i].iface, h->iface) == 0 &&
		    strcmp(prev_hooks[i].hook, h->hook) == 0)
			return prev_hooks[i].preempted && prev_hooks[i].by_prog_id == h->by_prog_id;
	return false;
}

/* Check (and fix where it can) one hook; returns 1 if it re-attached. */
static int check_hook(struct agent *a, const char *name, int ifindex, enum tcprio_hook hook,
		      __u32 mine, struct metrics_hook *out)
{
	enum datapath_attach_mode mode = datapath_attach_mode(&a->dp);
	struct datapath_hook_state st;
	char what[160];
	int r, fixed = 0;

	r = datapath_hook_state(ifindex, hook, mine, &st);
	if (r < 0)
		return -1; /* gone meanwhile */
	if (r == 0 || st.mode != mode || st.preempted) {
		if (r == 0)
			pr_warn("%s: tcprio program missing at %s; re-attaching", name,
				hook_dir_name(hook));
		else if (st.mode != mode)
			pr_info("%s %s: attached with %s, agent mode %s: re-attaching", name,
				hook_dir_name(hook), datapath_attach_mode_name(st.mode),
				datapath_attach_mode_name(mode));
		else
			pr_debug("%s %s: not first (position %d); moving to the head", name,
				 hook_dir_name(hook), st.position);
		if (datapath_attach(&a->dp, ifindex, hook) == 0)
			fixed = 1;
		if (st.preempted) {
			struct datapath_hook_state again;

			if (datapath_hook_state(ifindex, hook, mine, &again) == 1 && !again.preempted) {
				describe_entry(&st.before, what, sizeof(what));
				pr_warn("%s %s: %s ran before tcprio; tcprio moved back to the head",
					name, hook_dir_name(hook), what);
			}
		}
		if (datapath_hook_state(ifindex, hook, mine, &st) < 0)
			return -1;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->iface, sizeof(out->iface), "%s", name);
	snprintf(out->hook, sizeof(out->hook), "%s", hook_label[hook]);
	out->preempted = st.preempted;
	if (st.preempted) {
		out->by_prog_id = st.before.prog_id;
		snprintf(out->by_name, sizeof(out->by_name), "%s", st.before.name);
		if (!was_preempted_by(out)) {
			describe_entry(&st.before, what, sizeof(what));
			pr_warn("%s %s: pre-empted: %s runs before tcprio and can end the hook "
				"before tcprio sees a packet; %s", name, hook_dir_name(hook), what,
				st.mode == DATAPATH_ATTACH_TC && st.before.kind == HOOK_ENTRY_TCX ?
				"tcx programs run before every clsact filter: use --attach-mode "
				"auto or tcx on this kernel" : "it could not be moved");
		}
	}
	return fixed;
}

/*
 * The HTB tree too: `tc qdisc del`, `tcprio detach --force` or a CNI
 * removed it, and the filters alone do not shape.  A root qdisc someone
 * else put there stays (may_replace_root, warned once per uplink until the
 * tree is back); readiness reports the tree missing meanwhile.
 */
static int reinstall_htb(struct agent *a)
{
	int fixed = 0;
	bool shaping;

	pthread_mutex_lock(&a->lock); /* the site view changes with Node events */
	shaping = agent_sites_shaping(a);
	pthread_mutex_unlock(&a->lock);
	if (!shaping)
		return 0;
	for (int u = 0; u < a->o.n_uplinks; u++) {
		int ifindex = (int)if_nametoindex(a->o.uplinks[u]);
		char kind[32];
		uint32_t handle, bit = 1u << u;

		if (!ifindex || uplink_qdisc_present(ifindex) != 0) {
			a->htb_foreign_warned &= ~bit;
			continue;
		}
		if (!a->o.replace_qdisc &&
		    uplink_qdisc_foreign_root(ifindex, kind, sizeof(kind), &handle) == 1) {
			if (!(a->htb_foreign_warned & bit))
				may_replace_root(a, ifindex, a->o.uplinks[u]); /* warns */
			a->htb_foreign_warned |= bit;
			continue;
		}
		pr_warn("%s: HTB tree missing; installing it again", a->o.uplinks[u]);
		pthread_mutex_lock(&a->lock);
		agent_install_htb(a, ifindex, a->o.uplinks[u]);
		fixed += uplink_qdisc_present(ifindex) == 1;
		pthread_mutex_unlock(&a->lock);
	}
	return fixed;
}

static int check_hooks(struct agent *a)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	__u32 mine[TCPRIO_HOOK_COUNT] = { 0 };
	size_t n = 0;
	int fixed = 0;

	if (!ifs)
		return 0;
	datapath_prog_id(&a->dp, TCPRIO_HOOK_POD_EDGE, &mine[TCPRIO_HOOK_POD_EDGE]);
	datapath_prog_id(&a->dp, TCPRIO_HOOK_UPLINK, &mine[TCPRIO_HOOK_UPLINK]);
	for (i = ifs; i->if_index; i++) {
		bool uplink = is_uplink(a, i->if_name);
		enum tcprio_hook hook = uplink ? TCPRIO_HOOK_UPLINK : TCPRIO_HOOK_POD_EDGE;
		int r;

		/* no pod globs (--gateway): no pod interfaces, not all of them */
		if (!uplink && (!a->o.n_globs ||
				!link_watch_match(a->o.globs, a->o.n_globs, i->if_name)))
			continue;
		if (n == METRICS_MAX_HOOKS)
			break;
		r = check_hook(a, i->if_name, (int)i->if_index, hook, mine[hook], &cur_hooks[n]);
		if (r < 0)
			continue;
		fixed += r;
		n++;
	}
	if_freenameindex(ifs);
	fixed += reinstall_htb(a);
	datapath_prune_links(&a->dp); /* links of deleted pods' veths */
	metrics_set_hooks(&a->metrics, cur_hooks, n);
	memcpy(prev_hooks, cur_hooks, n * sizeof(cur_hooks[0]));
	n_prev_hooks = n;
	return fixed;
}

/* Ready (as far as interfaces go) once every named uplink exists, runs
 * this agent's program and, when it shapes (--uplink-rate, --gateway, a
 * site's WAN budget: agent_sites_shaping), has its HTB tree
 * (readiness.c reads that from the kernel; attach counts would miss a
 * filter removed since), and no hook is pre-empted (check_hooks). */
static void update_ready(struct agent *a)
{
	__u32 mine = 0;
	bool shaping;

	pthread_mutex_lock(&a->lock);
	shaping = agent_sites_shaping(a);
	pthread_mutex_unlock(&a->lock);
	datapath_prog_id(&a->dp, TCPRIO_HOOK_UPLINK, &mine);
	readiness_check_uplinks(&a->metrics, (const char (*)[IF_NAMESIZE])a->o.uplinks,
				a->o.n_uplinks, mine, shaping);
}

/* Seconds between rebuilds of the endpoint filter, which clear the bits of
 * deleted endpoints (dp/ep_filter.h; a stale bit only costs a source
 * lookup, and a rebuild reads the whole endpoint map). */
#define AGENT_EP_FILTER_REBUILD_S 600

/* Empty the endpoint slots that disagree with tcprio_endpoints (written
 * by an older tcprio binary, which knows no slots, or left by a writer
 * that failed between its two writes: dp/ep_slots.h). */
static void settle_ep_slots(struct agent *a)
{
	long emptied = datapath_settle_ep_slots(&a->dp.maps);

	if (emptied > 0)
		pr_info("tcprio_ep_slots: emptied %ld slot(s) that disagreed with "
			"tcprio_endpoints", emptied);
}

/* Wait for signals; poll the config file once a second. */
static void agent_wait(struct agent *a, const sigset_t *sigs)
{
	struct timespec tick = { .tv_sec = 1 };
	unsigned int ticks = 0;
	siginfo_t info;

	for (;;) {
		int sig = sigtimedwait(sigs, &info, &tick);

		bool recheck = ++ticks % (unsigned int)a->o.recheck_s == 0;

		if (recheck || ticks == 2) {
			check_hooks(a);
			pthread_mutex_lock(&a->lock);
			sync_trusted_ifaces(a);
			agent_check_uplink_mtus(a);
			endpoint_sync_retry_failed(a->sync);
			if (recheck) { /* entries changed behind our back (not at start) */
				endpoint_sync_reconcile(a->sync);
				settle_ep_slots(a);
			}
			agent_note_map_counts(a);
			pthread_mutex_unlock(&a->lock);
		}
		update_ready(a);
		/* Cgroups of host rules and host-network pods come and go. */
		pthread_mutex_lock(&a->lock);
		host_sync_rescan(a->host);
		if (ticks % AGENT_EP_FILTER_REBUILD_S == 0 && a->dp.maps.ep_filter_mem)
			ep_filter_rebuild(a->dp.maps.ep_filter_mem, a->dp.maps.endpoints);
		pthread_mutex_unlock(&a->lock);
		if (sig == SIGTERM || sig == SIGINT) {
			pr_info("signal %d: stopping; the datapath stays attached", sig);
			return;
		}
		if (sig == SIGHUP || config_changed(a))
			reload_config(a);
	}
}

int cmd_agent(int argc, char **argv)
{
	static struct agent a; /* static: zeroed, and large */
	sigset_t sigs;
	int ret;

	ret = agent_parse_options(argc, argv, &a.o);
	if (ret)
		return ret;
	log_route_libbpf();
	/* Every thread inherits this mask; only the main thread takes signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&a.lock, NULL);
	metrics_init(&a.metrics);
	ret = agent_start(&a);
	if (ret == 0)
		agent_wait(&a, &sigs);
	agent_stop(&a);
	return ret == 0 ? 0 : 1;
}
