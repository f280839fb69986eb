#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_agent_sync.py - the agent keeps the BPF maps equal to what the policy
says, event by event, against the test API server (real protocol: HTTPS,
list + chunked watch).  After each event the maps are read back.

Covers: initial list (real Pod JSON from tests/fixtures), add, class
change, port annotation, bad annotation (pod on default, others untouched, one
warning), finished and host-network pods, delete, dual stack, IP reuse with the
new pod's ADDED before the old pod's DELETED, relist after 410 (a pod deleted
while the agent was away disappears), API server unreachable (maps kept),
agent killed with -9 and restarted while pods are deleted, class-table reload
(valid and invalid), a stale endpoint slot emptied by the periodic check,
/metrics and /readyz, SIGTERM leaving the datapath pinned.
Needs root (bpf); runs in the root network namespace but attaches nothing
(--pod-ifaces matches no interface), with its own pin folder.
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

NODE = "tpt-sync-node"
tap = tl.Tap()


def add_pod(api, name, ips, annotations=None, labels=None, **extra):
    return tl.add_pod(api, NODE, "shop", name, ips, annotations, labels, **extra)


def check(pin_dir, want, name):
    got = tl.converge(pin_dir, want)
    tap.eq(got, want, name)


def main():
    def body(st):
        # One real PodList from a minikube node: its pods are on node "minikube".
        api = st.start_api(NODE, pods_files=[tl.fixture("k8s", "podlist",
                                                        "nri-minikube-1.35-kubelet-pods.json")],
                           extra=["--force-node", "--pod-cidr", "198.18.100.0/24"])
        add_pod(api, "db", ["198.18.1.10", "2001:db8:1::10"], {"tcprio.io/class": "critical"})
        add_pod(api, "web", ["198.18.1.11"], {"tcprio.io/ports": "5432/tcp=critical,9100=bulk"})
        add_pod(api, "backup", ["198.18.1.12"], {"tcprio.io/class": "bulk"})
        run_cases(api, st.start_agent(), st.pin_dir, st.cfg)
    return tl.agent_suite(tap, 46, "sync", CLASSES_V1, body)


CLASSES_V1 = tl.CLASSES4 + """labelRules:
  - matchLabels: {tier: batch}
    class: bulk
"""


# tests/fixtures/k8s/podlist/nri-minikube-1.35-kubelet-pods.json: 24 pods;
# 8 use the host's network and 6 finished (4 Failed, 2 Succeeded), so
# these 10 (the running pods with their own IP) get an entry.
FIXTURE_PODS = 24
FIXTURE_ENDPOINT_PODS = sorted([
    "kube-system/coredns-7d764666f9-qdcxt",
    "kube-system/metrics-server-9d74bb658-c6nnt",
    "scraper/e2e-container-creating",
    "scraper/e2e-daemonset-kb65b",
    "scraper/e2e-deployment-79967c5968-8bnn8",
    "scraper/e2e-deployment-79967c5968-zjslc",
    "scraper/e2e-hpa-6cd8d99884-tggnr",
    "scraper/e2e-kube-state-metrics-75b885dc9-97mtr",
    "scraper/e2e-statefulset-0",
    "scraper/e2e-statefulset-1",
])


def initial_list_cases(api, agent, pin_dir):
    tap.ok(agent.wait_log("pod list synced", 15), "agent syncs the initial list")
    got = tl.endpoints(pin_dir)
    # Fixture pods: host-network pods and finished pods (Succeeded/Failed) get no entry.
    state = api.ctl("/ctl/state")
    tap.eq(len(state["pods"]), FIXTURE_PODS + 3,
           "the server serves the real PodList (%d pods) and the 3 test pods" % FIXTURE_PODS)
    fixture_eps = [ip for ip, (pod, _, _, _) in got.items() if not pod.startswith("shop/")]
    tap.eq(sorted(got[ip][0] for ip in fixture_eps), FIXTURE_ENDPOINT_PODS,
           "fixture pods: entries exactly for the running pods with their own IP")
    tap.eq(got.get("198.18.1.10", (None,))[1:3], ("critical", "annotation"), "annotated pod: class from annotation")
    tap.eq(got.get("2001:db8:1::10", (None,))[1:3], ("critical", "annotation"), "dual stack: IPv6 mapped too")
    tap.eq(got.get("198.18.1.11", (None,) * 4)[1:],
           ("normal", "default", ["5432/tcp=critical", "9100/tcp=bulk", "9100/udp=bulk"]),
           "per-port annotation: port rules, protocol optional = tcp and udp")
    tap.eq(got.get("198.18.1.10", ("",))[0], "shop/db", "pod name recorded for the entry")
    return fixture_eps


