#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_site_traffic.py - real TCP traffic through an uplink with the LAN/WAN
tree, judged by the HTB counters and by the frames that reach the far side:

    node netns  tpstn  `tcprio agent --no-kube --uplink tpstu0 --uplink-rate 1gbit`
        |              with localCIDRs [198.18.61.0/24]: TCP senders (local sockets, TSO)
        | veth tpstu0 / tpstr0   198.18.60.1 / 198.18.60.2
    remote netns tpstr 198.18.61.2 (a LAN destination), 198.18.62.2 (WAN);
                       TCP sinks; an AF_PACKET sniffer on tpstr0

- the LAN flow goes through the LAN leaf 1:fffe, the WAN flow through the
  default class's leaf under the WAN branch 1:fffd (HTB byte counters);
- the WAN flow reaches the far side as frames of at most 1514 bytes (the
  tbf under the WAN leaf split the GSO packets) while the LAN flow still
  arrives as GSO packets larger than a frame (the LAN keeps GSO);
- tcprio status splits the uplink counters into LAN and WAN;
- when the uplink's MTU grows (4000) the agent rebuilds the tree at its next
  re-check, and a 3000-byte UDP datagram (no GSO, DF) to the WAN reaches
  the far side instead of being dropped by a tbf built for 1500.
Needs root; everything it creates has the prefix tpst and goes at the end.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

tap = tl.Tap()
NS_N, NS_R = "tpstn", "tpstr"
LAN_IP, WAN_IP = "198.18.61.2", "198.18.62.2"
BYTES = 20 * 1000 * 1000
TABLE = """classes:
  - {name: critical, dscp: EF, priority: "1:10"}
  - {name: normal, dscp: DF, priority: "1:30"}
defaultClass: normal
localCIDRs: [198.18.61.0/24]
"""
SNIFF = r"""
import socket, sys, time, json
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind(("tpstr0", 0))
s.settimeout(0.2)
mx, n = {}, {}
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    try:
        f = s.recv(70000)
    except socket.timeout:
        continue
    if len(f) < 34 or f[23] != 6:
        continue
    dst = socket.inet_ntoa(f[30:34])
    mx[dst] = max(mx.get(dst, 0), len(f))
    n[dst] = n.get(dst, 0) + 1
print(json.dumps({"max": mx, "n": n}), flush=True)
"""
SINK = r"""
import socket, sys, threading
def serve(ip):
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((ip, 5201)); l.listen(4)
    while True:
        c, _ = l.accept()
        threading.Thread(target=lambda c=c: [None for _ in iter(lambda: c.recv(1 << 16), b"")], daemon=True).start()
for ip in sys.argv[1:]:
    threading.Thread(target=serve, args=(ip,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait(60)
"""
UDP_RECV = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5202)); s.settimeout(3)
print("ready", flush=True)
for _ in range(5):
    try:
        print(len(s.recv(65535)), flush=True)
    except socket.timeout:
        break
"""
UDP_SEND = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 2)   # IP_MTU_DISCOVER = IP_PMTUDISC_DO: no fragments
for _ in range(5):
    s.sendto(b"u" * 3000, (sys.argv[1], 5202)); time.sleep(0.05)
"""
SEND = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], 5201), timeout=20)
buf = b"x" * (1 << 16); left = int(sys.argv[2])
while left > 0:
    s.sendall(buf[:min(left, len(buf))]); left -= min(left, len(buf))
