#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_agent_traffic.py - the whole agent with real traffic in network
namespaces: pods on the test API server, the agent attaching its programs to
the node's pod interfaces (existing and new) and uplink, packets leaving the
uplink with each pod's DSCP, /metrics counters that move with the traffic and
parse as Prometheus text exposition format 0.0.4, a live annotation change,
and the programs left in place after SIGTERM.

Topology (namespaces tpttraf-<pid>-NAME, addresses from 198.18.0.0/15):
  crit  eth0 198.18.1.10/32   --veth--  tptv-crit  |
  bulk  eth0 198.18.1.30/32   --veth--  tptv-bulk  |  node (forwarding; agent and
  new   eth0 198.18.1.40/32   --veth--  tptv-new   |  test API server run here)
  (tptv-new is created after the agent started)    |
  remote eth0 198.18.0.2/30   --veth--  tptup0 198.18.0.1/30 (uplink, HTB 50mbit)
Each host-side tptv-* has 198.18.1.1/32 and a /32 route to its pod; the
remote routes 198.18.1.0/24 via the node.

The test process switches its own (single) thread into the node namespace
with setns(2) (network namespace only: the host's bpffs stays visible, which
`ip netns exec` would hide), so the agent, the API server, `tcprio status`
and the HTTP calls all run there.  What arrives at the remote is captured
with an AF_PACKET socket opened in the remote namespace; UDP bursts use a
socket opened in the bulk namespace.  Pings run under nsenter.

Needs root.  Runs in about 10 s.  Everything is removed in a finally block
(also on SIGTERM/SIGINT): processes by PID, `tcprio detach`, pins, namespaces.
"""
import ctypes
import math
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

NODE = "tpttraf-node"
PREFIX = "tpttraf-%d-" % os.getpid()
UPLINK = "tptup0"
REMOTE_IP = "198.18.0.2"
PODS = {  # netns suffix -> (host-side interface, address, pod name on the API server)
    "crit": ("tptv-crit", "198.18.1.10", "demo-critical"),
    "bulk": ("tptv-bulk", "198.18.1.30", "demo-bulk"),
}
NEW_POD = ("new", "tptv-new", "198.18.1.40")
DSCP = {"critical": 46, "bulk": 1}          # the default class table (class_table.c)
HTB_CLASS = {"critical": "1:10", "bulk": "1:40"}
N_PINGS = 20
N_UDP = 200
UDP_SIZE = 1000
# Time bounds are multiplied by TCPRIO_TIME_SCALE (default 1): the kernel
# matrix sets it to 10 in guests emulated without KVM (TCG), where every
# process start takes tens of milliseconds (tests/kernels/).
ATTACH_BUDGET_MS = 100.0 * float(os.environ.get("TCPRIO_TIME_SCALE", "1"))
EXAMPLES = os.path.join(tl.ROOT, "deploy", "examples")

tap = tl.Tap()
libc = ctypes.CDLL(None, use_errno=True)


TOPO = tl.Topology(PREFIX)
ns, ns_path, run = TOPO.ns, TOPO.path, TOPO.run   # run(*cmd, netns=NAME)
InNetns = tl.InNetns


# --- topology ---------------------------------------------------------------

def make_topology():
    TOPO.add("node", "remote", NEW_POD[0])
    TOPO.uplink(UPLINK, "198.18.0.1/30", REMOTE_IP + "/30", routes=["198.18.1.0/24"])
    for name, (hostif, ip, _) in PODS.items():
        TOPO.add(name)
        TOPO.pod(name, hostif, ip, "198.18.1.1")


def ping(pod, count=N_PINGS, interval="0.05"):
    r = run("ping", "-q", "-n", "-c", str(count), "-i", interval, "-W", "2", REMOTE_IP,
            check=False, netns=pod)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", r.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


# --- capture at the remote ----------------------------------------------------

class Capture(tl.PacketCapture):
    """IPv4 frames arriving on the remote's eth0 (AF_PACKET, opened there)."""

    def __init__(self):
        super().__init__(ns_path("remote"), rcvbuf=8 << 20)

    def drain(self):
        """{(source IP, protocol): {dscp: packets}} since the last drain."""
        seen = {}
        for ip in self.packets():
            d = seen.setdefault((socket.inet_ntoa(ip[12:16]), ip[9]), {})
            d[ip[1] >> 2] = d.get(ip[1] >> 2, 0) + 1
        return seen


