#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""bench_traffic.py - what tcprio's programs cost real packets: a node in
network namespaces, with and without the programs attached, in one run.

Topology (names end in this process's pid, so nothing else collides):
  tbp-<pid>  the pod: eth0 198.18.50.2/24, default route via the node
  tbn-<pid>  the node: tbpod0 198.18.50.1 (pod edge at its TC ingress),
             tbup0 198.18.51.1/24 (uplink program at its TC egress),
             forwarding on, no shaping (veths without a qdisc)
  tbr-<pid>  the remote: eth0 198.18.51.2/24, runs the iperf3 server
build/tests/node/node_load loads and pins the datapath (in
/sys/fs/bpf/tcprio-bench-traffic-<pid>) and the pod is an endpoint of class
critical (DSCP 46), so with the programs the pod edge rewrites the DSCP of
every packet (the pod sends DSCP 0) and both programs classify and count
it.  Three variants:
  without  no program at either hook (the baseline of the verdicts)
  empty    the empty program (bpf/tcprio_empty.bpf.c, returns
           TC_ACT_UNSPEC) at both hooks: what any TC program costs a
           packet here, so with / empty is tcprio's own work
  with     tcprio_pod_edge and tcprio_uplink
all as tcx links at the head of the hook, as the agent attaches them on
this kernel, switched by build/tests/bench/traffic_toggle.

Method: one traffic stream runs for the whole test (iperf3, client pinned
to one CPU, server to the other): TCP bulk (one stream), then small UDP
packets (iperf3 -u -b 0 -l 64: 64-byte payloads as fast as the sender
goes).  While it runs, the hooks switch between the three variants, and
each variant is measured in a window of WINDOW s, SETTLE s after its
switch: a cycle measures all three, one after the other, in an order that
rotates every cycle.  The figure of a window is what the remote's eth0
received (bytes for TCP, packets for UDP: what crossed the node) per
second; CPU time per packet is the machine's busy CPU time in the window
(/proc/stat: both CPUs, everything but idle and iowait; the forwarding
runs in softirq on the sender's CPU) divided by the packets received.  A
3-s iperf3 test's rate moves by up to 10 % from one test to the next on
the 2-core development VM; windows a few seconds apart in one stream
compare the variants under closer conditions (64-byte UDP: per-cycle
ratios with quartiles 0.920-0.965 with 2-s windows, against 0.879-0.964
for the earlier separate 3-s tests; 1-s windows were as noisy as those).
Reported: medians of the windows, and the median over cycles of each
cycle's ratio with / without (and empty / without, with / empty).

Then, with 64-byte UDP again, a separate phase of TRAFFIC_RUNTIME_CYCLES
cycles (default 5; 0: none) of "empty" and "with" windows, with the
kernel's BPF run-time statistics switched on (kernel.bpf_stats_enabled,
restored after): what each program costs a run on the real path, where
its maps' cache lines are no longer in L1 as in the in-kernel test runs
(bench_datapath.c).  The statistics add their own two clock reads to
every run, the empty program's too, so the added ns are the figure.
The same statistics then measure the pod edge alone, cut after each of
its steps (bpf/tcprio_steps.bpf.c, attached by traffic_toggle): where
its time goes on the real path.

Prints VERDICT lines first, then a table and a markdown table, then the
RUNTIME line and the steps' table.
Usage: bench_traffic.py [CYCLES] (default 20; TRAFFIC_WINDOW=seconds,
default 2; TRAFFIC_PROTOS=udp or tcp measures only that one, for work on
one figure: `make bench-datapath` measures both).  Needs root, iperf3, tcx (Linux 6.6+).
"""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.environ.get("BUILD", "build")
TCPRIO = os.path.join(ROOT, BUILD, "tcprio")
LOADER = os.path.join(ROOT, BUILD, "tests", "node", "node_load")
TOGGLE = os.path.join(ROOT, BUILD, "tests", "bench", "traffic_toggle")
EMPTY_OBJ = os.path.join(ROOT, BUILD, "tcprio_empty.bpf.o")
STEPS_OBJ = os.path.join(ROOT, BUILD, "tcprio_steps.bpf.o")
PID = os.getpid()
POD, NODE, REMOTE = "tbp-%d" % PID, "tbn-%d" % PID, "tbr-%d" % PID
PIN = "/sys/fs/bpf/tcprio-bench-traffic-%d" % PID
PROBE = PIN + "-probe"   # loaded, never attached: for `tcprio status` only
POD_IP, REMOTE_IP = "198.18.50.2", "198.18.51.2"
VARIANTS = ("without", "empty", "with")
CYCLES = 20                   # cycles unless argv[1] says
WINDOW = float(os.environ.get("TRAFFIC_WINDOW", "2.0"))  # seconds measured per variant and cycle
SETTLE = 0.25                 # seconds between a switch and its window
REQ_TCP, REQ_UDP = 0.97, 0.95  # required ratios with / without
KINDS = tuple(k for k in (("tcp", False), ("udp", True))
              if k[0] in os.environ.get("TRAFFIC_PROTOS", "tcp udp").split())
RUNTIME_CYCLES = int(os.environ.get("TRAFFIC_RUNTIME_CYCLES", "5"))  # 0: no RUNTIME phase
NCPU = os.cpu_count() or 1
CLIENT_CPU, SERVER_CPU = "0", str(1 % NCPU)


def sh(*cmd, check=True, stdin=None):
    r = subprocess.run(list(cmd), input=stdin, capture_output=True, text=True)
    if check and r.returncode:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode,
                                                (r.stderr or r.stdout).strip()))
    return r.stdout


def inns(ns, *cmd, **kw):
    # nsenter --net, not `ip netns exec`: the latter remounts /sys and would
    # hide the bpffs pins from node_load.
    return sh("nsenter", "--net=/run/netns/" + ns, *cmd, **kw)


def setup():
    for ns in (POD, NODE, REMOTE):
        sh("ip", "netns", "add", ns)
    inns(NODE, "ip", "link", "add", "tbpod0", "type", "veth", "peer", "name", "eth0",
         "netns", POD)
    inns(NODE, "ip", "link", "add", "tbup0", "type", "veth", "peer", "name", "eth0",
         "netns", REMOTE)
    inns(NODE, "ip", "-batch", "-", stdin="addr add 198.18.50.1/24 dev tbpod0\n"
         "addr add 198.18.51.1/24 dev tbup0\nlink set tbpod0 up\nlink set tbup0 up\n"
         "link set lo up\n")
    inns(NODE, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    inns(POD, "ip", "-batch", "-", stdin="addr add %s/24 dev eth0\nlink set eth0 up\n"
         "link set lo up\nroute add default via 198.18.50.1\n" % POD_IP)
    inns(REMOTE, "ip", "-batch", "-", stdin="addr add %s/24 dev eth0\nlink set eth0 up\n"
         "link set lo up\nroute add 198.18.50.0/24 via 198.18.51.1\n" % REMOTE_IP)
    inns(POD, "ping", "-c", "1", "-W", "2", REMOTE_IP)
    inns(NODE, LOADER, PROBE)
    inns(NODE, LOADER, PIN)     # loaded and pinned; traffic_toggle attaches
    sh(TCPRIO, "endpoint", "add", POD_IP, "--class", "critical", "--pin-dir", PIN)


def attached():
    """Where tcprio programs run in the node: {iface: [(hook, mode)]}, from
    `tcprio status --json` of the never-attached PROBE pin dir, which lists
    every tcprio program at a hook (tcx link or tc filter) as foreign."""
    js = json.loads(inns(NODE, TCPRIO, "status", "--json", "--pin-dir", PROBE))
    if js.get("interfaces"):
        raise RuntimeError("the probe pin dir's programs are attached: %s" % js["interfaces"])
    at = {}
    for f in js.get("foreign_filters", []):
        at.setdefault(f["name"], []).append((f["hook"], f["mode"]))
    return at


class Toggle:
    """traffic_toggle in the node: switch(v) returns once v runs."""

    def __init__(self):
        self.p = subprocess.Popen(["nsenter", "--net=/run/netns/" + NODE, TOGGLE, PIN,
                                   EMPTY_OBJ, "tbpod0", "tbup0", STEPS_OBJ], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)

    def switch(self, v):
        """Returns the ids of the programs now at [pod edge, uplink] (none
        for "without")."""
        self.p.stdin.write(v + "\n")
        self.p.stdin.flush()
        reply = self.p.stdout.readline().split()
        if reply[:2] != ["ok", v]:
            raise RuntimeError("traffic_toggle: %s" % (" ".join(reply) or "exited"))
        return [int(x) for x in reply[2:]]

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.p.kill()
            self.p.wait()


def check_variant(v):
    """Raise unless the hooks run what variant v says (tcprio status)."""
    at = attached()
    if v == "with":
        ok = (set(at) == {"tbpod0", "tbup0"} and at["tbpod0"][0][0] == "pod_edge"
              and at["tbup0"][0][0] == "uplink")
    else:
        ok = not at   # the empty program is not tcprio's: status lists none
    if not ok:
        raise RuntimeError("tcprio's programs %sattached as expected in variant '%s': %s"
                           % ("not " if v == "with" else "", v, at))


def counters(pid):
    """(seconds, remote eth0 rx bytes, rx packets, busy CPU seconds): the
    remote's counters through /proc/PID/net/dev of a process in its
    network namespace (no fork per reading)."""
    now = time.monotonic()
    rx_b = rx_p = 0
    with open("/proc/%d/net/dev" % pid) as f:
        for line in f:
            if line.strip().startswith("eth0:"):
                fields = line.split(":", 1)[1].split()
                rx_b, rx_p = int(fields[0]), int(fields[1])
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    busy = sum(cpu) - cpu[3] - cpu[4]   # all but idle and iowait
    return now, rx_b, rx_p, busy / os.sysconf("SC_CLK_TCK")


def start_stream(udp, length):
    """iperf3 server in the remote and client in the pod (each pinned to
    its CPU), one stream of length seconds: TCP bulk, or 64-byte UDP
    payloads as fast as the sender goes.  Returns (client, server)."""
    srv = subprocess.Popen(["nsenter", "--net=/run/netns/" + REMOTE, "taskset", "-c",
                            SERVER_CPU, "iperf3", "-s", "-1", "-B", REMOTE_IP],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cmd = ["nsenter", "--net=/run/netns/" + POD, "taskset", "-c", CLIENT_CPU, "iperf3",
           "-c", REMOTE_IP, "-t", "%d" % length]
    if udp:
        cmd += ["-u", "-b", "0", "-l", "64"]
    time.sleep(0.3)
    cli = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)   # past the stream's start
    return cli, srv


def stop(procs):
    for p in procs:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def windows(udp, cycles, variants, toggle, measure_window):
    """One stream for the whole measurement; per cycle, each of variants
    in turn (the order rotates every cycle): switch, wait SETTLE s, then
    measure_window(server, ids) -> (start reading, finish: reading ->
    result) around a WINDOW-s wait.  ids: the programs' ids from
    traffic_toggle.  Returns {variant: [result per cycle]}."""
    n = len(variants)
    cli, srv = start_stream(udp, cycles * n * (WINDOW + SETTLE + 0.2) + 10)
    res = {v: [] for v in variants}
    try:
        for c in range(cycles):
            for v in variants[c % n:] + variants[:c % n]:
                ids = toggle.switch(v)
                time.sleep(SETTLE)
                r0, finish = measure_window(srv, ids)
                time.sleep(WINDOW)
                r1 = finish(r0)
                if cli.poll() is not None:
                    raise RuntimeError("iperf3 client ended early (exit %d)" % cli.returncode)
                res[v].append(r1)
    finally:
        stop((cli, srv))
    return res


def measure(udp, cycles, toggle):
    """Per cycle and variant: rate (bits/s for TCP, packets/s for UDP) and
    CPU ns per packet in its window.  Returns {variant: [(rate, cpu_ns)]
    per cycle}."""
    def window(srv, ids):
        def finish(r0):
            t0, b0, p0, c0 = r0
            t1, b1, p1, c1 = counters(srv.pid)
            rate = ((b1 - b0) * 8 if not udp else (p1 - p0)) / (t1 - t0)
            return rate, (c1 - c0) * 1e9 / max(p1 - p0, 1)
        return counters(srv.pid), finish
    return windows(udp, cycles, VARIANTS, toggle, window)


def prog_runtime(ids):
    """{id: (run_time_ns, run_cnt)} of the programs ids (the kernel's BPF
    run-time statistics, counted while kernel.bpf_stats_enabled is 1)."""
    js = json.loads(sh("bpftool", "prog", "show", "--json"))
    return {p["id"]: (p.get("run_time_ns", 0), p.get("run_cnt", 0)) for p in js
            if p["id"] in ids}


def runtime_windows(cycles, variants, toggle):
    """64-byte UDP windows of variants with the kernel's BPF run-time
    statistics switched on (restored after): {variant: [[ns per run of
    each program traffic_toggle named, pod edge first] per cycle]}."""
    def window(srv, ids):
        def finish(r0):
            r1 = prog_runtime(ids)
            return [(r1[i][0] - r0[i][0]) / max(r1[i][1] - r0[i][1], 1) for i in ids]
        return prog_runtime(ids), finish
    old = sh("sysctl", "-n", "kernel.bpf_stats_enabled").strip()
    sh("sysctl", "-qw", "kernel.bpf_stats_enabled=1")
    try:
        return windows(True, cycles, variants, toggle, window)
    finally:
        sh("sysctl", "-qw", "kernel.bpf_stats_enabled=" + old)


def measure_runtime(cycles, toggle):
    """ns per run of each program on the real path (64-byte UDP), from the
    kernel's BPF run-time statistics, switched on for this phase only
    (they add two clock reads to every run, the empty program's too).
    Returns {"empty": [ns], "pod_edge": [ns], "uplink": [ns]} per cycle."""
    r = runtime_windows(cycles, ("empty", "with"), toggle)
    return {"empty": [x[0] for x in r["empty"]], "pod_edge": [x[0] for x in r["with"]],
            "uplink": [x[1] for x in r["with"]]}


# The pod edge alone, cut after each of its steps (traffic_toggle's step
# variants: bpf/tcprio_steps.bpf.c), in order, with what each adds.
STEP_VARIANTS = (("edge_empty", "empty program"), ("step_config", "config lookup"),
                 ("step_parse", "+ pull check, parse"),
                 ("step_src", "+ source class (endpoint slot)"),
                 ("step_class", "+ class lookup, skb->priority"),
                 ("edge_only", "+ counter, DSCP write = tcprio_pod_edge"))


def measure_runtime_steps(cycles, toggle):
    """ns per run of the pod edge cut after each step (the uplink runs
    nothing), 64-byte UDP, BPF run-time statistics as in measure_runtime.
    Returns {variant: [ns per cycle]}."""
    r = runtime_windows(cycles, tuple(v for v, _ in STEP_VARIANTS), toggle)
    return {v: [x[0] for x in r[v]] for v in r}


def main():
    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else CYCLES
    if not KINDS:
        print("bench_traffic: TRAFFIC_PROTOS=%r names neither tcp nor udp"
              % os.environ.get("TRAFFIC_PROTOS"), file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("bench_traffic: needs root (netns, bpf, tc)", file=sys.stderr)
        return 2
    for b in (TCPRIO, LOADER, TOGGLE, EMPTY_OBJ, STEPS_OBJ):
        if not os.path.exists(b):
            print("bench_traffic: %s not built (make)" % b, file=sys.stderr)
            return 2
    if not shutil.which("iperf3"):
        print("bench_traffic: iperf3 is not installed (scripts/install-deps.sh)", file=sys.stderr)
        return 2
    setup()
    toggle = Toggle()
    try:
        for v in VARIANTS:   # each variant attaches as it should
            toggle.switch(v)
            check_variant(v)
        t0 = time.monotonic()
        res = {}
        for kind, udp in KINDS:
            r = measure(udp, cycles, toggle)
            res[kind] = {v: [x[0] for x in r[v]] for v in VARIANTS}
            res[kind + "_cpu"] = {v: [x[1] for x in r[v]] for v in VARIANTS}
            print("  %s: %d cycles of %d windows done, %.0f s" % (kind.upper(), cycles,
                  len(VARIANTS), time.monotonic() - t0), file=sys.stderr, flush=True)
        runtime = measure_runtime(RUNTIME_CYCLES, toggle) if RUNTIME_CYCLES else None
        steps = measure_runtime_steps(RUNTIME_CYCLES, toggle) if RUNTIME_CYCLES else None
        toggle.switch("with")   # still attached as it should, after all the switching
        check_variant("with")
    finally:
        toggle.close()
    report(res, cycles)
    if runtime:
        report_runtime(runtime)
        report_runtime_steps(steps)
    return 0


def report(res, cycles):
    kinds = [k for k in ("tcp", "udp") if k in res]
    keys = [k for kind in kinds for k in (kind, kind + "_cpu")]
    names = {"tcp": "TCP", "udp": "UDP"}

    def per_cycle(k, a, b):
        return [x / y for x, y in zip(res[k][a], res[k][b])]

    ratio = {k: statistics.median(per_cycle(k, "with", "without")) for k in keys}
    ratio_e = {k: statistics.median(per_cycle(k, "empty", "without")) for k in keys}
    ratio_we = {k: statistics.median(per_cycle(k, "with", "empty")) for k in keys}
    med = {k: {v: statistics.median(res[k][v]) for v in VARIANTS} for k in keys}
    req = {"tcp": REQ_TCP, "udp": REQ_UDP}
    what = {"tcp": "TCP bulk throughput", "udp": "64-byte UDP packets/s"}
    for k in kinds:
        print("VERDICT real traffic, %s with/without the programs: %.4f (%s, required >= %.2f)"
              % (what[k], ratio[k], "MEETS" if ratio[k] >= req[k] else "FAILS", req[k]))
    for k in kinds:
        r = sorted(per_cycle(k, "with", "without"))
        q = statistics.quantiles(r, n=4) if len(r) > 1 else [r[0]] * 3
        print("SPREAD real traffic, %s with/without per cycle (%d cycles): min %.3f, quartiles %.3f %.3f %.3f, max %.3f"
              % ({"tcp": "TCP", "udp": "64-byte UDP"}[k], len(r), r[0], q[0], q[1], q[2], r[-1]))
    print("FLOOR real traffic, the empty program at both hooks (what any TC program costs a packet here): "
          "%s of without; tcprio / empty: %s"
          % (", ".join("%s %.3f" % (names[k], ratio_e[k]) for k in kinds),
             ", ".join("%s %.3f" % (names[k], ratio_we[k]) for k in kinds)))
    print("\nReal traffic through a node in network namespaces (pod -> pod edge -> forwarding -> uplink -> remote; "
          "pod edge rewrites DSCP on every packet; programs attached as tcx links; without: no program at "
          "either hook), one stream per protocol, %d cycles of %.1f-s windows (one per variant, switched "
          "%.2f s before), medians; empty: the empty program at both hooks, attached alike"
          % (cycles, WINDOW, SETTLE))
    print("  %-44s %12s %12s %12s %12s %12s %12s" % ("", "without", "empty", "with", "empty/without",
                                                      "with/empty", "with/without"))
    rows = [row for row in (("TCP bulk, one stream (Gbit/s)", "tcp", 1e-9),
                            ("  CPU time per packet received (ns)", "tcp_cpu", 1),
                            ("UDP, 64-byte payloads (packets/s received)", "udp", 1),
                            ("  CPU time per packet received (ns)", "udp_cpu", 1))
            if row[1] in keys]
    for name, k, scale in rows:
        print("  %-44s %12.2f %12.2f %12.2f %12.3f %12.3f %12.3f"
              % (name, med[k]["without"] * scale, med[k]["empty"] * scale,
                 med[k]["with"] * scale, ratio_e[k], ratio_we[k], ratio[k]))
    print("\n| real traffic (medians of %d cycles of %.1f-s windows) | without | empty programs | with tcprio "
          "| empty / without | with / empty | with / without | required |" % (cycles, WINDOW))
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, k, scale in rows:
        print("| %s | %.2f | %.2f | %.2f | %.3f | %.3f | %.3f | %s |"
              % (name.strip(), med[k]["without"] * scale, med[k]["empty"] * scale,
                 med[k]["with"] * scale, ratio_e[k], ratio_we[k], ratio[k],
                 ">= %.2f" % req[k] if k in req else ""))


def report_runtime_steps(rs):
    """The steps' table: ns per run (median) and what each step adds (the
    median of per-cycle differences from the step before)."""
    n = len(rs["edge_empty"])
    print("\nWhere the pod edge's time goes on the real path (64-byte UDP, the pod edge alone, "
          "kernel.bpf_stats_enabled, %d cycles of %.1f-s windows; ns per run, medians; added: "
          "median of per-cycle differences from the step before)" % (n, WINDOW))
    print("\n| step | ns per run | added ns |")
    print("|---|---:|---:|")
    prev = None
    for v, name in STEP_VARIANTS:
        added = ("+%.0f" % statistics.median(a - b for a, b in zip(rs[v], rs[prev]))
                 if prev else "")
        print("| %s | %.0f | %s |" % (name, statistics.median(rs[v]), added))
        prev = v


def report_runtime(rt):
    """RUNTIME lines: what each program costs a packet on the real path,
    by the kernel's own accounting."""
    med = {k: statistics.median(v) for k, v in rt.items()}
    n = len(rt["empty"])
    print("RUNTIME real traffic, 64-byte UDP, ns per program run (kernel.bpf_stats_enabled, "
          "a separate phase of %d cycles of %.1f-s windows; medians; the statistics add their "
          "own clock reads to every run): empty program %.0f; tcprio_pod_edge %.0f (+%.0f, "
          "its DSCP write included); tcprio_uplink %.0f (+%.0f)"
          % (n, WINDOW, med["empty"], med["pod_edge"], med["pod_edge"] - med["empty"],
             med["uplink"], med["uplink"] - med["empty"]))


def cleanup():
    for ns in (POD, NODE, REMOTE):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    subprocess.run(["rm", "-rf", PIN, PROBE], capture_output=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(1))
    rc = 1
    try:
        rc = main()
    finally:
        cleanup()
    sys.exit(rc)