def event_cases(api, agent, pin_dir, base):
    want = dict(base)
    api.ctl("/ctl/add", {"fixture": "k9s-gke-pod-p1", "name": "etl", "namespace": "shop",
                         "uid": "uid-etl", "node": NODE, "podIPs": ["198.18.1.13"],
                         "annotations": {}, "labels": {"tier": "batch"}})
    want["198.18.1.13"] = ("bulk", "label-rule")
    check(pin_dir, want, "ADDED: label rule gives the class")

    api.ctl("/ctl/modify", {"namespace": "shop", "name": "backup",
                            "annotations": {"tcprio.io/class": "high"}})
    want["198.18.1.12"] = ("high", "annotation")
    check(pin_dir, want, "MODIFIED: annotation change moves the pod live")

    api.ctl("/ctl/modify", {"namespace": "shop", "name": "backup",
                            "annotations": {"tcprio.io/class": "platinum"}})
    want["198.18.1.12"] = ("normal", "bad-annotation")
    check(pin_dir, want, "bad annotation: pod on default class, other pods untouched")
    warn = [l for l in agent.log_text().splitlines() if "platinum" in l]
    tap.ok(len(warn) == 1 and "shop/backup" in warn[0] and "tcprio.io/class" in warn[0],
           "bad annotation: one warning naming the pod, the annotation and the value", warn)
    api.ctl("/ctl/modify", {"namespace": "shop", "name": "backup",
                            "annotations": {"tcprio.io/ports": "99999/tcp=bulk"}})
    time.sleep(0.2)
    tap.ok(agent.proc.poll() is None, "bad port annotation: agent still running")

    api.ctl("/ctl/modify", {"namespace": "shop", "name": "etl", "phase": "Succeeded"})
    del want["198.18.1.13"]
    check(pin_dir, want, "finished pod (Succeeded): entry removed")

    add_pod(api, "hostnet", ["198.18.1.14"], {"tcprio.io/class": "critical"}, hostNetwork=True)
    check(pin_dir, want, "host-network pod: no entry")

    # IP reuse: the new pod's ADDED arrives before the old pod's DELETED.
    add_pod(api, "web2", ["198.18.1.11"], {"tcprio.io/class": "bulk"})
    want["198.18.1.11"] = ("bulk", "annotation")
    check(pin_dir, want, "IP reuse: the new pod takes over the IP")
    api.ctl("/ctl/delete", {"namespace": "shop", "name": "web"})
    time.sleep(0.3)
    check(pin_dir, want, "IP reuse: the old pod's DELETED leaves the new pod's entry")
    tap.eq(tl.endpoints(pin_dir).get("198.18.1.11", ("",))[0], "shop/web2", "IP reuse: entry names the new pod")

    api.ctl("/ctl/delete", {"namespace": "shop", "name": "db"})
    del want["198.18.1.10"], want["2001:db8:1::10"]
    check(pin_dir, want, "DELETED: both IPs of a dual-stack pod removed")
    return want


def relist_cases(api, agent, pin_dir, want):
    # The agent is away: the server is paused, a pod is deleted and history compacted.
    api.ctl("/ctl/pause", {})
    api.ctl("/ctl/delete", {"namespace": "shop", "name": "backup"})
    add_pod(api, "cache", ["198.18.1.15"], {"tcprio.io/class": "critical"})
    api.ctl("/ctl/compact", {})
    time.sleep(0.5)
    tap.ok(agent.proc.poll() is None and "198.18.1.12" in tl.endpoints(pin_dir),
           "API server unreachable: agent keeps the current maps")
    api.ctl("/ctl/resume", {})
    del want["198.18.1.12"]
    want["198.18.1.15"] = ("critical", "annotation")
    got = tl.converge(pin_dir, want, timeout=40)
    tap.eq(got, want, "relist after 410: deleted-while-away pod gone, new pod present")
    return want


