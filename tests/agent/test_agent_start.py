#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_agent_start.py - the agent checks its inputs before it touches the
datapath, and one agent owns a pin folder.

- a missing kubeconfig stops the agent before anything is loaded or pinned;
- a second agent on the same pin folder refuses to start (flock) and the
  first keeps running;
- with --uplink-rate, a class table whose priorities cannot select an HTB
  leaf (major not 1) is refused at start and on reload (running table kept);
- an --uplink that does not exist yet is reported;
- a pod-edge filter removed behind the agent's back is re-attached within
  the agent's 10 s re-check (in a network namespace of the test's own);
- in another namespace: /readyz is not ready while an --uplink does not
  exist (a misspelt name) and says so; `tcprio detach` is refused while the
  agent holds its pin folder; an HTB tree removed behind the agent's back
  makes /readyz not ready and is installed again; a second agent with
  another pin folder in the same network namespace is refused, naming the
  first one's pid and pin folder; an agent under `ip netns exec` (a bpffs
  of its own) warns that its pins vanish.
Needs root; attaches nothing (--pod-ifaces matches no interface, the uplink
names do not exist).
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

tap = tl.Tap()
BASE = ["--metrics-address", "off", "--pod-ifaces", "tptnomatch-*"]


def run_agent(args, timeout=10):
    return subprocess.run([tl.TCPRIO, "agent"] + args, capture_output=True, text=True,
                          timeout=timeout)


def main():
    if os.geteuid() != 0:
        return tap.skip_all("needs root (bpf syscalls, bpffs)")
    tap.plan(27)
    tl.ensure_bpffs()
    pin = tl.pin_dir_for("start")
    tmp = tempfile.mkdtemp(prefix="tcprio-start-")
    first = None
    try:
        r = run_agent(["--kubeconfig", "/nonexistent/kubeconfig", "--node-name", "n", "--pin-dir", pin] + BASE)
        tap.eq(r.returncode, 1, "missing kubeconfig: exit 1")
        tap.ok("/nonexistent/kubeconfig" in r.stderr and "datapath was not touched" in r.stderr,
               "missing kubeconfig: the error names the file", r.stderr[-400:])
        tap.ok(not os.path.exists(pin), "missing kubeconfig: nothing pinned")
        r = run_agent(["--no-kube", "--pin-dir", pin, "--attach-mode", "tcx2"] + BASE)
        tap.ok(r.returncode == 2 and "--attach-mode 'tcx2': expected auto, tcx or tc" in r.stderr
               and not os.path.exists(pin), "--attach-mode tcx2: usage error, nothing pinned",
               r.stderr[-300:])

        log = open(os.path.join(tmp, "first.log"), "w")
        first = subprocess.Popen([tl.TCPRIO, "agent", "--no-kube", "--pin-dir", pin,
                                  "--uplink", "tptnone0"] + BASE, stdout=log, stderr=log)
        tap.ok(tl.wait_for(lambda: os.path.exists(os.path.join(pin, "tcprio_endpoints")), 10),
               "first agent pins its maps")
        # the agent logs the missing uplink after pinning: wait for the line
        # (a fixed 0.3 s was too short once on the loaded CI machine)
        tap.ok(tl.wait_for(lambda: "uplink tptnone0 does not exist" in open(log.name).read(), 5),
               "missing uplink reported", open(log.name).read()[-400:])
        r = run_agent(["--no-kube", "--pin-dir", pin] + BASE)
        tap.eq(r.returncode, 1, "second agent on the same pin folder: exit 1")
        tap.ok("another tcprio agent is running" in r.stderr, "second agent says why", r.stderr[-400:])
        tap.ok(first.poll() is None, "first agent still running")
        first.send_signal(signal.SIGTERM)
        tap.eq(first.wait(10), 0, "first agent stops cleanly")
        first = None
        log.close()

        cfg = os.path.join(tmp, "classes.yaml")
        with open(cfg, "w") as f:
            f.write("classes:\n  - {name: critical, dscp: 46, priority: \"2:10\"}\n"
                    "  - {name: normal, dscp: 0, priority: \"1:30\"}\ndefaultClass: normal\n")
        r = run_agent(["--no-kube", "--pin-dir", pin, "--config", cfg, "--uplink", "tptnone0",
                       "--uplink-rate", "50mbit"] + BASE)
        tap.eq(r.returncode, 1, "--uplink-rate with a class at 2:10: refused at start")
        tap.ok("class critical" in r.stderr and "1:MINOR" in r.stderr, "the error names the class",
               r.stderr[-400:])
        reattach_case(pin, tmp)
        netns_cases(tmp)
    except Exception as e:
        tap.ok(False, "test harness", repr(e))
    finally:
        if first is not None:
            first.kill()
            first.wait()
        subprocess.run([tl.TCPRIO, "detach", "--pin-dir", pin], capture_output=True)
        subprocess.run(["rm", "-rf", tmp])
    return tap.done()


