#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_apiserver_faithful.py - Debian's python3-kubernetes client (a real
Kubernetes client) against fake_apiserver.py, through the kubeconfig the
server wrote: lists with field selectors and limit/continue paging, watches
with resource_version and bookmarks, the 410 Expired paths, 401; the same
for Nodes (list, paging, watch, get, 410).  TAP output.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
N = 0
PLAN = 26  # results run() and run_nodes() print; declared up front (TAP plan)
FAILED = 0


def ok(cond, name, diag=None):
    global N, FAILED
    N += 1
    print("%sok %d - %s" % ("" if cond else "not ", N, name))
    if not cond:
        FAILED += 1
        if diag is not None:
            for line in str(diag).splitlines():
                print("#   " + line)
    sys.stdout.flush()
    return cond


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tcprio-apiserver-test-")
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(HERE, "fake_apiserver.py"), "--port", "0",
             "--control-port", "0", "--state-dir", self.dir, "--node", "node-f",
             "--write-kubeconfig", os.path.join(self.dir, "kubeconfig")],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()  # "READY port=P control_port=C"
        if not line.startswith("READY"):
            raise RuntimeError("server did not start: %r" % line)
        with open(os.path.join(self.dir, "ports.json")) as f:
            self.ports = json.load(f)

    def ctl(self, op, body=None):
        url = "http://127.0.0.1:%d/ctl/%s" % (self.ports["control_port"], op)
        data = json.dumps(body).encode() if body is not None else None
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
            return json.load(r)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)


def main():
    try:
        from kubernetes import client, config, watch
        from kubernetes.client.rest import ApiException
    except ImportError as e:
        print("1..0 # SKIP python3-kubernetes not installed (%s)" % e)
        return 0
    print("1..%d" % PLAN, flush=True)
    srv = Server()
    try:
        run(srv, client, config, watch, ApiException)
        run_nodes(srv, client, config, watch, ApiException)
    except Exception as e:  # a crash is a failure with its reason
        import traceback
        ok(False, "suite ran to the end", traceback.format_exc())
    finally:
        srv.stop()
    if N != PLAN:
        print("# planned %d results, printed %d" % (PLAN, N))
        return 1
    return 1 if FAILED else 0


