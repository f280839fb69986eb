#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_agent_start.py - the agent checks its inputs before it touches the
datapath, and one agent owns a pin folder.

- a missing kubeconfig stops the agent before anything is loaded or pinned;
- a second agent on the same pin folder refuses to start (flock) and the
  first keeps running;
- with --uplink-rate, a class table whose priorities cannot select an HTB
  leaf (major not 1) is refused at start and on reload (running table kept);
- an --uplink that does not exist yet is reported.
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
        tap.skip("agent start-up checks", "needs root (bpf syscalls, bpffs)")
        return tap.done()
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

        log = open(os.path.join(tmp, "first.log"), "w")
        first = subprocess.Popen([tl.TCPRIO, "agent", "--no-kube", "--pin-dir", pin,
                                  "--uplink", "tptnone0"] + BASE, stdout=log, stderr=log)
        tap.ok(tl.wait_for(lambda: os.path.exists(os.path.join(pin, "tcprio_endpoints")), 10),
               "first agent pins its maps")
        time.sleep(0.3)
        with open(log.name) as f:
            text = f.read()
        tap.ok("uplink tptnone0 does not exist" in text, "missing uplink reported", text[-400:])
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
    except Exception as e:
        tap.ok(False, "test harness", repr(e))
    finally:
        if first is not None:
            first.kill()
            first.wait()
        subprocess.run([tl.TCPRIO, "detach", "--pin-dir", pin], capture_output=True)
        subprocess.run(["rm", "-rf", tmp])
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
