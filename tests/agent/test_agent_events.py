#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_agent_events.py - bad pod annotations become Kubernetes Events on the
pod (core/v1 Event POSTed to the test API server, read back from its
/ctl/events), besides the one warning log line.

Covers: a pod with a bad tcprio.io/class in the initial list gets exactly one
Warning Event "BadAnnotation" on that pod (involvedObject, message naming the
annotation, the value and the expected classes, source, reporting fields,
RFC 3339 timestamps); a MODIFIED event that leaves the annotation alone adds
none; fixing the annotation and breaking it with another value adds a second,
and fixing it and breaking it that same way again a third;
a bad tcprio.io/ports on a live pod; values of long UTF-8 text still get
their Event (reason first, value shortened); a reloaded class table that
changes the warning's text but not the value warns no second time; a pod
IP that is an address of this node is skipped with a PodIPIsNodeAddress
Event; an Event POST answered 500 once is
retried; the agent keeps running and the other pods' entries are untouched;
with --no-events the agent logs the warning but creates no Event.
Needs root (bpf); attaches nothing (--pod-ifaces matches no interface), with
its own pin folder.
"""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

NODE = "tpt-events-node"
NODE_IF = "tptnodeip0"  # a veth holding a "node address" (node_ip_cases); no dummy module here
NS = "shop"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
CLASSES = tl.CLASSES4
tap = tl.Tap()


def add_pod(api, name, ip, annotations):
    return tl.add_pod(api, NODE, NS, name, [ip], annotations)


def events(api, pod=None):
    evs = api.ctl("/ctl/events")["events"]
    return [e for e in evs if pod is None or e["involvedObject"].get("name") == pod]


def wait_events(api, pod, n, timeout=10.0):
    """Wait until pod has at least n Events; returns its Events."""
    tl.wait_for(lambda: len(events(api, pod)) >= n, timeout, 0.05)
    return events(api, pod)


def event_requests(api, since=0):
    return [r for r in api.ctl("/ctl/requests?since=%d" % since)["requests"]
            if r["kind"] == "event"]


def wait_sent(api, name, since):
    """Wait until the watch delivered an event for pod name after /ctl/sent index since."""
    return tl.wait_for(lambda: any(s["name"] == name for s in
                                   api.ctl("/ctl/sent?since=%d" % since)["sent"]), 5, 0.02)


def check_event(ev, pod, value, annotation="tcprio.io/class"):
    """Every field of a BadAnnotation Event; returns a list of what was wrong."""
    bad = []
    io = ev.get("involvedObject", {})
    want_io = {"kind": "Pod", "apiVersion": "v1", "namespace": NS, "name": pod, "uid": "uid-" + pod}
    if {k: io.get(k) for k in want_io} != want_io:
        bad.append("involvedObject %r" % io)
    if ev.get("reason") != "BadAnnotation" or ev.get("type") != "Warning":
        bad.append("reason/type %r/%r" % (ev.get("reason"), ev.get("type")))
    msg = ev.get("message", "")
    if '%s="%s"' % (annotation, value) not in msg or "%s/%s" % (NS, pod) not in msg:
        bad.append("message does not name the pod, annotation and value: %r" % msg)
    if annotation == "tcprio.io/class" and "critical, high, normal, bulk" not in msg:
        bad.append("message does not list the classes: %r" % msg)
    if ev.get("source") != {"component": "tcprio-agent", "host": NODE}:
        bad.append("source %r" % ev.get("source"))
    if (ev.get("reportingComponent"), ev.get("reportingInstance")) != ("tcprio.io/agent", NODE):
        bad.append("reporting %r %r" % (ev.get("reportingComponent"), ev.get("reportingInstance")))
    if ev.get("count") != 1:
        bad.append("count %r" % ev.get("count"))
    for f in ("firstTimestamp", "lastTimestamp"):
        if not RFC3339.match(str(ev.get(f, ""))):
            bad.append("%s %r is not RFC 3339" % (f, ev.get(f)))
    md = ev.get("metadata", {})
    if md.get("namespace") != NS or not md.get("name", "").startswith(pod + "."):
        bad.append("metadata %r" % md)
    return bad


def initial_cases(api, agent):
    tap.ok(agent.wait_log("pod list synced", 15), "agent syncs the initial list")
    evs = wait_events(api, "bad", 1)
    time.sleep(0.5)  # a second Event would arrive within this
    evs = events(api, "bad")
    tap.eq(len(evs), 1, "bad class annotation in the initial list: exactly one Event on the pod")
    if evs:
        tap.eq(check_event(evs[0], "bad", "platinum"), [],
               "the Event: BadAnnotation Warning on the pod, message names annotation, value, classes")
    tap.eq(events(api, "good"), [], "no Event for the pod with a good annotation")
    warn = [l for l in agent.log_text().splitlines() if "platinum" in l]
    tap.eq(len(warn), 1, "still exactly one warning log line")


def modify_cases(api, agent, pin_dir):
    mark = api.ctl("/ctl/sent")["next"]
    api.ctl("/ctl/modify", {"namespace": NS, "name": "bad", "labels": {"tier": "web"}})
    tap.ok(wait_sent(api, "bad", mark), "MODIFIED (label only) delivered to the agent")
    time.sleep(1.0)
    tap.eq(len(events(api, "bad")), 1, "MODIFIED without an annotation change: no second Event")

    api.ctl("/ctl/modify", {"namespace": NS, "name": "bad", "annotations": {"tcprio.io/class": "high"}})
    ok = tl.wait_for(lambda: tl.endpoints(pin_dir).get("198.18.2.11", (None,) * 4)[1:3] ==
                     ("high", "annotation"), 5)
    tap.ok(ok, "fixed annotation: pod moves to its class")
    tap.eq(len(events(api, "bad")), 1, "fixing the annotation creates no Event")
    api.ctl("/ctl/modify", {"namespace": NS, "name": "bad", "annotations": {"tcprio.io/class": "gold"}})
    evs = wait_events(api, "bad", 2)
    time.sleep(0.5)
    evs = events(api, "bad")
    tap.eq(len(evs), 2, "broken again with another value: a second Event")
    if len(evs) == 2:
        tap.eq(check_event(evs[1], "bad", "gold"), [], "the second Event names the new value")
        tap.ok(evs[0]["metadata"]["name"] != evs[1]["metadata"]["name"], "each Event has its own name")
    # fixed, then broken again with the value of the second Event
    api.ctl("/ctl/modify", {"namespace": NS, "name": "bad", "annotations": {"tcprio.io/class": "high"}})
    ok = tl.wait_for(lambda: tl.endpoints(pin_dir).get("198.18.2.11", (None,) * 4)[1] == "high", 5)
    api.ctl("/ctl/modify", {"namespace": NS, "name": "bad", "annotations": {"tcprio.io/class": "gold"}})
    evs = wait_events(api, "bad", 3)
    time.sleep(0.5)
    evs = events(api, "bad")
    tap.eq((ok, len(evs)), (True, 3), "fixed and broken again the same way: a third Event")


def ports_and_retry_cases(api, agent):
    since = len(api.ctl("/ctl/requests")["requests"])
    api.ctl("/ctl/fail", {"match": "event", "status": 500, "count": 1})
    api.ctl("/ctl/modify", {"namespace": NS, "name": "good",
                            "annotations": {"tcprio.io/ports": "99999/tcp=bulk"}})
    evs = wait_events(api, "good", 1)
    tap.eq(len(evs), 1, "bad ports annotation: one Event, created by the retry after a 500")
    if evs:
        tap.eq(check_event(evs[0], "good", "99999/tcp=bulk", "tcprio.io/ports"), [],
               "ports Event names the annotation and value")
    tap.eq([r["status"] for r in event_requests(api, since)], [500, 201],
           "Event POSTs: the 500 was retried once")


def utf8_cases(api, agent):
    """Fuzzing finding: a value whose warning was cut inside a UTF-8
    character made jansson refuse the Event body: no Event at all."""
    add_pod(api, "accent", "198.18.2.13", {"tcprio.io/class": "x" + "\u00e9" * 250})
    add_pod(api, "accent-ports", "198.18.2.14", {"tcprio.io/ports": "80=" + "\u00e9" * 40})
    for pod, reason in (("accent", "is not a class"), ("accent-ports", "rejected: unknown class")):
        evs = wait_events(api, pod, 1)
        tap.eq(len(evs), 1, "%s: long UTF-8 value: the BadAnnotation Event is posted" % pod)
        msg = evs[0].get("message", "") if evs else ""
        tap.ok(msg.startswith("pod %s/%s: annotation tcprio.io/" % (NS, pod)) and reason in msg
               and "... (" in msg and len(msg) < 1024,
               "%s: message: reason first, value shortened" % pod, msg)


def reload_cases(api, agent, cfg):
    """A reloaded class table changes the warning's text (the classes
    expected) but not the bad value: no second warning, no second Event
    (it warned again on every reload)."""
    n_events, n_warn = len(events(api, "bad")), agent.log_text().count('tcprio.io/class="gold"')
    with open(cfg + ".new", "w") as f:
        f.write(CLASSES.replace("defaultClass: normal", "  - {name: scavenger, dscp: CS1, "
                                "priority: \"1:50\"}\ndefaultClass: normal"))
    os.rename(cfg + ".new", cfg)
    tap.ok(agent.wait_log("reloaded: 5 classes", 5), "class table reloaded (5 classes)")
    time.sleep(1.0)
    tap.eq((len(events(api, "bad")), agent.log_text().count('tcprio.io/class="gold"')),
           (n_events, n_warn), "same bad value after a reload: no new warning, no new Event")


def node_ip_cases(api, agent, pin_dir):
    """A pod IP that is an address of this node (here on a veth the test
    adds) is skipped, with a warning and a PodIPIsNodeAddress
    Event; the pod's other IP gets its entry."""
    subprocess.run(["ip", "link", "add", NODE_IF, "type", "veth", "peer", "name", NODE_IF + "p"],
                   check=True)
    subprocess.run(["ip", "addr", "add", "198.18.250.1/32", "dev", NODE_IF], check=True)
    time.sleep(2.2)  # the agent reads the node's addresses at most every 2 s
    tl.add_pod(api, NODE, NS, "nodeip", ["198.18.250.1", "198.18.2.20"],
               {"tcprio.io/class": "critical"})
    ok = tl.wait_for(lambda: "198.18.2.20" in tl.endpoints(pin_dir), 5)
    eps = tl.endpoints(pin_dir)
    tap.ok(ok and "198.18.250.1" not in eps, "pod IP that is a node address: no entry, the "
           "other IP has one", sorted(eps))
    evs = wait_events(api, "nodeip", 1)
    tap.ok(len(evs) == 1 and evs[0].get("reason") == "PodIPIsNodeAddress" and
           "198.18.250.1 is an address of this node" in evs[0].get("message", "") and
           agent.wait_log("IP 198.18.250.1 is an address of this node", 1),
           "a warning and a PodIPIsNodeAddress Event", evs)


