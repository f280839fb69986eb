/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_datapath - datapath_load/attach/detach/detach_all against the real
 * kernel.  Runs as root in a network namespace of its own (unshare at
 * start; every child shell inherits it) with its own pin folder
 * /sys/fs/bpf/tcprio-test-node-<pid>[-bad].  A foreign cls_bpf filter
 * (classic BPF, prio 5) must survive attach and detach.  The main part and
 * the two-pin-dir part run in attach mode tc (clsact filters); test_tcx
 * covers tcx links (skipped on a kernel without tcx), with stand-in CNI
 * programs from build/tests/cni/ attached by build/tests/cni/cni_attach.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dp/datapath.h"
#include "lib/log.h"
#include "tap.h"

static char pin_dir[128], bad_dir[128];

static void cleanup(void)
{
	/* Only our own pin folders; the netns goes away with the process. */
	sh("rm -rf '%s' '%s' '%s-a' '%s-b' '%s-cni' 2>/dev/null", pin_dir, bad_dir, pin_dir, pin_dir,
	   pin_dir);
}

/* Id of the program in slot 0 of the pinned tcprio_dscp_writers (0: none),
 * *name: its name. */
static __u32 writer_slot(char *name, size_t cap)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), zero = 0, id = 0;
	char path[192];
	int map, prog;

	snprintf(path, sizeof(path), "%s/tcprio_dscp_writers", pin_dir);
	name[0] = 0;
	map = bpf_obj_get(path);
	if (map < 0)
		return 0;
	if (bpf_map_lookup_elem(map, &zero, &id))
		id = 0;
	close(map);
	prog = id ? bpf_prog_get_fd_by_id(id) : -1;
	if (prog >= 0 && !bpf_obj_get_info_by_fd(prog, &info, &len))
		snprintf(name, cap, "%s", info.name);
	if (prog >= 0)
		close(prog);
	return id;
}

static bool pinned(const char *dir, const char *name)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

/* Number of tcprio filters (handle 0x7c1) at dev/dir. */
static int our_filters(const char *dev, const char *dir)
{
	char out[64];

	sh_out(out, sizeof(out), "tc filter show dev %s %s | grep -c 'handle 0x7c1'", dev, dir);
	return atoi(out);
}

static bool foreign_present(const char *dev)
{
	return sh("tc filter show dev %s ingress | grep -q 'pref 5 bpf.*handle 0x5'", dev) == 0;
}

static void test_incompatible_pin(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	struct datapath dp;
	char path[256];
	int fd, err;

	snprintf(bad_dir, sizeof(bad_dir), "/sys/fs/bpf/tcprio-test-node-%d-bad", getpid());
	mkdir(bad_dir, 0700);
	snprintf(path, sizeof(path), "%s/tcprio_classes", bad_dir);
	/* Same name, older layout: value 16 bytes instead of 24. */
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tcprio_classes", 4, 16, TCPRIO_MAX_CLASSES, &o);
	CHECK(fd >= 0 && bpf_obj_pin(fd, path) == 0, "pin a tcprio_classes map with an old layout");
	if (fd >= 0)
		close(fd);
	err = datapath_load(&dp, bad_dir);
	CHECK(err == -EINVAL, "load over an incompatible pinned map fails with -EINVAL (got %d)", err);
	CHECK(pinned(bad_dir, "tcprio_classes"), "the incompatible pin is not deleted silently");
	CHECK(!pinned(bad_dir, TCPRIO_PIN_PROG_POD_EDGE), "no program pinned after the failure");
	datapath_close(&dp);
	CHECK(datapath_detach_all(bad_dir) == 0 && access(bad_dir, F_OK) != 0,
	      "detach_all removes the old pins and the folder");
}

/*
 * Two pin dirs (two agents) in one netns: A on tptpod0 ingress, B on tptup0
 * egress, and on tptx0 egress A then B (B replaces A).  Ownership by
 * program id; detach of A leaves B's filters; --all removes the rest.
 */
