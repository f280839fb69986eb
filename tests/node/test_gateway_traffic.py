#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_gateway_traffic.py - gateway mode with real traffic: a router
namespace runs `tcprio agent --gateway --uplink tpgww0 --uplink-rate 20mbit`
(4mbit in emulated guests: below)
(no kubeconfig, no pod interfaces) and shapes everything a site's nodes send
to the WAN, classified by the DSCP those nodes wrote:

    site netns tpgs  198.18.70.2  (stands for the site's nodes: packets
        |                          already carry DSCP EF or DF)
        | veth tpgsl0 / tpgrl0     198.18.70.0/24
    router netns tpgr  ip_forward; the agent on its WAN side tpgww0
        | veth tpgww0 / tpgwf0     198.18.71.0/24
    far netns tpgf   198.18.71.2  TCP sink; an AF_PACKET sniffer on tpgwf0

Judged by the HTB counters on tpgww0, the DSCP on the wire at the far side
and round trips:
- the agent needs no Kubernetes access and installs the tree at the WAN
  rate (1:1 at --uplink-rate, the class leaves under the WAN branch 1:fffd);
- forwarded EF packets go to the critical leaf 1:10, DF bulk TCP to the
  default leaf 1:30 (no trustDscpFrom: every forwarded DSCP is trusted);
- the WAN carries the bulk at the WAN rate (work-conserving: one queue for
  the whole site), not above it;
- under that load EF pings keep their round trip while DF pings queue
  behind the bulk (strict priority at the WAN bottleneck);
- forwarded packets keep their DSCP (EF arrives as EF);
- with trustDscpFrom naming another interface, the router's own LAN is no
  longer trusted: EF from it falls into the default class.
Needs root; everything it creates has the prefix tpg and goes at the end.
"""
import json
import os
import re
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

tap = tl.Tap()
RIG = None   # the suite's tl.NetnsRig, made in main()
NS_S, NS_R, NS_F = "tpgs", "tpgr", "tpgf"
SITE_IP, FAR_IP = "198.18.70.2", "198.18.71.2"
# The kernel matrix's emulated (TCG) guests set TCPRIO_TIME_SCALE (10).
# There the emulator, not the shaper, sets what the WAN carries: HTB sends
# a WAN class's frame when its tokens are back (a burst of one frame, as
# tc's and libnl's default), and under TCG the qdisc watchdog fires late.
# At 20 Mbit/s (0.6 ms a frame) guests carried 8.1 to 15.9 Mbit/s in four
# CI runs on one machine (2026-12); at 4 Mbit/s (3 ms a frame) 2.6 and 3.9.
# So a guest shapes its WAN at 4 Mbit/s and needs half of it used; a shaper
# at a wrong rate, or none, still fails the upper bound.  The load runs
# twice as long there, so that the rate's window lies inside it, and the
# waits for the agent scale.
SCALE = float(os.environ.get("TCPRIO_TIME_SCALE", "1"))
EMULATED = SCALE > 1
RATE_MBIT = 4 if EMULATED else 20
RATE_BPS = RATE_MBIT * 1000 * 1000
LOAD_S = 12.0 if EMULATED else 6.0
USED_MIN = 0.5 if EMULATED else 0.8
TABLE = """classes:
  - {name: critical, dscp: EF, priority: "1:10"}
  - {name: normal, dscp: DF, priority: "1:30"}
defaultClass: normal
"""
# Bulk: TOS 0 TCP for argv[2] seconds (bounded), two connections.
BULK = r"""
import socket, sys, time, threading
def run():
    s = socket.create_connection((sys.argv[1], 5202), timeout=5)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0)
    s.settimeout(2)
    buf = b"x" * (1 << 16)
    end = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < end:
        try:
            s.send(buf)
        except socket.timeout:
            pass
    s.close()