def untouched_cases(agent, pin_dir):
    got = tl.endpoints(pin_dir)
    tap.ok(agent.proc.poll() is None, "agent keeps running")
    tap.eq(got.get("198.18.2.10", (None,) * 4)[1:3], ("normal", "bad-annotation"),
           "pod with a bad tcprio.io/ports: default class, as for every bad annotation")
    tap.eq(got.get("198.18.2.12", (None,) * 4)[1:3], ("bulk", "annotation"),
           "third pod's entry untouched")
    tap.eq(got.get("198.18.2.11", (None,) * 4)[1:3], ("normal", "bad-annotation"),
           "bad pod on the default class")


def no_events_cases(api, pin_dir, cfg):
    before = len(events(api))
    since = len(api.ctl("/ctl/requests")["requests"])
    agent = tl.Agent(api.kubeconfig, NODE, pin_dir, config=cfg, extra=["--no-events"])
    try:
        tap.ok(agent.wait_log("pod list synced", 15), "--no-events: agent syncs")
        api.ctl("/ctl/modify", {"namespace": NS, "name": "third",
                                "annotations": {"tcprio.io/class": "diamond"}})
        tap.ok(agent.wait_log('tcprio.io/class="diamond"', 5), "--no-events: the warning is logged")
        time.sleep(1.0)
        tap.eq(len(events(api)), before, "--no-events: no Event created")
        tap.eq(event_requests(api, since), [], "--no-events: no Event request at all")
        tap.eq(agent.stop(signal.SIGTERM), 0, "--no-events: clean exit")
    finally:
        agent.close()