def run(srv, client, config, watch, ApiException):
    api_client = config.new_client_from_config(config_file=srv.ports["kubeconfig"])
    v1 = client.CoreV1Api(api_client)
    sel = "spec.nodeName=node-f"

    ver = client.VersionApi(api_client).get_code()
    ok(ver.git_version.startswith("v1."), "GET /version over verified TLS (%s)" % ver.git_version)

    names = []
    for i, fx in enumerate(["k9s-gke-pod-p1", "k9s-kind-pod-sidecar", "fluentbit-eks-pod-core_base",
                            "fluentbit-pod-kairosdb", "k9s-gke-pod-p1"]):
        r = srv.ctl("add", {"fixture": fx, "name": "f-%d" % i, "namespace": "default" if i % 2 == 0
                            else "kube-system", "node": "node-f", "podIPs": ["198.18.1.%d" % (i + 1)]})
        names.append((r["namespace"], r["name"]))
    srv.ctl("add", {"name": "other-node", "node": "node-g", "podIP": "198.18.1.99"})

    pods = v1.list_namespaced_pod("default", field_selector=sel)
    got = sorted(p.metadata.name for p in pods.items)
    ok(got == ["f-0", "f-2", "f-4"], "list_namespaced_pod with field_selector", got)
    ok(all(p.spec.node_name == "node-f" and p.metadata.resource_version for p in pods.items) and
       pods.metadata.resource_version, "pods carry nodeName and resourceVersions, list has one")
    p0 = next(p for p in pods.items if p.metadata.name == "f-0")
    ok(p0.status.pod_i_ps[0].ip == "198.18.1.1" and p0.status.pod_ip == "198.18.1.1" and
       p0.metadata.labels.get("app") == "nginx", "fixture pod rewritten with the test's IPs, labels kept")

    allp = v1.list_pod_for_all_namespaces(field_selector=sel)
    ok(sorted((p.metadata.namespace, p.metadata.name) for p in allp.items) == sorted(names),
       "list_pod_for_all_namespaces with field_selector: 5 pods, not node-g's")

    seen, cont, pages = [], None, 0
    while True:
        kw = {"_continue": cont} if cont else {}
        page = v1.list_pod_for_all_namespaces(field_selector=sel, limit=2, **kw)
        pages += 1
        seen += [p.metadata.name for p in page.items]
        cont = page.metadata._continue
        if not cont or pages > 10:
            break
    ok(pages == 3 and sorted(seen) == sorted(n for _, n in names) and len(set(seen)) == len(seen),
       "limit=2 paging with _continue: 3 pages, every pod once", (pages, seen))

    page = v1.list_pod_for_all_namespaces(field_selector=sel, limit=2)
    srv.ctl("add", {"name": "bump-1", "node": "node-g", "podIP": "198.18.1.98"})
    srv.ctl("compact", {})
    try:
        v1.list_pod_for_all_namespaces(field_selector=sel, limit=2, _continue=page.metadata._continue)
        ok(False, "expired continue token raises ApiException 410")
    except ApiException as e:
        body = json.loads(e.body)
        ok(e.status == 410 and body.get("reason") == "Expired" and body.get("kind") == "Status",
           "expired continue token raises ApiException 410 Expired (Status body)", e)

    # watch: ADDED / MODIFIED / BOOKMARK / DELETED after the list's resourceVersion
    rv = v1.list_pod_for_all_namespaces(field_selector=sel).metadata.resource_version
    events = []

    def driver():
        time.sleep(0.5)
        srv.ctl("add", {"name": "w-1", "node": "node-f", "podIP": "198.18.1.50"})
        srv.ctl("add", {"name": "w-other", "node": "node-g", "podIP": "198.18.1.51"})
        srv.ctl("modify", {"name": "w-1", "annotations": {"tcprio.io/class": "high"}})
        srv.ctl("bookmark", {})
        srv.ctl("delete", {"name": "w-1"})

    t = threading.Thread(target=driver)
    t.start()
    w = watch.Watch()
    for ev in w.stream(v1.list_pod_for_all_namespaces, field_selector=sel, resource_version=rv,
                       allow_watch_bookmarks=True, timeout_seconds=10):
        events.append(ev)
        if ev["type"] == "DELETED":
            w.stop()
    t.join()
    types = [e["type"] for e in events]
    ok(types == ["ADDED", "MODIFIED", "BOOKMARK", "DELETED"],
       "watch.stream sees ADDED, MODIFIED, BOOKMARK, DELETED in order (node-g's pod filtered)", types)
    mod = events[1]["object"] if len(events) > 1 else None
    ok(mod is not None and mod.metadata.annotations.get("tcprio.io/class") == "high",
       "MODIFIED carries the new annotation as a V1Pod")
    rvs = [int(e["raw_object"]["metadata"]["resourceVersion"]) for e in events]
    ok(rvs == sorted(rvs) and len(events) == 4 and rvs[0] > int(rv),
       "event resourceVersions rise after the list's", rvs)
    bm = events[2]["raw_object"] if len(events) > 2 else {}
    ok(bm.get("kind") == "Pod" and set(bm.get("metadata", {})) == {"resourceVersion"},
       "BOOKMARK object is a Pod with only metadata.resourceVersion", bm)

    # watch from resource_version "0": synthetic ADDED for the current pods
    w = watch.Watch()
    got = [e["object"].metadata.name for e in w.stream(
        v1.list_namespaced_pod, "default", field_selector=sel, resource_version="0", timeout_seconds=1)]
    ok(sorted(got) == ["f-0", "f-2", "f-4"], "watch from resourceVersion 0 starts with ADDED for each pod", got)

    # 410: a watch from a compacted resourceVersion
    srv.ctl("add", {"name": "bump-2", "node": "node-g", "podIP": "198.18.1.97"})
    srv.ctl("compact", {})
    try:
        for _ in watch.Watch().stream(v1.list_pod_for_all_namespaces, field_selector=sel,
                                      resource_version=rv, timeout_seconds=5):
            pass
        ok(False, "watch from a compacted resourceVersion raises ApiException 410")
    except ApiException as e:
        ok(e.status == 410 and "Expired" in str(e.reason) and "too old resource version" in str(e.reason),
           "watch from a compacted resourceVersion: ERROR event becomes ApiException 410 (%s)" % e.reason)
    mark = srv.ctl("requests")["next"]
    try:
        for _ in watch.Watch().stream(v1.list_pod_for_all_namespaces, field_selector=sel,
                                      resource_version=rv):
            pass
        ok(False, "without timeout_seconds the client retries once, then raises 410")
    except ApiException as e:
        reqs = [r for r in srv.ctl("requests?since=%d" % mark)["requests"] if r["kind"] == "watch"]
        ok(e.status == 410 and len(reqs) == 2, "without timeout_seconds the client retries the 410 "
           "once, then raises ApiException 410 (%d watch requests)" % len(reqs))

    # get one pod; 404
    p = v1.read_namespaced_pod("f-1", "kube-system")
    ok(p.metadata.name == "f-1" and p.spec.node_name == "node-f", "read_namespaced_pod")
    try:
        v1.read_namespaced_pod("nope", "default")
        ok(False, "missing pod raises 404")
    except ApiException as e:
        ok(e.status == 404, "missing pod raises ApiException 404")

    # 401 with a bad token
    cfg = client.Configuration()
    cfg.host = srv.ports["server"]
    cfg.ssl_ca_cert = os.path.join(srv.dir, "ca.crt")
    cfg.api_key = {"authorization": "Bearer wrong-token"}
    try:
        client.CoreV1Api(client.ApiClient(cfg)).list_pod_for_all_namespaces()
        ok(False, "bad token raises ApiException 401")
    except ApiException as e:
        body = json.loads(e.body)
        ok(e.status == 401 and body.get("reason") == "Unauthorized", "bad token raises ApiException 401")

    # client certificate instead of a token
    cc = config.new_client_from_config(config_file=os.path.join(srv.dir, "kubeconfig-cert"))
    n = len(client.CoreV1Api(cc).list_pod_for_all_namespaces(field_selector=sel).items)
    ok(n == 5, "client-certificate kubeconfig accepted (%d pods)" % n)

    # a wrong CA must fail TLS verification
    cfg = client.Configuration()
    cfg.host = srv.ports["server"]
    cfg.ssl_ca_cert = os.path.join(srv.dir, "wrong-ca.crt")
    cfg.api_key = {"authorization": "Bearer " + srv.ports["token"]}
    cfg.retries = 0
    try:
        client.CoreV1Api(client.ApiClient(cfg)).list_pod_for_all_namespaces(_request_timeout=5)
        ok(False, "wrong CA refused")
    except Exception as e:  # urllib3 MaxRetryError(SSLError)
        ok("certificate verify failed" in str(e) or "SSL" in str(e), "a client with the wrong CA is refused")