def end_netns_case(agent, nsx, ns, detach_args):
    """A case's clean-up, also after a failure: kill its agent if it still
    runs (agent: Popen or None), `tcprio detach detach_args` inside the
    namespace, delete the namespace."""
    if agent is not None:
        agent.kill()
        agent.wait()
    subprocess.run(nsx + [tl.TCPRIO, "detach"] + detach_args, capture_output=True)
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def reattach_case(pin, tmp):
    ns = "tptstart-%d" % os.getpid()
    nsx = ["nsenter", "--net=/var/run/netns/" + ns]
    agent = None
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        subprocess.run(nsx + ["ip", "link", "add", "tptsv0", "type", "veth", "peer", "name", "tptsp0"],
                       check=True)
        subprocess.run(nsx + ["ip", "link", "set", "tptsv0", "up"], check=True)
        log = open(os.path.join(tmp, "ns.log"), "w")
        agent = subprocess.Popen(nsx + [tl.TCPRIO, "agent", "--no-kube", "--pin-dir", pin,
                                        "--metrics-address", "off", "--pod-ifaces", "tptsv*",
                                        "--attach-mode", "tc"],
                                 stdout=log, stderr=log)

        def filters():
            return subprocess.run(nsx + ["tc", "filter", "show", "dev", "tptsv0", "ingress"],
                                  capture_output=True, text=True).stdout
        tap.ok(tl.wait_for(lambda: "tcprio_pod_edge" in filters(), 5), "pod-edge filter attached")
        subprocess.run(nsx + ["tc", "filter", "del", "dev", "tptsv0", "ingress", "pref", "1"],
                       check=True)
        tap.ok("tcprio_pod_edge" not in filters(), "filter removed behind the agent's back")
        t0 = time.monotonic()
        ok = tl.wait_for(lambda: "tcprio_pod_edge" in filters(), 15, 0.1)
        tap.ok(ok, "agent re-attaches it (after %.1f s; re-check every 10 s)" % (time.monotonic() - t0))
        with open(log.name) as f:
            text = f.read()
        tap.ok("tptsv0: tcprio program missing at ingress; re-attaching" in text, "and logs it",
               text[-300:])
        agent.send_signal(signal.SIGTERM)
        agent.wait(10)
        agent = None
    finally:
        end_netns_case(agent, nsx, ns, ["--pin-dir", pin])


def readyz(nsx, port):
    """(status, body) of /readyz inside the namespace."""
    code = ("import urllib.request, urllib.error\n"
            "try:\n"
            "    r = urllib.request.urlopen('http://127.0.0.1:%d/readyz', timeout=2)\n"
            "    print(r.status, r.read().decode())\n"
            "except urllib.error.HTTPError as e:\n"
            "    print(e.code, e.read().decode())\n"
            "except Exception as e:\n"
            "    print(0, e)\n" % port)
    out = subprocess.run(nsx + ["python3", "-c", code], capture_output=True, text=True).stdout
    st, _, body = out.partition(" ")
    return int(st or 0), body.strip()


