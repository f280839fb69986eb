#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_agent_ceiling.py - namespace ceilings (issue 12) end to end: the
agent lists and watches Namespaces on the test API server, caps the class a
pod asks for (annotation, port rule, label rule) to its namespace's
ceiling, reports a Warning Event ClassCapped on the pod once per change
(capped, uncapped, capped again: two; a relist or an unchanged reload:
none), and re-evaluates live when a namespace is relabelled or deleted and
when the class table changes; raising or removing a ceiling restores the
asked class; `tcprio status` shows a capped class, the asked one and the
rule.  The class is read back from the pinned maps (`tcprio status
--json`), the Events from the API server's /ctl/events.
Needs root (bpf); attaches nothing, own pin folder.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

NODE = "tpt-ceiling-node"
BASE = tl.CLASSES4 + """labelRules:
  - matchLabels: {app: postgres}
    class: critical
"""
SHARED_NORMAL = """namespaceCeilings:
  - namespaceSelector:
      matchLabels: {tenant: shared}
      matchExpressions:
        - {key: tier, operator: NotIn, values: [system]}
    maxClass: normal
"""
IPS = {"db": "198.18.5.10", "web": "198.18.5.11", "lbl": "198.18.5.12", "free": "198.18.5.13"}
tap = tl.Tap()


def view(pin_dir):
    """{pod name: (class, source, capped or None, {port: class})} from the maps."""
    out = {}
    for e in tl.status(pin_dir)["endpoints"]:
        cap = e.get("capped")
        out[e["pod"].split("/")[-1]] = (e["class"], e["source"],
                                         (cap["asked"], cap["rule"]) if cap else None,
                                         {"%d/%s" % (p["port"], p["protocol"]): p["class"]
                                          for p in e["ports"]})
    return out


def converge(pin_dir, want, timeout=5.0):
    """Wait until view() holds want for every pod named in want."""
    got = {}

    def ok():
        nonlocal got
        v = view(pin_dir)
        got = {k: v.get(k) for k in want}
        return got == want
    tl.wait_for(ok, timeout, 0.02)
    return got


def capped_events(api, pod=None):
    return [e for e in api.ctl("/ctl/events")["events"] if e.get("reason") == "ClassCapped" and
            (pod is None or e["involvedObject"].get("name") == pod)]


def reload(agent, path, text):
    n = agent.log_text().count("reloaded")
    with open(path, "w") as f:
        f.write(text)
    agent.proc.send_signal(signal.SIGHUP)
    return agent.wait_log("reloaded", 5, n + 1)


def main():
    return tl.agent_suite(tap, 19, "ceiling", BASE + SHARED_NORMAL, run_cases)


