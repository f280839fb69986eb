#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_cni_plugins.py - pods wired by real CNI plugins, found by the agent.

Debian's containernetworking-plugins (the reference `bridge` and `ptp`
plugins, /usr/lib/cni) are invoked as a container runtime invokes them: the
CNI protocol's environment (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS,
CNI_IFNAME, CNI_PATH) and the network configuration as JSON on stdin, with
host-local IPAM.  The agent runs with its DEFAULT --pod-ifaces globs and
attach mode auto; it must find the host-side veths the plugins created
(named veth<hex> by both plugins) and attach to them, so that the pods'
pings leave the uplink with DSCP 46 (both pods are class critical through
`tcprio endpoint add`).  Then CNI DEL removes the pods.

Topology (namespaces tptplug-<pid>-NAME, addresses from 198.18.0.0/15):
  br  (bridge plugin, bridge tptplugbr0 198.18.6.1/24, pod 198.18.6.x)
  pp  (ptp plugin, pod 198.18.7.x/24)
  node: the agent, uplink tptpup0 198.18.8.1/30 -- remote eth0 198.18.8.2/30
Needs root and the plugins; SKIP without them.  Cleans up in finally.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

PREFIX = "tptplug-%d-" % os.getpid()
CNI_PATH = "/usr/lib/cni"
UPLINK = "tptpup0"
REMOTE_IP = "198.18.8.2"
N = 10
tap = tl.Tap()


TOPO = tl.Topology(PREFIX)
ns, run = TOPO.ns, TOPO.run   # run(*cmd, netns=NAME)


def cni(command, plugin_conf, pod, data_dir):
    """Run the plugin of plugin_conf for pod as a runtime does (in the node
    namespace, where the runtime runs); returns the parsed result (ADD)."""
    env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID="tptplug-%s-%d" % (pod, os.getpid()),
               CNI_NETNS=TOPO.path(pod), CNI_IFNAME="eth0", CNI_PATH=CNI_PATH)
    conf = dict(plugin_conf, cniVersion="1.0.0", name="tptplug-" + pod)
    conf["ipam"] = dict(conf["ipam"], dataDir=data_dir)
    r = run(os.path.join(CNI_PATH, conf["type"]), netns="node", input=json.dumps(conf), env=env,
            check=False)
    if r.returncode != 0:
        raise RuntimeError("CNI %s %s for %s: exit %d: %s %s" % (command, conf["type"], pod,
                                                                 r.returncode, r.stdout, r.stderr))
    return json.loads(r.stdout) if command == "ADD" and r.stdout.strip() else {}


def host_veth(result):
    """The host-side interface of a CNI result (the one without a sandbox,
    and not the bridge)."""
    for i in result.get("interfaces", []):
        if not i.get("sandbox") and i["name"].startswith("veth"):
            return i["name"]
    return None


class Capture(tl.PacketCapture):
    def __init__(self):
        super().__init__(TOPO.path("remote"))

    def drain(self):
        seen = {}
        for ip in self.packets():
            if ip[9] == 1:
                src = socket.inet_ntoa(ip[12:16])
                seen.setdefault(src, {}).setdefault(ip[1] >> 2, 0)
                seen[src][ip[1] >> 2] += 1
        return seen


