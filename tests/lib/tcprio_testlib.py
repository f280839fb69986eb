# SPDX-License-Identifier: BSD-2-Clause
"""tcprio_testlib.py - shared by the agent's Python tests and benchmarks.

Starts the test API server (tests/apiserver/fake_apiserver.py) and a tcprio
agent against it, each with its own state folder and pin folder, and reads
the agent's maps back through `tcprio status --json`.  Everything started
here is stopped by PID in close(), also when a test fails.  TAP output.
Also the common frame of a suite (begin, guarded, temp_file) and network
namespaces for the suites with real traffic (Topology, InNetns, run).
"""
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TCPRIO = os.path.join(ROOT, "build", "tcprio")
APISERVER = os.path.join(ROOT, "tests", "apiserver", "fake_apiserver.py")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
# The class table the agent suites start from: the four built-in classes
# (critical EF 1:10, high AF41 1:20, normal 0 1:30 default, bulk LE 1:40),
# as YAML to which a suite appends its own keys.
CLASSES4 = """classes:
  - {name: critical, dscp: EF, priority: "1:10"}
  - {name: high, dscp: AF41, priority: "1:20"}
  - {name: normal, dscp: 0, priority: "1:30"}
  - {name: bulk, dscp: LE, priority: "1:40"}
defaultClass: normal
"""


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


def begin(tap, plan, needs="bpf syscalls, bpffs", tools=(), built=None):
    """The start of a suite that needs root and what make builds: SKIP the
    whole suite without root (needs says for what) or without one of the
    commands tools, declare plan, one failed result when a file of built
    (default: build/tcprio) is missing, mount bpffs.  Returns None to go
    on, else the suite's exit code."""
    if os.geteuid() != 0:
        return tap.skip_all("needs root (%s)" % needs)
    for tool in tools:
        if not shutil.which(tool):
            return tap.skip_all("%s not installed (scripts/install-deps.sh)" % tool)
    tap.plan(plan)
    for f in (TCPRIO,) if built is None else built:
        if not os.path.exists(f):
            tap.ok(False, "%s exists" % os.path.relpath(f, ROOT),
                   "make did not build it: run make first")
            return tap.done()
    ensure_bpffs()
    return None


