#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_prometheus_e2e.py - Debian's Prometheus scrapes a tcprio agent on a
node in network namespaces (tests/lib/uplink_topo.py) while UDP traffic
flows (critical under its rate, bulk over its ceiling), with the shipped
rules (deploy/prometheus/tcprio-rules.yml) loaded; then its HTTP API must
hold what the traffic did: per-class rates from the recording rules, the
queue statistics equal to the kernel's (`tc -s class show`) and to the
packets the remote received.  Also `promtool check metrics` on a live
scrape.  Prometheus runs in the node netns on 127.0.0.1 with its own data
folder and is stopped by this test, also on failure.  TAP; needs root.

The shipped recording rules rate over 1m (for 15 s scrapes); this test
scrapes every second for 8 s of traffic, so it loads them with the window
set to 4s: the expressions are the shipped ones, only the window differs.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402
import uplink_topo as ut  # noqa: E402

tap = tl.Tap()
PLAN = 11
RULES = os.path.join(tl.ROOT, "deploy", "prometheus", "tcprio-rules.yml")
PROM_ADDR = "127.0.0.1:9491"      # inside the test's own node netns
TRAFFIC_S = 8
L2_UDP_OVERHEAD = 14              # Ethernet header: tc counts L2 bytes, nft IP bytes