def netns_cases(tmp):
    ns = "tptstart2-%d" % os.getpid()
    nsx = ["nsenter", "--net=/var/run/netns/" + ns]
    pin_a, pin_b = tl.pin_dir_for("start-a"), tl.pin_dir_for("start-b")
    port = 19471
    agent = None
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        for cmd in (["ip", "link", "set", "lo", "up"],  # veths: no dummy module on every machine
                    ["ip", "link", "add", "tptsu0", "type", "veth", "peer", "name", "tptsup0"],
                    ["ip", "link", "set", "tptsu0", "up"]):
            subprocess.run(nsx + cmd, check=True)
        log = open(os.path.join(tmp, "a.log"), "w")
        agent = subprocess.Popen(nsx + [tl.TCPRIO, "agent", "--no-kube", "--pin-dir", pin_a,
                                        "--uplink", "tptsu0,tptmisspelt0", "--uplink-rate", "10mbit",
                                        "--metrics-address", "127.0.0.1:%d" % port,
                                        "--probe-address", "off", "--pod-ifaces", "tptnomatch*"],
                                 stdout=log, stderr=log)
        want = "uplink tptmisspelt0 does not exist (check --uplink)"
        got = [None]
        tap.ok(tl.wait_for(lambda: want in (got.__setitem__(0, readyz(nsx, port)) or got[0])[1], 8,
                           0.2) and got[0][0] == 503,
               "misspelt --uplink: /readyz 503 naming it", got[0])
        subprocess.run(nsx + ["ip", "link", "add", "tptmisspelt0", "type", "veth", "peer", "name",
                              "tptmsp0"], check=True)
        subprocess.run(nsx + ["ip", "link", "set", "tptmisspelt0", "up"], check=True)
        tap.ok(tl.wait_for(lambda: readyz(nsx, port)[0] == 200, 5, 0.2),
               "the uplink appears, is attached: /readyz 200")

        r = subprocess.run(nsx + [tl.TCPRIO, "detach", "--pin-dir", pin_a], capture_output=True,
                           text=True)
        tap.ok(r.returncode == 1 and "an agent is running with pin folder %s" % pin_a in r.stderr,
               "tcprio detach refused while the agent runs", r.stderr[-300:])
        qd = subprocess.run(nsx + ["tc", "qdisc", "show", "dev", "tptsu0"], capture_output=True,
                            text=True).stdout
        tap.ok("htb 1:" in qd, "refused detach: HTB tree still there", qd)

        subprocess.run(nsx + ["tc", "qdisc", "del", "dev", "tptsu0", "root"], check=True)
        got = [None]
        tap.ok(tl.wait_for(lambda: "uplink tptsu0: HTB tree missing" in
                           (got.__setitem__(0, readyz(nsx, port)) or got[0])[1], 4, 0.2),
               "HTB tree removed behind the agent's back: /readyz says so", got[0])
        t0 = time.monotonic()
        tap.ok(tl.wait_for(lambda: readyz(nsx, port)[0] == 200, 15, 0.3),
               "the agent installs it again: /readyz 200 (after %.1f s; re-check every 10 s)"
               % (time.monotonic() - t0))
        with open(log.name) as f:
            text = f.read()
        tap.ok("tptsu0: HTB tree missing; installing it again" in text, "and logs it", text[-300:])

        r = subprocess.run(nsx + [tl.TCPRIO, "agent", "--no-kube", "--pin-dir", pin_b] + BASE,
                           capture_output=True, text=True, timeout=10)
        tap.eq(r.returncode, 1, "second agent, other pin folder, same network namespace: exit 1")
        tap.ok("another tcprio agent is running in this network namespace: pid %d, pin folder %s"
               % (agent.pid, pin_a) in r.stderr, "the refusal names the first's pid and pin folder",
               r.stderr[-400:])
        agent.send_signal(signal.SIGTERM)
        tap.eq(agent.wait(10), 0, "first agent stops cleanly")
        agent = None

        # `ip netns exec` mounts a /sys of its own: a private bpffs
        log = open(os.path.join(tmp, "c.log"), "w")
        agent = subprocess.Popen(["ip", "netns", "exec", ns, tl.TCPRIO, "agent", "--no-kube",
                                  "--pin-dir", pin_b] + BASE, stdout=log, stderr=log)
        tap.ok(tl.wait_for(lambda: "only this mount namespace sees" in open(log.name).read(), 5),
               "under ip netns exec: a warning that the pins vanish", open(log.name).read()[-300:])
        agent.send_signal(signal.SIGTERM)
        agent.wait(10)
        agent = None
    finally:
        end_netns_case(agent, nsx, ns, ["--force", "--pin-dir", pin_a])
        subprocess.run(["rm", "-rf", pin_a, pin_b], capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