def run_cases(st):
    api = st.start_api(NODE)
    api.ctl("/ctl/ns_set", {"name": "shop", "labels": {"tenant": "shared"}})
    api.ctl("/ctl/ns_set", {"name": "own", "labels": {"tenant": "own"}})
    tl.add_pod(api, NODE, "shop", "db", [IPS["db"]], {"tcprio.io/class": "critical"})
    tl.add_pod(api, NODE, "shop", "web", [IPS["web"]],
               {"tcprio.io/class": "bulk", "tcprio.io/ports": "5432/tcp=critical"})
    tl.add_pod(api, NODE, "shop", "lbl", [IPS["lbl"]], labels={"app": "postgres"})
    tl.add_pod(api, NODE, "own", "free", [IPS["free"]], {"tcprio.io/class": "critical"})
    agent = st.start_agent()
    tap.ok(agent.wait_log("namespace list synced", 15) and agent.wait_log("pod list synced", 15),
           "agent lists Namespaces and Pods", "\n".join(agent.log_text().splitlines()[-15:]))

    rule = ("namespaceCeilings[0]")
    want = {"db": ("normal", "annotation", ("critical", rule), {}),
            "web": ("bulk", "annotation", ("bulk", rule), {"5432/tcp": "normal"}),
            "lbl": ("normal", "label-rule", ("critical", rule), {}),
            "free": ("critical", "annotation", None, {})}
    tap.eq(converge(st.pin_dir, want), want,
           "capped to the ceiling in the maps: annotation, port rule, label rule; "
           "a namespace no selector matches keeps its class")
    tl.wait_for(lambda: len(capped_events(api)) >= 3, 10, 0.05)
    time.sleep(0.5)
    evs = {e["involvedObject"]["name"]: e for e in capped_events(api)}
    msgs = {k: v["message"] for k, v in evs.items()}
    tap.ok(sorted(evs) == ["db", "lbl", "web"] and len(capped_events(api)) == 3 and
           all(e["type"] == "Warning" for e in evs.values()),
           "one Warning Event ClassCapped on each capped pod, none on the free one", repr(msgs))
    tap.ok("class critical (annotation tcprio.io/class) capped to normal by "
           "namespaceCeilings[0] of namespace shop" in msgs.get("db", "") and
           "port rules 5432/tcp=critical capped to normal" in msgs.get("web", "") and
           "class critical (label rule) capped to normal" in msgs.get("lbl", ""),
           "the Events name the asked class, what asked for it, the ceiling and its rule",
           repr(msgs))

    api.ctl("/ctl/modify", {"namespace": "shop", "name": "db", "labels": {"tier": "db"}})
    time.sleep(1.0)
    tap.eq(len(capped_events(api, "db")), 1, "a pod MODIFIED without a change of cap: no new Event")

    # relabel the namespace live: out of the selector (NotIn tier=system)
    api.ctl("/ctl/ns_set", {"name": "shop", "labels": {"tenant": "shared", "tier": "system"}})
    want2 = {"db": ("critical", "annotation", None, {}),
             "web": ("bulk", "annotation", None, {"5432/tcp": "critical"}),
             "lbl": ("critical", "label-rule", None, {})}
    tap.eq(converge(st.pin_dir, want2), want2,
           "namespace relabelled out of the selector: asked classes restored live")
    api.ctl("/ctl/ns_set", {"name": "shop", "labels": {"tenant": "shared"}})
    want3 = {k: want[k] for k in ("db", "web", "lbl")}
    tap.eq(converge(st.pin_dir, want3), want3, "relabelled back: capped again")
    out = subprocess.run([tl.TCPRIO, "status", "--pin-dir", st.pin_dir], capture_output=True,
                         text=True, timeout=10).stdout
    rows = {w: [ln for ln in out.splitlines() if IPS[w] + " " in ln] for w in ("db", "free")}
    tap.ok(len(rows["db"]) == 1 and "shop/db" in rows["db"][0] and " normal " in rows["db"][0] and
           "(capped: asked critical, ceiling by namespaceCeilings[0])" in rows["db"][0] and
           len(rows["free"]) == 1 and "capped" not in rows["free"][0],
           "`tcprio status` shows the capped class, the asked one and the rule; the free pod "
           "is not marked", out)
    # cap -> uncap -> recap with the same message is two changes: two Events
    tl.wait_for(lambda: len(capped_events(api)) >= 6, 10, 0.05)
    time.sleep(0.5)
    per_pod = {k: len(capped_events(api, k)) for k in ("db", "web", "lbl", "free")}
    tap.eq(per_pod, {"db": 2, "web": 2, "lbl": 2, "free": 0},
           "capped, uncapped, capped again with the same message: a second Event each")

    # a relist (connections dropped, both watches answered 410) and a reload
    # of the same table change nothing: no Event
    n_pods = agent.log_text().count("pod list synced")
    n_ns = agent.log_text().count("namespace list synced")
    for kind in ("watch", "namespace_watch"):
        api.ctl("/ctl/fail", {"match": kind, "status": 410, "count": 1})
    api.ctl("/ctl/drop", {})
    relisted = agent.wait_log("pod list synced", 20, n_pods + 1) and \
        agent.wait_log("namespace list synced", 20, n_ns + 1)
    reloaded = reload(agent, st.cfg, BASE + SHARED_NORMAL)
    time.sleep(1.0)
    tap.ok(relisted and reloaded and len(capped_events(api)) == 6 and
           converge(st.pin_dir, want3) == want3,
           "relist of Pods and Namespaces and a reload without change: no new Event",
           "relisted %s reloaded %s events %d" % (relisted, reloaded, len(capped_events(api))))

    # table change: a defaultCeiling for namespaces no selector matches
    tap.ok(reload(agent, st.cfg, BASE + SHARED_NORMAL + "defaultCeiling: high\n"),
           "table with defaultCeiling: high reloaded")
    want4 = {"free": ("high", "annotation", ("critical", "defaultCeiling"), {})}
    tap.eq(converge(st.pin_dir, want4), want4, "table change: defaultCeiling caps the free pod live")
    tl.wait_for(lambda: capped_events(api, "free"), 5, 0.05)
    m = [e["message"] for e in capped_events(api, "free")]
    tap.ok(len(m) == 1 and "capped to high by defaultCeiling" in m[0],
           "ClassCapped Event on the free pod names defaultCeiling", repr(m))

    # namespace deleted: its pods get the strictest ceiling of the table
    api.ctl("/ctl/ns_delete", {"name": "own"})
    want5 = {"free": ("normal", "annotation", ("critical", "unknown-namespace"), {})}
    tap.eq(converge(st.pin_dir, want5), want5,
           "namespace deleted: its pod falls to the strictest ceiling (namespace unknown)")

    # raising the ceiling restores the asked class; removing all ceilings too
    raised = BASE + SHARED_NORMAL.replace("maxClass: normal", "maxClass: critical")
    tap.ok(reload(agent, st.cfg, raised),
           "table with the shared ceiling raised to critical reloaded")
    want6 = {"db": ("critical", "annotation", None, {}),
             "web": ("bulk", "annotation", None, {"5432/tcp": "critical"}),
             "lbl": ("critical", "label-rule", None, {}),
             "free": ("critical", "annotation", None, {})}
    tap.eq(converge(st.pin_dir, want6), want6,
           "ceiling raised (and the deleted namespace's strictest is critical): asked classes back")
    # removing every ceiling from a capped state restores the asked classes too
    tap.ok(reload(agent, st.cfg, BASE + SHARED_NORMAL) and
           converge(st.pin_dir, {"db": want["db"]}) == {"db": want["db"]},
           "the shared ceiling back: db capped again", repr(view(st.pin_dir)))
    tap.ok(reload(agent, st.cfg, BASE) and converge(st.pin_dir, want6) == want6,
           "every ceiling removed from the table: asked classes back, nothing capped",
           repr(view(st.pin_dir)))
    bad = BASE + "namespaceCeilings:\n  - namespaceSelector: {matchLabels: {\"-x\": y}}\n" \
                 "    maxClass: bulk\n"
    n = agent.log_text().count("keeping the running class table")
    with open(st.cfg, "w") as f:
        f.write(bad)
    agent.proc.send_signal(signal.SIGHUP)
    kept = agent.wait_log("keeping the running class table", 5, n + 1)
    log = agent.log_text()
    tap.ok(kept and 'namespaceCeilings[0].namespaceSelector.matchLabels.-x: "-x" is not a '
           'label key' in log and converge(st.pin_dir, want6) == want6,
           "a bad selector is rejected with an error naming it; the running table stays",
           "\n".join(log.splitlines()[-5:]))


if __name__ == "__main__":
    sys.exit(main())