def dscp_of(seen, src, proto):
    return seen.get((src, proto), {})


def udp_burst(pod, n=N_UDP, size=UDP_SIZE, pps=2000):
    """n datagrams of size bytes from pod to the remote's discard port, paced."""
    with InNetns(ns_path(pod)):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        payload = b"\x5a" * size
        t0 = time.monotonic()
        for i in range(n):
            s.sendto(payload, (REMOTE_IP, 9))
            lag = t0 + (i + 1) / pps - time.monotonic()
            if lag > 0:
                time.sleep(lag)
    finally:
        s.close()


# --- the filters ----------------------------------------------------------------

class TcQuery:
    """Which tcprio program runs at one hook, in either attach mode: a
    BPF_PROG_QUERY for tcx (bpf(2) through ctypes), else bpf_tc_query(3)
    through libbpf for tcprio's filter (handle TCPRIO_TC_HANDLE = 0x7c1,
    pref TCPRIO_TC_PRIORITY = 1, include/tcprio.h).  Syscalls and one netlink
    round trip in this process, so polling costs microseconds."""
    HANDLE, PRIORITY = 0x7c1, 1
    INGRESS, EGRESS = 1, 2   # enum bpf_tc_attach_point (libbpf.h)
    TCX = {INGRESS: 46, EGRESS: 47}  # BPF_TCX_INGRESS/EGRESS (linux/bpf.h)
    BPF_PROG_QUERY = 16

    class Hook(ctypes.Structure):
        _fields_ = [("sz", ctypes.c_size_t), ("ifindex", ctypes.c_int),
                    ("attach_point", ctypes.c_int), ("parent", ctypes.c_uint32)]

    class Opts(ctypes.Structure):
        _fields_ = [("sz", ctypes.c_size_t), ("prog_fd", ctypes.c_int),
                    ("flags", ctypes.c_uint32), ("prog_id", ctypes.c_uint32),
                    ("handle", ctypes.c_uint32), ("priority", ctypes.c_uint32)]

    class Query(ctypes.Structure):  # union bpf_attr, BPF_PROG_QUERY (Linux 6.6+)
        _fields_ = [("target_ifindex", ctypes.c_uint32), ("attach_type", ctypes.c_uint32),
                    ("query_flags", ctypes.c_uint32), ("attach_flags", ctypes.c_uint32),
                    ("prog_ids", ctypes.c_uint64), ("count", ctypes.c_uint32),
                    ("pad", ctypes.c_uint32), ("prog_attach_flags", ctypes.c_uint64),
                    ("link_ids", ctypes.c_uint64), ("link_attach_flags", ctypes.c_uint64),
                    ("revision", ctypes.c_uint64)]

    def __init__(self):
        self.lib = ctypes.CDLL("libbpf.so.1", use_errno=True)
        self.lib.bpf_tc_query.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self.lib.bpf_tc_query.restype = ctypes.c_int
        self.lib.libbpf_set_print.argtypes = [ctypes.c_void_p]
        self.lib.libbpf_set_print.restype = ctypes.c_void_p
        self.lib.libbpf_set_print(None)  # ENOENT before the qdisc exists is expected
        self.ids = (ctypes.c_uint32 * 16)()

    def tcx_first(self, ifindex, point):
        """Id of the first tcx program at the hook, 0 if none (or no tcx)."""
        q = self.Query(target_ifindex=ifindex, attach_type=self.TCX[point],
                       prog_ids=ctypes.addressof(self.ids), count=16)
        r = libc.syscall(tl._SYS_BPF, self.BPF_PROG_QUERY, ctypes.byref(q), ctypes.sizeof(q))
        return self.ids[0] if r == 0 and q.count else 0

    def prog_id(self, ifindex, point):
        """The attached program's id, 0 if none (or the interface is gone)."""
        pid = self.tcx_first(ifindex, point)
        if pid:
            return pid
        hook = self.Hook(sz=ctypes.sizeof(self.Hook), ifindex=ifindex, attach_point=point)
        opts = self.Opts(sz=ctypes.sizeof(self.Opts), handle=self.HANDLE, priority=self.PRIORITY)
        r = self.lib.bpf_tc_query(ctypes.byref(hook), ctypes.byref(opts))
        return opts.prog_id if r == 0 else 0


