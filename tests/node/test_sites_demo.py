#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_sites_demo.py - the two-site demo's topology (tests/lib/sites_topo.py,
the code `make demo` runs) with real traffic, short: an edge site of two
nodes on a 1 Gbit/s LAN (a bridge whose ports are shaped to 1 Gbit/s) behind
a router and a 20 Mbit/s modem with a deep FIFO, a data-centre pod behind
it.  Without tcprio, bulk TCP from both edge nodes
fills the modem's FIFO and the critical pod's round trips to the data-centre
pod grow by milliseconds (the check that the load really saturates the WAN,
so that the other checks mean something).  With site-aware tcprio (sites in
the class table, wanRate 19mbit) and with gateway mode on the router:
- the LAN between the two edge nodes is not capped below its own speed
  (>= 0.9 of no tcprio's, as the demo requires; per-node shaping caps it
  at the WAN rate);
- the critical pod's p99 round trip grows by at most 1.2 ms under that
  load (the issue's bound: two full-size frame times at 20 Mbit/s),
  judged on measurements during which the emulated modem did not stall
  (measure()), and for a mode above it on the median of three: checks();
- the bulk transfers' WAN goodput is >= 0.85 (sites) / >= 0.95 (gateway) of
  what they get without tcprio.
Needs root, iperf3; everything it creates has the prefix tpsx (namespaces,
/sys/fs/bpf/tcprio-tpsx*-PID pins) and goes at the end, also on failure.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402
import sites_topo as st  # noqa: E402

tap = tl.Tap()
LAN_S, PROBES, IVAL_US, RAMP_S = 2, 1000, 2000, 2
# The LAN is 1 Gbit/s (sites_topo LAN_RATE), mode sites' LAN leaf runs at
# that speed: "not capped" is >= 0.9 of what it carries without tcprio.
# (Before the LAN had a speed, one stream across the veths ran CPU-bound at
# 13-16 Gbit/s and the ratio measured the LAN leaf's HTB cost in CPU; the
# test then only asked for 200 Mbit/s, 10 times the WAN rate.)
LAN_MIN_RATIO = 0.9
# The issue's bound: two full-size frames' time at 20 Mbit/s.
DELAY_MAX_MS = 1.2
# Measurements of one mode, at most, until one without a modem stall: measure()
MEASURE_TRIES = 4


def measure(topo):
    """One valid measurement of the running mode (Topo.measure_valid).

    The emulated modem (tbf on a veth, its dequeue driven by a timer, behind
    the veth's receive path) can lose sending time when the shared 2-core
    machine stalls, which a hardware modem cannot; at 19-19.5 of its 20
    Mbit/s what it failed to send then drains for hundreds of ms and every
    probe waits behind it.  Measured 2026-12-02 (ModemWatch, 20 ms samples,
    44 measurements of sites and gateway): every one whose p99 grew by more
    than 1.2 ms (7: 1.70 to 7.50 ms) had a stall in which the modem lost
    1.86 to 7.56 ms of its time (a backlog of 4.6 to 18.9 KB, or up to 9 KB
    sent by the router and not yet received by the modem), the p99 growth
    close to that loss; 4 measurements that passed had one too (1.57 to 1.90
    ms lost).  Intervals without a stall lost at most 1.25 ms while frames
    were held (two frames met, or were on their way, at a sample): hence
    STALL_LOST_S, 1.5 ms.
    So a measurement during which the modem stalled is taken again, up to
    MEASURE_TRIES in all; if it stalled every time, the median of the
    attempts is judged and a diag line says so.  A real regression shows up
    in a valid measurement (a probe waiting behind bulk in tcprio's tree
    leaves the modem empty); a shaper that bursts fills a modem that keeps
    sending at its rate, which is no stall either.  Without tcprio the
    modem's full FIFO stalls as often (no p99 bound to judge there, and a
    few ms lost of a 5-s transfer do not move its goodput): measured once."""
    tries = 1 if topo.mode == "none" else MEASURE_TRIES
    f = topo.measure_valid(tries, tap.diag, LAN_S, PROBES, IVAL_US, RAMP_S)
    tap.diag("%s: %s" % (topo.mode, f))
    if not f["valid"]:
        tap.diag("%s: the modem stalled in all %d attempt(s); judging the median one"
                 % (topo.mode, f["attempts"]))
    return f


def lan_ratio(topo, mode, first):
    """The LAN figure of mode against no tcprio's, as judged: first (the
    two measurements above, minutes apart) when it meets LAN_MIN_RATIO;
    else the median of it and two more pairs, each no tcprio then mode back
    to back.  A cap holds in every pair (the LAN leaf capped at the WAN
    rate gives 0.02), while on a shared 2-core machine one LAN test of 2 s
    can lose 10-15 % to a stall."""
    if first >= LAN_MIN_RATIO:
        return first
    ratios = [first]
    for _ in range(2):
        figs = {}
        for m in ("none", mode):
            topo.start_mode(m)
            figs[m] = topo.lan_mbps(LAN_S)
            topo.stop_mode()
        ratios.append(figs[mode] / figs["none"])
    tap.diag("%s: LAN %.2f of no tcprio's, below %.1f; two more pairs: %s; the median is "
             "judged" % (mode, first, LAN_MIN_RATIO, ", ".join("%.2f" % r for r in ratios[1:])))
    return sorted(ratios)[1]


def checks(topo):
    topo.setup()
    topo.wait_ready()
    fig = {}
    for mode in ("none", "sites", "gateway"):
        topo.start_mode(mode)
        fig[mode] = measure(topo)
        if mode != "none" and fig[mode]["rtt_delta_p99_ms"] > DELAY_MAX_MS:
            # Kept from before the modem's validity check: a mode above the
            # bound in a valid measurement is judged on the median of three
            # valid measurements, so one stall the check misses does not fail
            # the suite; a real regression (a misclassified probe waits tens
            # of ms behind the bulk in tcprio's tree, with no stall in the
            # modem) misses two of three.
            tap.diag("%s: p99 grew by %.3f ms; two more measurements, the median of "
                     "three is judged" % (mode, fig[mode]["rtt_delta_p99_ms"]))
            runs = [fig[mode], measure(topo), measure(topo)]
            fig[mode] = sorted(runs, key=lambda f: f["rtt_delta_p99_ms"])[1]
        topo.stop_mode()
    none = fig["none"]
    tap.ok(none["rtt_delta_p99_ms"] > 5.0,
           "no tcprio: bulk from both edge nodes queues in the modem (critical p99 "
           "+%.1f ms, modem queue up to %d bytes)" % (none["rtt_delta_p99_ms"],
                                                     none["modem_backlog_max_bytes"]))
    for mode in ("sites", "gateway"):
        f = fig[mode]
        lan = lan_ratio(topo, mode, f["lan_mbps"] / none["lan_mbps"])
        tap.ok(lan >= LAN_MIN_RATIO,
               "%s: the LAN is not capped below its speed (%.0f Mbit/s, %.2f of no "
               "tcprio's %.0f; judged: %.2f, >= %.1f)" % (mode, f["lan_mbps"],
                                                         f["lan_mbps"] / none["lan_mbps"],
                                                         none["lan_mbps"], lan, LAN_MIN_RATIO))
        tap.ok(f["rtt_delta_p99_ms"] <= DELAY_MAX_MS,
               "%s: critical p99 loaded - unloaded <= %.1f ms (%.3f ms; %.0f -> %.0f us)"
               % (mode, DELAY_MAX_MS, f["rtt_delta_p99_ms"], f["rtt_unloaded_p99_us"],
                  f["rtt_loaded_p99_us"]))
        need = 0.85 if mode == "sites" else 0.95
        ratio = f["wan_goodput_mbps"] / none["wan_goodput_mbps"]
        tap.ok(ratio >= need, "%s: WAN goodput %.2f of no tcprio's >= %.2f (%.2f / %.2f "
               "Mbit/s)" % (mode, ratio, need, f["wan_goodput_mbps"],
                            none["wan_goodput_mbps"]))
    for mode, where in (("sites", "nodes"), ("gateway", "router")):
        tap.ok(fig[mode]["modem_backlog_max_bytes"] < none["modem_backlog_max_bytes"] / 4,
               "%s: the queue stays in the %s, not in the modem (%d vs %d bytes)"
               % (mode, where, fig[mode]["modem_backlog_max_bytes"],
                  none["modem_backlog_max_bytes"]))


def main():
    rc = tl.begin(tap, 9, "netns, bpf, tc", tools=("iperf3", "tc"),
                  built=(tl.TCPRIO, st.RR_PROBE))
    if rc is not None:
        return rc
    tl.exit_on_signals()
    topo = st.Topo("tpsx")
    tl.guarded(tap, lambda: checks(topo), topo.close)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
