/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * datapath.c - load, pin and attach the TC programs; see datapath.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dp/datapath.h"
#include "dp/ep_filter.h"
#include "dp/ep_slots.h"
#include "dp/prefix_list.h"
#include "dp/hook_chain.h"
#include "lib/log.h"
#include "tcprio.skel.h"

/* Pinned map names (bpf/tcprio_maps.h) and where their fd goes. */
static const struct {
	const char *name;
	size_t off; /* offsetof(struct datapath_maps, ...) */
} map_pins[] = {
	{ "tcprio_endpoints",    offsetof(struct datapath_maps, endpoints) },
	{ "tcprio_port_rules",   offsetof(struct datapath_maps, port_rules) },
	{ "tcprio_rule_blocks",  offsetof(struct datapath_maps, rule_blocks) },
	{ "tcprio_classes",      offsetof(struct datapath_maps, classes) },
	{ "tcprio_dscp_classes", offsetof(struct datapath_maps, dscp_classes) },
	{ "tcprio_config",       offsetof(struct datapath_maps, config) },
	{ "tcprio_stats",        offsetof(struct datapath_maps, stats) },
	{ "tcprio_events",       offsetof(struct datapath_maps, events) },
	{ "tcprio_pods",         offsetof(struct datapath_maps, pods) },
	{ "tcprio_host_cgroups", offsetof(struct datapath_maps, host_cgroups) },
	{ "tcprio_host_dsts",    offsetof(struct datapath_maps, host_dsts) },
	{ "tcprio_host_ports",   offsetof(struct datapath_maps, host_ports) },
	{ "tcprio_host_config",  offsetof(struct datapath_maps, host_config) },
	{ "tcprio_host_stats",   offsetof(struct datapath_maps, host_stats) },
	{ "tcprio_host_rules",   offsetof(struct datapath_maps, host_rules) },
	{ "tcprio_host_filter",  offsetof(struct datapath_maps, host_filter) },
	{ "tcprio_host_answers", offsetof(struct datapath_maps, host_answers) },
	{ "tcprio_trust_ifaces", offsetof(struct datapath_maps, trust_ifaces) },
	{ "tcprio_trust_slots",  offsetof(struct datapath_maps, trust_slots) },
	{ "tcprio_trust_cidrs",  offsetof(struct datapath_maps, trust_cidrs) },
	{ "tcprio_destinations", offsetof(struct datapath_maps, destinations) },
	{ "tcprio_prefix_lists", offsetof(struct datapath_maps, prefix_lists) },
	{ "tcprio_site",         offsetof(struct datapath_maps, site) },
	{ "tcprio_scope_stats",  offsetof(struct datapath_maps, scope_stats) },
	{ "tcprio_cache_gen",    offsetof(struct datapath_maps, cache_gen) },
	{ "tcprio_ep_filter",    offsetof(struct datapath_maps, ep_filter) },
	{ "tcprio_ep_slots",     offsetof(struct datapath_maps, ep_slots) },
};
#define N_MAP_PINS (sizeof(map_pins) / sizeof(map_pins[0]))

int datapath_note_change(int cache_gen_fd)
{
	static __u64 last;  /* two calls in one ns still differ */
	struct timespec ts;
	__u32 zero = 0;
	__u64 gen;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	gen = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	if (gen <= last)
		gen = last + 1;
	last = gen;
	return bpf_map_update_elem(cache_gen_fd, &zero, &gen, BPF_ANY) ? -errno : 0;
}

long datapath_settle_ep_slots(const struct datapath_maps *maps)
{
	long emptied = 0;
	long n = ep_slots_settle_all(maps->ep_slots, maps->endpoints, &emptied);

	if (n < 0)
		pr_warn("tcprio_ep_slots: settling the slots: %s", strerror((int)-n));
	if (emptied)
		datapath_note_change(maps->cache_gen);
	return n < 0 ? n : emptied;
}

static int *map_fd_slot(struct datapath_maps *m, size_t i)
{
	return (int *)((char *)m + map_pins[i].off);
}

/* Map tcprio_ep_filter for the endpoint writers (dp/ep_filter.h); NULL
 * and a warning if it cannot be: an endpoint written then switches the
 * filter off (ep_filter_add). */
static void map_ep_filter(struct datapath *dp)
{
	int err = ep_filter_map(dp->maps.ep_filter, &dp->maps.ep_filter_mem);

	if (err) {
		dp->maps.ep_filter_mem = NULL;
		pr_warn("tcprio_ep_filter: mmap: %s; endpoints written here switch the "
			"filter off", strerror(-err));
	}
}

static void datapath_init(struct datapath *dp)
{
	memset(dp, 0, sizeof(*dp));
	for (size_t i = 0; i < N_MAP_PINS; i++)
		*map_fd_slot(&dp->maps, i) = -1;
	dp->prog_pod_edge_fd = -1;
	dp->prog_uplink_fd = -1;
}

