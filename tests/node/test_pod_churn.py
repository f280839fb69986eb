#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_pod_churn.py - the pod-edge counters survive pod churn.

A node in a network namespace of this test's own (tptchurn-<pid>), the
datapath loaded and pinned by build/tests/node/node_load in
/sys/fs/bpf/tcprio-test-churn-<pid>.  Pods come and go in batches: each
batch is a pod namespace holding the pod ends of BATCH veth pairs; the host
ends get the pod-edge program (tc, pinned prog_pod_edge), each pod sends
one UDP packet from an endpoint of class bulk, and the batch's namespace
is deleted (which deletes its veths in one go, as a node deleting pods
does).  More interfaces pass than the 4,096 (ifindex, hook, class) keys the
counters once had, every packet must be counted (per batch), and the last
pod's packets must be counted in its class exactly.  Bounded: each wait is
a few seconds, the whole test under a minute here.  TAP output.

Commands run with `nsenter --net` (not `ip netns exec`, which remounts /sys
and would hide the bpffs pins).
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

BATCHES = int(os.environ.get("TCPRIO_CHURN_BATCHES", "10"))
BATCH = 500                      # 5,000 pod interfaces > 4,096
LAST_PACKETS = 25
BULK_IP, LAST_IP, DST_IP = "198.18.7.1", "198.18.7.2", "198.19.7.1"
PID = os.getpid()
NS = "tptchurn-%d" % PID
PIN = "/sys/fs/bpf/tcprio-test-churn-%d" % PID
LOADER = os.path.join(tl.ROOT, "build", "tests", "node", "node_load")
DEADLINE = time.monotonic() + 240  # hard bound for the whole test

tap = tl.Tap()
pod_namespaces = []

# Sent inside a pod namespace: one UDP frame from SRC on each interface
# p<i> (argv: SRC DST COUNT-PER-IF IFNAME...).  AF_PACKET, so no address or
# route is needed in the pod namespace; the host end's TC ingress sees it.
SENDER = r'''
import socket, struct, sys
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
src, dst, n = socket.inet_aton(sys.argv[1]), socket.inet_aton(sys.argv[2]), int(sys.argv[3])
payload = b"x" * 32
udp = struct.pack("!HHHH", 40000, 9, 8 + len(payload), 0) + payload
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst)
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + udp
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)   # one socket: closing
for name in sys.argv[4:]:                              # one waits for RCU
    for _ in range(n):
        s.sendto(frame, (name, 0))
'''