static void test_two_pin_dirs(void)
{
	char dir_a[160], dir_b[160];
	struct datapath a, b;
	struct datapath_detach_opts o = {};
	__u32 a_edge = 0, a_up = 0, b_up = 0, pinned[TCPRIO_HOOK_COUNT], id;
	int pod_if = if_nametoindex("tptpod0"), up_if = if_nametoindex("tptup0"), x_if;

	snprintf(dir_a, sizeof(dir_a), "%s-a", pin_dir);
	snprintf(dir_b, sizeof(dir_b), "%s-b", pin_dir);
	if (!CHECK(sh("ip link add tptx0 type veth peer name tptx1 && ip link set tptx0 up") == 0 &&
		   datapath_load(&a, dir_a) == 0 && datapath_load(&b, dir_b) == 0,
		   "two pin dirs loaded at once"))
		goto cleanup;
	x_if = if_nametoindex("tptx0");
	datapath_set_attach_mode(&a, DATAPATH_ATTACH_TC);
	datapath_set_attach_mode(&b, DATAPATH_ATTACH_TC);
	CHECK(datapath_prog_id(&a, TCPRIO_HOOK_POD_EDGE, &a_edge) == 0 &&
	      datapath_prog_id(&a, TCPRIO_HOOK_UPLINK, &a_up) == 0 &&
	      datapath_prog_id(&b, TCPRIO_HOOK_UPLINK, &b_up) == 0 && a_edge && a_up && b_up &&
	      a_up != b_up, "datapath_prog_id: distinct non-zero ids (%u %u %u)", a_edge, a_up, b_up);
	CHECK(datapath_pinned_prog_ids(dir_a, pinned) == 2 && pinned[TCPRIO_HOOK_POD_EDGE] == a_edge &&
	      pinned[TCPRIO_HOOK_UPLINK] == a_up, "pinned_prog_ids = the loaded programs' ids");
	CHECK(datapath_pinned_prog_ids("/sys/fs/bpf/tcprio-test-node-none", pinned) == 0 &&
	      pinned[0] == 0 && pinned[1] == 0, "pinned_prog_ids of a missing dir: 0, ids 0");

	CHECK(datapath_attach(&a, pod_if, TCPRIO_HOOK_POD_EDGE) == 0 &&
	      datapath_attach(&b, up_if, TCPRIO_HOOK_UPLINK) == 0 &&
	      datapath_attach(&a, x_if, TCPRIO_HOOK_UPLINK) == 0 &&
	      datapath_attach(&b, x_if, TCPRIO_HOOK_UPLINK) == 0, "attach A, B, and B over A");
	CHECK(datapath_attached_prog_id(pod_if, TCPRIO_HOOK_POD_EDGE, &id) == 1 && id == a_edge,
	      "attached_prog_id: A's pod-edge program on tptpod0 (%u)", id);
	CHECK(datapath_attached_prog_id(x_if, TCPRIO_HOOK_UPLINK, &id) == 1 && id == b_up,
	      "attached_prog_id: B replaced A on tptx0 (%u)", id);
	CHECK(datapath_attached_prog_id(x_if, TCPRIO_HOOK_POD_EDGE, &id) == 0 && id == 0,
	      "attached_prog_id: 0 and id 0 where none is attached");
	CHECK(datapath_is_attached(x_if, TCPRIO_HOOK_UPLINK, b_up) == 1 &&
	      datapath_is_attached(x_if, TCPRIO_HOOK_UPLINK, a_up) == 0 &&
	      datapath_is_attached(x_if, TCPRIO_HOOK_UPLINK, 0) == 1,
	      "is_attached: 1 for B's id, 0 for A's, 1 for any");
	CHECK(datapath_detach_prog(x_if, TCPRIO_HOOK_UPLINK, a_up) == 0 &&
	      our_filters("tptx0", "egress") == 1, "detach_prog with A's id leaves B's filter");

	/* A's close keeps its filters; detach by its pins only. */
	datapath_close(&a);
	o.any_program = false;
	CHECK(datapath_detach_pinned(dir_a, &o) == 0 && o.n_pinned_progs == 2 &&
	      o.n_removed == 1 && o.n_foreign == 2,
	      "detach A: 2 pinned, removed 1, left 2 foreign (%d %d %d)",
	      o.n_pinned_progs, o.n_removed, o.n_foreign);
	CHECK(our_filters("tptpod0", "ingress") == 0 && our_filters("tptup0", "egress") == 1 &&
	      our_filters("tptx0", "egress") == 1, "A's filter gone, B's two kept");
	CHECK(access(dir_a, F_OK) != 0 && access(dir_b, F_OK) == 0, "A's pins gone, B's kept");
	CHECK(datapath_is_attached(up_if, TCPRIO_HOOK_UPLINK, b_up) == 1, "B still attached");

	o = (struct datapath_detach_opts){ .any_program = true };
	CHECK(datapath_detach_pinned(NULL, &o) == 0 && o.n_removed == 2 && o.n_foreign == 0,
	      "detach any_program, no pin dir: removed B's 2 (%d)", o.n_removed);
	CHECK(our_filters("tptup0", "egress") == 0 && our_filters("tptx0", "egress") == 0 &&
	      access(dir_b, F_OK) == 0, "no tcprio filter left; B's pins untouched");
	CHECK(foreign_present("tptpod0"), "foreign classic-BPF filter survives");
cleanup:
	datapath_close(&b);
	sh("rm -rf '%s' '%s' 2>/dev/null", dir_a, dir_b);
}