s.shutdown(socket.SHUT_WR); s.close()
"""


def nsx(ns):
    return ["nsenter", "--net=/run/netns/" + ns]


def sh(ns, *cmd, check=True):
    return subprocess.run(nsx(ns) + list(cmd), check=check, capture_output=True, text=True)


def classes():
    text = sh(NS_N, "tc", "-s", "class", "show", "dev", "tpstu0").stdout
    out = {}
    for block in text.split("class htb ")[1:]:
        m = re.search(r"Sent (\d+) bytes (\d+) pkt", block)
        out[block.split()[0]] = int(m.group(1)) if m else 0
    return out


def main():
    if os.geteuid() != 0:
        return tap.skip_all("needs root (netns, bpf, tc)")
    tap.plan(8)
    tl.ensure_bpffs()
    pin = tl.pin_dir_for("sitetraffic")
    tmp = tempfile.mkdtemp(prefix="tcprio-sitetraffic-")
    procs = []
    try:
        for ns in (NS_N, NS_R):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
            subprocess.run(["ip", "netns", "add", ns], check=True)
        sh(NS_N, "ip", "link", "add", "tpstu0", "type", "veth", "peer", "name", "tpstr0",
           "netns", "/run/netns/" + NS_R)
        sh(NS_N, "ip", "addr", "add", "198.18.60.1/24", "dev", "tpstu0")
        sh(NS_R, "ip", "addr", "add", "198.18.60.2/24", "dev", "tpstr0")
        for ns, dev in ((NS_N, "tpstu0"), (NS_R, "tpstr0")):
            sh(ns, "ip", "link", "set", dev, "up")
            sh(ns, "ip", "link", "set", "lo", "up")
        for ip in (LAN_IP, WAN_IP):
            sh(NS_R, "ip", "addr", "add", ip + "/32", "dev", "tpstr0")
            sh(NS_N, "ip", "route", "add", ip, "via", "198.18.60.2")
        cfg = os.path.join(tmp, "classes.yaml")
        with open(cfg, "w") as f:
            f.write(TABLE)
        log = open(os.path.join(tmp, "agent.log"), "w")
        procs.append(subprocess.Popen(nsx(NS_N) + [tl.TCPRIO, "agent", "--no-kube", "--pin-dir", pin,
                                                   "--config", cfg, "--uplink", "tpstu0",
                                                   "--uplink-rate", "1gbit", "--metrics-address", "off",
                                                   "--pod-ifaces", "tpstnomatch*",
                                                   "--recheck-interval", "1"],
                                      stdout=log, stderr=log, preexec_fn=tl.die_with_parent))
        ok = tl.wait_for(lambda: "1:fffe" in classes() and "1:30" in classes(), 10, 0.05)
        tap.ok(ok, "agent installs the LAN/WAN tree on the uplink", classes())
        sink = subprocess.Popen(nsx(NS_R) + ["/usr/bin/python3", "-c", SINK, LAN_IP, WAN_IP],
                                stdout=subprocess.PIPE, text=True, preexec_fn=tl.die_with_parent)
        procs.append(sink)
        sink.stdout.readline()
        sniff = subprocess.Popen(nsx(NS_R) + ["/usr/bin/python3", "-c", SNIFF, "6"],
                                 stdout=subprocess.PIPE, text=True, preexec_fn=tl.die_with_parent)
        procs.append(sniff)
        time.sleep(0.5)
        before = classes()
        for ip in (LAN_IP, WAN_IP):
            sh(NS_N, "timeout", "20", "/usr/bin/python3", "-c", SEND, ip, str(BYTES))
        # the sender returns once its data is in the socket buffer: wait
        # (bounded) until both leaves have carried it
        tl.wait_for(lambda: all(classes().get(c, 0) - before.get(c, 0) >= BYTES
                                for c in ("1:fffe", "1:30")), 10, 0.1)
        after = classes()
        lan = after.get("1:fffe", 0) - before.get("1:fffe", 0)
        wan = after.get("1:30", 0) - before.get("1:30", 0)
        tap.ok(lan >= BYTES and lan < 1.2 * BYTES, "LAN flow through the LAN leaf 1:fffe "
               "(%d bytes for %d sent)" % (lan, BYTES))
        tap.ok(wan >= BYTES and wan < 1.2 * BYTES, "WAN flow through the default class's "
               "WAN leaf 1:30 (%d bytes)" % wan)
        try:
            seen = json.loads(sniff.communicate(timeout=15)[0])
        except (subprocess.TimeoutExpired, ValueError):
            seen = {"max": {}, "n": {}}
        mx = seen["max"]
        tap.ok(0 < mx.get(WAN_IP, 0) <= 1514, "WAN frames reach the far side at most 1514 bytes: "
               "GSO split before the shaper (largest %s, %s frames)" % (mx.get(WAN_IP), seen["n"].get(WAN_IP)))
        tap.ok(mx.get(LAN_IP, 0) > 1514, "the LAN keeps GSO: packets larger than a frame "
               "arrive (largest %s)" % mx.get(LAN_IP))
        st = json.loads(sh(NS_N, tl.TCPRIO, "status", "--json", "--pin-dir", pin).stdout)
        sc = st.get("site", {}).get("scope_totals", {})
        tap.ok(sc.get("lan", {}).get("bytes", 0) >= BYTES and sc.get("wan", {}).get("bytes", 0) >= BYTES,
               "tcprio status: uplink counters split LAN / WAN", sc)

        sh(NS_R, "ip", "link", "set", "tpstr0", "mtu", "4000")
        sh(NS_N, "ip", "link", "set", "tpstu0", "mtu", "4000")
        rebuilt = tl.wait_for(lambda: "MTU 1500 -> 4000" in open(log.name).read(), 10, 0.1)
        tap.ok(rebuilt, "MTU 1500 -> 4000: the agent rebuilds the tree at its re-check",
               open(log.name).read()[-600:])
        recv = subprocess.Popen(nsx(NS_R) + ["/usr/bin/python3", "-c", UDP_RECV, WAN_IP],
                                stdout=subprocess.PIPE, text=True, preexec_fn=tl.die_with_parent)
        procs.append(recv)
        recv.stdout.readline()
        sh(NS_N, "timeout", "10", "/usr/bin/python3", "-c", UDP_SEND, WAN_IP)
        try:
            got = recv.communicate(timeout=10)[0].split()
        except subprocess.TimeoutExpired:
            got = []
        tap.ok(got == ["3000"] * 5, "5 UDP datagrams of 3000 bytes (frames of 3042, DF) reach "
               "the WAN side through the rebuilt tbf", got)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if os.path.exists(pin):
            subprocess.run(nsx(NS_N) + [tl.TCPRIO, "detach", "--pin-dir", pin],
                           capture_output=True)
            shutil.rmtree(pin, ignore_errors=True)
        for ns in (NS_N, NS_R):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