def restart_cases(api, agent, pin_dir, want):
    agent.stop(signal.SIGKILL)
    tap.ok(os.path.exists(os.path.join(pin_dir, "tcprio_endpoints")),
           "agent killed with -9: maps stay pinned")
    api.ctl("/ctl/delete", {"namespace": "shop", "name": "web2"})
    api.ctl("/ctl/modify", {"namespace": "shop", "name": "cache",
                            "annotations": {"tcprio.io/class": "bulk"}})
    tap.ok("198.18.1.11" in tl.endpoints(pin_dir), "while the agent is down the entries remain")
    agent.start()
    del want["198.18.1.11"]
    want["198.18.1.15"] = ("bulk", "annotation")
    check(pin_dir, want, "restarted agent reconciles: entries of pods deleted while down removed")


def config_cases(api, agent, pin_dir, cfg, want):
    with open(cfg + ".new", "w") as f:
        f.write(CLASSES_V1.replace("{name: high, dscp: AF41", "{name: high, dscp: AF31"))
    os.rename(cfg + ".new", cfg)
    ok = tl.wait_for(lambda: [c["dscp"] for c in tl.status(pin_dir)["classes"]
                              if c["name"] == "high"] == [26], 5)
    tap.ok(ok, "changed class table reloaded without restart (high: DSCP 26)")
    with open(cfg + ".new", "w") as f:
        f.write("classes:\n  - {name: critical, dscp: 99}\n")
    os.rename(cfg + ".new", cfg)
    tap.ok(agent.wait_log("rejected", 5), "invalid class table rejected with an error")
    time.sleep(0.3)
    tap.eq([c["dscp"] for c in tl.status(pin_dir)["classes"] if c["name"] == "high"], [26],
           "invalid class table: running table kept")
    check(pin_dir, want, "invalid class table: endpoints kept")
    with open(cfg + ".new", "w") as f:
        f.write(CLASSES_V1 + "enabled: false\n")
    os.rename(cfg + ".new", cfg)
    tap.ok(tl.wait_for(lambda: tl.status(pin_dir)["config"]["enabled"] is False, 5),
           "enabled: false in the class table turns classification off live")
    with open(cfg + ".new", "w") as f:
        f.write(CLASSES_V1)
    os.rename(cfg + ".new", cfg)
    tap.ok(tl.wait_for(lambda: tl.status(pin_dir)["config"]["enabled"] is True, 5),
           "and removing it turns classification back on")
    # a deleted config file, then a symlink loop: one warning each, table kept
    os.unlink(cfg)
    tap.ok(agent.wait_log("No such file or directory; keeping the running class table", 5),
           "deleted config file: a warning")
    os.symlink(os.path.basename(cfg), cfg)  # points at itself
    tap.ok(agent.wait_log("Too many levels of symbolic links; keeping the running class table", 5),
           "config file a symlink loop: a warning")
    time.sleep(2.2)
    text = agent.log_text()
    tap.ok(text.count("No such file or directory; keeping") == 1 and
           text.count("symbolic links; keeping") == 1, "each warned once, not every second")
    check(pin_dir, want, "config file gone: endpoints kept")
    os.unlink(cfg)
    with open(cfg, "w") as f:
        f.write(CLASSES_V1)
    tap.ok(agent.wait_log("is readable again", 5), "config file back: reloaded")


def manual_cases(agent, pin_dir, want):
    """`tcprio endpoint del` of a pod's IP: refused while the agent owns it;
    with --force the entry goes, and the agent's periodic check writes it
    back (it stayed gone until that pod changed)."""
    eps = tl.endpoints(pin_dir)
    ip = next(i for i, (c, s) in sorted(want.items()) if s == "annotation" and i in eps)
    pod = eps[ip][0]
    r = subprocess.run([tl.TCPRIO, "endpoint", "del", ip, "--pin-dir", pin_dir],
                       capture_output=True, text=True)
    tap.ok(r.returncode == 1 and "%s's entry and the agent running with" % pod in r.stderr
           and ip in tl.endpoints(pin_dir), "endpoint del of a pod's IP refused while the agent runs",
           r.stderr[-300:])
    r = subprocess.run([tl.TCPRIO, "endpoint", "del", ip, "--force", "--pin-dir", pin_dir],
                       capture_output=True, text=True)
    tap.ok(r.returncode == 0 and ip not in tl.endpoints(pin_dir), "--force: removed", r.stderr[-300:])
    t0 = time.monotonic()
    check_ok = tl.wait_for(lambda: tl.endpoints(pin_dir).get(ip, (None,) * 4)[1:3] == want[ip], 15, 0.2)
    tap.ok(check_ok and agent.wait_log("changed or deleted behind the agent's back", 1),
           "the agent writes the pod's entry back (after %.1f s; checked every 10 s)"
           % (time.monotonic() - t0))


