#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Static checks of deploy/: Kubernetes manifests, example pods, Dockerfile.

TAP output.  Needs python3-yaml (Debian) and build/tests/deploy/check_config
(built by `make tests`) to run the ConfigMap's class table through tcprio's
own parser.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("BUILD", "build")
CHECK_CONFIG = os.path.join(ROOT, BUILD, "tests", "deploy", "check_config")
INSTALL = os.path.join(ROOT, "deploy", "tcprio.yaml")
NAMESPACE = "tcprio-system"

_n = 0
_failed = 0


def check(name, ok, diag=None):
    """One TAP line; diag (str or list) printed as '# ' lines on failure."""
    global _n, _failed
    _n += 1
    if ok:
        print(f"ok {_n} - {name}")
        return True
    _failed += 1
    print(f"not ok {_n} - {name}")
    if diag:
        for line in (diag if isinstance(diag, list) else str(diag).splitlines()):
            print(f"# {line}")
    return False


def load_all(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def quantity(q):
    """Kubernetes resource quantity -> float (cores or bytes)."""
    m = re.fullmatch(r"([0-9.]+)(m|k|M|G|Ki|Mi|Gi|Ti)?", str(q))
    if not m:
        raise ValueError(f"bad quantity {q!r}")
    mult = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9,
            "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}[m.group(2)]
    return float(m.group(1)) * mult


def shell_words_of_run(dockerfile_stage, marker="apt-get install"):
    """Package names installed by `apt-get install` lines of a stage."""
    text = re.sub(r"\\\n", " ", dockerfile_stage)
    pkgs = []
    for line in text.splitlines():
        if not line.startswith("RUN") or marker not in line:
            continue
        for cmd in line.split("&&"):
            if marker not in cmd:
                continue
            words = cmd.split(marker, 1)[1].split()
            pkgs += [w for w in words if not w.startswith("-")]
    return pkgs


def manifest_files():
    """The Kubernetes YAML files under deploy/ (deploy/prometheus/ holds
    Prometheus rules, checked by tests/deploy/test_prometheus_rules.sh)."""
    files = sorted(glob.glob(os.path.join(ROOT, "deploy", "**", "*.yaml"), recursive=True) +
                   glob.glob(os.path.join(ROOT, "deploy", "**", "*.yml"), recursive=True))
    return [f for f in files
            if not os.path.relpath(f, ROOT).startswith("deploy/prometheus/")]


# Results main() prints besides one per manifest file: declared up front so
# that a run stopping early (the returns below) fails the suite.
FIXED_CHECKS = 48


def main():
    # ---- every YAML file in deploy/ parses -----------------------------------
    files = manifest_files()
    check("deploy/ holds YAML files", len(files) >= 3, f"found {files}")
    docs_by_file = {}
    for path in files:
        rel = os.path.relpath(path, ROOT)
        try:
            docs = load_all(path)
            ok = bool(docs) and all(isinstance(d, dict) and "kind" in d and "apiVersion" in d
                                    for d in docs if rel != "deploy/kustomization.yaml") \
                and all(isinstance(d, dict) for d in docs)
            check(f"{rel} parses into objects with apiVersion and kind", ok, f"{docs!r}"[:400])
            docs_by_file[rel] = docs
        except yaml.YAMLError as e:
            check(f"{rel} parses", False, str(e))

    objs = docs_by_file.get("deploy/tcprio.yaml", [])
    by_kind = {}
    for o in objs:
        by_kind.setdefault(o["kind"], []).append(o)
    required = ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                "ConfigMap", "PriorityClass", "DaemonSet"]
    check("deploy/tcprio.yaml has " + ", ".join(required),
          all(len(by_kind.get(k, [])) == 1 for k in required),
          f"kinds found: { {k: len(v) for k, v in by_kind.items()} }")
    if not all(by_kind.get(k) for k in required):
        return

    ns = by_kind["Namespace"][0]
    sa = by_kind["ServiceAccount"][0]
    role = by_kind["ClusterRole"][0]
    binding = by_kind["ClusterRoleBinding"][0]
    cm = by_kind["ConfigMap"][0]
    pc = by_kind["PriorityClass"][0]
    ds = by_kind["DaemonSet"][0]

    namespaced = [sa, cm, ds]
    check(f"namespace is {NAMESPACE} and namespaced objects live in it",
          ns["metadata"]["name"] == NAMESPACE and
          all(o["metadata"].get("namespace") == NAMESPACE for o in namespaced),
          [f"{o['kind']}: {o['metadata'].get('namespace')}" for o in namespaced])
    check("namespace allows the agent's pod (pod-security enforce=privileged)",
          ns["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce") == "privileged")

    # ---- RBAC -------------------------------------------------------------------
    pod_verbs, event_verbs, ns_verbs, node_verbs, other = set(), set(), set(), set(), []
    for r in role.get("rules", []):
        res = set(r.get("resources", []))
        if res == {"pods"} and set(r.get("apiGroups", [])) == {""}:
            pod_verbs |= set(r.get("verbs", []))
        elif res == {"namespaces"} and set(r.get("apiGroups", [])) == {""}:
            ns_verbs |= set(r.get("verbs", []))
        elif res == {"nodes"} and set(r.get("apiGroups", [])) == {""}:
            node_verbs |= set(r.get("verbs", []))
        elif res == {"events"} and set(r.get("apiGroups", [])) <= {"", "events.k8s.io"}:
            event_verbs |= set(r.get("verbs", []))
        else:
            other.append(r)
    check("ClusterRole: pods exactly get/list/watch", pod_verbs == {"get", "list", "watch"},
          f"pod verbs {sorted(pod_verbs)}")
    check("ClusterRole: namespaces exactly get/list/watch (namespace ceilings)",
          ns_verbs == {"get", "list", "watch"}, f"namespace verbs {sorted(ns_verbs)}")
    check("ClusterRole: nodes exactly get/list/watch (sites: labels, readiness, pod CIDRs)",
          node_verbs == {"get", "list", "watch"}, f"node verbs {sorted(node_verbs)}")
    check("ClusterRole: events exactly create/patch, nothing else granted",
          event_verbs == {"create", "patch"} and not other,
          f"event verbs {sorted(event_verbs)}, other rules {other}")
    subj = binding.get("subjects", [])
    check("ClusterRoleBinding binds the ClusterRole to ServiceAccount tcprio",
          binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                 "name": role["metadata"]["name"]} and
          subj == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"],
                    "namespace": NAMESPACE}],
          f"roleRef {binding['roleRef']} subjects {subj}")

    # ---- DaemonSet ----------------------------------------------------------------
    spec = ds["spec"]["template"]["spec"]
    sel = ds["spec"]["selector"]["matchLabels"]
    tlabels = ds["spec"]["template"]["metadata"]["labels"]
    check("DaemonSet selector matches its template labels",
          all(tlabels.get(k) == v for k, v in sel.items()), f"{sel} vs {tlabels}")
    check("DaemonSet uses ServiceAccount tcprio", spec.get("serviceAccountName") == sa["metadata"]["name"])
    check("DaemonSet: hostNetwork with dnsPolicy ClusterFirstWithHostNet",
          spec.get("hostNetwork") is True and spec.get("dnsPolicy") == "ClusterFirstWithHostNet")
    ctrs = spec.get("containers", [])
    check("DaemonSet has one container", len(ctrs) == 1, f"{len(ctrs)} containers")
    c = ctrs[0]
    env = {e["name"]: e for e in c.get("env", [])}
    check("NODE_NAME comes from fieldRef spec.nodeName",
          env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName",
          f"{env.get('NODE_NAME')}")
    args = [str(a) for a in c.get("command", []) + c.get("args", [])]
    undefined = [v for a in args for v in re.findall(r"\$\((\w+)\)", a) if v not in env]
    check("every $(VAR) in the agent's args is a container env var", not undefined,
          f"undefined: {undefined}")
    check("agent runs `agent` with --config, --uplink, --metrics-address",
          "agent" in args and all(f in args for f in ("--config", "--uplink", "--metrics-address")),
          f"args {args}")

    def arg(flag):
        return args[args.index(flag) + 1] if flag in args and args.index(flag) + 1 < len(args) else None

    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
    bpf_vol = [n for n, v in volumes.items() if v.get("hostPath", {}).get("path") == "/sys/fs/bpf"]
    bpf_mount = mounts.get(bpf_vol[0]) if bpf_vol else None
    sc = c.get("securityContext", {})
    privileged = sc.get("privileged") is True
    prop = (bpf_mount or {}).get("mountPropagation")
    check("/sys/fs/bpf hostPath mounted at /sys/fs/bpf with mount propagation",
          bpf_mount is not None and bpf_mount.get("mountPath") == "/sys/fs/bpf" and
          prop in ("HostToContainer", "Bidirectional") and not bpf_mount.get("readOnly"),
          f"volume {bpf_vol} mount {bpf_mount}")
    check("Bidirectional propagation only with a privileged container (Kubernetes rule)",
          prop != "Bidirectional" or privileged, f"propagation {prop}, privileged {privileged}")
    tol = spec.get("tolerations", [])
    check("tolerates every taint (operator Exists without key)",
          any(t.get("operator") == "Exists" and "key" not in t and "effect" not in t for t in tol),
          f"tolerations {tol}")
    res = c.get("resources", {})
    try:
        ok = all(quantity(res["requests"][r]) <= quantity(res["limits"][r]) for r in ("cpu", "memory"))
    except (KeyError, ValueError) as e:
        ok, res = False, f"{res} ({e})"
    check("resources: cpu and memory requests <= limits", ok, f"{res}")

    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    maddr = arg("--metrics-address") or ""
    mport = int(maddr.rsplit(":", 1)[1]) if re.fullmatch(r".*:\d+", maddr) else None

    paddr = arg("--probe-address") or ""
    phost, _, pport = paddr.rpartition(":")
    pport = int(pport) if pport.isdigit() else None

    def probe_ok(probe, path):
        """The probe goes to the --probe-address listener: loopback host and
        its port (the metrics port may be starved by its clients)."""
        g = (probe or {}).get("httpGet", {})
        port = g.get("port")
        port = ports.get(port) if isinstance(port, str) else port
        return (g.get("path") == path and port is not None and port == pport
                and phost == "127.0.0.1" and g.get("host") == phost and pport != mport)

    check("livenessProbe GET /healthz on the --probe-address listener (127.0.0.1)",
          probe_ok(c.get("livenessProbe"), "/healthz"), f"{c.get('livenessProbe')} probe {paddr}")
    check("readinessProbe GET /readyz on the --probe-address listener (127.0.0.1)",
          probe_ok(c.get("readinessProbe"), "/readyz"), f"{c.get('readinessProbe')} probe {paddr}")
    check("priorityClassName names the PriorityClass in the manifests",
          spec.get("priorityClassName") == pc["metadata"]["name"] and pc.get("value", 0) >= 1e8
          and pc.get("value", 0) <= 1e9, f"{spec.get('priorityClassName')} vs {pc['metadata']}")
    us = ds["spec"].get("updateStrategy", {})
    ru = us.get("rollingUpdate", {})
    check("RollingUpdate with maxUnavailable >= 1 and maxSurge 0 (hostNetwork port, shared pins)",
          us.get("type") == "RollingUpdate" and str(ru.get("maxSurge", 0)) in ("0", "0%") and
          ru.get("maxUnavailable", 1) not in (0, "0", "0%"), f"{us}")
    caps = sc.get("capabilities", {})
    add = set(caps.get("add", []))
    check("securityContext: not privileged; drop ALL; add BPF and NET_ADMIN; no SYS_ADMIN",
          not privileged and caps.get("drop") == ["ALL"] and {"BPF", "NET_ADMIN"} <= add and
          "SYS_ADMIN" not in add and add <= {"BPF", "NET_ADMIN", "PERFMON", "SYS_RESOURCE"},
          f"{sc}")
    check("securityContext: readOnlyRootFilesystem, no privilege escalation, runAsUser 0",
          sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
          and sc.get("runAsUser") == 0, f"{sc}")

    # --config FILE: FILE lies in the ConfigMap volume's mount and is a key of the ConfigMap.
    cfg = arg("--config") or ""
    cm_vols = [n for n, v in volumes.items()
               if v.get("configMap", {}).get("name") == cm["metadata"]["name"]]
    cm_mount = mounts.get(cm_vols[0]) if cm_vols else None
    key = None
    if cm_mount and os.path.dirname(cfg) == cm_mount["mountPath"].rstrip("/"):
        items = volumes[cm_vols[0]]["configMap"].get("items")
        fname = os.path.basename(cfg)
        key = next((i["key"] for i in items if i["path"] == fname), None) if items else fname
    check("--config path is a file of the mounted tcprio-classes ConfigMap",
          key is not None and key in cm.get("data", {}),
          f"--config {cfg}, mount {cm_mount}, data keys {list(cm.get('data', {}))}")

    # ---- the class table, through tcprio's own parser ------------------------------
    table_text = cm.get("data", {}).get(key or "classes.yaml", "")
    table = yaml.safe_load(table_text) or {}
    class_names = [c_.get("name") for c_ in table.get("classes", [])]
    check("class table holds the four built-in classes and a labelRules entry",
          {"critical", "high", "normal", "bulk"} <= set(class_names) and table.get("labelRules"),
          f"classes {class_names}, labelRules {table.get('labelRules')}")
    if not os.access(CHECK_CONFIG, os.X_OK):
        check("ConfigMap class table accepted by class_table_load_file", False,
              f"{CHECK_CONFIG} missing: run `make tests` first")
        check("check_config rejects a bad class table", False, f"{CHECK_CONFIG} missing")
    else:
        with tempfile.TemporaryDirectory(prefix="tcprio-test-deploy-") as tmp:
            good = os.path.join(tmp, "classes.yaml")
            with open(good, "w", encoding="utf-8") as f:
                f.write(table_text)
            p = subprocess.run([CHECK_CONFIG, good], capture_output=True, text=True, timeout=30)
            parsed = re.findall(r"^class \d+ (\S+) ", p.stdout, re.M)
            check("ConfigMap class table accepted by class_table_load_file, same classes in order",
                  p.returncode == 0 and parsed == class_names and
                  f"default {table.get('defaultClass')}" in p.stdout and
                  f"rules {len(table.get('labelRules', []))}" in p.stdout,
                  (p.stdout + p.stderr).splitlines())
            bad = os.path.join(tmp, "bad.yaml")
            with open(bad, "w", encoding="utf-8") as f:
                f.write(table_text.replace("defaultClass: normal", "defaultClass: nosuchclass"))
            p = subprocess.run([CHECK_CONFIG, bad], capture_output=True, text=True, timeout=30)
            check("check_config rejects the same table with an unknown defaultClass",
                  "nosuchclass" in open(bad, encoding="utf-8").read() and p.returncode == 1 and
                  "defaultClass" in p.stderr, (p.stdout + p.stderr).splitlines())

    # ---- example pods ------------------------------------------------------------------
    examples = {k: v for k, v in docs_by_file.items() if k.startswith("deploy/examples/")}
    pods = []
    for rel, docs in sorted(examples.items()):
        ok = len(docs) == 1 and docs[0].get("apiVersion") == "v1" and docs[0].get("kind") == "Pod"
        pod = docs[0] if ok else {}
        md = pod.get("metadata", {})
        ok = ok and md.get("name", "").startswith("demo-") and md.get("namespace") and \
            pod.get("spec", {}).get("containers") and \
            all(ct.get("image") and ct.get("name") for ct in pod["spec"]["containers"])
        check(f"{rel}: one v1 Pod demo-* with namespace and imaged containers", ok, f"{docs}"[:400])
        if ok:
            pods.append(pod)
    names = {p["metadata"]["name"] for p in pods}
    check("examples are uniquely named", len(names) == len(pods))

    rules = table.get("labelRules", [])

    def rule_class(labels):
        for r in rules:
            if all(labels.get(k) == v for k, v in r.get("matchLabels", {}).items()):
                return r.get("class")
        return None

    bad_refs, kinds = [], set()
    for p in pods:
        ann = p["metadata"].get("annotations", {}) or {}
        labels = p["metadata"].get("labels", {}) or {}
        cls = ann.get("tcprio.io/class")
        if cls is not None:
            kinds.add("class:" + cls)
            if cls not in class_names:
                bad_refs.append(f"{p['metadata']['name']}: tcprio.io/class {cls}")
        ports = ann.get("tcprio.io/ports")
        if ports is not None:
            kinds.add("ports")
            for item in ports.split(","):
                m = re.fullmatch(r"\s*(\d+)(/(tcp|udp|sctp))?=([a-z0-9-]+)\s*", item)
                if not m or m.group(4) not in class_names or not 0 < int(m.group(1)) < 65536:
                    bad_refs.append(f"{p['metadata']['name']}: tcprio.io/ports item {item!r}")
        if cls is None and ports is None:
            kinds.add("label-rule" if rule_class(labels) else "default")
    check("example annotations name classes of the ConfigMap", not bad_refs, bad_refs)
    want = {"class:critical", "class:high", "class:bulk", "ports", "label-rule", "default"}
    check("examples cover critical, high, bulk, default, per-port and label-rule pods",
          want <= kinds, f"have {sorted(kinds)}")

    # ---- kustomization, cleanup ------------------------------------------------------------
    kust = (docs_by_file.get("deploy/kustomization.yaml") or [{}])[0]
    check("kustomization.yaml lists tcprio.yaml (and only existing files)",
          "tcprio.yaml" in kust.get("resources", []) and
          all(os.path.exists(os.path.join(ROOT, "deploy", r)) for r in kust.get("resources", [])),
          f"{kust}")
    cleanup = [d for k, v in docs_by_file.items() if k.startswith("deploy/cleanup/")
               for d in v if d.get("kind") == "DaemonSet"]
    ok = False
    if cleanup:
        cs = cleanup[0]["spec"]["template"]["spec"]
        cmds = [" ".join(ct.get("command", []) + ct.get("args", []))
                for ct in cs.get("initContainers", []) + cs.get("containers", [])]
        ok = cs.get("hostNetwork") is True and any(re.search(r"tcprio detach$", x) for x in cmds) and \
            any(v.get("hostPath", {}).get("path") == "/sys/fs/bpf" for v in cs.get("volumes", []))
    check("cleanup DaemonSet runs `tcprio detach` in the host network with bpffs", ok)

    # kustomize build (offline) yields the same objects as the one-file install.
    kubectl = next((os.path.join(d, "kubectl") for d in os.environ.get("PATH", "").split(":")
                    if os.access(os.path.join(d, "kubectl"), os.X_OK)), None)
    if not kubectl:
        print(f"ok {_n + 1} - kubectl kustomize deploy/ # SKIP kubectl not installed")
        globals()["_n"] += 1
    else:
        p = subprocess.run([kubectl, "kustomize", os.path.join(ROOT, "deploy")],
                           capture_output=True, text=True, timeout=60)
        built = [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(p.stdout) if d] \
            if p.returncode == 0 else []
        check("kubectl kustomize deploy/ builds the objects of deploy/tcprio.yaml",
              sorted(built) == sorted((o["kind"], o["metadata"]["name"]) for o in objs),
              (p.stderr or str(built)).splitlines()[:10])

    # ---- Dockerfile ------------------------------------------------------------------------
    with open(os.path.join(ROOT, "scripts", "install-deps.sh"), encoding="utf-8") as f:
        deps = f.read()
    m = re.search(r"# BEGIN BUILD PACKAGES\n(.*?)# END BUILD PACKAGES", deps, re.S)
    build_pkgs = re.search(r'BUILD_PACKAGES="([^"]*)"', m.group(1)).group(1).split() if m else []
    with open(os.path.join(ROOT, "deploy", "Dockerfile"), encoding="utf-8") as f:
        dockerfile = f.read()
    stages = re.split(r"^FROM ", dockerfile, flags=re.M)[1:]
    check("Dockerfile: build stage FROM debian:12, runtime FROM debian:12-slim",
          len(stages) == 2 and stages[0].startswith("debian:12 ") and
          stages[1].startswith("debian:12-slim"), [s.splitlines()[0] for s in stages])
    if len(stages) == 2:
        got = shell_words_of_run(stages[0])
        check("Dockerfile build stage installs exactly scripts/install-deps.sh BUILD_PACKAGES",
              bool(build_pkgs) and sorted(got) == sorted(build_pkgs) and len(got) == len(set(got)),
              [f"install-deps.sh: {' '.join(build_pkgs)}", f"Dockerfile:     {' '.join(got)}"])
        check("Dockerfile build stage runs make tcprio",
              re.search(r"^RUN make\b.*\btcprio\b", stages[0], re.M) is not None)
        rt = shell_words_of_run(stages[1])
        check("Dockerfile runtime stage installs no -dev package and no compiler",
              rt and not [p for p in rt if p.endswith("-dev") or p in ("gcc", "clang", "llvm", "make")],
              f"runtime packages {rt}")
        check("Dockerfile runtime stage copies the binary from the build stage",
              re.search(r"^COPY --from=build \S*build/tcprio /usr/local/bin/tcprio", stages[1], re.M)
              is not None)
        check("DaemonSet command is the image's /usr/local/bin/tcprio",
              c.get("command") == ["/usr/local/bin/tcprio"], f"{c.get('command')}")


if __name__ == "__main__":
    _planned = FIXED_CHECKS + len(manifest_files())
    print(f"1..{_planned}", flush=True)
    try:
        main()
    except Exception as e:  # a crash is a failure, with its reason
        import traceback
        check("test_manifests ran to the end", False, traceback.format_exc())
    if _n != _planned:
        print(f"# planned {_planned} results, printed {_n}")
        sys.exit(1)
    sys.exit(1 if _failed else 0)