const char *datapath_pin_dir(const char *opt)
{
	const char *env = getenv(TCPRIO_PIN_DIR_ENV);

	if (opt && *opt)
		return opt;
	if (env && *env)
		return env;
	return TCPRIO_DEFAULT_PIN_DIR;
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* Mount bpffs at /sys/fs/bpf unless one is there already. */
static int ensure_bpffs(void)
{
	if (is_bpffs(TCPRIO_BPFFS_ROOT))
		return 0;
	if (mkdir(TCPRIO_BPFFS_ROOT, 0700) && errno != EEXIST) {
		pr_warn("cannot create %s: %s", TCPRIO_BPFFS_ROOT, strerror(errno));
		return -errno;
	}
	if (mount("bpf", TCPRIO_BPFFS_ROOT, "bpf", 0, "mode=0700")) {
		pr_warn("cannot mount bpffs at %s: %s", TCPRIO_BPFFS_ROOT, strerror(errno));
		return -errno;
	}
	pr_info("mounted bpffs at %s", TCPRIO_BPFFS_ROOT);
	return 0;
}

/* mkdir -p for pin_dir (mode 0700). */
static int mkdir_p(const char *dir)
{
	char buf[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

/*
 * libbpf refuses a pinned map whose type, sizes, entries or flags differ from
 * the object's, with a terse message.  Check first so the operator learns
 * which map and what to do.  Returns 0 or -EINVAL.
 */
static int check_pinned_maps(struct bpf_object *obj, const char *pin_dir)
{
	struct bpf_map *map;
	int err = 0;

	bpf_object__for_each_map(map, obj) {
		struct bpf_map_info info = {};
		__u32 info_len = sizeof(info);
		char path[PATH_MAX];
		int fd;

		if (!bpf_map__pin_path(map) ||
		    pin_path(path, sizeof(path), pin_dir, bpf_map__name(map)))
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue; /* not pinned yet: libbpf pins it */
		if (bpf_obj_get_info_by_fd(fd, &info, &info_len) == 0 &&
		    (info.type != bpf_map__type(map) ||
		     info.key_size != bpf_map__key_size(map) ||
		     info.value_size != bpf_map__value_size(map) ||
		     info.max_entries != bpf_map__max_entries(map) ||
		     info.map_flags != bpf_map__map_flags(map))) {
			pr_warn("pinned map %s does not match this tcprio build "
				"(pinned: type %u key %u value %u entries %u flags 0x%x; "
				"expected: type %u key %u value %u entries %u flags 0x%x); "
				"it is left from another version: run `tcprio detach --pin-dir %s` "
				"(or remove %s) and start the agent again",
				path, info.type, info.key_size, info.value_size,
				info.max_entries, info.map_flags, bpf_map__type(map),
				bpf_map__key_size(map), bpf_map__value_size(map),
				bpf_map__max_entries(map), bpf_map__map_flags(map),
				pin_dir, path);
			err = -EINVAL;
		}
		close(fd);
	}
	return err;
}

/* Pin prog at pin_dir/name, replacing a stale pin. */
static int pin_prog(struct bpf_program *prog, const char *pin_dir, const char *name)
{
	char path[PATH_MAX];
	int err;

	err = pin_path(path, sizeof(path), pin_dir, name);
	if (err)
		return err;
	if (unlink(path) && errno != ENOENT) {
		err = -errno;
		pr_warn("cannot replace stale pin %s: %s", path, strerror(errno));
		return err;
	}
	err = bpf_program__pin(prog, path);
	if (err)
		pr_warn("cannot pin program at %s: %s", path, strerror(-err));
	return err;
}

int datapath_load(struct datapath *dp, const char *pin_dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct tcprio_bpf *skel = NULL;
	int err;

	datapath_init(dp);
	if (!pin_dir || strlen(pin_dir) >= sizeof(dp->pin_dir))
		return -ENAMETOOLONG;
	strcpy(dp->pin_dir, pin_dir);

	err = ensure_bpffs();
	if (err)
		goto cleanup;
	err = mkdir_p(pin_dir);
	if (err) {
		pr_warn("cannot create pin folder %s: %s", pin_dir, strerror(-err));
		goto cleanup;
	}
	if (!is_bpffs(pin_dir)) {
		pr_warn("pin folder %s is not on a bpffs (mount -t bpf bpf %s)",
			pin_dir, TCPRIO_BPFFS_ROOT);
		err = -EINVAL;
		goto cleanup;
	}

	opts.pin_root_path = pin_dir;
	skel = tcprio_bpf__open_opts(&opts);
	if (!skel) {
		err = -errno;
		pr_warn("cannot open the BPF object: %s", strerror(errno));
		goto cleanup;
	}
	err = check_pinned_maps(skel->obj, pin_dir);
	if (err)
		goto cleanup;
	err = tcprio_bpf__load(skel);
	if (err) {
		pr_warn("cannot load the BPF programs (pins in %s): %s; "
			"run with --log-level debug for the verifier log",
			pin_dir, strerror(-err));
		goto cleanup;
	}
	err = pin_prog(skel->progs.tcprio_pod_edge, pin_dir, TCPRIO_PIN_PROG_POD_EDGE);
	if (!err)
		err = pin_prog(skel->progs.tcprio_uplink, pin_dir, TCPRIO_PIN_PROG_UPLINK);
	if (err)
		goto cleanup;

	dp->maps.endpoints = bpf_map__fd(skel->maps.tcprio_endpoints);
	dp->maps.port_rules = bpf_map__fd(skel->maps.tcprio_port_rules);
	dp->maps.rule_blocks = bpf_map__fd(skel->maps.tcprio_rule_blocks);
	dp->maps.classes = bpf_map__fd(skel->maps.tcprio_classes);
	dp->maps.dscp_classes = bpf_map__fd(skel->maps.tcprio_dscp_classes);
	dp->maps.config = bpf_map__fd(skel->maps.tcprio_config);
	dp->maps.stats = bpf_map__fd(skel->maps.tcprio_stats);
	dp->maps.events = bpf_map__fd(skel->maps.tcprio_events);
	dp->maps.pods = bpf_map__fd(skel->maps.tcprio_pods);
	dp->maps.host_cgroups = bpf_map__fd(skel->maps.tcprio_host_cgroups);
	dp->maps.host_dsts = bpf_map__fd(skel->maps.tcprio_host_dsts);
	dp->maps.host_ports = bpf_map__fd(skel->maps.tcprio_host_ports);
	dp->maps.host_config = bpf_map__fd(skel->maps.tcprio_host_config);
	dp->maps.host_stats = bpf_map__fd(skel->maps.tcprio_host_stats);
	dp->maps.host_rules = bpf_map__fd(skel->maps.tcprio_host_rules);
	dp->maps.host_filter = bpf_map__fd(skel->maps.tcprio_host_filter);
	dp->maps.host_answers = bpf_map__fd(skel->maps.tcprio_host_answers);
	dp->maps.trust_ifaces = bpf_map__fd(skel->maps.tcprio_trust_ifaces);
	dp->maps.trust_slots = bpf_map__fd(skel->maps.tcprio_trust_slots);
	dp->maps.trust_cidrs = bpf_map__fd(skel->maps.tcprio_trust_cidrs);
	dp->maps.destinations = bpf_map__fd(skel->maps.tcprio_destinations);
	dp->maps.prefix_lists = bpf_map__fd(skel->maps.tcprio_prefix_lists);
	dp->maps.site = bpf_map__fd(skel->maps.tcprio_site);
	dp->maps.scope_stats = bpf_map__fd(skel->maps.tcprio_scope_stats);
	dp->maps.cache_gen = bpf_map__fd(skel->maps.tcprio_cache_gen);
	dp->maps.ep_filter = bpf_map__fd(skel->maps.tcprio_ep_filter);
	dp->maps.ep_slots = bpf_map__fd(skel->maps.tcprio_ep_slots);
	/* an earlier run of another version may have changed the hash
	 * without the slots */
	datapath_settle_ep_slots(&dp->maps);
	map_ep_filter(dp);
	if (dp->maps.ep_filter_mem) {
		long n = ep_filter_rebuild(dp->maps.ep_filter_mem, dp->maps.endpoints);

		if (n < 0)
			pr_warn("tcprio_ep_filter: reading tcprio_endpoints: %s; every source "
				"is looked up", strerror((int)-n));
	} else {
		ep_filter_off(dp->maps.ep_filter);
	}
	/* The tries as they are now: an earlier run (another version) may
	 * have changed them after writing its lists. */
	prefix_list_sync(dp->maps.destinations, dp->maps.prefix_lists,
			 TCPRIO_PLIST_DESTINATIONS);
	prefix_list_sync(dp->maps.trust_cidrs, dp->maps.prefix_lists, TCPRIO_PLIST_TRUST_CIDRS);
	dp->prog_pod_edge_fd = bpf_program__fd(skel->progs.tcprio_pod_edge);
	dp->prog_uplink_fd = bpf_program__fd(skel->progs.tcprio_uplink);
	dp->skel = skel;
	skel = NULL;
	pr_info("datapath loaded; maps and programs pinned in %s", pin_dir);
cleanup:
	tcprio_bpf__destroy(skel);
	return err;
}

static int open_pin(const char *dir, const char *name, int *fd)
{
	char path[PATH_MAX];
	int err = pin_path(path, sizeof(path), dir, name);

	if (err)
		return err;
	*fd = bpf_obj_get(path);
	return *fd < 0 ? -errno : 0;
}

int datapath_open_pinned(struct datapath *dp, const char *pin_dir)
{
	int err = 0;

	datapath_init(dp);
	if (!pin_dir || strlen(pin_dir) >= sizeof(dp->pin_dir))
		return -ENAMETOOLONG;
	strcpy(dp->pin_dir, pin_dir);
	for (size_t i = 0; i < N_MAP_PINS; i++) {
		err = open_pin(pin_dir, map_pins[i].name, map_fd_slot(&dp->maps, i));
		if (err) {
			pr_debug("cannot open %s/%s: %s", pin_dir, map_pins[i].name,
				 strerror(-err));
			goto cleanup;
		}
	}
	map_ep_filter(dp);
	/* Programs are optional for the CLI. */
	if (open_pin(pin_dir, TCPRIO_PIN_PROG_POD_EDGE, &dp->prog_pod_edge_fd))
		dp->prog_pod_edge_fd = -1;
	if (open_pin(pin_dir, TCPRIO_PIN_PROG_UPLINK, &dp->prog_uplink_fd))
		dp->prog_uplink_fd = -1;
cleanup:
	if (err)
		datapath_close(dp);
	return err;
}

void datapath_close(struct datapath *dp)
{
	if (!dp)
		return;
	ep_filter_unmap(dp->maps.ep_filter_mem);
	if (dp->skel) {
		tcprio_bpf__destroy(dp->skel);
	} else {
		for (size_t i = 0; i < N_MAP_PINS; i++) {
			int fd = *map_fd_slot(&dp->maps, i);

			if (fd >= 0)
				close(fd);
		}
		if (dp->prog_pod_edge_fd >= 0)
			close(dp->prog_pod_edge_fd);
		if (dp->prog_uplink_fd >= 0)
			close(dp->prog_uplink_fd);
	}
	datapath_init(dp);
}

/* ---- attach modes ---------------------------------------------------------- */

const char *datapath_attach_mode_name(enum datapath_attach_mode m)
{
	switch (m) {
	case DATAPATH_ATTACH_TCX: return "tcx";
	case DATAPATH_ATTACH_TC: return "tc";
	default: return "auto";
	}
}

int datapath_parse_attach_mode(const char *s, enum datapath_attach_mode *m)
{
	if (strcmp(s, "auto") == 0)
		*m = DATAPATH_ATTACH_AUTO;
	else if (strcmp(s, "tcx") == 0)
		*m = DATAPATH_ATTACH_TCX;
	else if (strcmp(s, "tc") == 0)
		*m = DATAPATH_ATTACH_TC;
	else
		return -EINVAL;
	return 0;
}

int datapath_set_attach_mode(struct datapath *dp, enum datapath_attach_mode m)
{
	bool tcx = hook_tcx_supported();

	if (m == DATAPATH_ATTACH_TCX && !tcx)
		return -EOPNOTSUPP;
	if (m == DATAPATH_ATTACH_AUTO)
		m = tcx ? DATAPATH_ATTACH_TCX : DATAPATH_ATTACH_TC;
	dp->attach_mode = m;
	return 0;
}

enum datapath_attach_mode datapath_attach_mode(struct datapath *dp)
{
	if (dp->attach_mode == DATAPATH_ATTACH_AUTO)
		datapath_set_attach_mode(dp, DATAPATH_ATTACH_AUTO);
	return dp->attach_mode;
}

/* ---- what belongs to whom ------------------------------------------------ */

/* Kernel id of the BPF program behind fd.  Returns 0 or -errno. */
static int prog_fd_id(int fd, __u32 *id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*id = info.id;
	return 0;
}

/* Whether the program with id prog_id uses the map with id map_id. */
static bool prog_uses_map(__u32 prog_id, __u32 map_id)
{
	__u32 ids[64];
	struct bpf_prog_info info = {
		.nr_map_ids = sizeof(ids) / sizeof(ids[0]),
		.map_ids = (__u64)(unsigned long)ids,
	};
	__u32 len = sizeof(info);
	bool found = false;
	int fd = bpf_prog_get_fd_by_id(prog_id);

	if (fd < 0)
		return false;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		for (__u32 i = 0; i < info.nr_map_ids && i < sizeof(ids) / sizeof(ids[0]); i++)
			found |= ids[i] == map_id;
	close(fd);
	return found;
}

/* Kernel id of dp's tcprio_endpoints map, 0 if unknown. */
static __u32 dp_map_id(const struct datapath *dp)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (dp->maps.endpoints < 0 || bpf_obj_get_info_by_fd(dp->maps.endpoints, &info, &len))
		return 0;
	return info.id;
}

/* Whether entry e is a tcprio attachment: a tcx program named like ours,
 * or a bpf filter with tcprio's handle at tcprio's (or the old) pref. */
static bool is_tcprio_entry(const struct hook_entry *e)
{
	if (e->kind == HOOK_ENTRY_TCX)
		return hook_entry_is_tcprio(e);
	return e->prog_id && e->handle == TCPRIO_TC_HANDLE &&
	       (e->pref == TCPRIO_TC_PRIORITY || e->pref == TCPRIO_TC_PRIORITY_OLD);
}

/* Remove one tcprio attachment (a tcx link or a tcprio tc filter).
 * Returns 0 or -errno (-ENOENT: already gone). */
static int detach_entry(int ifindex, enum tcprio_hook hook, const struct hook_entry *e)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = e->handle, .priority = e->pref);
	struct bpf_tc_hook h;

	if (e->kind == HOOK_ENTRY_TCX) {
		if (!e->link_id)
			return -EOPNOTSUPP; /* attached without a link: not by tcprio */
		return hook_tcx_link_detach_id(e->link_id);
	}
	memset(&h, 0, sizeof(h));
	h.sz = sizeof(h);
	h.ifindex = ifindex;
	h.attach_point = hook == TCPRIO_HOOK_UPLINK ? BPF_TC_EGRESS : BPF_TC_INGRESS;
	return bpf_tc_detach(&h, &opts);
}

