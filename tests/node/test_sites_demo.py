#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_sites_demo.py - the two-site demo's topology (tests/lib/sites_topo.py,
the code `make demo` runs) with real traffic, short: an edge site of two
nodes on a LAN bridge behind a router and a 20 Mbit/s modem with a deep FIFO,
a data-centre pod behind it.  Without tcprio, bulk TCP from both edge nodes
fills the modem's FIFO and the critical pod's round trips to the data-centre
pod grow by milliseconds (the check that the load really saturates the WAN,
so that the other checks mean something).  With site-aware tcprio (sites in
the class table, wanRate 19mbit) and with gateway mode on the router:
- the LAN between the two edge nodes is not capped at the WAN rate;
- the critical pod's p99 round trip grows by at most 1.2 ms under that
  load (the issue's bound: two full-size frame times at 20 Mbit/s; for a
  mode above it, the median of three measurements is judged: checks());
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
# The WAN rate is 20 Mbit/s: a LAN "not capped" carries 10 times that.
LAN_MIN_MBPS = 200.0
# The issue's bound: two full-size frames' time at 20 Mbit/s.
DELAY_MAX_MS = 1.2


def checks(topo):
    topo.setup()
    topo.wait_ready()
    fig = {}
    for mode in ("none", "sites", "gateway"):
        topo.start_mode(mode)
        fig[mode] = topo.measure(LAN_S, PROBES, IVAL_US, RAMP_S)
        tap.diag("%s: %s" % (mode, fig[mode]))
        if mode != "none" and fig[mode]["rtt_delta_p99_ms"] > DELAY_MAX_MS:
            # A gateway round now and then goes above the bound with a queue
            # in the modem (CI, 2026-12-01: 2.70 then 1.96 ms with 3028 bytes
            # there; 3.82 / 7.72 / 0.25 ms with up to 13 KB; the demo once saw
            # 5.25 ms with 12 KB).  Sampled every ~6 ms, such a queue formed
            # while the shared 2-core machine stalled for ~20 ms: the modem's
            # tbf, whose dequeue runs on a timer, sent 7.6 of its 20 Mbit/s
            # while the router, whose HTB bursts about one frame, kept
            # sending; at 19.5 of 20 Mbit/s that backlog drains for hundreds
            # of ms.  So, as `make demo` does, judge the median of three
            # measurements; a real regression (a misclassified probe waits
            # tens of ms behind the bulk) misses two of three.
            tap.diag("%s: p99 grew by %.3f ms; two more measurements, the median of "
                     "three is judged" % (mode, fig[mode]["rtt_delta_p99_ms"]))
            runs = [fig[mode]]
            for again in range(2):
                runs.append(topo.measure(LAN_S, PROBES, IVAL_US, RAMP_S))
                tap.diag("%s (again): %s" % (mode, runs[-1]))
            fig[mode] = sorted(runs, key=lambda f: f["rtt_delta_p99_ms"])[1]
        topo.stop_mode()
    none = fig["none"]
    tap.ok(none["rtt_delta_p99_ms"] > 5.0,
           "no tcprio: bulk from both edge nodes queues in the modem (critical p99 "
           "+%.1f ms, modem queue up to %d bytes)" % (none["rtt_delta_p99_ms"],
                                                     none["modem_backlog_max_bytes"]))
    for mode in ("sites", "gateway"):
        f = fig[mode]
        tap.ok(f["lan_mbps"] >= LAN_MIN_MBPS,
               "%s: the LAN is not capped at the WAN rate (%.0f Mbit/s, no tcprio %.0f)"
               % (mode, f["lan_mbps"], none["lan_mbps"]))
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
