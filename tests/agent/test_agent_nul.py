#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_agent_nul.py - a NUL character (JSON "\\u0000") in a pod's annotation
value does not stop pod sync: that pod gets the default class with source
bad-annotation and one warning saying "contains a NUL character", in the
initial list and in a watch event, and pods listed or added after it are
synced.  Also: a pod IP of 0.0.0.0 is not made an endpoint.
Needs root (bpf); runs in the root network namespace but attaches nothing
(--pod-ifaces matches no interface), with its own pin folder.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

NODE = "tpt-nul-node"
tap = tl.Tap()

CLASSES = """classes:
  - {name: critical, dscp: EF, priority: "1:10"}
  - {name: normal, dscp: 0, priority: "1:30"}
  - {name: bulk, dscp: LE, priority: "1:40"}
defaultClass: normal
"""


def add_pod(api, name, ips, annotations=None):
    return tl.add_pod(api, NODE, "nul", name, ips, annotations)


def nul_warnings(agent, pod):
    return [l for l in agent.log_text().splitlines()
            if "contains a NUL character" in l and pod in l]


def run_cases(api, agent, pin_dir):
    tap.ok(agent.wait_log("pod list synced", 15),
           "initial list with a NUL in an annotation value is synced (agent ready)")
    want = {"198.18.7.10": ("normal", "bad-annotation"),
            "198.18.7.11": ("critical", "annotation")}
    tap.eq(tl.converge(pin_dir, want, 10.0), want,
           "listed pod with NUL in tcprio.io/class: default class, bad-annotation; next pod synced")
    w = nul_warnings(agent, "nul/listed")
    tap.ok(len(w) >= 1 and "tcprio.io/class" in w[0] and "\\u0000" in w[0],
           "warning names the pod, the annotation and says it contains a NUL", w)

    add_pod(api, "watched", ["198.18.7.12"], {"tcprio.io/class": "bulk\u0000evil",
                                              "tcprio.io/ports": "80=critical"})
    add_pod(api, "after", ["198.18.7.13"], {"tcprio.io/class": "bulk"})
    want["198.18.7.12"] = ("normal", "bad-annotation")
    want["198.18.7.13"] = ("bulk", "annotation")
    tap.eq(tl.converge(pin_dir, want, 10.0), want,
           "watched pod with NUL: default class, bad-annotation; pod added after it synced")
    ports = tl.endpoints(pin_dir).get("198.18.7.12", (None, None, None, None))[3]
    tap.eq(ports, [], "watched pod with NUL in its class: tcprio.io/ports ignored")

    add_pod(api, "ports", ["198.18.7.14"], {"tcprio.io/class": "critical",
                                            "tcprio.io/ports": "5432=bulk\u0000"})
    want["198.18.7.14"] = ("normal", "bad-annotation")
    tap.eq(tl.converge(pin_dir, want, 10.0), want,
           "NUL in tcprio.io/ports only: default class, as for every bad annotation")
    tap.eq(tl.endpoints(pin_dir)["198.18.7.14"][3], [], "NUL in tcprio.io/ports: no port rules")
    tap.ok(tl.wait_for(lambda: nul_warnings(agent, "nul/ports"), 5),
           "NUL in tcprio.io/ports: warning says so")

    add_pod(api, "zero", ["0.0.0.0"], {"tcprio.io/class": "critical"})
    add_pod(api, "last", ["198.18.7.15"])
    want["198.18.7.15"] = ("normal", "default")
    tap.eq(tl.converge(pin_dir, want, 10.0), want, "pod IP 0.0.0.0 gets no endpoint; next pod synced")
    note = [l for l in agent.log_text().splitlines() if "nul/zero" in l and '"0.0.0.0"' in l]
    tap.ok(len(note) == 1, "pod IP 0.0.0.0: one log line names the pod and the IP", note)
    tap.ok(agent.proc.poll() is None, "agent still running")
    tap.ok("reconnecting" not in agent.log_text() and "is not JSON" not in agent.log_text(),
           "no watch reconnect or skipped event")


def main():
    def body(st):
        api = st.start_api(NODE)
        add_pod(api, "listed", ["198.18.7.10"], {"tcprio.io/class": "critical\u0000x"})
        add_pod(api, "next", ["198.18.7.11"], {"tcprio.io/class": "critical"})
        run_cases(api, st.start_agent(), st.pin_dir)
    return tl.agent_suite(tap, 12, "nul", CLASSES, body)


if __name__ == "__main__":
    sys.exit(main())
