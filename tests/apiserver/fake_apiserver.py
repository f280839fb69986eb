#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""fake_apiserver.py - a small Kubernetes API server for tcprio's tests and demo.

It serves pods over the real protocol (HTTPS, bearer tokens or client
certificates, JSON, chunked watch streams) from real Pod JSON, so the agent's
client (user/kube/kube_client.h) and Debian's python3-kubernetes client both talk
to it unchanged.  Python 3 standard library only (+ python3-yaml to read YAML
manifests, + the `openssl` command to make the certificates).

START
  /usr/bin/python3 tests/apiserver/fake_apiserver.py --state-dir DIR \
      [--port 0] [--control-port 0] [--host 127.0.0.1|::1] \
      [--write-kubeconfig DIR/kubeconfig] [--node NODE] [--token TOKEN] \
      [--pods-file FILE ...] [--nodes-file FILE ...] [--force-node] [--pod-ip NAME=IP[,IP]] \
      [--pod-cidr 198.18.1.0/24] \
      [--bookmark-interval SECONDS] [--log-requests]

  When ready it writes DIR/ports.json
      {"port": P, "control_port": C, "pid": PID, "server": "https://127.0.0.1:P",
       "kubeconfig": ..., "token": ...}
  and prints one line "READY port=P control_port=C" on stdout.
  Files in DIR: ca.crt ca.key server.crt server.key (TLS, SAN IP:127.0.0.1,
  IP:::1, DNS:localhost), client.crt client.key (a client certificate the
  server accepts, CN=tcprio-test), wrong-ca.crt (an unrelated CA for
  "TLS must fail" tests), kubeconfig (certificate-authority-data + token),
  kubeconfig-cert (certificate-authority + client-certificate/client-key as
  relative file paths), kubeconfig-tokenfile (tokenFile: token),
  token, serviceaccount/{token,ca.crt,namespace} (in-cluster layout).

  --pods-file loads a Pod, a PodList/List, or a multi-document YAML of Pod
  manifests (JSON or YAML).  Pods get metadata.uid/creationTimestamp if
  missing, spec.nodeName = --node if missing, status.phase Running, and
  status.podIP(s) from --pod-ip NAME=IP,... or the next address of --pod-cidr.

API (HTTPS on --port; every request needs "Authorization: Bearer TOKEN" or
the client certificate; else 401 with a Status body)
  GET /version, /healthz, /readyz, /livez
  GET /api/v1/pods, /api/v1/namespaces/NS/pods
      fieldSelector=spec.nodeName=X (also metadata.name=, metadata.namespace=,
      comma separated, = and ==, !=), limit=N, continue=TOKEN,
      resourceVersion (ignored for lists: always the current state).
      A continue token whose snapshot is older than the compaction point
      answers 410 with the "Expired" Status body kube-apiserver uses.
  GET same paths with watch=1|true: 200, Transfer-Encoding: chunked, one JSON
      event per line {"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object":...}.
      resourceVersion="" or "0": synthetic ADDED for the current pods first.
      resourceVersion older than the compaction point: one ERROR event with a
      410 Expired Status ("too old resource version: X (Y)"), then the end.
      BOOKMARK events only with allowWatchBookmarks=true.  timeoutSeconds ends
      the stream cleanly.  Field-selector watches see an object that starts
      (stops) matching as ADDED (DELETED), as kube-apiserver does.
  GET /api/v1/namespaces/NS/pods/NAME
  GET /api/v1/namespaces[/NAME], /api/v1/nodes[/NAME] (list with paging,
      watch=1 with 410 and bookmarks, get; fieldSelector metadata.name=), as
      for pods, from one store per resource: the Namespaces set with
      /ctl/ns_set (none at start), the Nodes of --nodes-file and /ctl/node_*.
      Requests are recorded (and /ctl/fail matches them) as kind
      namespace_list, namespace_continue, namespace_watch, namespace_get and
      node_list, node_continue, node_watch, node_get, so rules and counts for
      pods ("list", "watch", ...) never see them.
  POST /api/v1/namespaces/NS/events
      a core/v1 Event (kind Event and apiVersion v1, or left out; involvedObject
      {kind, name, namespace == NS if set}; metadata.namespace == NS if set;
      metadata.name or metadata.generateName).  201 with the created object (name from
      generateName + 5 random characters, uid, resourceVersion,
      creationTimestamp set); 400 BadRequest for a body that is not such an
      object or a namespace mismatch, 422 Invalid without involvedObject or
      name, 409 AlreadyExists for a name taken in NS.  Stored in order for
      GET /ctl/events.  /ctl/fail match "event" (or "any") applies.