def run_nodes(srv, client, config, watch, ApiException):
    """Nodes, served like pods: what tcprio's site logic reads of them."""
    v1 = client.CoreV1Api(config.new_client_from_config(config_file=srv.ports["kubeconfig"]))
    zone = "topology.kubernetes.io/zone"
    for i, name in enumerate(["edge-a", "edge-b", "dc-1"]):
        srv.ctl("node_add", {"name": name, "labels": {zone: "dc" if name == "dc-1" else "store-17"},
                             "podCIDRs": ["198.18.%d.0/24" % (10 + i), "2001:db8:%x::/64" % (10 + i)],
                             "addresses": [{"type": "InternalIP", "address": "198.18.0.%d" % (10 + i)},
                                           {"type": "Hostname", "address": name}]})
    nodes = v1.list_node()
    by = {n.metadata.name: n for n in nodes.items}
    a = by.get("edge-a")
    ok(sorted(by) == ["dc-1", "edge-a", "edge-b"] and a is not None and
       a.metadata.labels.get(zone) == "store-17" and a.spec.pod_cid_rs == ["198.18.10.0/24", "2001:db8:a::/64"] and
       a.spec.pod_cidr == "198.18.10.0/24" and a.status.addresses[0].address == "198.18.0.10" and
       [c.status for c in a.status.conditions if c.type == "Ready"] == ["True"] and
       nodes.kind == "NodeList", "list_node: V1Node with labels, podCIDRs, addresses, Ready", sorted(by))
    ok(all(p.kind != "Node" for p in v1.list_pod_for_all_namespaces().items if p.kind),
       "pods and nodes are apart: no Node in the pod list")

    seen, cont, pages = [], None, 0
    while pages < 10:
        page = v1.list_node(limit=2, **({"_continue": cont} if cont else {}))
        pages += 1
        seen += [n.metadata.name for n in page.items]
        cont = page.metadata._continue
        if not cont:
            break
    ok(pages == 2 and sorted(seen) == ["dc-1", "edge-a", "edge-b"], "list_node limit=2 paging: "
       "2 pages, every node once", (pages, seen))

    rv = v1.list_node().metadata.resource_version
    events = []

    def driver():
        time.sleep(0.5)
        srv.ctl("node_add", {"name": "edge-c", "labels": {zone: "store-17"}})
        srv.ctl("add", {"name": "pod-between", "node": "edge-c", "podIP": "198.18.1.60"})
        srv.ctl("node_modify", {"name": "edge-b", "ready": False,
                                "annotations": {"tcprio.io/wan-weight": "2"}})
        srv.ctl("node_modify", {"name": "edge-a", "podCIDRs": ["198.18.20.0/24"]})
        srv.ctl("node_delete", {"name": "edge-c"})

    t = threading.Thread(target=driver)
    t.start()
    w = watch.Watch()
    for ev in w.stream(v1.list_node, resource_version=rv, timeout_seconds=10):
        events.append(ev)
        if ev["type"] == "DELETED":
            w.stop()
    t.join()
    types = [(e["type"], e["object"].metadata.name) for e in events]
    ok(types == [("ADDED", "edge-c"), ("MODIFIED", "edge-b"), ("MODIFIED", "edge-a"), ("DELETED", "edge-c")],
       "watch list_node: ADDED, MODIFIED x2, DELETED in order, no pod event", types)
    b = events[1]["object"] if len(events) > 1 else None
    ok(b is not None and [c.status for c in b.status.conditions if c.type == "Ready"] == ["False"] and
       b.metadata.annotations.get("tcprio.io/wan-weight") == "2" and
       events[2]["object"].spec.pod_cid_rs == ["198.18.20.0/24"],
       "MODIFIED carry NotReady, the wan-weight annotation and the new pod CIDR as V1Node")

    ok(v1.read_node("dc-1").metadata.labels.get(zone) == "dc", "read_node")
    srv.ctl("node_add", {"name": "bump-n"})
    srv.ctl("compact", {})
    try:
        for _ in watch.Watch().stream(v1.list_node, resource_version=rv, timeout_seconds=5):
            pass
        ok(False, "node watch from a compacted resourceVersion raises ApiException 410")
    except ApiException as e:
        ok(e.status == 410 and "too old resource version" in str(e.reason),
           "node watch from a compacted resourceVersion raises ApiException 410 (%s)" % e.reason)


if __name__ == "__main__":
    sys.exit(main())
