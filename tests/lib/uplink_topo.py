# SPDX-License-Identifier: BSD-2-Clause
"""uplink_topo.py - a node with a shaped uplink, in network namespaces, for
the tests that judge what the uplink's HTB did with real traffic
(tests/node/test_queue_stats.py, tests/deploy/test_prometheus_e2e.py).

    pod netns  <PREFIX>p   198.18.9.10 (critical) and 198.18.9.11 (bulk)
        | veth <PREFIX>p0 / <PREFIX>n1
    node netns <PREFIX>n   198.18.9.1, forwards; runs `tcprio agent --no-kube
        |                  --uplink <PREFIX>u0 --uplink-rate RATE` (HTB tree)
        | veth <PREFIX>u0 / <PREFIX>r0   198.18.8.1 / 198.18.8.2
    remote netns <PREFIX>r iperf3 servers; nftables counts packets per source

The two pod addresses are endpoints added with `tcprio endpoint add`, so the
uplink program gives their packets the critical and bulk classes.  All
addresses from 198.18.0.0/15 (RFC 2544).  close() removes everything, also
after a failure; every process started here dies with the test.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

import tcprio_testlib as tl

CRITICAL_IP = "198.18.9.10"
BULK_IP = "198.18.9.11"
REMOTE_IP = "198.18.8.2"
# Classes with explicit rates and ceilings (bits/s): the HTB classes must
# carry exactly these, and /metrics must report them in bytes/s.
CLASSES_YAML = """classes:
  - {name: critical, dscp: EF, priority: "1:10", rate: 4mbit, ceil: 20mbit}
  - {name: high,     dscp: AF41, priority: "1:20", rate: 4mbit, ceil: 20mbit}
  - {name: normal,   dscp: DF, priority: "1:30", rate: 4mbit, ceil: 20mbit}
  - {name: bulk,     dscp: LE, priority: "1:40", rate: 2mbit, ceil: 8mbit}
