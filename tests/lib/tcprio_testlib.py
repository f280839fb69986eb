# SPDX-License-Identifier: BSD-2-Clause
"""tcprio_testlib.py - shared by the agent's Python tests and benchmarks.

Starts the test API server (tests/apiserver/fake_apiserver.py) and a tcprio
agent against it, each with its own state folder and pin folder, and reads
the agent's maps back through `tcprio status --json`.  Everything started
here is stopped by PID in close(), also when a test fails.  TAP output.
"""
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TCPRIO = os.path.join(ROOT, "build", "tcprio")
APISERVER = os.path.join(ROOT, "tests", "apiserver", "fake_apiserver.py")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


class Tap:
    """Minimal TAP producer: a plan declared up front (plan(n) or skip_all),
    ok/not ok lines, diagnostics.  done() fails the suite when the number of
    results is not the plan's (tests/run_tests.sh checks it too)."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.planned = None

    def plan(self, n):
        """Declare that n results follow; call before the first one."""
        self.planned = n
        print("1..%d" % n, flush=True)

    def skip_all(self, why):
        """Skip the whole suite (the machine lacks `why`); returns exit code 0."""
        print("1..0 # SKIP %s" % why, flush=True)
        return 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name), flush=True)
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines():
                    print("# " + line, flush=True)
        return cond

    def eq(self, got, want, name, diag=None):
        """ok when got == want; on failure both are printed, then diag."""
        text = "expected: %r\n     got: %r" % (want, got)
        return self.ok(got == want, name, text if diag is None else text + "\n" + str(diag))

    def skip(self, name, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why), flush=True)

    def diag(self, msg):
        for line in str(msg).splitlines():
            print("# " + line, flush=True)

    def done(self):
        """The exit code: 1 when a check failed, no plan was declared or the
        number of results differs from it."""
        if self.planned is None:
            self.diag("no plan declared before the results (Tap.plan)")
            return 1
        if self.n != self.planned:
            self.diag("planned %d results, printed %d" % (self.planned, self.n))
            return 1
        return 1 if self.failed else 0


def wait_for(cond, timeout=5.0, interval=0.005):
    """Poll cond() until it returns a true value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