def exit_on_signals():
    """SIGTERM and SIGINT raise SystemExit, so that finally blocks clean up."""
    def on_signal(sig, frame):
        raise SystemExit("signal %d" % sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def guarded(tap, body, cleanup, log=lambda: ""):
    """Run body(); a signal (SystemExit) or an exception is one failed
    result (with the traceback and log()), and cleanup() runs in any case."""
    try:
        body()
    except SystemExit:
        tap.ok(False, "test interrupted by a signal")
        raise
    except Exception as e:  # a crash of the harness is a failure, not a silent stop
        import traceback
        tap.ok(False, "test ran to the end", "%s\n%s\n%s" % (e, traceback.format_exc(), log()))
    finally:
        cleanup()


class temp_file:
    """with temp_file(text) as path: a file holding text (e.g. a class
    table), removed on exit."""

    def __init__(self, text, prefix="tcprio-cfg-", suffix=".yaml"):
        f = tempfile.NamedTemporaryFile("w", prefix=prefix, suffix=suffix, delete=False)
        f.write(text)
        f.close()
        self.path = f.name

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if os.path.exists(self.path):
            os.unlink(self.path)


def close_all(*things):
    """close() each thing that is not None, in order; an error is printed as
    a diagnostic and the rest are still closed."""
    for t in things:
        if t is not None:
            try:
                t.close()
            except Exception as e:  # keep cleaning up
                print("# cleanup: %s" % e, flush=True)


def write_file(folder, name, text):
    """Write text to folder/name; its path."""
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def kill_procs(procs, timeout=5.0):
    """SIGKILL every process of procs that still runs and reap it (waiting
    at most timeout seconds for each)."""
    for p in procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                pass


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

    def __init__(self, node, pods_files=(), extra=(), prepare=None):
        """prepare(state_dir), if given, runs before the server starts: to
        put certificates of the test's own there (the server makes its own
        only when the folder has no wrong-ca.crt)."""
        self.dir = tempfile.mkdtemp(prefix="tcprio-apiserver-")
        if prepare:
            prepare(self.dir)
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


class AgentSuite:
    """What an agent suite sets up: its pin folder (pin_dir_for(name)), a
    class-table file cfg holding table, the test API server (start_api)
    and an agent against it (start_agent), all closed by close(), which
    prints the agent's last log lines as a diagnostic first when asked
    (close(diag=True): a check failed)."""

    def __init__(self, name, table, log_lines=15):
        self.pin_dir = pin_dir_for(name)
        self._cfg = temp_file(table)
        self.cfg = self._cfg.path
        self.api = self.agent = None
        self.log_lines = log_lines

    def start_api(self, node, **kw):
        self.node = node
        self.api = ApiServer(node, **kw)
        return self.api

    def start_agent(self, **kw):
        self.agent = Agent(self.api.kubeconfig, self.node, self.pin_dir, config=self.cfg, **kw)
        return self.agent

    def log_tail(self):
        if not self.agent or not os.path.exists(self.agent.logpath):
            return ""
        return "\n".join(self.agent.log_text().splitlines()[-self.log_lines:])

    def close(self, diag=True):
        if self.agent and diag:
            print("# agent log tail:", flush=True)
            for line in self.log_tail().splitlines():
                print("# " + line, flush=True)
        close_all(self.agent, self.api, self._cfg)


def agent_suite(tap, plan, name, table, body, log_lines=15):
    """A whole agent suite: begin(tap, plan), then body(AgentSuite) under
    guarded() with the suite closed afterwards (the agent's last log lines
    printed if a check failed).  Returns the exit code."""
    rc = begin(tap, plan)
    if rc is not None:
        return rc
    suite = AgentSuite(name, table, log_lines)
    guarded(tap, lambda: body(suite), lambda: suite.close(diag=tap.failed > 0),
            suite.log_tail)
    return tap.done()


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


def map_value_size(fd):
    """The value size in bytes of the BPF map behind fd (fdinfo's
    value_size line).  Raises ValueError if fd is not a BPF map."""
    with open("/proc/self/fdinfo/%d" % fd) as f:
        for line in f:
            name, _, val = line.partition(":")
            if name == "value_size":
                return int(val)
    raise ValueError("fd %d is not a BPF map (no value_size in its fdinfo)" % fd)


class PinnedMap:
    """A pinned BPF map opened with BPF_OBJ_GET; lookup() returns bytes or None.
    The value buffer has the map's own value size (the kernel's, from
    /proc/self/fdinfo), so that a struct that grows cannot overrun it."""

    def __init__(self, path):
        p = ctypes.create_string_buffer(path.encode())
        attr = _AttrObjGet(pathname=ctypes.addressof(p))
        fd = _libc.syscall(_SYS_BPF, _BPF_OBJ_GET, ctypes.byref(attr), ctypes.sizeof(attr))
        if fd < 0:
            raise OSError(ctypes.get_errno(), "BPF_OBJ_GET " + path)
        self.fd = fd
        self.value = ctypes.create_string_buffer(map_value_size(fd))

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


# --- network namespaces, for the suites with real traffic -------------------

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/var/run/netns"


def run(*cmd, check=True, netns_path=None, **kw):
    """Run a command (in the network namespace at netns_path, with
    nsenter), 60 s at most; with check a failure raises RuntimeError naming
    the command, its exit status and its output."""
    if netns_path:
        cmd = ("nsenter", "--net=" + netns_path) + tuple(cmd)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s %s" % (" ".join(cmd), r.returncode, r.stdout.strip(),
                                                   r.stderr.strip()))
    return r


def setns_fd(fd):
    """Move the calling thread into the network namespace of fd."""
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def setns_path(path):
    """Move the calling thread into the network namespace at path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        setns_fd(fd)
    finally:
        os.close(fd)


class InNetns:
    """with InNetns(path): the calling thread is in the network namespace at
    path (only the network namespace: the host's bpffs stays visible, which
    `ip netns exec` would hide), and back where it was afterwards."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            setns_path(self.path)
        except Exception:
            os.close(self.back)
            raise

    def __exit__(self, *exc):
        try:
            setns_fd(self.back)
        finally:
            os.close(self.back)


class PacketCapture:
    """IPv4 packets arriving on interface ifname of the network namespace at
    netns_path (an AF_PACKET socket opened there, non-blocking; rcvbuf:
    bytes of receive buffer to force, SO_RCVBUFFORCE)."""

    def __init__(self, netns_path, ifname="eth0", rcvbuf=None):
        with InNetns(netns_path):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
            if rcvbuf:
                self.sock.setsockopt(socket.SOL_SOCKET, 33, rcvbuf)  # SO_RCVBUFFORCE
            self.sock.bind((ifname, 0x0800))
        self.sock.setblocking(False)

    def packets(self):
        """Each IPv4 packet (bytes from the IP header on, at least 20)
        received since the last call, until none is queued."""
        while True:
            try:
                frame, addr = self.sock.recvfrom(65535)
            except BlockingIOError:
                return
            ip = frame[14:]
            if addr[2] != socket.PACKET_OUTGOING and len(ip) >= 20 and ip[0] >> 4 == 4:
                yield ip

    def close(self):
        self.sock.close()


