#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""bench_traffic.py - what tcprio's programs cost real packets: a node in
network namespaces, with and without the programs attached, in one run.

Topology (names end in this process's pid, so nothing else collides):
  tbp-<pid>  the pod: eth0 198.18.50.2/24, default route via the node
  tbn-<pid>  the node: tbpod0 198.18.50.1 (pod edge at its TC ingress),
             tbup0 198.18.51.1/24 (uplink program at its TC egress),
             forwarding on, no shaping (veths without a qdisc)
  tbr-<pid>  the remote: eth0 198.18.51.2/24, runs the iperf3 servers
With the programs: build/tests/node/node_load loads and attaches them
(pins in /sys/fs/bpf/tcprio-bench-traffic-<pid>) and the pod is an
endpoint of class critical (DSCP 46), so the pod edge rewrites the DSCP of
every packet (the pod sends DSCP 0) and both programs classify and count
it.  They attach the way the agent does (node_load -m $TRAFFIC_ATTACH,
default auto: tcx links where the kernel has tcx, else clsact filters).
Without: `tcprio detach` removes the links / filters and the pins, and the
clsact qdiscs are deleted, so the hooks run no program at all.  Each round
checks with `tcprio status --json` that the programs are (not) attached.
Empty: the empty program (bpf/tcprio_empty.bpf.c, returns TC_ACT_UNSPEC)
at both hooks, attached the same way (build/tests/cni/cni_attach): what
any TC program costs a packet here, so that with / empty is what tcprio's
own work costs.  Reported for information; the verdicts are with / without.

Rounds alternate the three (the order rotates every round), each round: TCP
bulk throughput (iperf3, one stream, TIME seconds) and small UDP packets
(iperf3 -u -b 0 -l 64: 64-byte payloads as fast as the sender goes,
delivered packets per second).  The client is pinned to one CPU, the
server to the other.  Reported: medians, and the median of the per-round
ratios with/without.  CPU time per packet: the user + system CPU time of
the iperf3 client and server processes (iperf3's own accounting; the
forwarding through both veths and programs runs in softirq on the
sender's CPU and is charged to it), divided by the packets delivered.

Prints VERDICT lines first, then a table and a markdown table.
Usage: bench_traffic.py [ROUNDS] (default 15: each of the three variants five
times in each position; a 3-s UDP test's packet rate varies by up to 10 %
from one test to the next on the 2-core development VM, so fewer rounds
leave the median of the per-round ratios a few % off).  Needs root, iperf3.
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
CNI_ATTACH = os.path.join(ROOT, BUILD, "tests", "cni", "cni_attach")
EMPTY_OBJ = os.path.join(ROOT, BUILD, "tcprio_empty.bpf.o")
PID = os.getpid()
POD, NODE, REMOTE = "tbp-%d" % PID, "tbn-%d" % PID, "tbr-%d" % PID
PIN = "/sys/fs/bpf/tcprio-bench-traffic-%d" % PID
PROBE = PIN + "-probe"   # loaded, never attached: for `tcprio status` only
EMPTY_PIN = PIN + "-empty"  # the empty program's tcx links
POD_IP, REMOTE_IP = "198.18.50.2", "198.18.51.2"
ROUNDS = 15                   # rounds unless argv[1] says (see above)
TIME = 3                      # seconds per iperf3 test
SETTLE = 0.5                  # seconds between attaching and the first test
REQ_TCP, REQ_UDP = 0.97, 0.95  # required ratios with / without
NCPU = os.cpu_count() or 1
CLIENT_CPU, SERVER_CPU = "0", str(1 % NCPU)
ATTACH = os.environ.get("TRAFFIC_ATTACH", "auto")   # node_load -m: auto|tcx|tc


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


def attach():
    inns(NODE, LOADER, PIN, "-m", ATTACH, "-p", "tbpod0", "-u", "tbup0")
    sh(TCPRIO, "endpoint", "add", POD_IP, "--class", "critical", "--pin-dir", PIN)


def attach_empty(mode):
    """The empty program at both hooks, as tcx links (pinned under
    EMPTY_PIN) or clsact filters at pref 1 (mode: "tcx" or "tc")."""
    os.makedirs(EMPTY_PIN, exist_ok=True)
    for dev, hook in (("tbpod0", "ingress"), ("tbup0", "egress")):
        where = os.path.join(EMPTY_PIN, dev) if mode == "tcx" else "1"
        inns(NODE, CNI_ATTACH, EMPTY_OBJ, "tcprio_empty", mode, dev, hook, where)


def detach():
    if os.path.exists(PIN):
        inns(NODE, TCPRIO, "detach", "--keep-qdisc", "--pin-dir", PIN)
    shutil.rmtree(EMPTY_PIN, ignore_errors=True)   # unpinned tcx links go
    for dev in ("tbpod0", "tbup0"):
        inns(NODE, "tc", "qdisc", "del", "dev", dev, "clsact", check=False)


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


def iperf(udp):
    """One iperf3 test pod -> remote; returns (value, packets, cpu_s):
    TCP: bits/s received; UDP: packets/s delivered."""
    srv = subprocess.Popen(["nsenter", "--net=/run/netns/" + REMOTE, "taskset", "-c",
                            SERVER_CPU, "iperf3", "-s", "-1", "-B", REMOTE_IP],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.2)
        cmd = ["taskset", "-c", CLIENT_CPU, "iperf3", "-c", REMOTE_IP, "-t", str(TIME), "-J"]
        if udp:
            cmd += ["-u", "-b", "0", "-l", "64"]
        out = json.loads(inns(POD, *cmd))
    finally:
        try:
            srv.wait(10)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
    end = out["end"]
    cpu = end["cpu_utilization_percent"]
    if udp:
        s = end["sum"]
        pkts = s["packets"] - s["lost_packets"]
        secs = s["seconds"]
        val = pkts / secs
    else:
        s = end["sum_received"]
        secs = s["seconds"]
        val = s["bits_per_second"]
        pkts = None
    cpu_s = (cpu["host_total"] + cpu["remote_total"]) / 100.0 * secs
    return val, pkts, cpu_s


def tcp_segments(before, after):
    """Packets the remote's eth0 received between two readings."""
    return after - before


def rx_packets():
    out = inns(REMOTE, "cat", "/proc/net/dev")
    for line in out.splitlines():
        if line.strip().startswith("eth0:"):
            return int(line.split(":", 1)[1].split()[1])
    return 0


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS
    if os.geteuid() != 0:
        print("bench_traffic: needs root (netns, bpf, tc)", file=sys.stderr)
        return 2
    for b in (TCPRIO, LOADER, CNI_ATTACH, EMPTY_OBJ):
        if not os.path.exists(b):
            print("bench_traffic: %s not built (make)" % b, file=sys.stderr)
            return 2
    if not shutil.which("iperf3"):
        print("bench_traffic: iperf3 is not installed (scripts/install-deps.sh)", file=sys.stderr)
        return 2
    setup()
    variants = ("without", "empty", "with")
    res = {v: {"tcp": [], "udp": [], "tcp_cpu": [], "udp_cpu": []} for v in variants}
    t0 = time.monotonic()
    modes = set()
    # tcprio's attach mode first, so that the empty program is attached alike
    attach()
    mode = attached()["tbpod0"][0][1]
    for r in range(rounds):
        order = variants[r % 3:] + variants[:r % 3]
        for v in order:
            detach()
            if v == "with":
                attach()
            elif v == "empty":
                attach_empty(mode)
            at = attached()
            ok = (set(at) == {"tbpod0", "tbup0"} and at["tbpod0"][0][0] == "pod_edge"
                  and at["tbup0"][0][0] == "uplink") if v == "with" else not at
            if not ok:
                raise RuntimeError("tcprio's programs %sattached as expected in the '%s' round: %s"
                                   % ("not " if v == "with" else "", v, at))
            if v == "with":
                modes.add(at["tbpod0"][0][1])
            time.sleep(SETTLE)   # the same pause after every variant's attach
            rx0 = rx_packets()
            bps, _, cpu_s = iperf(False)
            pk = tcp_segments(rx0, rx_packets())
            res[v]["tcp"].append(bps)
            res[v]["tcp_cpu"].append(cpu_s / max(pk, 1) * 1e9)
            pps, pkts, cpu_s = iperf(True)
            res[v]["udp"].append(pps)
            res[v]["udp_cpu"].append(cpu_s / max(pkts, 1) * 1e9)
        print("  round %d of %d done, %.0f s" % (r + 1, rounds, time.monotonic() - t0),
              file=sys.stderr, flush=True)
    keys = ("tcp", "udp", "tcp_cpu", "udp_cpu")

    def per_round(a, b):
        """Per round, variant a's figure / variant b's, for every key."""
        return {k: [x / y for x, y in zip(res[a][k], res[b][k])] for k in keys}

    rounds_wo = per_round("with", "without")
    ratio = {k: statistics.median(r) for k, r in rounds_wo.items()}
    ratio_e = {k: statistics.median(r) for k, r in per_round("empty", "without").items()}
    ratio_we = {k: statistics.median(r) for k, r in per_round("with", "empty").items()}
    med = {v: {k: statistics.median(x) for k, x in res[v].items()} for v in res}
    print("VERDICT real traffic, TCP bulk throughput with/without the programs: %.4f (%s, required >= %.2f)"
          % (ratio["tcp"], "MEETS" if ratio["tcp"] >= REQ_TCP else "FAILS", REQ_TCP))
    print("VERDICT real traffic, 64-byte UDP packets/s with/without the programs: %.4f (%s, required >= %.2f)"
          % (ratio["udp"], "MEETS" if ratio["udp"] >= REQ_UDP else "FAILS", REQ_UDP))
    udp_r = sorted(rounds_wo["udp"])
    q = statistics.quantiles(udp_r, n=4) if len(udp_r) > 1 else [udp_r[0]] * 3
    print("SPREAD real traffic, 64-byte UDP with/without per round (%d rounds): min %.3f, quartiles %.3f %.3f %.3f, max %.3f"
          % (len(udp_r), udp_r[0], q[0], q[1], q[2], udp_r[-1]))
    print("FLOOR real traffic, the empty program at both hooks (what any TC program costs a packet here): "
          "TCP %.3f, UDP %.3f of without; tcprio / empty: TCP %.3f, UDP %.3f"
          % (ratio_e["tcp"], ratio_e["udp"], ratio_we["tcp"], ratio_we["udp"]))
    print("\nReal traffic through a node in network namespaces (pod -> pod edge -> forwarding -> uplink -> remote; "
          "pod edge rewrites DSCP on every packet; programs attached as %s; without: no program at either hook), "
          "%d alternating rounds of %d s per test, medians; empty: the empty program at both hooks, "
          "attached alike"
          % ("/".join(sorted(modes)) + (" links" if modes == {"tcx"} else ""), rounds, TIME))
    print("  %-44s %12s %12s %12s %12s %12s %12s" % ("", "without", "empty", "with", "empty/without",
                                                      "with/empty", "with/without"))
    rows = [("TCP bulk, one stream (Gbit/s)", "tcp", 1e-9),
            ("  CPU time per skb received (ns; GSO skbs of up to 64 KB)", "tcp_cpu", 1),
            ("UDP, 64-byte payloads (packets/s delivered)", "udp", 1),
            ("  CPU time per packet delivered (ns)", "udp_cpu", 1)]
    for name, k, scale in rows:
        print("  %-44s %12.2f %12.2f %12.2f %12.3f %12.3f %12.3f"
              % (name, med["without"][k] * scale, med["empty"][k] * scale,
                 med["with"][k] * scale, ratio_e[k], ratio_we[k], ratio[k]))
    print("\n| real traffic (medians of %d alternating rounds) | without | empty programs | with tcprio "
          "| empty / without | with / empty | with / without | required |" % rounds)
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    req = {"tcp": ">= %.2f" % REQ_TCP, "udp": ">= %.2f" % REQ_UDP}
    for name, k, scale in rows:
        print("| %s | %.2f | %.2f | %.2f | %.3f | %.3f | %.3f | %s |"
              % (name.strip(), med["without"][k] * scale, med["empty"][k] * scale,
                 med["with"][k] * scale, ratio_e[k], ratio_we[k], ratio[k], req.get(k, "")))
    return 0


def cleanup():
    for ns in (POD, NODE, REMOTE):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    subprocess.run(["rm", "-rf", PIN, PROBE, EMPTY_PIN], capture_output=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(1))
    rc = 1
    try:
        rc = main()
    finally:
        cleanup()
    sys.exit(rc)
