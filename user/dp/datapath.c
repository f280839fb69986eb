/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * datapath.c - load, pin and attach the TC programs; see datapath.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dp/datapath.h"
#include "lib/log.h"
#include "tcprio.skel.h"

/* Pinned map names (bpf/tcprio_maps.h) and where their fd goes. */
static const struct {
	const char *name;
	size_t off; /* offsetof(struct datapath_maps, ...) */
} map_pins[] = {
	{ "tcprio_endpoints",    offsetof(struct datapath_maps, endpoints) },
	{ "tcprio_port_rules",   offsetof(struct datapath_maps, port_rules) },
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
	{ "tcprio_trust_ifaces", offsetof(struct datapath_maps, trust_ifaces) },
	{ "tcprio_trust_cidrs",  offsetof(struct datapath_maps, trust_cidrs) },
};
#define N_MAP_PINS (sizeof(map_pins) / sizeof(map_pins[0]))

static int *map_fd_slot(struct datapath_maps *m, size_t i)
{
	return (int *)((char *)m + map_pins[i].off);
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
	dp->maps.trust_ifaces = bpf_map__fd(skel->maps.tcprio_trust_ifaces);
	dp->maps.trust_cidrs = bpf_map__fd(skel->maps.tcprio_trust_cidrs);
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

static void tc_hook_init(struct bpf_tc_hook *h, int ifindex, enum tcprio_hook hook)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = ifindex;
	h->attach_point = hook == TCPRIO_HOOK_UPLINK ? BPF_TC_EGRESS : BPF_TC_INGRESS;
}

static const char *hook_name(enum tcprio_hook hook)
{
	return hook == TCPRIO_HOOK_UPLINK ? "egress" : "ingress";
}

int datapath_attach(struct datapath *dp, int ifindex, enum tcprio_hook hook)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TCPRIO_TC_HANDLE,
		    .priority = TCPRIO_TC_PRIORITY, .flags = BPF_TC_F_REPLACE);
	struct bpf_tc_hook h;
	int err;

	if (hook != TCPRIO_HOOK_POD_EDGE && hook != TCPRIO_HOOK_UPLINK)
		return -EINVAL;
	opts.prog_fd = hook == TCPRIO_HOOK_UPLINK ? dp->prog_uplink_fd : dp->prog_pod_edge_fd;
	if (opts.prog_fd < 0)
		return -EBADF;
	tc_hook_init(&h, ifindex, hook);
	err = bpf_tc_hook_create(&h); /* clsact; -EEXIST if it is there */
	if (err && err != -EEXIST) {
		pr_warn("cannot create clsact on ifindex %d: %s", ifindex, strerror(-err));
		return err;
	}
	err = bpf_tc_attach(&h, &opts);
	if (err) {
		pr_warn("cannot attach to ifindex %d %s: %s", ifindex,
			hook_name(hook), strerror(-err));
		return err;
	}
	pr_debug("attached to ifindex %d %s (prog id %u)", ifindex, hook_name(hook),
		 opts.prog_id);
	return 0;
}

int datapath_attached_prog_id(int ifindex, enum tcprio_hook hook, __u32 *prog_id)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TCPRIO_TC_HANDLE,
		    .priority = TCPRIO_TC_PRIORITY);
	struct bpf_tc_hook h;
	int err;

	*prog_id = 0;
	if (hook != TCPRIO_HOOK_POD_EDGE && hook != TCPRIO_HOOK_UPLINK)
		return -EINVAL;
	tc_hook_init(&h, ifindex, hook);
	err = bpf_tc_query(&h, &opts);
	if (err == 0) {
		*prog_id = opts.prog_id;
		return 1;
	}
	/* ENOENT: no such filter; EINVAL: no clsact qdisc on the link. */
	if (err == -ENOENT || err == -EINVAL)
		return 0;
	return err;
}

int datapath_is_attached(int ifindex, enum tcprio_hook hook, __u32 expected_prog_id)
{
	__u32 id;
	int r = datapath_attached_prog_id(ifindex, hook, &id);

	if (r != 1)
		return r;
	return expected_prog_id == 0 || id == expected_prog_id;
}

int datapath_detach_prog(int ifindex, enum tcprio_hook hook, __u32 prog_id)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TCPRIO_TC_HANDLE,
		    .priority = TCPRIO_TC_PRIORITY);
	struct bpf_tc_hook h;
	int err;

	err = datapath_is_attached(ifindex, hook, prog_id);
	if (err <= 0)
		return err;
	tc_hook_init(&h, ifindex, hook);
	err = bpf_tc_detach(&h, &opts);
	if (err == -ENOENT)
		return 0;
	if (err) {
		pr_warn("cannot detach from ifindex %d %s: %s", ifindex,
			hook_name(hook), strerror(-err));
		return err;
	}
	return 1;
}

int datapath_detach(int ifindex, enum tcprio_hook hook)
{
	int r = datapath_detach_prog(ifindex, hook, 0);

	return r < 0 ? r : 0;
}

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
	return strncmp(name, "tcprio_", 7) == 0 || strncmp(name, "prog_", 5) == 0;
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

/* Whether the tcprio filter running prog_id at hook is pin_dir's: it runs
 * the program pinned there, or an older one (a load interrupted between
 * pinning and attaching) that uses pin_dir's maps. */
static bool owned(const struct pin_owner *w, enum tcprio_hook hook, __u32 prog_id)
{
	if (w->prog_ids[hook] && prog_id == w->prog_ids[hook])
		return true;
	return w->map_id && prog_uses_map(prog_id, w->map_id);
}

/* Detach the matching filters of one interface (both hooks).  Returns 0 or
 * the first -errno. */
static int detach_ifindex(const struct if_nameindex *i, const struct pin_owner *w,
			  struct datapath_detach_opts *o)
{
	int err = 0;

	for (int hook = 0; hook < TCPRIO_HOOK_COUNT; hook++) {
		__u32 id;
		int r = datapath_attached_prog_id(i->if_index, hook, &id);

		if (r == 1 && !o->any_program && !owned(w, hook, id)) {
			pr_debug("%s %s: tcprio filter of another pin dir (prog id %u) left",
				 i->if_name, hook_name(hook), id);
			o->n_foreign++;
			continue;
		}
		if (r == 1)
			r = datapath_detach_prog(i->if_index, hook, id);
		if (r == 1) {
			pr_info("detached from %s %s (prog id %u)", i->if_name,
				hook_name(hook), id);
			o->n_removed++;
			if (o->removed)
				o->removed(i->if_index, hook, o->ctx);
		} else if (r < 0 && !err) {
			err = r;
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