class ApiServer:
    """The test API server, started on 127.0.0.1 with ports picked by the OS."""

    def __init__(self, node, pods_files=(), extra=()):
        self.dir = tempfile.mkdtemp(prefix="tcprio-apiserver-")
        cmd = [sys.executable if sys.executable.startswith("/usr/bin") else "/usr/bin/python3",
               APISERVER, "--state-dir", self.dir, "--port", "0", "--control-port", "0",
               "--node", node, "--write-kubeconfig", os.path.join(self.dir, "kubeconfig")]
        for f in pods_files:
            cmd += ["--pods-file", f]
        cmd += list(extra)
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     preexec_fn=die_with_parent)
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            self.close()
            raise RuntimeError("test API server did not start: %r (log %s)" % (line, self.log.name))
        with open(os.path.join(self.dir, "ports.json")) as f:
            self.info = json.load(f)
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.control = "http://127.0.0.1:%d" % self.info["control_port"]

    def ctl(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.control + path, data=data,
                                     method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Agent:
    """A `tcprio agent` with its own pin folder and no interfaces to attach."""

    def __init__(self, kubeconfig, node, pin_dir, config=None, extra=()):
        self.pin_dir = pin_dir
        self.args = [TCPRIO, "agent", "--kubeconfig", kubeconfig, "--node-name", node,
                     "--pin-dir", pin_dir, "--metrics-address", "127.0.0.1:0",
                     "--probe-address", "127.0.0.1:0",
                     "--pod-ifaces", "tptnomatch-*"]
        if config:
            self.args += ["--config", config]
        self.args += list(extra)
        self.logpath = tempfile.mktemp(prefix="tcprio-agent-", suffix=".log")
        self.proc = None
        self.start()

    def start(self):
        self.log = open(self.logpath, "a")
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=self.log,
                                     preexec_fn=die_with_parent)

    def log_text(self):
        with open(self.logpath) as f:
            return f.read()

    def wait_log(self, needle, timeout=10.0, count=1):
        return wait_for(lambda: self.log_text().count(needle) >= count, timeout)

    def metrics_url(self):
        url = None  # the last start's address: a restarted agent gets a new port
        for line in self.log_text().splitlines():
            if "metrics on http://" in line:
                url = line.split("metrics on ")[1].strip()
        return url

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def rss_kib(self, field="VmHWM"):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return None

    def close(self):
        self.stop(signal.SIGKILL)
        subprocess.run([TCPRIO, "detach", "--pin-dir", self.pin_dir],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if os.path.exists(self.logpath):
            os.unlink(self.logpath)


def status(pin_dir):
    """`tcprio status --json` of pin_dir as a dict (raises on failure)."""
    out = subprocess.run([TCPRIO, "status", "--json", "--pin-dir", pin_dir],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def endpoints(pin_dir):
    """{ip: (pod, class, source, sorted ports)} from the pinned maps."""
    res = {}
    for e in status(pin_dir)["endpoints"]:
        ports = sorted("%d/%s=%s" % (p["port"], p["protocol"], p["class"]) for p in e["ports"])
        res[e["ip"]] = (e["pod"], e["class"], e["source"], ports)
    return res


def add_pod(api, node, namespace, name, ips, annotations=None, labels=None, **extra):
    """Add a running pod to the test API server, built from a real Pod object
    (fixture k9s-gke-pod-p1): uid "uid-NAME", label app=NAME unless labels
    are given; extra are further /ctl/add patches (phase, hostNetwork, ...)."""
    body = {"fixture": "k9s-gke-pod-p1", "name": name, "namespace": namespace,
            "uid": "uid-" + name, "node": node, "podIPs": ips,
            "annotations": annotations or {}, "labels": labels or {"app": name}}
    body.update(extra)
    return api.ctl("/ctl/add", body)


def converge(pin_dir, want, timeout=5.0):
    """Wait until the endpoints read back equal want (ip -> (class, source) or
    ip -> (class, source, ports)); returns what was read last, in that shape."""
    deadline = time.monotonic() + timeout
    while True:
        view = {}
        for ip, (pod, cls, src, ports) in endpoints(pin_dir).items():
            w = want.get(ip)
            view[ip] = (cls, src, ports) if w is not None and len(w) == 3 else (cls, src)
        if view == want or time.monotonic() > deadline:
            return view
        time.sleep(0.01)


def ensure_bpffs():
    if not os.path.ismount("/sys/fs/bpf"):
        subprocess.run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"], check=True)


def pin_dir_for(suite):
    return "/sys/fs/bpf/tcprio-test-%s-%d" % (suite, os.getpid())


def fixture(*parts):
    return os.path.join(FIXTURES, *parts)


# --- BPF map lookups through the bpf(2) syscall, for the convergence benchmark:
# polling `tcprio status` would measure process start-up, not the agent.
_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    """preexec_fn: the child gets SIGKILL when the test process dies
    (prctl PR_SET_PDEATHSIG), so a killed test leaves no server behind."""
    _libc.prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
_SYS_BPF = {"x86_64": 321, "aarch64": 280}.get(os.uname().machine, 321)
_BPF_MAP_LOOKUP_ELEM, _BPF_OBJ_GET = 1, 7


class _AttrObjGet(ctypes.Structure):
    _fields_ = [("pathname", ctypes.c_uint64), ("bpf_fd", ctypes.c_uint32),
                ("file_flags", ctypes.c_uint32), ("pad", ctypes.c_uint8 * 112)]


class _AttrElem(ctypes.Structure):
    _fields_ = [("map_fd", ctypes.c_uint32), ("pad0", ctypes.c_uint32),
                ("key", ctypes.c_uint64), ("value", ctypes.c_uint64),
                ("flags", ctypes.c_uint64), ("pad", ctypes.c_uint8 * 96)]


class PinnedMap:
    """A pinned BPF map opened with BPF_OBJ_GET; lookup() returns bytes or None."""

    def __init__(self, path, value_size):
        p = ctypes.create_string_buffer(path.encode())
        attr = _AttrObjGet(pathname=ctypes.addressof(p))
        fd = _libc.syscall(_SYS_BPF, _BPF_OBJ_GET, ctypes.byref(attr), ctypes.sizeof(attr))
        if fd < 0:
            raise OSError(ctypes.get_errno(), "BPF_OBJ_GET " + path)
        self.fd = fd
        self.value = ctypes.create_string_buffer(value_size)

    def lookup(self, key):
        k = ctypes.create_string_buffer(key, len(key))
        attr = _AttrElem(map_fd=self.fd, key=ctypes.addressof(k),
                         value=ctypes.addressof(self.value))
        r = _libc.syscall(_SYS_BPF, _BPF_MAP_LOOKUP_ELEM, ctypes.byref(attr), ctypes.sizeof(attr))
        return None if r < 0 else self.value.raw

    def close(self):
        os.close(self.fd)


def ip_key(ip):
    """The 16-byte tcprio_endpoints key of an address (IPv4-mapped for IPv4)."""
    import ipaddress
    a = ipaddress.ip_address(ip)
    if a.version == 4:
        return b"\0" * 10 + b"\xff\xff" + a.packed
    return a.packed
