#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_queue_stats.py - the uplink's HTB class statistics in /metrics
(tcprio_htb_class_*) and in `tcprio status --json` ("queues") against the
kernel's own numbers (`tc -s class show`) and against the traffic that
reached the remote, with real UDP traffic through a node in network
namespaces (tests/lib/uplink_topo.py): critical under its rate, bulk far
over its ceiling.  TAP; needs root.
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402
import uplink_topo as ut  # noqa: E402

tap = tl.Tap()
PLAN = 19
CLASSES = {"1:10": "critical", "1:20": "high", "1:30": "normal", "1:40": "bulk"}
FIELDS = {  # /metrics family -> (tc field, status --json field)
    "tcprio_htb_class_sent_bytes_total": ("bytes", "sent_bytes"),
    "tcprio_htb_class_sent_packets_total": ("packets", "sent_packets"),
    "tcprio_htb_class_drops_total": ("drops", "drops"),
    "tcprio_htb_class_overlimits_total": ("overlimits", "overlimits"),
    "tcprio_htb_class_backlog_bytes": ("backlog_bytes", "backlog_bytes"),
    "tcprio_htb_class_backlog_packets": ("backlog_packets", "backlog_packets"),
}


def by_classid(samples, uplink):
    """{classid: value} of one family's samples on uplink."""
    out = {}
    for labels, v in samples.items():
        d = dict(labels)
        if d.get("interface") == uplink:
            out[d["classid"]] = (v, d.get("class"))
    return out


def run(t):
    tap.ok(t.start_agent(), "agent starts in the node netns, installs the HTB tree, serves /metrics",
           t.log_text()[-1500:])
    text = t.scrape()
    rates = by_classid(ut.parse_metrics(text, "tcprio_htb_class_rate_bytes_per_second"), t.uplink)
    ceils = by_classid(ut.parse_metrics(text, "tcprio_htb_class_ceil_bytes_per_second"), t.uplink)
    want_rc = {cid: (ut.CLASS_RATES_BPS[n][0] / 8, ut.CLASS_RATES_BPS[n][1] / 8)
               for cid, n in CLASSES.items()}
    # the inner classes of the LAN/WAN tree (issue 9): with --uplink-rate
    # alone the WAN branch 1:fffd is the whole link and the LAN leaf 1:fffe
    # keeps HTB's floor rate, borrowing up to the link
    want_rc["1:1"] = (20e6 / 8, 20e6 / 8)
    want_rc["1:fffd"] = (20e6 / 8, 20e6 / 8)
    want_rc["1:fffe"] = (8000 / 8, 20e6 / 8)
    tap.eq({cid: (rates[cid][0], ceils[cid][0]) for cid in rates if cid in ceils}, want_rc,
           "/metrics: rate and ceiling (bytes/s) of the root class and each leaf = the configuration")
    tap.eq({cid: rates[cid][1] for cid in rates}, dict(CLASSES, **{"1:1": "", "1:fffd": "", "1:fffe": ""}),
           "/metrics: class label = the tcprio class with that priority, empty for 1:1, the WAN "
           "branch 1:fffd and the LAN leaf 1:fffe")

    clients = t.start_traffic(4)
    # Mid-run: bulk (40 Mbit/s offered, 8 Mbit/s ceiling) is queueing.
    time.sleep(2)
    mid = t.scrape()
    mid_backlog = by_classid(ut.parse_metrics(mid, "tcprio_htb_class_backlog_packets"), t.uplink)
    mid_over = by_classid(ut.parse_metrics(mid, "tcprio_htb_class_overlimits_total"), t.uplink)
    tap.ok(mid_backlog.get("1:40", (0,))[0] > 0 and mid_over.get("1:40", (0,))[0] > 0,
           "under load: bulk's backlog and overlimits are non-zero in /metrics",
           "backlog %r overlimits %r" % (mid_backlog, mid_over))
    results = t.wait_traffic(clients, 20)
    tap.ok(all(r and "end" in r for r in results), "iperf3 clients ran to the end", repr(results)[:800])
    time.sleep(1)  # leaf queues drain (bulk: 256 frames of 1770 B = 435 x 1 kB at 8 Mbit/s = 0.45 s)

    tc = t.tc_classes()
    text = t.scrape()
    st = t.status()
    queues = {q["classid"]: q for q in st.get("queues", []) if q["interface"] == t.uplink}
    tap.eq(sorted(tc), sorted(["1:1", "1:fffd", "1:fffe"] + list(CLASSES)),
           "tc shows the root class, the WAN branch, the LAN leaf and 4 class leaves")
    for fam, (tcf, jsf) in FIELDS.items():
        got = {cid: v for cid, (v, _) in by_classid(ut.parse_metrics(text, fam), t.uplink).items()}
        want = {cid: float(c[tcf]) for cid, c in tc.items()}
        tap.eq(got, want, "/metrics %s = tc -s class show, every class" % fam)
    tap.eq({cid: {f: q[f] for f in (j for _, j in FIELDS.values())} for cid, q in queues.items()},
           {cid: {j: c[t_] for t_, j in FIELDS.values()} for cid, c in tc.items()},
           "status --json queues: every counter = tc -s class show, every class")
    tap.eq({cid: (q["class"], q["leaf"], q["rate_bytes_per_second"] * 8, q["ceil_bytes_per_second"] * 8)
            for cid, q in queues.items()},
           {cid: (CLASSES.get(cid, ""), cid not in ("1:1", "1:fffd"), c["rate_bps"], c["ceil_bps"])
            for cid, c in tc.items()},
           "status --json queues: class, leaf, rate and ceiling = tc")

    remote = t.remote_counts()
    tap.eq((tc["1:10"]["packets"], tc["1:40"]["packets"]),
           (remote.get(ut.CRITICAL_IP, (0,))[0], remote.get(ut.BULK_IP, (0,))[0]),
           "packets sent by the critical and bulk leaves = packets from each pod address at the remote")
    tap.ok(tc["1:10"]["drops"] == 0 and tc["1:40"]["drops"] > 0,
           "critical (under its rate) dropped nothing; bulk (5x its ceiling) dropped",
           "critical %r bulk %r" % (tc["1:10"], tc["1:40"]))
    human = t.sh(t.ns_n, tl.TCPRIO, "status", "--pin-dir", t.pin_dir).stdout
    line = [l for l in human.splitlines() if l.split()[:3] == [t.uplink, "1:40", "bulk"]]
    tap.ok(len(line) == 1 and line[0].split()[3:7] == [str(tc["1:40"][k]) for k in
                                                       ("bytes", "packets", "drops", "overlimits")],
           "human status: the bulk queue row shows tc's sent bytes, packets, drops, overlimits",
           human[-1500:])