static const char *hook_name(enum tcprio_hook hook)
{
	return hook_dir_name(hook);
}

/* pin_dir/link_<ingress|egress>_<ifindex>: the tcx link of that hook. */
static int link_pin_path(const struct datapath *dp, int ifindex, enum tcprio_hook hook,
			 char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/" TCPRIO_PIN_LINK_PREFIX "%s_%d", dp->pin_dir,
			 hook_name(hook), ifindex);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

/*
 * Remove this pin dir's attachments of the other kind at ifindex (hook),
 * and its filter at the pre-tcx pref, so that exactly one tcprio program
 * of this pin dir runs there.  keep: the kind just attached.
 */
static void remove_other_kind(struct datapath *dp, int ifindex, enum tcprio_hook hook,
			      enum hook_entry_kind keep)
{
	struct hook_entry ch[HOOK_CHAIN_MAX];
	__u32 map_id = dp_map_id(dp);
	char path[PATH_MAX];
	int n = hook_chain(ifindex, hook, ch, HOOK_CHAIN_MAX);

	for (int i = 0; i < n; i++) {
		bool old_pref = ch[i].kind == HOOK_ENTRY_TC && ch[i].pref == TCPRIO_TC_PRIORITY_OLD;

		if (!is_tcprio_entry(&ch[i]) || (ch[i].kind == keep && !old_pref))
			continue;
		if (!map_id || !prog_uses_map(ch[i].prog_id, map_id))
			continue; /* another pin dir's */
		if (detach_entry(ifindex, hook, &ch[i]) == 0)
			pr_info("ifindex %d %s: removed tcprio's %s (prog id %u): now attached with %s",
				ifindex, hook_name(hook),
				ch[i].kind == HOOK_ENTRY_TCX ? "tcx link" :
				old_pref ? "filter at the old pref 1985" : "tc filter",
				ch[i].prog_id, keep == HOOK_ENTRY_TCX ? "tcx" : "tc");
	}
	if (keep == HOOK_ENTRY_TC && link_pin_path(dp, ifindex, hook, path, sizeof(path)) == 0)
		unlink(path);
}