CONTROL (plain HTTP on 127.0.0.1:--control-port; JSON in, JSON out)
  POST /ctl/add      {"pod": {...}} or {"fixture": NAME|PATH} or {"file": PATH}
                     plus optional patches: name, namespace, uid, node, podIP,
                     podIPs [..], annotations {k: v|null}, labels {k: v|null},
                     phase, deletionTimestamp, hostNetwork.
                     -> {"resourceVersion": "N", "namespace":..., "name":..., "t_ns":...}
                     Fixture names are files of tests/fixtures/k8s/pod
                     without ".json" (e.g. "k9s-gke-pod-p1"); the default is that one.
  POST /ctl/modify   {"namespace": NS, "name": N, + patches}  -> MODIFIED
  POST /ctl/delete   {"namespace": NS, "name": N}             -> DELETED
  POST /ctl/ns_set   {"name": NS, "labels": {k: v}}  a Namespace with exactly
                     these labels: ADDED if new, else MODIFIED
  POST /ctl/ns_delete {"name": NS}                          -> DELETED
  POST /ctl/node_add    {"node": {...}} or {"name": N}, plus optional patches:
                        labels {k: v|null}, annotations {k: v|null}, ready (default
                        true), podCIDRs [..], addresses [{"type", "address"}]
  POST /ctl/node_modify {"name": N, + patches} or {"node": {...}}  -> MODIFIED
  POST /ctl/node_delete {"name": N}                                -> DELETED
  POST /ctl/bulk     {"ops": [{"op": "add"|"modify"|"delete", ...}, ...]}
  POST /ctl/bookmark {}     a BOOKMARK at the current resourceVersion to every
                            open watch that allows bookmarks
  POST /ctl/compact  {}     forget history: watches from an older RV get ERROR 410,
                            older continue tokens get 410 Expired
  POST /ctl/drop     {}     close every open watch connection abruptly (no final chunk)
  POST /ctl/pause    {}     close open connections and every new one at once
  POST /ctl/resume   {}
  POST /ctl/fail     {"match": "list"|"continue"|"watch"|"get"|"event"|"any",
                      "status": 410|500|..., "count": N}  answer the next N
                            matching requests with that status (410 -> Expired body)
  POST /ctl/fragment {"bytes": N}  write each watch event as HTTP chunks of N
                            bytes, flushed 1 ms apart (0: one chunk per event)
  POST /ctl/misbehave {"list": "padding"|"objects", "bytes": N, "rate": B,
                      "count": C}  answer the next C first-page lists with a
                            PodList of about N bytes: one string of N bytes
                            ("padding") or N/3 empty objects ("objects", text
                            that parses 70 times larger), written at B bytes/s
                            (0: at once); count 0 ends it
  POST /ctl/set_token {"token": T}  the only accepted token from now on; also
                            written to DIR/token and DIR/serviceaccount/token
  GET  /ctl/state           {"resourceVersion", "compacted", "pods": [ns/name...],
                             "namespaces": [name...], "nodes": [name...],
                             "watches": N, "paused": bool}
  GET  /ctl/requests?since=I {"next": J, "requests": [{"i", "method", "path",
                             "query": {k: v}, "status", "t_ns"}]}
  GET  /ctl/sent?since=I     {"next": J, "sent": [{"i", "watch", "type", "rv",
                             "namespace", "name", "t_ns"}]}
                             t_ns = time.monotonic_ns() (CLOCK_MONOTONIC) right
                             after the event's chunk was written and flushed.
  GET  /ctl/events?since=I   {"next": J, "events": [Event, ...]} the Events
                             created through the API, oldest first
  POST /ctl/shutdown {}