def slot_cases(agent, pin_dir):
    """A slot that disagrees with tcprio_endpoints (as an older tcprio
    binary, which writes the hash alone, leaves one) is emptied by the
    agent's periodic check, which logs it (include/tcprio.h, "Endpoint
    slots")."""
    path = os.path.join(pin_dir, "tcprio_ep_slots")
    dump = json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "pinned", path],
                                     capture_output=True, text=True, check=True).stdout)
    held = [e for e in dump if e["formatted"]["value"]["ep"]["pod_id"]]
    tap.ok(len(held) > 0, "the agent's endpoints have slots (%d)" % len(held))
    if not held:
        return
    e = held[0]
    value = list(e["value"])
    value[24] = "0x%02x" % (int(value[24], 16) ^ 3)   # ep.class_id, now another class
    subprocess.run(["bpftool", "map", "update", "pinned", path, "key"] + e["key"] +
                   ["value"] + value, check=True, capture_output=True)
    t0 = time.monotonic()
    emptied = agent.wait_log("tcprio_ep_slots: emptied 1 slot(s)", 15)
    got = json.loads(subprocess.run(["bpftool", "-j", "map", "lookup", "pinned", path, "key"] +
                                    e["key"], capture_output=True, text=True).stdout or "{}")
    tap.ok(emptied and got.get("formatted", {}).get("value", {}).get("ep", {}).get("pod_id") == 0,
           "a slot planted to disagree with the hash is emptied by the periodic check "
           "(after %.1f s)" % (time.monotonic() - t0))


def metrics_cases(agent, pin_dir, want):
    url = agent.metrics_url()
    tap.ok(url is not None, "agent logs its metrics address")
    if not url:
        return
    base = url.rsplit("/", 1)[0]
    with urllib.request.urlopen(base + "/readyz", timeout=5) as r:
        tap.eq(r.status, 200, "/readyz 200 once synced")
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    line = [l for l in text.splitlines() if l.startswith("tcprio_endpoints ")]
    tap.eq([float(l.split()[1]) for l in line], [float(len(tl.endpoints(pin_dir)))],
           "/metrics tcprio_endpoints equals the entries in the map")
    tap.ok("tcprio_watch_relists_total" in text and "tcprio_convergence_seconds_bucket" in text,
           "/metrics has watch and convergence metrics")


def run_cases(api, agent, pin_dir, cfg):
    fixture_eps = initial_list_cases(api, agent, pin_dir)
    base = {ip: (c, s) for ip, (_, c, s, _) in tl.endpoints(pin_dir).items()}
    base["198.18.1.11"] = ("normal", "default", ["5432/tcp=critical", "9100/tcp=bulk", "9100/udp=bulk"])
    want = event_cases(api, agent, pin_dir, base)
    want = {ip: v[:2] for ip, v in want.items()}
    want = relist_cases(api, agent, pin_dir, want)
    restart_cases(api, agent, pin_dir, want)
    config_cases(api, agent, pin_dir, cfg, want)
    manual_cases(agent, pin_dir, want)
    slot_cases(agent, pin_dir)
    metrics_cases(agent, pin_dir, want)
    tap.ok(len(fixture_eps) > 0 and all(ip in want for ip in fixture_eps),
           "fixture pods' entries survive every event, relist and restart")
    rc = agent.stop(signal.SIGTERM)
    tap.eq(rc, 0, "SIGTERM: clean exit")
    tap.ok(os.path.exists(os.path.join(pin_dir, "tcprio_endpoints")) and len(tl.endpoints(pin_dir)) == len(want),
           "SIGTERM leaves the datapath pinned with its entries")


if __name__ == "__main__":
    sys.exit(main())