/* Index of the first entry running prog_id in ch[0..n), or -1. */
static int find_prog(const struct hook_entry *ch, int n, __u32 prog_id)
{
	for (int i = 0; i < n; i++)
		if (ch[i].prog_id == prog_id)
			return i;
	return -1;
}

/* ---- tcx ------------------------------------------------------------------ */

/* Pin link_fd at path atomically (pin under a temporary name, rename over
 * the old pin).  Returns 0 or -errno. */
static int pin_link_at(int link_fd, const char *path)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s_new", path); /* bpffs refuses names with a dot */

	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	if (bpf_obj_pin(link_fd, tmp))
		return -errno;
	if (rename(tmp, path)) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
}

/*
 * tcx: our program's link must be the first program of the hook.  A live
 * pinned link with our program at the head is kept.  Otherwise a new link
 * is created at the head (BPF_F_BEFORE, no anchor) before the old one is
 * detached, so a restarted agent (new program) never leaves a window.
 * The same program cannot be attached twice at a hook (EEXIST): to move
 * it back to the head its old link goes first, a window of microseconds in
 * which packets pass unclassified (they were already not classified first).
 */
static int attach_tcx(struct datapath *dp, int ifindex, enum tcprio_hook hook, int prog_fd)
{
	struct hook_entry ch[HOOK_CHAIN_MAX];
	char path[PATH_MAX];
	__u32 mine = 0, l_if = 0, l_type = 0, l_prog = 0;
	int n, old_fd, new_fd, err, at;

	err = prog_fd_id(prog_fd, &mine);
	if (!err)
		err = link_pin_path(dp, ifindex, hook, path, sizeof(path));
	if (err)
		return err;
	n = hook_chain(ifindex, hook, ch, HOOK_CHAIN_MAX);
	if (n < 0)
		return n;
	at = find_prog(ch, n, mine);
	old_fd = bpf_obj_get(path);
	if (old_fd >= 0 && hook_tcx_link_info(old_fd, &l_if, &l_type, &l_prog) == 0 &&
	    l_if == (__u32)ifindex && l_type == hook_tcx_attach_type(hook) && l_prog == mine &&
	    at == 0 && ch[0].kind == HOOK_ENTRY_TCX) {
		close(old_fd);
		return 0; /* ours, at the head */
	}
	new_fd = hook_tcx_link_create(prog_fd, ifindex, hook);
	if (new_fd == -EEXIST && at >= 0 && ch[at].kind == HOOK_ENTRY_TCX) {
		pr_debug("ifindex %d %s: moving prog id %u from position %d to the head",
			 ifindex, hook_name(hook), mine, at + 1);
		if (ch[at].link_id)
			hook_tcx_link_detach_id(ch[at].link_id);
		new_fd = hook_tcx_link_create(prog_fd, ifindex, hook);
	}
	if (new_fd < 0) {
		err = new_fd;
		pr_warn("cannot attach with tcx to ifindex %d %s: %s", ifindex, hook_name(hook),
			strerror(-err));
		goto out;
	}
	err = pin_link_at(new_fd, path);
	if (err) {
		pr_warn("cannot pin the tcx link at %s: %s; detaching it", path, strerror(-err));
		bpf_link_detach(new_fd);
		close(new_fd);
		goto out;
	}
	close(new_fd);
	if (old_fd >= 0 && l_if)
		bpf_link_detach(old_fd); /* the previous link, now behind the new one */
	pr_debug("attached with tcx to ifindex %d %s (prog id %u, pinned %s)", ifindex,
		 hook_name(hook), mine, path);
out:
	if (old_fd >= 0)
		close(old_fd);
	return err;
}