#define STANDIN "build/tests/cni/cni_standin.bpf.o"
#define ATTACH  "build/tests/cni/cni_attach"

/* Program id printed by cni_attach (0 on failure). */
static __u32 standin(const char *args)
{
	char out[32] = "";

	if (sh_out(out, sizeof(out), ATTACH " " STANDIN " %s", args))
		return 0;
	return (__u32)strtoul(out, NULL, 10);
}

#define OLD_PREF_CHECKS 3
#define TCX_CHECKS 15 /* results test_tcx prints (skips included) */

/* A tcprio filter left at the old pref 1985 by an older version is
 * replaced by the one at pref 1. */
static void test_old_pref(void)
{
	struct datapath dp;
	LIBBPF_OPTS(bpf_tc_hook, h, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = TCPRIO_TC_HANDLE, .priority = TCPRIO_TC_PRIORITY_OLD);
	int ifindex;

	if (!CHECK(sh("ip link add tptold0 type veth peer name tptold1") == 0 &&
		   datapath_load(&dp, pin_dir) == 0, "old pref: load"))
		return;
	ifindex = (int)if_nametoindex("tptold0");
	h.ifindex = ifindex;
	o.prog_fd = dp.prog_pod_edge_fd;
	bpf_tc_hook_create(&h);
	CHECK(bpf_tc_attach(&h, &o) == 0, "an older version's filter at pref 1985");
	datapath_set_attach_mode(&dp, DATAPATH_ATTACH_TC);
	CHECK(datapath_attach(&dp, ifindex, TCPRIO_HOOK_POD_EDGE) == 0 &&
	      sh("tc filter show dev tptold0 ingress | grep -q 'pref 1985'") != 0 &&
	      our_filters("tptold0", "ingress") == 1, "attach (tc) leaves one filter, at pref 1");
	datapath_close(&dp);
	datapath_detach_all(pin_dir);
	sh("ip link del tptold0");
}

/* tcx: links at the head, pinned, reused, replaced without a gap, moved
 * back in front of a CNI's link; mode switches leave one program. */