defaultClass: normal
"""
UPLINK_RATE = "20mbit"
CLASS_RATES_BPS = {"critical": (4000000, 20000000), "high": (4000000, 20000000),
                   "normal": (4000000, 20000000), "bulk": (2000000, 8000000)}


def run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


class Topo:
    def __init__(self, prefix):
        self.prefix = prefix
        self.ns_p, self.ns_n, self.ns_r = prefix + "p", prefix + "n", prefix + "r"
        self.uplink = prefix + "u0"
        self.pin_dir = tl.pin_dir_for(prefix.rstrip("-"))
        self.tmp = tempfile.mkdtemp(prefix="tcprio-%s" % prefix)
        self.procs = []
        self.agent = None
        self.metrics_url = None

    # --- namespaces --------------------------------------------------------
    def nsx(self, ns):
        return ["nsenter", "--net=/run/netns/" + ns]

    def sh(self, ns, *cmd, check=True):
        return run(self.nsx(ns) + list(cmd), check=check)

    def setup(self):
        for ns in (self.ns_p, self.ns_n, self.ns_r):
            run(["ip", "netns", "add", ns])
            # IPv4 only: with IPv6 on, the node's uplink sends router
            # solicitations of its own for seconds after it comes up (on
            # a slow guest, in the middle of a test), which land in the
            # default class and move the counters the tests compare
            for conf in ("all", "default"):
                self.sh(ns, "sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % conf,
                        check=False)
        p, n, r = self.ns_p, self.ns_n, self.ns_r
        pre = self.prefix
        self.sh(p, "ip", "link", "add", pre + "p0", "type", "veth", "peer", "name", pre + "n1",
                "netns", "/run/netns/" + n)
        self.sh(n, "ip", "link", "add", pre + "u0", "type", "veth", "peer", "name", pre + "r0",
                "netns", "/run/netns/" + r)
        for ns, dev, addrs in ((p, pre + "p0", ["198.18.9.10/24", "198.18.9.11/24"]),
                               (n, pre + "n1", ["198.18.9.1/24"]),
                               (n, pre + "u0", ["198.18.8.1/24"]),
                               (r, pre + "r0", ["198.18.8.2/24"])):
            for a in addrs:
                self.sh(ns, "ip", "addr", "add", a, "dev", dev)
            self.sh(ns, "ip", "link", "set", dev, "up")
            self.sh(ns, "ip", "link", "set", "lo", "up")
        self.sh(p, "ip", "route", "add", "default", "via", "198.18.9.1")
        self.sh(r, "ip", "route", "add", "198.18.9.0/24", "via", "198.18.8.1")
        self.sh(n, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        # Count what reaches the remote, per pod source address (exact).
        self.sh(r, "nft", "add table inet tptq; add chain inet tptq in "
                "{ type filter hook ingress device %s priority 0; }; "
                "add rule inet tptq in ip saddr %s counter; "
                "add rule inet tptq in ip saddr %s counter" % (pre + "r0", CRITICAL_IP, BULK_IP))

    # --- agent -------------------------------------------------------------
    def start_agent(self, metrics_address="127.0.0.1:0", timeout=10, attach_mode="tc"):
        """Start the agent in the node netns; returns True once it serves
        /metrics and the two endpoints are in its maps."""
        tl.ensure_bpffs()
        cfg = os.path.join(self.tmp, "classes.yaml")
        with open(cfg, "w") as f:
            f.write(CLASSES_YAML)
        self.agent_log = os.path.join(self.tmp, "agent.log")
        log = open(self.agent_log, "w")
        self.agent = subprocess.Popen(
            self.nsx(self.ns_n) + [tl.TCPRIO, "agent", "--no-kube", "--pin-dir", self.pin_dir,
                                   "--config", cfg, "--uplink", self.uplink,
                                   "--uplink-rate", UPLINK_RATE,
                                   "--metrics-address", metrics_address,
                                   "--pod-ifaces", "tptqnomatch*",
                                   # tc: the tests remove the clsact filter (pref 1) by hand
                                   "--attach-mode", attach_mode],
            stdout=log, stderr=log, preexec_fn=tl.die_with_parent)
        self.procs.append(self.agent)
        ok = tl.wait_for(lambda: "metrics on http://" in self.log_text() and
                         self.sh(self.ns_n, "tc", "class", "show", "dev", self.uplink,
                                 check=False).stdout.count("class htb") >= 5, timeout, 0.05)
        if not ok:
            return False
        self.metrics_url = re.search(r"metrics on (http://\S+)", self.log_text()).group(1)
        for ip, cls in ((CRITICAL_IP, "critical"), (BULK_IP, "bulk")):
            self.sh(self.ns_n, tl.TCPRIO, "endpoint", "add", ip, "--class", cls,
                    "--pin-dir", self.pin_dir)
        return True

    def log_text(self):
        try:
            with open(self.agent_log) as f:
                return f.read()
        except OSError:
            return ""

    def scrape(self, path="/metrics"):
        """GET the agent's metrics endpoint from inside the node netns."""
        return self.sh(self.ns_n, "curl", "-sf", "--max-time", "5",
                       self.metrics_url.replace("/metrics", path)).stdout

    def status(self):
        return json.loads(self.sh(self.ns_n, tl.TCPRIO, "status", "--json",
                                  "--pin-dir", self.pin_dir).stdout)

    # --- traffic -----------------------------------------------------------
    def start_traffic(self, seconds, critical_bps="2M", bulk_bps="40M"):
        """UDP from both pod addresses to the remote for `seconds` (iperf3,
        1000-byte datagrams): critical under its rate, bulk far over its
        ceiling so its leaf queue fills (overlimits, backlog, drops).
        Returns the two client processes; wait_traffic() collects them."""
        for port in (5301, 5302):
            srv = subprocess.Popen(self.nsx(self.ns_r) + ["iperf3", "-s", "-1", "-p", str(port),
                                                          "-B", REMOTE_IP],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   preexec_fn=tl.die_with_parent)
            self.procs.append(srv)
        tl.wait_for(lambda: all(":%d" % p in self.sh(self.ns_r, "ss", "-ltn").stdout
                                for p in (5301, 5302)), 5, 0.05)
        clients = []
        for ip, port, bw in ((CRITICAL_IP, 5301, critical_bps), (BULK_IP, 5302, bulk_bps)):
            c = subprocess.Popen(self.nsx(self.ns_p) + ["iperf3", "-c", REMOTE_IP, "-B", ip,
                                                        "-p", str(port), "-u", "-b", bw,
                                                        "-l", "1000", "-t", str(seconds), "-J"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 preexec_fn=tl.die_with_parent)
            self.procs.append(c)
            clients.append(c)
        return clients

    def wait_traffic(self, clients, timeout):
        """Wait for the clients; returns their iperf3 JSON results (or None)."""
        out = []
        for c in clients:
            try:
                text, _ = c.communicate(timeout=timeout)
                out.append(json.loads(text))
            except (subprocess.TimeoutExpired, ValueError):
                c.kill()
                out.append(None)
        return out

    def remote_counts(self):
        """Packets and bytes (IP length, not L2) the remote received per
        source: {ip: (packets, bytes)}."""
        text = self.sh(self.ns_r, "nft", "list", "chain", "inet", "tptq", "in").stdout
        out = {}
        for m in re.finditer(r"ip saddr (\S+) counter packets (\d+) bytes (\d+)", text):
            out[m.group(1)] = (int(m.group(2)), int(m.group(3)))
        return out

    def tc_classes(self):
        """`tc -s class show dev UPLINK` in the node netns, parsed:
        {classid: {rate_bps, ceil_bps, bytes, packets, drops, overlimits,
        backlog_bytes, backlog_packets}}.  tc prints rates with a unit
        (bit, Kbit, Mbit, Gbit: powers of 1000)."""
        text = self.sh(self.ns_n, "tc", "-s", "class", "show", "dev", self.uplink).stdout
        units = {"bit": 1, "Kbit": 10**3, "Mbit": 10**6, "Gbit": 10**9}
        out = {}
        for block in text.split("class htb ")[1:]:
            cid = block.split()[0]
            m = re.search(r"rate (\d+)(\w+) ceil (\d+)(\w+)", block)
            s = re.search(r"Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)", block)
            b = re.search(r"backlog (\d+)b (\d+)p", block)
            out[cid] = {"rate_bps": int(m.group(1)) * units[m.group(2)],
                        "ceil_bps": int(m.group(3)) * units[m.group(4)],
                        "bytes": int(s.group(1)), "packets": int(s.group(2)),
                        "drops": int(s.group(3)), "overlimits": int(s.group(4)),
                        "backlog_bytes": int(b.group(1)), "backlog_packets": int(b.group(2))}
        return out

    # --- clean-up ----------------------------------------------------------
    def close(self):
        tl.kill_procs(self.procs)
        if os.path.exists(self.pin_dir):
            run(self.nsx(self.ns_n) + [tl.TCPRIO, "detach", "--pin-dir", self.pin_dir],
                check=False)
            shutil.rmtree(self.pin_dir, ignore_errors=True)
        for ns in (self.ns_p, self.ns_n, self.ns_r):
            run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)


def parse_metrics(text, family):
    """Samples of one family of a Prometheus text scrape: {labels-tuple: value}
    with labels as a sorted tuple of (name, value)."""
    out = {}
    for line in text.splitlines():
        if not line.startswith(family + "{") and not line.startswith(family + " "):
            continue
        m = re.match(r"(\w+)(?:\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != family:
            continue
        labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or "")))
        out[labels] = float(m.group(3))
    return out