/* ---- legacy clsact filter ------------------------------------------------ */

static void tc_hook_init(struct bpf_tc_hook *h, int ifindex, enum tcprio_hook hook)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = ifindex;
	h->attach_point = hook == TCPRIO_HOOK_UPLINK ? BPF_TC_EGRESS : BPF_TC_INGRESS;
}

/*
 * tc: our filter at pref 1 with our handle.  Inside one pref the kernel
 * runs the most recently added filter first, so when another filter runs
 * before ours at pref 1 ours is deleted and added again (a window of
 * microseconds).  tcx programs always run before every filter: that cannot
 * be fixed from here and is reported by datapath_hook_state.
 */
static int attach_tc(int ifindex, enum tcprio_hook hook, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = TCPRIO_TC_HANDLE,
		    .priority = TCPRIO_TC_PRIORITY, .flags = BPF_TC_F_REPLACE);
	struct hook_entry ch[HOOK_CHAIN_MAX];
	struct bpf_tc_hook h;
	__u32 mine = 0;
	int err, n, first_tc = -1, at;

	err = prog_fd_id(prog_fd, &mine);
	if (err)
		return err;
	tc_hook_init(&h, ifindex, hook);
	err = bpf_tc_hook_create(&h); /* clsact; -EEXIST if it is there */
	if (err && err != -EEXIST) {
		pr_warn("cannot create clsact on ifindex %d: %s", ifindex, strerror(-err));
		return err;
	}
	n = hook_chain(ifindex, hook, ch, HOOK_CHAIN_MAX);
	for (int i = 0; i < n; i++)
		if (ch[i].kind == HOOK_ENTRY_TC && first_tc < 0)
			first_tc = i;
	at = n > 0 ? find_prog(ch, n, mine) : -1;
	if (at >= 0 && at == first_tc && ch[at].handle == TCPRIO_TC_HANDLE &&
	    ch[at].pref == TCPRIO_TC_PRIORITY)
		return 0; /* ours, first of the filters */
	if (first_tc >= 0 && ch[first_tc].pref == TCPRIO_TC_PRIORITY &&
	    !(ch[first_tc].handle == TCPRIO_TC_HANDLE)) {
		/* another filter first at pref 1: re-add ours to go in front */
		LIBBPF_OPTS(bpf_tc_opts, del, .handle = TCPRIO_TC_HANDLE,
			    .priority = TCPRIO_TC_PRIORITY);
		bpf_tc_detach(&h, &del);
	}
	err = bpf_tc_attach(&h, &opts);
	if (err) {
		pr_warn("cannot attach to ifindex %d %s at pref %d: %s", ifindex,
			hook_name(hook), TCPRIO_TC_PRIORITY, strerror(-err));
		return err;
	}
	pr_debug("attached to ifindex %d %s (prog id %u)", ifindex, hook_name(hook), opts.prog_id);
	return 0;
}

