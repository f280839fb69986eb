#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_trust_traffic.py - no priority escalation by DSCP (issue 12), with
real traffic: senders that mark their own packets EF (DSCP 46, the critical
class's code point) and are judged at the remote by the DSCP on the wire and
on the node by the HTB class counters of the shaped uplink.

Topology (namespaces tpttrust-<pid>-NAME, addresses from 198.18.0.0/15):
  known eth0 198.18.3.10/32  --veth-- tptq-known |  node (forwarding, agent
  unk   eth0 198.18.3.20/32  --veth-- tptq-unk   |  with --no-kube: the known
  lan   eth0 198.18.4.2/30   --veth-- tptl0      |  pod is added with
                                                 |  `tcprio endpoint add`)
  remote eth0 198.18.0.6/30  --veth-- tptup1 198.18.0.5/30 (uplink, HTB 50mbit)
tptq-* are pod interfaces (--pod-ifaces tptq-*); tptl0 is a LAN interface
the pod globs do not match.  The node itself is the host sender.

Checks (built-in classes: critical EF 1:10, normal DSCP 0 1:30 = default):
  known pod (critical), DSCP 0   -> EF on the wire, HTB 1:10   (control)
  unknown pod, EF                -> DSCP 0 on the wire, HTB 1:30, not 1:10
  host sender (local socket), EF -> HTB 1:30, not 1:10 (the uplink never
                                    rewrites: EF stays on the wire)
  LAN sender (forwarded), EF     -> HTB 1:30, not 1:10
  after a live reload with trustDscpFrom: [tptl0], sanitizeUnknown: false:
  LAN sender EF -> HTB 1:10; unknown pod EF -> EF on the wire, HTB 1:10.

Needs root.  About 5 s.  Everything is removed in a finally block (also on
SIGTERM/SIGINT): the agent by PID, `tcprio detach`, pins, namespaces.
"""
import os
import re
import shutil
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

PREFIX = "tpttrust-%d-" % os.getpid()
UPLINK = "tptup1"
REMOTE_IP = "198.18.0.6"
KNOWN, UNK, LAN = "198.18.3.10", "198.18.3.20", "198.18.4.2"
EF_TOS = 46 << 2
N = 60                     # datagrams per sender
TABLE = tl.CLASSES4

tap = tl.Tap()


TOPO = tl.Topology(PREFIX)
ns, run, ip = TOPO.ns, TOPO.run, TOPO.ip


class InNetns(tl.InNetns):
    """with InNetns(name): the calling thread is in namespace ns(name)."""

    def __init__(self, name):
        super().__init__(TOPO.path(name))


def make_topology():
    TOPO.add("node", "remote", "known", "unk", "lan")
    TOPO.uplink(UPLINK, "198.18.0.5/30", REMOTE_IP + "/30",
                routes=["198.18.3.0/24", "198.18.4.0/30"])
    for name, hostif, addr in (("known", "tptq-known", KNOWN), ("unk", "tptq-unk", UNK)):
        TOPO.pod(name, hostif, addr, "198.18.3.1")
    ip("node", "link", "add", "tptl0", "type", "veth", "peer", "name", "eth0", "netns", ns("lan"))
    ip("node", "addr", "add", "198.18.4.1/30", "dev", "tptl0")
    ip("node", "link", "set", "tptl0", "up")
    ip("lan", "addr", "add", LAN + "/30", "dev", "eth0")
    ip("lan", "link", "set", "eth0", "up")
    ip("lan", "route", "add", "default", "via", "198.18.4.1")


class Capture(tl.PacketCapture):
    """UDP packets arriving on the remote's eth0: {source: {dscp: n}}."""

    def __init__(self):
        super().__init__(TOPO.path("remote"))

    def drain(self):
        seen = {}
        for ip in self.packets():
            if ip[9] == socket.IPPROTO_UDP:
                d = seen.setdefault(socket.inet_ntoa(ip[12:16]), {})
                d[ip[1] >> 2] = d.get(ip[1] >> 2, 0) + 1
        return seen


def send_udp(where, tos, n=N):
    """n datagrams of 200 bytes with IP_TOS tos from namespace where (None:
    the node, a local socket) to the remote's discard port."""
    if where:
        with InNetns(where):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
        for _ in range(n):
            s.sendto(b"\x5a" * 200, (REMOTE_IP, 9))
            time.sleep(0.001)
    finally:
        s.close()


def htb_pkts():
    """{classid: packets sent} of the uplink's HTB classes."""
    out = run("tc", "-s", "class", "show", "dev", UPLINK).stdout
    return {m.group(1): int(m.group(2)) for m in
            re.finditer(r"class htb (\S+) .*?\n\s*Sent \d+ bytes (\d+) pkt", out, re.S)}


class Run:
    def __init__(self):
        self.pin_dir = tl.pin_dir_for("trust")
        self.agent = self.cap = None
        self.cfg = tl.temp_file(TABLE, prefix="tcprio-trust-")

    def log(self):
        try:
            return "\n".join(self.agent.log_text().splitlines()[-20:])
        except (OSError, AttributeError):
            return ""

    def cleanup(self):
        tl.close_all(self.cap, self.agent)
        if self.agent is None and os.path.exists(self.pin_dir):
            run(tl.TCPRIO, "detach", "--pin-dir", self.pin_dir, check=False)
        shutil.rmtree(self.pin_dir, ignore_errors=True)
        TOPO.close()
        self.cfg.close()

    def judge(self, name, src, tos, where, want_cls, want_dscp):
        """Send N datagrams, then check the DSCP at the remote (want_dscp:
        every one of them) and the HTB classes: want_cls gets >= N packets,
        1:10 (critical) none unless it is want_cls."""
        before = htb_pkts()
        self.cap.drain()
        send_udp(where, tos)
        seen = {}
        deadline = time.monotonic() + 2.0       # bounded: N datagrams or 2 s
        while sum(seen.values()) < N and time.monotonic() < deadline:
            for d, k in self.cap.drain().get(src, {}).items():
                seen[d] = seen.get(d, 0) + k
            time.sleep(0.02)
        after = htb_pkts()
        delta = {c: after.get(c, 0) - before.get(c, 0) for c in after}
        ok_wire = seen == {want_dscp: N}
        ok_htb = delta.get(want_cls, 0) >= N and (want_cls == "1:10" or delta.get("1:10", 0) == 0)
        tap.ok(ok_wire and ok_htb, name,
               "at the remote {DSCP: packets} %r (want {%d: %d}); HTB deltas %r (want %s >= %d)\n%s"
               % (seen, want_dscp, N, delta, want_cls, N, self.log()))

    def main(self):
        make_topology()
        TOPO.enter("node")
        self.cap = Capture()
        self.agent = tl.Agent("/nonexistent", "tpttrust-node", self.pin_dir, config=self.cfg.path,
                              extra=["--no-kube", "--uplink", UPLINK, "--uplink-rate", "50mbit",
                                     "--pod-ifaces", "tptq-*"])
        if not tap.ok(self.agent.wait_log("datapath pinned", timeout=10), "agent pinned its maps",
                      self.log()):
            return
        run(tl.TCPRIO, "endpoint", "add", KNOWN, "--class", "critical", "--pin-dir", self.pin_dir)
        started = tl.wait_for(lambda: "1:10" in htb_pkts() and
                              self.agent.log_text().count("pod-edge program attached") >= 2, 10)
        if not tap.ok(bool(started), "agent attached to tptq-known, tptq-unk and %s with HTB" % UPLINK,
                      self.log()):
            return
        self.judge("known pod (critical, sends DSCP 0): EF on the wire, HTB 1:10 (control)",
                   KNOWN, 0, "known", "1:10", 46)
        self.judge("unknown pod marking EF: sanitised to DSCP 0 at the pod edge, HTB 1:30",
                   UNK, EF_TOS, "unk", "1:30", 0)
        self.judge("host sender (local socket) marking EF: HTB 1:30, not 1:10 "
                   "(EF left on the wire: the uplink does not rewrite)",
                   "198.18.0.5", EF_TOS, None, "1:30", 46)
        self.judge("LAN sender (forwarded, untrusted interface) marking EF: HTB 1:30",
                   LAN, EF_TOS, "lan", "1:30", 46)

        with open(self.cfg.path, "w") as f:
            f.write(TABLE + "sanitizeUnknown: false\ntrustDscpFrom: [tptl0]\n")
        self.agent.proc.send_signal(signal.SIGHUP)
        if not tap.ok(self.agent.wait_log("reloaded", timeout=5),
                      "table with trustDscpFrom: [tptl0], sanitizeUnknown: false reloaded",
                      self.log()):
            return
        self.judge("LAN sender from a trustDscpFrom interface marking EF: HTB 1:10",
                   LAN, EF_TOS, "lan", "1:10", 46)
        self.judge("unknown pod marking EF with sanitizeUnknown false: EF kept, HTB 1:10",
                   UNK, EF_TOS, "unk", "1:10", 46)


def main():
    rc = tl.begin(tap, 9, "netns, bpf, tc", tools=("ip", "tc"))
    if rc is not None:
        return rc
    tl.exit_on_signals()
    r = Run()
    tl.guarded(tap, r.main, r.cleanup, r.log)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
