#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_agent_probes.py - the kubelet's probes cannot be starved by clients
of the metrics port.

Before: the metrics server took 16 connections and held each up to 10 s;
16 idle TCP connections to :9465 made most /healthz probes fail, which would
get the agent restarted by its liveness probe.  Now the probes have a
listener of their own on 127.0.0.1 (--probe-address), and the metrics port
limits each client address (4 connections) and closes idle ones after 5 s.

In a network namespace of its own (loopback only; the agent is entered with
setns(2) on the network namespace alone, so bpffs is the host's), an agent
(--no-kube) listens on 0.0.0.0:19465 (metrics) and 127.0.0.1:19466 (probes).
For about 6 s, 127.0.0.1 and 127.0.0.3 open idle connections to the metrics
port without pause, and 40 slow clients trickle one header byte a second.
Meanwhile: every /healthz and /readyz probe on the probe port answers
within 1 s; a /metrics scrape from another client address (127.0.0.2)
answers within 2 s; the probe port serves nothing else.  Bounded: the flood
stops after 6 s, every socket has a timeout, the agent is stopped in
`finally`, the namespace deleted.
"""
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

NS = "tpt-probes"
METRICS, PROBES = 19465, 19466
FLOOD_S = 6.0
CLONE_NEWNET = 0x40000000
tap = tl.Tap()


def enter_netns(name):
    """setns(2) this thread (and the threads and processes it starts) into
    the network namespace name; the mount namespace stays."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + name)
    finally:
        os.close(fd)


def get(url, src=None, timeout=1.0):
    """(status, body) of GET url from source address src, or (None, error)."""
    host, port = url.split("/")[2].split(":")
    path = "/" + url.split("/", 3)[3]
    try:
        with socket.create_connection((host, int(port)), timeout=timeout,
                                      source_address=(src, 0) if src else None) as s:
            s.settimeout(timeout)
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body.decode(errors="replace")
    except (OSError, ValueError, IndexError) as e:
        return None, repr(e)


class Flood:
    """Idle connections from given source addresses, opened without pause,
    and slow clients sending one header byte a second, until stop()."""

    def __init__(self, sources, slow):
        self.stop_at = time.monotonic() + FLOOD_S
        self.opened = 0
        self.slow_sent = 0
        self.socks = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.idle, args=(s,)) for s in sources]
        self.threads.append(threading.Thread(target=self.trickle, args=(slow,)))
        for t in self.threads:
            t.start()

    def idle(self, src):
        while time.monotonic() < self.stop_at:
            try:
                s = socket.create_connection(("127.0.0.1", METRICS), timeout=0.5,
                                             source_address=(src, 0))
                with self.lock:
                    self.socks.append(s)
                    self.opened += 1
                    if len(self.socks) > 400:  # keep the newest; the server closed the old
                        self.socks.pop(0).close()
                time.sleep(0.005)  # at most 200 connections a second per address
            except OSError:
                time.sleep(0.01)

    def trickle(self, n):
        conns = []
        for i in range(n):
            try:
                s = socket.create_connection(("127.0.0.1", METRICS), timeout=0.5,
                                             source_address=("127.0.0.%d" % (10 + i), 0))
                s.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
                conns.append(s)
            except OSError:
                pass
        while time.monotonic() < self.stop_at:
            for s in conns:
                try:
                    s.send(b"a")
                    self.slow_sent += 1
                except OSError:
                    pass
            time.sleep(1.0)
        for s in conns:
            s.close()

    def join(self):
        for t in self.threads:
            t.join(FLOOD_S + 5)
        with self.lock:
            for s in self.socks:
                s.close()
            self.socks = []


def main():
    if os.geteuid() != 0:
        return tap.skip_all("needs root (bpf syscalls, network namespaces)")
    if not os.path.exists(tl.TCPRIO):
        tap.plan(1)
        tap.ok(False, "build/tcprio exists", "run make first")
        return tap.done()
    tap.plan(8)
    tl.ensure_bpffs()
    pin = tl.pin_dir_for("probes")
    logpath = tempfile.mktemp(prefix="tcprio-probes-", suffix=".log")
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    subprocess.run(["ip", "netns", "add", NS], check=True)
    agent = None
    try:
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)
        enter_netns(NS)
        with open(logpath, "w") as log:
            agent = subprocess.Popen([tl.TCPRIO, "agent", "--no-kube", "--pin-dir", pin,
                                      "--metrics-address", "0.0.0.0:%d" % METRICS,
                                      "--probe-address", "127.0.0.1:%d" % PROBES,
                                      "--pod-ifaces", "tptnomatch-*"],
                                     stdout=log, stderr=log, preexec_fn=tl.die_with_parent)
        up = tl.wait_for(lambda: get("http://127.0.0.1:%d/healthz" % PROBES)[0] == 200, 10, 0.1)
        tap.ok(up, "agent serves /healthz on the probe listener 127.0.0.1:%d" % PROBES,
               open(logpath).read()[-600:])
        tap.eq(get("http://127.0.0.1:%d/metrics" % PROBES)[0], 404,
               "the probe listener serves /healthz and /readyz only")

        flood = Flood(["127.0.0.1", "127.0.0.3"], 40)
        time.sleep(0.5)  # let the flood fill the metrics server first
        probes, failed, slowest = 0, [], 0.0
        scrapes, scrape_failed = 0, []
        while time.monotonic() < flood.stop_at - 0.2:
            for path in ("/healthz", "/readyz"):
                t0 = time.monotonic()
                st, body = get("http://127.0.0.1:%d%s" % (PROBES, path))
                slowest = max(slowest, time.monotonic() - t0)
                probes += 1
                if st not in (200, 503) or (path == "/healthz" and st != 200):
                    failed.append((path, st, body[:80]))
            st, body = get("http://127.0.0.1:%d/metrics" % METRICS, src="127.0.0.2", timeout=2.0)
            scrapes += 1
            if st != 200 or "tcprio_ready" not in body:
                scrape_failed.append((st, body[:80]))
            time.sleep(0.2)
        flood.join()
        tap.ok(flood.opened >= 100 and flood.slow_sent >= 40,
               "the flood ran: %d idle connections opened, %d slow header bytes sent"
               % (flood.opened, flood.slow_sent))
        tap.ok(probes >= 20 and not failed,
               "every probe answered during the flood (%d probes, slowest %.3f s)"
               % (probes, slowest), failed[:5])
        tap.ok(slowest < 1.0, "each probe answered within 1 s (slowest %.3f s)" % slowest)
        tap.ok(scrapes >= 10 and not scrape_failed,
               "/metrics from another client address answered during the flood (%d scrapes)"
               % scrapes, scrape_failed[:5])
        tap.ok(agent.poll() is None, "agent still running after the flood")
        agent.send_signal(signal.SIGTERM)
        tap.eq(agent.wait(10), 0, "agent stops cleanly")
        agent = None
    except Exception as e:  # a crash of the harness is a failure, not a silent stop
        tap.ok(False, "test harness", repr(e))
    finally:
        if agent and agent.poll() is None:
            agent.kill()
            agent.wait()
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        subprocess.run(["rm", "-rf", pin], capture_output=True)
        if os.path.exists(logpath):
            tap.diag("agent log tail:\n" + "\n".join(open(logpath).read().splitlines()[-8:]))
            os.unlink(logpath)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