/* One attach at a time per process: the link watch thread and the agent's
 * re-check may attach the same hook at once, and the tcx steps (create,
 * move, pin, detach the old link) must not interleave. */
static pthread_mutex_t attach_lock = PTHREAD_MUTEX_INITIALIZER;

int datapath_attach(struct datapath *dp, int ifindex, enum tcprio_hook hook)
{
	int prog_fd, err;
	bool tcx;

	if (hook != TCPRIO_HOOK_POD_EDGE && hook != TCPRIO_HOOK_UPLINK)
		return -EINVAL;
	prog_fd = hook == TCPRIO_HOOK_UPLINK ? dp->prog_uplink_fd : dp->prog_pod_edge_fd;
	if (prog_fd < 0)
		return -EBADF;
	pthread_mutex_lock(&attach_lock);
	tcx = datapath_attach_mode(dp) == DATAPATH_ATTACH_TCX;
	err = tcx ? attach_tcx(dp, ifindex, hook, prog_fd) : attach_tc(ifindex, hook, prog_fd);
	if (!err)
		remove_other_kind(dp, ifindex, hook, tcx ? HOOK_ENTRY_TCX : HOOK_ENTRY_TC);
	pthread_mutex_unlock(&attach_lock);
	return err;
}

int datapath_prune_links(struct datapath *dp)
{
	size_t plen = strlen(TCPRIO_PIN_LINK_PREFIX);
	struct dirent *de;
	int removed = 0;
	DIR *d = opendir(dp->pin_dir);

	if (!d)
		return 0;
	pthread_mutex_lock(&attach_lock);
	while ((de = readdir(d))) {
		__u32 l_if = 0, l_type = 0, l_prog = 0;
		char path[PATH_MAX];
		int fd;

		if (strncmp(de->d_name, TCPRIO_PIN_LINK_PREFIX, plen) ||
		    pin_path(path, sizeof(path), dp->pin_dir, de->d_name))
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (hook_tcx_link_info(fd, &l_if, &l_type, &l_prog) == 0 && l_if == 0 &&
		    unlink(path) == 0) {
			pr_debug("unpinned %s: its interface is gone", path);
			removed++;
		}
		close(fd);
	}
	pthread_mutex_unlock(&attach_lock);
	closedir(d);
	return removed;
}

