#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""sites_demo.py - the two-site demo and benchmark (issue 9): an edge site of
two nodes on a 1 Gbit/s LAN behind a router and a 20 Mbit/s "modem" with a
deep FIFO, and a data-centre site, in network namespaces
(tests/lib/sites_topo.py draws it).  Four modes side by side in one run:

  none     no tcprio
  pernode  today's per-node shaping: --uplink-rate 20mbit on each edge node
  sites    site-aware tcprio: sites in the class table, the edge site's
           wanRate a little under the modem's rate (--wan-rate, 19mbit);
           the nodes' link speed --uplink-rate --link-rate (default: the
           LAN's speed --lan-rate, 1gbit, as ethtool would report on a real
           1 Gbit/s NIC; auto: what the veth reports, 10 Gbit/s)
  gateway  tcprio agent --gateway on the router (--uplink-rate --gateway-rate,
           19.5mbit: one smooth shaper can sit closer to the modem's rate),
           the nodes' agents only mark DSCP at the pod edge

Per mode: TCP throughput between the two edge nodes' bulk pods (the LAN);
the critical pod's UDP round trips (rr_probe) to the data-centre pod,
unloaded and while both edge nodes' bulk pods send TCP to the data-centre
pod (iperf3, 2 streams each); the WAN goodput of those transfers.  Figures
and the issue's requirements, for sites and gateway:
  LAN throughput / none's                              >= 0.9
  critical p99 loaded - p99 unloaded                   <= 1.2 ms (aim 0.6:
      one / two full frames at 20 Mbit/s)
  WAN goodput / none's                                 >= 0.85 (sites),
                                                       >= 0.95 (gateway)
(medians over the rounds).  The LAN test's iperf3 client and server run
on CPUs 0 and 1 (tests/lib/sites_topo.py LAN_AFFINITY).  The LAN is the
switch's ports shaped to --lan-rate (1gbit): the check is whether tcprio
caps the LAN below its own speed.
For information, not a check (after round 1, when none and sites are run;
--no-unshaped-lan skips it, ~12 s): the LAN's CPU-bound figure with the
switch's shapers removed, one test each of no tcprio and of sites at
--uplink-rate 100gbit (Topo.lan_unshaped: what HTB and the datapath cost
per packet when one stream across veths runs at whatever the CPUs manage).
Prints a markdown table, then one VERDICT line per requirement (the format
of `make bench-datapath`); --json FILE writes every figure.  Exit status 0
when every requirement is met, 1 when one is not, 2 on a setup error.

usage: sites_demo.py [--modes none,pernode,sites,gateway] [--rounds N]
                     [--lan-seconds S] [--probes N] [--interval-us US]
                     [--ramp S] [--wan-rate RATE] [--gateway-rate RATE]
                     [--lan-rate RATE] [--link-rate RATE|auto]
                     [--no-unshaped-lan]
                     [--prefix P] [--json FILE]
                     [--keep-logs]
Needs root, iperf3, build/tcprio and build/scripts/rr_probe (make).  On a
shared machine run it under the test lock: flock /tmp/tcprio-tests.lock ...
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import sites_topo as st  # noqa: E402

LABEL = {"none": "(a) no tcprio", "pernode": "(b) per-node --uplink-rate",
         "sites": "(c) site-aware", "gateway": "(d) gateway on the router"}
# (figure, mode, op, limit, aim): the requirements
REQUIRED = [
    ("lan_ratio", "sites", ">=", 0.9, None),
    ("lan_ratio", "gateway", ">=", 0.9, None),
    ("rtt_delta_p99_ms", "sites", "<=", 1.2, 0.6),
    ("rtt_delta_p99_ms", "gateway", "<=", 1.2, 0.6),
    ("goodput_ratio", "sites", ">=", 0.85, None),
    ("goodput_ratio", "gateway", ">=", 0.95, None),
]
# Measurements of one mode in a round, at most, until one during which the
# emulated modem did not stall (sites_topo Topo.measure_valid: a tbf on a
# veth loses sending time when the shared machine stalls, which a hardware
# modem cannot, and what it failed to send then delays every probe; see
# tests/node/test_sites_demo.py measure()).  A round in which it stalled
# every time keeps its median attempt, and the report says so.  Modes
# none and pernode fill the modem's FIFO, whose stalls are as frequent and
# do not matter there: measured once.
MEASURE_TRIES = 3
FIGURE_TEXT = {"lan_ratio": "LAN throughput / no tcprio's",
               "rtt_delta_p99_ms": "critical p99 loaded - unloaded (ms)",
               "goodput_ratio": "WAN goodput / no tcprio's"}


def log(msg):
    sys.stderr.write("sites: %s\n" % msg)
    sys.stderr.flush()


def median(vals):
    vals = [v for v in vals if v == v]   # drop NaN
    return statistics.median(vals) if vals else float("nan")


def check(value, op, limit):
    if value != value:
        return False
    return value >= limit if op == ">=" else value <= limit


def fmt(v, spec="%.2f"):
    return "nan" if v is None or v != v else spec % v


def run(args):
    modes = args.modes.split(",")
    for m in modes:
        if m not in st.MODES:
            log("unknown mode %r (one of %s)" % (m, ", ".join(st.MODES)))
            return 2
    topo = st.Topo(args.prefix, wan_rate=args.wan_rate, gateway_rate=args.gateway_rate,
                   link_rate=None if args.link_rate == "auto" else args.link_rate,
                   lan_rate=args.lan_rate, log=log)
    rounds = {m: [] for m in modes}
    unshaped = None
    try:
        log("building the two sites (namespaces %s*)" % args.prefix)
        topo.setup()
        topo.wait_ready()
        for r in range(args.rounds):
            # alternate the order so that drifting background load hits all modes
            order = modes if r % 2 == 0 else list(reversed(modes))
            for m in order:
                log("round %d/%d: %s" % (r + 1, args.rounds, LABEL[m]))
                topo.start_mode(m)
                tries = 1 if m in ("none", "pernode") else MEASURE_TRIES
                rounds[m].append(topo.measure_valid(tries, log, args.lan_seconds,
                                                    args.probes, args.interval_us, args.ramp))
                topo.stop_mode()
            if r == 0 and {"none", "sites"} <= set(modes) and not args.no_unshaped_lan:
                log("round 1: the LAN unshaped (CPU-bound, for information): none, sites "
                    "at --uplink-rate %s" % st.CPU_LINK_RATE)
                unshaped = topo.lan_unshaped(args.lan_seconds)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        log("setup failed: %s" % e)
        topo.close(keep_tmp=True)
        log("logs kept in %s" % topo.tmp)
        return 2
    except BaseException:
        topo.close(keep_tmp=args.keep_logs)
        raise
    tmp = topo.tmp
    topo.close(keep_tmp=args.keep_logs)

    fig = {}
    for m in modes:
        keys = rounds[m][0].keys()
        fig[m] = {k: median([x[k] for x in rounds[m]]) for k in keys
                  if not isinstance(rounds[m][0][k], (list, bool))}
        fig[m]["rounds"] = rounds[m]
    for m in modes:
        base = fig.get("none")
        fig[m]["lan_ratio"] = fig[m]["lan_mbps"] / base["lan_mbps"] if base else float("nan")
        fig[m]["goodput_ratio"] = (fig[m]["wan_goodput_mbps"] / base["wan_goodput_mbps"]
                                   if base else float("nan"))
    print_report(args, modes, fig, unshaped)
    verdicts = []
    for key, mode, op, limit, aim in REQUIRED:
        if mode not in fig or "none" not in fig and key != "rtt_delta_p99_ms":
            continue
        v = fig[mode][key]
        ok = check(v, op, limit)
        verdicts.append(ok)
        line = "VERDICT sites, %s, %s: %s: %s (required %s %s)" % (
            LABEL[mode], FIGURE_TEXT[key], fmt(v), "MEETS" if ok else "FAILS", op, limit)
        if aim is not None:
            line += ", %s the %s aim" % ("meets" if check(v, op, aim) else "misses", aim)
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"modem_rate": st.MODEM_RATE, "wan_rate": args.wan_rate,
                       "link_rate": args.link_rate, "gateway_rate": args.gateway_rate,
                       "lan_rate": args.lan_rate, "lan_unshaped_mbps": unshaped,
                       "lan_unshaped_link_rate": st.CPU_LINK_RATE if unshaped else None,
                       "modem_limit_bytes": st.MODEM_LIMIT, "rounds": args.rounds,
                       "modes": fig, "cpus": os.cpu_count(), "kernel": os.uname().release},
                      f, indent=1, sort_keys=True)
    if args.keep_logs:
        print("logs kept in %s" % tmp)
    return 0 if all(verdicts) else 1