def hook_cases(t):
    """tcprio_hook_attached: 1 on the uplink while our filter runs there, 0
    once it is gone (until the agent's 10 s re-attach check puts it back)."""
    key = (("hook", "uplink"), ("interface", t.uplink))
    got = ut.parse_metrics(t.scrape(), "tcprio_hook_attached")
    tap.eq(got.get(key), 1.0, "tcprio_hook_attached{uplink} = 1 while our program runs there", got)
    for attempt in range(3):
        before = t.log_text().count("re-attaching")
        t.sh(t.ns_n, "tc", "filter", "del", "dev", t.uplink, "egress", "pref", "1")
        got = ut.parse_metrics(t.scrape(), "tcprio_hook_attached")
        # The agent's re-attach tick may land between the two: try again.
        if got.get(key) == 0.0 or t.log_text().count("re-attaching") == before:
            break
    tap.eq(got.get(key), 0.0, "tcprio_hook_attached{uplink} = 0 once the filter is deleted", got)


def main():
    if os.geteuid() != 0:
        return tap.skip_all("needs root (netns, bpf, tc)")
    for tool in ("ip", "nsenter", "tc", "iperf3", "nft", "curl", "ss"):
        if not shutil.which(tool):
            return tap.skip_all("%s not installed (scripts/install-deps.sh)" % tool)
    tap.plan(PLAN)
    if not os.path.exists(tl.TCPRIO):
        tap.ok(False, "build/tcprio exists", "make did not build it: run make first")
        return tap.done()
    t = ut.Topo("tptqs-")
    try:
        t.setup()
        run(t)
        hook_cases(t)
    except Exception as e:  # a crash of the harness is a failure with its reason
        import traceback
        tap.ok(False, "test ran to the end", "%s\n%s\n%s" % (e, traceback.format_exc(),
                                                          t.log_text()[-1500:]))
    finally:
        t.close()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