def attached(pin_dir):
    """{interface: sorted hooks} from `tcprio status --json` (our netns)."""
    return {i["name"]: sorted(i["hooks"]) for i in tl.status(pin_dir)["interfaces"]}


# --- /metrics -------------------------------------------------------------------

NAME_RE = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_RE = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
_LABEL_NC = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE_RE = re.compile(r"^(?P<name>%s)(?:\{(?P<labels>(?:%s)(?:,%s)*,?)?\})?"
                       r" (?P<value>[^ ]+)(?: (?P<ts>-?\d+))?$" % (NAME_RE, _LABEL_NC, _LABEL_NC))
FLOAT_RE = re.compile(r"^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def unescape(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)


def parse_float(s):
    if not FLOAT_RE.match(s):
        raise ValueError("bad value %r" % s)
    return float(s)


def family_of(name, types):
    """The family a sample name belongs to (histogram/summary suffixes)."""
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and (types.get(base) == "histogram" or
                                      (types.get(base) == "summary" and suffix != "_bucket")):
            return base
    return name


class Exposition:
    """Strict reader of Prometheus text format 0.0.4: HELP/TYPE syntax, one
    TYPE and HELP per family before its samples, every family one group,
    names, label sets and escapes, float values, no duplicate series,
    counters >= 0, histograms with increasing le, cumulative bucket counts
    ending in le="+Inf" equal to _count, and a _sum."""

    def __init__(self, text):
        self.samples, self.errors = {}, []
        self.types, self.helps, self.done, self.current = {}, set(), set(), None
        self.hist = {}
        if not text.endswith("\n"):
            self.errors.append("does not end with a newline")
        for no, line in enumerate(text.split("\n")[:-1], 1):
            self.line(no, line)
        self.check_histograms()

    def enter(self, fam, where):
        if fam == self.current:
            return
        if fam in self.done:
            self.errors.append(where + "lines of family %s are not one group" % fam)
        if self.current:
            self.done.add(self.current)
        self.current = fam

    def line(self, no, line):
        where = "line %d %r: " % (no, line)
        if line == "":
            return
        if line.startswith("#"):
            self.comment(where, line)
            return
        m = SAMPLE_RE.match(line)
        if not m:
            self.errors.append(where + "not a valid sample line")
            return
        name, labels = m.group("name"), {}
        for k, v in re.findall(LABEL_RE, m.group("labels") or ""):
            if k in labels:
                self.errors.append(where + "duplicate label %s" % k)
            labels[k] = unescape(v)
        try:
            value = parse_float(m.group("value"))
        except ValueError as e:
            self.errors.append(where + str(e))
            return
        fam = family_of(name, self.types)
        self.enter(fam, where)
        key = (name, frozenset(labels.items()))
        if key in self.samples:
            self.errors.append(where + "duplicate series")
        self.samples[key] = value
        kind = self.types.get(fam, "untyped")
        if kind == "counter" and not value >= 0:
            self.errors.append(where + "counter is negative or NaN")
        if kind == "histogram":
            self.histogram_sample(where, no, fam, name, labels, value)

    def comment(self, where, line):
        m = re.match(r"^# (HELP|TYPE) (%s)(?: (.*))?$" % NAME_RE, line)
        if not m:
            if re.match(r"^#\s*(HELP|TYPE)\b", line):
                self.errors.append(where + "malformed HELP/TYPE line")
            return  # other comments are allowed
        kind, name, rest = m.group(1), m.group(2), m.group(3) or ""
        self.enter(name, where)
        if kind == "TYPE":
            if rest not in TYPES:
                self.errors.append(where + "unknown type %r" % rest)
            if name in self.types:
                self.errors.append(where + "second TYPE for %s" % name)
            if any(family_of(s[0], {name: rest}) == name for s in self.samples):
                self.errors.append(where + "TYPE after samples of %s" % name)
            self.types[name] = rest
        else:
            if name in self.helps:
                self.errors.append(where + "second HELP for %s" % name)
            if not re.fullmatch(r"(?:[^\\]|\\[\\n])*", rest):
                self.errors.append(where + "bad escape in HELP")
            self.helps.add(name)

    def histogram_sample(self, where, no, fam, name, labels, value):
        rest = frozenset((k, v) for k, v in labels.items() if k != "le")
        h = self.hist.setdefault((fam, rest), {"buckets": [], "count": None, "sum": None})
        if name == fam + "_bucket":
            try:
                h["buckets"].append((parse_float(labels["le"]), value))
            except (KeyError, ValueError):
                self.errors.append(where + "bucket without a valid le label")
        elif name == fam + "_count":
            h["count"] = value
        elif name == fam + "_sum":
            h["sum"] = value
        else:
            self.errors.append(where + "histogram sample is not _bucket/_sum/_count")

    def check_histograms(self):
        for (fam, rest), h in self.hist.items():
            tag = "histogram %s%s: " % (fam, dict(rest) or "")
            b = h["buckets"]
            if not b:
                self.errors.append(tag + "no buckets")
                continue
            les = [x[0] for x in b]
            if any(les[i] >= les[i + 1] for i in range(len(les) - 1)):
                self.errors.append(tag + "le not strictly increasing: %s" % les)
            counts = [x[1] for x in b]
            if any(counts[i] > counts[i + 1] for i in range(len(counts) - 1)):
                self.errors.append(tag + "bucket counts not cumulative: %s" % counts)
            if les[-1] != math.inf:
                self.errors.append(tag + 'last bucket is not le="+Inf"')
            elif h["count"] != counts[-1]:
                self.errors.append(tag + "_count %r != +Inf bucket %r" % (h["count"], counts[-1]))
            if h["sum"] is None:
                self.errors.append(tag + "no _sum")


def parse_exposition(text):
    """({(name, frozenset(labels.items())): value}, [errors]) of a scrape."""
    e = Exposition(text)
    return e.samples, e.errors


def scrape(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        ctype = r.headers.get("Content-Type", "")
        return r.read().decode(), ctype


def counter(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def htb_sent(cls):
    """Packets sent by HTB class cls on the uplink (`tc -s class show`)."""
    out = run("tc", "-s", "class", "show", "dev", UPLINK).stdout
    m = re.search(r"class htb %s .*?\n\s*Sent \d+ bytes (\d+) pkt" % re.escape(cls), out, re.S)
    return int(m.group(1)) if m else None


# --- the test ---------------------------------------------------------------------

def tail(text, n=25):
    return "\n".join(text.splitlines()[-n:])


class Run:
    def __init__(self):
        self.pin_dir = tl.pin_dir_for("traffic")
        self.api = self.agent = self.cap = None

    def agent_log(self):
        try:
            return tail(self.agent.log_text())
        except (OSError, AttributeError):
            return ""

    def cleanup(self):
        tl.close_all(self.cap, self.agent, self.api)  # Agent.close: SIGKILL by PID, then
        if self.agent is None and os.path.exists(self.pin_dir):  # tcprio detach (node ns)
            run(tl.TCPRIO, "detach", "--pin-dir", self.pin_dir, check=False)
        shutil.rmtree(self.pin_dir, ignore_errors=True)
        TOPO.close()

    def main(self):
        make_topology()
        TOPO.enter("node")
        self.cap = Capture()
        tc = TcQuery()

        # 1. agent starts, syncs the pods, /readyz 200
        self.api = tl.ApiServer(NODE, pods_files=[os.path.join(EXAMPLES, "demo-critical.yaml"),
                                                  os.path.join(EXAMPLES, "demo-bulk.yaml")],
                                extra=["--pod-ip", "demo-critical=" + PODS["crit"][1],
                                       "--pod-ip", "demo-bulk=" + PODS["bulk"][1]])
        self.agent = tl.Agent(self.api.kubeconfig, NODE, self.pin_dir,
                              extra=["--uplink", UPLINK, "--uplink-rate", "50mbit",
                                     "--pod-ifaces", "tptv*"])
        self.agent.wait_log("metrics on http://", timeout=10)
        murl = self.agent.metrics_url()
        base = murl.rsplit("/", 1)[0] if murl else None
        want = {PODS["crit"][1]: ("default/demo-critical", "critical"),
                PODS["bulk"][1]: ("default/demo-bulk", "bulk")}

        def synced():
            try:
                eps = tl.endpoints(self.pin_dir)
            except Exception:
                return None
            return {ip: (v[0], v[1]) for ip, v in eps.items()} == want and eps

        eps = tl.wait_for(synced, timeout=10, interval=0.05)
        ready = tl.wait_for(lambda: base and http_status(base + "/readyz") == 200, 10, 0.05)
        if not tap.ok(bool(eps) and bool(ready) and self.agent.proc.poll() is None,
                      "agent starts, syncs pods crit/bulk from the API server, /readyz 200",
                      "endpoints: %r\nmetrics: %r readyz: %r\n%s" % (
                          eps, murl, base and http_status(base + "/readyz"), self.agent_log())):
            return

        # 2. programs attached
        want_att = {PODS["crit"][0]: ["pod_edge"], PODS["bulk"][0]: ["pod_edge"], UPLINK: ["uplink"]}
        att = tl.wait_for(lambda: attached(self.pin_dir) == want_att and attached(self.pin_dir),
                          5, 0.05) or attached(self.pin_dir)
        tap.eq(att, want_att, "pod_edge on tptv-crit/tptv-bulk, uplink on %s (tcprio status)" % UPLINK)

        # 3. a new pod interface gets the pod-edge filter within 100 ms.  Two
        # clocks: from just before `ip link add` is spawned (an upper bound:
        # it includes ip's start-up) and from its return (as asked); the
        # assertion uses the first.  The query is checked on a hook without
        # our filter first, so "found at once" is not a query that always hits.
        name, hostif, ip = NEW_POD
        control = tc.prog_id(socket.if_nametoindex(UPLINK), TcQuery.INGRESS)
        t_spawn = time.monotonic()
        run("ip", "link", "add", hostif, "type", "veth", "peer", "name", "eth0", "netns", ns(name))
        t0 = time.monotonic()
        ifindex = socket.if_nametoindex(hostif)
        polls, pid = 0, 0
        while time.monotonic() - t0 < 2.0:
            polls += 1
            pid = tc.prog_id(ifindex, TcQuery.INGRESS)
            if pid:
                break
            time.sleep(0.0002)
        t1 = time.monotonic()
        ms, ms_spawn = (t1 - t0) * 1000, (t1 - t_spawn) * 1000
        tap.diag("new pod interface %s: pod-edge filter (prog id %d) %.1f ms after `ip link add` "
                 "returned, %.1f ms after it was spawned (%d bpf_tc_query polls)"
                 % (hostif, pid, ms, ms_spawn, polls))
        tap.ok(pid != 0 and control == 0 and ms_spawn < ATTACH_BUDGET_MS,
               "new pod interface gets the pod-edge filter within %d ms" % ATTACH_BUDGET_MS,
               "prog id %d after %.1f ms (query on %s ingress, which has no filter: %d)\n%s"
               % (pid, ms_spawn, UPLINK, control, self.agent_log()))
        att = tl.wait_for(lambda: attached(self.pin_dir).get(hostif), 2, 0.05)
        tap.eq(att, ["pod_edge"], "tcprio status shows pod_edge on %s" % hostif)

        # 4 + 5. traffic, DSCP on the wire, /metrics before and after
        text0, ctype = scrape(murl)
        s0, err0 = parse_exposition(text0)
        tap.ok(not err0 and ctype.startswith("text/plain") and "version=0.0.4" in ctype,
               "/metrics before traffic is valid exposition format 0.0.4 (%d series)" % len(s0),
               "Content-Type: %r\n%s" % (ctype, "\n".join(err0[:20])))
        htb0 = {c: htb_sent(HTB_CLASS[c]) for c in HTB_CLASS}
        self.cap.drain()
        sent_c = ping("crit")
        sent_b = ping("bulk")
        udp_burst("bulk")
        time.sleep(0.2)
        seen = self.cap.drain()
        crit_ip, bulk_ip = PODS["crit"][1], PODS["bulk"][1]
        tap.ok(sent_c[0] == N_PINGS and sent_c[1] >= N_PINGS - 2 and sent_b[1] >= N_PINGS - 2,
               "pings from crit and bulk reach the remote and come back",
               "crit sent/received %r, bulk %r" % (sent_c, sent_b))
        dc = dscp_of(seen, crit_ip, 1)
        db_icmp = dscp_of(seen, bulk_ip, 1)
        db_udp = dscp_of(seen, bulk_ip, 17)
        tap.ok(dc == {46: N_PINGS}, "remote sees crit's %d echo requests with DSCP 46" % N_PINGS,
               "crit ICMP per DSCP: %r" % dc)
        tap.ok(db_icmp == {1: N_PINGS} and db_udp == {1: N_UDP},
               "remote sees bulk's %d echo requests and %d UDP datagrams with DSCP 1"
               % (N_PINGS, N_UDP), "bulk ICMP per DSCP: %r UDP: %r" % (db_icmp, db_udp))

        text1, ctype = scrape(murl)
        s1, err1 = parse_exposition(text1)
        tap.ok(not err1, "/metrics after traffic is valid exposition format (%d series)" % len(s1),
               "\n".join(err1[:20]))
        frame_ping = 98                 # 56 data + 8 ICMP + 20 IPv4 + 14 Ethernet
        frame_udp = UDP_SIZE + 8 + 20 + 14
        # counters are per hook and class, summed over the hook's interfaces
        expect = [  # hook, class, packets at least, bytes at least
            ("pod_edge", "critical", N_PINGS, N_PINGS * frame_ping),
            ("uplink", "critical", N_PINGS, N_PINGS * frame_ping),
            ("pod_edge", "bulk", N_PINGS + N_UDP, N_PINGS * frame_ping + N_UDP * frame_udp),
            ("uplink", "bulk", N_PINGS + N_UDP, N_PINGS * frame_ping + N_UDP * frame_udp),
        ]
        for hook, cls, pk, by in expect:
            lab = dict(hook=hook, **{"class": cls})
            dp = counter(s1, "tcprio_packets_total", **lab) - counter(s0, "tcprio_packets_total", **lab)
            db = counter(s1, "tcprio_bytes_total", **lab) - counter(s0, "tcprio_bytes_total", **lab)
            tap.ok(pk <= dp <= pk + 20 and by <= db <= by + 20 * 1514,
                   "tcprio_packets/bytes_total{hook=%s,class=%s} +%d/+%d "
                   "(traffic: %d packets, %d bytes)" % (hook, cls, dp, db, pk, by),
                   "packets +%r bytes +%r\n%s" % (
                       dp, db, "\n".join(line for line in text1.splitlines()
                                         if line.startswith("tcprio_packets_total"))))
        htb1 = {c: htb_sent(HTB_CLASS[c]) for c in HTB_CLASS}
        tap.ok(all(htb0[c] is not None and htb1[c] is not None for c in HTB_CLASS) and
               htb1["critical"] - htb0["critical"] >= N_PINGS and
               htb1["bulk"] - htb0["bulk"] >= N_PINGS + N_UDP,
               "uplink HTB classes 1:10 (critical) and 1:40 (bulk) carried the traffic",
               "before %r after %r\n%s" % (htb0, htb1, run("tc", "-s", "class", "show", "dev",
                                                           UPLINK, check=False).stdout))

        # 6. live annotation change: crit -> bulk, then back
        self.relabel("bulk", "live annotation change")
        # 7. SIGTERM: exit 0, filters stay, traffic still marked
        rc = self.agent.stop(signal.SIGTERM)
        tap.eq(rc, 0, "agent exits 0 on SIGTERM")
        ids = {PODS["crit"][0]: TcQuery.INGRESS, PODS["bulk"][0]: TcQuery.INGRESS,
               NEW_POD[1]: TcQuery.INGRESS, UPLINK: TcQuery.EGRESS}
        left = {i: tc.prog_id(socket.if_nametoindex(i), p) != 0 for i, p in ids.items()}
        tap.ok(all(left.values()), "filters stay attached after the agent exits", repr(left))
        self.cap.drain()
        ping("crit", count=5)
        ping("bulk", count=5)
        time.sleep(0.1)
        seen = self.cap.drain()
        dc, db = dscp_of(seen, crit_ip, 1), dscp_of(seen, bulk_ip, 1)
        tap.ok(dc == {46: 5} and db == {1: 5},
               "after the agent exited, crit's pings still leave with DSCP 46, bulk's with 1",
               "crit %r bulk %r" % (dc, db))

    def relabel(self, cls, name):
        """Change demo-critical's class annotation to cls while it pings,
        check DSCP and counters follow, then change it back."""
        crit_ip = PODS["crit"][1]
        murl = self.agent.metrics_url()
        for to in (cls, "critical"):
            s0, _ = parse_exposition(scrape(murl)[0])
            # traffic that runs across the change: its packets go either way
            pinger = subprocess.Popen(["nsenter", "--net=" + ns_path("crit"), "ping", "-q", "-n",
                                       "-c", "20", "-i", "0.01", REMOTE_IP],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                time.sleep(0.05)
                self.api.ctl("/ctl/modify", {"namespace": "default", "name": "demo-critical",
                                             "annotations": {"tcprio.io/class": to}})
                got = tl.wait_for(lambda: tl.endpoints(self.pin_dir).get(crit_ip, (0, 0))[1] == to,
                                  5, 0.02)
            finally:
                pinger.wait(10)
            self.cap.drain()
            sent = ping("crit")
            time.sleep(0.1)
            seen = dscp_of(self.cap.drain(), crit_ip, 1)
            s1, errs = parse_exposition(scrape(murl)[0])
            lab = dict(hook="pod_edge", **{"class": to})
            ulab = dict(hook="uplink", **{"class": to})
            dp = counter(s1, "tcprio_packets_total", **lab) - counter(s0, "tcprio_packets_total", **lab)
            du = counter(s1, "tcprio_packets_total", **ulab) - counter(s0, "tcprio_packets_total", **ulab)
            tap.ok(bool(got) and seen == {DSCP[to]: N_PINGS} and dp >= N_PINGS and du >= N_PINGS
                   and not errs and self.agent.proc.poll() is None,
                   "%s to %s: crit's next %d pings leave with DSCP %d and count in class %s "
                   "(no restart)" % (name, to, N_PINGS, DSCP[to], to),
                   "endpoint converged: %r; pings %r; DSCP seen %r; pod_edge +%r uplink +%r; "
                   "metrics errors %r\n%s" % (bool(got), sent, seen, dp, du, errs[:5],
                                              self.agent_log()))


def main():
    rc = tl.begin(tap, 19, "netns, bpf, tc", tools=("ip", "nsenter", "ping", "tc", "sysctl"))
    if rc is not None:
        return rc
    tl.exit_on_signals()
    t0 = time.monotonic()
    r = Run()
    tl.guarded(tap, r.main, r.cleanup, r.agent_log)
    tap.diag("run time %.1f s" % (time.monotonic() - t0))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