Errors: 4xx {"error": "..."}.
"""

import argparse
import base64
import copy
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# tests/fixtures/k8s in the repository, unless overridden.
FIXTURE_DIR = os.environ.get("TCPRIO_K8S_FIXTURES") or os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "k8s"))
EXPIRED_STATUS = {
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": "The provided from parameter is too old to display a consistent "
               "list result. You must start a new list without the from.",
    "reason": "Expired", "code": 410,
}
LOCK = threading.Condition()


def log(msg):
    sys.stderr.write("fake-apiserver: %s\n" % msg)
    sys.stderr.flush()


def status_obj(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason, "code": code}


def load_expired_status():
    path = os.path.join(FIXTURE_DIR, "status", "kubeclient-status-410-expired.json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return dict(EXPIRED_STATUS)


# --------------------------------------------------------------------------
# certificates


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_ca(d, name, cn):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
            "-keyout", name + ".key", "-out", name + ".crt", "-subj", "/CN=" + cn,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def make_leaf(d, name, cn, ext):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
            "-out", name + ".csr", "-subj", cn, cwd=d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write(ext)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "3650", "-sha256", "-out", name + ".crt",
            "-extfile", name + ".ext", cwd=d)


def make_certs(d):
    make_ca(d, "ca", "tcprio-fake-apiserver-ca")
    make_leaf(d, "server", "/CN=kube-apiserver",
              "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
              "extendedKeyUsage=serverAuth\n"
              "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n")
    make_leaf(d, "client", "/O=system:nodes/CN=tcprio-test",
              "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
              "extendedKeyUsage=clientAuth\n")
    make_ca(d, "wrong-ca", "unrelated-ca")


def write_file(path, text, mode=0o644):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def kubeconfig_text(server, user, cluster):
    def block(d, indent):
        return "".join("%s%s: %s\n" % (" " * indent, k, json.dumps(v)) for k, v in d.items())
    return ("apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
            "clusters:\n- name: fake-cluster\n  cluster:\n" + block(dict(server=server, **cluster), 4) +
            "users:\n- name: fake-user\n  user:\n" + block(user, 4) +
            "contexts:\n- name: fake\n  context:\n    cluster: fake-cluster\n"
            "    user: fake-user\n    namespace: default\n"
            "- name: other\n  context:\n    cluster: nowhere\n    user: nobody\n")


# --------------------------------------------------------------------------
# state


# The resources served: API path segment -> (kind, prefix of its request
# kinds in /ctl/requests and /ctl/fail).  Pods keep the bare kinds ("list",
# "watch", ...) that the tests' rules and counts use.
RESOURCES = {"pods": ("Pod", ""), "namespaces": ("Namespace", "namespace_"),
             "nodes": ("Node", "node_")}
KIND_RESOURCE = {kind: res for res, (kind, _) in RESOURCES.items()}


def res_of(obj):
    """Resource of a stored object: Namespaces and Nodes carry their kind,
    pods may not."""
    return KIND_RESOURCE.get(obj.get("kind"), "pods") if obj is not None else "pods"


class State:
    def __init__(self, args):
        self.args = args
        self.rv = 1000
        self.compacted = 0          # watches from RV < this get 410
        # one store per resource (RESOURCES): key -> object; pods by
        # (ns, name), cluster-scoped objects by name
        self.stores = {res: {} for res in RESOURCES}
        self.pods = self.stores["pods"]
        self.namespaces = self.stores["namespaces"]
        self.nodes = self.stores["nodes"]
        self.events = []            # dicts: seq, rv, type, obj, old
        self.sent = []
        self.requests = []
        self.watches = {}           # id -> Handler
        self.next_watch = 1
        self.paused = False
        self.fail_rules = []        # [match, status, count]
        self.fragment = 0           # >0: write watch events in chunks of this many bytes
        self.misbehave = None       # /ctl/misbehave: {"list", "bytes", "rate", "count"}
        self.snapshots = {}         # id -> (rv, items)
        self.kube_events = []       # created core/v1 Events, in order
        self.kube_event_names = set()  # (ns, name)
        self.token = args.token
        self.ip_pool = None
        if args.pod_cidr:
            net = ipaddress.ip_network(args.pod_cidr, strict=False)
            self.ip_pool = net.hosts()
        self.pod_ips = {}
        for spec in args.pod_ip or []:
            name, _, ips = spec.partition("=")
            self.pod_ips[name] = [i for i in ips.split(",") if i]

    # must hold LOCK
    def bump(self):
        self.rv += 1
        return str(self.rv)

    def record(self, etype, obj, old):
        ev = {"seq": len(self.events), "rv": int(obj["metadata"].get("resourceVersion", self.rv)),
              "type": etype, "obj": obj, "old": old, "res": res_of(obj)}
        self.events.append(ev)
        LOCK.notify_all()
        return ev


STATE = None


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def set_map(d, key, patch):
    cur = d.setdefault(key, {}) or {}
    d[key] = cur
    for k, v in patch.items():
        if v is None:
            cur.pop(k, None)
        else:
            cur[k] = str(v)


def apply_patches(pod, p):
    md = pod.setdefault("metadata", {})
    spec = pod.setdefault("spec", {})
    st = pod.setdefault("status", {})
    if "name" in p:
        md["name"] = p["name"]
        md.pop("generateName", None)
    if "namespace" in p:
        md["namespace"] = p["namespace"]
    if "uid" in p:
        md["uid"] = p["uid"]
    if "node" in p:
        spec["nodeName"] = p["node"]
    if "podIPs" in p:
        ips = list(p["podIPs"] or [])
        st["podIPs"] = [{"ip": i} for i in ips]
        if ips:
            st["podIP"] = ips[0]
        else:
            st.pop("podIP", None)
            st.pop("podIPs", None)
    if "podIP" in p:
        st["podIP"] = p["podIP"]
        st["podIPs"] = [{"ip": p["podIP"]}]
    if "annotations" in p:
        set_map(md, "annotations", p["annotations"] or {})
    if "labels" in p:
        set_map(md, "labels", p["labels"] or {})
    if "phase" in p:
        st["phase"] = p["phase"]
    if "deletionTimestamp" in p:
        if p["deletionTimestamp"]:
            md["deletionTimestamp"] = (now_rfc3339() if p["deletionTimestamp"] is True
                                       else p["deletionTimestamp"])
            md.setdefault("deletionGracePeriodSeconds", 30)
        else:
            md.pop("deletionTimestamp", None)
    if "hostNetwork" in p:
        spec["hostNetwork"] = bool(p["hostNetwork"])
    return pod


def normalize_pod(pod, default_node):
    """Give a manifest the server-set fields a real API server adds."""
    pod.setdefault("apiVersion", "v1")
    pod.setdefault("kind", "Pod")
    md = pod.setdefault("metadata", {})
    if not md.get("name"):
        if md.get("generateName"):
            md["name"] = md["generateName"] + uuid.uuid4().hex[:5]
        else:
            raise ValueError("pod has no metadata.name")
    md.setdefault("namespace", "default")
    md.setdefault("uid", str(uuid.uuid4()))
    md.setdefault("creationTimestamp", now_rfc3339())
    md.pop("selfLink", None)
    spec = pod.setdefault("spec", {})
    if default_node and not spec.get("nodeName"):
        spec["nodeName"] = default_node
    st = pod.setdefault("status", {})
    st.setdefault("phase", "Running")
    if not st.get("podIP"):
        ips = STATE.pod_ips.get(md["name"])
        if ips is None and STATE.ip_pool is not None and not spec.get("hostNetwork"):
            try:
                ips = [str(next(STATE.ip_pool))]
            except StopIteration:
                ips = None
        if ips:
            st["podIP"] = ips[0]
            st["podIPs"] = [{"ip": i} for i in ips]
    return pod


def read_docs(path, kind="Pod"):
    """The objects of kind (Pod or Node) in a file: one object, a KINDList or
    List, or a multi-document YAML."""
    with open(path) as f:
        text = f.read()
    try:
        docs = [json.loads(text)]
    except ValueError:
        import yaml  # python3-yaml
        docs = [d for d in yaml.safe_load_all(text) if d]
    objs = []
    for d in docs:
        if not isinstance(d, dict):
            raise ValueError("%s: expected a %s, %sList or List object" % (path, kind, kind))
        if d.get("kind") in (kind + "List", "List") or "items" in d:
            objs.extend(i for i in d.get("items", []) if i.get("kind", kind) == kind)
        elif d.get("kind", kind) == kind:
            objs.append(d)
    return objs


FIXTURE_CACHE = {}


def fixture_pod(name):
    if not name:
        name = "k9s-gke-pod-p1"
    path = name if os.sep in name else os.path.join(FIXTURE_DIR, "pod", name + ".json")
    if path not in FIXTURE_CACHE:
        pods = read_docs(path)
        if not pods:
            raise ValueError("%s holds no pod" % path)
        FIXTURE_CACHE[path] = pods[0]
    return copy.deepcopy(FIXTURE_CACHE[path])


# must hold LOCK
def store_object(obj, etype):
    """Store (or for DELETED drop) obj in its resource's store, at a new
    resourceVersion, and record the event.  Stored objects are never changed
    in place (modify stores a patched copy), so lists, snapshots and events
    share them without copying."""
    res = res_of(obj)
    md = obj["metadata"]
    key = (md["namespace"], md["name"]) if res == "pods" else md["name"]
    store = STATE.stores[res]
    old = store.get(key)
    md["resourceVersion"] = STATE.bump()
    if etype == "DELETED":
        store.pop(key, None)
    else:
        store[key] = obj
    STATE.record(etype, obj, old)
    out = {"resourceVersion": md["resourceVersion"], "name": md["name"],
           "uid": md.get("uid"), "t_ns": time.monotonic_ns()}
    if res == "pods":
        out["namespace"] = md["namespace"]
    return out


# must hold LOCK
def find_named(res, name):
    """The stored cluster-scoped object res/name, or KeyError."""
    obj = STATE.stores[res].get(name)
    if obj is None:
        raise KeyError("no %s %s" % (RESOURCES[res][0].lower(), name))
    return obj


def ctl_delete_named(res, p):
    with LOCK:
        return store_object(copy.deepcopy(find_named(res, p.get("name"))), "DELETED")


def ctl_ns_set(p):
    name = p["name"]
    with LOCK:
        old = STATE.namespaces.get(name)
        ns = copy.deepcopy(old) if old else {
            "kind": "Namespace", "apiVersion": "v1",
            "metadata": {"name": name, "uid": str(uuid.uuid4()),
                         "creationTimestamp": now_rfc3339()},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
        ns["metadata"]["labels"] = dict(p.get("labels") or {})
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"] = name
        return store_object(ns, "MODIFIED" if old else "ADDED")


def ctl_ns_delete(p):
    return ctl_delete_named("namespaces", p)


def normalize_node(node):
    node["kind"] = "Node"
    node["apiVersion"] = "v1"
    md = node.setdefault("metadata", {})
    if not md.get("name"):
        raise ValueError("a Node needs metadata.name")
    md.setdefault("uid", str(uuid.uuid4()))
    md.setdefault("creationTimestamp", now_rfc3339())
    node.setdefault("spec", {})
    node.setdefault("status", {})


def set_node_ready(node, ready):
    conds = [c for c in node["status"].get("conditions", []) if c.get("type") != "Ready"]
    conds.append({"type": "Ready", "status": "True" if ready else "False",
                  "reason": "KubeletReady" if ready else "KubeletNotReady",
                  "lastTransitionTime": now_rfc3339()})
    node["status"]["conditions"] = conds


def patch_node(node, p):
    """labels/annotations (merge; a null value removes the key), ready, podCIDRs,
    addresses ([{"type", "address"}])."""
    md = node["metadata"]
    for key in ("labels", "annotations"):
        if key in p:
            set_map(md, key, p[key])
    if "ready" in p:
        set_node_ready(node, bool(p["ready"]))
    if "podCIDRs" in p:
        node["spec"]["podCIDRs"] = list(p["podCIDRs"])
        if p["podCIDRs"]:
            node["spec"]["podCIDR"] = p["podCIDRs"][0]
        else:
            node["spec"].pop("podCIDR", None)
    if "addresses" in p:
        node["status"]["addresses"] = list(p["addresses"])


def ctl_node_add(p):
    node = copy.deepcopy(p.get("node") or {"metadata": {"name": p.get("name")}})
    normalize_node(node)
    if "ready" not in p and not any(c.get("type") == "Ready"
                                    for c in node["status"].get("conditions", [])):
        p = dict(p, ready=True)
    patch_node(node, p)
    with LOCK:
        if node["metadata"]["name"] in STATE.nodes:
            raise KeyError("node %s already exists" % node["metadata"]["name"])
        return store_object(node, "ADDED")


def ctl_node_modify(p):
    with LOCK:
        name = p["node"]["metadata"]["name"] if "node" in p else p.get("name")
        cur = find_named("nodes", name)
        node = copy.deepcopy(p["node"] if "node" in p else cur)
        normalize_node(node)
        patch_node(node, p)
        return store_object(node, "MODIFIED")


def ctl_node_delete(p):
    return ctl_delete_named("nodes", p)


def create_event(ns, raw):
    """POST /api/v1/namespaces/NS/events: (HTTP status, body)."""
    try:
        ev = json.loads(raw or b"null")
    except ValueError as e:
        return 400, status_obj(400, "BadRequest", "invalid JSON body: %s" % e)
    # kind/apiVersion may be left out (the URL says what it is), as kube-apiserver allows
    if (not isinstance(ev, dict) or ev.get("kind", "Event") != "Event" or
            ev.get("apiVersion", "v1") != "v1"):
        return 400, status_obj(400, "BadRequest", "expected a v1 Event object (kind Event, "
                               "apiVersion v1)")
    ev["kind"], ev["apiVersion"] = "Event", "v1"
    md = ev.setdefault("metadata", {})
    if not isinstance(md, dict):
        return 400, status_obj(400, "BadRequest", "metadata must be an object")
    if md.get("namespace", ns) != ns:
        return 400, status_obj(400, "BadRequest", "the namespace of the provided object does "
                               "not match the namespace sent on the request")
    io = ev.get("involvedObject")
    if not isinstance(io, dict) or not io.get("kind") or not io.get("name"):
        return 422, status_obj(422, "Invalid", "Event is invalid: involvedObject: Required "
                               "value: kind and name")
    if io.get("namespace", ns) != ns:
        return 422, status_obj(422, "Invalid", "Event is invalid: involvedObject.namespace: "
                               "Invalid value: %r: does not match event.namespace" %
                               io.get("namespace"))
    with LOCK:
        if not md.get("name"):
            if not md.get("generateName"):
                return 422, status_obj(422, "Invalid", "Event is invalid: metadata.name: "
                                       "Required value: name or generateName is required")
            md["name"] = md["generateName"] + uuid.uuid4().hex[:5]
        if (ns, md["name"]) in STATE.kube_event_names:
            return 409, status_obj(409, "AlreadyExists",
                                   'events "%s" already exists' % md["name"])
        md["namespace"] = ns
        md["uid"] = str(uuid.uuid4())
        md["resourceVersion"] = str(STATE.rv)
        md["creationTimestamp"] = now_rfc3339()
        STATE.kube_event_names.add((ns, md["name"]))
        STATE.kube_events.append(ev)
    return 201, ev


def ctl_add(p):
    if "pod" in p:
        pod = copy.deepcopy(p["pod"])
    elif "file" in p:
        pod = read_docs(p["file"])[0]
    else:
        pod = fixture_pod(p.get("fixture"))
    if "pod" not in p:
        # a fixture: forget its server-side identity unless patched
        pod["metadata"].pop("resourceVersion", None)
        if "uid" not in p:
            pod["metadata"]["uid"] = str(uuid.uuid4())
    apply_patches(pod, p)
    normalize_pod(pod, STATE.args.node)
    with LOCK:
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        if key in STATE.pods:
            raise KeyError("pod %s/%s already exists" % key)
        return store_object(pod, "ADDED")


def find_pod(p):
    key = (p.get("namespace", "default"), p.get("name"))
    pod = STATE.pods.get(key)
    if pod is None:
        raise KeyError("no pod %s/%s" % key)
    return pod


def ctl_modify(p):
    with LOCK:
        pod = copy.deepcopy(find_pod(p))
        if "pod" in p:
            pod = copy.deepcopy(p["pod"])
        patches = {k: v for k, v in p.items() if k not in ("name", "namespace", "pod")}
        apply_patches(pod, patches)
        return store_object(pod, "MODIFIED")


def ctl_delete(p):
    with LOCK:
        pod = copy.deepcopy(find_pod(p))
        return store_object(pod, "DELETED")


def ctl_bookmark(p):
    with LOCK:
        ev = STATE.record("BOOKMARK", {"kind": "Pod", "apiVersion": "v1",
                                       "metadata": {"resourceVersion": str(STATE.rv)}}, None)
        return {"resourceVersion": str(STATE.rv), "seq": ev["seq"]}


def ctl_compact(p):
    with LOCK:
        STATE.compacted = STATE.rv
        STATE.snapshots = {k: v for k, v in STATE.snapshots.items() if v[0] >= STATE.rv}
        return {"compacted": str(STATE.compacted)}


def close_handler(h):
    try:
        h.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def ctl_drop(p):
    with LOCK:
        ws = list(STATE.watches.values())
        for h in ws:
            h.dropped = True
        LOCK.notify_all()
    for h in ws:
        close_handler(h)
    return {"dropped": len(ws)}


def ctl_pause(p):
    with LOCK:
        STATE.paused = True
    ctl_drop(p)
    return {"paused": True}


def ctl_resume(p):
    with LOCK:
        STATE.paused = False
    return {"paused": False}


def ctl_fail(p):
    with LOCK:
        STATE.fail_rules.append([p.get("match", "any"), int(p.get("status", 500)),
                                 int(p.get("count", 1))])
    return {"ok": True}


def ctl_fragment(p):
    STATE.fragment = max(0, int(p.get("bytes", 0)))
    return {"fragment": STATE.fragment}


def ctl_misbehave(p):
    with LOCK:
        mode = p.get("list", "padding")
        if mode not in ("padding", "objects"):
            raise ValueError("list: expected padding or objects")
        STATE.misbehave = {"list": mode, "bytes": max(0, int(p.get("bytes", 0))),
                           "rate": max(0, int(p.get("rate", 0))),
                           "count": max(0, int(p.get("count", 1)))}
        return dict(STATE.misbehave)


def ctl_set_token(p):
    tok = p["token"]
    with LOCK:
        STATE.token = tok
    d = STATE.args.state_dir
    write_file(os.path.join(d, "token"), tok, 0o600)
    write_file(os.path.join(d, "serviceaccount", "token"), tok, 0o600)
    return {"ok": True}


def ctl_bulk(p):
    out = []
    for op in p.get("ops", []):
        out.append(CTL_POST[op["op"]](op))
    return {"results": out}


def ctl_shutdown(p):
    threading.Thread(target=lambda: (time.sleep(0.1), os._exit(0)), daemon=True).start()
    return {"ok": True}


CTL_POST = {"add": ctl_add, "modify": ctl_modify, "delete": ctl_delete, "bulk": ctl_bulk,
            "ns_set": ctl_ns_set, "ns_delete": ctl_ns_delete,
            "node_add": ctl_node_add, "node_modify": ctl_node_modify,
            "node_delete": ctl_node_delete,
            "bookmark": ctl_bookmark, "compact": ctl_compact, "drop": ctl_drop,
            "pause": ctl_pause, "resume": ctl_resume, "fail": ctl_fail,
            "set_token": ctl_set_token, "fragment": ctl_fragment,
            "misbehave": ctl_misbehave, "shutdown": ctl_shutdown}


# --------------------------------------------------------------------------
# field selectors


def parse_selector(sel):
    reqs = []
    for part in filter(None, (s.strip() for s in (sel or "").split(","))):
        if "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append((k.strip(), False, v.strip()))
        elif "==" in part:
            k, v = part.split("==", 1)
            reqs.append((k.strip(), True, v.strip()))
        elif "=" in part:
            k, v = part.split("=", 1)
            reqs.append((k.strip(), True, v.strip()))
        else:
            raise ValueError("invalid field selector %r" % part)
    for k, _, _ in reqs:
        if k not in FIELDS:
            raise ValueError('field label not supported: %s' % k)
    return reqs


FIELDS = {
    "spec.nodeName": lambda p: p.get("spec", {}).get("nodeName", ""),
    "metadata.name": lambda p: p["metadata"].get("name", ""),
    "metadata.namespace": lambda p: p["metadata"].get("namespace", ""),
    "status.phase": lambda p: p.get("status", {}).get("phase", ""),
    "spec.restartPolicy": lambda p: p.get("spec", {}).get("restartPolicy", ""),
}


def matches(pod, ns, reqs):
    if pod is None:
        return False
    if ns and pod["metadata"].get("namespace") != ns:
        return False
    return all((FIELDS[k](pod) == v) == eq for k, eq, v in reqs)


# --------------------------------------------------------------------------
# API handler


class ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-apiserver/1"
    dropped = False

    def log_message(self, fmt, *a):
        if STATE.args.log_requests:
            log(fmt % a)

    def send_json(self, code, obj):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def note(self, status, kind):
        with LOCK:
            STATE.requests.append({"i": len(STATE.requests), "method": self.command,
                                   "path": self.url.path, "query": self.q, "kind": kind,
                                   "status": status, "t_ns": time.monotonic_ns()})

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and auth[7:].strip() == STATE.token:
            return True
        try:
            cert = self.connection.getpeercert()
        except (AttributeError, ValueError, OSError):
            cert = None
        return bool(cert)

    def do_GET(self):
        try:
            self.handle_get()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def handle_get(self):
        self.url = urllib.parse.urlsplit(self.path)
        self.q = {k: v[-1] for k, v in urllib.parse.parse_qs(
            self.url.query, keep_blank_values=True).items()}
        if STATE.paused:
            self.close_connection = True
            close_handler(self)
            return
        parts = [p for p in self.url.path.split("/") if p]
        base, ns, name = self.classify(parts)
        kind = base
        if base in ("list", "continue", "watch", "get"):
            kind = self.req_kind(base)   # pod fail rules and counts see only pods
        if kind is None:
            self.note(404, "unknown")
            return self.send_json(404, status_obj(404, "NotFound", "the server could not "
                                                  "find the requested resource"))
        if kind in ("version", "healthz"):
            self.note(200, kind)
            if kind == "version":
                return self.send_json(200, {
                    "major": "1", "minor": "30", "gitVersion": "v1.30.0-fake",
                    "gitCommit": "0" * 40, "gitTreeState": "clean",
                    "buildDate": "2024-04-17T00:00:00Z", "goVersion": "go1.22.2",
                    "compiler": "gc", "platform": "linux/amd64"})
            body = b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if not self.authorized():
            self.note(401, kind)
            return self.send_json(401, status_obj(401, "Unauthorized", "Unauthorized"))
        rule = self.take_fail_rule(kind)
        if rule:
            self.note(rule, kind)
            if rule == 410:
                return self.send_json(410, load_expired_status())
            return self.send_json(rule, status_obj(rule, "InternalError",
                                                   "injected failure %d" % rule))
        try:
            reqs = parse_selector(self.q.get("fieldSelector"))
        except ValueError as e:
            self.note(400, kind)
            return self.send_json(400, status_obj(400, "BadRequest", str(e)))
        if base == "get":
            with LOCK:
                obj = copy.deepcopy(self.store().get((ns, name) if self.res == "pods" else name))
            if obj is None:
                self.note(404, kind)
                return self.send_json(404, status_obj(404, "NotFound",
                                                      '%s "%s" not found' % (self.res, name)))
            self.note(200, kind)
            return self.send_json(200, obj)
        if base == "watch":
            return self.serve_watch(ns, reqs)
        return self.serve_list(kind, ns, reqs)

    def do_POST(self):
        try:
            self.handle_post()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def handle_post(self):
        self.url = urllib.parse.urlsplit(self.path)
        self.q = {k: v[-1] for k, v in urllib.parse.parse_qs(
            self.url.query, keep_blank_values=True).items()}
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        if STATE.paused:
            self.close_connection = True
            close_handler(self)
            return
        parts = [p for p in self.url.path.split("/") if p]
        if not (len(parts) == 5 and parts[:3] == ["api", "v1", "namespaces"] and
                parts[4] == "events"):
            if self.classify(parts)[0]:
                self.note(405, "post")
                return self.send_json(405, status_obj(405, "MethodNotAllowed",
                                                      "the server does not allow this method "
                                                      "on the requested resource"))
            self.note(404, "post")
            return self.send_json(404, status_obj(404, "NotFound", "the server could not "
                                                  "find the requested resource"))
        if not self.authorized():
            self.note(401, "event")
            return self.send_json(401, status_obj(401, "Unauthorized", "Unauthorized"))
        rule = self.take_fail_rule("event")
        if rule:
            self.note(rule, "event")
            return self.send_json(rule, status_obj(rule, "InternalError",
                                                   "injected failure %d" % rule))
        code, obj = create_event(parts[3], raw)
        self.note(code, "event")
        self.send_json(code, obj)

    def classify(self, parts):
        if parts == ["version"]:
            return "version", None, None
        if parts and parts[0] in ("healthz", "readyz", "livez"):
            return "healthz", None, None
        watch = self.q.get("watch", "") in ("1", "true", "True")
        self.res = "pods"
        if len(parts) in (3, 4) and parts[:2] == ["api", "v1"] and parts[2] in RESOURCES \
                and parts[2] != "pods":
            self.res = parts[2]    # cluster-scoped: namespaces, nodes
            if len(parts) == 4:
                return "get", None, parts[3]
            ns = None
        elif parts == ["api", "v1", "pods"]:
            ns = None
        elif len(parts) == 5 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
            ns = parts[3]
        elif len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
            return "get", parts[3], parts[5]
        else:
            return None, None, None
        if watch:
            return "watch", ns, None
        return ("continue" if self.q.get("continue") else "list"), ns, None

    def req_kind(self, base):
        """The recorded kind of a list/continue/watch/get of this request's
        resource: "watch" for pods, "node_watch" for nodes, ..."""
        return RESOURCES[self.res][1] + base

    def store(self):
        """The objects of the resource this request names."""
        return STATE.stores[self.res]

    def take_fail_rule(self, kind):
        with LOCK:
            for r in STATE.fail_rules:
                if r[2] > 0 and r[0] in ("any", kind):
                    r[2] -= 1
                    status = r[1]
                    STATE.fail_rules = [x for x in STATE.fail_rules if x[2] > 0]
                    return status
        return None

    def take_misbehaviour(self, kind):
        with LOCK:
            m = STATE.misbehave
            if kind != "list" or not m or m["count"] <= 0:
                return None
            m["count"] -= 1
            return dict(m, rv=STATE.rv)

    def serve_bad_list(self, m):
        """A PodList of about m["bytes"] bytes, generated as it is written
        (never held whole), at m["rate"] bytes/s."""
        head = ('{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"%d"},'
                '"items":[],"x":' % m["rv"]).encode()
        n = m["bytes"]
        if m["list"] == "padding":
            first, unit, last, count = b'"', b"a", b'"}', n
        else:
            first, unit, last, count = b"[{}", b",{}", b"]}", max(0, n // 3 - 1)
        self.note(200, "list")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(head) + len(first) + len(unit) * count + len(last)))
        self.end_headers()
        self.wfile.write(head + first)
        block = 1 << 20
        if m["rate"]:
            block = max(1, m["rate"] // 10)
        per = max(1, block // len(unit))
        left = count
        while left > 0:
            k = min(per, left)
            self.wfile.write(unit * k)
            left -= k
            if m["rate"]:
                self.wfile.flush()
                time.sleep(0.1)
        self.wfile.write(last)
        self.wfile.flush()

    def serve_list(self, kind, ns, reqs):
        m = self.take_misbehaviour(kind)
        if m:
            return self.serve_bad_list(m)
        try:
            limit = int(self.q.get("limit") or 0)
        except ValueError:
            limit = 0
        cont = self.q.get("continue")
        with LOCK:
            if cont:
                try:
                    tok = json.loads(base64.urlsafe_b64decode(cont.encode()).decode())
                    snap = STATE.snapshots.get(tok["id"])
                    start = int(tok["start"])
                except (ValueError, KeyError, TypeError):
                    self.note(400, kind)
                    return self.send_json(400, status_obj(400, "BadRequest",
                                                          "continue key is not valid"))
                if snap is None or snap[0] < STATE.compacted:
                    STATE.snapshots.pop(tok["id"], None)
                    self.note(410, kind)
                    return self.send_json(410, load_expired_status())
                rv, items = snap
            else:
                rv = STATE.rv
                items = [p for k, p in sorted(self.store().items()) if matches(p, ns, reqs)]
                start = 0
                snap_id = None
            page = items[start:start + limit] if limit > 0 else items[start:]
            meta = {"resourceVersion": str(rv)}
            end = start + len(page)
            if limit > 0 and end < len(items):
                if cont:
                    snap_id = tok["id"]
                else:
                    snap_id = uuid.uuid4().hex
                    STATE.snapshots[snap_id] = (rv, items)
                meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                    {"id": snap_id, "start": end, "rv": rv}).encode()).decode()
                meta["remainingItemCount"] = len(items) - end
            elif cont:
                STATE.snapshots.pop(tok["id"], None)
        self.note(200, kind)
        self.send_json(200, {"kind": RESOURCES[self.res][0] + "List", "apiVersion": "v1",
                             "metadata": meta,
                             "items": page})

    def write_chunk(self, obj):
        data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        step = STATE.fragment or len(data)
        for i in range(0, len(data), step):
            part = data[i:i + step]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.flush()
            if STATE.fragment:
                time.sleep(0.001)
        return time.monotonic_ns()

    def send_event(self, wid, etype, obj):
        t = self.write_chunk({"type": etype, "object": obj})
        md = obj.get("metadata", {})
        with LOCK:
            STATE.sent.append({"i": len(STATE.sent), "watch": wid, "type": etype,
                               "rv": md.get("resourceVersion"), "namespace": md.get("namespace"),
                               "name": md.get("name"), "t_ns": t})

    def serve_watch(self, ns, reqs):
        rv_s = self.q.get("resourceVersion", "")
        bookmarks = self.q.get("allowWatchBookmarks", "") in ("1", "true", "True")
        try:
            timeout = float(self.q.get("timeoutSeconds") or 0)
        except ValueError:
            timeout = 0
        if timeout <= 0:
            timeout = 1800
        try:
            start_rv = int(rv_s) if rv_s not in ("", "0") else None
        except ValueError:
            self.note(400, self.req_kind("watch"))
            return self.send_json(400, status_obj(400, "BadRequest",
                                                  "invalid resource version %r" % rv_s))
        with LOCK:
            wid = STATE.next_watch
            STATE.next_watch += 1
            initial = []
            too_old = start_rv is not None and start_rv < STATE.compacted
            if start_rv is None:
                initial = [("ADDED", p) for k, p in sorted(self.store().items())
                           if matches(p, ns, reqs)]
                cursor = len(STATE.events)
            elif not too_old:
                # replay history after start_rv (bookmarks are never replayed)
                cursor = len(STATE.events)
                while cursor > 0 and STATE.events[cursor - 1]["rv"] > start_rv:
                    cursor -= 1
                live = len(STATE.events)
                for ev in STATE.events[cursor:live]:
                    if ev["type"] != "BOOKMARK":
                        t = self.translate(ev, ns, reqs, self.res)
                        if t:
                            initial.append(t)
                cursor = live
            cur_rv = STATE.rv
            compacted = STATE.compacted
            STATE.watches[wid] = self
        self.note(200, self.req_kind("watch"))
        deadline = time.monotonic() + timeout
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            if too_old:
                self.send_event(wid, "ERROR", status_obj(
                    410, "Expired", "too old resource version: %d (%d)" % (start_rv, compacted)))
                self.finish_stream()
                return
            for etype, obj in initial:
                self.send_event(wid, etype, obj)
            while True:
                with LOCK:
                    while (cursor >= len(STATE.events) and not self.dropped and
                           time.monotonic() < deadline and not STATE.paused):
                        LOCK.wait(min(0.2, max(0.01, deadline - time.monotonic())))
                    if self.dropped or STATE.paused:
                        raise ConnectionResetError("dropped")
                    evs = STATE.events[cursor:]
                    cursor = len(STATE.events)
                out = []
                for ev in evs:
                    if ev["type"] == "BOOKMARK":
                        if bookmarks:
                            out.append(("BOOKMARK", ev["obj"]))
                        continue
                    t = self.translate(ev, ns, reqs, self.res)
                    if t:
                        out.append(t)
                for etype, obj in out:
                    self.send_event(wid, etype, obj)
                if time.monotonic() >= deadline and cursor >= len(STATE.events):
                    self.finish_stream()
                    return
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
            close_handler(self)
        finally:
            with LOCK:
                STATE.watches.pop(wid, None)

    def finish_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True

    @staticmethod
    def translate(ev, ns, reqs, res="pods"):
        if ev["res"] != res:
            return None
        new_m = matches(ev["obj"], ns, reqs)
        old_m = matches(ev["old"], ns, reqs) if ev["old"] is not None else False
        if ev["type"] == "DELETED":
            return ("DELETED", ev["obj"]) if new_m else None
        if ev["type"] == "ADDED":
            return ("ADDED", ev["obj"]) if new_m else None
        if new_m and old_m:
            return ("MODIFIED", ev["obj"])
        if new_m:
            return ("ADDED", ev["obj"])
        if old_m:
            return ("DELETED", ev["obj"])
        return None


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, addr, handler, ctx, family):
        self.address_family = family
        self.ctx = ctx
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        sock = self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def verify_request(self, request, client_address):
        return not STATE.paused

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        if isinstance(e, (ssl.SSLError, ConnectionError, OSError)):
            return  # a client that failed TLS, or went away
        super().handle_error(request, client_address)


# --------------------------------------------------------------------------
# control


class CtlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def reply(self, code, obj):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query).items()}
        since = int(q.get("since", 0) or 0)
        with LOCK:
            if u.path == "/ctl/state":
                return self.reply(200, {
                    "resourceVersion": str(STATE.rv), "compacted": str(STATE.compacted),
                    "pods": ["%s/%s" % k for k in sorted(STATE.pods)],
                    "namespaces": sorted(STATE.namespaces), "nodes": sorted(STATE.nodes),
                    "watches": len(STATE.watches), "paused": STATE.paused})
            if u.path == "/ctl/requests":
                return self.reply(200, {"next": len(STATE.requests),
                                        "requests": STATE.requests[since:]})
            if u.path == "/ctl/sent":
                return self.reply(200, {"next": len(STATE.sent), "sent": STATE.sent[since:]})
            if u.path == "/ctl/events":
                return self.reply(200, {"next": len(STATE.kube_events),
                                        "events": STATE.kube_events[since:]})
        self.reply(404, {"error": "unknown path %s" % u.path})

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        op = u.path[len("/ctl/"):] if u.path.startswith("/ctl/") else None
        if op not in CTL_POST:
            return self.reply(404, {"error": "unknown control operation %s" % u.path})
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object")
            self.reply(200, CTL_POST[op](body))
        except KeyError as e:
            self.reply(404, {"error": str(e)})
        except (ValueError, TypeError, OSError) as e:
            self.reply(400, {"error": str(e)})


# --------------------------------------------------------------------------


def main():
    global STATE
    ap = argparse.ArgumentParser(description="fake Kubernetes API server for tcprio tests")
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "::1"])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--write-kubeconfig")
    ap.add_argument("--node", default="")
    ap.add_argument("--force-node", action="store_true",
                    help="put every --pods-file pod on --node, even one with a nodeName")
    ap.add_argument("--token", default="fake-token-" + uuid.uuid4().hex[:12])
    ap.add_argument("--pods-file", action="append")
    ap.add_argument("--nodes-file", action="append",
                    help="a Node, NodeList/List or multi-document YAML of Nodes")
    ap.add_argument("--pod-ip", action="append", help="NAME=IP[,IP]")
    ap.add_argument("--pod-cidr")
    ap.add_argument("--bookmark-interval", type=float, default=0)
    ap.add_argument("--log-requests", action="store_true")
    args = ap.parse_args()

    d = os.path.abspath(args.state_dir)
    args.state_dir = d
    os.makedirs(os.path.join(d, "serviceaccount"), exist_ok=True)
    STATE = State(args)
    if not os.path.exists(os.path.join(d, "wrong-ca.crt")):
        make_certs(d)

    for path in args.pods_file or []:
        for pod in read_docs(path):
            if args.force_node and args.node:
                pod.setdefault("spec", {})["nodeName"] = args.node
            pod.get("metadata", {}).pop("resourceVersion", None)
            normalize_pod(pod, args.node)
            with LOCK:
                store_object(pod, "ADDED")

    for path in args.nodes_file or []:
        for node in read_docs(path, kind="Node"):
            node.get("metadata", {}).pop("resourceVersion", None)
            normalize_node(node)
            with LOCK:
                store_object(node, "ADDED")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
    ctx.load_verify_locations(os.path.join(d, "ca.crt"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    api = ApiServer((args.host, args.port), ApiHandler, ctx, family)
    ctl = ThreadingHTTPServer(("127.0.0.1", args.control_port), CtlHandler)
    ctl.daemon_threads = True
    port, cport = api.server_address[1], ctl.server_address[1]
    host = "[%s]" % args.host if ":" in args.host else args.host
    server = "https://%s:%d" % (host, port)

    with open(os.path.join(d, "ca.crt")) as f:
        ca_pem = f.read()
    ca_b64 = base64.b64encode(ca_pem.encode()).decode()
    write_file(os.path.join(d, "token"), args.token, 0o600)
    write_file(os.path.join(d, "serviceaccount", "token"), args.token, 0o600)
    write_file(os.path.join(d, "serviceaccount", "ca.crt"), ca_pem)
    write_file(os.path.join(d, "serviceaccount", "namespace"), "default")
    kc = args.write_kubeconfig or os.path.join(d, "kubeconfig")
    write_file(kc, kubeconfig_text(server, {"token": args.token},
                                   {"certificate-authority-data": ca_b64}), 0o600)
    write_file(os.path.join(d, "kubeconfig-cert"), kubeconfig_text(
        server, {"client-certificate": "client.crt", "client-key": "client.key"},
        {"certificate-authority": "ca.crt"}), 0o600)
    write_file(os.path.join(d, "kubeconfig-tokenfile"), kubeconfig_text(
        server, {"tokenFile": "token"}, {"certificate-authority": "ca.crt"}), 0o600)

    for srv in (api, ctl):
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()
    if args.bookmark_interval > 0:
        def ticker():
            while True:
                time.sleep(args.bookmark_interval)
                ctl_bookmark({})
        threading.Thread(target=ticker, daemon=True).start()

    write_file(os.path.join(d, "ports.json"), json.dumps({
        "port": port, "control_port": cport, "pid": os.getpid(), "server": server,
        "kubeconfig": os.path.abspath(kc), "token": args.token, "state_dir": d}) + "\n")
    print("READY port=%d control_port=%d" % (port, cport), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