def print_report(args, modes, fig, unshaped):
    print()
    print("### Two sites: edge LAN %s + %s modem (FIFO %d KB) to a data centre; "
          "wanRate %s, gateway rate %s, sites' link speed %s (%d round%s, %d CPUs, %s)" % (
              args.lan_rate, st.MODEM_RATE, st.MODEM_LIMIT // 1024, args.wan_rate,
              args.gateway_rate, args.link_rate, args.rounds,
              "" if args.rounds == 1 else "s", os.cpu_count(), os.uname().release))
    print()
    print("| mode                       | LAN Mbit/s | LAN / (a) | critical p99 unloaded us "
          "| p99 loaded us | added p99 ms | WAN goodput Mbit/s | goodput / (a) "
          "| modem queue max KB | modem drops |")
    print("|----------------------------|------------|-----------|--------------------------"
          "|---------------|--------------|--------------------|---------------"
          "|--------------------|-------------|")
    for m in modes:
        f = fig[m]
        print("| %-26s | %10s | %9s | %24s | %13s | %12s | %18s | %13s | %18s | %11s |" % (
            LABEL[m], fmt(f["lan_mbps"], "%.0f"), fmt(f["lan_ratio"]),
            fmt(f["rtt_unloaded_p99_us"], "%.0f"), fmt(f["rtt_loaded_p99_us"], "%.0f"),
            fmt(f["rtt_delta_p99_ms"], "%.3f"), fmt(f["wan_goodput_mbps"], "%.2f"),
            fmt(f["goodput_ratio"]), fmt(f["modem_backlog_max_bytes"] / 1024.0, "%.0f"),
            fmt(f["modem_drops"], "%.0f")))
    print()
    print("LAN: one TCP stream edge-1 bulk pod -> edge-2 bulk pod, %d s%s, the median of "
          "its 1-s intervals.  Critical: %d UDP "
          "round trips every %d us, edge-1 critical pod -> dc pod, unloaded and while the bulk "
          "pods of both edge nodes send TCP to the dc pod (2 streams each, after %d s of "
          "ramp).  Medians over the rounds.  Timing on a shared machine is noisy." % (
              args.lan_seconds, " (iperf3 client on CPU 0, server on CPU 1)"
              if st.LAN_AFFINITY else "", args.probes, args.interval_us, args.ramp))
    print()
    print("LAN: the switch's ports are shaped to %s (tbf), as an edge site's LAN; the LAN "
          "check asks whether tcprio caps it below its own speed.  Switch drops during the "
          "LAN tests (sum over the rounds): %s." % (
              args.lan_rate, ", ".join("%s %d" % (m, sum(x["lan_switch_drops"]
                                                         for x in fig[m]["rounds"]))
                                       for m in modes)))
    if unshaped:
        print()
        print("Information, not a check: the LAN unshaped (switch shapers removed, one stream "
              "across veths, CPU-bound; one %d-s test each after round 1): no tcprio %s "
              "Mbit/s, sites (--uplink-rate %s) %s Mbit/s, %s of no tcprio's: the LAN leaf's "
              "HTB and the datapath's cost per packet at that rate." % (
                  args.lan_seconds, fmt(unshaped["none"], "%.0f"), st.CPU_LINK_RATE,
                  fmt(unshaped["sites"], "%.0f"), fmt(unshaped["sites"] / unshaped["none"])))
    print()
    print("Emulated modem (sampled every %.0f ms while the loaded probes ran): a measurement "
          "during which it stalled is taken again, up to %d per round.  %s" % (
              st.MODEM_SAMPLE_S * 1000, MEASURE_TRIES, "; ".join(
                  "%s: %d taken again%s" % (
                      m, sum(x["attempts"] - 1 for x in fig[m]["rounds"]),
                      ", stalled in every attempt in round(s) %s" % ", ".join(
                          str(i + 1) for i, x in enumerate(fig[m]["rounds"]) if not x["valid"])
                      if not all(x["valid"] for x in fig[m]["rounds"]) else "")
                  for m in modes)))
    print()
    print("| measure                                  | mode                       "
          "|   value | required |  aim | result |")
    print("|------------------------------------------|----------------------------"
          "|---------|----------|------|--------|")
    for key, mode, op, limit, aim in REQUIRED:
        if mode not in fig:
            continue
        v = fig[mode][key]
        print("| %-40s | %-26s | %7s | %8s | %4s | %6s |" % (
            FIGURE_TEXT[key], LABEL[mode], fmt(v, "%.3f" if key.startswith("rtt") else "%.2f"),
            "%s %s" % (op, limit), "" if aim is None else aim,
            "PASS" if check(v, op, limit) else "FAIL"))
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default=",".join(st.MODES))
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--lan-seconds", type=int, default=4)
    ap.add_argument("--probes", type=int, default=1500)
    ap.add_argument("--interval-us", type=int, default=2000)
    ap.add_argument("--ramp", type=int, default=2)
    ap.add_argument("--wan-rate", default=st.WAN_RATE, help="the edge site's wanRate (sites)")
    ap.add_argument("--gateway-rate", default=st.GATEWAY_RATE,
                    help="the router's --uplink-rate (gateway)")
    ap.add_argument("--lan-rate", default=st.LAN_RATE,
                    help="the LAN's speed: the switch ports' tbf rate")
    ap.add_argument("--link-rate",
                    help="the edge nodes' --uplink-rate (link speed) in mode sites "
                         "(default: --lan-rate); auto: what the link reports")
    ap.add_argument("--no-unshaped-lan", action="store_true",
                    help="skip the unshaped (CPU-bound) LAN figures after round 1")
    ap.add_argument("--prefix", default="tpsd")
    ap.add_argument("--json")
    ap.add_argument("--keep-logs", action="store_true")
    args = ap.parse_args()
    if args.link_rate is None:
        args.link_rate = args.lan_rate
    if os.geteuid() != 0:
        log("run as root (network namespaces, tc, BPF)")
        return 2
    for b in (st.tl.TCPRIO, st.RR_PROBE):
        if not os.access(b, os.X_OK):
            log("%s missing: run make first" % b)
            return 2
    if not 1 <= args.rounds <= 20 or not 1 <= args.lan_seconds <= 60 or \
            not 10 <= args.probes <= 100000 or not 0 <= args.ramp <= 30:
        log("--rounds 1..20, --lan-seconds 1..60, --probes 10..100000, --ramp 0..30")
        return 2
    # SIGTERM (a timeout) unwinds like Ctrl-C, so that close() removes everything
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t0 = time.monotonic()
    rc = run(args)
    log("%.0f s" % (time.monotonic() - t0))
    return rc


if __name__ == "__main__":
    sys.exit(main())