def kernel_has_tcx():
    """BPF_PROG_QUERY (16) for BPF_TCX_INGRESS (46) on lo answers, as the
    agent probes it; a kernel without tcx fails with EINVAL."""
    attr = (ctypes.c_uint32 * 18)(1, 46)  # target_ifindex, attach_type; rest 0
    return _libc.syscall(_SYS_BPF, 16, ctypes.byref(attr), ctypes.sizeof(attr)) == 0


class Topology:
    """A suite's network namespaces, named prefix + NAME (prefix with the
    test's pid, so that runs never collide).  add() creates them, enter()
    moves the test's thread into one; close() moves it back and deletes
    every namespace created, last first."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.created = []
        self.root_fd = None

    def ns(self, name):
        return self.prefix + name

    def path(self, name):
        return os.path.join(NETNS_DIR, self.ns(name))

    def run(self, *cmd, check=True, netns=None, **kw):
        """run() in namespace NAME netns (None: where the thread is)."""
        return run(*cmd, check=check, netns_path=self.path(netns) if netns else None, **kw)

    def ip(self, name, *args):
        return run("ip", "-n", self.ns(name), *args)

    def add(self, *names):
        """Create namespaces with lo up."""
        for n in names:
            run("ip", "netns", "add", self.ns(n))
            self.created.append(self.ns(n))
            self.ip(n, "link", "set", "lo", "up")

    def uplink(self, ifname, node_addr, remote_addr, routes=(), node="node", remote="remote"):
        """A veth ifname in node (node_addr, with its prefix length) to eth0
        in remote (remote_addr, same length), both up; forwarding on in
        node; remote routes each of routes via node."""
        self.run("sysctl", "-qw", "net.ipv4.ip_forward=1", netns=node)
        self.ip(node, "link", "add", ifname, "type", "veth", "peer", "name", "eth0",
                "netns", self.ns(remote))
        self.ip(node, "addr", "add", node_addr, "dev", ifname)
        self.ip(remote, "addr", "add", remote_addr, "dev", "eth0")
        self.ip(node, "link", "set", ifname, "up")
        self.ip(remote, "link", "set", "eth0", "up")
        for net in routes:
            self.ip(remote, "route", "add", net, "via", node_addr.split("/")[0])

    def pod(self, name, hostif, addr, gw, node="node"):
        """Pod NAME (namespace created already) wired as CNIs with /32
        pod routes do: eth0 addr/32 to veth hostif in node, which holds
        gw/32 and a /32 route to addr; the pod's default route is gw."""
        self.ip(node, "link", "add", hostif, "type", "veth", "peer", "name", "eth0",
                "netns", self.ns(name))
        self.ip(name, "addr", "add", addr + "/32", "dev", "eth0")
        self.ip(name, "link", "set", "eth0", "up")
        self.ip(name, "route", "add", gw, "dev", "eth0", "scope", "link")
        self.ip(name, "route", "add", "default", "via", gw, "dev", "eth0")
        self.ip(node, "addr", "add", gw + "/32", "dev", hostif)
        self.ip(node, "link", "set", hostif, "up")
        self.ip(node, "route", "add", addr + "/32", "dev", hostif)

    def enter(self, name):
        """Move the calling thread into namespace NAME until close()."""
        if self.root_fd is None:
            self.root_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        setns_path(self.path(name))

    def close(self):
        if self.root_fd is not None:
            setns_fd(self.root_fd)
            os.close(self.root_fd)
            self.root_fd = None
        for n in reversed(self.created):
            run("ip", "netns", "del", n, check=False)
        self.created = []


# --- Traffic rigs: fixed-name namespaces (ip netns, /run/netns/NAME) with
# an agent, TCP sinks and an AF_PACKET sniffer, for the suites that judge
# real traffic by the HTB counters and the frames on the wire
# (tests/node/test_site_traffic.py, test_gateway_traffic.py).

# Sniffer: IPv4 frames arriving on argv[1] for argv[2] seconds; prints one
# JSON line: {"max": {dst: largest TCP frame, bytes}, "n": {dst: TCP frames},
# "tos": {"PROTO/DSCP": frames of every protocol}}.
_SNIFF = r"""
import socket, sys, time, json
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((sys.argv[1], 0))
s.settimeout(0.2)
mx, n, tos = {}, {}, {}
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        f = s.recv(70000)
    except socket.timeout:
        continue
    if len(f) < 34:
        continue
    key = "%d/%d" % (f[23], f[15] >> 2)   # protocol / DSCP
    tos[key] = tos.get(key, 0) + 1
    if f[23] != 6:
        continue
    dst = socket.inet_ntoa(f[30:34])
    mx[dst] = max(mx.get(dst, 0), len(f))
    n[dst] = n.get(dst, 0) + 1
print(json.dumps({"max": mx, "n": n, "tos": tos}), flush=True)
"""
# TCP sink: accepts on port argv[1] of each address argv[3:] and drains
# every connection; prints "ready", exits after argv[2] seconds.
_SINK = r"""
import socket, sys, threading
def drain(c):
    while c.recv(1 << 16):
        pass
def serve(ip):
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((ip, int(sys.argv[1]))); l.listen(8)
    while True:
        c, _ = l.accept()
        threading.Thread(target=drain, args=(c,), daemon=True).start()
for ip in sys.argv[3:]:
    threading.Thread(target=serve, args=(ip,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait(float(sys.argv[2]))
"""
_RATE_UNITS = {"bit": 1, "Kbit": 1000, "Mbit": 1000 ** 2, "Gbit": 1000 ** 3}