def sh(*cmd, stdin=None):
    r = subprocess.run(list(cmd), input=stdin, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r.stdout


def innode(*cmd, stdin=None):
    return sh("nsenter", "--net=/run/netns/" + NS, *cmd, stdin=stdin)


def class_packets(hook, cls):
    for c in tl.status(PIN)["class_totals"]:
        if c["hook"] == hook and c["class"] == cls:
            return c["packets"]
    return 0


def wait_count(hook, cls, want, timeout=5.0):
    """Poll until the class counter reaches want; returns the last value."""
    end = min(time.monotonic() + timeout, DEADLINE)
    while True:
        got = class_packets(hook, cls)
        if got >= want or time.monotonic() > end:
            return got
        time.sleep(0.02)


def make_pods(batch, n, first_index):
    """Pod namespace `batch` with n veth pairs: host ends tpc<k> in the node
    (pod edge attached), pod ends p<i> in the pod namespace, all up."""
    podns = "tptchurnp-%d-%d" % (PID, batch)
    sh("ip", "netns", "add", podns)
    pod_namespaces.append(podns)
    hosts = ["tpc%d" % (first_index + i) for i in range(n)]
    innode("ip", "-batch", "-", stdin="".join(
        "link add %s type veth peer name p%d netns %s\nlink set %s up\n" % (h, i, podns, h)
        for i, h in enumerate(hosts)))
    sh("nsenter", "--net=/run/netns/" + podns, "ip", "-batch", "-",
       stdin="".join("link set p%d up\n" % i for i in range(n)))
    innode("tc", "-batch", "-", stdin="".join(
        "qdisc add dev %s clsact\nfilter add dev %s ingress bpf direct-action pinned %s/prog_pod_edge\n"
        % (h, h, PIN) for h in hosts))
    return podns


def send(podns, src, n, count_per_if=1):
    sh("nsenter", "--net=/run/netns/" + podns, sys.executable, "-c", SENDER, src, DST_IP,
       str(count_per_if), *["p%d" % i for i in range(n)])


def drop_pods(podns):
    sh("ip", "netns", "del", podns)
    pod_namespaces.remove(podns)


def main():
    if os.geteuid() != 0:
        return tap.skip_all("needs root (netns, bpf, tc)")
    tap.plan(6)
    for b in (tl.TCPRIO, LOADER):
        if not os.path.exists(b):
            raise RuntimeError("%s not built (make)" % b)
    tl.ensure_bpffs()
    sh("ip", "netns", "add", NS)
    innode(LOADER, PIN)
    sh(tl.TCPRIO, "endpoint", "add", BULK_IP, "--class", "bulk", "--pin-dir", PIN)
    sh(tl.TCPRIO, "endpoint", "add", LAST_IP, "--class", "critical", "--pin-dir", PIN)
    tap.ok(class_packets("pod_edge", "bulk") == 0, "datapath loaded, counters start at 0")

    t0 = time.monotonic()
    sent, bad, ifindex_max = 0, [], 0
    for b in range(BATCHES):
        t1 = time.monotonic()
        podns = make_pods(b, BATCH, b * BATCH)
        t2 = time.monotonic()
        ifindex_max = max(ifindex_max, int(innode("ip", "-o", "link", "show", "tpc%d"
                                                  % (b * BATCH + BATCH - 1)).split(":")[0]))
        send(podns, BULK_IP, BATCH)
        sent += BATCH
        t3 = time.monotonic()
        got = wait_count("pod_edge", "bulk", sent)
        t4 = time.monotonic()
        if got != sent:
            bad.append("batch %d: %d of %d packets counted" % (b, got, sent))
        drop_pods(podns)
        if b < 2:
            tap.diag("batch %d: pods %.2f s, send %.2f s, count %.2f s, drop %.2f s"
                     % (b, t2 - t1, t3 - t2, t4 - t3, time.monotonic() - t4))
        if time.monotonic() > DEADLINE:
            bad.append("time bound reached after batch %d" % b)
            break
    tap.ok(not bad and sent == BATCHES * BATCH,
           "%d pod interfaces (ifindex up to %d, more than 4,096 per-interface keys), "
           "each sending one packet: every packet counted (%.1f s)"
           % (sent, ifindex_max, time.monotonic() - t0), "\n".join(bad))
    tap.ok(" tpc" not in innode("ip", "-o", "link", "show"),
           "the churned pods' interfaces are gone")

    podns = make_pods(BATCHES, 1, BATCHES * BATCH)
    send(podns, LAST_IP, 1, LAST_PACKETS)
    got = wait_count("pod_edge", "critical", LAST_PACKETS)
    time.sleep(0.1)                       # nothing more may arrive
    got = class_packets("pod_edge", "critical")
    tap.eq(got, LAST_PACKETS, "the last pod's %d packets are counted in its class" % LAST_PACKETS)
    tap.eq(class_packets("pod_edge", "bulk"), sent, "the churned pods' count is unchanged")
    st = tl.status(PIN)
    tap.ok("counters" not in st and all(set(c) == {"hook", "class", "packets", "bytes"}
                                        for c in st["class_totals"]),
           "status counters are per hook and class, with no interface", repr(st)[:400])
    drop_pods(podns)
    return tap.done()


def cleanup():
    for p in list(pod_namespaces):
        subprocess.run(["ip", "netns", "del", p], capture_output=True)
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    subprocess.run(["rm", "-rf", PIN], capture_output=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # cleanup runs
    signal.signal(signal.SIGINT, lambda *_: sys.exit(1))
    rc = 1
    try:
        rc = main()
    except Exception as e:  # a failure in set-up is a failed test, not a crash
        tap.ok(False, "pod churn ran", repr(e))
        rc = tap.done()
    finally:
        cleanup()
    sys.exit(rc)
