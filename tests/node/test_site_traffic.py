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
import subprocess
import sys
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



def classes(rig):
    """{classid: bytes sent} of the HTB classes on the uplink."""
    return {c: v[0] for c, v in rig.htb_classes(NS_N, "tpstu0").items()}


def main():
    if os.geteuid() != 0:
        return tap.skip_all("needs root (netns, bpf, tc)")
    tap.plan(8)
    tl.ensure_bpffs()
    rig = tl.NetnsRig("sitetraffic", (NS_N, NS_R), NS_N)
    sh = rig.sh
    try:
        rig.add()
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
        cfg = rig.write("classes.yaml", TABLE)
        log = open(os.path.join(rig.tmp, "agent.log"), "w")
        rig.agent(["--no-kube", "--config", cfg, "--uplink", "tpstu0", "--uplink-rate", "1gbit",
                   "--metrics-address", "off", "--pod-ifaces", "tpstnomatch*",
                   "--recheck-interval", "1"], log)
        ok = tl.wait_for(lambda: "1:fffe" in classes(rig) and "1:30" in classes(rig), 10, 0.05)
        tap.ok(ok, "agent installs the LAN/WAN tree on the uplink", classes(rig))
        rig.tcp_sink(NS_R, 5201, (LAN_IP, WAN_IP), 60)
        sniff = rig.sniffer(NS_R, "tpstr0", 6)
        time.sleep(0.5)
        before = classes(rig)
        for ip in (LAN_IP, WAN_IP):
            sh(NS_N, "timeout", "20", "/usr/bin/python3", "-c", SEND, ip, str(BYTES))
        # the sender returns once its data is in the socket buffer: wait
        # (bounded) until both leaves have carried it
        tl.wait_for(lambda: all(classes(rig).get(c, 0) - before.get(c, 0) >= BYTES
                                for c in ("1:fffe", "1:30")), 10, 0.1)
        after = classes(rig)
        lan = after.get("1:fffe", 0) - before.get("1:fffe", 0)
        wan = after.get("1:30", 0) - before.get("1:30", 0)
        tap.ok(lan >= BYTES and lan < 1.2 * BYTES, "LAN flow through the LAN leaf 1:fffe "
               "(%d bytes for %d sent)" % (lan, BYTES))
        tap.ok(wan >= BYTES and wan < 1.2 * BYTES, "WAN flow through the default class's "
               "WAN leaf 1:30 (%d bytes)" % wan)
        seen = rig.sniffed(sniff, 15)
        mx = seen["max"]
        tap.ok(0 < mx.get(WAN_IP, 0) <= 1514, "WAN frames reach the far side at most 1514 bytes: "
               "GSO split before the shaper (largest %s, %s frames)" % (mx.get(WAN_IP), seen["n"].get(WAN_IP)))
        tap.ok(mx.get(LAN_IP, 0) > 1514, "the LAN keeps GSO: packets larger than a frame "
               "arrive (largest %s)" % mx.get(LAN_IP))
        st = json.loads(sh(NS_N, tl.TCPRIO, "status", "--json", "--pin-dir", rig.pin).stdout)
        sc = st.get("site", {}).get("scope_totals", {})
        tap.ok(sc.get("lan", {}).get("bytes", 0) >= BYTES and sc.get("wan", {}).get("bytes", 0) >= BYTES,
               "tcprio status: uplink counters split LAN / WAN", sc)

        sh(NS_R, "ip", "link", "set", "tpstr0", "mtu", "4000")
        sh(NS_N, "ip", "link", "set", "tpstu0", "mtu", "4000")
        rebuilt = tl.wait_for(lambda: "MTU 1500 -> 4000" in open(log.name).read(), 10, 0.1)
        tap.ok(rebuilt, "MTU 1500 -> 4000: the agent rebuilds the tree at its re-check",
               open(log.name).read()[-600:])
        recv = rig.popen(NS_R, ["/usr/bin/python3", "-c", UDP_RECV, WAN_IP],
                         stdout=subprocess.PIPE, text=True)
        recv.stdout.readline()
        sh(NS_N, "timeout", "10", "/usr/bin/python3", "-c", UDP_SEND, WAN_IP)
        try:
            got = recv.communicate(timeout=10)[0].split()
        except subprocess.TimeoutExpired:
            got = []
        tap.ok(got == ["3000"] * 5, "5 UDP datagrams of 3000 bytes (frames of 3042, DF) reach "
               "the WAN side through the rebuilt tbf", got)
    finally:
        rig.close()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