ts = [threading.Thread(target=run) for _ in range(2)]
[t.start() for t in ts]
[t.join() for t in ts]
"""


def classes():
    """{classid: (bytes sent, rate bit/s)} of the HTB classes on tpgww0."""
    return RIG.htb_classes(NS_R, "tpgww0")


def ping_ms(tos, count, interval="0.05"):
    """Round trips (ms) of count pings with TOS byte tos from the site to the far side."""
    r = RIG.sh(NS_S, "ping", "-n", "-Q", str(tos), "-c", str(count), "-i", interval, "-W", "2",
               FAR_IP, check=False, timeout=count * float(interval) + 15)
    return [float(m) for m in re.findall(r"time=([\d.]+) ms", r.stdout)]


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else float("inf")


def setup():
    sh = RIG.sh
    RIG.add()
    sh(NS_S, "ip", "link", "add", "tpgsl0", "type", "veth", "peer", "name", "tpgrl0",
       "netns", "/run/netns/" + NS_R)
    sh(NS_R, "ip", "link", "add", "tpgww0", "type", "veth", "peer", "name", "tpgwf0",
       "netns", "/run/netns/" + NS_F)
    sh(NS_S, "ip", "addr", "add", SITE_IP + "/24", "dev", "tpgsl0")
    sh(NS_R, "ip", "addr", "add", "198.18.70.1/24", "dev", "tpgrl0")
    sh(NS_R, "ip", "addr", "add", "198.18.71.1/24", "dev", "tpgww0")
    sh(NS_F, "ip", "addr", "add", FAR_IP + "/24", "dev", "tpgwf0")
    for ns, dev in ((NS_S, "tpgsl0"), (NS_R, "tpgrl0"), (NS_R, "tpgww0"), (NS_F, "tpgwf0")):
        sh(ns, "ip", "link", "set", dev, "up")
        sh(ns, "ip", "link", "set", "lo", "up")
    sh(NS_S, "ip", "route", "add", "default", "via", "198.18.70.1")
    sh(NS_F, "ip", "route", "add", "default", "via", "198.18.71.1")
    sh(NS_R, "sysctl", "-qw", "net.ipv4.ip_forward=1")


def main():
    if os.geteuid() != 0:
        return tap.skip_all("needs root (netns, bpf, tc)")
    if not shutil.which("ping"):
        return tap.skip_all("needs ping (iputils-ping)")
    tap.plan(11)
    tl.ensure_bpffs()
    global RIG
    RIG = rig = tl.NetnsRig("gateway", (NS_S, NS_R, NS_F), NS_R)
    sh = rig.sh
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))   # run the clean-up below
    try:
        setup()
        cfg = rig.write("classes.yaml", TABLE)
        log = open(os.path.join(rig.tmp, "agent.log"), "w")
        # no --no-kube and no kubeconfig: --gateway needs no Kubernetes access
        agent = rig.agent(["--gateway", "--config", cfg, "--uplink", "tpgww0",
                           "--uplink-rate", "%dmbit" % RATE_MBIT, "--metrics-address", "off",
                           "--probe-address", "off", "--pod-ifaces", "tpgnomatch*"], log)
        ok = tl.wait_for(lambda: {"1:1", "1:fffd", "1:10", "1:30"} <= set(classes()), 10 * SCALE, 0.05)
        cl = classes()
        tap.ok(ok and agent.poll() is None,
               "agent --gateway runs without Kubernetes access and installs the tree on the WAN side",
               {"classes": sorted(cl), "exit": agent.poll()})
        wan_rate = cl.get("1:fffd", (0, 0))[1]
        tap.ok(abs(wan_rate - RATE_BPS) <= RATE_BPS // 100,
               "the WAN branch 1:fffd runs at --uplink-rate (%d Mbit/s)" % RATE_MBIT, wan_rate)

        rig.tcp_sink(NS_F, 5202, (FAR_IP,))
        idle_ef = ping_ms(0xb8, 10)
        sniff = rig.sniffer(NS_F, "tpgwf0", LOAD_S + 4)
        time.sleep(0.3)
        before = classes()
        t0 = time.monotonic()
        bulk = rig.popen(NS_S, ["timeout", str(LOAD_S + 5), "/usr/bin/python3", "-c",
                                BULK, FAR_IP, str(LOAD_S)])
        time.sleep(1.5)                       # the queue fills
        mid = classes()
        t_mid = time.monotonic()
        ef = ping_ms(0xb8, 40)                # EF: the critical leaf
        # the WAN rate's window ends here, while the bulk surely runs: in a
        # slow guest the DF pings below can outlast it (a 6.1 TCG guest
        # once measured 15.9 of 20 Mbit/s over a window that did)
        after_ef = classes()
        t_ef = time.monotonic()
        df = ping_ms(0x00, 20, "0.1")         # DF: behind the bulk in 1:30
        end = classes()
        bulk.wait(timeout=LOAD_S + 10)
        d = lambda a, b, c: b[c][0] - a.get(c, (0, 0))[0]  # noqa: E731
        tap.ok(d(before, end, "1:10") > 0 and d(before, end, "1:30") > 2 * USED_MIN * RATE_BPS / 8,
               "EF pings in the critical leaf 1:10, DF bulk in the default leaf 1:30 "
               "(forwarded DSCP trusted without trustDscpFrom)",
               {"1:10": d(before, end, "1:10"), "1:30": d(before, end, "1:30")})
        wan_bps = d(mid, after_ef, "1:fffd") * 8 / (t_ef - t_mid)
        tap.ok(USED_MIN * RATE_BPS <= wan_bps <= 1.1 * RATE_BPS and t_ef - t0 < LOAD_S,
               "the site's WAN traffic is shaped to the WAN rate and uses it (%.1f Mbit/s of %d, "
               ">= %.0f %%; %.1f-%.1f s into the %.0f-s load)"
               % (wan_bps / 1e6, RATE_MBIT, USED_MIN * 100, t_mid - t0, t_ef - t0, LOAD_S),
               {"bytes": d(mid, after_ef, "1:fffd"), "s": t_ef - t_mid})
        tap.ok(len(ef) >= 36 and median(ef) < 5.0,
               "under load EF pings keep a short round trip (median %.2f ms, idle %.2f ms, %d of 40)"
               % (median(ef), median(idle_ef), len(ef)))
        tap.ok(median(df) > 10 * max(median(ef), 0.5),
               "DF pings queue behind the bulk in the same leaf (median %.1f ms vs EF %.2f ms)"
               % (median(df), median(ef)), {"df": df[:10]})
        tos = rig.sniffed(sniff, LOAD_S + 10)["tos"]
        tap.ok(tos.get("1/46", 0) >= 36 and tos.get("6/0", 0) > 1000 and tos.get("6/46", 0) == 0,
               "forwarded packets keep their DSCP on the WAN: EF pings arrive EF, bulk DF", tos)
        st = json.loads(sh(NS_R, tl.TCPRIO, "status", "--json", "--pin-dir", rig.pin).stdout)
        site = st.get("site", {})
        tap.ok(site.get("gateway") and site.get("share_bps", 0) == RATE_BPS,
               "tcprio status: gateway mode, the WAN share is the whole rate", site)
        human = sh(NS_R, tl.TCPRIO, "status", "--pin-dir", rig.pin).stdout
        tap.ok("gateway mode: all traffic of the uplink is the site's WAN, shaped at %d bit/s "
               "(--uplink-rate)" % RATE_BPS in human and "of 0" not in human,
               "tcprio status says gateway mode and its rate (it once said \"WAN share R of 0\")",
               human)

        # trustDscpFrom naming another interface: the LAN is no longer trusted
        with open(cfg + ".new", "w") as f:
            f.write(TABLE + "trustDscpFrom: [tpgnothing0]\n")
        os.rename(cfg + ".new", cfg)
        reloaded = tl.wait_for(lambda: " reloaded: " in open(log.name).read(), 10 * SCALE, 0.1)
        before = classes()
        ef2 = ping_ms(0xb8, 10)
        after = classes()
        tap.ok(reloaded and len(ef2) >= 8 and d(before, after, "1:10") == 0 and
               d(before, after, "1:30") >= 8 * 98,
               "with trustDscpFrom [tpgnothing0] EF from the router's LAN is not trusted: "
               "default leaf 1:30", {"1:10": d(before, after, "1:10"),
                                     "1:30": d(before, after, "1:30")})
        tap.ok(agent.poll() is None, "the agent is still running")
    finally:
        rig.close()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