int datapath_attached_prog_id(int ifindex, enum tcprio_hook hook, __u32 *prog_id)
{
	struct hook_entry ch[HOOK_CHAIN_MAX];
	int n;

	*prog_id = 0;
	if (hook != TCPRIO_HOOK_POD_EDGE && hook != TCPRIO_HOOK_UPLINK)
		return -EINVAL;
	n = hook_chain(ifindex, hook, ch, HOOK_CHAIN_MAX);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		if (is_tcprio_entry(&ch[i])) {
			*prog_id = ch[i].prog_id;
			return 1;
		}
	return 0;
}

int datapath_is_attached(int ifindex, enum tcprio_hook hook, __u32 expected_prog_id)
{
	struct hook_entry ch[HOOK_CHAIN_MAX];
	int n;

	if (expected_prog_id == 0) {
		__u32 id;

		return datapath_attached_prog_id(ifindex, hook, &id);
	}
	n = hook_chain(ifindex, hook, ch, HOOK_CHAIN_MAX);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		if (is_tcprio_entry(&ch[i]) && ch[i].prog_id == expected_prog_id)
			return 1;
	return 0;
}

int datapath_detach_prog(int ifindex, enum tcprio_hook hook, __u32 prog_id)
{
	struct hook_entry ch[HOOK_CHAIN_MAX];
	int n, removed = 0, err = 0;

	if (hook != TCPRIO_HOOK_POD_EDGE && hook != TCPRIO_HOOK_UPLINK)
		return -EINVAL;
	n = hook_chain(ifindex, hook, ch, HOOK_CHAIN_MAX);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		int r;

		if (!is_tcprio_entry(&ch[i]) || (prog_id && ch[i].prog_id != prog_id))
			continue;
		r = detach_entry(ifindex, hook, &ch[i]);
		if (r == 0)
			removed = 1;
		else if (r != -ENOENT && !err) {
			pr_warn("cannot detach from ifindex %d %s: %s", ifindex,
				hook_name(hook), strerror(-r));
			err = r;
		}
	}
	return err ? err : removed;
}

int datapath_detach(int ifindex, enum tcprio_hook hook)
{
	int r = datapath_detach_prog(ifindex, hook, 0);

	return r < 0 ? r : 0;
}

int datapath_hook_state(int ifindex, enum tcprio_hook hook, __u32 mine,
			struct datapath_hook_state *st)
{
	struct hook_entry ch[HOOK_CHAIN_MAX];
	int n, at;

	memset(st, 0, sizeof(*st));
	n = hook_chain(ifindex, hook, ch, HOOK_CHAIN_MAX);
	if (n < 0)
		return n;
	at = mine ? find_prog(ch, n, mine) : -1;
	if (at < 0)
		return 0;
	st->mode = ch[at].kind == HOOK_ENTRY_TCX ? DATAPATH_ATTACH_TCX : DATAPATH_ATTACH_TC;
	st->position = at + 1;
	if (at > 0) {
		st->preempted = true;
		st->before = ch[0];
	}
	return 1;
}

int datapath_prog_id(const struct datapath *dp, enum tcprio_hook hook, __u32 *id)
{
	int fd;

	*id = 0;
	if (hook != TCPRIO_HOOK_POD_EDGE && hook != TCPRIO_HOOK_UPLINK)
		return -EINVAL;
	fd = hook == TCPRIO_HOOK_UPLINK ? dp->prog_uplink_fd : dp->prog_pod_edge_fd;
	if (fd < 0)
		return -EBADF;
	return prog_fd_id(fd, id);
}

int datapath_pinned_prog_ids(const char *pin_dir, __u32 ids[TCPRIO_HOOK_COUNT])
{
	static const char *const names[TCPRIO_HOOK_COUNT] = {
		[TCPRIO_HOOK_POD_EDGE] = TCPRIO_PIN_PROG_POD_EDGE,
		[TCPRIO_HOOK_UPLINK] = TCPRIO_PIN_PROG_UPLINK,
	};
	int n = 0, err = 0;

	for (int h = 0; h < TCPRIO_HOOK_COUNT; h++) {
		int fd, r;

		ids[h] = 0;
		r = open_pin(pin_dir, names[h], &fd);
		if (r == -ENOENT)
			continue;
		if (!r) {
			r = prog_fd_id(fd, &ids[h]);
			close(fd);
		}
		if (r) {
			pr_warn("cannot read the program pinned at %s/%s: %s", pin_dir,
				names[h], strerror(-r));
			if (!err)
				err = r;
			continue;
		}
		n++;
	}
	return err ? err : n;
}

/* Whether a pin dir entry is one of ours (see datapath.h). */
static bool is_our_pin(const char *name)
{
	return strncmp(name, "tcprio_", 7) == 0 || strncmp(name, "prog_", 5) == 0 ||
	       strncmp(name, TCPRIO_PIN_LINK_PREFIX, strlen(TCPRIO_PIN_LINK_PREFIX)) == 0;
}