class Prometheus:
    def __init__(self, topo, target):
        self.t = topo
        self.dir = tempfile.mkdtemp(prefix="tcprio-prom-")
        rules = os.path.join(self.dir, "tcprio-rules.yml")
        with open(RULES) as f:
            text = f.read()
        with open(rules, "w") as f:
            f.write(text.replace("[1m]", "[4s]"))
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                    "rule_files: [%s]\n"
                    "scrape_configs:\n"
                    "  - job_name: tcprio\n"
                    "    static_configs: [{targets: ['%s']}]\n" % (rules, target))
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            topo.nsx(topo.ns_n) + ["prometheus", "--config.file=" + cfg,
                                   "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                                   "--web.listen-address=" + PROM_ADDR],
            stdout=self.log, stderr=self.log, preexec_fn=tl.die_with_parent)

    def get(self, path, **params):
        url = "http://%s%s" % (PROM_ADDR, path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        r = self.t.sh(self.t.ns_n, "curl", "-s", "--max-time", "5", url, check=False)
        return r.stdout

    def query(self, expr, at=None):
        """Instant query: {tuple(sorted labels): value}."""
        params = {"query": expr}
        if at is not None:
            params["time"] = "%.3f" % at
        try:
            d = json.loads(self.get("/api/v1/query", **params))
        except ValueError:
            return None
        if d.get("status") != "success":
            return None
        return {tuple(sorted(s["metric"].items())): float(s["value"][1])
                for s in d["data"]["result"]}

    def log_text(self):
        with open(self.log.name) as f:
            return f.read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def by_class(samples):
    # Prometheus drops empty labels: the inner class 1:1 has no "class".
    return {dict(k).get("class", ""): v for k, v in (samples or {}).items()}


def run(t, state):
    tap.ok(t.start_agent(), "agent runs on the node with the HTB tree and /metrics", t.log_text()[-1500:])
    scrape = t.scrape()
    r = subprocess.run(["promtool", "check", "metrics"], input=scrape, capture_output=True, text=True)
    tap.ok(r.returncode == 0 and "tcprio_htb_class_sent_bytes_total" in scrape,
           "promtool check metrics: a live scrape (with the HTB class families) has no problem",
           r.stdout + r.stderr)

    target = t.metrics_url.split("//")[1].split("/")[0]
    p = state["prom"] = Prometheus(t, target)
    up = tl.wait_for(lambda: (p.query('up{job="tcprio"}') or {}) and
                     list(p.query('up{job="tcprio"}').values()) == [1.0], 30, 0.5)
    tap.ok(up, "Debian's prometheus starts on %s and scrapes the agent (up == 1)" % PROM_ADDR,
           p.log_text()[-1500:])
    rules = json.loads(p.get("/api/v1/rules") or "{}")
    health = [r.get("health") for g in rules.get("data", {}).get("groups", []) for r in g["rules"]]
    tap.eq(health, ["ok"] * 13, "the 13 shipped rules are loaded and evaluate without error")

    t0 = time.time()
    clients = t.start_traffic(TRAFFIC_S)
    results = t.wait_traffic(clients, TRAFFIC_S + 15)
    t1 = time.time()
    tap.ok(all(r and "end" in r for r in results), "iperf3 clients ran to the end", repr(results)[:600])
    time.sleep(3)  # queues drain, two more scrapes

    # Per-class rates from the recording rule, mid-traffic, against the traffic.
    remote = t.remote_counts()
    crit_pkts, crit_ip_bytes = remote.get(ut.CRITICAL_IP, (0, 0))
    crit_Bps = (crit_ip_bytes + L2_UDP_OVERHEAD * crit_pkts) / TRAFFIC_S
    # 4 s windows wholly inside the traffic (it starts < 1 s after t0).
    mids = [by_class(p.query("interface_class:tcprio_htb_class_sent_bytes:rate1m", at=t0 + s))
            for s in (5, 6, 7)]
    crit = [m.get("critical", 0) for m in mids]
    bulk = [m.get("bulk", 0) for m in mids]
    tap.ok(all(abs(c - crit_Bps) <= 0.1 * crit_Bps for c in crit),
           "recorded rate of critical mid-traffic = what the remote got from the critical pod, +-10%% (%.0f B/s)"
           % crit_Bps, "recorded %r" % crit)
    bulk_ceil = ut.CLASS_RATES_BPS["bulk"][1] / 8
    tap.ok(all(abs(b - bulk_ceil) <= 0.1 * bulk_ceil for b in bulk),
           "recorded rate of bulk (offered 5x its ceiling) = its ceiling %.0f B/s, +-10%%" % bulk_ceil,
           "recorded %r" % bulk)

    # Queue statistics stored by Prometheus = the kernel's, once traffic stopped.
    tc = t.tc_classes()
    # the tcprio class leaves (the inner 1:1, the WAN branch 1:fffd and the LAN
    # leaf 1:fffe all carry class="" since issue 9's tree: test_queue_stats
    # compares those by classid)
    names = {"1:10": "critical", "1:20": "high", "1:30": "normal", "1:40": "bulk"}
    now = time.time()
    stored = {}
    for fam, field in (("sent_bytes_total", "bytes"), ("sent_packets_total", "packets"),
                       ("drops_total", "drops"), ("overlimits_total", "overlimits"),
                       ("backlog_packets", "backlog_packets")):
        got = by_class(p.query("tcprio_htb_class_" + fam, at=now))
        stored[field] = {names[c]: got.get(names[c]) for c in tc if c in names}
    want = {f: {names[c]: float(tc[c][f]) for c in tc if c in names} for f in stored}
    tap.eq(stored, want, "stored sent bytes/packets, drops, overlimits, backlog = tc -s class show, every class")
    tap.eq((stored["packets"]["critical"], stored["packets"]["bulk"]),
           (float(crit_pkts), float(remote.get(ut.BULK_IP, (0,))[0])),
           "stored packets of critical and bulk = packets the remote received from each pod")
    drops = by_class(p.query('increase(tcprio_htb_class_drops_total[%ds])' % int(now - t0 + 2), at=now))
    tap.ok(drops.get("bulk", 0) > 0 and drops.get("critical", -1) == 0,
           "drops during the run: bulk > 0, critical 0", repr(drops))
    alerts = p.query('ALERTS{alertname="TcprioCriticalClassDrops"}')
    tap.eq(alerts, {}, "TcprioCriticalClassDrops is not firing (critical dropped nothing)")
    state["t1"] = t1


def main():
    if os.geteuid() != 0:
        return tap.skip_all("needs root (netns, bpf, tc)")
    for tool in ("ip", "nsenter", "tc", "iperf3", "nft", "curl", "ss", "prometheus", "promtool"):
        if not shutil.which(tool):
            return tap.skip_all("%s not installed (scripts/install-deps.sh)" % tool)
    tap.plan(PLAN)
    if not os.path.exists(tl.TCPRIO):
        tap.ok(False, "build/tcprio exists", "make did not build it: run make first")
        return tap.done()
    t = ut.Topo("tptpe-")
    state = {}
    try:
        t.setup()
        run(t, state)
    except Exception as e:  # a crash of the harness is a failure with its reason
        import traceback
        tap.ok(False, "test ran to the end", "%s\n%s\n%s" % (e, traceback.format_exc(),
                                                          t.log_text()[-1500:]))
    finally:
        if "prom" in state:
            state["prom"].close()
        t.close()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