def main():
    def body(st):
        api = st.start_api(NODE)
        add_pod(api, "good", "198.18.2.10", {"tcprio.io/class": "critical"})
        add_pod(api, "bad", "198.18.2.11", {"tcprio.io/class": "platinum"})
        add_pod(api, "third", "198.18.2.12", {"tcprio.io/class": "bulk"})
        agent = st.start_agent()
        initial_cases(api, agent)
        modify_cases(api, agent, st.pin_dir)
        ports_and_retry_cases(api, agent)
        api.ctl("/ctl/modify", {"namespace": NS, "name": "bad",
                                "annotations": {"tcprio.io/class": "gold"}})  # no-op: same value
        untouched_cases(agent, st.pin_dir)
        utf8_cases(api, agent)
        reload_cases(api, agent, st.cfg)
        try:
            node_ip_cases(api, agent, st.pin_dir)
        finally:
            subprocess.run(["ip", "link", "del", NODE_IF], capture_output=True)
        tap.eq(agent.stop(signal.SIGTERM), 0, "SIGTERM: clean exit with the reporter running")
        tap.ok("events: " in agent.log_text() and " created" in agent.log_text(),
               "the agent logs the Event counters when it stops")
        no_events_cases(api, st.pin_dir, st.cfg)
    return tl.agent_suite(tap, 35, "events", CLASSES, body, log_lines=10)


if __name__ == "__main__":
    sys.exit(main())