/* Unpin our objects and remove dir.  Returns 0 or -errno. */
static int remove_pins(const char *dir)
{
	struct dirent *de;
	int err = 0, left = 0;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char path[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!is_our_pin(de->d_name) ||
		    pin_path(path, sizeof(path), dir, de->d_name)) {
			left++;
			continue;
		}
		if (unlink(path)) {
			pr_warn("cannot unpin %s: %s", path, strerror(errno));
			if (!err)
				err = -errno;
			left++;
		} else {
			pr_debug("unpinned %s", path);
		}
	}
	closedir(d);
	if (left) {
		pr_warn("kept %s: %d entries that are not tcprio's remain", dir, left);
		return err;
	}
	if (rmdir(dir) && !err)
		err = -errno;
	return err;
}

/* What identifies pin_dir's filters: the pinned programs' ids and the id
 * of its pinned tcprio_endpoints map (0 when not pinned). */
struct pin_owner {
	__u32 prog_ids[TCPRIO_HOOK_COUNT];
	__u32 map_id;
};

/* Kernel id of the map pinned at dir/name, 0 if none can be read. */
static __u32 pinned_map_id(const char *dir, const char *name)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd;

	if (open_pin(dir, name, &fd))
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

/* Whether the tcprio filter running prog_id at hook is pin_dir's: it runs
 * the program pinned there, or an older one (a load interrupted between
 * pinning and attaching) that uses pin_dir's maps. */
static bool owned(const struct pin_owner *w, enum tcprio_hook hook, __u32 prog_id)
{
	if (w->prog_ids[hook] && prog_id == w->prog_ids[hook])
		return true;
	return w->map_id && prog_uses_map(prog_id, w->map_id);
}

/* Detach the matching tcprio attachments (tcx links and tc filters) of one
 * interface (both hooks).  Returns 0 or the first -errno. */
static int detach_ifindex(const struct if_nameindex *i, const struct pin_owner *w,
			  struct datapath_detach_opts *o)
{
	int err = 0;

	for (int hook = 0; hook < TCPRIO_HOOK_COUNT; hook++) {
		struct hook_entry ch[HOOK_CHAIN_MAX];
		int n = hook_chain((int)i->if_index, hook, ch, HOOK_CHAIN_MAX), removed = 0;

		for (int k = 0; k < n; k++) {
			int r;

			if (!is_tcprio_entry(&ch[k]))
				continue;
			if (!o->any_program && !owned(w, hook, ch[k].prog_id)) {
				pr_debug("%s %s: tcprio program of another pin dir (prog id %u) left",
					 i->if_name, hook_name(hook), ch[k].prog_id);
				o->n_foreign++;
				continue;
			}
			r = detach_entry((int)i->if_index, hook, &ch[k]);
			if (r == 0) {
				pr_info("detached from %s %s (%s, prog id %u)", i->if_name,
					hook_name(hook), ch[k].kind == HOOK_ENTRY_TCX ? "tcx" : "tc",
					ch[k].prog_id);
				removed++;
			} else if (r != -ENOENT && !err) {
				err = r;
			}
		}
		if (removed) {
			o->n_removed += removed;
			if (o->removed)
				o->removed((int)i->if_index, hook, o->ctx);
		}
	}
	return err;
}

int datapath_detach_pinned(const char *pin_dir, struct datapath_detach_opts *o)
{
	struct pin_owner w = {};
	struct if_nameindex *ifs;
	int err = 0, r;

	o->n_pinned_progs = o->n_removed = o->n_foreign = 0;
	if (pin_dir) {
		r = datapath_pinned_prog_ids(pin_dir, w.prog_ids);
		o->n_pinned_progs = r;
		if (r < 0)
			return r; /* cannot tell whose filters are whose: touch nothing */
		w.map_id = pinned_map_id(pin_dir, "tcprio_endpoints");
	}
	ifs = if_nameindex();
	if (!ifs) {
		err = -errno;
		pr_warn("cannot list interfaces: %s", strerror(errno));
	}
	for (struct if_nameindex *i = ifs; i && i->if_index; i++) {
		r = detach_ifindex(i, &w, o);
		if (r && !err)
			err = r;
	}
	if (ifs)
		if_freenameindex(ifs);
	pr_debug("removed %d tcprio filter(s), left %d of other pin dirs",
		 o->n_removed, o->n_foreign);
	if (pin_dir) {
		r = remove_pins(pin_dir);
		if (r) {
			pr_warn("cannot remove pins in %s: %s", pin_dir, strerror(-r));
			if (!err)
				err = r;
		}
	}
	return err;
}

int datapath_detach_all(const char *pin_dir)
{
	struct datapath_detach_opts o = {};

	return datapath_detach_pinned(pin_dir, &o);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (log_get_level() < LOG_LVL_DEBUG)
		return 0;
	/* libbpf lines already end in a newline. */
	return vfprintf(stderr, fmt, ap);
}

void log_route_libbpf(void) { libbpf_set_print(libbpf_print); }