def main():
    for p in ("bridge", "ptp", "host-local"):
        if not os.access(os.path.join(CNI_PATH, p), os.X_OK):
            return tap.skip_all("%s/%s missing (apt-get install containernetworking-plugins)"
                                % (CNI_PATH, p))
    rc = tl.begin(tap, 9, "netns, bpf, CNI plugins")
    if rc is not None:
        return rc
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit("signal %d" % s))
    agent, added = None, []
    pin = tl.pin_dir_for("plugins")
    data_dir = tempfile.mkdtemp(prefix="tptplug-ipam-")
    log = tempfile.mktemp(prefix="tptplug-agent-", suffix=".log")
    confs = {
        "br": {"type": "bridge", "bridge": "tptplugbr0", "isGateway": True, "ipMasq": False,
               "ipam": {"type": "host-local", "subnet": "198.18.6.0/24",
                        "routes": [{"dst": "0.0.0.0/0"}]}},
        "pp": {"type": "ptp", "ipMasq": False,
               "ipam": {"type": "host-local", "subnet": "198.18.7.0/24",
                        "routes": [{"dst": "0.0.0.0/0"}]}},
    }
    try:
        TOPO.add("node", "remote", "br", "pp")
        TOPO.uplink(UPLINK, "198.18.8.1/30", REMOTE_IP + "/30",
                    routes=["198.18.6.0/24", "198.18.7.0/24"])
        TOPO.enter("node")
        cap = Capture()
        logf = open(log, "w")
        agent = subprocess.Popen([tl.TCPRIO, "agent", "--no-kube", "--pin-dir", pin,
                                  "--metrics-address", "off", "--uplink", UPLINK,
                                  "--recheck-interval", "1"],
                                 stdout=logf, stderr=logf, preexec_fn=tl.die_with_parent)
        # the class table is in the maps once the agent logs "datapath pinned at"
        tl.wait_for(lambda: "datapath pinned at" in open(log).read(), 10, 0.05)

        pods = {}
        for pod in ("br", "pp"):
            res = cni("ADD", confs[pod], pod, data_dir)
            added.append(pod)
            ip = res["ips"][0]["address"].split("/")[0]
            pods[pod] = (ip, host_veth(res))
            tap.ok(pods[pod][1] is not None and ip.startswith("198.18."),
                   "CNI %s plugin ADD: pod %s gets %s, host-side %s" % (
                       confs[pod]["type"], pod, ip, pods[pod][1]), json.dumps(res)[:600])
            run(tl.TCPRIO, "endpoint", "add", ip, "--class", "critical", "--pin-dir", pin)

        def attached():
            got = {i["name"]: i["attach"] for i in tl.status(pin)["interfaces"]}
            return all(v in got for _, v in pods.values()) and got
        att = tl.wait_for(attached, 5, 0.05) or attached()
        mode = "tcx" if tl.kernel_has_tcx() else "tc"
        for pod, (ip, veth) in pods.items():
            a = (att or {}).get(veth) or []
            tap.ok(len(a) == 1 and a[0]["hook"] == "pod_edge" and a[0]["state"] == "first" and
                   a[0]["mode"] == mode,
                   "default globs: the agent attached to %s's %s (%s, first)" % (
                       confs[pod]["type"], veth, mode),
                   "status: %r\n%s" % (att, open(log).read()[-800:]))
        cap.drain()
        for pod in pods:
            run("ping", "-q", "-n", "-c", str(N), "-i", "0.02", "-W", "1", REMOTE_IP,
                netns=pod, check=False)
        time.sleep(0.1)
        seen = cap.drain()
        for pod, (ip, veth) in pods.items():
            tap.ok(seen.get(ip) == {46: N}, "%s pod's %d pings reach the remote with DSCP 46" % (
                confs[pod]["type"], N), "seen per source: %r" % seen)
        links = [os.path.join(pin, "link_ingress_%d" % socket.if_nametoindex(v))
                 for _, v in pods.values()] if mode == "tcx" else []
        tap.ok(all(os.path.exists(p) for p in links), "tcx links pinned: %s" % links)
        for pod in list(added):
            cni("DEL", confs[pod], pod, data_dir)
            added.remove(pod)
        tap.ok(not any(v in {i["name"] for i in tl.status(pin)["interfaces"]}
                       for _, v in pods.values()), "CNI DEL removes the pods' veths")
        gone = tl.wait_for(lambda: not any(os.path.exists(p) for p in links), 5, 0.1)
        tap.ok(gone, "the agent unpins the deleted veths' links at its next re-check",
               repr([p for p in links if os.path.exists(p)]))
    except Exception as e:
        import traceback
        tap.ok(False, "test ran to the end", "%s\n%s" % (e, traceback.format_exc()))
    finally:
        for pod in added:
            try:
                cni("DEL", confs[pod], pod, data_dir)
            except Exception as e:
                tap.diag("cleanup: %s" % e)
        if agent is not None:
            agent.kill()
            agent.wait()
        run(tl.TCPRIO, "detach", "--pin-dir", pin, check=False)
        TOPO.close()
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(pin, ignore_errors=True)
        if os.path.exists(log):
            os.unlink(log)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
