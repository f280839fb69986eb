#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_cni_coexist.py - tcprio next to a CNI's own TC programs, with real
traffic in network namespaces, in both attach modes: auto (tcx on this
kernel) and tc (forced: the legacy clsact path of kernels without tcx).

The CNI is played by the stand-in programs of tests/cni/cni_standin.bpf.c,
attached by build/tests/cni/cni_attach the way a CNI attaches them:
  a  tcx cni_ok (TC_ACT_OK) at pod-veth ingress, attached after tcprio,
     then attached again at the head after tcprio moved back (f)
  b  tcx cni_redir_neigh at pod-veth ingress (pod -> uplink, as Cilium's
     host routing) and cni_redir_peer (pod A -> pod B through B's veth peer)
  c  clsact cni_ok at pref 1 on the pod veth (Cilium with tcx off)
  d  tcx cni_ok and clsact cni_ok at pref 1 at the uplink's egress
  e  a CNI that deletes tcprio's filter / the clsact qdisc / tcprio's link
Judged by the DSCP of the pings that reach the remote (or pod B), by the
uplink's HTB class counters, and, where tcprio cannot run first, by the
exact report: the agent's warning line, `tcprio status --json`,
tcprio_hook_preempted{iface,hook} on /metrics and /readyz answering 503.

Topology (namespaces tptcni-<pid>-NAME, addresses from 198.18.0.0/15):
  pa  eth0 198.18.4.10/32  --veth--  tptcv-a  |
  pb  eth0 198.18.4.20/32  --veth--  tptcv-b  |  node (agent --no-kube; pod A's
                                              |  IP is class critical = DSCP 46, 1:10)
  remote eth0 198.18.5.2/30 --veth-- tptcup0 198.18.5.1/30 (uplink, HTB 50mbit)
The agent re-checks every second (--recheck-interval 1).  Needs root.
Everything is removed in a finally block: agent by PID, `tcprio detach`,
stand-in pins, namespaces.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

PREFIX = "tptcni-%d-" % os.getpid()
UPLINK = "tptcup0"
POD_A, POD_B = ("pa", "tptcv-a", "198.18.4.10"), ("pb", "tptcv-b", "198.18.4.20")
REMOTE_IP = "198.18.5.2"
STANDIN = os.path.join(tl.ROOT, "build", "tests", "cni", "cni_standin.bpf.o")
ATTACH = os.path.join(tl.ROOT, "build", "tests", "cni", "cni_attach")
CNI_PIN = "/sys/fs/bpf/tptcni-%d-link" % os.getpid()
RECHECK_S = 1
N = 10

tap = tl.Tap()


TOPO = tl.Topology(PREFIX)
run = TOPO.run   # run(*cmd, netns=NAME)


def make_topology():
    TOPO.add("node", "remote")
    TOPO.uplink(UPLINK, "198.18.5.1/30", REMOTE_IP + "/30", routes=["198.18.4.0/24"])
    for pod in (POD_A, POD_B):
        TOPO.add(pod[0])
        TOPO.pod(*pod, "198.18.4.1")


class Capture(tl.PacketCapture):
    """IPv4 frames arriving on eth0 of a namespace (AF_PACKET opened there)."""

    def __init__(self, name):
        super().__init__(TOPO.path(name))

    def drain(self, src):
        """{dscp: echo requests from src} since the last drain."""
        seen = {}
        for ip in self.packets():
            if ip[9] != 1 or socket.inet_ntoa(ip[12:16]) != src:
                continue
            ihl = (ip[0] & 15) * 4
            if len(ip) > ihl and ip[ihl] == 8:  # ICMP echo request
                seen[ip[1] >> 2] = seen.get(ip[1] >> 2, 0) + 1
        return seen


def htb_sent(cls):
    out = run("tc", "-s", "class", "show", "dev", UPLINK).stdout
    m = re.search(r"class htb %s .*?\n\s*Sent \d+ bytes (\d+) pkt" % re.escape(cls), out, re.S)
    return int(m.group(1)) if m else -1


def http(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def standin(prog, kind, dev, direction, where, target=None):
    """Attach a stand-in; where: the pin path (tcx) or the pref (tc).
    Returns its program id."""
    args = [ATTACH, STANDIN, prog, kind, dev, direction, str(where)] + ([target] if target else [])
    return int(run(*args).stdout.strip())


def standin_off(kind, dev, direction):
    if kind == "tcx":
        run("rm", "-f", CNI_PIN, check=False)
    else:
        run("tc", "filter", "del", "dev", dev, direction, "pref", "1", "handle", "0xc1", "bpf",
            check=False)


class Run:
    def __init__(self):
        self.agent = None
        self.pin_dir = tl.pin_dir_for("cni")
        self.has_tcx = tl.kernel_has_tcx()
        self.log = "/tmp/tptcni-%d-agent.log" % os.getpid()

    # --- agent --------------------------------------------------------------
    def refuse_foreign_root(self):
        """--uplink-rate next to someone else's root qdisc: refused without
        --replace-qdisc (nothing pinned), replaced with it."""
        run("tc", "qdisc", "add", "dev", UPLINK, "root", "handle", "9:", "pfifo", "limit", "100")
        r = subprocess.run([tl.TCPRIO, "agent", "--no-kube", "--pin-dir", self.pin_dir,
                            "--metrics-address", "off", "--uplink", UPLINK, "--uplink-rate",
                            "50mbit", "--pod-ifaces", "tptcv-*"],
                           capture_output=True, text=True, timeout=30)
        q = run("tc", "qdisc", "show", "dev", UPLINK).stdout
        tap.ok(r.returncode == 1 and "uplink %s: root qdisc pfifo 9: is not tcprio's and not the "
               "kernel default" % UPLINK in r.stderr and "--replace-qdisc" in r.stderr and
               "qdisc pfifo 9: root" in q and not os.path.exists(self.pin_dir),
               "--uplink-rate over a foreign root qdisc (pfifo 9:): refused, named, left alone",
               "rc %r\n%s\n%s" % (r.returncode, r.stderr[-600:], q))

    def start_agent(self, mode, extra=()):
        open(self.log, "w").close()
        self.logf = open(self.log, "a")
        self.agent = subprocess.Popen(
            [tl.TCPRIO, "agent", "--no-kube", "--pin-dir", self.pin_dir, "--metrics-address",
             "127.0.0.1:0", "--uplink", UPLINK, "--uplink-rate", "50mbit", "--pod-ifaces",
             "tptcv-*", "--attach-mode", mode, "--recheck-interval", str(RECHECK_S)] + list(extra),
            stdout=self.logf, stderr=self.logf, preexec_fn=tl.die_with_parent)
        self.mark = 0
        tl.wait_for(lambda: "metrics on http://" in self.text(), 10, 0.05)
        m = re.search(r"metrics on (http://\S+)/metrics", self.text())
        self.base = m.group(1) if m else None
        tl.wait_for(lambda: self.ready_status()[0] == 200, 10, 0.05)
        run(tl.TCPRIO, "endpoint", "add", POD_A[2], "--class", "critical", "--pin-dir",
            self.pin_dir)

    def stop_agent(self):
        if self.agent and self.agent.poll() is None:
            self.agent.send_signal(signal.SIGTERM)
            try:
                self.agent.wait(10)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                self.agent.wait()
        self.agent = None
        run(tl.TCPRIO, "detach", "--pin-dir", self.pin_dir, check=False)

    def text(self):
        with open(self.log) as f:
            return f.read()

    def new_log(self):
        """Agent log lines since the last call."""
        t = self.text()
        out, self.mark = t[self.mark:], len(t)
        return out

    def ready_status(self):
        return http(self.base + "/readyz") if self.base else (None, "")

    def preempted_metric(self, iface, hook):
        code, body = http(self.base + "/metrics")
        m = re.search(r'^tcprio_hook_preempted\{iface="%s",hook="%s"\} (\d)$' % (iface, hook),
                      body, re.M)
        return int(m.group(1)) if m else None

    def attach_state(self, iface, hook):
        for i in tl.status(self.pin_dir)["interfaces"]:
            if i["name"] == iface:
                for a in i["attach"]:
                    if a["hook"] == hook:
                        return a
        return None

    def settle(self):
        time.sleep(RECHECK_S * 1.6)

    # --- traffic ------------------------------------------------------------
    def ping(self, dst=REMOTE_IP, cap=None):
        cap = cap or self.cap_remote
        cap.drain(POD_A[2])
        h0 = {c: htb_sent(c) for c in ("1:10", "1:30")}
        run("ping", "-q", "-n", "-c", str(N), "-i", "0.02", "-W", "1", dst, check=False, netns="pa")
        time.sleep(0.1)
        seen = cap.drain(POD_A[2])
        h1 = {c: htb_sent(c) for c in ("1:10", "1:30")}
        return seen, {c: h1[c] - h0[c] for c in h0}

    def expect_marked(self, name, dst=REMOTE_IP, cap=None, htb=True):
        seen, dh = self.ping(dst, cap)
        ok = seen == {46: N} and (not htb or dh["1:10"] >= N)
        tap.ok(ok, name, "DSCP seen %r, HTB delta %r\n%s" % (seen, dh, self.new_log()[-1500:]))
        return ok

    def expect_preempted(self, name, iface, hook, prog_id, prog_name, kind, unmarked=True,
                         htb_default=False):
        """The pre-emption is reported exactly: warning, status, metric, readyz."""
        self.settle()
        log = self.new_log()
        seen, dh = self.ping()
        direction = "egress" if hook == "uplink" else "ingress"
        warn = ("%s %s: pre-empted: %s program id %d '%s' runs before tcprio"
                % (iface, direction, kind, prog_id, prog_name))
        st = self.attach_state(iface, hook) or {}
        by = st.get("preempted_by") or {}
        code, body = self.ready_status()
        metric = self.preempted_metric(iface, hook)
        tap.ok(warn in log and st.get("state") == "preempted" and by.get("prog_id") == prog_id
               and by.get("name") == prog_name and by.get("kind") == kind and metric == 1
               and code == 503 and ("hook pre-empted: %s %s by prog id %d (%s)"
                                    % (iface, hook, prog_id, prog_name)) in body,
               name + ": reported (warning, status, metric, /readyz 503)",
               "want warning %r\nlog: %s\nstatus: %r\nmetric %r readyz %r %r"
               % (warn, log[-1200:], st, metric, code, body))
        if unmarked:
            tap.ok(seen == {0: N}, name + ": pings leave unmarked (DSCP 0), as reported",
                   "DSCP seen %r" % seen)
        if htb_default:
            tap.ok(dh["1:10"] == 0 and dh["1:30"] >= N,
                   name + ": uplink packets land in the default class 1:30, not 1:10",
                   "HTB delta %r" % dh)

    def expect_recovered(self, name, iface, hook):
        self.settle()
        st = self.attach_state(iface, hook) or {}
        code, _ = self.ready_status()
        tap.ok(st.get("state") == "first" and self.preempted_metric(iface, hook) == 0 and
               code == 200, name + ": state first again, metric 0, /readyz 200",
               "status %r readyz %r" % (st, code))

    # --- the cases ---------------------------------------------------------
    def cases(self, mode):
        tcx = mode != "tc" and self.has_tcx
        t = self.text()
        tap.ok("attach mode tcx" in t if tcx else ("attach mode tc:" in t or "attach mode tc (" in t),
               "[%s] agent logs its attach mode" % mode, self.text()[-600:])
        self.expect_marked("[%s] baseline: pod A's pings leave with DSCP 46, HTB 1:10" % mode)

        if self.has_tcx:
            self.case_a_f_b(mode, tcx)
        else:
            tap.skip("[%s] a, b, f and d (tcx): CNI programs attached with tcx" % mode,
                     "this kernel has no tcx")
        self.case_c_d_e(mode, tcx)

    def case_a_f_b(self, mode, tcx):
        a_if = POD_A[1]
        # (a) + (f) tcx TC_ACT_OK at pod-veth ingress, twice
        for attempt in ("a: CNI tcx program attached after tcprio",
                        "f: CNI re-attaches at the head after tcprio"):
            self.new_log()
            pid = standin("cni_ok", "tcx", a_if, "ingress", CNI_PIN)
            if tcx:
                self.settle()
                log = self.new_log()
                tap.ok("%s ingress: tcx program id %d 'cni_ok' ran before tcprio; tcprio moved "
                       "back to the head" % (a_if, pid) in log,
                       "[%s] %s: warning names it and says tcprio moved back" % (mode, attempt),
                       log[-800:])
                self.expect_marked("[%s] %s: DSCP 46 again" % (mode, attempt))
            else:
                self.expect_preempted("[%s] %s" % (mode, attempt), a_if, "pod_edge", pid,
                                      "cni_ok", "tcx")
                if attempt.startswith("f"):
                    break
            if attempt.startswith("a"):
                run("rm", "-f", CNI_PIN)
                if not tcx:
                    self.expect_recovered("[%s] a: CNI program removed" % mode, a_if, "pod_edge")
        standin_off("tcx", a_if, "ingress")
        if not tcx:
            self.expect_recovered("[%s] f: CNI program removed" % mode, a_if, "pod_edge")

        # (b) redirects
        pid = standin("cni_redir_neigh", "tcx", a_if, "ingress", CNI_PIN, UPLINK)
        if tcx:
            self.settle()
            self.expect_marked("[%s] b: CNI redirects pod A -> uplink (bpf_redirect_neigh): "
                               "DSCP 46 and HTB 1:10" % mode)
        else:
            self.expect_preempted("[%s] b: bpf_redirect_neigh" % mode, a_if, "pod_edge", pid,
                                  "cni_redir_neigh", "tcx")
        standin_off("tcx", a_if, "ingress")
        pid = standin("cni_redir_peer", "tcx", a_if, "ingress", CNI_PIN, POD_B[1])
        if tcx:
            self.settle()
            self.expect_marked("[%s] b: CNI redirects pod A -> pod B (bpf_redirect_peer): "
                               "pod B sees DSCP 46" % mode, dst=POD_B[2], cap=self.cap_b,
                               htb=False)
        else:
            self.settle()
            seen, _ = self.ping(POD_B[2], self.cap_b)
            tap.ok(seen == {0: N}, "[%s] b: bpf_redirect_peer pre-empts tcprio: pod B sees "
                   "DSCP 0" % mode, "DSCP seen %r" % seen)
        standin_off("tcx", a_if, "ingress")
        self.settle()

    def case_c_d_e(self, mode, tcx):
        a_if = POD_A[1]
        # (c) legacy cls_bpf TC_ACT_OK at pref 1 on the pod veth
        self.new_log()
        pid = standin("cni_ok", "tc", a_if, "ingress", 1)
        self.settle()
        log = self.new_log()
        if not tcx:
            tap.ok("%s ingress: tc filter pref 1 handle 0xc1, program id %d 'cni_ok' ran before "
                   "tcprio; tcprio moved back to the head" % (a_if, pid) in log,
                   "[%s] c: warning names the filter and says tcprio moved back" % mode,
                   log[-800:])
        self.expect_marked("[%s] c: CNI filter at pref 1: DSCP 46 (tcprio runs first)" % mode)
        st = self.attach_state(a_if, "pod_edge") or {}
        tap.ok(st.get("state") == "first" and st.get("position") == 1,
               "[%s] c: status says first" % mode, repr(st))
        standin_off("tc", a_if, "ingress")

        # (d) the same at the uplink's egress
        if self.has_tcx:
            pid = standin("cni_ok", "tcx", UPLINK, "egress", CNI_PIN)
            if tcx:
                self.settle()
                self.expect_marked("[%s] d: CNI tcx program at uplink egress: HTB 1:10" % mode)
            else:
                self.expect_preempted("[%s] d: CNI tcx program at uplink egress" % mode, UPLINK,
                                      "uplink", pid, "cni_ok", "tcx", unmarked=False,
                                      htb_default=True)
            standin_off("tcx", UPLINK, "egress")
        pid = standin("cni_ok", "tc", UPLINK, "egress", 1)
        self.settle()
        self.expect_marked("[%s] d: CNI filter at pref 1 at uplink egress: HTB 1:10" % mode)
        standin_off("tc", UPLINK, "egress")

        # (e) a CNI removes tcprio's attachment
        self.new_log()
        if tcx:
            link = os.path.join(self.pin_dir, "link_ingress_%d" % socket.if_nametoindex(a_if))
            lid = json.loads(run("bpftool", "-j", "link", "show", "pinned", link).stdout)["id"]
            run("bpftool", "link", "detach", "id", str(lid))
            run("tc", "qdisc", "del", "dev", a_if, "clsact", check=False)
            what = "CNI detaches tcprio's tcx link and deletes clsact"
        else:
            run("tc", "qdisc", "del", "dev", a_if, "clsact")
            what = "CNI deletes the clsact qdisc (and with it tcprio's filter)"
        self.settle()
        log = self.new_log()
        tap.ok("%s: tcprio program missing at ingress; re-attaching" % a_if in log,
               "[%s] e: %s: the agent finds it missing and re-attaches" % (mode, what),
               log[-600:])
        self.expect_marked("[%s] e: DSCP 46 again within the re-check period" % mode)

    def main(self):
        make_topology()
        TOPO.enter("node")
        self.cap_remote = Capture("remote")
        self.cap_b = Capture("pb")
        self.refuse_foreign_root()
        for mode in ("auto", "tc"):
            self.start_agent(mode, ["--replace-qdisc"] if mode == "auto" else [])
            if mode == "auto":
                q = run("tc", "qdisc", "show", "dev", UPLINK).stdout
                tap.ok("qdisc htb 1: root" in q and "pfifo 9:" not in q,
                       "--replace-qdisc: the HTB tree replaces the foreign root", q)
            try:
                self.cases(mode)
            finally:
                self.stop_agent()
                run("rm", "-f", CNI_PIN, check=False)
                for d in (POD_A[1], UPLINK):
                    run("tc", "qdisc", "del", "dev", d, "clsact", check=False)

    def cleanup(self):
        if self.agent is not None:
            self.agent.kill()
            self.agent.wait()
            self.agent = None
        run(tl.TCPRIO, "detach", "--pin-dir", self.pin_dir, check=False)
        shutil.rmtree(self.pin_dir, ignore_errors=True)
        run("rm", "-f", CNI_PIN, self.log, check=False)
        TOPO.close()


def main():
    # Results per run: 1 refusal; auto: 1 --replace-qdisc + 2 + (tcx: 6
    # a/f/b + 6 c/d/e; no tcx: 1 skip + 6); tc: 2 + (tcx: 9 + 8; no tcx:
    # 1 skip + 6).
    rc = tl.begin(tap, 35 if tl.kernel_has_tcx() else 20, "netns, bpf, tc",
                  tools=("ip", "nsenter", "ping", "tc", "sysctl", "bpftool"),
                  built=(tl.TCPRIO, STANDIN, ATTACH))
    if rc is not None:
        return rc
    tl.exit_on_signals()
    t0 = time.monotonic()
    r = Run()
    tl.guarded(tap, r.main, r.cleanup)
    tap.diag("run time %.1f s" % (time.monotonic() - t0))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