class NetnsRig:
    """Network namespaces of fixed names (created anew by add(), deleted by
    close()), the processes a suite starts in them (popen(), killed by
    close()), a temporary folder and a pin folder of its own (pin_dir_for
    suite); close() detaches the agent of that pin folder from inside
    namespace agent_ns, whatever state the test stopped in."""

    def __init__(self, suite, names, agent_ns):
        self.names = list(names)
        self.agent_ns = agent_ns
        self.procs = []
        self.pin = pin_dir_for(suite)
        self.tmp = tempfile.mkdtemp(prefix="tcprio-%s-" % suite)

    def add(self):
        """(Re)create every namespace (one left by a killed run goes first)."""
        for ns in self.names:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
            subprocess.run(["ip", "netns", "add", ns], check=True)

    @staticmethod
    def nsx(ns):
        """The command prefix that runs a command in namespace ns."""
        return ["nsenter", "--net=/run/netns/" + ns]

    def sh(self, ns, *cmd, check=True, timeout=30):
        """Run cmd in namespace ns (output captured, text)."""
        return subprocess.run(self.nsx(ns) + list(cmd), check=check, capture_output=True,
                              text=True, timeout=timeout)

    def popen(self, ns, cmd, **kw):
        """Start cmd in namespace ns; it dies with the test and close() kills it."""
        p = subprocess.Popen(self.nsx(ns) + list(cmd), preexec_fn=die_with_parent, **kw)
        self.procs.append(p)
        return p

    def write(self, name, text):
        """Write text to file name in the rig's temporary folder; its path."""
        return write_file(self.tmp, name, text)

    def agent(self, args, log):
        """`tcprio agent --pin-dir PIN ARGS...` in agent_ns, output to the
        open file log."""
        return self.popen(self.agent_ns, [TCPRIO, "agent", "--pin-dir", self.pin] + list(args),
                          stdout=log, stderr=log)

    def htb_classes(self, ns, dev):
        """{classid: (bytes sent, rate bit/s)} of the HTB classes on dev (tc
        prints HTB class statistics as text only)."""
        text = self.sh(ns, "tc", "-s", "class", "show", "dev", dev).stdout
        out = {}
        for block in text.split("class htb ")[1:]:
            sent = re.search(r"Sent (\d+) bytes", block)
            rate = re.search(r" rate ([\d.]+)(bit|Kbit|Mbit|Gbit)", block)
            out[block.split()[0]] = (int(sent.group(1)) if sent else 0,
                                     int(float(rate.group(1)) * _RATE_UNITS[rate.group(2)])
                                     if rate else 0)
        return out

    def tcp_sink(self, ns, port, ips, seconds=120):
        """A TCP sink on port of each address in ips (draining, for at most
        seconds); returns once it listens."""
        p = self.popen(ns, ["/usr/bin/python3", "-c", _SINK, str(port), str(seconds)] + list(ips),
                       stdout=subprocess.PIPE, text=True)
        p.stdout.readline()
        return p

    def sniffer(self, ns, ifname, seconds):
        """Start an AF_PACKET sniffer on ifname for seconds (see _SNIFF);
        sniffed() reads its result."""
        return self.popen(ns, ["/usr/bin/python3", "-c", _SNIFF, ifname, str(seconds)],
                          stdout=subprocess.PIPE, text=True)

    @staticmethod
    def sniffed(p, timeout):
        """The sniffer's {"max", "n", "tos"}; each empty when it printed nothing
        readable within timeout seconds."""
        try:
            return json.loads(p.communicate(timeout=timeout)[0])
        except (subprocess.TimeoutExpired, ValueError):
            return {"max": {}, "n": {}, "tos": {}}

    def close(self):
        kill_procs(self.procs)
        if os.path.exists(self.pin):
            subprocess.run(self.nsx(self.agent_ns) + [TCPRIO, "detach", "--pin-dir", self.pin],
                           capture_output=True)
            shutil.rmtree(self.pin, ignore_errors=True)
        for ns in self.names:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.tmp, ignore_errors=True)
