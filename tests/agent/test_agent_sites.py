#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_agent_sites.py - the agent's site side against the test API server's
Nodes: the node's site and WAN share (tcprio status, /metrics, the HTB WAN
branch on its uplink), recomputed when a node joins, turns NotReady, gets a
wan-weight, leaves; tcprio_destinations (read with bpftool) after Node
events: the site's node addresses and pod CIDRs and localCIDRs as LAN,
remoteCIDRs as WAN, a pod CIDR that changes, a deleted Node.  Needs root;
the uplink is a veth pair of the test's own (tptsite0/1), removed at the end.
"""
import ipaddress
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

tap = tl.Tap()
ZONE = "topology.kubernetes.io/zone"
DEV = "tptsite0"
TABLE = """classes:
  - {name: critical, dscp: EF, priority: "1:10"}
  - {name: bulk, dscp: LE, priority: "1:40"}
defaultClass: bulk
sites:
  - {name: store-17, wanRate: 20mbit}
defaultSite: {wanRate: 50mbit}
localCIDRs: [198.19.0.0/16]
remoteCIDRs: [198.18.200.0/24]
"""


def node(api, op, name, **kw):
    body = {"name": name}
    body.update(kw)
    return api.ctl("/ctl/node_" + op, body)


def site(pin):
    return tl.status(pin)["site"]


def dests(pin):
    """{"a.b.c.d/n": (scope, source)} read with bpftool."""
    out = subprocess.run(["bpftool", "-j", "map", "dump", "pinned",
                          os.path.join(pin, "tcprio_destinations")],
                         capture_output=True, text=True, check=True).stdout
    res = {}
    for e in json.loads(out):
        f = e["formatted"]
        addr = bytes(int(b, 0) if isinstance(b, str) else b for b in f["key"]["addr"])
        plen = int(f["key"]["prefixlen"])
        ip = ipaddress.IPv6Address(addr)
        if ip.ipv4_mapped:
            text = "%s/%d" % (ip.ipv4_mapped, plen - 96)
        else:
            text = "%s/%d" % (ip, plen)
        res[text] = (int(f["value"]["scope"]), int(f["value"]["source"]))
    return res


def dest_list(pin):
    """The destinations' prefix list (tcprio_prefix_lists key 0) read with
    bpftool: (valid, {"a.b.c.d/n": scope} in list order)."""
    out = subprocess.run(["bpftool", "-j", "map", "lookup", "pinned",
                          os.path.join(pin, "tcprio_prefix_lists"), "key", "0", "0", "0", "0"],
                         capture_output=True, text=True, check=True).stdout
    v = json.loads(out)["formatted"]["value"]
    res = {}
    for e in v["entries"][:int(v["count"])]:
        words = [int(w).to_bytes(4, sys.byteorder) for w in e["addr"]]
        plen = sum(bin(int(m)).count("1") for m in e["mask"])
        ip = ipaddress.IPv6Address(b"".join(words))
        text = "%s/%d" % ((ip.ipv4_mapped, plen - 96) if ip.ipv4_mapped else (ip, plen))
        res[text] = int(e["value"])
    return int(v["valid"]), res


def wan_rate():
    """The HTB WAN branch's rate in bit/s (tc -d class show), or None."""
    out = subprocess.run(["tc", "class", "show", "dev", DEV], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("class htb 1:fffd "):
            tok = line.split()
            v = tok[tok.index("rate") + 1]
            mult = {"K": 1e3, "M": 1e6, "G": 1e9}.get(v.rstrip("bit")[-1:], 1)
            return int(round(float(v.rstrip("bit").rstrip("KMG")) * mult))
    return None


def main():
    if os.geteuid() != 0:
        return tap.skip_all("needs root (bpf syscalls, bpffs, tc)")
    tap.plan(16)
    tl.ensure_bpffs()
    pin = tl.pin_dir_for("sites")
    tmp = tempfile.mkdtemp(prefix="tcprio-sites-")
    cfg = os.path.join(tmp, "classes.yaml")
    with open(cfg, "w") as f:
        f.write(TABLE)
    api = agent = None
    subprocess.run(["ip", "link", "del", DEV], stderr=subprocess.DEVNULL)
    try:
        subprocess.run(["ip", "link", "add", DEV, "type", "veth", "peer", "name", "tptsite1"], check=True)
        subprocess.run(["ip", "link", "set", DEV, "up"], check=True)
        api = tl.ApiServer("edge-a")
        node(api, "add", "edge-a", labels={ZONE: "store-17"},
             addresses=[{"type": "InternalIP", "address": "198.18.0.10"}],
             podCIDRs=["198.18.10.0/24", "2001:db8:a::/64"])
        node(api, "add", "edge-b", labels={ZONE: "store-17"},
             addresses=[{"type": "InternalIP", "address": "198.18.0.11"}], podCIDRs=["198.18.11.0/24"])
        node(api, "add", "dc-1", labels={ZONE: "dc"},
             addresses=[{"type": "InternalIP", "address": "198.18.0.100"}], podCIDRs=["198.18.100.0/24"])
        agent = tl.Agent(api.kubeconfig, "edge-a", pin, config=cfg, extra=["--uplink", DEV])

        ok = tl.wait_for(lambda: os.path.exists(os.path.join(pin, "tcprio_site")) and
                         site(pin)["share_bps"] == 10000000, 10)
        s = site(pin) if ok else {}
        tap.ok(ok and s["name"] == "store-17" and s["budget_bps"] == 20000000 and
               s["nodes"] == 2 and s["ready_nodes"] == 2 and s["labelled"],
               "status: site store-17, WAN share 10mbit of 20mbit, 2 of 2 nodes Ready", s)
        tap.ok("sites configured but no --uplink" not in agent.log_text(),
               "with --uplink: no \"no --uplink\" warning", agent.log_text()[-600:])
        tap.ok(tl.wait_for(lambda: wan_rate() == 10000000, 5),
               "HTB WAN branch 1:fffd at the share, 10mbit (%s)" % wan_rate())
        want = {"198.18.0.10/32": (1, 1), "198.18.0.11/32": (1, 1), "198.18.10.0/24": (1, 2),
                "2001:db8:a::/64": (1, 2), "198.18.11.0/24": (1, 2), "198.19.0.0/16": (1, 3),
                "198.18.200.0/24": (0, 4)}
        d = dests(pin)
        tap.ok(d == want, "tcprio_destinations: the site's node addresses and pod CIDRs and "
               "localCIDRs LAN, remoteCIDRs WAN, nothing of dc-1", d)
        # The list the uplink scans (include/tcprio.h): the remote /24 is
        # inside no LAN prefix, so WAN either way, and is left out.
        valid, lst = dest_list(pin)
        tap.ok(valid == 1 and lst == {k: v[0] for k, v in want.items() if v[0] == 1},
               "tcprio_prefix_lists: the destinations as a valid list, the 6 LAN prefixes "
               "(the remote /24 changes no answer)", (valid, lst))
        tap.ok(s.get("destinations") == {"total": 7, "lan": 6, "wan": 1},
               "status: destinations map size 7 (6 LAN, 1 WAN)", s.get("destinations"))
        tap.ok("site store-17: WAN share 10000000 bit/s of 20000000 (2 of 2 nodes Ready" in
               agent.log_text(), "the share is logged", agent.log_text()[-600:])

        node(api, "add", "edge-c", labels={ZONE: "store-17"})
        # tc prints the rate rounded (6666Kbit): within 0.1 %
        tap.ok(tl.wait_for(lambda: site(pin)["share_bps"] == 6666666 and
                           abs((wan_rate() or 0) - 6666666) < 6667, 5) and
               agent.wait_log("WAN share 6666666", 3),
               "a node joins: share 20mbit / 3, tree updated, logged (%s)" % wan_rate())
        node(api, "modify", "edge-b", ready=False)
        tap.ok(tl.wait_for(lambda: site(pin)["share_bps"] == (20000000 - 8000) // 2, 5),
               "a neighbour turns NotReady: it keeps 8 kbit/s, the 2 Ready nodes share the rest",
               site(pin))
        node(api, "modify", "edge-a", podCIDRs=["198.18.20.0/24"])
        d = tl.wait_for(lambda: (lambda x: x if "198.18.20.0/24" in x else None)(dests(pin)), 5) or {}
        tap.ok(d.get("198.18.20.0/24") == (1, 2) and "198.18.10.0/24" not in d and
               "2001:db8:a::/64" not in d, "own pod CIDR changes: the new prefix is LAN, the old "
               "ones are gone", d)
        node(api, "delete", "edge-b")
        node(api, "delete", "edge-c")
        d = tl.wait_for(lambda: (lambda x: x if "198.18.11.0/24" not in x else None)(dests(pin)), 5) or {}
        tap.ok("198.18.0.11/32" not in d and "198.18.11.0/24" not in d and "198.18.0.10/32" in d,
               "deleted Node: its address and pod CIDR leave the map", d)
        tap.ok(tl.wait_for(lambda: site(pin)["share_bps"] == 20000000 and wan_rate() == 20000000, 5),
               "nodes leave: the last one gets the whole 20mbit (%s)" % wan_rate())
        node(api, "add", "edge-b", labels={ZONE: "store-17"})
        node(api, "modify", "edge-a", annotations={"tcprio.io/wan-weight": "3"})
        tap.ok(tl.wait_for(lambda: site(pin)["share_bps"] == 15000000, 5),
               "tcprio.io/wan-weight 3 against 1: 15mbit of 20", site(pin))
        with urllib.request.urlopen(agent.metrics_url() + "", timeout=5) as r:
            text = r.read().decode()
        tap.ok("tcprio_wan_share_bytes_per_second 1875000" in text and
               "tcprio_wan_budget_bytes_per_second 2500000" in text and
               "tcprio_site_ready_nodes 2" in text and "tcprio_destinations " in text,
               "/metrics: share, budget, Ready nodes, destinations map size")
        node(api, "modify", "edge-a", labels={ZONE: None})
        tap.ok(tl.wait_for(lambda: site(pin)["name"] == "edge-a" and not site(pin)["labelled"] and
                           site(pin)["share_bps"] == 50000000, 5) and
               agent.wait_log("has no label %s: it is a site of its own" % ZONE, 3),
               "label removed: a site of its own with the defaultSite budget, logged once", site(pin))
        out = subprocess.run([tl.TCPRIO, "status", "--pin-dir", pin], capture_output=True, text=True).stdout
        tap.ok("site edge-a (no site label: a site of its own): WAN share 50000000 bit/s of the "
               "site's 50000000" in out and
               "destinations map" in out and "Uplink LAN/WAN split" in out,
               "tcprio status prints the site, share, map size and the LAN/WAN split", out[:400])
    finally:
        if agent:
            agent.close()
        if api:
            api.close()
        subprocess.run(["ip", "link", "del", DEV], stderr=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", tmp])
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