static void test_tcx(void)
{
	struct datapath dp, dp2;
	struct datapath_hook_state st;
	char link[256], cni_pin[160], cni_args[256];
	__u32 mine, mine2, cni, id;
	int ifindex, lfd;
	struct bpf_link_info li = {};
	__u32 li_len = sizeof(li), link_id;

	if (!hook_tcx_supported()) {
		for (int i = 0; i < TCX_CHECKS; i++)
			tap_skip("tcx attachment", "this kernel has no tcx");
		return;
	}
	if (access(ATTACH, X_OK) || access(STANDIN, R_OK)) {
		CHECK(false, "%s and %s built (make tests)", ATTACH, STANDIN);
		return;
	}
	if (!CHECK(sh("ip link add tptcx0 type veth peer name tptcx1 && ip link set tptcx0 up") == 0 &&
		   datapath_load(&dp, pin_dir) == 0, "tcx: veth and datapath"))
		return;
	ifindex = (int)if_nametoindex("tptcx0");
	snprintf(link, sizeof(link), "%s/link_ingress_%d", pin_dir, ifindex);
	CHECK(datapath_set_attach_mode(&dp, DATAPATH_ATTACH_AUTO) == 0 &&
	      datapath_attach_mode(&dp) == DATAPATH_ATTACH_TCX, "auto resolves to tcx on this kernel");
	datapath_prog_id(&dp, TCPRIO_HOOK_POD_EDGE, &mine);

	/* A CNI's tcx program first, then tcprio attaches: tcprio goes before it. */
	snprintf(cni_pin, sizeof(cni_pin), "%s-cni", pin_dir);
	snprintf(cni_args, sizeof(cni_args), "cni_ok tcx tptcx0 ingress %s", cni_pin);
	cni = standin(cni_args);
	CHECK(cni != 0, "stand-in CNI program (TC_ACT_OK) attached with tcx (id %u)", cni);
	CHECK(datapath_attach(&dp, ifindex, TCPRIO_HOOK_POD_EDGE) == 0 && pinned(pin_dir, link + strlen(pin_dir) + 1),
	      "attach with tcx; link pinned at %s", link);
	CHECK(datapath_hook_state(ifindex, TCPRIO_HOOK_POD_EDGE, mine, &st) == 1 &&
	      st.mode == DATAPATH_ATTACH_TCX && st.position == 1 && !st.preempted,
	      "tcprio runs first, before the CNI's program (position %d)", st.position);
	lfd = bpf_obj_get(link);
	CHECK(lfd >= 0 && bpf_obj_get_info_by_fd(lfd, &li, &li_len) == 0, "pinned link readable");
	link_id = li.id;
	if (lfd >= 0)
		close(lfd);
	CHECK(datapath_attach(&dp, ifindex, TCPRIO_HOOK_POD_EDGE) == 0 &&
	      (lfd = bpf_obj_get(link)) >= 0 && bpf_obj_get_info_by_fd(lfd, &li, &li_len) == 0 &&
	      li.id == link_id, "attach again keeps the same link (id %u)", link_id);
	if (lfd >= 0)
		close(lfd);

	/* The CNI re-attaches at the head: pre-empted, then moved back. */
	sh("rm -f %s", cni_pin);
	cni = standin(cni_args);
	CHECK(datapath_hook_state(ifindex, TCPRIO_HOOK_POD_EDGE, mine, &st) == 1 && st.preempted &&
	      st.position == 2 && st.before.kind == HOOK_ENTRY_TCX && st.before.prog_id == cni &&
	      strcmp(st.before.name, "cni_ok") == 0,
	      "a CNI program re-attached at the head: pre-empted by tcx prog %u 'cni_ok'", cni);
	CHECK(datapath_attach(&dp, ifindex, TCPRIO_HOOK_POD_EDGE) == 0 &&
	      datapath_hook_state(ifindex, TCPRIO_HOOK_POD_EDGE, mine, &st) == 1 && !st.preempted &&
	      st.position == 1, "attach moves tcprio back to the head");

	/* Restart: a new program replaces the old one; one tcprio program. */
	CHECK(datapath_load(&dp2, pin_dir) == 0, "second load (agent restart)");
	datapath_prog_id(&dp2, TCPRIO_HOOK_POD_EDGE, &mine2);
	CHECK(datapath_attach(&dp2, ifindex, TCPRIO_HOOK_POD_EDGE) == 0 &&
	      datapath_attached_prog_id(ifindex, TCPRIO_HOOK_POD_EDGE, &id) == 1 && id == mine2 &&
	      datapath_is_attached(ifindex, TCPRIO_HOOK_POD_EDGE, mine) == 0 &&
	      datapath_hook_state(ifindex, TCPRIO_HOOK_POD_EDGE, mine2, &st) == 1 && st.position == 1,
	      "restart: the new program (%u) first, the old one (%u) gone", mine2, mine);

	/* tcx -> tc -> tcx: exactly one tcprio program each time. */
	datapath_set_attach_mode(&dp2, DATAPATH_ATTACH_TC);
	CHECK(datapath_attach(&dp2, ifindex, TCPRIO_HOOK_POD_EDGE) == 0 &&
	      our_filters("tptcx0", "ingress") == 1 && access(link, F_OK) != 0 &&
	      datapath_hook_state(ifindex, TCPRIO_HOOK_POD_EDGE, mine2, &st) == 1 &&
	      st.mode == DATAPATH_ATTACH_TC && st.preempted && st.before.prog_id == cni,
	      "switch to tc: one filter, link unpinned, pre-empted by the CNI's tcx program");
	datapath_set_attach_mode(&dp2, DATAPATH_ATTACH_TCX);
	CHECK(datapath_attach(&dp2, ifindex, TCPRIO_HOOK_POD_EDGE) == 0 &&
	      our_filters("tptcx0", "ingress") == 0 && access(link, F_OK) == 0 &&
	      datapath_hook_state(ifindex, TCPRIO_HOOK_POD_EDGE, mine2, &st) == 1 &&
	      st.mode == DATAPATH_ATTACH_TCX && !st.preempted, "switch back to tcx: filter gone, link first");

	/* detach: the link goes, the CNI's stays. */
	datapath_close(&dp);
	datapath_close(&dp2);
	CHECK(datapath_detach_all(pin_dir) == 0 &&
	      datapath_attached_prog_id(ifindex, TCPRIO_HOOK_POD_EDGE, &id) == 0,
	      "detach_all removes the tcx link");
	CHECK(datapath_hook_state(ifindex, TCPRIO_HOOK_POD_EDGE, cni, &st) == 1 && st.position == 1,
	      "the CNI's program stays attached");
	sh("rm -f %s; ip link del tptcx0", cni_pin);
}

