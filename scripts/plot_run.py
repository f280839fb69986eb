#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""plot_run.py SCENARIO_DIR OUT_PREFIX [TITLE] - pictures of one demo or
benchmark scenario (scripts/demo.sh, scripts/bench.sh; the files
scripts/lib/measure.sh leaves in SCENARIO_DIR), as OUT_PREFIX-rtt.{png,svg}
and OUT_PREFIX-throughput.{png,svg}:

  -rtt        left: the critical pod's UDP round trips over the run,
              without tcprio (off) and with it (on), the bulk load periods
              shaded; right: the CDF of the round trips under load, off and
              on (and unloaded for reference), log time axis.
  -throughput what each HTB class of the uplink sent per second over the
              run (off: the single class of plain shaping; on: tcprio's
              classes, named from status.json), load periods shaded.

Round-trip times are placed in time from the probe's start (events file)
plus the request index times the probe interval (MEAS_IVAL_US, default
2000 us; env PLOT_IVAL_US).  Needs python3-matplotlib (install-deps.sh).
"""
import glob
import json
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

IVAL_S = float(os.environ.get("PLOT_IVAL_US", os.environ.get("MEAS_IVAL_US", "2000"))) / 1e6
COLORS = {"off": "tab:red", "on": "tab:blue"}


def events(d, label):
    out = []
    try:
        with open(os.path.join(d, label + ".events")) as f:
            for line in f:
                t, ev, r = line.split()
                out.append((float(t), ev, int(r)))
    except OSError:
        pass
    return out


def samples(path):
    """RTTs in ms from an rr_probe -o file (one per request, "lost")."""
    out = []
    with open(path) as f:
        for i, line in enumerate(f):
            line = line.strip()
            out.append((i, None if line == "lost" or not line else float(line) / 1e3))
    return out


def timeline(d, label):
    """[(t_s since the first event, rtt_ms)], load periods [(t0, t1)], t0."""
    ev = events(d, label)
    if not ev:
        return [], [], 0
    t0 = ev[0][0]
    start = {(e, r): t for t, e, r in ev}
    pts, loads = [], []
    for (e, r), t in sorted(start.items(), key=lambda x: x[1]):
        if e in ("probe_unl", "probe_ld"):
            kind = "unl" if e == "probe_unl" else "ld"
            path = os.path.join(d, "%s.%s.%d.rr" % (label, kind, r))
            if os.path.exists(path):
                pts += [(t - t0 + i * IVAL_S, v) for i, v in samples(path) if v is not None]
        if e == "bulk_start" and ("bulk_end", r) in start:
            loads.append((t - t0, start[("bulk_end", r)] - t0))
    return pts, loads, t0


def pooled(d, label, kind):
    vals = []
    for path in sorted(glob.glob(os.path.join(d, "%s.%s.*.rr" % (label, kind)))):
        vals += [v for _, v in samples(path) if v is not None]
    return sorted(vals)


def shade(ax, loads, first):
    for i, (a, b) in enumerate(loads):
        ax.axvspan(a, b, color="0.85", zorder=0, label="bulk load" if first and i == 0 else None)


def class_names(d):
    try:
        with open(os.path.join(d, "status.json")) as f:
            return {c["priority"]: c["name"] for c in json.load(f).get("classes", [])}
    except (OSError, ValueError, KeyError):
        return {}


def throughput(d, label):
    """{classid: ([t_s], [Mbit/s])} from LABEL.tc, relative to the first event."""
    ev = events(d, label)
    rows = {}
    try:
        with open(os.path.join(d, label + ".tc")) as f:
            for line in f:
                p = line.split()
                if len(p) >= 3:
                    rows.setdefault(p[1], []).append((float(p[0]), int(p[2])))
    except OSError:
        return {}
    t0 = ev[0][0] if ev else min((r[0][0] for r in rows.values() if r), default=0)
    out = {}
    for cid, r in rows.items():
        ts, rate = [], []
        for (ta, ba), (tb, bb) in zip(r, r[1:]):
            if tb > ta:
                ts.append((ta + tb) / 2 - t0)
                rate.append((bb - ba) * 8 / (tb - ta) / 1e6)
        out[cid] = (ts, rate)
    return out


def save(fig, prefix, what):
    for ext in ("png", "svg"):
        fig.savefig("%s-%s.%s" % (prefix, what, ext), dpi=110)
    plt.close(fig)


def plot_rtt(d, prefix, title):
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), gridspec_kw={"width_ratios": [2, 2, 1.6]})
    axes[1].sharey(axes[0])  # the same scale without and with tcprio
    for ax, label in zip(axes[:2], ("off", "on")):
        pts, loads, _ = timeline(d, label)
        shade(ax, loads, True)
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=2, color=COLORS[label],
                       label="critical pod UDP round trip")
        ax.set_yscale("log")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("round trip (ms)")
        ax.set_title("%s tcprio" % ("without" if label == "off" else "with"))
        ax.legend(loc="best", fontsize=8)
    ax = axes[2]
    for label in ("off", "on"):
        for kind, style in (("ld", "-"), ("unl", ":")):
            v = pooled(d, label, kind)
            if v:
                ax.plot(v, [(i + 1) / len(v) for i in range(len(v))], style, color=COLORS[label],
                        label="%s tcprio, %s" % ("without" if label == "off" else "with",
                                                 "under load" if kind == "ld" else "unloaded"))
    ax.set_xscale("log")
    ax.set_xlabel("round trip (ms)")
    ax.set_ylabel("CDF")
    ax.set_title("round-trip CDF")
    ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, prefix, "rtt")


def plot_throughput(d, prefix, title):
    names = class_names(d)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), sharey=True)
    for ax, label in zip(axes, ("off", "on")):
        _, loads, _ = timeline(d, label)
        shade(ax, loads, True)
        for cid, (ts, rate) in sorted(throughput(d, label).items()):
            if cid.endswith(":1") and len(throughput(d, label)) > 1:
                continue  # the parent class: the sum of its leaves
            if not any(r > 0.01 for r in rate):
                continue
            ax.plot(ts, rate, label="%s %s" % (cid, names.get(cid, "")) if label == "on"
                    else "%s (the one class)" % cid)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("sent on the uplink (Mbit/s)")
        ax.set_title("%s tcprio: per HTB class" % ("without" if label == "off" else "with"))
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, prefix, "throughput")


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    d, prefix = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else os.path.basename(d.rstrip("/"))
    if not events(d, "off") and not events(d, "on"):
        print("plot_run: %s holds no measurement (off.events / on.events)" % d, file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    plot_rtt(d, prefix, title)
    plot_throughput(d, prefix, title)
    for what in ("rtt", "throughput"):
        print("  plot %s-%s.png (.svg)" % (prefix, what))
    return 0


if __name__ == "__main__":
    sys.exit(main())
