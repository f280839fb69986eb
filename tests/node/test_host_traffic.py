#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_host_traffic.py - the node's own traffic with real cgroups and real
packets: host rules by cgroup path (and inherited by a child cgroup), a
cgroup deleted and created again, a rule whose cgroup appears later, a
destination rule, and host-network pods found by UID under both kubelet
cgroup layouts (systemd and cgroupfs drivers), whose entry goes with the
pod.  Judges: the DSCP the remote receives (nftables counters per UDP port
and DSCP) and the uplink's HTB class counters (tc -s class show).

    node netns <P>n  198.18.8.1 on uplink <P>u0 (HTB 50mbit, tcprio agent,
        |             test API server; senders run here, each in a cgroup)
    remote netns <P>r 198.18.8.2, counts UDP per (port, DSCP)

Cgroups are made by the test under the cgroup v2 root (found in
/proc/mounts) and removed at the end, also after a failure, deepest first;
a kubepods folder that existed before is left alone.  TAP; needs root.
"""
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

tap = tl.Tap()
PLAN = 22
P = "t11h%d-" % (os.getpid() % 100000)
NS_N, NS_R = P + "n", P + "r"
UPLINK, REMOTE_IP = P + "u0", "198.18.8.2"
N_PKT = 40
DSCP = {"critical": 46, "normal": 0, "bulk": 1}
HTB = {"critical": "1:10", "normal": "1:30", "bulk": "1:40"}
CLONE_NEWNET = 0x40000000
# Time bounds scale with TCPRIO_TIME_SCALE (the kernel matrix's emulated guests).
SCALE = float(os.environ.get("TCPRIO_TIME_SCALE", "1"))
libc = ctypes.CDLL(None, use_errno=True)

procs, made_cgroups = [], []


def run(*cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r


def nsx(ns, *cmd, check=True):
    return run("nsenter", "--net=/run/netns/" + ns, *cmd, check=check)


def cgroup2_root():
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, mnt, fstype = line.split()[:3]
            if fstype == "cgroup2":
                return mnt.replace("\\040", " ")
    return None


ROOT = cgroup2_root()


def mkcg(rel):
    """mkdir ROOT+rel and the folders above it that are missing (each
    recorded for removal); returns its cgroup id (the inode number)."""
    parts = rel.strip("/").split("/")
    for i in range(1, len(parts) + 1):
        path = os.path.join(ROOT, *parts[:i])
        if not os.path.isdir(path):
            os.mkdir(path)
            made_cgroups.append(path)
    return os.stat(os.path.join(ROOT, *parts)).st_ino


def rmcg(rel):
    path = os.path.join(ROOT, rel.strip("/"))
    os.rmdir(path)
    if path in made_cgroups:
        made_cgroups.remove(path)


def send(rel, port, n=N_PKT, dst=REMOTE_IP):
    """n UDP datagrams to dst:port from a process in cgroup rel (it moves
    itself there before it creates its socket), in the node netns."""
    code = ("import socket,time\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "for i in range(%d):\n s.sendto(b'x'*200,('%s',%d)); time.sleep(0.002)\n" % (n, dst, port))
    procs_file = os.path.join(ROOT, rel.strip("/"), "cgroup.procs")
    r = subprocess.run(["sh", "-c", 'echo $$ > "$0" && exec nsenter --net=/run/netns/%s '
                        'python3 -c "$1"' % NS_N, procs_file, code],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("sender in %s: %s" % (rel, r.stderr.strip()))


def remote_counts():
    """{(port, dscp): packets} received at the remote."""
    text = nsx(NS_R, "nft", "list", "chain", "inet", "t11", "in").stdout
    out = {}
    for m in re.finditer(r"udp dport (\d+) ip dscp (\S+) counter packets (\d+)", text):
        d = m.group(2)
        d = {"ef": 46, "cs0": 0, "lephb": 1}.get(d, None if not d.startswith("0x") else int(d, 16))
        out[(int(m.group(1)), d)] = int(m.group(3))
    return out


def htb_packets():
    text = nsx(NS_N, "tc", "-s", "class", "show", "dev", UPLINK).stdout
    out = {}
    for block in text.split("class htb ")[1:]:
        s = re.search(r"Sent (\d+) bytes (\d+) pkt", block)
        out[block.split()[0]] = int(s.group(2))
    return out


def judge(name, rel, port, cls, **kw):
    """Send from rel to port; the remote must see every packet with cls's
    DSCP and the HTB leaf of cls must have sent at least as many."""
    before = htb_packets()
    send(rel, port, **kw)
    got = tl.wait_for(lambda: remote_counts().get((port, DSCP[cls]), 0) >= N_PKT, 3 * SCALE)
    counts = remote_counts()
    after = htb_packets()
    seen = {d: c for (p, d), c in counts.items() if p == port and c}
    delta = after.get(HTB[cls], 0) - before.get(HTB[cls], 0)
    tap.ok(got and seen == {DSCP[cls]: N_PKT} and delta >= N_PKT,
           "%s: %d packets with DSCP %d on the wire, HTB %s +%d" % (
               name, N_PKT, DSCP[cls], HTB[cls], delta),
           "remote DSCP counts %r, HTB %s +%d" % (seen, HTB[cls], delta))


class InNetns:
    """with InNetns(ns): this thread is in that network namespace."""

    def __init__(self, ns):
        self.path = "/run/netns/" + ns

    def __enter__(self):
        self.back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            libc.setns(fd, CLONE_NEWNET)
        finally:
            os.close(fd)

    def __exit__(self, *exc):
        libc.setns(self.back, CLONE_NEWNET)
        os.close(self.back)


def setup():
    for ns in (NS_N, NS_R):
        run("ip", "netns", "add", ns)
        nsx(ns, "ip", "link", "set", "lo", "up")
    nsx(NS_N, "ip", "link", "add", UPLINK, "type", "veth", "peer", "name", P + "r0",
        "netns", "/run/netns/" + NS_R)
    nsx(NS_N, "ip", "addr", "add", "198.18.8.1/24", "dev", UPLINK)
    nsx(NS_R, "ip", "addr", "add", REMOTE_IP + "/24", "dev", P + "r0")
    nsx(NS_N, "ip", "link", "set", UPLINK, "up")
    nsx(NS_R, "ip", "link", "set", P + "r0", "up")
    rules = ["add table inet t11", "add chain inet t11 in { type filter hook ingress device %s "
             "priority 0; }" % (P + "r0")]
    for port in range(7001, 7016):
        for d in (0, 1, 46):
            rules.append("add rule inet t11 in udp dport %d ip dscp %d counter" % (port, d))
    nsx(NS_R, "nft", "; ".join(rules))
    # Resolve the neighbour first so no packet waits for ARP.
    nsx(NS_N, "ping", "-c1", "-W1", REMOTE_IP, check=False)


def main():
    if os.geteuid() != 0:
        tap.skip_all("needs root (namespaces, cgroups, BPF)")
        return 0
    if not ROOT:
        tap.skip_all("no cgroup v2 hierarchy mounted")
        return 0
    tap.plan(PLAN)
    tmp = tempfile.mkdtemp(prefix="tcprio-t11-")
    base = "/tcprio-t11-%d" % os.getpid()
    pin_dir = tl.pin_dir_for("t11host")
    api = agent = None
    uid_a, uid_b = str(uuid.uuid4()), str(uuid.uuid4())
    pod_a = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice" % \
        uid_a.replace("-", "_")
    pod_b = "/kubepods/besteffort/pod%s" % uid_b
    try:
        setup()
        ids = {r: mkcg(base + r) for r in ("/svc", "/svc/child", "/backup", "/other")}
        cfg = os.path.join(tmp, "classes.yaml")
        with open(cfg, "w") as f:
            f.write("classes:\n"
                    "  - {name: critical, dscp: EF, priority: \"1:10\"}\n"
                    "  - {name: high, dscp: AF41, priority: \"1:20\"}\n"
                    "  - {name: normal, priority: \"1:30\"}\n"
                    "  - {name: bulk, dscp: LE, priority: \"1:40\"}\n"
                    "defaultClass: normal\n"
                    "systemClass: critical\n"
                    "hostRules:\n"
                    "  - {cgroup: %s/svc, class: critical}\n"
                    "  - {cgroup: %s/backup, class: bulk}\n"
                    "  - {cgroup: %s/later, class: bulk}\n"
                    "  - {dst: 198.18.8.2/32, port: 7007, protocol: udp, class: critical}\n"
                    % (base, base, base))
        tl.ensure_bpffs()
        with InNetns(NS_N):
            api = tl.ApiServer("t11-node")
            agent = tl.Agent(api.kubeconfig, "t11-node", pin_dir, config=cfg,
                             extra=("--uplink", UPLINK, "--uplink-rate", "50mbit"))
        started = agent.wait_log("pod list synced", 10 * SCALE)
        tap.ok(started and "not on this node" in agent.log_text(),
               "agent starts; a rule's missing cgroup is logged as skipped",
               agent.log_text()[-1500:])
        log = agent.log_text()
        tap.eq(log.count("host rule cgroup %s/later: not on this node" % base), 1,
               "the missing cgroup is logged once, not every rescan")
        tl.wait_for(lambda: False, 1.2)  # a rescan passes: still once
        tap.eq(agent.log_text().count("host rule cgroup %s/later: not on this node" % base), 1,
               "still logged once after a rescan")

        judge("rule by cgroup path", base + "/svc", 7001, "critical")
        judge("child cgroup inherits its parent's rule", base + "/svc/child", 7002, "critical")
        judge("bulk rule by path", base + "/backup", 7003, "bulk")
        judge("cgroup without a rule: default class, DSCP left alone", base + "/other", 7004,
              "normal")
        judge("destination rule 198.18.8.2/32 udp/7007", base + "/other", 7007, "critical")

        st = tl.status(pin_dir)
        rules = {r["rule"]: r for r in st["host"]["rules"]}
        svc = rules.get("cgroup %s/svc" % base, {})
        tap.ok(svc.get("cgroup_id") == ids["/svc"] and svc.get("packets", 0) >= 2 * N_PKT and
               svc.get("class") == "critical",
               "status: the rule's resolved cgroup id is the cgroup's inode, counters count it",
               repr(svc))
        later = rules.get("cgroup %s/later" % base, {})
        tap.eq(later.get("state"), "cgroup not found", "status: a missing cgroup is shown as such")
        tap.ok(rules.get("cgroup /system.slice/kubelet.service", {}).get("builtin") is True,
               "status: built-in rules listed (kubelet)", repr(sorted(rules))[:600])
        m = re.search(r'tcprio_host_packets_total\{rule="cgroup %s/backup",class="bulk"\} (\d+)'
                      % re.escape(base), nsx(NS_N, "curl", "-sf", agent.metrics_url()).stdout)
        tap.ok(m and int(m.group(1)) >= N_PKT, "/metrics: tcprio_host_packets_total of the bulk rule",
               m.group(0) if m else "no sample")

        # Deleted and created again: a new cgroup id, picked up by the rescan.
        rmcg(base + "/svc/child")
        rmcg(base + "/svc")
        new_id = mkcg(base + "/svc")
        tap.ok(new_id != ids["/svc"] and agent.wait_log("cgroup id %d" % new_id, 3 * SCALE),
               "a recreated cgroup (new id %d) is picked up within a rescan" % new_id,
               agent.log_text()[-800:])
        judge("recreated cgroup keeps its rule", base + "/svc", 7005, "critical")
        mkcg(base + "/later")
        tap.ok(agent.wait_log("host rule cgroup %s/later: cgroup id" % base, 3 * SCALE),
               "a cgroup created after the agent started is picked up", agent.log_text()[-800:])
        judge("rule whose cgroup appeared later", base + "/later", 7006, "bulk")

        # Host-network pods, by UID: systemd layout (burstable) and cgroupfs
        # layout (besteffort); the senders sit in a container cgroup below.
        mkcg(pod_a + "/cri-containerd-t11a.scope")
        mkcg(pod_b + "/t11bcontainer")
        with InNetns(NS_N):  # the API server's control port is in the node netns
            tl.add_pod(api, "t11-node", "default", "hn-a", [], uid=uid_a, hostNetwork=True,
                       annotations={"tcprio.io/class": "critical",
                                    "tcprio.io/ports": "7011/udp=bulk"})
            tl.add_pod(api, "t11-node", "default", "hn-b", [], uid=uid_b, hostNetwork=True,
                       annotations={"tcprio.io/class": "bulk"})
        ok = tl.wait_for(lambda: len(tl.status(pin_dir)["host"]["pods"]) == 2, 5 * SCALE)
        pods = {p["cgroup_id"]: p for p in tl.status(pin_dir)["host"]["pods"]}
        tap.ok(ok and os.stat(ROOT + pod_a).st_ino in pods and os.stat(ROOT + pod_b).st_ino in pods,
               "host-network pods: cgroup entries for both driver layouts", repr(pods))
        judge("host-network pod (systemd layout) gets its class", pod_a + "/cri-containerd-t11a.scope",
              7010, "critical")
        judge("host-network pod: port rule (destination port 7011/udp)",
              pod_a + "/cri-containerd-t11a.scope", 7011, "bulk")
        judge("host-network pod (cgroupfs layout) gets its class", pod_b + "/t11bcontainer", 7012,
              "bulk")
        with InNetns(NS_N):
            api.ctl("/ctl/delete", {"namespace": "default", "name": "hn-a"})
        gone = tl.wait_for(lambda: len(tl.status(pin_dir)["host"]["pods"]) == 1, 5 * SCALE)
        tap.ok(gone, "the deleted pod's cgroup entry goes", agent.log_text()[-800:])
        judge("after the pod is deleted its traffic is default class",
              pod_a + "/cri-containerd-t11a.scope", 7013, "normal")
    except Exception as e:  # noqa: BLE001 - report and clean up
        tap.ok(False, "test ran without an exception", repr(e))
        if agent:
            tap.diag(agent.log_text()[-2000:])
    finally:
        if agent:
            with InNetns(NS_N):
                agent.close()
        if api:
            api.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
        for ns in (NS_N, NS_R):
            run("ip", "netns", "del", ns, check=False)
        for path in sorted(made_cgroups, key=len, reverse=True):
            try:
                os.rmdir(path)
            except OSError as e:
                tap.diag("cgroup %s not removed: %s" % (path, e))
        shutil.rmtree(pin_dir, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    sys.exit(main())