int main(void)
{
	struct datapath dp, dp2, ro;
	struct tcprio_class c = { .priority = 0x1000a, .flags = TCPRIO_CLASS_VALID, .name = "x" }, c2;
	__u32 key = 3, writer1, writer2;
	int pod_if, up_if, err;
	char wname[BPF_OBJ_NAME_LEN];

	if (geteuid() != 0) {
		return tap_skip_all("needs root (BPF, netns)");
	}
	if (unshare(CLONE_NEWNET)) {
		return tap_skip_all("cannot create a network namespace");
	}
	tap_plan(52 + 1 + OLD_PREF_CHECKS + TCX_CHECKS);
	log_set_level(LOG_LVL_WARN);
	log_route_libbpf();
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/tcprio-test-node-%d", getpid());
	atexit(cleanup);
	signal(SIGTERM, exit);
	signal(SIGINT, exit);

	CHECK(sh("ip link add tptpod0 type veth peer name tptpod1 && "
		 "ip link add tptup0 type veth peer name tptup1 && ip link set tptpod0 up && "
		 "ip link set tptup0 up") == 0, "create veths in the test netns");
	pod_if = if_nametoindex("tptpod0");
	up_if = if_nametoindex("tptup0");

	err = datapath_load(&dp, pin_dir);
	if (!CHECK(err == 0, "datapath_load into %s (err %d)", pin_dir, err))
		return 1;
	CHECK(pinned(pin_dir, "tcprio_endpoints") && pinned(pin_dir, "tcprio_stats") &&
	      pinned(pin_dir, "tcprio_pods") && pinned(pin_dir, TCPRIO_PIN_PROG_POD_EDGE) &&
	      pinned(pin_dir, TCPRIO_PIN_PROG_UPLINK), "maps and programs pinned by name");
	CHECK(bpf_map_update_elem(dp.maps.classes, &key, &c, BPF_ANY) == 0, "write a class");
	CHECK(datapath_set_attach_mode(&dp, DATAPATH_ATTACH_TC) == 0 &&
	      datapath_attach_mode(&dp) == DATAPATH_ATTACH_TC, "attach mode tc can be forced");

	/* Restart: the pinned maps are reused, so the class is still there. */
	writer1 = writer_slot(wname, sizeof(wname));
	err = datapath_load(&dp2, pin_dir);
	CHECK(err == 0 && bpf_map_lookup_elem(dp2.maps.classes, &key, &c2) == 0 &&
	      c2.priority == 0x1000a, "a second load reuses the pinned maps (err %d)", err);
	datapath_close(&dp2);
	writer2 = writer_slot(wname, sizeof(wname));
	CHECK(writer1 && writer2 && writer2 != writer1 && !strcmp(wname, "tcprio_dscp_wri"),
	      "the pinned tcprio_dscp_writers slot holds the writer of the last load "
	      "(program %u, then %u: %s)", writer1, writer2, wname);

	/* Foreign filter first, then ours. */
	CHECK(sh("tc qdisc add dev tptpod0 clsact && tc filter add dev tptpod0 ingress prio 5 "
		 "handle 5 bpf bytecode '1,6 0 0 4294967295,' classid 1:1") == 0,
	      "add a foreign cls_bpf filter (prio 5)");
	CHECK(datapath_is_attached(pod_if, TCPRIO_HOOK_POD_EDGE, 0) == 0, "not attached before attach");
	CHECK(datapath_attach(&dp, pod_if, TCPRIO_HOOK_POD_EDGE) == 0, "attach pod edge (clsact exists)");
	CHECK(datapath_attach(&dp, pod_if, TCPRIO_HOOK_POD_EDGE) == 0, "attach again (replace)");
	CHECK(our_filters("tptpod0", "ingress") == 1, "exactly one tcprio filter at ingress (%d)",
	      our_filters("tptpod0", "ingress"));
	CHECK(sh("tc filter show dev tptpod0 ingress | grep -q 'pref 1 bpf.*handle 0x7c1 "
		 "tcprio_pod_edge.*direct-action'") == 0, "filter is pref 1 handle 0x7c1 direct-action");
	CHECK(foreign_present("tptpod0"), "foreign filter survives attach");
	CHECK(datapath_is_attached(pod_if, TCPRIO_HOOK_POD_EDGE, 0) == 1, "is_attached ingress = 1");
	CHECK(datapath_is_attached(pod_if, TCPRIO_HOOK_UPLINK, 0) == 0, "is_attached egress = 0");

	CHECK(datapath_attach(&dp, up_if, TCPRIO_HOOK_UPLINK) == 0, "attach uplink (creates clsact)");
	CHECK(our_filters("tptup0", "egress") == 1 && our_filters("tptup0", "ingress") == 0,
	      "uplink program at egress only");
	CHECK(datapath_attach(&dp, 999999, TCPRIO_HOOK_UPLINK) < 0, "attach to a missing ifindex fails");

	CHECK(datapath_detach(pod_if, TCPRIO_HOOK_POD_EDGE) == 0 &&
	      datapath_is_attached(pod_if, TCPRIO_HOOK_POD_EDGE, 0) == 0, "detach pod edge");
	CHECK(foreign_present("tptpod0"), "foreign filter survives detach");
	CHECK(sh("tc qdisc show dev tptpod0 | grep -q clsact") == 0, "clsact qdisc kept");
	CHECK(datapath_detach(pod_if, TCPRIO_HOOK_POD_EDGE) == 0, "detach again is a no-op");
	CHECK(datapath_detach(if_nametoindex("lo"), TCPRIO_HOOK_UPLINK) == 0,
	      "detach from a link without clsact is a no-op");

	CHECK(datapath_open_pinned(&ro, pin_dir) == 0 && ro.maps.classes >= 0 &&
	      ro.prog_uplink_fd >= 0 && bpf_map_lookup_elem(ro.maps.classes, &key, &c2) == 0 &&
	      c2.priority == 0x1000a, "open_pinned sees the same maps");
	datapath_close(&ro);
	CHECK(datapath_open_pinned(&ro, "/sys/fs/bpf/tcprio-test-node-none") == -ENOENT,
	      "open_pinned of an empty folder: -ENOENT");

	/* detach_all: both links, pins gone, foreign filter kept.  dp's programs
	 * are attached but dp2 re-pinned newer ones: they are still this pin
	 * dir's (they use its maps), so detach_all removes them. */
	CHECK(datapath_attach(&dp, pod_if, TCPRIO_HOOK_POD_EDGE) == 0, "re-attach pod edge");
	datapath_close(&dp);
	CHECK(datapath_detach_all(pin_dir) == 0, "detach_all");
	CHECK(our_filters("tptpod0", "ingress") == 0 && our_filters("tptup0", "egress") == 0,
	      "no tcprio filter left");
	CHECK(foreign_present("tptpod0"), "foreign filter survives detach_all");
	CHECK(access(pin_dir, F_OK) != 0, "pin folder removed");

	test_incompatible_pin();
	test_two_pin_dirs();
	test_old_pref();
	test_tcx();
	return tap_done();
}
