#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_explain.py - `tcprio explain NS/POD|IP`: the class and every step
that decided it (class annotation, ports annotation, label rule, default,
a rejected annotation and why, no entry for a host-network pod), read from
a running agent (test API server, tcprio_testlib) over its root-only
socket, cross-checked with the pinned maps: agreement exits 0, a map
changed behind the agent's back exits 3 naming the difference, an unknown
pod exits 1, a manual entry is reported as such; the namespace ceiling
step (issue 12): a pod capped by a namespaceCeilings rule (asked class,
ceiling, rule and its selector, the map's capped flag checked), one within
its ceiling, one of a namespace the agent does not know, and pods of a
namespace no ceiling applies to; the site step (issue 9): the node's site
from its Node's zone label, what makes a destination LAN or WAN, and the
sentence on its WAN shaping, the same as `tcprio status` prints (a site
budget but no --uplink: not shaped, and the agent warned at start; a site
without a budget).  Needs root (bpf); runs in the root
network namespace but attaches nothing, own pin folder.
"""
import json
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

NODE = "tpt-explain-node"
NS = "explain"
SHARED = "explain-shared"   # labelled tenant=shared: ceiling high
tap = tl.Tap()
PLAN = 27
CLASSES = tl.CLASSES4 + """labelRules:
  - matchLabels: {tier: db}
    class: high
  - matchLabels: {tier: batch, team: data}
    class: bulk
namespaceCeilings:
  - namespaceSelector:
      matchLabels: {tenant: shared}
      matchExpressions:
        - {key: tier, operator: NotIn, values: [system]}
    maxClass: high
sites:
  - {name: store-explain, wanRate: 20mbit}
localCIDRs: [198.18.40.0/24]
"""


def explain(pin_dir, query, as_json=True, user=None):
    cmd = [tl.TCPRIO, "explain", query, "--pin-dir", pin_dir] + (["--json"] if as_json else [])
    if user is not None:
        cmd = ["setpriv", "--reuid", str(user), "--regid", str(user), "--clear-groups"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    j = None
    if as_json and r.stdout.strip():
        try:
            j = json.loads(r.stdout)
        except ValueError:
            pass
    return r.returncode, j, r.stdout + r.stderr


def steps(j):
    return [(s["step"], s["result"]) for s in (j or {}).get("steps", [])]


def run_cases(api, agent, pin_dir):
    tap.ok(agent.wait_log("pod list synced", 15) and agent.wait_log("nodes: 1 listed", 15),
           "agent synced the pod list and the Nodes")
    want = {"198.18.3.1": ("critical", "annotation"), "198.18.3.2": ("normal", "default"),
            "198.18.3.3": ("high", "label-rule"), "198.18.3.4": ("normal", "bad-annotation"),
            "198.18.3.5": ("bulk", "label-rule"), "198.18.3.7": ("normal", "bad-annotation"),
            "198.18.3.8": ("high", "annotation"), "198.18.3.9": ("bulk", "annotation"),
            "198.18.3.10": ("high", "annotation"), "198.18.3.11": ("normal", "default")}
    tap.eq(tl.converge(pin_dir, want), want, "maps hold the ten pods' entries")

    rc, j, out = explain(pin_dir, NS + "/db")
    tap.eq((rc, j and j["class"], j and j["source"], j and j["priority"], j and j["dscp"],
            steps(j), j and [(p["port"], p["protocol"], p["class"]) for p in j["ports"]],
            j and j["datapath"]["agrees"]),
           (0, "critical", "annotation", "1:10", 46,
            [("entry", "yes"), ("class annotation", "used"), ("ports annotation", "used"),
             ("label rules", "not consulted"), ("default class", "not used"),
             ("namespace ceiling", "none"), ("site", "not shaped")],
            [(5432, "tcp", "bulk")], True),
           "annotated pod: class critical from the annotation, its port rule, maps agree", out)
    rc, j, out = explain(pin_dir, NS + "/plain")
    tap.eq((rc, j and j["class"], steps(j)),
           (0, "normal", [("entry", "yes"), ("class annotation", "absent"),
                          ("ports annotation", "absent"), ("label rules", "no match"),
                          ("default class", "used"), ("namespace ceiling", "none"),
                          ("site", "not shaped")]),
           "pod without annotations or matching labels: default class, each step says so", out)
    rc, j, out = explain(pin_dir, "198.18.3.5")
    ls = [s for s in (j or {}).get("steps", []) if s["step"] == "label rules"]
    tap.eq((rc, j and j["pod"], j and j["class"], [s["result"] for s in ls],
            bool(ls) and "rule #2" in ls[0]["detail"] and "tier=batch,team=data" in ls[0]["detail"]),
           (0, NS + "/etl", "bulk", ["matched"], True),
           "by IP: the pod holding it, the label rule that matched (#2, its labels)", out)
    rc, j, out = explain(pin_dir, NS + "/typo")
    rej = [s for s in (j or {}).get("steps", []) if s["result"] == "rejected"]
    tap.ok(rc == 0 and j["class"] == "normal" and j["source"] == "bad-annotation" and
           [s["step"] for s in rej] == ["class annotation"] and "critcal" in rej[0]["detail"] and
           "expected one of" in rej[0]["detail"] and
           ("ports annotation", "ignored") in steps(j),
           "rejected class annotation: default class, the step names the value and what was expected",
           out)
    rc, j, out = explain(pin_dir, NS + "/badports")
    rej = [s for s in (j or {}).get("steps", []) if s["result"] == "rejected"]
    tap.ok(rc == 0 and j["class"] == "normal" and [s["step"] for s in rej] == ["ports annotation"] and
           "99999" in rej[0]["detail"] and ("label rules", "matched, overridden") in steps(j),
           "rejected ports annotation: the matching label rule is overridden, default class", out)
    rc, j, out = explain(pin_dir, NS + "/hostnet")
    tap.eq((rc, j and j["entry"], steps(j)[:1]), (0, False, [("entry", "none")]),
           "host-network pod: no entry, and why", out)

    # The site: sites: gives it a WAN budget, but this agent has no --uplink:
    # nothing is shaped, and explain says so in the words status uses (once
    # explain said "WAN share 20000000 bit/s of 20000000", status "not shaped").
    rc, j, out = explain(pin_dir, NS + "/plain")
    site = [x for x in (j or {}).get("steps", []) if x["step"] == "site"]
    want_summary = ("site store-explain: WAN not shaped on this node: no --uplink (the site's "
                    "WAN budget is 20000000 bit/s, 1 of 1 nodes Ready)")
    tap.ok(j and j["site"] == {"name": "store-explain", "result": "not shaped", "gateway": False,
                               "share_bps": 0, "budget_bps": 20000000, "link_bps": 0,
                               "nodes": 1, "ready_nodes": 1, "summary": want_summary} and
           bool(site) and
           "site store-explain (topology.kubernetes.io/zone), 1 of 1 nodes Ready" in site[0]["detail"] and
           "localCIDRs (1)" in site[0]["detail"] and "its class's leaf 1:30" in site[0]["detail"],
           "site step: the node's site from its zone label, not shaped without --uplink, LAN/WAN "
           "rules and the class's WAN leaf", out)
    rc, j, out = explain(pin_dir, NS + "/plain", as_json=False)
    st = tl.status(pin_dir)["site"]
    human = subprocess.run([tl.TCPRIO, "status", "--pin-dir", pin_dir], capture_output=True,
                           text=True, timeout=10).stdout
    tap.ok(agent.log_text().count("sites configured but no --uplink: WAN not shaped on this "
                                  "node") == 1,
           "the agent warned once at start: sites configured but no --uplink",
           agent.log_text()[-800:])
    tap.ok(rc == 0 and want_summary + "\n" in out and st["summary"] == want_summary and
           want_summary + ";" in human and "of 0" not in human,
           "explain and status print the same site sentence (budget, no --uplink)",
           out + human)
    # A node whose site has no budget (its zone is not in sites:, no
    # defaultSite): both say so, the same way.
    api.ctl("/ctl/node_modify", {"name": NODE, "labels": {"topology.kubernetes.io/zone": "elsewhere"}})
    unshaped = ("site elsewhere: WAN not shaped (no site WAN budget: not in sites:, no "
                "defaultSite, and no --uplink-rate or no --uplink)")
    tl.wait_for(lambda: tl.status(pin_dir)["site"]["summary"] == unshaped, 10, 0.1)
    rc, j, out = explain(pin_dir, NS + "/plain", as_json=False)
    human = subprocess.run([tl.TCPRIO, "status", "--pin-dir", pin_dir], capture_output=True,
                           text=True, timeout=10).stdout
    tap.ok(rc == 0 and unshaped + "\n" in out and unshaped + ";" in human and
           "site elsewhere (topology.kubernetes.io/zone)" in out and "not shaped" in out,
           "a site without a budget: explain and status print the same sentence", out + human)
    api.ctl("/ctl/node_modify", {"name": NODE, "labels": {"topology.kubernetes.io/zone": "store-explain"}})
    tl.wait_for(lambda: tl.status(pin_dir)["site"]["name"] == "store-explain", 10, 0.1)

    rc, j, out = explain(pin_dir, NS + "/db", as_json=False)
    tap.ok(rc == 0 and "class critical (priority 1:10, DSCP 46), source annotation" in out and
           "decided by:" in out and "ok        198.18.3.1: tcprio_endpoints holds class critical" in out,
           "human output: class, steps, the map check", out)

    # The namespace ceiling step: capped, within the ceiling, none (above).
    rc, j, out = explain(pin_dir, SHARED + "/vip")
    cs = [s for s in (j or {}).get("steps", []) if s["step"] == "namespace ceiling"]
    tap.eq((rc, j and j["class"], j and j["source"], j and j["ceiling"],
            [s["result"] for s in cs], j and j["datapath"]["agrees"],
            any("capped, asked class critical" in c for c in (j or {}).get("datapath", {})
                .get("checked", []))),
           (0, "high", "annotation",
            {"class": "high", "rule": "namespaceCeilings[0]", "capped": True,
             "asked_class": "critical", "selector": "tenant=shared,tier notin (system)",
             "message": "pod explain-shared/vip: class critical (annotation tcprio.io/class) "
                        "capped to high by namespaceCeilings[0] of namespace explain-shared"},
            ["capped"], True, True),
           "capped pod: asked class, ceiling, the rule and its selector; the map's capped "
           "flag and asked class agree", out)
    tap.ok(bool(cs) and "asked class critical (annotation tcprio.io/class), ceiling high set by "
           "namespaceCeilings[0] (namespaceSelector tenant=shared,tier notin (system), "
           "maxClass high) for namespace explain-shared" in cs[0]["detail"],
           "the capped step's detail names asked class, ceiling, rule and selector", out)
    rc, j, out = explain(pin_dir, SHARED + "/vip", as_json=False)
    rc2, j2, out2 = explain(pin_dir, SHARED + "/batch")
    cs2 = [s for s in (j2 or {}).get("steps", []) if s["step"] == "namespace ceiling"]
    tap.ok(rc == 0 and "capped: asked class critical, lowered to the namespace ceiling high set "
           "by namespaceCeilings[0] (namespaceSelector tenant=shared,tier notin (system))" in out and
           "namespace ceiling capped" in out and
           rc2 == 0 and j2["class"] == "bulk" and j2["ceiling"]["capped"] is False and
           j2["ceiling"]["class"] == "high" and [s["result"] for s in cs2] == ["not capped"] and
           "ceiling high set by namespaceCeilings[0]" in cs2[0]["detail"] and
           "class bulk is within it" in cs2[0]["detail"] and j2["datapath"]["agrees"],
           "human output says capped and why; a pod below its ceiling: not capped, which "
           "ceiling applies", out + out2)

    rc, j, out = explain(pin_dir, "explain-nons/stray")
    cs = [s for s in (j or {}).get("steps", []) if s["step"] == "namespace ceiling"]
    tap.ok(rc == 0 and j["class"] == "high" and j["ceiling"]["rule"] == "unknown-namespace" and
           j["ceiling"]["capped"] is True and j["ceiling"]["selector"] is None and
           bool(cs) and "the strictest ceiling of the table, high (the agent does not know the "
           "namespace yet)" in cs[0]["detail"] and j["datapath"]["agrees"],
           "a pod of a namespace the agent does not know: capped to the strictest ceiling, "
           "and explain says why", out)

    rc, j, out = explain(pin_dir, NS + "/nosuchpod")
    tap.ok(rc == 1 and "knows no pod explain/nosuchpod" in out, "unknown pod: exit 1, clear message", out)
    rc, j, out = explain(pin_dir, "no-slash-and-no-ip")
    tap.ok(rc == 2 and "expected NAMESPACE/POD or an IPv4/IPv6 address" in out,
           "neither a pod nor an IP: usage error (exit 2)", out)

    sock = "/run/tcprio/explain%s.sock" % pin_dir.replace("/", "_")
    st = os.stat(sock) if os.path.exists(sock) else None
    tap.ok(st is not None and stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and
           st.st_uid == 0, "the agent's socket %s is root's, mode 0600" % sock, repr(st))
    rc, j, out = explain(pin_dir, NS + "/db", user=65534)
    tap.ok(rc == 1 and "cannot" in out and j is None, "a non-root user gets no answer", out)

    # The pod's one port rule is carried inline in its entry (what the
    # datapath reads); a class changed there alone is a disagreement.
    rc, j, out = explain(pin_dir, NS + "/db")
    tap.ok(rc == 0 and j and any("carries its 1 port rule(s) inline" in c
                                 for c in j["datapath"]["checked"]),
           "the entry's inline port rule checked against the agent's", out)
    path = os.path.join(pin_dir, "tcprio_endpoints")
    key = ["0"] * 10 + ["0xff", "0xff", "198", "18", "3", "1"]
    got = json.loads(subprocess.run(["bpftool", "-j", "map", "lookup", "pinned", path, "key"] + key,
                                    check=True, capture_output=True, text=True).stdout)
    val = [int(b, 16) for b in got["value"]]
    val[27] = 0 if val[27] else 1   # rules[0].class_id: struct tcprio_endpoint, include/tcprio.h
    subprocess.run(["bpftool", "map", "update", "pinned", path, "key"] + key + ["value"] +
                   [str(b) for b in val], check=True, capture_output=True)
    rc, j, out = explain(pin_dir, NS + "/db")
    tap.ok(rc == 3 and j and any("inline rule" in d for d in j["datapath"]["disagreements"]),
           "inline rule's class changed behind the agent: exit 3, named", out)

    # A pod with six port rules (more than fit in its entry) has them in a
    # rule block, which explain checks too (include/tcprio.h).
    rc, j, out = explain(pin_dir, NS + "/many")
    tap.ok(rc == 0 and j and any("rule block" in c and "carries its 6 port rule(s)" in c
                                 for c in j["datapath"]["checked"]),
           "a pod's rule block checked against the agent's rules", out)

    # Change the map behind the agent's back: explain must say they disagree.
    # (--force: the agent owns the pod's entry; its reconcile, which would
    # write it back, is 1 h away: --recheck-interval below)
    subprocess.run([tl.TCPRIO, "endpoint", "add", "198.18.3.1", "--class", "bulk", "--force",
                    "--pin-dir", pin_dir], check=True, capture_output=True)
    rc, j, out = explain(pin_dir, NS + "/db")
    tap.ok(rc == 3 and j and not j["datapath"]["agrees"] and
           any("198.18.3.1" in d for d in j["datapath"]["disagreements"]),
           "map changed behind the agent: exit 3, the difference named", out)
    rc, j, out = explain(pin_dir, NS + "/db", as_json=False)
    tap.ok(rc == 3 and "DISAGREE" in out, "human output says DISAGREE", out)
    subprocess.run([tl.TCPRIO, "endpoint", "add", "198.18.9.99", "--class", "high",
                    "--pin-dir", pin_dir], check=True, capture_output=True)
    rc, j, out = explain(pin_dir, "198.18.9.99", as_json=False)
    tap.ok(rc == 0 and "manual entry (tcprio endpoint add), class high" in out,
           "an IP with a manual entry and no pod: reported as manual", out)


def main():
    def body(st):
        api = st.start_api(NODE)
        api.ctl("/ctl/node_add", {"name": NODE, "labels": {"topology.kubernetes.io/zone": "store-explain"},
                                  "podCIDRs": ["198.18.3.0/24"],
                                  "addresses": [{"type": "InternalIP", "address": "198.18.2.1"}]})
        api.ctl("/ctl/ns_set", {"name": NS, "labels": {"tenant": "own"}})
        api.ctl("/ctl/ns_set", {"name": SHARED, "labels": {"tenant": "shared"}})
        tl.add_pod(api, NODE, SHARED, "vip", ["198.18.3.8"], {"tcprio.io/class": "critical"})
        tl.add_pod(api, NODE, SHARED, "batch", ["198.18.3.9"], {"tcprio.io/class": "bulk"})
        tl.add_pod(api, NODE, "explain-nons", "stray", ["198.18.3.10"],   # no Namespace object
                   {"tcprio.io/class": "critical"})
        for name, ip, ann, labels, extra in (
                ("db", "198.18.3.1", {"tcprio.io/class": "critical", "tcprio.io/ports": "5432/tcp=bulk"},
                 None, {}),
                ("plain", "198.18.3.2", {}, None, {}),
                ("pg", "198.18.3.3", {}, {"tier": "db"}, {}),
                ("typo", "198.18.3.4", {"tcprio.io/class": "critcal", "tcprio.io/ports": "53=high"},
                 None, {}),
                ("etl", "198.18.3.5", {}, {"tier": "batch", "team": "data"}, {}),
                ("hostnet", "198.18.3.6", {}, None, {"hostNetwork": True}),
                ("badports", "198.18.3.7", {"tcprio.io/ports": "99999=bulk"}, {"tier": "db"}, {}),
                ("many", "198.18.3.11", {"tcprio.io/ports": ",".join(
                    "%d/tcp=bulk" % p for p in range(9000, 9006))}, None, {})):
            tl.add_pod(api, NODE, NS, name, [ip], ann, labels, **extra)
        run_cases(api, st.start_agent(extra=["--recheck-interval", "3600"]), st.pin_dir)
    return tl.agent_suite(tap, PLAN, "explain", CLASSES, body)


if __name__ == "__main__":
    sys.exit(main())
